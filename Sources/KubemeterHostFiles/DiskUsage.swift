#if canImport(Glibc)
package import Glibc
#endif

/// Bytes on disk and inodes under a path, counted as the kubelet counts ephemeral storage
/// (`pkg/volume/util/fs/fs.go` `DiskUsage`, the same as `du --block-size=1 -s` and
/// `du --inodes -s`): every inode once (hard links deduplicated), its allocated blocks
/// (`st_blocks * 512`, not its apparent size), the top directory itself included, symlinks not
/// followed, and nothing on another file system (a mount inside the tree belongs to someone else).
package struct DiskUsage: Sendable, Equatable {
    package var bytes: UInt64
    package var inodes: UInt64
    /// `st_dev` of the measured path (`major:minor` by `DiskUsage.deviceNumber`); 0 for a sum.
    package var device: UInt64 = 0

    package init(bytes: UInt64 = 0, inodes: UInt64 = 0) {
        self.bytes = bytes
        self.inodes = inodes
    }

    package static func + (a: DiskUsage, b: DiskUsage) -> DiskUsage {
        DiskUsage(bytes: a.bytes + b.bytes, inodes: a.inodes + b.inodes)
    }

    /// `major:minor` of a `st_dev`, as mountinfo's third field writes it (glibc's
    /// `gnu_dev_major`/`gnu_dev_minor` split, which the Glibc module does not export).
    package static func deviceNumber(_ device: UInt64) -> String {
        let major = ((device >> 8) & 0xFFF) | ((device >> 32) & 0xFFFF_F000)
        let minor = (device & 0xFF) | ((device >> 12) & 0xFFFF_FF00)
        return "\(major):\(minor)"
    }
}

/// The one `du` of the agent: a depth-first walk with `openat`/`getdents` (readdir) and one
/// `fstatat(AT_SYMLINK_NOFOLLOW)` per entry, relative to its directory's fd (no path is ever
/// joined and walked again by the kernel).
package enum DiskUsageWalk {
    /// Directories deeper than this below the top are not entered (each level holds one fd);
    /// a tree that deep is reported as an error rather than counted short.
    package static let maximumDepth = 128

    /// Measures `path` (a directory or a single file). `pace` is called after every
    /// `paceInterval` inodes with the count since the last call: the caller sleeps there to keep
    /// to its budget. A tree that cannot be read whole is an error, never a smaller figure;
    /// entries that vanish during the walk (a log rotated, a temp file removed) are skipped, as
    /// `du` skips them.
    package static func measure(
        _ path: String, paceInterval: Int = 512, pace: (Int) -> Void = { _ in }
    ) -> Result<DiskUsage, HostFileError> {
        var top = stat()
        guard lstat(path, &top) == 0 else {
            return .failure(HostFileError(errno: errno, path: path, during: .opening))
        }
        // The walk holds `pace` only while this call runs.
        return withoutActuallyEscaping(pace) { pace in
            var walk = Walk(device: top.st_dev, paceInterval: paceInterval, pace: pace)
            walk.usage.device = UInt64(top.st_dev)
            walk.count(top)
            guard top.st_mode & S_IFMT == S_IFDIR else {
                walk.flushPace()
                return .success(walk.usage)
            }
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return .failure(HostFileError(errno: errno, path: path, during: .revisiting)) }
            if let failure = walk.directory(fd, path: path, depth: 0) { return .failure(failure) }
            walk.flushPace()
            return .success(walk.usage)
        }
    }

    private struct Walk {
        let device: dev_t
        let paceInterval: Int
        let pace: (Int) -> Void
        var usage = DiskUsage()
        var sinceLastPace = 0
        /// Inodes with more than one link already counted (`du` and the kubelet count each once).
        var linked = Set<UInt64>()

        init(device: dev_t, paceInterval: Int, pace: @escaping (Int) -> Void) {
            self.device = device
            self.paceInterval = max(1, paceInterval)
            self.pace = pace
        }

        /// Counts one inode; false when it was counted already under another name.
        @discardableResult
        mutating func count(_ status: stat) -> Bool {
            if status.st_nlink > 1 && status.st_mode & S_IFMT != S_IFDIR {
                guard linked.insert(UInt64(status.st_ino)).inserted else { return false }
            }
            usage.bytes += UInt64(max(0, status.st_blocks)) * 512
            usage.inodes += 1
            sinceLastPace += 1
            if sinceLastPace >= paceInterval { flushPace() }
            return true
        }

        mutating func flushPace() {
            guard sinceLastPace > 0 else { return }
            pace(sinceLastPace)
            sinceLastPace = 0
        }

        /// Walks the directory open on `fd` (and closes it). Nil on success.
        mutating func directory(_ fd: Int32, path: @autoclosure () -> String, depth: Int) -> HostFileError? {
            guard let stream = fdopendir(fd) else {
                let code = errno
                close(fd)
                return HostFileError(errno: code, path: path(), during: .revisiting)
            }
            defer { closedir(stream) }
            let directoryFD = dirfd(stream)
            while true {
                errno = 0
                guard let entry = readdir(stream) else {
                    if errno != 0 { return HostFileError(errno: errno, path: path(), during: .revisiting) }
                    return nil
                }
                let skip = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                    tuple.withMemoryRebound(to: CChar.self, capacity: 3) { name in
                        name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0))
                    }
                }
                if skip { continue }
                var status = stat()
                let found = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                    tuple.withMemoryRebound(to: CChar.self, capacity: 256) { name in
                        fstatat(directoryFD, name, &status, AT_SYMLINK_NOFOLLOW)
                    }
                }
                if found != 0 {
                    if errno == ENOENT { continue }  // removed since the listing: as du
                    return HostFileError(errno: errno, path: path() + "/" + Self.name(entry), during: .revisiting)
                }
                // Another file system mounted inside (a volume in a rootfs): not this tree's.
                guard status.st_dev == device else { continue }
                guard count(status), status.st_mode & S_IFMT == S_IFDIR else { continue }
                guard depth < DiskUsageWalk.maximumDepth else {
                    return HostFileError(errno: ELOOP, path: path() + "/" + Self.name(entry), during: .revisiting)
                }
                let child = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                    tuple.withMemoryRebound(to: CChar.self, capacity: 256) { name in
                        openat(directoryFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    }
                }
                if child < 0 {
                    if errno == ENOENT { continue }
                    return HostFileError(errno: errno, path: path() + "/" + Self.name(entry), during: .revisiting)
                }
                let name = Self.name(entry)
                if let failure = directory(child, path: path() + "/" + name, depth: depth + 1) { return failure }
            }
        }

        static func name(_ entry: UnsafeMutablePointer<dirent>) -> String {
            withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
        }
    }
}
