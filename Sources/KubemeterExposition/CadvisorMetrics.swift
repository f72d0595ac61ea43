#if canImport(Glibc)
package import Glibc
#endif
package import KubemeterParsers
package import KubemeterSnapshot

/// Renders `/metrics/cadvisor`: a subset of the kubelet's cAdvisor endpoint with cAdvisor's family
/// names, HELP, types, units and label names (google/cadvisor metrics/prometheus.go), from the same
/// snapshot as `/metrics/resource`; then the node in node_exporter's names (`NodeExporterStyle`).
///
/// Labels: `container` (the pod spec name; "" on the pod's own series), `id` (the cgroup path
/// from the hierarchy root, as cAdvisor's container name), `name` (the runtime's container ID;
/// "" for a pod), `namespace`, `pod`. No `image`: only the CRI knows it. A family whose kernel
/// file a cgroup lacks has no series for that cgroup (never a 0). docs/metrics.md lists each.
/// One family of ours among them, `kubemeter_container_restarts_total`, on the same labels
/// (containers only, and only those whose count is known).
package struct CadvisorMetricsRenderer: Sendable {
    /// The cgroup v2 mount the snapshot's paths start with; nil takes the `id` label from the
    /// first path component named `kubepods*` (where the kubelet puts every pod).
    package var cgroupRoot: String?

    package init(cgroupRoot: String? = nil) {
        self.cgroupRoot = cgroupRoot
    }

    /// One pod cgroup or container cgroup: a row of every container family.
    struct Row {
        var container: String
        var id: String
        var name: String
        var namespace: String
        var pod: String
        var sample: CgroupSample
        var network: [NetDevInterface]?
        /// Containers only: the kubelet's restart count, from the container's log path.
        var restartCount: Int?
        /// Containers only: the writable layer and the log files, from the last walk.
        var rootfs: StorageUsage?
        var rootfsDevice: String?
        var logs: StorageUsage?
    }

    struct Family {
        let name: String
        let type: String
        let help: String
    }

    package func render(_ snapshot: NodeSnapshot) -> [UInt8] {
        var rows: [Row] = []
        for index in ResourceMetricsRenderer.uniquePodIndices(snapshot.pods) {
            let pod = snapshot.pods[index]
            rows.append(Row(container: "", id: id(pod.cgroupPath), name: "", namespace: pod.namespace, pod: pod.name,
                            sample: pod.sample, network: pod.network))
            for c in pod.containers {
                rows.append(Row(container: c.name, id: id(c.cgroupPath), name: c.id, namespace: pod.namespace,
                                pod: pod.name, sample: c.sample, network: nil, restartCount: c.restartCount,
                                rootfs: c.rootfs, rootfsDevice: c.rootfsDevice, logs: c.logs))
            }
        }
        // The client orders series by label values in label-name order: container, then id.
        rows.sort { ($0.container, $0.id) < ($1.container, $1.id) }
        let base = rows.map { Self.labels($0, extra: nil) }

        // A row writes ~11 KB on a node like fake-node's (more with disks and interfaces). Reserved
        // generously: pages never written are never resident, while outgrowing the buffer copies
        // it into one twice its size, and the peak RSS is old + new (at 1000 pods 72 MB, for a
        // 44 MB response).
        var w = PrometheusTextWriter(reservingCapacity: 1024 + rows.count * 16_384)
        var written: [(name: String, write: (inout PrometheusTextWriter) -> Void)] = []

        /// One value per row, on the row's own labels.
        func single(_ f: Family, _ value: @escaping (CgroupSample) -> Double?) {
            perRow(f) { value($0.sample) }
        }
        func perRow(_ f: Family, _ value: @escaping (Row) -> Double?) {
            written.append((f.name, { w in
                var opened = false
                for (i, row) in rows.enumerated() {
                    guard let v = value(row) else { continue }
                    if !opened { w.family(f.name, type: f.type, help: f.help); opened = true }
                    w.sample(f.name, labelSet: base[i], value: v)
                }
            }))
        }
        /// Several values per row, each with one extra label.
        func labelled(_ f: Family, _ label: String, _ values: @escaping (Row) -> [(String, Double)]) {
            written.append((f.name, { w in
                var opened = false
                for row in rows {
                    for (labelValue, v) in values(row) {
                        if !opened { w.family(f.name, type: f.type, help: f.help); opened = true }
                        w.sample(f.name, labelSet: Self.labels(row, extra: (label, labelValue)), value: v)
                    }
                }
            }))
        }
        func seconds(_ usec: UInt64?) -> Double? { usec.map(Formulas.seconds(microseconds:)) }
        func number(_ n: UInt64?) -> Double? { n.map { Double($0) } }
        /// cAdvisor writes CFS counters only for a cgroup with a quota.
        func throttling(_ s: CgroupSample, _ value: (CPUStat) -> Double?) -> Double? {
            guard s.cpuMax?.quotaUsec != nil, let stat = s.cpu else { return nil }
            return value(stat)
        }

        labelled(F.cpuUsage, "cpu") { row in seconds(row.sample.cpu?.usageUsec).map { [("total", $0)] } ?? [] }
        single(F.cpuUser) { seconds($0.cpu?.userUsec) }
        single(F.cpuSystem) { seconds($0.cpu?.systemUsec) }
        single(F.cfsPeriods) { s in throttling(s) { number($0.nrPeriods) } }
        single(F.cfsThrottledPeriods) { s in throttling(s) { number($0.nrThrottled) } }
        single(F.cfsThrottledSeconds) { s in throttling(s) { seconds($0.throttledUsec) } }
        single(F.specCPUPeriod) { number($0.cpuMax?.periodUsec) }
        single(F.specCPUQuota) { number($0.cpuMax?.quotaUsec) }
        single(F.specCPUShares) { s in s.cpuWeight.flatMap(Formulas.cpuShares(weight:)).map { Double($0) } }
        single(F.memoryUsage) { number($0.memoryCurrent) }
        single(F.memoryWorkingSet) { number($0.memoryWorkingSetBytes) }
        single(F.memoryRSS) { number($0.memoryStat?.anon) }
        single(F.memoryCache) { number($0.memoryStat?.file) }
        single(F.memoryMappedFile) { number($0.memoryStat?.fileMapped) }
        single(F.memorySwap) { number($0.swapCurrent) }
        single(F.memoryMaxUsage) { number($0.memoryPeak) }
        single(F.specMemoryLimit) { s in s.memoryMax.map { Formulas.cadvisorMemoryLimitBytes($0) } }
        single(F.oomEvents) { number($0.memoryEvents?.oom) }
        single(F.oomKills) { number($0.memoryEvents?.oomKill) }
        single(F.processes) { number($0.pidsCurrent) }
        single(F.threads) { number($0.pidsCurrent) }
        for (resource, some, full) in [
            ("cpu", F.cpuWaiting, F.cpuStalled), ("memory", F.memoryWaiting, F.memoryStalled), ("io", F.ioWaiting, F.ioStalled),
        ] {
            let pressure: (CgroupSample) -> Pressure? = {
                resource == "cpu" ? $0.cpuPressure : resource == "memory" ? $0.memoryPressure : $0.ioPressure
            }
            single(some) { seconds(pressure($0)?.some?.totalUsec) }
            single(full) { seconds(pressure($0)?.full?.totalUsec) }
        }
        func io(_ f: Family, _ value: @escaping (IOStatDevice) -> UInt64?) {
            labelled(f, "device") { row in
                (row.sample.ioStat?.devices ?? []).compactMap { d in value(d).map { ("\(d.major):\(d.minor)", Double($0)) } }
            }
        }
        io(F.fsReadsBytes) { $0.rbytes }
        io(F.fsWritesBytes) { $0.wbytes }
        io(F.fsReads) { $0.rios }
        io(F.fsWrites) { $0.wios }
        func network(_ f: Family, _ value: @escaping (NetDevInterface) -> UInt64) {
            labelled(f, "interface") { row in (row.network ?? []).map { ($0.name, Double(value($0))) } }
        }
        network(F.rxBytes) { $0.rxBytes }
        network(F.rxPackets) { $0.rxPackets }
        network(F.rxErrors) { $0.rxErrors }
        network(F.rxDropped) { $0.rxDropped }
        network(F.txBytes) { $0.txBytes }
        network(F.txPackets) { $0.txPackets }
        network(F.txErrors) { $0.txErrors }
        network(F.txDropped) { $0.txDropped }
        perRow(F.restarts) { row in row.restartCount.map { Double($0) } }
        // The writable layer, as cAdvisor's container fs stats: one device, the layer's.
        labelled(F.fsUsage, "device") { row in row.rootfs.map { [(row.rootfsDevice ?? "", Double($0.bytes))] } ?? [] }
        labelled(F.fsInodes, "device") { row in row.rootfs.map { [(row.rootfsDevice ?? "", Double($0.inodes))] } ?? [] }
        perRow(F.logsBytes) { row in row.logs.map { Double($0.bytes) } }
        perRow(F.logsInodes) { row in row.logs.map { Double($0.inodes) } }
        writePodStorage(snapshot, into: &written)

        for family in written.sorted(by: { $0.name < $1.name }) { family.write(&w) }
        NodeExporterStyle().write(snapshot.node, to: &w)
        return w.bytes
    }

    /// The pod-level ephemeral-storage families: `{namespace,pod}`, and by part.
    private func writePodStorage(
        _ snapshot: NodeSnapshot, into written: inout [(name: String, write: (inout PrometheusTextWriter) -> Void)]
    ) {
        let pods = ResourceMetricsRenderer.uniquePodIndices(snapshot.pods).map { snapshot.pods[$0] }
            .sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        /// One family of pod-level series, each a label set and its storage figure.
        func family(_ f: Family, _ series: [([UInt8], StorageUsage)], _ value: @escaping (StorageUsage) -> Double) {
            guard !series.isEmpty else { return }
            written.append((f.name, { w in
                w.family(f.name, type: f.type, help: f.help)
                for (labels, usage) in series { w.sample(f.name, labelSet: labels, value: value(usage)) }
            }))
        }
        let totals = pods.compactMap { pod in
            Formulas.ephemeralStorage(of: pod).map { (PrometheusTextWriter.labelSet([("namespace", pod.namespace), ("pod", pod.name)]), $0) }
        }
        family(F.podEphemeralBytes, totals) { Double($0.bytes) }
        family(F.podEphemeralInodes, totals) { Double($0.inodes) }
        family(F.podEphemeralWalk, totals) { $0.measuredAtSeconds }
        let parts = pods.flatMap { pod in
            Self.parts(of: pod).map { part in
                (PrometheusTextWriter.labelSet([
                    ("namespace", pod.namespace), ("part", part.part), ("pod", pod.name), ("volume", part.volume),
                ]), part.usage)
            }
        }
        family(F.podEphemeralPartBytes, parts) { Double($0.bytes) }
        family(F.podEphemeralPartInodes, parts) { Double($0.inodes) }
    }

    /// A pod's measured parts, in label order (`part`, then `volume`): the containers' layers
    /// and logs summed, only when every container's is known (else the part is left out).
    static func parts(of pod: PodUsage) -> [(part: String, volume: String, usage: StorageUsage)] {
        guard let storage = pod.storage else { return [] }
        func sum(_ parts: [StorageUsage?]) -> StorageUsage? {
            var total = StorageUsage(bytes: 0, inodes: 0, measuredAtSeconds: 0)
            for part in parts {
                guard let part else { return nil }
                total.bytes &+= part.bytes
                total.inodes &+= part.inodes
                total.measuredAtSeconds = max(total.measuredAtSeconds, part.measuredAtSeconds)
            }
            return total
        }
        var result: [(String, String, StorageUsage)] = []
        if let hosts = storage.etcHosts { result.append(("etc_hosts", "", hosts)) }
        if !pod.containers.isEmpty, let logs = sum(pod.containers.map(\.logs)) { result.append(("logs", "", logs)) }
        if let podLogs = storage.podLogs { result.append(("pod_logs", "", podLogs)) }
        if !pod.containers.isEmpty, let rootfs = sum(pod.containers.map(\.rootfs)) { result.append(("rootfs", "", rootfs)) }
        for volume in storage.volumes ?? [] where volume.ephemeral { result.append(("volume", volume.name, volume.usage)) }
        return result
    }

    /// The cgroup path as cAdvisor names the container: from the hierarchy's root, with a
    /// leading slash.
    func id(_ path: String) -> String {
        if let root = cgroupRoot, path.hasPrefix(root) {
            let rest = path.dropFirst(root.count)
            return rest.hasPrefix("/") ? String(rest) : "/" + rest
        }
        var components = path.split(separator: "/", omittingEmptySubsequences: true)
        if let first = components.firstIndex(where: { $0.hasPrefix("kubepods") }) {
            components.removeSubrange(..<first)
        }
        return "/" + components.joined(separator: "/")
    }

    /// `{container,[extra],id,...}` in label-name order; the extra label (cpu, device or
    /// interface) goes where its name sorts.
    static func labels(_ row: Row, extra: (String, String)?) -> [UInt8] {
        var pairs = [("container", row.container), ("id", row.id), ("name", row.name), ("namespace", row.namespace), ("pod", row.pod)]
        if let extra {
            pairs.insert(extra, at: pairs.firstIndex { $0.0 > extra.0 } ?? pairs.count)
        }
        return PrometheusTextWriter.labelSet(pairs)
    }

    /// The families, with cAdvisor's HELP verbatim (and ours where cAdvisor has none).
    enum F {
        static let cpuUsage = Family(name: "container_cpu_usage_seconds_total", type: "counter", help: "Cumulative cpu time consumed in seconds.")
        static let cpuUser = Family(name: "container_cpu_user_seconds_total", type: "counter", help: "Cumulative user cpu time consumed in seconds.")
        static let cpuSystem = Family(name: "container_cpu_system_seconds_total", type: "counter", help: "Cumulative system cpu time consumed in seconds.")
        static let cfsPeriods = Family(name: "container_cpu_cfs_periods_total", type: "counter", help: "Number of elapsed enforcement period intervals.")
        static let cfsThrottledPeriods = Family(name: "container_cpu_cfs_throttled_periods_total", type: "counter", help: "Number of throttled period intervals.")
        static let cfsThrottledSeconds = Family(name: "container_cpu_cfs_throttled_seconds_total", type: "counter", help: "Total time duration the container has been throttled.")
        static let specCPUPeriod = Family(name: "container_spec_cpu_period", type: "gauge", help: "CPU period of the container.")
        static let specCPUQuota = Family(name: "container_spec_cpu_quota", type: "gauge", help: "CPU quota of the container.")
        static let specCPUShares = Family(name: "container_spec_cpu_shares", type: "gauge", help: "CPU share of the container.")
        static let memoryUsage = Family(name: "container_memory_usage_bytes", type: "gauge", help: "Current memory usage in bytes, including all memory regardless of when it was accessed")
        static let memoryWorkingSet = Family(name: "container_memory_working_set_bytes", type: "gauge", help: "Current working set in bytes.")
        static let memoryRSS = Family(name: "container_memory_rss", type: "gauge", help: "Size of RSS in bytes.")
        static let memoryCache = Family(name: "container_memory_cache", type: "gauge", help: "Number of bytes of page cache memory.")
        static let memoryMappedFile = Family(name: "container_memory_mapped_file", type: "gauge", help: "Size of memory mapped files in bytes.")
        static let memorySwap = Family(name: "container_memory_swap", type: "gauge", help: "Container swap usage in bytes.")
        static let memoryMaxUsage = Family(name: "container_memory_max_usage_bytes", type: "gauge", help: "Maximum memory usage recorded in bytes")
        static let specMemoryLimit = Family(name: "container_spec_memory_limit_bytes", type: "gauge", help: "Memory limit for the container.")
        static let oomEvents = Family(name: "container_oom_events_total", type: "counter", help: "Count of out of memory events observed for the container")
        static let oomKills = Family(name: "container_oom_kills_total", type: "counter", help: "Processes killed by the OOM killer in the container's cgroup or below (memory.events oom_kill).")
        static let processes = Family(name: "container_processes", type: "gauge", help: "Number of processes running inside the container.")
        static let threads = Family(name: "container_threads", type: "gauge", help: "Number of threads running inside the container")
        static let cpuStalled = Family(name: "container_pressure_cpu_stalled_seconds_total", type: "counter", help: "Total time duration no tasks in the container could make progress due to CPU congestion.")
        static let cpuWaiting = Family(name: "container_pressure_cpu_waiting_seconds_total", type: "counter", help: "Total time duration tasks in the container have waited due to CPU congestion.")
        static let memoryStalled = Family(name: "container_pressure_memory_stalled_seconds_total", type: "counter", help: "Total time duration no tasks in the container could make progress due to memory congestion.")
        static let memoryWaiting = Family(name: "container_pressure_memory_waiting_seconds_total", type: "counter", help: "Total time duration tasks in the container have waited due to memory congestion.")
        static let ioStalled = Family(name: "container_pressure_io_stalled_seconds_total", type: "counter", help: "Total time duration no tasks in the container could make progress due to IO congestion.")
        static let ioWaiting = Family(name: "container_pressure_io_waiting_seconds_total", type: "counter", help: "Total time duration tasks in the container have waited due to IO congestion.")
        static let fsReadsBytes = Family(name: "container_fs_reads_bytes_total", type: "counter", help: "Cumulative count of bytes read")
        static let fsWritesBytes = Family(name: "container_fs_writes_bytes_total", type: "counter", help: "Cumulative count of bytes written")
        static let fsReads = Family(name: "container_fs_reads_total", type: "counter", help: "Cumulative count of reads completed")
        static let fsWrites = Family(name: "container_fs_writes_total", type: "counter", help: "Cumulative count of writes completed")
        static let rxBytes = Family(name: "container_network_receive_bytes_total", type: "counter", help: "Cumulative count of bytes received")
        static let rxPackets = Family(name: "container_network_receive_packets_total", type: "counter", help: "Cumulative count of packets received")
        static let rxErrors = Family(name: "container_network_receive_errors_total", type: "counter", help: "Cumulative count of errors encountered while receiving")
        static let rxDropped = Family(name: "container_network_receive_packets_dropped_total", type: "counter", help: "Cumulative count of packets dropped while receiving")
        static let txBytes = Family(name: "container_network_transmit_bytes_total", type: "counter", help: "Cumulative count of bytes transmitted")
        static let txPackets = Family(name: "container_network_transmit_packets_total", type: "counter", help: "Cumulative count of packets transmitted")
        static let txErrors = Family(name: "container_network_transmit_errors_total", type: "counter", help: "Cumulative count of errors encountered while transmitting")
        static let txDropped = Family(name: "container_network_transmit_packets_dropped_total", type: "counter", help: "Cumulative count of packets dropped while transmitting")
        static let fsUsage = Family(name: "container_fs_usage_bytes", type: "gauge", help: "Number of bytes that are consumed by the container on this filesystem.")
        static let fsInodes = Family(name: "container_fs_inodes_total", type: "gauge", help: "Number of Inodes")
        // Ours: ephemeral storage as the kubelet sums it (docs/metrics.md, "Ephemeral storage").
        static let logsBytes = Family(
            name: "kubemeter_container_logs_bytes", type: "gauge",
            help: "Bytes on disk of the files in the container's /var/log/pods/<pod>/<container>/ directory (the Summary API's container logs.usedBytes), at the last walk.")
        static let logsInodes = Family(
            name: "kubemeter_container_logs_inodes", type: "gauge",
            help: "Inodes of the files in the container's log directory (the Summary API's container logs.inodesUsed), at the last walk.")
        static let podEphemeralBytes = Family(
            name: "kubemeter_pod_ephemeral_storage_bytes", type: "gauge",
            help: "The pod's ephemeral storage as the kubelet sums it (writable layers, logs, emptyDir and configMap volumes, pod log files, etc-hosts) in bytes on disk, at the last walk.")
        static let podEphemeralInodes = Family(
            name: "kubemeter_pod_ephemeral_storage_inodes", type: "gauge",
            help: "Inodes of the pod's ephemeral storage as the kubelet counts them, at the last walk.")
        static let podEphemeralWalk = Family(
            name: "kubemeter_pod_ephemeral_storage_last_walk_timestamp_seconds", type: "gauge",
            help: "When the newest walk of the pod's ephemeral storage ended, in seconds since the Unix epoch: the age of the figures.")
        static let podEphemeralPartBytes = Family(
            name: "kubemeter_pod_ephemeral_storage_part_bytes", type: "gauge",
            help: "Bytes on disk of one part of the pod's ephemeral storage (part: rootfs, logs, pod_logs, etc_hosts, volume), at the last walk.")
        static let podEphemeralPartInodes = Family(
            name: "kubemeter_pod_ephemeral_storage_part_inodes", type: "gauge",
            help: "Inodes of one part of the pod's ephemeral storage, at the last walk.")
        /// Ours: cAdvisor has no restart count (the kubelet's is in the pod status, from the CRI).
        static let restarts = Family(
            name: "kubemeter_container_restarts_total", type: "counter",
            help: "Restarts of the container in its pod, as the kubelet counted them: n of the /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log its /var/log/containers link points at.")
    }
}
