import Glibc

/// The few file system calls discovery makes, with their costs kept visible: one
/// opendir/readdir/closedir per directory listed, an `fstatat` only for entries whose `d_type`
/// is DT_UNKNOWN (file systems that do not fill it in), one `readlink` per ambiguous log link.
package enum FileSystem {
    /// One directory entry with the file type readdir reported (`DT_*`), no stat made.
    package struct Entry: Sendable {
        package var name: String
        package var type: UInt8

        package init(name: String, type: UInt8) {
            self.name = name
            self.type = type
        }
    }

    /// The subdirectories of `path`, by name.
    package struct Subdirectories: Sendable {
        package var names: [String] = []
        /// Entries of unknown type that vanished before `fstatat` could tell what they were.
        package var vanishedEntries = 0

        package init(names: [String] = [], vanishedEntries: Int = 0) {
            self.names = names
            self.vanishedEntries = vanishedEntries
        }
    }

    /// Lists `path` and keeps its subdirectories, using `d_type`, falling back to
    /// `fstatat(AT_SYMLINK_NOFOLLOW)` only when it is DT_UNKNOWN. Symlinks are not followed:
    /// cgroupfs has none, and following them could leave the tree.
    package static func subdirectories(of path: String) throws(HostFileError) -> Subdirectories {
        var result = Subdirectories()
        try forEachEntry(in: path) { directory, name, type in
            switch Int(type) {
            case DT_DIR:
                result.names.append(name)
            case DT_UNKNOWN:
                var status = stat()
                if fstatat(dirfd(directory), name, &status, AT_SYMLINK_NOFOLLOW) == 0 {
                    if status.st_mode & S_IFMT == S_IFDIR { result.names.append(name) }
                } else if case .vanished = HostFileError(errno: errno, path: name, during: .revisiting) {
                    result.vanishedEntries += 1
                }
            default:
                break
            }
        }
        return result
    }

    /// Lists `path` without any stat: names and readdir's `d_type`.
    package static func entries(of path: String) throws(HostFileError) -> [Entry] {
        var entries: [Entry] = []
        try forEachEntry(in: path) { _, name, type in entries.append(Entry(name: name, type: type)) }
        return entries
    }

    /// The target of the symlink at `path`, which need not exist: the kubelet writes absolute
    /// host paths, which dangle when the host is mounted elsewhere (e.g. under /host).
    package static func readLink(_ path: String) throws(HostFileError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { readlink(path, $0.baseAddress!, $0.count - 1) }
        guard count >= 0 else { throw HostFileError(errno: errno, path: path, during: .revisiting) }
        return buffer.withUnsafeBufferPointer { pointer in
            String(decoding: UnsafeRawBufferPointer(start: pointer.baseAddress, count: count), as: UTF8.self)
        }
    }

    private static func forEachEntry(
        in path: String, _ body: (OpaquePointer, String, UInt8) -> Void
    ) throws(HostFileError) {
        guard let directory = opendir(path) else { throw HostFileError(errno: errno, path: path, during: .revisiting) }
        defer { closedir(directory) }
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                // NULL with errno 0 is the end; otherwise the directory failed mid-listing
                // (e.g. a cgroup removed while being read): report, do not return half a list.
                if errno != 0 { throw HostFileError(errno: errno, path: path, during: .revisiting) }
                return
            }
            let type = entry.pointee.d_type
            let name = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                    String(cString: $0)
                }
            }
            if name == "." || name == ".." { continue }
            body(directory, name, type)
        }
    }
}
