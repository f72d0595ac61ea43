#if canImport(Glibc)
import Glibc
#endif
import Testing

/// A directory made with mkdtemp for one test (the one helper every test target uses), removed
/// with everything in it by `remove()` or when the last reference goes.
public final class TemporaryDirectory: @unchecked Sendable {
    // @unchecked: `path` is immutable; the methods touch only the file system.
    public let path: String

    public init() {
        var template = Array("/tmp/kubemeter-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        // No test can run without its directory: stop here with the reason rather than later.
        guard let made else { preconditionFailure("mkdtemp in /tmp failed: errno \(errno)") }
        path = String(cString: made)
    }

    deinit { remove() }

    public func remove() { Self.removeTree(path) }

    /// `path`-relative or absolute; parents are made as needed.
    public func makeDirectory(_ relative: String) {
        let absolute = relative.hasPrefix("/") ? relative : path + "/" + relative
        var partial = ""
        for component in absolute.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0 && errno != EEXIST {
                Issue.record("mkdir \(partial): errno \(errno)")
            }
        }
    }

    public func writeFile(_ relative: String, _ contents: String = "") {
        let absolute = path + "/" + relative
        if let slash = absolute.lastIndex(of: "/") { makeDirectory(String(absolute[..<slash])) }
        let fd = open(absolute, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { Issue.record("open \(absolute): errno \(errno)"); return }
        _ = contents.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// A symlink at `relative` pointing at `target`, which need not exist.
    public func symlink(_ relative: String, to target: String) {
        let absolute = path + "/" + relative
        if let slash = absolute.lastIndex(of: "/") { makeDirectory(String(absolute[..<slash])) }
        if Glibc.symlink(target, absolute) != 0 { Issue.record("symlink \(absolute): errno \(errno)") }
    }

    public func exists(_ absolute: String) -> Bool {
        var status = stat()
        return lstat(absolute, &status) == 0
    }

    public static func removeTree(_ path: String) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        if status.st_mode & S_IFMT == S_IFDIR {
            if let directory = opendir(path) {
                var names: [String] = []
                while let entry = readdir(directory) {
                    let name = withUnsafePointer(to: &entry.pointee.d_name) {
                        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(directory)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

