#if canImport(Glibc)
import KubemeterTestSupport
import Glibc
#endif
import KubemeterCollector
import KubemeterSnapshot
import KubemeterSync
import Synchronization
import Testing

/// Runs `action` once, right after discovery has listed `directory` and before the collector
/// reads anything found in it: the deterministic form of a container, pod or file going away
/// between the listing that names it and the read (the churn tests only make it likely).
final class AfterListing: Sendable {
    private struct State {
        var armed: Bool
        var fired = 0
    }

    let directory: String
    private let action: @Sendable () -> Void
    private let state: AnnotatedMutex<State>

    init(_ directory: String, armed: Bool = true, _ action: @escaping @Sendable () -> Void) {
        self.directory = directory
        self.action = action
        state = AnnotatedMutex(State(armed: armed))
    }

    /// The hook to hand to `Collector(afterListing:)`.
    var hook: @Sendable (String) -> Void {
        { [self] path in
            guard path == directory else { return }
            let run = state.withLock { state -> Bool in
                guard state.armed else { return false }
                state.armed = false
                state.fired += 1
                return true
            }
            if run { action() }
        }
    }

    func arm() { state.withLock { $0.armed = true } }
    var timesFired: Int { state.withLock { $0.fired } }

    static func removeTree(_ path: String) {
        precondition(path.hasPrefix("/tmp/kubemeter-test-"), "refusing to remove \(path)")
        TemporaryDirectory.removeTree(path)
    }

    /// A directory where a file was: open(2) succeeds and read(2) fails with EISDIR, even for
    /// root, whom a mode of 000 does not stop.
    static func replaceWithDirectory(_ path: String) {
        precondition(unlink(path) == 0 && mkdir(path, 0o755) == 0, "cannot replace \(path)")
    }
}

@Suite struct VanishBetweenListingAndReadingTests {
    /// A fake-node tree, and a first scrape of it (by a collector the test does not disturb)
    /// whose values are checked against truth.json: the reference the disturbed scrapes must
    /// match for everything that was not removed.
    struct Baseline {
        let node: FakeNodeTree
        let truth: FakeNodeTree.Truth
        let pods: [PodUsage]

        init(driver: String = "systemd") throws {
            node = try FakeNodeTree(pods: 4, containers: 2, driver: driver)
            truth = try node.truth()
            let snapshot = Collector(paths: node.paths).collect()
            #expect(!snapshot.scrapeFailed)
            #expect(snapshot.problems == CollectionProblems())
            pods = snapshot.pods
            try #require(pods.count == 4 && pods.allSatisfy { $0.containers.count == 2 })
            try Self.expectTruth(pods, truth)
        }

        /// Every pod and container present has exactly truth.json's CPU and working set.
        static func expectTruth(_ pods: [PodUsage], _ truth: FakeNodeTree.Truth) throws {
            for pod in pods {
                let expected = try #require(truth.pods[pod.uid], "pod \(pod.uid) not in truth.json")
                #expect(pod.sample.cpuUsageSeconds == expected.cpuSeconds, "pod \(pod.name)")
                #expect(pod.sample.memoryWorkingSetBytes == expected.workingSetBytes, "pod \(pod.name)")
                for container in pod.containers {
                    let expected = try #require(truth.containers[container.id], "container \(container.id) not in truth.json")
                    #expect(container.sample.cpuUsageSeconds == expected.cpuSeconds, "\(pod.name)/\(container.name)")
                    #expect(container.sample.memoryWorkingSetBytes == expected.workingSetBytes, "\(pod.name)/\(container.name)")
                }
            }
        }

        /// The pod the tests disturb: one in the middle, so pods are read before and after it.
        var victim: PodUsage { pods[1] }

        func without(pod uid: String) -> [PodUsage] { pods.filter { $0.uid != uid } }

        func without(container id: String) -> [PodUsage] {
            pods.map { pod in
                var pod = pod
                pod.containers.removeAll { $0.id == id }
                return pod
            }
        }
    }

    static func expectNoOtherProblem(_ problems: CollectionProblems, vanished: Int = 0, unreadable: Int = 0) {
        #expect(problems.vanishedCgroups == vanished)
        #expect(problems.unreadableFiles == unreadable)
        #expect(problems.podsWithoutLogDirectory == 0)
        #expect(problems.skippedEntries == 0)
    }

    /// (a) A container cgroup removed right after discovery listed its pod (which is how
    /// discovery learns of containers) and before the collector reads it; `warm`: the collector
    /// already held the container's files open from an earlier scrape.
    @Test(arguments: ["systemd", "cgroupfs"], [false, true])
    func aContainerRemovedAfterListingIsAbsentAndCounted(driver: String, warm: Bool) throws {
        let baseline = try Baseline(driver: driver)
        let pod = baseline.victim
        let gone = pod.containers[0]
        let removal = AfterListing(pod.cgroupPath, armed: !warm) { AfterListing.removeTree(gone.cgroupPath) }
        let collector = Collector(paths: baseline.node.paths, afterListing: removal.hook)
        if warm {
            #expect(collector.collect().pods == baseline.pods)
            removal.arm()
        }

        let snapshot = collector.collect()

        #expect(removal.timesFired == 1)
        #expect(!snapshot.scrapeFailed)
        // Absent, not reported with zeros or without values; everything else as it was.
        #expect(snapshot.pods == baseline.without(container: gone.id))
        #expect(!snapshot.pods.contains { $0.containers.contains { $0.id == gone.id } })
        try Baseline.expectTruth(snapshot.pods, baseline.truth)
        Self.expectNoOtherProblem(snapshot.problems, vanished: 1)

        // The next scrape no longer lists it: nothing vanishes any more.
        let next = collector.collect()
        #expect(next.pods == baseline.without(container: gone.id))
        Self.expectNoOtherProblem(next.problems)
    }

