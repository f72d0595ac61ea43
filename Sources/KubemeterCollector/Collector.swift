#if canImport(Glibc)
package import Glibc
#endif
package import KubemeterDiscovery
package import KubemeterHostFiles
package import KubemeterParsers
package import KubemeterSnapshot
package import KubemeterSync
package import Logging

/// Builds one `NodeSnapshot` per call to `collect()`, reading every file at that moment.
///
/// Between collections it keeps file descriptors open (`KeptOpenFiles`) and directory listings
/// (`ListingCache`), so a steady node costs one `pread` per file and one `fstat` per directory.
/// Not thread-safe: the agent runs one collection at a time (single flight) and shares its result.
package final class Collector {
    package let paths: HostPaths
    private let files: KeptOpenFiles
    private let listings: ListingCache
    private let discovery: PodDiscovery?
    private let startTimes = StartTimes()
    private let cpuRates = CPURateTracker()
    private let networks: PodNetworkSampler
    private let procChecksIdentity: Bool
    private let cgroupChecksIdentity: Bool
    private let logger: Logger
    private let failureLog = FailureLog()
    /// What this posture lets the agent read (probed once, at start).
    package let features: Features
    /// The background walks of ephemeral storage; nil when they are off.
    package let storage: EphemeralStorageMonitor?

    /// - Parameter maximumOpenFiles: fds kept open between collections at most, files and listed
    ///   directories together (see `defaultMaximumOpenDirectories` for how they share it); past it
    ///   files are opened and closed at each read and directories checked by path.
    /// - Parameter afterListing: a test seam, handed to `PodDiscovery`; nil in production.
    package init(
        paths: HostPaths, kubepodsPath: String? = nil,
        maximumOpenFiles: Int = Collector.defaultMaximumOpenFiles + Collector.defaultMaximumOpenDirectories,
        storage: EphemeralStorageMonitor.Configuration? = nil,
        logger: Logger = Logger(label: "kubemeter.collector"), afterListing: (@Sendable (String) -> Void)? = nil
    ) {
        self.paths = paths
        self.logger = logger
        procChecksIdentity = !FileSystemKind.isKernelFileSystem(paths.procPath)
        cgroupChecksIdentity = paths.cgroupPath.map { !FileSystemKind.isKernelFileSystem($0) } ?? true
        let directories = cgroupChecksIdentity ? 0 : min(Self.defaultMaximumOpenDirectories, maximumOpenFiles / 16)
        listings = ListingCache(maximumOpenDirectories: directories)
        files = KeptOpenFiles(maximumOpenFiles: min(Self.defaultMaximumOpenFiles, maximumOpenFiles - directories))
        networks = PodNetworkSampler(
            files: files, procPath: paths.procPath, procChecksIdentity: procChecksIdentity,
            cgroupChecksIdentity: cgroupChecksIdentity)
        let features = Features.probe(paths: paths, processLookup: networks.lookup, storage: storage)
        self.features = features
        var parts: EphemeralStorageMonitor.Parts = []
        if features["ephemeral_storage_logs"]?.enabled == true { parts.insert(.logs) }
        if features["ephemeral_storage_rootfs"]?.enabled == true { parts.insert(.rootfs) }
        if features["ephemeral_storage_volumes"]?.enabled == true { parts.insert(.volumes) }
        self.storage = storage.map { EphemeralStorageMonitor(paths: paths, configuration: $0, parts: parts, logger: logger) }
        if let cgroupPath = paths.cgroupPath {
            discovery = PodDiscovery(
                configuration: DiscoveryConfiguration(
                    cgroupRoot: cgroupPath, podLogDirectory: paths.podLogPath,
                    containerLogDirectory: paths.containerLogPath, kubepodsPath: kubepodsPath),
                listingCache: listings, afterListing: afterListing)
        } else {
            discovery = nil
        }
    }

    /// The last `.full` collection: its number in `files`, and when it started.
    private var lastFull: (collection: UInt64, seconds: Double)?
    /// How long files only a `.full` collection reads stay open without one: long enough for any
    /// scrape interval, short enough that a sandbox gone meanwhile is not pinned for long (a kept
    /// fd keeps a removed cgroup, or a dead process's network namespace, from being freed).
    static let fullOnlyFilesKeptSeconds = 180.0

    /// Files kept open by default: 15 per cgroup and 2 per pod (network) for 1,000 pods of 4
    /// containers, with room to spare;
    /// clipped at start to what RLIMIT_NOFILE leaves after the connections (`FileDescriptorBudget`).
    package static let defaultMaximumOpenFiles = 80_000

    /// Listed directories held open (O_PATH) by default, on top of the files: one per pod
    /// directory for 5,000 pods. Only on cgroupfs (elsewhere `KeptOpenFiles` already holds every
    /// cgroup directory it checks), and at most a sixteenth of the whole bound: where RLIMIT_NOFILE
    /// is tight, a file's fd (it saves an open and a close) is worth more than a directory's (it
    /// saves a path walk).
    package static let defaultMaximumOpenDirectories = 5_000

    /// Kept fds now, and reads that found the bound reached.
    package var openFileStatistics: (open: Int, uncachedReads: Int) {
        (files.openFiles + listings.openDirectories, files.uncachedReads)
    }

    /// Reads the node, discovers pods and reads every pod and container cgroup: the files `scope`
    /// needs, no more.
    package func collect(scope: CollectionScope = .full) -> NodeSnapshot {
        let timestamp = WallClock.milliseconds()
        files.beginCollection()
        let started = MonotonicClock.seconds()
        defer {
            if scope == .full {
                files.endCollection()
                networks.endCollection()
                lastFull = (files.currentCollection, started)
            } else if let lastFull, started - lastFull.seconds < Self.fullOnlyFilesKeptSeconds {
                // Between two /metrics/cadvisor scrapes, keep what only they read (sandbox
                // cgroup.procs, pod net/dev) rather than reopening it at each of them.
                files.endCollection(keepingThoseOf: lastFull.collection)
            } else {
                files.endCollection()
            }
            startTimes.endCollection()
        }
        var problems = CollectionProblems()
        var timings = CollectionTimings()
        var clock = MonotonicClock.seconds()
        func lap() -> Double {
            let now = MonotonicClock.seconds()
            defer { clock = now }
            return now - clock
        }
        let node = NodeSampler(
            files: files, paths: paths, procChecksIdentity: procChecksIdentity,
            cgroupChecksIdentity: cgroupChecksIdentity, ticksPerSecond: Self.ticksPerSecond
        ).sample(scope: scope)
        for error in node.unreadable { problems.unreadable(error, in: .node) }
        timings.node = lap()

        var pods: [PodUsage] = []
        var kubepodsPath: String?
        if let discovery {
            var attempt = collectPods(discovery, scope, &problems, &timings)
            if attempt.sawVanished {
                // A cgroup listed from a cached listing was gone: the listings may also miss
                // cgroups created meanwhile (kernfs keeps a directory's link count when one
                // cgroup goes and another comes). List everything again and read once more, so
                // this scrape shows the node as it is now.
                listings.invalidateAll()
                // The retry's discovery and cgroup counts replace the first attempt's; what was
                // vanished or unreadable the first time stays counted.
                var retryProblems = CollectionProblems()
                attempt = collectPods(discovery, scope, &retryProblems, &timings)
                retryProblems.vanishedCgroups += problems.vanishedCgroups
                retryProblems.unreadableFiles += problems.unreadableFiles
                for (stage, error) in problems.allFailures where stage == .node { retryProblems.keep(error, in: stage) }
                problems = retryProblems
            }
            pods = attempt.pods
            kubepodsPath = attempt.kubepodsPath
        }
        var snapshot = NodeSnapshot(
            // `consume`: the snapshot must hold the only reference to the array, or the first write
            // into a pod (the CPU rates, the storage figures) copies it and every containers array
            // in it (4.8 MB at 1000 pods, seen with massif).
            timestampMilliseconds: timestamp, node: node.usage, pods: consume pods,
            scrapeFailed: !node.succeeded, problems: problems)
        if let cgroupPath = paths.cgroupPath {
            // Read by every collection (five files each in a `.resource` one), so that their CPU
            // rate has a start whichever endpoint was scraped before /stats/summary.
            snapshot.systemContainers = systemContainers(
                cgroupRoot: cgroupPath, kubepodsPath: kubepodsPath, scope: scope, &snapshot.problems)
        }
        snapshot.timings = timings
        snapshot.scope = scope
        if let storage {
            storage.observe(snapshot.pods)
            storage.attach(to: &snapshot)
        }
        cpuRates.annotate(&snapshot)
        failureLog.log(problems, to: logger, now: MonotonicClock.seconds())
        return snapshot
    }

    private func collectPods(
        _ discovery: PodDiscovery, _ scope: CollectionScope, _ problems: inout CollectionProblems, _ timings: inout CollectionTimings
    ) -> (pods: [PodUsage], kubepodsPath: String?, sawVanished: Bool) {
        var start = MonotonicClock.seconds()
        let report = discovery.discover()
        timings.discovery += MonotonicClock.seconds() - start
        start = MonotonicClock.seconds()
        defer { timings.cgroups += MonotonicClock.seconds() - start }
        problems.podsWithoutLogDirectory += report.podCgroupsWithoutLogDirectory
        problems.skippedEntries += report.skippedEntries
        problems.vanishedCgroups += report.vanishedEntries
        for error in report.failures { problems.keep(error, in: .discovery) }
        let vanishedBefore = problems.vanishedCgroups
        var pods: [PodUsage] = []
        pods.reserveCapacity(report.pods.count)
        let sampler = CgroupSampler(files: files, checksIdentity: cgroupChecksIdentity)
        for pod in report.pods {
            if let usage = collect(pod, sampler, scope, &problems) { pods.append(usage) }
        }
        return (pods, report.kubepodsPath, problems.vanishedCgroups > vanishedBefore || report.vanishedEntries > 0)
    }

    private func collect(
        _ pod: DiscoveredPod, _ sampler: CgroupSampler, _ scope: CollectionScope, _ problems: inout CollectionProblems
    ) -> PodUsage? {
        guard case .sampled(let podSample, let podUnreadable) = sampler.sample(pod.cgroupPath, scope: scope) else {
            problems.vanishedCgroups += 1
            return nil
        }
        for error in podUnreadable { problems.unreadable(error, in: .cgroups) }
        var containers: [ContainerUsage] = []
        containers.reserveCapacity(pod.containers.count)
        for container in pod.containers {
            switch sampler.sample(container.cgroupPath, scope: scope) {
            case .vanished:
                problems.vanishedCgroups += 1
            case .sampled(let sample, let unreadable):
                for error in unreadable { problems.unreadable(error, in: .cgroups) }
                containers.append(ContainerUsage(
                    name: container.name, id: container.id, runtime: container.runtime.rawValue,
                    cgroupPath: container.cgroupPath, sample: sample,
                    startTimeSeconds: startTimes.startTime(of: container.cgroupPath), restartCount: container.restartCount))
            }
        }
        var usage = PodUsage(
            namespace: pod.namespace, name: pod.name, uid: pod.uid, qosClass: pod.qos.rawValue,
            cgroupPath: pod.cgroupPath, sample: podSample, containers: containers)
        usage.startTimeSeconds = startTimes.startTime(of: pod.cgroupPath)
        if scope == .full {
            let network = networks.sample(pod)
            usage.network = network.interfaces
            usage.hostNetwork = network.hostNetwork
            for error in network.unreadable { problems.unreadable(error, in: .cgroups) }
        }
        return usage
    }

    /// The units whose cgroups the Summary API reports as the kubelet's and the runtime's, tried in
    /// order: systemd puts each service in `system.slice/<unit>` (the kubelet's own
    /// `--kubelet-cgroups` and `--runtime-cgroups` name these on systemd nodes).
    static let kubeletCgroups = ["system.slice/kubelet.service"]
    static let runtimeCgroups = [
        "system.slice/containerd.service", "system.slice/crio.service", "system.slice/docker.service",
        "system.slice/cri-docker.service",
    ]

    /// The kubelet's, the runtime's and the pods' cgroups, those that exist, each read as a pod's
    /// cgroup is.
    private func systemContainers(
        cgroupRoot: String, kubepodsPath: String?, scope: CollectionScope, _ problems: inout CollectionProblems
    ) -> [SystemContainerUsage] {
        let sampler = CgroupSampler(files: files, checksIdentity: cgroupChecksIdentity)
        var found: [SystemContainerUsage] = []
        let candidates: [(SystemContainerUsage.Role, [String])] = [
            (.kubelet, Self.kubeletCgroups.map { Path.join(cgroupRoot, $0) }),
            (.runtime, Self.runtimeCgroups.map { Path.join(cgroupRoot, $0) }),
            (.pods, kubepodsPath.map { [$0] } ?? []),
        ]
        for (role, paths) in candidates {
            for path in paths where access(path, F_OK) == 0 {
                guard case .sampled(let sample, let unreadable) = sampler.sample(path, scope: scope) else { continue }
                for error in unreadable { problems.unreadable(error, in: .cgroups) }
                found.append(SystemContainerUsage(
                    role: role, cgroupPath: path, sample: sample, startTimeSeconds: startTimes.startTime(of: path)))
                break
            }
        }
        return found
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit and returns the limit now in force (the
    /// agent splits it between kept files and connections: `FileDescriptorBudget`).
    package static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1_024 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return limit.rlim_cur > UInt64(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    static let ticksPerSecond: Double = {
        let hz = sysconf(Int32(_SC_CLK_TCK))
        return hz > 0 ? Double(hz) : 100
    }()

    /// Directory listings reused from the cache and read anew, since the start.
    package var listingStatistics: (reused: Int, read: Int) {
        let s = listings.statistics
        return (s.hits, s.misses)
    }
}

/// Logs each host file or directory that could not be read, once per path and `interval`: an
/// operator who sees `kubemeter_files_unreadable_total` rise learns which file and why, without a
/// line per scrape from a file that stays unreadable.
final class FailureLog {
    /// A path that keeps failing is logged again after this.
    static let interval = 600.0
    /// At most this many lines a collection; the rest are summed up in one more.
    static let linesPerCollection = 8
    /// Paths remembered at most (a node churning through broken cgroups must not grow this).
    static let maximumRemembered = 4_096
    private var lastLogged: [String: Double] = [:]

    func log(_ problems: CollectionProblems, to logger: Logger, now: Double) {
        log(problems.allFailures.map { ($0.stage.rawValue, $0.error) }, to: logger, now: now)
    }

    /// `failures`, each with the stage (or walk) it happened in.
    func log(_ failures: [(stage: String, error: HostFileError)], to logger: Logger, now: Double) {
        var logged = 0
        var held = 0
        for (stage, error) in failures {
            if let last = lastLogged[error.path], now - last < Self.interval { continue }
            guard logged < Self.linesPerCollection else {
                held += 1
                continue
            }
            if lastLogged.count >= Self.maximumRemembered { lastLogged = lastLogged.filter { now - $0.value < Self.interval } }
            lastLogged[error.path] = now
            logged += 1
            logger.warning("cannot read a host file; its values are left out", metadata: [
                "stage": "\(stage)", "path": "\(error.path)", "error": "\(error)",
            ])
        }
        if held > 0 {
            logger.warning("more host files cannot be read", metadata: ["count": "\(held)", "next": "at the next collections"])
        }
    }
}
