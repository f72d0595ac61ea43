import KubemeterTestSupport
@testable import KubemeterDiscovery

enum Driver: String, CaseIterable, Sendable { case systemd, cgroupfs }
enum FixtureRuntime: String, CaseIterable, Sendable { case containerd, crio, docker }

struct FixtureContainer {
    var name: String
    var id: String
    var restart = 0
}

struct FixturePod {
    var namespace: String
    var name: String
    var uid: String
    var qos: QoSClass
    var sandboxID: String
    var containers: [FixtureContainer]
}

/// Writes a node's cgroup tree and CRI log paths the way the kubelet and each runtime name them
/// (see docs/discovery.md for the sources), into a temporary tree.
struct NodeFixture {
    let tree: TemporaryDirectory
    let driver: Driver
    let runtime: FixtureRuntime
    /// The kubelet's `--cgroup-root` as parts: [] for "/", ["kubelet"] for kind, ["custom"] ...
    var kubeletCgroupRoot: [String] = []

    var cgroupRoot: String { tree.path + "/sys/fs/cgroup" }
    var podLogDirectory: String { tree.path + "/var/log/pods" }
    var containerLogDirectory: String { tree.path + "/var/log/containers" }

    func configuration(kubepodsPath: String? = nil) -> DiscoveryConfiguration {
        DiscoveryConfiguration(
            cgroupRoot: cgroupRoot, podLogDirectory: podLogDirectory,
            containerLogDirectory: containerLogDirectory, kubepodsPath: kubepodsPath)
    }

    func discover(kubepodsPath: String? = nil) -> DiscoveryReport {
        PodDiscovery(configuration: configuration(kubepodsPath: kubepodsPath)).discover()
    }

    /// The kubelet's cgroup name parts -> directories (cgroup_manager_linux.go ToSystemd/ToCgroupfs).
    func cgroupDirectories(_ parts: [String]) -> String {
        switch driver {
        case .cgroupfs:
            return parts.joined(separator: "/")
        case .systemd:
            let escaped = parts.map { String($0.map { $0 == "-" ? "_" : $0 }) }
            return (0..<escaped.count).map { escaped[0...$0].joined(separator: "-") + ".slice" }.joined(separator: "/")
        }
    }

    var kubepodsRelative: String { cgroupDirectories(kubeletCgroupRoot + ["kubepods"]) }
    var kubepodsAbsolute: String { cgroupRoot + "/" + kubepodsRelative }

    func podCgroupRelative(uid: String, qos: QoSClass) -> String {
        let qosPart = qos == .guaranteed ? [] : [qos.rawValue]
        return cgroupDirectories(kubeletCgroupRoot + ["kubepods"] + qosPart + ["pod" + uid])
    }

    func podCgroupAbsolute(_ pod: FixturePod) -> String {
        cgroupRoot + "/" + podCgroupRelative(uid: pod.uid, qos: pod.qos)
    }

    func containerCgroupName(_ id: String) -> String {
        switch (driver, runtime) {
        case (.systemd, .containerd): "cri-containerd-\(id).scope"
        case (.systemd, .crio): "crio-\(id).scope"
        case (.systemd, .docker): "docker-\(id).scope"
        case (.cgroupfs, .crio): "crio-\(id)"
        case (.cgroupfs, _): id
        }
    }

    /// CRI-O with drop_infra_ctr: the sandbox is an empty `crio-<id>` without `.scope`.
    func sandboxCgroupName(_ id: String) -> String {
        runtime == .crio ? "crio-\(id)" : containerCgroupName(id)
    }

    var expectedRuntime: ContainerRuntime {
        switch (driver, runtime) {
        case (.systemd, .containerd): .containerd
        case (_, .crio): .crio
        case (.systemd, .docker): .docker
        case (.cgroupfs, _): .unknown
        }
    }

    // MARK: - Writing

    func add(_ pod: FixturePod) {
        addCgroups(pod)
        addLogs(pod)
    }

