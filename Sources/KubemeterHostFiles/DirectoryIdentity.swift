package import Glibc

/// What tells one directory from another at the same path, or the same one after it changed:
/// device, inode, link count (2 + subdirectories), mtime and ctime (nanoseconds). Shared by the
/// listing cache, which judges whether a listing still holds, and by the collector's kept files,
/// which judge whether a directory's files were replaced.
package struct DirectoryIdentity: Equatable, Sendable {
    package var device: UInt64
    package var inode: UInt64
    package var links: UInt64
    package var mtime: Int64
    package var ctime: Int64

    package init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        links = UInt64(info.st_nlink)
        mtime = Int64(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtim.tv_nsec)
        ctime = Int64(info.st_ctim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_ctim.tv_nsec)
    }
}
