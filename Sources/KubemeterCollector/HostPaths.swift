#if canImport(Glibc)
import Glibc
#endif
import KubemeterHostFiles

/// Where the host's files are. In a DaemonSet they sit under a mount such as `/host`.
package struct HostPaths: Sendable, Equatable {
    /// How the cgroup v2 tree was chosen; logged at start so an operator sees which tree is read.
    package enum CgroupTree: Sendable, Equatable {
        /// Given by `--cgroup-path`.
        case explicit
        /// `<host-root>/sys/fs/cgroup` is a cgroup2 root (it has `cgroup.controllers`).
        case unified
        /// A hybrid host: the v2 tree is `<host-root>/sys/fs/cgroup/unified`.
        case hybrid
        /// No cgroup v2 tree found (a pure cgroup v1 host): node metrics only.
        case none
    }

    package var procPath: String
    /// The cgroup v2 mount to read; nil when there is none (`cgroupTree == .none`).
    package var cgroupPath: String?
    package var cgroupTree: CgroupTree
    package var podLogPath: String
    package var containerLogPath: String
    /// The kubelet's root directory (its `--root-dir`): the Summary API's node `fs` is the file
    /// system it is on (pkg/kubelet/stats `RootFsStats`). Only `statfs` is called on it.
    package var kubeletRootPath: String
    /// The container runtimes' state directories, in the order tried: the first that exists is
    /// on the image file system (`runtime.imageFs`). Only `statfs` is called on them.
    package var runtimeRootPaths: [String]
    /// The host's `/` (`--host-root`): host paths that runtimes write into their own files
    /// (an overlay's `upperdir=` in mountinfo) are resolved under it.
    package var hostRootPath: String

    package init(
        procPath: String, cgroupPath: String?, cgroupTree: CgroupTree, podLogPath: String,
        containerLogPath: String, kubeletRootPath: String = "/var/lib/kubelet",
        runtimeRootPaths: [String] = HostPaths.runtimeRoots(under: "/"), hostRootPath: String = "/"
    ) {
        self.procPath = procPath
        self.cgroupPath = cgroupPath
        self.cgroupTree = cgroupTree
        self.podLogPath = podLogPath
        self.containerLogPath = containerLogPath
        self.kubeletRootPath = kubeletRootPath
        self.runtimeRootPaths = runtimeRootPaths
        self.hostRootPath = hostRootPath
    }

    /// The first of `runtimeRootPaths` that exists: the directory `runtime.imageFs` is the file
    /// system of.
    package var imageFileSystemRoot: String? {
        runtimeRootPaths.first(where: Self.fileExists)
    }

    /// The runtime whose state directory is the first of `runtimeRootPaths` that exists
    /// (`containerd`, `crio`, `docker`): the one of containers the cgroupfs driver names by bare ID.
    package var installedRuntime: String? {
        guard let root = imageFileSystemRoot else { return nil }
        if root.hasSuffix("containerd") { return "containerd" }
        if root.hasSuffix("containers/storage") { return "crio" }
        if root.hasSuffix("docker") { return "docker" }
        return nil
    }

    /// containerd's root, CRI-O's (containers/storage), Docker's: where each keeps its images.
    package static func runtimeRoots(under hostRoot: String) -> [String] {
        ["var/lib/containerd", "var/lib/containers/storage", "var/lib/docker"].map { Path.join(hostRoot, $0) }
    }

    /// Applies `--host-root` to the default paths, then each explicit override.
    package static func resolve(
        hostRoot: String = "/", procPath: String? = nil, cgroupPath: String? = nil,
        podLogPath: String? = nil, containerLogPath: String? = nil, kubeletRootPath: String? = nil,
        imageFileSystemPath: String? = nil
    ) -> HostPaths {
        let (cgroup, tree): (String?, CgroupTree)
        if let cgroupPath {
            (cgroup, tree) = (cgroupPath, .explicit)
        } else {
            let standard = Path.join(hostRoot, "sys/fs/cgroup")
            let unified = Path.join(standard, "unified")
            if fileExists(Path.join(standard, "cgroup.controllers")) {
                (cgroup, tree) = (standard, .unified)
            } else if fileExists(Path.join(unified, "cgroup.controllers")) {
                (cgroup, tree) = (unified, .hybrid)
            } else {
                (cgroup, tree) = (nil, .none)
            }
        }
        return HostPaths(
            procPath: procPath ?? Path.join(hostRoot, "proc"),
            cgroupPath: cgroup,
            cgroupTree: tree,
            podLogPath: podLogPath ?? Path.join(hostRoot, "var/log/pods"),
            containerLogPath: containerLogPath ?? Path.join(hostRoot, "var/log/containers"),
            kubeletRootPath: kubeletRootPath ?? Path.join(hostRoot, "var/lib/kubelet"),
            runtimeRootPaths: imageFileSystemPath.map { [$0] } ?? runtimeRoots(under: hostRoot),
            hostRootPath: hostRoot
        )
    }

    private static func fileExists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }
}
