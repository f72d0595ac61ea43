package import KubemeterParsers
package import KubemeterSnapshot

/// One row of a top table: a pod, or one of its containers. Nil means unknown (shown as "-").
package struct TopRow: Sendable, Equatable {
    /// The node the row is on, in views of several nodes (the cluster view); nil on one node's.
    package var node: String?
    package var namespace: String
    package var pod: String
    /// Nil on a pod row.
    package var container: String?
    /// Containers in the pod (pod rows).
    package var containerCount: Int
    package var qosClass: String
    package var cpuCores: Double?
    package var cpuLimitCores: Double?
    package var memoryBytes: UInt64?
    package var memoryLimitBytes: UInt64?
    package var throttledPercent: Double?
    package var oomKills: UInt64?
    /// The kubelet's restart count (from the log path); a pod row sums its containers' and is
    /// nil when any of them is unknown.
    package var restarts: Int?
    /// Bytes of ephemeral storage at the last walk: a pod's as the kubelet sums it, a container's
    /// writable layer and logs.
    package var ephemeralStorageBytes: UInt64?
    /// `some avg10` of `cpu.pressure`, `memory.pressure`, `io.pressure`, in percent.
    package var cpuPressure: Double?
    package var memoryPressure: Double?
    package var ioPressure: Double?
    /// Bytes per second; pod rows only (a pod's containers share its network namespace).
    package var rxBytesPerSecond: Double?
    package var txBytesPerSecond: Double?
    /// The pod uses the node's network (its traffic is the node's, not shown per pod).
    package var hostNetwork: Bool?

    package init(namespace: String, pod: String, container: String? = nil, containerCount: Int = 0, qosClass: String = "") {
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.containerCount = containerCount
        self.qosClass = qosClass
    }

    package var cpuPercentOfLimit: Double? { Formulas.percent(cpuCores, of: cpuLimitCores) }
    package var memoryPercentOfLimit: Double? {
        Formulas.percent(memoryBytes.map { Double($0) }, of: memoryLimitBytes.map { Double($0) })
    }
    /// The highest of the three pressures.
    package var pressure: Double? {
        [cpuPressure, memoryPressure, ioPressure].compactMap { $0 }.max()
    }
}

/// The node line of a top table.
package struct TopNodeSummary: Sendable, Equatable {
    package var cpuCores: Double?
    /// CPUs online (`cpuN` lines of /proc/stat).
    package var cpuCount: Int?
    package var memoryWorkingSetBytes: UInt64?
    package var memoryTotalBytes: UInt64?
    package var cpuPressure: Double?
    package var memoryPressure: Double?
    package var ioPressure: Double?
    package var rxBytesPerSecond: Double?
    package var txBytesPerSecond: Double?
    package var pods = 0
    package var containers = 0

    package init() {}
}