    /// (b) A whole pod cgroup removed right after discovery listed it.
    @Test(arguments: ["systemd", "cgroupfs"], [false, true])
    func aPodRemovedAfterListingIsAbsentAndCounted(driver: String, warm: Bool) throws {
        let baseline = try Baseline(driver: driver)
        let pod = baseline.victim
        let removal = AfterListing(pod.cgroupPath, armed: !warm) { AfterListing.removeTree(pod.cgroupPath) }
        let collector = Collector(paths: baseline.node.paths, afterListing: removal.hook)
        if warm {
            #expect(collector.collect().pods == baseline.pods)
            removal.arm()
        }

        let snapshot = collector.collect()

        #expect(removal.timesFired == 1)
        #expect(!snapshot.scrapeFailed)
        #expect(snapshot.pods == baseline.without(pod: pod.uid))
        try Baseline.expectTruth(snapshot.pods, baseline.truth)
        // The pod is counted once; its containers were never reached.
        Self.expectNoOtherProblem(snapshot.problems, vanished: 1)

        let next = collector.collect()
        #expect(next.pods == baseline.without(pod: pod.uid))
        Self.expectNoOtherProblem(next.problems)
    }

    /// (c) One file of a container made unreadable (a directory in its place) after discovery
    /// listed the pod: only that file's values are missing, counted once as unreadable.
    @Test(arguments: ["memory.stat", "cpu.stat", "io.stat"], [false, true])
    func aFileUnreadableAfterListingLosesOnlyItsSeries(file: String, warm: Bool) throws {
        let baseline = try Baseline()
        let pod = baseline.victim
        let container = pod.containers[1]
        let removal = AfterListing(pod.cgroupPath, armed: !warm) {
            AfterListing.replaceWithDirectory(container.cgroupPath + "/" + file)
        }
        let collector = Collector(paths: baseline.node.paths, afterListing: removal.hook)
        if warm {
            #expect(collector.collect().pods == baseline.pods)
            removal.arm()
        }

        let snapshot = collector.collect()

        #expect(removal.timesFired == 1)
        #expect(!snapshot.scrapeFailed)
        var expected = baseline.pods
        let podIndex = try #require(expected.firstIndex { $0.uid == pod.uid })
        let containerIndex = try #require(expected[podIndex].containers.firstIndex { $0.id == container.id })
        switch file {
        case "memory.stat": expected[podIndex].containers[containerIndex].sample.memoryStat = nil
        case "cpu.stat": expected[podIndex].containers[containerIndex].sample.cpu = nil
        default: expected[podIndex].containers[containerIndex].sample.ioStat = nil
        }
        #expect(snapshot.pods == expected)
        let disturbed = snapshot.pods.first { $0.uid == pod.uid }?.containers.first { $0.id == container.id }
        switch file {
        case "memory.stat": #expect(disturbed?.sample.memoryWorkingSetBytes == nil)
        case "cpu.stat": #expect(disturbed?.sample.cpuUsageSeconds == nil)
        default: #expect(disturbed?.sample.ioStat == nil)
        }
        Self.expectNoOtherProblem(snapshot.problems, unreadable: 1)
    }

    /// (d) A pod's log directory removed right after discovery listed `/var/log/pods` and before
    /// the rest of discovery and the reads. The listing already gave the pod its names and
    /// nothing is read inside the directory, so this scrape still reports it exactly; the next
    /// one lists `/var/log/pods` again and counts the pod as without log directory.
    @Test func aPodLogDirectoryRemovedAfterListing() throws {
        let baseline = try Baseline()
        let pod = baseline.victim
        let logDirectory = "\(baseline.node.podLogDirectory)/\(pod.namespace)_\(pod.name)_\(pod.uid)"
        try #require(access(logDirectory, F_OK) == 0)
        let removal = AfterListing(baseline.node.podLogDirectory) { AfterListing.removeTree(logDirectory) }
        let collector = Collector(paths: baseline.node.paths, afterListing: removal.hook)

        let snapshot = collector.collect()

        #expect(removal.timesFired == 1)
        #expect(access(logDirectory, F_OK) != 0)
        #expect(!snapshot.scrapeFailed)
        #expect(snapshot.pods == baseline.pods)
        Self.expectNoOtherProblem(snapshot.problems)

        let next = collector.collect()
        #expect(!next.scrapeFailed)
        #expect(next.pods == baseline.without(pod: pod.uid))
        try Baseline.expectTruth(next.pods, baseline.truth)
        #expect(next.problems.podsWithoutLogDirectory == 1)
        #expect(next.problems.vanishedCgroups == 0)
        #expect(next.problems.unreadableFiles == 0)
    }
}
