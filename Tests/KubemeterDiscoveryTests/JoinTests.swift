import KubemeterTestSupport
import Glibc
import Testing
@testable import KubemeterDiscovery
import KubemeterHostFiles

/// The join of pod cgroups with `/var/log/pods` (by UID) and of container cgroups with
/// `/var/log/containers` (by ID).
@Suite struct JoinTests {
    /// A pod and container name so long that the kubelet cuts the link name `keptHexDigits` into
    /// the ID. The pod name takes the most a pod that starts can have (len(namespace) +
    /// len(pod) = 217, kubernetes#104288: else `/var/log/pods/<ns>_<pod>_<uid>` exceeds 255 bytes),
    /// which leaves 31 bytes for `<container>-<id>`.
    static func namesCut(keptHexDigits: Int, namespace: String, container: String) -> (pod: String, container: String) {
        let pod = "long-" + String(repeating: "p", count: 217 - namespace.count - 5)
        let padding = 31 - keptHexDigits - container.count - 1
        return (pod, container + "-" + String(repeating: "x", count: padding))
    }

    @Test func aCutIDWithAUniquePrefixIsMatched() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 20)
        let names = Self.namesCut(keptHexDigits: 6, namespace: "default", container: "sidecar")
        let pod = ids.pod("default", names.pod, qos: .burstable, containers: [names.container])
        node.add(pod)
        let links = try FileSystem.entries(of: node.containerLogDirectory).map(\.name)
        #expect(links.count == 1)
        #expect(links.allSatisfy { ContainerLogName(parsing: $0)?.idPrefix == String(pod.containers[0].id.prefix(6)) })

        let report = node.discover()
        #expect(report.pods == [node.expected(pod)])
        #expect(report.skippedEntries == 0)
    }

    /// A pod deleted and re-created with the same name: two pod cgroups, two UIDs. The cut
    /// prefix of the new pod's container also matches the old pod's sandbox; the link's target
    /// names the UID and settles it.
    @Test func anAmbiguousCutIDIsSettledByTheLinksTarget() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .cgroupfs, runtime: .containerd)
        var ids = IDSource(seed: 21)
        let (name, app) = Self.namesCut(keptHexDigits: 2, namespace: "default", container: "app")
        let old = FixturePod(
            namespace: "default", name: name, uid: ids.uuid(), qos: .burstable, sandboxID: ids.containerID(prefix: "ab"),
            containers: [FixtureContainer(name: app, id: ids.containerID(prefix: "cd"))])
        let new = FixturePod(
            namespace: "default", name: name, uid: ids.uuid(), qos: .burstable, sandboxID: ids.containerID(prefix: "ef"),
            containers: [FixtureContainer(name: app, id: ids.containerID(prefix: "ab"))])
        node.add(old)
        node.add(new)
        #expect(try FileSystem.entries(of: node.containerLogDirectory).map(\.name).sorted() == [
            "\(name)_default_\(app)-ab.log", "\(name)_default_\(app)-cd.log",
        ])

        let report = node.discover()
        #expect(report.pods == NodeFixture.sorted([node.expected(old), node.expected(new)]))
        #expect(report.skippedEntries == 0)
    }

    /// The same, but the target is not a pod log path: nothing settles it, so nothing is guessed.
    @Test func anAmbiguousCutIDWithAnUnreadableTargetNamesNothing() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .cgroupfs, runtime: .containerd)
        var ids = IDSource(seed: 22)
        let (name, app) = Self.namesCut(keptHexDigits: 2, namespace: "default", container: "app")
        let old = FixturePod(
            namespace: "default", name: name, uid: ids.uuid(), qos: .burstable, sandboxID: ids.containerID(prefix: "ab"),
            containers: [])
        let new = FixturePod(
            namespace: "default", name: name, uid: ids.uuid(), qos: .burstable, sandboxID: ids.containerID(prefix: "ef"),
            containers: [FixtureContainer(name: app, id: ids.containerID(prefix: "ab"))])
        node.add(old)
        node.addCgroups(new)
        node.addPodLogDirectory(new)
        node.addLink(new, new.containers[0], target: "/somewhere/else.log")

        let report = node.discover()
        let expectedNew = node.expected(new, containers: [], unnamed: [new.sandboxID, new.containers[0].id])
        #expect(report.pods == NodeFixture.sorted([node.expected(old), expectedNew]))
        #expect(report.skippedEntries == 1)
    }

    /// Within one pod a 1-digit prefix can match the container and its own sandbox: the target
    /// names the same pod, so it stays ambiguous and both stay unnamed.
    @Test func aPrefixMatchingTheContainerAndItsOwnSandboxNamesNothing() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .docker)
        var ids = IDSource(seed: 23)
        let (name, app) = Self.namesCut(keptHexDigits: 1, namespace: "ns", container: "app")
        let pod = FixturePod(
            namespace: "ns", name: name, uid: ids.uuid(), qos: .guaranteed, sandboxID: ids.containerID(prefix: "a1"),
            containers: [FixtureContainer(name: app, id: ids.containerID(prefix: "a2"))])
        node.add(pod)
        let report = node.discover()
        #expect(report.pods == [node.expected(pod, containers: [], unnamed: [pod.sandboxID, pod.containers[0].id])])
        #expect(report.skippedEntries == 1)
    }

    /// Cut so early that the container name itself is cut: the target gives the whole name.
    @Test func aNameCutInsideTheContainerNameIsNotMisnamed() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 24)
        let pod = FixturePod(
            namespace: "ns", name: String(repeating: "p", count: 215), uid: ids.uuid(), qos: .guaranteed,
            sandboxID: ids.containerID(), containers: [FixtureContainer(name: "very-long-container-name-for-testing-cuts", id: ids.containerID())])
        node.add(pod)
        let report = node.discover()
        // No ID digit survives: the container cannot be told from the sandbox, so neither is named.
        #expect(report.pods == [node.expected(pod, containers: [], unnamed: [pod.sandboxID, pod.containers[0].id])])
    }

    /// A restarted container: the old instance's link stays (its cgroup is gone), and so does a
    /// log rotated beside the current one. The join is by ID: only the live instance is named,
    /// with the restart count of its own link's `1.log`.
    @Test(arguments: Driver.allCases)
    func restartedContainersAndRotatedLogsDoNotConfuseTheJoin(driver: Driver) throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: driver, runtime: .containerd)
        var ids = IDSource(seed: 25)
        let pod = ids.pod("default", "web-0", qos: .burstable, containers: ["nginx"])
        let live = FixtureContainer(name: "nginx", id: pod.containers[0].id, restart: 1)
        let dead = FixtureContainer(name: "nginx", id: ids.containerID(), restart: 0)
        node.addCgroups(pod)
        node.addPodLogDirectory(pod)
        node.addLink(pod, dead)
        node.addLink(pod, live)
        tree.writeFile("var/log/pods/default_web-0_\(pod.uid)/nginx/1.log.20251122-101500", "rotated\n")
        tree.writeFile("var/log/pods/default_web-0_\(pod.uid)/nginx/1.log.20251122-091500.gz", "")
        #expect(try FileSystem.entries(of: node.containerLogDirectory).count == 2)

        let report = node.discover()
        #expect(report.pods == [node.expected(pod, containers: [live])])
        #expect(report.pods.first?.containers.first?.restartCount == 1)
        #expect(report.skippedEntries == 0)
    }

    /// A whole link whose target is not its container's `<n>.log` (not a pod log path, another
    /// container's directory, a rotated file, another pod UID): the container keeps its name
    /// (from the link's own name), its restart count is unknown, and the target is counted as a
    /// skipped entry, once.
    @Test(arguments: [
        "/somewhere/else.log",
        "/var/log/pods/default_web-0_UID/other/0.log",
        "/var/log/pods/default_web-0_UID/nginx/0.log.20261203-101010.gz",
        "/var/log/pods/default_web-0_UID/nginx/-1.log",
        "/var/log/pods/default_web-0_00000000-0000-0000-0000-000000000000/nginx/0.log",
    ])
    func aTargetThatIsNotTheContainersLogGivesNoRestartCount(target: String) throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 28)
        let pod = ids.pod("default", "web-0", qos: .burstable, containers: ["nginx"])
        node.addCgroups(pod)
        node.addPodLogDirectory(pod)
        node.addLink(pod, pod.containers[0], target: target.replacing("UID", with: pod.uid))
        let report = node.discover()
        var expected = node.expected(pod)
        expected.containers[0].restartCount = nil
        #expect(report.pods == [expected])
        #expect(report.skippedEntries == 1)
    }

    /// The same with cut IDs: the dead instance's 1-digit prefix matches the live sandbox. Its
    /// target's `<n>.log` is older than the live instance's, so it takes no part.
    @Test func aDeadInstancesCutLinkDoesNotNameTheSandbox() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 26)
        let (name, app) = Self.namesCut(keptHexDigits: 1, namespace: "ns", container: "app")
        let pod = FixturePod(
            namespace: "ns", name: name, uid: ids.uuid(), qos: .burstable, sandboxID: ids.containerID(prefix: "7"),
            containers: [FixtureContainer(name: app, id: ids.containerID(prefix: "3"), restart: 2)])
        node.addCgroups(pod)
        node.addPodLogDirectory(pod)
        node.addLink(pod, FixtureContainer(name: app, id: ids.containerID(prefix: "7"), restart: 1))  // dead
        node.addLink(pod, pod.containers[0])

        let report = node.discover()
        #expect(report.pods == [node.expected(pod)])
        #expect(report.pods.first?.containers.first?.restartCount == 2)
    }

    @Test func podsDeletedAndRecreatedWithTheSameNameAreNeverMixed() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .crio)
        var ids = IDSource(seed: 27)
        let old = ids.pod("db", "postgres-0", qos: .guaranteed, containers: ["postgres", "metrics"])
        let new = ids.pod("db", "postgres-0", qos: .guaranteed, containers: ["postgres", "metrics"])
        node.add(old)
        node.add(new)
        let report = node.discover()
        #expect(report.pods == NodeFixture.sorted([node.expected(old), node.expected(new)]))
        #expect(Set(report.pods.map(\.uid)) == [old.uid, new.uid])
    }

    @Test func aLogDirectoryWithoutACgroupIsNotReported() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 28)
        let live = ids.pod("default", "live", qos: .burstable, containers: ["c"])
        let gone = ids.pod("default", "gone", qos: .burstable, containers: ["c"])
        node.add(live)
        node.addLogs(gone)
        let report = node.discover()
        #expect(report.pods == [node.expected(live)])
        #expect((report.podCgroupsWithoutLogDirectory, report.skippedEntries) == (0, 0))
    }

    @Test func aCgroupWithoutALogDirectoryIsCountedNotReported() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .cgroupfs, runtime: .crio)
        var ids = IDSource(seed: 29)
        let named = ids.pod("default", "named", qos: .besteffort, containers: ["c"])
        let anonymous = ids.pod("default", "anonymous", qos: .guaranteed, containers: ["c"])
        let legacy = ids.pod("default", "legacy", qos: .burstable, containers: ["c"])
        node.add(named)
        node.addCgroups(anonymous)
        node.addCgroups(legacy)
        tree.makeDirectory("var/log/pods/\(legacy.uid)/c")  // before 1.14: /var/log/pods/<uid>, no names
        let report = node.discover()
        #expect(report.pods == [node.expected(named)])
        #expect(report.podCgroupsWithoutLogDirectory == 2)
        #expect(report.skippedEntries == 0)
    }

    /// The sandbox never gets a link; a container started an instant ago has none yet.
    @Test func containerCgroupsWithoutALinkAreUnnamed() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .docker)
        var ids = IDSource(seed: 30)
        let pod = ids.pod("default", "web-0", qos: .burstable, containers: ["nginx", "starting"])
        node.addCgroups(pod)
        node.addPodLogDirectory(pod)
        node.addLink(pod, pod.containers[0])
        let report = node.discover()
        #expect(report.pods == [node.expected(pod, containers: [pod.containers[0]], unnamed: [pod.sandboxID, pod.containers[1].id])])
    }

    /// The kubelet's links point at absolute host paths, which dangle under /host.
    @Test func danglingAbsoluteLinksAreEnough() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 31)
        let pod = ids.pod("monitoring", "prometheus-k8s-0", qos: .burstable, containers: ["prometheus", "config-reloader"])
        node.add(pod)
        for entry in try FileSystem.entries(of: node.containerLogDirectory) {
            let target = try FileSystem.readLink(node.containerLogDirectory + "/" + entry.name)
            #expect(target.hasPrefix("/var/log/pods/monitoring_prometheus-k8s-0_\(pod.uid)/"))
            #expect(access(node.containerLogDirectory + "/" + entry.name, F_OK) != 0)  // dangles
        }
        #expect(node.discover().pods == [node.expected(pod)])
    }

    @Test func linksThatContradictTheirCgroupOrLookWrongAreSkipped() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 32)
        let a = ids.pod("default", "a", qos: .burstable, containers: ["c"])
        let b = ids.pod("default", "b", qos: .burstable, containers: ["c"])
        node.add(a)
        node.addCgroups(b)
        node.addPodLogDirectory(b)
        // b's container ID, but a link that says it belongs to pod a.
        node.addLink(a, b.containers[0])
        tree.writeFile("var/log/containers/README.txt", "")
        tree.symlink("var/log/containers/not_a_link.log", to: "/x")
        tree.makeDirectory("var/log/pods/not-a-pod-directory")
        let report = node.discover()
        #expect(report.pods == [node.expected(a), node.expected(b, containers: [], unnamed: [b.sandboxID, b.containers[0].id])])
        #expect(report.skippedEntries == 4)
    }

    @Test func podsAndContainersAreSorted() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .cgroupfs, runtime: .docker)
        var ids = IDSource(seed: 33)
        let pods = [
            ids.pod("zeta", "a", qos: .burstable, containers: ["z", "a", "m"]),
            ids.pod("alpha", "b", qos: .besteffort, containers: ["b"]),
            ids.pod("alpha", "a", qos: .guaranteed, containers: ["x", "w"]),
        ]
        pods.forEach(node.add)
        let report = node.discover()
        #expect(report.pods.map { "\($0.namespace)/\($0.name)" } == ["alpha/a", "alpha/b", "zeta/a"])
        #expect(report.pods.map { $0.containers.map(\.name) } == [["w", "x"], ["b"], ["a", "m", "z"]])
    }
}
