/// One app container of a pod: a container cgroup joined by ID to its `/var/log/containers` link.
package struct DiscoveredContainer: Sendable, Equatable {
    /// The container's name in the pod spec, from its `/var/log/containers` link (or the link's
    /// target when the link's name was cut and ambiguous).
    package var name: String
    /// The runtime's container ID: 64 lowercase hex digits, from the cgroup directory name.
    package var id: String
    /// The runtime the cgroup name reveals (`unknown` for a bare ID under the cgroupfs driver).
    package var runtime: ContainerRuntime
    /// Absolute filesystem path of the container's cgroup directory.
    package var cgroupPath: String
    /// The restart count the kubelet gave this instance: `n` of the `<n>.log` its own
    /// `/var/log/containers` link points at (docs/metrics.md, `kubemeter_container_restarts_total`).
    /// Nil when the link could not be read or its target is not that container's `<n>.log`.
    package var restartCount: Int?

    package init(name: String, id: String, runtime: ContainerRuntime, cgroupPath: String, restartCount: Int? = nil) {
        self.name = name
        self.id = id
        self.runtime = runtime
        self.cgroupPath = cgroupPath
        self.restartCount = restartCount
    }
}
