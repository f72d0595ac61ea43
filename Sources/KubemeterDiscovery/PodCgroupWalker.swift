import KubemeterHostFiles
/// A pod cgroup found below the kubepods root, before any names are attached.
struct PodCgroup {
    var uid: String
    var qos: QoSClass
    var path: String
    var containers: [ContainerCgroup]
}

/// A container-shaped cgroup directly inside a pod cgroup.
struct ContainerCgroup {
    var id: String
    var runtime: ContainerRuntime
    var path: String
}

/// Walks the kubepods tree: root, QoS levels, pod cgroups, and the names of their children.
///
/// One listing per directory walked (root, each QoS level, each pod). Container cgroups are
/// recognised by name and never entered: the children crun (`container`) and CRI-O (`exec`)
/// make inside them are parts of that container, not containers.
struct PodCgroupWalker {
    let kubepodsRoot: String
    let fileSystem: FileSystemAccess

    /// Every pod cgroup below the root; nil when the root itself cannot be listed.
    func walk(counters: inout DiscoveryCounters) -> [PodCgroup]? {
        let top: FileSystem.Subdirectories
        do {
            top = try fileSystem.subdirectories(kubepodsRoot)
        } catch {
            counters.recordRoot(error)
            return nil
        }
        counters.vanishedEntries += top.vanishedEntries
        var pods: [PodCgroup] = []
        for name in top.names {
            let path = Path.join(kubepodsRoot, name)
            switch CgroupName.classify(name) {
            case .qos(let qos):
                walkQoSLevel(path, qos: qos, into: &pods, counters: &counters)
            case .pod(let uid, let namedQoS):
                // Directly below the root: Guaranteed (cgroupfs names do not say; systemd ones do).
                if let pod = walkPod(path, uid: uid, qos: namedQoS ?? .guaranteed, counters: &counters) {
                    pods.append(pod)
                }
            default:
                counters.skippedEntries += 1
            }
        }
        return pods
    }

    private func walkQoSLevel(_ path: String, qos: QoSClass, into pods: inout [PodCgroup], counters: inout DiscoveryCounters) {
        let level: FileSystem.Subdirectories
        do {
            level = try fileSystem.subdirectories(path)
        } catch {
            counters.record(error)
            return
        }
        counters.vanishedEntries += level.vanishedEntries
        for name in level.names {
            guard case .pod(let uid, let namedQoS) = CgroupName.classify(name) else {
                counters.skippedEntries += 1
                continue
            }
            if let pod = walkPod(Path.join(path, name), uid: uid, qos: namedQoS ?? qos, counters: &counters) {
                pods.append(pod)
            }
        }
    }

    /// Nil when the pod cgroup vanished before it could be listed: the pod is gone.
    private func walkPod(_ path: String, uid: String, qos: QoSClass, counters: inout DiscoveryCounters) -> PodCgroup? {
        let children: FileSystem.Subdirectories
        do {
            children = try fileSystem.subdirectories(path)
        } catch {
            counters.record(error)
            return nil
        }
        counters.vanishedEntries += children.vanishedEntries
        var containers: [ContainerCgroup] = []
        for name in children.names {
            switch CgroupName.classify(name) {
            case .container(let id, let runtime):
                containers.append(ContainerCgroup(id: id, runtime: runtime, path: Path.join(path, name)))
            case .runtimeMonitor:
                break  // CRI-O's conmon: expected, never a container
            default:
                counters.skippedEntries += 1
            }
        }
        return PodCgroup(uid: uid, qos: qos, path: path, containers: containers)
    }
}
