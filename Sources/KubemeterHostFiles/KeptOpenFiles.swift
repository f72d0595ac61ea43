#if canImport(Glibc)
package import Glibc
#endif
package import CLinux
package import KubemeterParsers

/// Host files opened once and re-read with `pread(fd, buf, n, 0)` at every collection: one
/// syscall a file instead of open + read + close. kernfs (cgroupfs) and procfs regenerate a
/// file's content on a read at offset 0, so the value is as fresh as a new open gives.
///
/// When a cgroup is removed, reads on its kept fds fail with ENODEV: the directory is reported
/// vanished and its fds closed. On other file systems (test trees, a copied node) a file can be
/// replaced under an open fd, which would then read the old inode forever; there each directory's
/// identity is checked with one `stat` per collection and its fds reopened when it changed.
///
/// At most `maximumOpenFiles` fds are kept, directory fds included (at most three quarters of
/// them; past that a directory's identity is checked by path); past the bound, files are read with
/// open + read + close (correct, only slower) and counted in `uncachedReads`. Directories not used by a collection
/// are closed at its end, so fds follow the node's pods. Not thread-safe: one collection at a time.
package final class KeptOpenFiles {
    /// The files of one directory that a collection reads, opened lazily.
    ///
    /// One is kept per cgroup (5,000 at 1,000 pods), so it is compact: the fds inline rather than
    /// in an array of their own, and of the directory's `stat` only what identity compares (40 bytes).
    package final class Directory {
        package let path: String
        let names: [String]
        /// Per file: an fd, or `unopened`, or `absent` (the kernel has no such file here).
        var descriptors = InlineArray<16, Int32>(repeating: KeptOpenFiles.unopened)
        /// Where identity is checked: the directory itself, held open (O_PATH) so that checking it
        /// is an `fstat` without a path walk, and what that `fstat` said when the files were opened.
        var directoryDescriptor: Int32 = -1
        var identity: Identity?
        var generation: UInt64 = 0
        let checksIdentity: Bool

        init(path: String, names: [String], checksIdentity: Bool) {
            precondition(names.count <= 16, "a kept directory has at most 16 files")
            self.path = path
            self.names = names
            self.checksIdentity = checksIdentity
        }
    }

    /// A directory's identity: on the file systems where it is checked (not kernfs), a
    /// subdirectory made or removed also moves the mtime, so the link count it includes adds no
    /// reopening of its own.
    typealias Identity = DirectoryIdentity

    static let unopened: Int32 = -1
    static let absent: Int32 = -2

    package let maximumOpenFiles: Int
    package private(set) var openFiles = 0
    package private(set) var uncachedReads = 0
    private var directories: [String: Directory] = [:]
    private var generation: UInt64 = 0
    private var buffer: UnsafeMutableRawBufferPointer
    private let maximumFileSize = 4 * 1024 * 1024

    package init(maximumOpenFiles: Int) {
        self.maximumOpenFiles = maximumOpenFiles
        buffer = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit {
        for directory in directories.values { close(directory) }
        buffer.deallocate()
    }

    /// Starts a collection.
    package func beginCollection() {
        generation &+= 1
    }

    /// Ends a collection: closes the fds of every directory it did not use, except, when
    /// `keepingThoseOf` names an earlier collection, the directories that one used (a narrower
    /// collection does not read them, and a wider one will again).
    package func endCollection(keepingThoseOf earlier: UInt64? = nil) {
        for (path, directory) in directories where directory.generation != generation && directory.generation != earlier {
            close(directory)
            directories[path] = nil
        }
    }

    /// The number of the collection in progress (or the last one).
    package var currentCollection: UInt64 { generation }

    /// The kept files of `path`, or nil when the directory is gone (identity-checked trees only).
    package func directory(_ path: String, files names: [String], checksIdentity: Bool) -> Directory? {
        let directory: Directory
        if let existing = directories[path], existing.names == names {
            directory = existing
        } else {
            if let existing = directories[path] { close(existing) }
            directory = Directory(path: path, names: names, checksIdentity: checksIdentity)
            directories[path] = directory
        }
        if directory.checksIdentity, directory.generation != generation {
            var now = stat()
            let stillThere: Bool
            if directory.directoryDescriptor >= 0 {
                stillThere = fstat(directory.directoryDescriptor, &now) == 0 && now.st_nlink > 0
            } else if directory.identity != nil {
                stillThere = stat(path, &now) == 0
            } else {
                stillThere = false
            }
            if stillThere {
                // Same directory: if entries were replaced in it, its mtime moved; reopen them.
                // (Made anew under the same name: another inode, likewise.)
                if let before = directory.identity, before != Identity(now) { closeFiles(of: directory) }
            } else {
                // Not yet opened, or removed (and perhaps made anew under the same name).
                close(directory)
                if openFiles < maximumOpenFiles - maximumOpenFiles / 4 {
                    let fd = open(path, CLINUX_O_PATH | O_DIRECTORY | O_CLOEXEC)
                    guard fd >= 0, fstat(fd, &now) == 0 else {
                        if fd >= 0 { Glibc.close(fd) }
                        directories[path] = nil
                        return nil
                    }
                    directory.directoryDescriptor = fd
                    openFiles += 1
                } else {
                    // Directory fds take at most three quarters of the bound: past that the
                    // identity is checked by path (a path walk, no fd), and the rest is for files.
                    guard stat(path, &now) == 0 else {
                        directories[path] = nil
                        return nil
                    }
                }
            }
            directory.identity = Identity(now)
        }
        directory.generation = generation
        return directory
    }

    /// Reads file `index` of `directory` and parses it; the bytes live only during `parse`.
    package func read<Value>(
        _ index: Int, of directory: Directory, _ parse: (UnsafeRawBufferPointer) throws(ParseError) -> Value
    ) -> Result<Value, HostFileError> {
        // The path is only built when a file is opened or an error named: not on the hot path.
        var path: String { directory.path + "/" + directory.names[index] }
        var fd = directory.descriptors[index]
        if fd == Self.absent { return .failure(.notFound(path: path)) }
        var keep = true
        if fd == Self.unopened {
            // O_NONBLOCK: a FIFO put where a cgroup file should be (never on cgroupfs, possible
            // on a copied or hostile tree) would otherwise block the scrape until a writer came.
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            if fd < 0 {
                let error = HostFileError(errno: errno, path: path, during: .opening)
                if case .notFound = error { directory.descriptors[index] = Self.absent }
                return .failure(error)
            }
            if openFiles < maximumOpenFiles {
                directory.descriptors[index] = fd
                openFiles += 1
            } else {
                keep = false
                uncachedReads += 1
            }
        }
        defer { if !keep { Glibc.close(fd) } }

        var length = 0
        while true {
            if length == buffer.count {
                guard buffer.count < maximumFileSize else {
                    return .failure(.parse(path: path, ParseError(file: path, reason: .tooLarge)))
                }
                grow()
            }
            let n = pread(fd, buffer.baseAddress! + length, buffer.count - length, off_t(length))
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                if keep { forget(index, of: directory) }
                // A kept fd of a removed cgroup answers ENODEV; a removed /proc/<pid> ESRCH.
                return .failure(HostFileError(errno: code, path: path, during: .revisiting))
            }
            length += n
            // A short read is the end: kernfs and seq_file fill the buffer while content remains.
            if n == 0 || length < buffer.count { break }
        }
        do {
            return .success(try parse(UnsafeRawBufferPointer(rebasing: buffer[0..<length])))
        } catch {
            return .failure(.parse(path: path, error))
        }
    }

    private func forget(_ index: Int, of directory: Directory) {
        let fd = directory.descriptors[index]
        if fd >= 0 {
            Glibc.close(fd)
            openFiles -= 1
        }
        directory.descriptors[index] = Self.unopened
    }

    private func closeFiles(of directory: Directory) {
        for index in directory.names.indices { forget(index, of: directory) }
    }

    private func close(_ directory: Directory) {
        closeFiles(of: directory)
        if directory.directoryDescriptor >= 0 {
            Glibc.close(directory.directoryDescriptor)
            directory.directoryDescriptor = -1
            openFiles -= 1
        }
    }

    private func grow() {
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: min(buffer.count * 2, maximumFileSize), alignment: 16)
        bigger.copyMemory(from: UnsafeRawBufferPointer(buffer))
        buffer.deallocate()
        buffer = bigger
    }
}
