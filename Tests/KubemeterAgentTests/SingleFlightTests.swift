import Dispatch
import KubemeterAgent
import KubemeterCollector
import KubemeterSnapshot
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

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
    let flight = SingleFlightCollector {
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
    let flight = SingleFlightCollector(collector: Collector(paths: .resolve(hostRoot: host.path)))
    let published = flight.collection(notStartedBefore: 0)
    let calls = Atomic<Int>(0)
    for _ in 0..<3 {
        _ = published.rendering("x") { _ in calls.add(1, ordering: .relaxed); return [1, 2] }
    }
    #expect(calls.load(ordering: .relaxed) == 1)
    #expect(flight.lastCollection?.generation == published.generation)
}
