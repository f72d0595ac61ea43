import KubemeterCollector
import KubemeterSnapshot
import KubemeterSync

/// Runs at most one collection at a time and shares it among the scrapes that wait for it, while
/// never handing a scrape data read before the scrape arrived.
///
/// A scrape that arrives while a collection runs waits for it to end and then joins the next one
/// (the running one started before it arrived); every scrape waiting at that point shares that
/// next collection. So N scrapes arriving together cost at most two collections, not N.
public final class SingleFlightCollector: @unchecked Sendable {
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
    private var accumulated = AgentHealth()
    /// Figures the collector keeps (open files, listings), read after each collection by the
    /// collecting thread.
    private let collectorFigures: (() -> (openFiles: Int, uncachedReads: Int, listingsReused: Int, listingsRead: Int))?

    /// How a finished collection went, without its data.
    public struct Outcome: Sendable {
        public let generation: UInt64
        public let startedNanoseconds: UInt64
        public let durationNanoseconds: UInt64
        public let scrapeFailed: Bool
        public let pods: Int
        public let containers: Int
    }

    /// A finished collection, and the renderings made of it (so concurrent scrapes of the same
    /// endpoint render once).
    public final class Published: @unchecked Sendable {
        // @unchecked: `renderings` is guarded by `lock`; the rest is immutable.
        public let generation: UInt64
        public let startedNanoseconds: UInt64
        public let durationNanoseconds: UInt64
        public let snapshot: NodeSnapshot
        public var scope: CollectionScope { snapshot.scope }
        public var outcome: Outcome {
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
        /// the next one.
        public func doneRendering() {
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
        public func rendering(_ key: String, _ render: (NodeSnapshot) -> [UInt8]) -> [UInt8] {
            lock.lock()
            defer { lock.unlock() }
            if let bytes = renderings[key] { return bytes }
            let bytes = render(snapshot)
            renderings[key] = bytes
            return bytes
        }
    }

    public convenience init(collector: Collector) {
        self.init(collect: { collector.collect(scope: $0) }) {
            let files = collector.openFileStatistics
            let listings = collector.listingStatistics
            return (files.open, files.uncachedReads, listings.reused, listings.read)
        }
    }

    /// `collect` is never called twice at once.
    public init(
        collect: @escaping (CollectionScope) -> NodeSnapshot,
        figures: (() -> (openFiles: Int, uncachedReads: Int, listingsReused: Int, listingsRead: Int))? = nil
    ) {
        self.collect = collect
        self.collectorFigures = figures
    }

    /// Everything recorded about collections so far.
    public var health: AgentHealth {
        lock.lock()
        defer { lock.unlock() }
        return accumulated
    }

    /// A collection that started at or after `arrivalNanoseconds` (CLOCK_MONOTONIC) and read at
    /// least `scope`.
    public func collection(notStartedBefore arrivalNanoseconds: UInt64, scope: CollectionScope = .full) -> Published {
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
                let figures = collectorFigures?()
                lock.lock()
                accumulated.record(snapshot, seconds: Double(published.durationNanoseconds) / 1e9)
                if let figures {
                    accumulated.openFiles = figures.openFiles
                    accumulated.uncachedReads = UInt64(figures.uncachedReads)
                    accumulated.listingsReused = UInt64(figures.listingsReused)
                    accumulated.listingsRead = UInt64(figures.listingsRead)
                }
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
    public func collection(before published: Published) -> Published? {
        lock.lock()
        defer { lock.unlock() }
        guard let latestFull, latestFull.generation == published.generation else { return nil }
        return previousFull
    }

    /// The last finished collection while scrapes that waited for it have yet to take it.
    public var lastCollection: Published? {
        lock.lock()
        defer { lock.unlock() }
        return latest
    }

    /// The last `.full` collection, kept (without its renderings) for `GET /top`'s rates.
    public var lastFullCollection: Published? {
        lock.lock()
        defer { lock.unlock() }
        return latestFull
    }

    /// How the last finished collection went, if any, also while the next one runs.
    public var lastFinished: Outcome? {
        lock.lock()
        defer { lock.unlock() }
        return lastOutcome
    }
}
