#if canImport(Glibc)
package import Glibc
#endif
package import CLinux
package import KubemeterCollector
package import KubemeterExposition
package import KubemeterHTTP
package import KubemeterSnapshot
package import KubemeterSync
package import KubemeterSystemd
package import Logging
package import Synchronization

/// Everything `kubemeter serve` needs to know.
package struct AgentConfiguration: Sendable {
    package var paths: HostPaths
    /// `/pods`: the node's name (`NodeName.resolve`, also /stats/summary's) and how to read the cgroups.
    package var podList: PodListJSONRenderer
    package var nodeName: String { podList.nodeName }
    /// The kubepods cgroup, relative to the cgroup mount; nil = found by discovery.
    package var kubepodsPath: String?
    package var sampleTimestamps: Bool
    package var http: HTTPServerConfiguration
    /// A socket already listening (systemd socket activation); nil = bind `http.listenAddress`.
    package var listeningSocket: Int32?
    /// How long responses in flight may take to finish after SIGTERM.
    package var shutdownGracePeriodSeconds: Double
    /// Time between `STATUS=` updates when systemd has no watchdog for us (with one, half its timeout).
    package var statusIntervalSeconds: Double
    /// The background walks of pods' ephemeral storage; nil = off.
    package var ephemeralStorage: EphemeralStorageMonitor.Configuration?

    package init(paths: HostPaths, podList: PodListJSONRenderer = PodListJSONRenderer(nodeName: NodeName.resolve(flag: nil, environment: nil)), kubepodsPath: String? = nil, sampleTimestamps: Bool = false, http: HTTPServerConfiguration,
                listeningSocket: Int32? = nil, shutdownGracePeriodSeconds: Double = 5, statusIntervalSeconds: Double = 10,
                ephemeralStorage: EphemeralStorageMonitor.Configuration? = EphemeralStorageMonitor.Configuration()) {
        self.paths = paths
        self.podList = podList
        self.kubepodsPath = kubepodsPath
        self.sampleTimestamps = sampleTimestamps
        self.http = http
        self.listeningSocket = listeningSocket
        self.shutdownGracePeriodSeconds = shutdownGracePeriodSeconds
        self.statusIntervalSeconds = statusIntervalSeconds
        self.ephemeralStorage = ephemeralStorage
    }
}