    func addCgroups(_ pod: FixturePod, containers: [FixtureContainer]? = nil) {
        let podDirectory = "sys/fs/cgroup/" + podCgroupRelative(uid: pod.uid, qos: pod.qos)
        tree.writeFile(podDirectory + "/cgroup.procs")
        tree.writeFile(podDirectory + "/cpu.stat", "usage_usec 1\n")
        tree.makeDirectory(podDirectory + "/" + sandboxCgroupName(pod.sandboxID))
        for container in containers ?? pod.containers {
            tree.writeFile(podDirectory + "/" + containerCgroupName(container.id) + "/cpu.stat", "usage_usec 1\n")
            if runtime == .crio {  // conmon_cgroup = "pod": conmon's scope beside its container
                let conmon = driver == .systemd ? "crio-conmon-\(container.id).scope" : "crio-conmon-\(container.id)"
                tree.writeFile(podDirectory + "/" + conmon + "/cgroup.procs", "4242\n")
            }
        }
    }

    func addLogs(_ pod: FixturePod) {
        addPodLogDirectory(pod)
        for container in pod.containers { addLink(pod, container) }
    }

    func addPodLogDirectory(_ pod: FixturePod) {
        tree.makeDirectory("var/log/pods/\(pod.namespace)_\(pod.name)_\(pod.uid)")
    }

    /// `/var/log/containers/<pod>_<ns>_<container>-<id>.log`, cut at 251 bytes as the kubelet
    /// does, pointing at the absolute host path (which does not exist here: it dangles).
    @discardableResult
    func addLink(_ pod: FixturePod, _ container: FixtureContainer, target: String? = nil) -> String {
        let podDirectory = "\(pod.namespace)_\(pod.name)_\(pod.uid)"
        tree.writeFile("var/log/pods/\(podDirectory)/\(container.name)/\(container.restart).log", "x\n")
        let name = Self.linkName(pod: pod.name, namespace: pod.namespace, container: container.name, id: container.id)
        tree.symlink("var/log/containers/" + name,
                     to: target ?? "/var/log/pods/\(podDirectory)/\(container.name)/\(container.restart).log")
        return name
    }

    static func linkName(pod: String, namespace: String, container: String, id: String) -> String {
        let stem = "\(pod)_\(namespace)_\(container)-\(id)"
        return String(decoding: stem.utf8.prefix(ContainerLogName.maximumStemLength), as: UTF8.self) + ".log"
    }

    // MARK: - Expectations

    func expected(_ pod: FixturePod, containers: [FixtureContainer]? = nil, unnamed: [String]? = nil) -> DiscoveredPod {
        let podPath = podCgroupAbsolute(pod)
        return DiscoveredPod(
            namespace: pod.namespace, name: pod.name, uid: pod.uid, qos: pod.qos, cgroupPath: podPath,
            containers: (containers ?? pod.containers).map {
                DiscoveredContainer(name: $0.name, id: $0.id, runtime: expectedRuntime,
                                    cgroupPath: podPath + "/" + containerCgroupName($0.id), restartCount: $0.restart)
            }.sorted { ($0.name, $0.id) < ($1.name, $1.id) },
            unnamedContainerIDs: (unnamed ?? [pod.sandboxID]).sorted())
    }

    static func sorted(_ pods: [DiscoveredPod]) -> [DiscoveredPod] {
        pods.sorted { ($0.namespace, $0.name, $0.uid) < ($1.namespace, $1.name, $1.uid) }
    }
}

extension IDSource {
    mutating func pod(
        _ namespace: String, _ name: String, qos: QoSClass, containers: [String], staticPod: Bool = false
    ) -> FixturePod {
        FixturePod(
            namespace: namespace, name: name, uid: staticPod ? staticUID() : uuid(), qos: qos,
            sandboxID: containerID(), containers: containers.map { FixtureContainer(name: $0, id: containerID()) })
    }
}
