import KubemeterTestSupport
import Dispatch
import Synchronization
import Testing
@testable import KubemeterDiscovery
import KubemeterHostFiles

/// Counts and records the file system calls of one discovery; wraps the live file system.
/// Safe to share: all state is behind the Mutex.
final class RecordingFileSystem: Sendable {
    struct Calls {
        var listed: [String] = []
        var entries: [String] = []
        var readLinks: [String] = []
    }

    let calls = Mutex(Calls())
    /// Called after a directory was listed and before its listing is returned: lets a test
    /// remove something at exactly that moment.
    let afterListing: @Sendable (String) -> Void
    let beforeReadLink: @Sendable (String) -> Void

    init(afterListing: @escaping @Sendable (String) -> Void = { _ in }, beforeReadLink: @escaping @Sendable (String) -> Void = { _ in }) {
        self.afterListing = afterListing
        self.beforeReadLink = beforeReadLink
    }

    var access: FileSystemAccess {
        FileSystemAccess(
            subdirectories: { path throws(HostFileError) in
                self.calls.withLock { $0.listed.append(path) }
                let listing = try FileSystem.subdirectories(of: path)
                self.afterListing(path)
                return listing
            },
            entries: { path throws(HostFileError) in
                self.calls.withLock { $0.entries.append(path) }
                return try FileSystem.entries(of: path)
            },
            readLink: { path throws(HostFileError) in
                self.calls.withLock { $0.readLinks.append(path) }
                self.beforeReadLink(path)
                return try FileSystem.readLink(path)
            })
    }
}

