#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// What kind of file system a path or descriptor is on, from `statfs(2)`'s magic number: the
/// one place that tells kernel file systems (whose files regenerate at each read and report
/// removal as ENODEV) from ordinary ones (test trees, a copied node).
package enum FileSystemKind {
    /// cgroup2, cgroup v1 or procfs under `path`.
    package static func isKernelFileSystem(_ path: String) -> Bool {
        var info = CLinux.statfs()
        guard statfs(path, &info) == 0 else { return false }
        return isKernel(magic: Int(info.f_type))
    }

    /// Whether `descriptor` is on cgroupfs (v2 or v1): there a directory cannot be renamed and
    /// nothing is mounted on a cgroup, so an fd held on it stays on what its path names.
    package static func isCgroupFileSystem(descriptor: Int32) -> Bool {
        var info = CLinux.statfs()
        guard fstatfs(descriptor, &info) == 0 else { return false }
        return isCgroup(magic: Int(info.f_type))
    }

    /// tmpfs or ramfs under `path`: memory, not disk (an emptyDir with `medium: Memory`, a Secret
    /// or projected volume), so no part of a pod's ephemeral storage. False when statfs fails.
    package static func isMemoryFileSystem(_ path: String) -> Bool {
        var info = CLinux.statfs()
        guard statfs(path, &info) == 0 else { return false }
        return Int(info.f_type) == Int(TMPFS_MAGIC) || Int(info.f_type) == Int(RAMFS_MAGIC)
    }

    static func isCgroup(magic: Int) -> Bool {
        magic == Int(CGROUP2_SUPER_MAGIC) || magic == Int(CGROUP_SUPER_MAGIC)
    }

    static func isKernel(magic: Int) -> Bool {
        isCgroup(magic: magic) || magic == Int(PROC_SUPER_MAGIC)
    }
}
