/// One pod found on the node: a pod cgroup whose UID a `/var/log/pods` directory names.
package struct DiscoveredPod: Sendable, Equatable {
    package var namespace: String
    package var name: String
    /// The pod UID as `/var/log/pods` spells it: a dashed UUID, or 32 hex digits for a static pod.
    package var uid: String
    /// From the cgroup path (a pod directly under the kubepods root is Guaranteed).
    package var qos: QoSClass
    /// Absolute path of the pod cgroup directory.
    package var cgroupPath: String
    /// App containers only, sorted by name, then ID.
    package var containers: [DiscoveredContainer]
    /// IDs of container-shaped cgroups that no `/var/log/containers` link names: the sandbox
    /// (pause, or CRI-O's empty infra directory) or a container created an instant ago. Sorted.
    package var unnamedContainerIDs: [String]

    package init(
        namespace: String, name: String, uid: String, qos: QoSClass, cgroupPath: String,
        containers: [DiscoveredContainer], unnamedContainerIDs: [String]
    ) {
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.qos = qos
        self.cgroupPath = cgroupPath
        self.containers = containers
        self.unnamedContainerIDs = unnamedContainerIDs
    }
}
