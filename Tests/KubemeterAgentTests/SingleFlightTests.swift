import KubemeterTestSupport
import Dispatch
@testable import KubemeterAgent
import KubemeterCollector
import KubemeterSnapshot
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif
import KubemeterSync

private func now() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// Scrapes that arrive while a collection runs must not get it (it read the files before they
/// arrived); they must all share the one collection after it.
@Test func scrapesArrivingDuringACollectionShareTheNextOne() {
    let gate = DispatchSemaphore(value: 0)
    let collections = Atomic<Int>(0)
    let flight = SingleFlightCollector { _ in
        if collections.add(1, ordering: .sequentiallyConsistent).newValue == 1 { gate.wait() }
        return NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: [])
    }
    let done = DispatchGroup()
    let firstGeneration = AnnotatedMutex<UInt64>(0)
    done.enter()
    DispatchQueue(label: "first").async {
        firstGeneration.withLock { $0 = flight.collection(notStartedBefore: now()).generation }
        done.leave()
    }
    while collections.load(ordering: .sequentiallyConsistent) == 0 { usleep(1_000) }

    let callers = 16
    let arrived = Atomic<Int>(0)
    let results = AnnotatedMutex<[(arrival: UInt64, generation: UInt64, started: UInt64)]>([])
    for i in 0..<callers {
        done.enter()
        // Serial queues of their own get threads of their own, even while others block.
        DispatchQueue(label: "caller-\(i)").async {
            let arrival = now()
            arrived.add(1, ordering: .sequentiallyConsistent)
            let published = flight.collection(notStartedBefore: arrival)
            results.withLock { $0.append((arrival, published.generation, published.startedNanoseconds)) }
            done.leave()
        }
    }
    while arrived.load(ordering: .sequentiallyConsistent) < callers { usleep(1_000) }
    gate.signal()
    done.wait()

    let all = results.withLock { $0 }
    #expect(all.count == callers)
    #expect(collections.load(ordering: .sequentiallyConsistent) == 2, "one collection, then one shared by all 16")
    #expect(all.allSatisfy { $0.generation != firstGeneration.withLock { $0 } })
    #expect(all.allSatisfy { $0.started >= $0.arrival }, "never data read before the scrape arrived")
    #expect(Set(all.map(\.generation)).count == 1)
}

@Test func renderingIsMadeOncePerCollection() {
    let host = TemporaryDirectory()
    let collector = Collector(paths: .resolve(hostRoot: host.path))
    let flight = SingleFlightCollector(collect: { collector.collect(scope: $0) })
    let published = flight.collection(notStartedBefore: 0)
    let calls = Atomic<Int>(0)
    for _ in 0..<3 {
        _ = published.rendering("x") { _ in calls.add(1, ordering: .relaxed); return [1, 2] }
    }
    #expect(calls.load(ordering: .relaxed) == 1)
}

/// Between scrapes nothing is held that no scrape can use: a collection no scrape waited for is
/// let go once handed out, and a `.full` one kept for /top loses its renderings when the next starts.
@Test func betweenScrapesNoSnapshotOrRenderingIsHeld() {
    let flight = SingleFlightCollector { _ in NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: [], scrapeFailed: false) }
    weak var resourceOnly: SingleFlightCollector.Published?
    do {
        let published = flight.collection(notStartedBefore: now(), scope: .resource)
        resourceOnly = published
        _ = published.rendering("x") { _ in [1] }
        #expect(flight.lastCollection == nil, "no scrape waited for it")
    }
    #expect(resourceOnly == nil, "freed with its rendering once the scrape is done with it")

    let full = flight.collection(notStartedBefore: now(), scope: .full)
    let calls = Atomic<Int>(0)
    _ = full.rendering("x") { _ in calls.add(1, ordering: .relaxed); return [1] }
    _ = full.rendering("x") { _ in calls.add(1, ordering: .relaxed); return [1] }
    #expect(calls.load(ordering: .relaxed) == 1, "made once while its scrape uses it")
    full.doneRendering()
    #expect(flight.lastFullCollection === full, "kept for /top")
    _ = full.rendering("x") { _ in calls.add(1, ordering: .relaxed); return [1] }
    #expect(calls.load(ordering: .relaxed) == 2, "its rendering was dropped when the last scrape using it was done")
    _ = flight.collection(notStartedBefore: now(), scope: .resource)
    _ = full.rendering("x") { _ in calls.add(1, ordering: .relaxed); return [1] }
    #expect(calls.load(ordering: .relaxed) == 3, "and again when the next collection started")
}

