import KubemeterTestSupport
import Testing
@testable import KubemeterDiscovery

/// Every cgroup layout discovery promises to recognise, each in a fixture tree; each test fails
/// if its layout stops being recognised.
@Suite struct LayoutTests {
    /// Both drivers x three runtimes x the three QoS classes, default `--cgroup-root`.
    @Test(arguments: Driver.allCases, FixtureRuntime.allCases)
    func recognisesDriverAndRuntime(driver: Driver, runtime: FixtureRuntime) throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: driver, runtime: runtime)
        var ids = IDSource(seed: 7)
        let pods = [
            ids.pod("default", "web-0", qos: .guaranteed, containers: ["nginx", "log-shipper"]),
            ids.pod("payments", "api-7d9f8b6c5-x2k4p", qos: .burstable, containers: ["app", "envoy", "istio-proxy"]),
            ids.pod("batch-jobs", "cleanup-28461230-abcde", qos: .besteffort, containers: ["job"]),
        ]
        pods.forEach(node.add)

        let report = node.discover()

        #expect(report.kubepodsPath == node.kubepodsAbsolute)
        #expect(report.pods == NodeFixture.sorted(pods.map { node.expected($0) }))
        #expect(report.podCgroupsWithoutLogDirectory == 0)
        #expect(report.skippedEntries == 0)
        #expect(report.vanishedEntries == 0)
    }

    @Test(arguments: [QoSClass.guaranteed, .burstable, .besteffort], Driver.allCases)
    func takesTheQoSClassFromThePath(qos: QoSClass, driver: Driver) throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: driver, runtime: .containerd)
        var ids = IDSource(seed: 11)
        let pod = ids.pod("default", "one", qos: qos, containers: ["c"])
        node.add(pod)
        let report = node.discover()
        #expect(report.pods.map(\.qos) == [qos])
        #expect(report.pods.first?.cgroupPath == node.podCgroupAbsolute(pod))
    }

    /// kind: kubelet `--cgroup-root=/kubelet` with the systemd driver.
    @Test func findsKindsKubepodsRoot() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd, kubeletCgroupRoot: ["kubelet"])
        var ids = IDSource(seed: 3)
        let pods = [
            ids.pod("kube-system", "coredns-5d78c9869d-q8k2m", qos: .burstable, containers: ["coredns"]),
            ids.pod("local-path-storage", "local-path-provisioner-6f8956fb48-zzpsc", qos: .besteffort, containers: ["local-path-provisioner"]),
            ids.pod("default", "pinned", qos: .guaranteed, containers: ["app"]),
        ]
        pods.forEach(node.add)
        // What a kind node's cgroup root also holds.
        tree.makeDirectory("sys/fs/cgroup/init.scope")
        tree.makeDirectory("sys/fs/cgroup/system.slice/containerd.service")
        tree.makeDirectory("sys/fs/cgroup/kubelet.slice/kubelet.service")

        let report = node.discover()

        #expect(node.kubepodsRelative == "kubelet.slice/kubelet-kubepods.slice")
        #expect(report.kubepodsPath == node.cgroupRoot + "/kubelet.slice/kubelet-kubepods.slice")
        #expect(node.podCgroupRelative(uid: pods[0].uid, qos: .burstable).hasPrefix(
            "kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod"))
        #expect(report.pods == NodeFixture.sorted(pods.map { node.expected($0) }))
    }

    /// cgroupfs driver with `--cgroup-root=/custom`, found by search and given explicitly.
    @Test func findsACustomCgroupfsRoot() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .cgroupfs, runtime: .containerd, kubeletCgroupRoot: ["custom"])
        var ids = IDSource(seed: 4)
        let pods = [
            ids.pod("default", "a", qos: .burstable, containers: ["c1"]),
            ids.pod("default", "b", qos: .guaranteed, containers: ["c2"]),
        ]
        pods.forEach(node.add)
        let expected = NodeFixture.sorted(pods.map { node.expected($0) })

        let searched = node.discover()
        #expect(searched.kubepodsPath == node.cgroupRoot + "/custom/kubepods")
        #expect(searched.pods == expected)

        let configured = node.discover(kubepodsPath: "custom/kubepods")
        #expect(configured.kubepodsPath == node.cgroupRoot + "/custom/kubepods")
        #expect(configured.pods == expected)
        #expect(node.discover(kubepodsPath: "/custom/kubepods/").pods == expected)
    }

    @Test func aConfiguredRootIsUsedAsIsEvenWhenAnotherExists() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 5)
        node.add(ids.pod("default", "a", qos: .burstable, containers: ["c"]))

        let missing = node.discover(kubepodsPath: "elsewhere/kubepods")
        #expect(missing.kubepodsPath == nil)
        #expect(missing.pods.isEmpty)
        #expect(node.discover(kubepodsPath: "kubepods.slice").pods.count == 1)
    }

    @Test func searchesAtMostThreeLevelsDownAndSkipsUnrelatedTrees() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let cgroup = "sys/fs/cgroup"
        tree.makeDirectory("\(cgroup)/system.slice/foo.slice/kubepods.slice")  // inside system.slice: never looked at
        tree.makeDirectory("\(cgroup)/user.slice/kubepods")
        tree.makeDirectory("\(cgroup)/init.scope/kubepods")
        tree.makeDirectory("\(cgroup)/a/b/c/kubepods")  // depth 4: out of reach
        let configuration = DiscoveryConfiguration(
            cgroupRoot: tree.path + "/" + cgroup, podLogDirectory: tree.path + "/none", containerLogDirectory: tree.path + "/none")
        #expect(PodDiscovery(configuration: configuration).discover().kubepodsPath == nil)

        tree.makeDirectory("\(cgroup)/x/y/kubepods")  // depth 3: found
        #expect(PodDiscovery(configuration: configuration).discover().kubepodsPath == tree.path + "/\(cgroup)/x/y/kubepods")

        tree.makeDirectory("\(cgroup)/p/k8s-kubepods.slice")  // shallower wins
        #expect(PodDiscovery(configuration: configuration).discover().kubepodsPath == tree.path + "/\(cgroup)/p/k8s-kubepods.slice")
    }

    @Test func aStaleRootBesideTheLiveOneLosesToTheOneWithPods() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 6)
        let pod = ids.pod("default", "a", qos: .burstable, containers: ["c"])
        node.add(pod)
        tree.makeDirectory("sys/fs/cgroup/kubepods/burstable")  // left over from the cgroupfs driver
        tree.makeDirectory("sys/fs/cgroup/kubepods/besteffort")
        let report = node.discover()
        #expect(report.kubepodsPath == node.cgroupRoot + "/kubepods.slice")
        #expect(report.pods == [node.expected(pod)])
    }

    @Test func aCgroupRootThatIsTheKubepodsRootIsUsed() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .cgroupfs, runtime: .docker)
        var ids = IDSource(seed: 8)
        let pod = ids.pod("default", "a", qos: .besteffort, containers: ["c"])
        node.add(pod)
        let report = PodDiscovery(configuration: DiscoveryConfiguration(
            cgroupRoot: node.kubepodsAbsolute, podLogDirectory: node.podLogDirectory,
            containerLogDirectory: node.containerLogDirectory)).discover()
        #expect(report.kubepodsPath == node.kubepodsAbsolute)
        #expect(report.pods == [node.expected(pod)])
    }

    /// Static pods: the UID is the md5 of the manifest, 32 hex digits without dashes.
    @Test(arguments: Driver.allCases)
    func recognisesStaticPodUIDs(driver: Driver) throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: driver, runtime: .containerd)
        var ids = IDSource(seed: 9)
        let pods = [
            ids.pod("kube-system", "kube-apiserver-node-1", qos: .burstable, containers: ["kube-apiserver"], staticPod: true),
            ids.pod("kube-system", "etcd-node-1", qos: .guaranteed, containers: ["etcd"], staticPod: true),
        ]
        pods.forEach(node.add)
        #expect(pods.allSatisfy { $0.uid.count == 32 })
        let report = node.discover()
        #expect(report.pods == NodeFixture.sorted(pods.map { node.expected($0) }))
    }

    /// CRI-O: conmon scopes beside the containers are runtime monitors; the dropped infra
    /// container leaves an empty `crio-<sandbox>` directory without `.scope`.
    @Test(arguments: Driver.allCases)
    func crioConmonAndEmptySandboxAreNotContainers(driver: Driver) throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: driver, runtime: .crio)
        var ids = IDSource(seed: 10)
        let pod = ids.pod("default", "web-0", qos: .burstable, containers: ["nginx"])
        node.add(pod)
        let podPath = node.podCgroupAbsolute(pod)
        let conmon = driver == .systemd ? "crio-conmon-\(pod.containers[0].id).scope" : "crio-conmon-\(pod.containers[0].id)"
        #expect(tree.exists(podPath + "/" + conmon))
        #expect(tree.exists(podPath + "/crio-\(pod.sandboxID)"))

        let report = node.discover()
        let found = try #require(report.pods.first)
        #expect(found.containers.map(\.id) == [pod.containers[0].id])
        #expect(found.containers.map(\.runtime) == [.crio])
        #expect(found.unnamedContainerIDs == [pod.sandboxID])
        #expect(report.skippedEntries == 0)
    }

    /// crun's `container` child and CRI-O's `exec` child belong to their container.
    @Test func childrenInsideAContainerCgroupAreNotContainers() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .crio)
        var ids = IDSource(seed: 12)
        let pod = ids.pod("default", "web-0", qos: .guaranteed, containers: ["nginx"])
        node.add(pod)
        let container = node.podCgroupRelative(uid: pod.uid, qos: pod.qos) + "/" + node.containerCgroupName(pod.containers[0].id)
        tree.writeFile("sys/fs/cgroup/\(container)/container/cgroup.procs", "1\n")
        tree.writeFile("sys/fs/cgroup/\(container)/exec/cgroup.procs", "2\n")
        // Even a container-shaped name inside a container cgroup is not walked into.
        tree.makeDirectory("sys/fs/cgroup/\(container)/\(ids.containerID())")

        let report = node.discover()
        #expect(report.pods == [node.expected(pod)])
        #expect(report.skippedEntries == 0)
    }

    @Test func oddDirectoriesInThePodTreeAreSkippedAndCounted() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 13)
        let pod = ids.pod("default", "web-0", qos: .burstable, containers: ["nginx"])
        node.add(pod)
        let podDirectory = "sys/fs/cgroup/" + node.podCgroupRelative(uid: pod.uid, qos: pod.qos)
        tree.makeDirectory(podDirectory + "/\(ids.containerID()).mount")
        tree.makeDirectory(podDirectory + "/something-else")
        tree.makeDirectory("sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podNOTAUID.slice")
        tree.makeDirectory("sys/fs/cgroup/kubepods.slice/stray")
        tree.writeFile("sys/fs/cgroup/kubepods.slice/kubepods-pod0123.slice")  // a file, not a directory: ignored

        let report = node.discover()
        #expect(report.pods == [node.expected(pod)])
        #expect(report.skippedEntries == 4)
    }

    @Test func missingDirectoriesGiveAnEmptyReport() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let report = PodDiscovery(configuration: DiscoveryConfiguration(
            cgroupRoot: tree.path + "/nope", podLogDirectory: tree.path + "/nope", containerLogDirectory: tree.path + "/nope")).discover()
        #expect(report.pods.isEmpty)
        #expect(report.kubepodsPath == nil)
        #expect((report.podCgroupsWithoutLogDirectory, report.skippedEntries, report.vanishedEntries) == (0, 0, 0))

        let empty = PodDiscovery(configuration: DiscoveryConfiguration(
            cgroupRoot: "", podLogDirectory: "", containerLogDirectory: "", kubepodsPath: "")).discover()
        #expect(empty.pods.isEmpty)
    }
}
