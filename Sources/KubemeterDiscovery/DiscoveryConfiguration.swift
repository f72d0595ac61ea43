/// Where pod discovery looks on the host.
package struct DiscoveryConfiguration: Sendable {
    /// The cgroup v2 mount, e.g. `/sys/fs/cgroup`, or `/host/sys/fs/cgroup` inside a DaemonSet pod.
    package var cgroupRoot: String
    /// The kubelet's `podLogsDir`, normally `/var/log/pods`: `<namespace>_<pod>_<uid>` directories.
    package var podLogDirectory: String
    /// Normally `/var/log/containers`: `<pod>_<namespace>_<container>-<id>.log` symlinks.
    package var containerLogDirectory: String
    /// The kubepods root relative to `cgroupRoot` (e.g. `kubepods.slice`, or
    /// `kubelet.slice/kubelet-kubepods.slice` on kind). `nil` finds it with a bounded search
    /// (see `KubepodsRootFinder`): depth <= 3 below `cgroupRoot`.
    package var kubepodsPath: String?

    package init(cgroupRoot: String, podLogDirectory: String, containerLogDirectory: String, kubepodsPath: String? = nil) {
        self.cgroupRoot = cgroupRoot
        self.podLogDirectory = podLogDirectory
        self.containerLogDirectory = containerLogDirectory
        self.kubepodsPath = kubepodsPath
    }
}
