package import KubemeterHostFiles
package import KubemeterParsers

/// One collection of the whole node: the single model every renderer reads.
package struct NodeSnapshot: Sendable {
    /// Wall-clock time of the collection, in milliseconds since the Unix epoch.
    package var timestampMilliseconds: Int64
    package var node: NodeUsage
    /// Pods with a known namespace and name, sorted by namespace, name, uid.
    package var pods: [PodUsage]
    /// True when the collection as a whole failed (the kubelet's `resource_scrape_error` 1).
    /// A vanished or unreadable container never sets it.
    package var scrapeFailed: Bool
    /// What this collection skipped, and why; exported as the agent's own health.
    package var problems: CollectionProblems
    package var timings = CollectionTimings()
    /// What was read: a `.resource` snapshot lacks the values only /metrics/cadvisor and top use.
    package var scope: CollectionScope = .full
    /// The kubelet's, the runtime's and the pods' cgroups (the Summary API's `systemContainers`),
    /// those found; read by every collection, to its scope.
    package var systemContainers: [SystemContainerUsage] = []
    /// The background walks of pods' ephemeral storage (docs/metrics.md): nil when they are off.
    package var ephemeralStorageWalks: EphemeralStorageWalkStatus?

    package init(
        timestampMilliseconds: Int64, node: NodeUsage, pods: [PodUsage], scrapeFailed: Bool = false,
        problems: CollectionProblems = CollectionProblems()
    ) {
        self.timestampMilliseconds = timestampMilliseconds
        self.node = node
        self.pods = pods
        self.scrapeFailed = scrapeFailed
        self.problems = problems
    }
}

/// How much of the node a collection reads.
package enum CollectionScope: Int, Sendable, Comparable {
    /// Only what the kubelet's /metrics/resource needs: per cgroup `cpu.stat`, `memory.current`,
    /// `memory.stat`, `memory.swap.*`; for the node the root cgroup's `cpu.stat` and `memory.stat`
    /// and `/proc/meminfo`. A fraction of the files, so a Prometheus scrape of it costs that much.
    case resource
    /// Everything: also limits, PSI, OOM events, IO, pids, per-pod network and the node's
    /// /proc files, for /metrics/cadvisor, /top and /pods.
    case full

    package static func < (a: CollectionScope, b: CollectionScope) -> Bool { a.rawValue < b.rawValue }
}

/// Where a node value came from: the kubelet's own source, or the documented `/proc` fallback.
package enum NodeValueSource: String, Sendable {
    /// The root cgroup's `cpu.stat`.
    case rootCgroupCPUStat = "cgroup cpu.stat"
    /// `/proc/stat` jiffies.
    case procStat = "/proc/stat"
    /// The root cgroup's `memory.stat` (anon + file - inactive_file).
    case rootCgroupMemoryStat = "cgroup memory.stat"
    /// `/proc/meminfo` (MemTotal - MemFree - Inactive(file)).
    case procMeminfo = "/proc/meminfo"
}

/// The node's own usage, already reduced by the kubelet's formulas (see docs/metrics.md).
package struct NodeUsage: Sendable, Equatable {
    package var cpuUsageSeconds: Double?
    package var cpuSource: NodeValueSource?
    package var memoryWorkingSetBytes: UInt64?
    package var memorySource: NodeValueSource?
    package var swapUsageBytes: UInt64?

    // Read for /metrics/cadvisor and `kubemeter top`.
    /// `/proc/stat` (CPU time by mode, per CPU, boot time).
    package var procStat: ProcStat?
    /// `/proc/meminfo`.
    package var meminfo: Meminfo?
    /// The root cgroup's `memory.stat` (the Summary API's node rss and page faults).
    package var rootMemoryStat: MemoryStat?
    /// `/proc/net/dev` of the host's network namespace.
    package var netDev: NetDev?
    /// Node pressure: the root cgroup's `*.pressure`, or `/proc/pressure/*`.
    package var cpuPressure: Pressure?
    package var memoryPressure: Pressure?
    package var ioPressure: Pressure?
    /// Cores in use, in billionths, over the window since an earlier collection (`CPURateTracker`).
    package var cpuUsageNanoCores: UInt64?
    /// `statfs` of the kubelet's root directory (the Summary API's node `fs`).
    package var rootFileSystem: FileSystemCapacity?
    /// `statfs` of the container runtime's image directory (the Summary API's `runtime.imageFs`).
    package var imageFileSystem: FileSystemCapacity?
    /// Process IDs the kernel can hand out, and tasks that exist (the Summary API's `rlimit`).
    package var processIDLimit: UInt64?
    package var processCount: UInt64?

    package init(
        cpuUsageSeconds: Double? = nil, cpuSource: NodeValueSource? = nil,
        memoryWorkingSetBytes: UInt64? = nil, memorySource: NodeValueSource? = nil,
        swapUsageBytes: UInt64? = nil
    ) {
        self.cpuUsageSeconds = cpuUsageSeconds
        self.cpuSource = cpuSource
        self.memoryWorkingSetBytes = memoryWorkingSetBytes
        self.memorySource = memorySource
        self.swapUsageBytes = swapUsageBytes
    }
}

