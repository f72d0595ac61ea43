/// One pod found on the node: a pod cgroup whose UID a `/var/log/pods` directory names.
public struct DiscoveredPod: Sendable, Equatable {
    public var namespace: String
    public var name: String
    /// The pod UID as `/var/log/pods` spells it: a dashed UUID, or 32 hex digits for a static pod.
    public var uid: String
    /// From the cgroup path (a pod directly under the kubepods root is Guaranteed).
    public var qos: QoSClass
    /// Absolute path of the pod cgroup directory.
    public var cgroupPath: String
    /// App containers only, sorted by name, then ID.
    public var containers: [DiscoveredContainer]
    /// IDs of container-shaped cgroups that no `/var/log/containers` link names: the sandbox
    /// (pause, or CRI-O's empty infra directory) or a container created an instant ago. Sorted.
    public var unnamedContainerIDs: [String]

    public init(
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
