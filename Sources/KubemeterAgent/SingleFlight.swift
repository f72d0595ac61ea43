package import KubemeterSnapshot
package import KubemeterSync

/// Runs at most one collection at a time and shares it among the scrapes that wait for it, while
/// never handing a scrape data read before the scrape arrived.
///
/// A scrape that arrives while a collection runs waits for it to end and then joins the next one
/// (the running one started before it arrived); every scrape waiting at that point shares that
/// next collection. So N scrapes arriving together cost at most two collections, not N.
package final class SingleFlightCollector: @unchecked Sendable {
    // @unchecked: `collect` is called only by the thread that set `collecting` under the lock
    // (so the non-thread-safe Collector behind it is never used twice at once); every other
    // field is read and written under `lock`.
    private let collect: (CollectionScope) -> NodeSnapshot
    private let lock = ConditionLock()
    private var collecting = false
    /// The widest scope asked for by a scrape waiting for the running collection to end: the
    /// next collection reads that much.
    private var pendingScope: CollectionScope?
    /// The last finished collection, while scrapes that waited for it have yet to take it: dropped
    /// when the last of them has (or the next collection starts), so that between scrapes the agent
    /// holds no snapshot and no rendering (at 1,000 pods, megabytes) that no scrape can use: one
    /// arriving later needs a collection started after it arrived.
    private var latest: Published?
    /// Scrapes waiting for the running collection to end; the published one is kept for them.
    private var waiting = 0
    /// What readiness and the heartbeat need of the last finished collection; kept meanwhile.
    private var lastOutcome: Outcome?
    /// The last two `.full` collections: `GET /top` computes rates between them.
    private var latestFull: Published?
    private var previousFull: Published?
    private var generation: UInt64 = 0
    /// Told of each finished collection by the thread that ran it, before any scrape waiting for
    /// it is woken (the agent's health accumulates there; the collector may still be read).
    private let finished: (Published) -> Void

    /// How a finished collection went, without its data.
    package struct Outcome: Sendable {
        package let generation: UInt64
        package let startedNanoseconds: UInt64
        package let durationNanoseconds: UInt64
        package let scrapeFailed: Bool
        package let pods: Int
        package let containers: Int
    }

    /// A finished collection, and the renderings made of it (so concurrent scrapes of the same
    /// endpoint render once).
    package final class Published: @unchecked Sendable {
        // @unchecked: `renderings` is guarded by `lock`; the rest is immutable.
        package let generation: UInt64
        package let startedNanoseconds: UInt64
        package let durationNanoseconds: UInt64
        package let snapshot: NodeSnapshot
        package var scope: CollectionScope { snapshot.scope }
        package var outcome: Outcome {
            Outcome(
                generation: generation, startedNanoseconds: startedNanoseconds, durationNanoseconds: durationNanoseconds,
                scrapeFailed: snapshot.scrapeFailed, pods: snapshot.pods.count,
                containers: snapshot.pods.reduce(0) { $0 + $1.containers.count })
        }
        private let lock = ConditionLock()
        private var renderings: [String: [UInt8]] = [:]
        /// Scrapes handed this collection that have not yet said they are done with it.
        private var users = 0

        func handedOut() {
            lock.lock()
            users += 1
            lock.unlock()
        }

        /// Says a scrape is done with this collection's renderings. They serve only scrapes that
        /// share the collection: when the last is done they are dropped, so a collection kept
        /// for /top's rates does not also keep its rendering (at 1,000 pods, megabytes) until
        /// the next one. `withCollection` calls it; nothing else should.
        func doneRendering() {
            lock.lock()
            users -= 1
            if users <= 0 { renderings = [:] }
            lock.unlock()
        }

        func dropRenderings() {
            lock.lock()
            renderings = [:]
            lock.unlock()
        }

        init(generation: UInt64, startedNanoseconds: UInt64, durationNanoseconds: UInt64, snapshot: NodeSnapshot) {
            self.generation = generation
            self.startedNanoseconds = startedNanoseconds
            self.durationNanoseconds = durationNanoseconds
            self.snapshot = snapshot
        }

        /// The rendering called `key`, made by `render` the first time it is asked for.
        package func rendering(_ key: String, _ render: (NodeSnapshot) -> [UInt8]) -> [UInt8] {
            lock.lock()
            defer { lock.unlock() }
            if let bytes = renderings[key] { return bytes }
            let bytes = render(snapshot)
            renderings[key] = bytes
            return bytes
        }
    }

    /// `collect` is never called twice at once; `finished` is called after each collection, by
    /// the thread that ran it, before the scrapes waiting for it are woken.
    package init(
        collect: @escaping (CollectionScope) -> NodeSnapshot,
        finished: @escaping (Published) -> Void = { _ in }
    ) {
        self.collect = collect
        self.finished = finished
    }

    /// `body` with a collection that started at or after `arrivalNanoseconds` (CLOCK_MONOTONIC)
    /// and read at least `scope`. The collection's renderings serve every scrape inside such a
    /// call at once and are let go when the last of them returns: the only way to be handed a
    /// collection, so every handing out is balanced by construction.
    package func withCollection<Result>(
        notStartedBefore arrivalNanoseconds: UInt64, scope: CollectionScope = .full,
        _ body: (Published) throws -> Result
    ) rethrows -> Result {
        let published = collection(notStartedBefore: arrivalNanoseconds, scope: scope)
        defer { published.doneRendering() }
        return try body(published)
    }

    /// What `withCollection` hands its body; the caller must call `doneRendering()` once.
    func collection(notStartedBefore arrivalNanoseconds: UInt64, scope: CollectionScope = .full) -> Published {
        lock.lock()
        while true {
            if let latest, latest.startedNanoseconds >= arrivalNanoseconds, latest.scope >= scope {
                latest.handedOut()
                if waiting == 0 { self.latest = nil }
                lock.unlock()
                return latest
            }
            if !collecting {
                collecting = true
                generation += 1
                let number = generation
                let wanted = max(scope, pendingScope ?? scope)
                pendingScope = nil
                // Scrapes that arrive from now on cannot use it (it started before them); those
                // rendering it hold their own reference.
                latest = nil
                latestFull?.dropRenderings()
                lock.unlock()
                let started = MonotonicClock.now()
                var snapshot = collect(wanted)
                snapshot.scope = wanted
                let published = Published(
                    generation: number, startedNanoseconds: started,
                    durationNanoseconds: MonotonicClock.now() - started, snapshot: snapshot)
                published.handedOut()
                finished(published)
                lock.lock()
                // Kept only for the scrapes waiting now (each takes it in the loop above).
                latest = waiting > 0 ? published : nil
                lastOutcome = published.outcome
                if wanted == .full {
                    previousFull = latestFull
                    latestFull = published
                }
                collecting = false
                lock.broadcast()
                lock.unlock()
                return published
            }
            pendingScope = max(scope, pendingScope ?? scope)
            waiting += 1
            lock.wait()
            waiting -= 1
        }
    }

    /// The `.full` collection published just before the `.full` collection `published`, while it
    /// is still held (only the last two are).
    package func collection(before published: Published) -> Published? {
        lock.lock()
        defer { lock.unlock() }
        guard let latestFull, latestFull.generation == published.generation else { return nil }
        return previousFull
    }

    /// The last finished collection while scrapes that waited for it have yet to take it.
    package var lastCollection: Published? {
        lock.lock()
        defer { lock.unlock() }
        return latest
    }

    /// The last `.full` collection, kept (without its renderings) for `GET /top`'s rates.
    package var lastFullCollection: Published? {
        lock.lock()
        defer { lock.unlock() }
        return latestFull
    }

    /// How many scrapes wait now for the running collection to end (each is inside the lock's wait):
    /// what a test needs to know that its callers are queued, instead of sleeping and hoping.
    var waitingScrapes: Int {
        lock.lock()
        defer { lock.unlock() }
        return waiting
    }

    /// How the last finished collection went, if any, also while the next one runs.
    package var lastFinished: Outcome? {
        lock.lock()
        defer { lock.unlock() }
        return lastOutcome
    }
}