/// A /metrics/cadvisor scrape that arrives while a /metrics/resource collection runs gets a
/// `.full` collection after it, and a /metrics/resource scrape arriving with it shares that one.
@Test func theNextCollectionReadsTheWidestScopeWaitingForIt() {
    let gate = DispatchSemaphore(value: 0)
    let scopes = AnnotatedMutex<[CollectionScope]>([])
    let flight = SingleFlightCollector { scope in
        let count = scopes.withLock { $0.append(scope); return $0.count }
        if count == 1 { gate.wait() }
        return NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: [])
    }
    let done = DispatchGroup()
    done.enter()
    DispatchQueue(label: "first").async {
        _ = flight.collection(notStartedBefore: now(), scope: .resource)
        done.leave()
    }
    while scopes.withLock({ $0.isEmpty }) { usleep(1_000) }
    let arrived = Atomic<Int>(0)
    let results = AnnotatedMutex<[(asked: CollectionScope, got: SingleFlightCollector.Published)]>([])
    for (i, asked) in [CollectionScope.resource, .full, .resource].enumerated() {
        done.enter()
        DispatchQueue(label: "caller-\(i)").async {
            let arrival = now()
            arrived.add(1, ordering: .sequentiallyConsistent)
            let published = flight.collection(notStartedBefore: arrival, scope: asked)
            results.withLock { $0.append((asked, published)) }
            done.leave()
        }
    }
    // All three are queued behind the running collection (counted inside the lock's wait).
    while flight.waitingScrapes < 3 { usleep(1_000) }
    #expect(arrived.load(ordering: .sequentiallyConsistent) == 3)
    gate.signal()
    done.wait()

    #expect(scopes.withLock { $0 } == [.resource, .full])
    let all = results.withLock { $0 }
    #expect(all.count == 3)
    #expect(all.allSatisfy { $0.got.scope == .full && $0.got.generation == 2 })
}

/// A `.resource` collection never serves a `.full` scrape (that a `.full` one serves `.resource`
/// scrapes waiting with it: `theNextCollectionReadsTheWidestScopeWaitingForIt`).
@Test func aNarrowerCollectionNeverServesAWiderScrape() {
    let scopes = AnnotatedMutex<[CollectionScope]>([])
    let flight = SingleFlightCollector { scope in
        scopes.withLock { $0.append(scope) }
        return NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: [])
    }
    let full = flight.collection(notStartedBefore: now(), scope: .full)
    let later = now()
    let resource = flight.collection(notStartedBefore: later, scope: .resource)
    #expect(resource.generation == full.generation + 1 && resource.scope == .resource)
    let wide = flight.collection(notStartedBefore: later, scope: .full)
    #expect(wide.generation == resource.generation + 1 && wide.scope == .full)
    #expect(scopes.withLock { $0 } == [.full, .resource, .full])
    // /top's rates go between the two `.full` collections, over the `.resource` one between them.
    #expect(flight.collection(before: wide)?.generation == full.generation)
    #expect(flight.collection(before: resource) == nil)
}

/// While a collection runs, the one before it is let go (its memory is the new one's to use), but
/// readiness and the heartbeat still see how it went.
@Test func theLastOutcomeOutlivesTheCollectionWhileTheNextRuns() {
    let gate = DispatchSemaphore(value: 0)
    let calls = Atomic<Int>(0)
    let flight = SingleFlightCollector { _ in
        if calls.add(1, ordering: .sequentiallyConsistent).newValue == 2 { gate.wait() }
        var pod = PodUsage(namespace: "ns", name: "p", uid: "u", qosClass: "Burstable", cgroupPath: "/p", sample: CgroupSample(), containers: [])
        pod.containers = [ContainerUsage(name: "c", id: "id", runtime: "containerd", cgroupPath: "/p/c", sample: CgroupSample(), startTimeSeconds: nil)]
        return NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: [pod], scrapeFailed: false)
    }
    let first = flight.collection(notStartedBefore: now())
    #expect(flight.lastFullCollection?.generation == first.generation)
    let done = DispatchGroup()
    done.enter()
    DispatchQueue(label: "second").async {
        _ = flight.collection(notStartedBefore: now())
        done.leave()
    }
    while calls.load(ordering: .sequentiallyConsistent) < 2 { usleep(1_000) }
    #expect(flight.lastCollection == nil, "the previous collection is not held while the next runs")
    #expect(flight.lastFullCollection?.generation == first.generation, "but a .full one is, for /top")
    let outcome = flight.lastFinished
    #expect(outcome?.generation == first.generation && outcome?.scrapeFailed == false)
    #expect(outcome?.pods == 1 && outcome?.containers == 1)
    gate.signal()
    done.wait()
    #expect(flight.lastFinished?.generation == first.generation + 1)
}

/// `withCollection` lets the renderings go when its body returns: the scoped API is what keeps
/// handing out and giving back balanced.
@Test func withCollectionDropsRenderingsWhenTheLastBodyReturns() {
    let flight = SingleFlightCollector { _ in NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: []) }
    let calls = Atomic<Int>(0)
    let render: (NodeSnapshot) -> [UInt8] = { _ in calls.add(1, ordering: .relaxed); return [1] }
    let kept = flight.withCollection(notStartedBefore: 0) { published in
        _ = published.rendering("x", render)
        _ = published.rendering("x", render)
        return published
    }
    #expect(calls.load(ordering: .relaxed) == 1, "rendered once while in use")
    _ = kept.rendering("x", render)
    #expect(calls.load(ordering: .relaxed) == 2, "rendered anew: the first rendering was let go when the body returned")
}

/// The `finished` callback sees every collection, once, before the scrape that asked for it gets it.
@Test func finishedIsToldOfEachCollectionBeforeItIsHandedOut() {
    let seen = Atomic<Int>(0)
    let flight = SingleFlightCollector(collect: { _ in NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: []) }) { _ in
        seen.add(1, ordering: .sequentiallyConsistent)
    }
    for expected in 1...3 {
        let generation = flight.withCollection(notStartedBefore: now()) { published in
            #expect(seen.load(ordering: .sequentiallyConsistent) == expected)
            return published.generation
        }
        #expect(generation == UInt64(expected))
    }
}