@Suite struct ChurnAndCostTests {
    /// One listing per directory walked, one of each log directory, one readlink per container
    /// (its own link, for its restart count) and none for anything else.
    @Test(arguments: Driver.allCases)
    func listsEachDirectoryOnce(driver: Driver) throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: driver, runtime: .crio)
        var ids = IDSource(seed: 40)
        let pods = (0..<6).map { ids.pod("default", "pod-\($0)", qos: [.guaranteed, .burstable, .besteffort][$0 % 3], containers: ["a", "b"]) }
        pods.forEach(node.add)
        tree.makeDirectory("sys/fs/cgroup/system.slice/containerd.service")
        let recorder = RecordingFileSystem()

        let report = PodDiscovery(configuration: node.configuration(), fileSystem: recorder.access).discover()

        #expect(report.pods.count == 6)
        let calls = recorder.calls.withLock { $0 }
        let qosLevels = driver == .systemd
            ? ["kubepods.slice/kubepods-burstable.slice", "kubepods.slice/kubepods-besteffort.slice"]
            : ["kubepods/burstable", "kubepods/besteffort"]
        let expected = [node.cgroupRoot, node.kubepodsAbsolute] + qosLevels.map { node.cgroupRoot + "/" + $0 }
            + pods.map(node.podCgroupAbsolute)
        #expect(calls.listed.sorted() == expected.sorted())  // each once: no directory listed twice
        #expect(calls.entries.sorted() == [node.containerLogDirectory, node.podLogDirectory])
        let links = pods.flatMap { pod in
            pod.containers.map { node.containerLogDirectory + "/" + NodeFixture.linkName(pod: pod.name, namespace: pod.namespace, container: $0.name, id: $0.id) }
        }
        #expect(calls.readLinks.sorted() == links.sorted())  // each once, sandboxes never
        #expect(report.pods.allSatisfy { $0.containers.allSatisfy { $0.restartCount == 0 } })
    }

    /// With link targets kept (as the agent keeps them, in its `ListingCache`), a second discovery
    /// that walks everything again reads no link; after the kubelet restarts a container (a new
    /// ID and cgroup, a new link to `<n+1>.log`, the old link gone) the next one reads exactly
    /// the new link, and the count goes up by one.
    @Test func aSecondDiscoveryReadsNoLinkAndARestartReadsOne() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 45)
        var pods = (0..<4).map { ids.pod("default", "pod-\($0)", qos: .burstable, containers: ["a", "b"]) }
        pods.forEach(node.add)
        let recorder = RecordingFileSystem()
        let cache = ListingCache(maximumOpenDirectories: 64, holdsOnlyCgroupDirectories: false)
        let discovery = PodDiscovery(configuration: node.configuration(), fileSystem: recorder.access.cachingLinkTargets(in: cache))
        func readLinks() -> [String] {
            recorder.calls.withLock { calls in
                defer { calls.readLinks = [] }
                return calls.readLinks
            }
        }

        #expect(discovery.discover().pods == NodeFixture.sorted(pods.map { node.expected($0) }))
        #expect(readLinks().count == 8)
        let listingsBefore = recorder.calls.withLock { $0.listed.count }
        #expect(discovery.discover().pods == NodeFixture.sorted(pods.map { node.expected($0) }))
        #expect(recorder.calls.withLock { $0.listed.count } > listingsBefore, "walked everything again")
        #expect(readLinks() == [])

        // The kubelet restarts pod-2's "b".
        let old = pods[2].containers[1]
        let new = FixtureContainer(name: "b", id: ids.containerID(), restart: old.restart + 1)
        TemporaryDirectory.removeTree(node.podCgroupAbsolute(pods[2]) + "/" + node.containerCgroupName(old.id))
        TemporaryDirectory.removeTree(node.containerLogDirectory + "/" + NodeFixture.linkName(pod: pods[2].name, namespace: "default", container: "b", id: old.id))
        pods[2].containers[1] = new
        node.addCgroups(pods[2], containers: [new])
        let newLink = node.addLink(pods[2], new)

        let report = discovery.discover()
        #expect(report.pods == NodeFixture.sorted(pods.map { node.expected($0) }))
        #expect(report.pods.first { $0.name == "pod-2" }?.containers.first { $0.name == "b" }?.restartCount == 1)
        #expect(readLinks() == [node.containerLogDirectory + "/" + newLink])
    }

    /// The agent's path (`PodDiscovery(listingCache:)`): the cache's own figures say every link
    /// was read once, also across `invalidateAll()` (what the collector does on ENODEV).
    @Test func theAgentsCacheReadsEachLinkOnceEvenAfterInvalidation() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .cgroupfs, runtime: .containerd)
        var ids = IDSource(seed: 46)
        let pods = (0..<3).map { ids.pod("default", "pod-\($0)", qos: .besteffort, containers: ["a", "b"]) }
        pods.forEach(node.add)
        let cache = ListingCache(maximumOpenDirectories: 64, holdsOnlyCgroupDirectories: false)
        let discovery = PodDiscovery(configuration: node.configuration(), listingCache: cache)
        for _ in 0..<3 { _ = discovery.discover() }
        cache.invalidateAll()
        #expect(discovery.discover().pods == NodeFixture.sorted(pods.map { node.expected($0) }))
        #expect(cache.linkTargetStatistics.read == 6)
        #expect(cache.linkTargetStatistics.reused >= 6, "the discovery after invalidateAll reused all six")
    }

    /// A pod cgroup removed between the listing of its QoS level and its own listing.
    @Test func aPodCgroupThatVanishesMidWalkIsCountedAndSkipped() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 41)
        let staying = ids.pod("default", "staying", qos: .burstable, containers: ["c"])
        let leaving = ids.pod("default", "leaving", qos: .burstable, containers: ["c"])
        node.add(staying)
        node.add(leaving)
        let qosLevel = node.cgroupRoot + "/kubepods.slice/kubepods-burstable.slice"
        let doomed = node.podCgroupAbsolute(leaving)
        let recorder = RecordingFileSystem(afterListing: { path in
            if path == qosLevel { TemporaryDirectory.removeTree(doomed) }
        })

        let report = PodDiscovery(configuration: node.configuration(), fileSystem: recorder.access).discover()

        #expect(report.pods == [node.expected(staying)])
        #expect(report.vanishedEntries == 1)
        #expect(report.podCgroupsWithoutLogDirectory == 0)
    }

    /// A QoS level (or the whole tree) removed after the root listing named it.
    @Test func aQoSLevelThatVanishesIsCounted() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .cgroupfs, runtime: .docker)
        var ids = IDSource(seed: 42)
        let guaranteed = ids.pod("default", "g", qos: .guaranteed, containers: ["c"])
        node.add(guaranteed)
        node.add(ids.pod("default", "b", qos: .besteffort, containers: ["c"]))
        let kubepods = node.kubepodsAbsolute
        let recorder = RecordingFileSystem(afterListing: { path in
            if path == kubepods { TemporaryDirectory.removeTree(kubepods + "/besteffort") }
        })
        let report = PodDiscovery(configuration: node.configuration(), fileSystem: recorder.access).discover()
        #expect(report.pods == [node.expected(guaranteed)])
        #expect(report.vanishedEntries == 1)
    }

    /// A cut link swept between the listing and its readlink.
    @Test func aLinkThatVanishesBeforeReadlinkIsCounted() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 43)
        let (name, app) = JoinTests.namesCut(keptHexDigits: 1, namespace: "ns", container: "app")
        let pod = FixturePod(
            namespace: "ns", name: name, uid: ids.uuid(), qos: .burstable, sandboxID: ids.containerID(prefix: "9a"),
            containers: [FixtureContainer(name: app, id: ids.containerID(prefix: "9b"))])
        node.add(pod)
        let recorder = RecordingFileSystem(beforeReadLink: { path in TemporaryDirectory.removeTree(path) })
        let report = PodDiscovery(configuration: node.configuration(), fileSystem: recorder.access).discover()
        #expect(recorder.calls.withLock { $0.readLinks.count } == 1)
        #expect(report.pods == [node.expected(pod, containers: [], unnamed: [pod.sandboxID, pod.containers[0].id])])
        #expect(report.vanishedEntries == 1)
    }

    /// Pods created and removed on another thread while discovery runs: never a crash, and
    /// every pod reported is one that exists (or existed) with its right names.
    @Test func discoveryDuringRealChurnReportsOnlyRealPods() throws {
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let node = NodeFixture(tree: tree, driver: .systemd, runtime: .containerd)
        var ids = IDSource(seed: 44)
        let pods = (0..<12).map { ids.pod("churn", "pod-\($0)", qos: [.guaranteed, .burstable, .besteffort][$0 % 3], containers: ["c"]) }
        pods.forEach(node.add)
        let expected = Dictionary(uniqueKeysWithValues: pods.map { ($0.uid, node.expected($0)) })
        let problems = Mutex<[String]>([])
        let configuration = node.configuration()

        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            if worker == 0 {
                for round in 0..<150 {
                    let pod = pods[round % pods.count]
                    TemporaryDirectory.removeTree(node.podCgroupAbsolute(pod))
                    node.addCgroups(pod)
                }
            } else {
                for _ in 0..<150 {
                    let report = PodDiscovery(configuration: configuration).discover()
                    for pod in report.pods {
                        guard let want = expected[pod.uid] else {
                            problems.withLock { $0.append("unknown pod \(pod.uid)") }
                            continue
                        }
                        // A pod caught half re-created may miss containers, never have wrong ones.
                        let wrong = pod.containers.filter { !want.containers.contains($0) }
                        if pod.name != want.name || pod.namespace != want.namespace || !wrong.isEmpty {
                            problems.withLock { $0.append("wrong pod \(pod)") }
                        }
                    }
                }
            }
        }
        #expect(problems.withLock { $0 } == [])
        #expect(node.discover().pods == NodeFixture.sorted(Array(expected.values)))
    }
}