/// One pod: its identity from the CRI log paths, its own (hierarchical) cgroup, and its app containers.
package struct PodUsage: Sendable, Equatable {
    package var namespace: String
    package var name: String
    package var uid: String
    package var qosClass: String
    package var cgroupPath: String
    package var sample: CgroupSample
    package var containers: [ContainerUsage]
    /// The pod's network interfaces, from `/proc/<pid>/net/dev` of a process in its sandbox
    /// (its network namespace), `lo` left out; nil when unknown or when the pod uses the host's
    /// network (`hostNetwork`), whose interfaces are the node's.
    package var network: [NetDevInterface]?
    /// True when the pod shares the node's network namespace.
    package var hostNetwork: Bool?
    /// Seconds since the Unix epoch: when the pod's cgroup was made (the kubelet makes it just
    /// before the sandbox); see docs/metrics.md.
    package var startTimeSeconds: Double?
    /// The parts of the pod's ephemeral storage that are not any container's, from the last walk;
    /// nil when storage is not measured (the walks are off, or the pod is not walked yet).
    package var storage: PodStorageUsage?

    package init(
        namespace: String, name: String, uid: String, qosClass: String, cgroupPath: String,
        sample: CgroupSample, containers: [ContainerUsage]
    ) {
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.qosClass = qosClass
        self.cgroupPath = cgroupPath
        self.sample = sample
        self.containers = containers
    }
}

/// One app container (never the pod sandbox).
package struct ContainerUsage: Sendable, Equatable {
    package var name: String
    package var id: String
    package var runtime: String
    package var cgroupPath: String
    package var sample: CgroupSample
    /// Seconds since the Unix epoch; see docs/metrics.md for how it is taken without the CRI.
    package var startTimeSeconds: Double?
    /// The kubelet's restart count of this instance, from its log path (`<n>.log`); nil when
    /// unknown. See docs/metrics.md, `kubemeter_container_restarts_total`.
    package var restartCount: Int?
    /// The container's writable layer (the Summary API's container `rootfs`), from the last walk.
    package var rootfs: StorageUsage?
    /// The device the writable layer is on, as mountinfo names its source (`/dev/vda1`):
    /// cAdvisor's `device` label.
    package var rootfsDevice: String?
    /// The files of its log directory (the Summary API's container `logs`), from the last walk.
    package var logs: StorageUsage?

    package init(
        name: String, id: String, runtime: String, cgroupPath: String, sample: CgroupSample,
        startTimeSeconds: Double?, restartCount: Int? = nil
    ) {
        self.name = name
        self.id = id
        self.runtime = runtime
        self.cgroupPath = cgroupPath
        self.sample = sample
        self.startTimeSeconds = startTimeSeconds
        self.restartCount = restartCount
    }
}

/// Bytes on disk and inodes of one part of a pod's ephemeral storage, as the kubelet counts them
/// (`du`'s way: allocated blocks, every inode once), and when the walk that measured it ended.
package struct StorageUsage: Sendable, Equatable {
    package var bytes: UInt64
    package var inodes: UInt64
    /// Wall-clock seconds since the Unix epoch at which the walk of this part ended.
    package var measuredAtSeconds: Double

    package init(bytes: UInt64, inodes: UInt64, measuredAtSeconds: Double) {
        self.bytes = bytes
        self.inodes = inodes
        self.measuredAtSeconds = measuredAtSeconds
    }
}

/// One volume of a pod that the kubelet measures with `du` (pkg/volume `MetricsDu`): emptyDir,
/// configMap, gitRepo, secret, projected, downwardAPI.
package struct VolumeStorageUsage: Sendable, Equatable {
    /// The volume's name in the pod spec (its directory's name under `volumes/<plugin>/`).
    package var name: String
    package var usage: StorageUsage
    /// Part of the pod's ephemeral storage (pkg/volume/util `IsLocalEphemeralVolume`: an emptyDir
    /// on disk, a configMap, a gitRepo); not so a tmpfs one (secret, projected, `medium: Memory`).
    package var ephemeral: Bool
    /// `statfs` of the volume's directory (the Summary API's capacity and available figures).
    package var fileSystem: FileSystemCapacity?

    package init(name: String, usage: StorageUsage, ephemeral: Bool = true, fileSystem: FileSystemCapacity? = nil) {
        self.name = name
        self.usage = usage
        self.ephemeral = ephemeral
        self.fileSystem = fileSystem
    }
}