/// Everything a top table shows, computed from one snapshot and, for rates, the one before it.
package struct TopView: Sendable, Equatable {
    package var node: TopNodeSummary
    package var rows: [TopRow]
    /// Seconds between the two snapshots the rates come from; nil without a previous snapshot.
    package var intervalSeconds: Double?
    package var options: TopOptions
    /// Wall-clock time of the current snapshot, ms since the epoch.
    package var timestampMilliseconds: Int64

    package init(current: NodeSnapshot, previous: NodeSnapshot?, options: TopOptions) {
        self.options = options
        timestampMilliseconds = current.timestampMilliseconds
        let seconds = Formulas.seconds(from: previous, to: current)
        intervalSeconds = seconds
        let usable = seconds == nil ? nil : previous

        var node = TopNodeSummary()
        node.cpuCores = Formulas.cores(
            previousSeconds: usable?.node.cpuUsageSeconds, currentSeconds: current.node.cpuUsageSeconds, seconds: seconds)
        if let count = current.node.procStat?.perCPU.count, count > 0 { node.cpuCount = count }
        node.memoryWorkingSetBytes = current.node.memoryWorkingSetBytes
        node.memoryTotalBytes = current.node.meminfo?.memTotal
        node.cpuPressure = current.node.cpuPressure?.some?.avg10
        node.memoryPressure = current.node.memoryPressure?.some?.avg10
        node.ioPressure = current.node.ioPressure?.some?.avg10
        if let rates = Formulas.networkRates(
            previous: usable?.node.netDev?.interfaces, current: current.node.netDev?.interfaces, seconds: seconds) {
            node.rxBytesPerSecond = rates.rx
            node.txBytesPerSecond = rates.tx
        }

        var previousPods: [String: PodUsage] = [:]
        var previousContainers: [String: ContainerUsage] = [:]
        for pod in usable?.pods ?? [] {
            previousPods[pod.uid] = pod
            for container in pod.containers { previousContainers[container.id] = container }
        }

        var rows: [TopRow] = []
        for pod in current.pods {
            node.pods += 1
            node.containers += pod.containers.count
            if let filter = options.namespace, !filter.matches(pod.namespace) { continue }
            if let filter = options.pod, !filter.matches(pod.name) { continue }
            if options.containers {
                for container in pod.containers {
                    var row = TopRow(namespace: pod.namespace, pod: pod.name, container: container.name, qosClass: pod.qosClass)
                    Self.fill(&row, previousContainers[container.id]?.sample, container.sample, seconds)
                    row.restarts = container.restartCount
                    if let rootfs = container.rootfs, let logs = container.logs { row.ephemeralStorageBytes = rootfs.bytes &+ logs.bytes }
                    rows.append(row)
                }
            } else {
                var row = TopRow(namespace: pod.namespace, pod: pod.name, containerCount: pod.containers.count, qosClass: pod.qosClass)
                let before = previousPods[pod.uid]
                Self.fill(&row, before?.sample, pod.sample, seconds)
                row.restarts = Self.restarts(of: pod)
                row.ephemeralStorageBytes = Formulas.ephemeralStorage(of: pod)?.bytes
                row.hostNetwork = pod.hostNetwork
                if row.hostNetwork != true,
                   let rates = Formulas.networkRates(previous: before?.network, current: pod.network, seconds: seconds) {
                    row.rxBytesPerSecond = rates.rx
                    row.txBytesPerSecond = rates.tx
                }
                rows.append(row)
            }
        }
        self.node = node
        self.rows = Self.sorted(rows, by: options.sort)
    }

    private static func fill(_ row: inout TopRow, _ previous: CgroupSample?, _ current: CgroupSample, _ seconds: Double?) {
        row.cpuCores = Formulas.cores(previous: previous, current: current, seconds: seconds)
        row.cpuLimitCores = Formulas.cpuLimitCores(current.cpuMax)
        row.memoryBytes = current.memoryWorkingSetBytes
        row.memoryLimitBytes = Formulas.memoryLimitBytes(current.memoryMax)
        row.throttledPercent = seconds == nil ? nil : Formulas.throttledPercent(previous: previous, current: current)
        row.oomKills = current.memoryEvents?.oomKill
        row.cpuPressure = current.cpuPressure?.some?.avg10
        row.memoryPressure = current.memoryPressure?.some?.avg10
        row.ioPressure = current.ioPressure?.some?.avg10
    }

    /// A pod's restarts as `kubectl get pods` sums them: over its containers; nil when any
    /// container's count is unknown (a partial sum would read as a smaller one).
    static func restarts(of pod: PodUsage) -> Int? {
        var sum = 0
        for container in pod.containers {
            guard let count = container.restartCount else { return nil }
            sum += count
        }
        return sum
    }

    /// Largest first for figures (unknown last), alphabetical for names; ties by name.
    package static func sorted(_ rows: [TopRow], by key: TopSortKey) -> [TopRow] {
        func byName(_ a: TopRow, _ b: TopRow) -> Bool {
            if a.namespace != b.namespace { return a.namespace < b.namespace }
            if a.pod != b.pod { return a.pod < b.pod }
            if a.container != b.container { return (a.container ?? "") < (b.container ?? "") }
            return (a.node ?? "") < (b.node ?? "")
        }
        func figure(_ row: TopRow) -> Double? {
            switch key {
            case .cpu: row.cpuCores
            case .memory: row.memoryBytes.map { Double($0) }
            case .throttle: row.throttledPercent
            case .oom: row.oomKills.map { Double($0) }
            case .restarts: row.restarts.map { Double($0) }
            case .ephemeral: row.ephemeralStorageBytes.map { Double($0) }
            case .psi: row.pressure
            case .rx: row.rxBytesPerSecond
            case .tx: row.txBytesPerSecond
            case .name, .namespace: nil
            }
        }
        switch key {
        case .name:
            return rows.sorted { a, b in
                if a.pod != b.pod { return a.pod < b.pod }
                return byName(a, b)
            }
        case .namespace:
            return rows.sorted(by: byName)
        default:
            return rows.sorted { a, b in
                switch (figure(a), figure(b)) {
                case let (x?, y?) where x != y: return x > y
                case (_?, nil): return true
                case (nil, _?): return false
                default: return byName(a, b)
                }
            }
        }
    }
}
