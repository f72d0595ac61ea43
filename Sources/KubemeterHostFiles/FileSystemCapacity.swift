#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// What `statfs(2)` says of the file system a path is on: sizes in bytes (blocks times the
/// fragment size, as cAdvisor's `getVfsStats` multiplies them) and inode counts. One syscall, no
/// walk: the Summary API's node `fs` and `runtime.imageFs` need nothing more.
package struct FileSystemCapacity: Sendable, Equatable {
    package var capacityBytes: UInt64
    /// Free blocks, root's reserve included (`f_bfree`).
    package var freeBytes: UInt64
    /// Free blocks an unprivileged user may take (`f_bavail`).
    package var availableBytes: UInt64
    /// Inodes in all (`f_files`); 0 on file systems that do not count them (btrfs).
    package var inodes: UInt64
    package var inodesFree: UInt64

    package init(capacityBytes: UInt64, freeBytes: UInt64, availableBytes: UInt64, inodes: UInt64, inodesFree: UInt64) {
        self.capacityBytes = capacityBytes
        self.freeBytes = freeBytes
        self.availableBytes = availableBytes
        self.inodes = inodes
        self.inodesFree = inodesFree
    }

    /// The file system `path` is on; `.notFound` when the path does not exist (the directory is
    /// not mounted into this posture), `.io` for any other errno.
    package static func of(_ path: String) -> Result<FileSystemCapacity, HostFileError> {
        var info = CLinux.statfs()
        guard statfs(path, &info) == 0 else {
            return .failure(HostFileError(errno: errno, path: path, during: .opening))
        }
        let unit = UInt64(info.f_frsize > 0 ? info.f_frsize : info.f_bsize)
        return .success(FileSystemCapacity(
            capacityBytes: UInt64(info.f_blocks) &* unit, freeBytes: UInt64(info.f_bfree) &* unit,
            availableBytes: UInt64(info.f_bavail) &* unit, inodes: UInt64(info.f_files), inodesFree: UInt64(info.f_ffree)))
    }
}