/// A pod's own parts of its ephemeral storage (its containers hold `rootfs` and `logs`).
package struct PodStorageUsage: Sendable, Equatable {
    /// Its volumes that the kubelet measures, sorted by name; nil when the kubelet's pod directory could not be
    /// read (so the pod's total is unknown), empty when it has none.
    package var volumes: [VolumeStorageUsage]?
    /// The files directly in the pod's log directory (not its containers' subdirectories).
    package var podLogs: StorageUsage?
    /// The kubelet's `etc-hosts` file for the pod; nil when unreadable or absent.
    package var etcHosts: StorageUsage?
    /// Every part the kubelet's total has could be measured: only then is the total served.
    package var complete: Bool

    package init(volumes: [VolumeStorageUsage]?, podLogs: StorageUsage?, etcHosts: StorageUsage?, complete: Bool) {
        self.volumes = volumes
        self.podLogs = podLogs
        self.etcHosts = etcHosts
        self.complete = complete
    }
}

/// The background walks of ephemeral storage: how the last one went, and the budget they keep.
package struct EphemeralStorageWalkStatus: Sendable, Equatable {
    /// Rounds completed since the start (each walks every pod once).
    package var rounds: UInt64 = 0
    /// Wall-clock seconds at which the last round ended; nil before the first.
    package var lastRoundEndSeconds: Double?
    /// Wall time the last round took (sleeps to keep the budget included).
    package var lastRoundDurationSeconds: Double = 0
    /// CPU time the walking thread has used since the start.
    package var cpuSeconds: Double = 0
    /// Inodes examined since the start, and in the last round.
    package var inodesTotal: UInt64 = 0
    package var lastRoundInodes: UInt64 = 0
    /// Parts that could not be measured (an unreadable directory, a layer not found), since the start.
    package var failuresTotal: UInt64 = 0
    /// The budget: inodes examined per second at most.
    package var inodesPerSecond: Int = 0
    /// Seconds between the starts of two rounds.
    package var intervalSeconds: Double = 0

    package init() {}
}

/// A cgroup of the node's own that the Summary API reports beside the pods.
package struct SystemContainerUsage: Sendable, Equatable {
    /// The Summary API's names (k8s.io/kubelet stats/v1alpha1 `SystemContainerKubelet`, ...).
    package enum Role: String, Sendable, CaseIterable {
        case kubelet, runtime, pods
    }

    package var role: Role
    package var cgroupPath: String
    package var sample: CgroupSample
    /// Seconds since the Unix epoch: the cgroup directory's creation, as for containers.
    package var startTimeSeconds: Double?

    package init(role: Role, cgroupPath: String, sample: CgroupSample, startTimeSeconds: Double?) {
        self.role = role
        self.cgroupPath = cgroupPath
        self.sample = sample
        self.startTimeSeconds = startTimeSeconds
    }
}

/// The stages of a collection, each reported on its own (node_exporter's collectors' way).
package enum CollectionStage: String, Sendable, CaseIterable {
    /// `/proc` and the root cgroup.
    case node
    /// Pod discovery (cgroup tree and CRI log paths).
    case discovery
    /// Every pod and container cgroup, and each pod's network.
    case cgroups
}

/// Counts of what a collection skipped. Nothing here fails a scrape.
package struct CollectionProblems: Sendable, Equatable {
    /// Cgroups that disappeared between discovery and reading (pod churn).
    package var vanishedCgroups = 0
    /// Files present but unreadable or unparsable (each left out, counted here).
    package var unreadableFiles = 0
    /// Why files or directories could not be read, by stage: the first
    /// `maximumFailuresKept` of each (the counts above have them all).
    package private(set) var failures: [CollectionStage: [HostFileError]] = [:]
    package static let maximumFailuresKept = 16
    /// Pod cgroups whose namespace and name no CRI log directory gives.
    package var podsWithoutLogDirectory = 0
    /// Cgroup or log directory names that looked wrong and were ignored.
    package var skippedEntries = 0

    package init() {}

    /// A file of `stage` present but unreadable or unparsable: counted, and kept with why.
    package mutating func unreadable(_ error: HostFileError, in stage: CollectionStage) {
        unreadableFiles += 1
        keep(error, in: stage)
    }

    /// A failure already counted elsewhere (discovery counts its own): kept with why.
    package mutating func keep(_ error: HostFileError, in stage: CollectionStage) {
        if failures[stage, default: []].count < Self.maximumFailuresKept { failures[stage, default: []].append(error) }
    }

    /// Whether `stage` read everything it found (vanished cgroups and absent files are no failure).
    package func succeeded(_ stage: CollectionStage) -> Bool {
        failures[stage]?.isEmpty ?? true
    }

    /// Every failure kept, with its stage.
    package var allFailures: [(stage: CollectionStage, error: HostFileError)] {
        CollectionStage.allCases.flatMap { stage in (failures[stage] ?? []).map { (stage, $0) } }
    }
}

/// Wall time each stage of one collection took, in seconds.
package struct CollectionTimings: Sendable, Equatable {
    /// `/proc` and the root cgroup.
    package var node: Double = 0
    /// Pod discovery (cgroup tree and CRI log paths).
    package var discovery: Double = 0
    /// Reading every pod and container cgroup.
    package var cgroups: Double = 0

    package init() {}
}
