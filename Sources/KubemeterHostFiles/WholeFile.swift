import Glibc

/// A small regular file read whole, and what tells whether it changed since: configuration and
/// certificate files (the web configuration, PEM files), which are re-read when they change.
package enum WholeFile {
    /// Device, inode, size, mtime and ctime (ns) of `path`, following links: a Kubernetes Secret
    /// volume swaps a `..data` link, which changes the inode that the file's path reaches.
    package struct Stamp: Equatable, Sendable {
        package var identity: DirectoryIdentity
        package var size: Int64
    }

    package static func stamp(_ path: String) -> Result<Stamp, HostFileError> {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return .failure(HostFileError(errno: errno, path: path, during: .opening))
        }
        return .success(Stamp(identity: DirectoryIdentity(info), size: Int64(info.st_size)))
    }

    /// The whole file, at most `limit` bytes (more is an EFBIG error: these files are small).
    package static func read(_ path: String, limit: Int = 1 << 20) throws(HostFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HostFileError(errno: errno, path: path, during: .opening) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw HostFileError(errno: errno, path: path, during: .revisiting)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { throw HostFileError.io(path: path, errno: EFBIG) }
        }
    }
}
