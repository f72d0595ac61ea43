#if canImport(Glibc)
import Glibc
#endif
import CLinux
package import KubemeterHostFiles
package import KubemeterSnapshot
import KubemeterSync
package import Logging

/// Measures every pod's ephemeral storage in the background, the kubelet's way
/// (docs/metrics.md, "Ephemeral storage"), and keeps the last figures for collections to attach.
///
/// A `du` of every pod is the costliest thing a node agent can do (cAdvisor's were 13-15 s per
/// container, cadvisor#2212), so it never happens in a scrape: one thread of its own walks, at
/// idle I/O priority, at most `inodesPerSecond` inodes a second, one round every
/// `intervalSeconds`; each figure carries the time its walk ended. A scrape only copies them.
///
/// Nothing is reused from an earlier walk: a directory whose mtime did not move has the same
/// names, but its files may have grown, so every inode is stat'ed again each round. Keeping the
/// listings to save the `getdents` would cost ~40 bytes a file (40 MB for 10^6 files, past the
/// DaemonSet's 64 MiB) to save the one syscall in ~50 that `getdents` is (docs/performance.md).
package final class EphemeralStorageMonitor: @unchecked Sendable {
    package struct Configuration: Sendable, Equatable {
        /// Inodes examined per second at most (the walk's whole cost is one `fstatat` per inode,
        /// plus a `getdents` per ~50 entries and an open/close per directory).
        package var inodesPerSecond: Int
        /// Seconds from the start of one round to the start of the next.
        package var intervalSeconds: Double

        package init(inodesPerSecond: Int = 20_000, intervalSeconds: Double = 60) {
            self.inodesPerSecond = inodesPerSecond
            self.intervalSeconds = intervalSeconds
        }
    }

    /// A pod as the walks need it, from the last collection.
    package struct Subject: Sendable {
        package var namespace: String
        package var name: String
        package var uid: String
        package var containers: [(name: String, id: String, runtime: String)]
    }

    /// The last walk's figures of one pod.
    struct PodMeasurement {
        var rootfs: [String: StorageUsage] = [:]  // by container ID
        var rootfsDevice: [String: String] = [:]  // by container ID
        var logs: [String: StorageUsage] = [:]  // by container name
        var pod = PodStorageUsage(volumes: nil, podLogs: nil, etcHosts: nil, complete: false)
    }

    /// The parts a posture lets the agent read (`Features`): the others are not tried, so a
    /// posture without them logs once at start, not at every round.
    package struct Parts: OptionSet, Sendable {
        package let rawValue: Int
        package init(rawValue: Int) { self.rawValue = rawValue }
        package static let logs = Parts(rawValue: 1)
        package static let rootfs = Parts(rawValue: 2)
        package static let volumes = Parts(rawValue: 4)
        package static let all: Parts = [.logs, .rootfs, .volumes]
    }

    package let configuration: Configuration
    private let parts: Parts
    private let paths: HostPaths
    private let logger: Logger
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var subjects: [Subject]?
    private var measurements: [String: PodMeasurement] = [:]
    private var walkStatus = EphemeralStorageWalkStatus()
    private var stopped = false

    // The walking thread's own (or `measureNow`'s caller's).
    private let locator: WritableLayerLocator
    private let failureLog = FailureLog()
    private var roundFailures: [(stage: String, error: HostFileError)] = []

    package init(
        paths: HostPaths, configuration: Configuration, parts: Parts = .all, logger: Logger = Logger(label: "kubemeter.storage")
    ) {
        self.paths = paths
        self.parts = parts
        self.configuration = configuration
        self.logger = logger
        locator = WritableLayerLocator(
            hostRoot: paths.hostRootPath, procPath: paths.procPath, installedRuntime: paths.installedRuntime)
        walkStatus.inodesPerSecond = configuration.inodesPerSecond
        walkStatus.intervalSeconds = configuration.intervalSeconds
    }

    /// Starts the walking thread; it waits for the first collection's pods, then walks them,
    /// and again every `intervalSeconds`. False when the thread could not be made.
    @discardableResult
    package func start() -> Bool {
        DetachedThread.start { [self] in run() }
    }

    package func stop() {
        lock.withLock {
            stopped = true
            lock.broadcast()
        }
    }

    /// The pods of the collection just made: the next round walks these.
    package func observe(_ pods: [PodUsage]) {
        let latest = pods.map { pod in
            Subject(namespace: pod.namespace, name: pod.name, uid: pod.uid,
                    containers: pod.containers.map { ($0.name, $0.id, $0.runtime) })
        }
        lock.withLock {
            if subjects == nil { lock.broadcast() }  // the first: the thread may begin
            subjects = latest
        }
    }

    /// Puts the last figures on `snapshot`'s pods and containers, and the walks' status.
    package func attach(to snapshot: inout NodeSnapshot) {
        lock.withLock {
            for index in snapshot.pods.indices {
                guard let measured = measurements[snapshot.pods[index].uid] else { continue }
                snapshot.pods[index].storage = measured.pod
                for c in snapshot.pods[index].containers.indices {
                    let container = snapshot.pods[index].containers[c]
                    snapshot.pods[index].containers[c].rootfs = measured.rootfs[container.id]
                    snapshot.pods[index].containers[c].rootfsDevice = measured.rootfsDevice[container.id]
                    snapshot.pods[index].containers[c].logs = measured.logs[container.name]
                }
            }
            snapshot.ephemeralStorageWalks = walkStatus
        }
    }

    /// How the walks have gone so far.
    package var status: EphemeralStorageWalkStatus {
        lock.withLock { walkStatus }
    }

    /// One round now, on the calling thread, unpaced (`kubemeter snapshot`, tests).
    package func measureNow() {
        let pods = lock.withLock { subjects ?? [] }
        round(pods, paced: false)
    }

    private func run() {
        if clinux_set_thread_idle_io_priority() != 0 {
            logger.notice("the ephemeral-storage walks run at the normal I/O priority", metadata: [
                "reason": "ioprio_set: \(String(cString: strerror(errno)))",
            ])
        }
        var nextRound = MonotonicClock.now()
        while true {
            let pods: [Subject]? = lock.withLock {
                while !stopped && (subjects == nil || MonotonicClock.now() < nextRound) {
                    if subjects == nil { lock.wait() } else { _ = lock.wait(untilMonotonic: nextRound) }
                }
                return stopped ? nil : subjects
            }
            guard let pods else { return }
            let begun = MonotonicClock.now()
            round(pods, paced: true)
            nextRound = begun + MonotonicClock.nanoseconds(configuration.intervalSeconds)
        }
    }

    // MARK: One round

    private var roundStart: UInt64 = 0
    private var roundInodes: UInt64 = 0
    private var paced = true

    private func round(_ pods: [Subject], paced: Bool) {
        self.paced = paced
        roundStart = MonotonicClock.now()
        roundInodes = 0
        roundFailures = []
        let cpuAtStart = ThreadCPUClock.seconds()
        locator.beginRound(runtimes: parts.contains(.rootfs) ? Set(pods.flatMap { $0.containers.map(\.runtime) }) : [])
        for pod in pods {
            if lock.withLock({ stopped }) { return }
            let measured = measure(pod)
            lock.withLock { measurements[pod.uid] = measured }
        }
        let ids = Set(pods.map(\.uid))
        locator.endRound(keeping: Set(pods.flatMap { $0.containers.map(\.id) }))
        let cpu = ThreadCPUClock.seconds() - cpuAtStart
        let failures = UInt64(roundFailures.count)
        lock.withLock {
            measurements = measurements.filter { ids.contains($0.key) }
            walkStatus.rounds += 1
            walkStatus.lastRoundEndSeconds = WallClock.seconds()
            walkStatus.lastRoundDurationSeconds = Double(MonotonicClock.now() - roundStart) / 1e9
            walkStatus.cpuSeconds += cpu
            walkStatus.inodesTotal += roundInodes
            walkStatus.lastRoundInodes = roundInodes
            walkStatus.failuresTotal += failures
        }
        failureLog.log(roundFailures, to: logger, now: MonotonicClock.seconds())
    }

    private func measure(_ pod: Subject) -> PodMeasurement {
        var result = PodMeasurement()
        let podLogDirectory = Path.join(paths.podLogPath, "\(pod.namespace)_\(pod.name)_\(pod.uid)")
        // A part the posture cannot read leaves the pod's total unknown.
        var complete = parts == .all
        for container in pod.containers where parts.contains(.rootfs) {
            switch locator.layer(of: container.id, runtime: container.runtime) {
            case .success(let layer):
                switch DiskUsageWalk.measure(layer, pace: pace) {
                case .success(let usage):
                    result.rootfs[container.id] = stamped(usage)
                    result.rootfsDevice[container.id] = locator.deviceName(usage.device)
                case .failure(let error):
                    failed(error, part: "rootfs")
                    complete = false
                }
            case .failure(let error):
                failed(error, part: "rootfs")
                complete = false
            }
        }
        for container in pod.containers where parts.contains(.logs) {
            if let usage = filesIn(Path.join(podLogDirectory, container.name), part: "logs") {
                result.logs[container.name] = usage
            } else {
                complete = false
            }
        }
        if parts.contains(.logs) {
            result.pod.podLogs = filesIn(podLogDirectory, part: "pod_logs")
            if result.pod.podLogs == nil { complete = false }
        }
        guard parts.contains(.volumes) else { return result }  // `complete` stays false
        let podDirectory = Path.join(paths.kubeletRootPath, "pods/\(pod.uid)")
        result.pod.volumes = volumes(in: podDirectory)
        if result.pod.volumes == nil { complete = false }
        // The kubelet goes on without etc-hosts when it is missing (it logs and leaves it out).
        switch DiskUsageWalk.measure(Path.join(podDirectory, "etc-hosts"), pace: pace) {
        case .success(let usage): result.pod.etcHosts = stamped(usage)
        case .failure(.notFound), .failure(.vanished): break
        case .failure(let error):
            failed(error, part: "etc_hosts")
            complete = false
        }
        result.pod.complete = complete
        return result
    }

    /// The volume plugins whose volumes the kubelet measures with `du` (`MetricsDu`), and whether
    /// they are ephemeral storage (pkg/volume/util `IsLocalEphemeralVolume`: an emptyDir not in
    /// memory, a configMap, a gitRepo). Others (a CSI or NFS volume: someone else's storage,
    /// measured by statfs) are never walked.
    static let walkedVolumePlugins: [(plugin: String, ephemeral: Bool)] = [
        ("kubernetes.io~empty-dir", true), ("kubernetes.io~configmap", true), ("kubernetes.io~git-repo", true),
        ("kubernetes.io~secret", false), ("kubernetes.io~projected", false), ("kubernetes.io~downward-api", false),
    ]

    private func volumes(in podDirectory: String) -> [VolumeStorageUsage]? {
        var found: [VolumeStorageUsage] = []
        for (plugin, ephemeral) in Self.walkedVolumePlugins {
            let directory = Path.join(podDirectory, "volumes/\(plugin)")
            let entries: [FileSystem.Entry]
            do { entries = try FileSystem.entries(of: directory) } catch {
                if case .notFound = error { continue }  // no volume of this plugin
                if case .vanished = error { continue }
                failed(error, part: "volume")
                return nil
            }
            for entry in entries where Int(entry.type) == DT_DIR || Int(entry.type) == DT_UNKNOWN {
                let path = Path.join(directory, entry.name)
                // Only an ephemeral volume left unmeasured leaves the pod's total unknown.
                guard let usage = walk(path, part: "volume") else {
                    if ephemeral { return nil } else { continue }
                }
                // `medium: Memory` is a tmpfs: memory, not ephemeral storage.
                let inMemory = FileSystemKind.isMemoryFileSystem(path)
                found.append(VolumeStorageUsage(
                    name: entry.name, usage: usage, ephemeral: ephemeral && !inMemory,
                    fileSystem: try? FileSystemCapacity.of(path).get()))
            }
        }
        return found.sorted { $0.name < $1.name }
    }

    /// The kubelet's `fileMetricsByDir`: every entry of `directory` that is not a directory,
    /// each measured on its own; the directory itself and its subdirectories are not counted.
    private func filesIn(_ directory: String, part: String) -> StorageUsage? {
        let entries: [FileSystem.Entry]
        do { entries = try FileSystem.entries(of: directory) } catch {
            failed(error, part: part)
            return nil
        }
        var total = DiskUsage()
        for entry in entries where Int(entry.type) != DT_DIR {
            let path = Path.join(directory, entry.name)
            // DT_UNKNOWN that turns out a directory: not a file of this directory (told before
            // measuring, or the walk would go through the whole subtree only to drop it).
            if Int(entry.type) == DT_UNKNOWN, isDirectory(path) { continue }
            switch DiskUsageWalk.measure(path, pace: pace) {
            case .success(let usage):
                total = total + usage
            case .failure(.notFound), .failure(.vanished):
                continue  // rotated away since the listing
            case .failure(let error):
                failed(error, part: part)
                return nil
            }
        }
        return stamped(total)
    }

    private func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    private func walk(_ path: String, part: String) -> StorageUsage? {
        switch DiskUsageWalk.measure(path, pace: pace) {
        case .success(let usage): return stamped(usage)
        case .failure(let error):
            failed(error, part: part)
            return nil
        }
    }

    private func stamped(_ usage: DiskUsage) -> StorageUsage {
        StorageUsage(bytes: usage.bytes, inodes: usage.inodes, measuredAtSeconds: WallClock.seconds())
    }

    private func failed(_ error: HostFileError, part: String) {
        roundFailures.append(("ephemeral_storage_\(part)", error))
    }

    /// Called by the walk every few hundred inodes: sleeps until the round is within its budget.
    private func pace(_ inodes: Int) {
        roundInodes += UInt64(inodes)
        guard paced, configuration.inodesPerSecond > 0 else { return }
        let due = roundStart + roundInodes * 1_000_000_000 / UInt64(configuration.inodesPerSecond)
        let now = MonotonicClock.now()
        guard due > now else { return }
        lock.withLock {
            while !stopped && MonotonicClock.now() < due { _ = lock.wait(untilMonotonic: due) }
        }
    }
}