/// The running agent: an HTTP server whose scrapes each get a fresh, shared collection.
package final class Agent: Sendable {
    package let configuration: AgentConfiguration
    private let flight: SingleFlightCollector
    private let router: Router
    private let server: HTTPServer
    private let logger: Logger
    private let heartbeat: ServiceHeartbeat

    /// Binds the listening socket, or adopts the one systemd passed (so a bad address fails here,
    /// before anything is announced).
    package init(configuration: AgentConfiguration, logger: Logger) throws(HTTPServerError) {
        self.configuration = configuration
        self.logger = logger
        MemoryFootprint.configureAllocator()
        let descriptorLimit = Collector.raiseOpenFileLimit()
        let budget = FileDescriptorBudget(
            limit: descriptorLimit,
            wantedFiles: Collector.defaultMaximumOpenFiles + Collector.defaultMaximumOpenDirectories,
            wantedConnections: configuration.http.maxConnections)
        var http = configuration.http
        if budget.connections < http.maxConnections {
            logger.warning("the open-file limit leaves room for fewer connections than asked; serving fewer", metadata: [
                "max_connections": "\(http.maxConnections)", "allowed": "\(budget.connections)",
                "rlimit_nofile": "\(descriptorLimit)", "kept_files": "\(budget.keptFiles)",
            ])
            http.maxConnections = budget.connections
        }
        let collector = Collector(
            paths: configuration.paths, kubepodsPath: configuration.kubepodsPath,
            maximumOpenFiles: budget.keptFiles, storage: configuration.ephemeralStorage,
            logger: logger)
        if let storage = collector.storage, !storage.start() {
            logger.error("cannot start the ephemeral-storage walking thread; no ephemeral storage is served")
        }
        let health = AgentHealthRecorder()
        health.setFeatures(collector.features)
        health.setStorage(collector.storage)
        Self.logFeatures(collector.features, logger)
        let flight = SingleFlightCollector(collect: { collector.collect(scope: $0) }) { published in
            // On the collecting thread, right after the collection: the collector is idle.
            let files = collector.openFileStatistics
            let listings = collector.listingStatistics
            health.record(published, figures: CollectorFigures(
                openFiles: files.open, uncachedReads: files.uncachedReads,
                listingsReused: listings.reused, listingsRead: listings.read))
        }
        let serverBox = ServerBox()
        let router = Router(
            flight: flight, renderer: ResourceMetricsRenderer(sampleTimestamps: configuration.sampleTimestamps),
            cadvisor: CadvisorMetricsRenderer(cgroupRoot: configuration.paths.cgroupPath),
            podList: configuration.podList,
            health: health, httpStatistics: { serverBox.statistics() })
        self.flight = flight
        self.router = router
        let server = if let fd = configuration.listeningSocket {
            try HTTPServer(listeningSocket: fd, configuration: http) { request in router.respondReturningHeap(to: request) }
        } else {
            try HTTPServer(configuration: http) { request in router.respondReturningHeap(to: request) }
        }
        self.server = server
        serverBox.set(server)
        // With a watchdog, each period needs a successful collection (one a scrape started within
        // the period counts), so a host whose files hang or vanish gets the agent restarted.
        let watchdog = SystemdWatchdog.pingIntervalNanoseconds()
        let period = watchdog ?? UInt64(max(configuration.statusIntervalSeconds, 0.001) * 1e9)
        heartbeat = ServiceHeartbeat(periodNanoseconds: period, watchdog: watchdog != nil) { mustCollect in
            let now = MonotonicClock.now()
            let published = mustCollect
                ? flight.withCollection(notStartedBefore: now > period ? now - period : 0, scope: .resource) { $0.outcome }
                : flight.lastFinished
            return Self.report(published, server: server, now: MonotonicClock.now())
        }
    }

    /// The address actually bound (the real port when port 0 was asked).
    package var boundAddress: ListenAddress { server.boundAddress }

    /// Serves until `shutdown` is called. Runs one collection first, so that readiness and the
    /// log say at once whether this host can be read.
    package func run() {
        // Only its outcome outlives this line: a collection held across `server.run()` would keep
        // its whole snapshot for the life of the process (2.7 MB at 1,000 pods; massif found it).
        let first = firstCollection()
        // READY=1 goes out here when the first collection succeeded, else at the first later one.
        heartbeat.start(initial: Self.report(first, server: server, now: MonotonicClock.now()))
        logger.info("serving", metadata: [
            "address": "\(boundAddress)",
            "socket": configuration.listeningSocket == nil ? "bound" : "passed by systemd",
        ])
        MemoryFootprint.releaseStartupCode()
        server.run()
        heartbeat.stop()
    }

    private func firstCollection() -> SingleFlightCollector.Outcome {
        flight.withCollection(notStartedBefore: 0, scope: .resource) { first in
            Self.logFirstCollection(first, configuration.paths, logger)
            return first.outcome
        }
    }

    /// Tells systemd `STOPPING=1`, stops accepting, finishes in-flight responses within the grace
    /// period (default: the configuration's), and makes `run` return.
    package func shutdown(gracePeriodSeconds: Double? = nil) {
        heartbeat.stop()
        server.shutdown(gracePeriodSeconds: gracePeriodSeconds ?? configuration.shutdownGracePeriodSeconds)
    }

    /// The one-line `STATUS=` summary: pods, containers, the last collection and the scrapes served.
    static func report(_ last: SingleFlightCollector.Outcome?, server: HTTPServer, now: UInt64) -> HeartbeatReport {
        let scrapes = server.statistics.requestsHandled
        guard let last else {
            return HeartbeatReport(healthy: false, status: "serving on \(server.boundAddress); no collection yet; \(scrapes) requests")
        }
        let age = now > last.startedNanoseconds ? (now - last.startedNanoseconds) / 1_000_000_000 : 0
        let milliseconds = Double(last.durationNanoseconds / 10_000) / 100
        let outcome = last.scrapeFailed ? "FAILED (node CPU/memory unreadable)" : "ok"
        return HeartbeatReport(
            healthy: !last.scrapeFailed,
            status: "serving on \(server.boundAddress): \(last.pods) pods, \(last.containers) containers; "
                + "last collection \(outcome) \(age)s ago in \(milliseconds) ms; \(scrapes) requests")
    }

    /// Answers one request without a socket (tests, and `kubemeter snapshot`).
    package func respond(to request: HTTPRequest) -> HTTPResponse {
        router.respond(to: request)
    }

    /// One line per feature: what the posture lets the agent read, and, for a feature it cannot
    /// have, what is missing and why.
    static func logFeatures(_ features: Features, _ logger: Logger) {
        for feature in features.all {
            if feature.enabled {
                logger.info("feature enabled", metadata: ["feature": "\(feature.name)", "how": "\(feature.detail)"])
            } else {
                logger.warning("feature unavailable in this posture", metadata: [
                    "feature": "\(feature.name)", "why": "\(feature.detail)",
                ])
            }
        }
    }

    static func logFirstCollection(_ published: SingleFlightCollector.Published, _ paths: HostPaths, _ logger: Logger) {
        let snapshot = published.snapshot
        switch paths.cgroupTree {
        case .none:
            logger.warning("no cgroup v2 hierarchy found: pod and container metrics need cgroup v2; serving node metrics only",
                           metadata: ["proc": "\(paths.procPath)"])
        default:
            logger.info("reading cgroup v2 tree", metadata: [
                "path": "\(paths.cgroupPath ?? "")", "chosen": "\(paths.cgroupTree)",
            ])
        }
        let outcome = published.outcome
        logger.info("first collection", metadata: [
            "pods": "\(outcome.pods)",
            "containers": "\(outcome.containers)",
            "node_cpu_source": "\(snapshot.node.cpuSource?.rawValue ?? "none")",
            "node_memory_source": "\(snapshot.node.memorySource?.rawValue ?? "none")",
            "duration_ms": "\(Double(published.durationNanoseconds) / 1e6)",
        ])
        if snapshot.scrapeFailed {
            logger.error("node metrics could not be read: neither the cgroup tree nor /proc gave CPU or memory",
                         metadata: ["proc": "\(paths.procPath)"])
        }
    }
}

/// Lets the router read the server's counters although the server is made after the router.
/// Weak: the server holds the handler, which holds the router, which holds this box; a strong
/// reference here would be a cycle that keeps the whole agent alive (LeakSanitizer found it).
private final class ServerBox: Sendable {
    private struct Reference { weak var server: HTTPServer? }
    private let reference = AnnotatedMutex(Reference())

    func set(_ value: HTTPServer) { reference.withLock { $0.server = value } }

    /// The server's counters while it exists.
    func statistics() -> HTTPServerStatistics? {
        reference.withLock({ $0.server })?.statistics
    }
}
