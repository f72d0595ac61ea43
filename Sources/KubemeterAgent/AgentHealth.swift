import KubemeterCollector
import KubemeterHTTP
import KubemeterSnapshot
import KubemeterSync

/// The agent's own state, for its `/metrics` endpoint: what node_exporter reports about its own
/// collectors, plus the server and the process.
struct AgentHealth: Sendable, Equatable {
    var version = ""
    var collections: UInt64 = 0
    var failedCollections: UInt64 = 0
    var collectionSecondsSum: Double = 0
    var lastTimings = CollectionTimings()
    /// Whether each stage of the last collection read everything it found.
    var lastStageSucceeded: [CollectionStage: Bool] = [:]
    var lastPods = 0
    /// The ephemeral-storage walks now (read at each /metrics, not at a collection: they run on
    /// their own); nil when they are off.
    var ephemeralStorageWalks: EphemeralStorageWalkStatus?
    var lastContainers = 0
    var lastPodsWithoutLogDirectory = 0
    var vanishedCgroups: UInt64 = 0
    var unreadableFiles: UInt64 = 0
    var skippedEntries: UInt64 = 0
    var openFiles = 0
    var uncachedReads: UInt64 = 0
    var listingsReused: UInt64 = 0
    var listingsRead: UInt64 = 0
    /// The HTTP server's counters; nil without a server (tests, `kubemeter snapshot`).
    var http: HTTPServerStatistics?
    var process = ProcessFigures()
    /// What the posture lets the agent read, probed at start.
    var features: Features?

    /// Adds one finished collection.
    mutating func record(_ snapshot: NodeSnapshot, seconds: Double) {
        collections += 1
        if snapshot.scrapeFailed { failedCollections += 1 }
        collectionSecondsSum += seconds
        lastTimings = snapshot.timings
        for stage in CollectionStage.allCases {
            lastStageSucceeded[stage] = snapshot.problems.succeeded(stage) && !(stage == .node && snapshot.scrapeFailed)
        }
        lastPods = snapshot.pods.count
        lastContainers = snapshot.pods.reduce(0) { $0 + $1.containers.count }
        lastPodsWithoutLogDirectory = snapshot.problems.podsWithoutLogDirectory
        vanishedCgroups += UInt64(snapshot.problems.vanishedCgroups)
        unreadableFiles += UInt64(snapshot.problems.unreadableFiles)
        skippedEntries += UInt64(snapshot.problems.skippedEntries)
    }
}

/// The agent process as `/proc/self` tells it (the Prometheus client's `process_*` families).
struct ProcessFigures: Sendable, Equatable {
    var cpuSeconds: Double?
    var residentBytes: UInt64?
    var virtualBytes: UInt64?
    var startTimeSeconds: Double?
    var openFileDescriptors: Int?
    var maximumFileDescriptors: Int?
}

/// What the collector keeps between collections, read by the collecting thread after each one.
struct CollectorFigures: Sendable, Equatable {
    var openFiles = 0
    var uncachedReads = 0
    var listingsReused = 0
    var listingsRead = 0
}

/// Accumulates `AgentHealth` from every finished collection, for `/metrics`. Fed by the single
/// flight's `finished` callback, read by any request.
final class AgentHealthRecorder: Sendable {
    private let health = AnnotatedMutex(AgentHealth())

    /// Adds one finished collection and what the collector keeps after it.
    func record(_ published: SingleFlightCollector.Published, figures: CollectorFigures?) {
        health.withLock { health in
            health.record(published.snapshot, seconds: Double(published.durationNanoseconds) / 1e9)
            if let figures {
                health.openFiles = figures.openFiles
                health.uncachedReads = UInt64(figures.uncachedReads)
                health.listingsReused = UInt64(figures.listingsReused)
                health.listingsRead = UInt64(figures.listingsRead)
            }
        }
    }

    private let storage = AnnotatedMutex<EphemeralStorageMonitor?>(nil)

    /// Everything recorded so far, and the walks' status now.
    var current: AgentHealth {
        var current = health.withLock { $0 }
        current.ephemeralStorageWalks = storage.withLock { $0 }?.status
        return current
    }

    /// The ephemeral-storage walker whose status /metrics shows (set once, at start).
    func setStorage(_ monitor: EphemeralStorageMonitor?) {
        storage.withLock { $0 = monitor }
    }

    /// What the posture lets the agent read (set once, at start).
    func setFeatures(_ features: Features) {
        health.withLock { $0.features = features }
    }
}
