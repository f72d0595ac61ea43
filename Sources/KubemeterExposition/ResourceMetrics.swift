package import KubemeterSnapshot

/// Renders the kubelet's `/metrics/resource` (kubernetes pkg/kubelet/metrics/collectors/
/// resource_metrics.go): the same families, HELP (with the stability prefix component-base adds),
/// TYPE, label names, family order (by name) and series order (by label values), as the
/// kubelet's Prometheus client writes them. Families without samples are left out, as there.
package struct ResourceMetricsRenderer: Sendable {
    /// Attach the collection time to CPU, memory and swap samples as the kubelet does. Off by
    /// default: kubemeter reads at scrape time, and samples without timestamps get Prometheus's
    /// staleness handling (see docs/metrics.md, "Timestamps").
    package var sampleTimestamps: Bool

    package init(sampleTimestamps: Bool = false) {
        self.sampleTimestamps = sampleTimestamps
    }

    enum Stability: String { case stable = "[STABLE] ", alpha = "[ALPHA] " }

    struct Family {
        let name: String
        let type: String
        let stability: Stability
        let help: String
    }

    // HELP texts as in resource_metrics.go, verbatim.
    static let containerCPU = Family(name: "container_cpu_usage_seconds_total", type: "counter", stability: .stable,
        help: "Cumulative cpu time consumed by the container in core-seconds")
    static let containerMemory = Family(name: "container_memory_working_set_bytes", type: "gauge", stability: .stable,
        help: "Current working set of the container in bytes")
    static let containerStart = Family(name: "container_start_time_seconds", type: "gauge", stability: .stable,
        help: "Start time of the container since unix epoch in seconds")
    static let containerSwapLimit = Family(name: "container_swap_limit_bytes", type: "gauge", stability: .alpha,
        help: "Current amount of the container swap limit in bytes. Reported only on non-windows systems")
    static let containerSwap = Family(name: "container_swap_usage_bytes", type: "gauge", stability: .alpha,
        help: "Current amount of the container swap usage in bytes. Reported only on non-windows systems")
    static let nodeCPU = Family(name: "node_cpu_usage_seconds_total", type: "counter", stability: .stable,
        help: "Cumulative cpu time consumed by the node in core-seconds")
    static let nodeMemory = Family(name: "node_memory_working_set_bytes", type: "gauge", stability: .stable,
        help: "Current working set of the node in bytes")
    static let nodeSwap = Family(name: "node_swap_usage_bytes", type: "gauge", stability: .alpha,
        help: "Current swap usage of the node in bytes. Reported only on non-windows systems")
    static let podCPU = Family(name: "pod_cpu_usage_seconds_total", type: "counter", stability: .stable,
        help: "Cumulative cpu time consumed by the pod in core-seconds")
    static let podMemory = Family(name: "pod_memory_working_set_bytes", type: "gauge", stability: .stable,
        help: "Current working set of the pod in bytes")
    static let podSwap = Family(name: "pod_swap_usage_bytes", type: "gauge", stability: .alpha,
        help: "Current amount of the pod swap usage in bytes. Reported only on non-windows systems")
    static let scrapeError = Family(name: "resource_scrape_error", type: "gauge", stability: .stable,
        help: "1 if there was an error while getting container metrics, 0 otherwise")

    /// The exposition of one snapshot.
    package func render(_ snapshot: NodeSnapshot) -> [UInt8] {
        let ts = sampleTimestamps ? snapshot.timestampMilliseconds : nil
        // The client sorts series by label values in label-name order: (container, namespace,
        // pod) for containers, (namespace, pod) for pods.
        let pods = snapshot.pods
        let kept = Self.uniquePodIndices(pods)
        // Series are ordered through indices: pods and containers are large values, and sorting
        // or copying them per family would cost more than writing the text.
        struct Row { var pod: Int; var container: Int; var key: (String, String, String); var labels: [UInt8] }
        var rows: [Row] = []
        rows.reserveCapacity(kept.reduce(0) { $0 + pods[$1].containers.count })
        for p in kept {
            let pod = pods[p]
            for (c, container) in pod.containers.enumerated() {
                rows.append(Row(
                    pod: p, container: c, key: (container.name, pod.namespace, pod.name),
                    labels: PrometheusTextWriter.labelSet(
                        [("container", container.name), ("namespace", pod.namespace), ("pod", pod.name)])))
            }
        }
        rows.sort { $0.key < $1.key }
        let podLabels = kept.map { PrometheusTextWriter.labelSet([("namespace", pods[$0].namespace), ("pod", pods[$0].name)]) }

        var w = PrometheusTextWriter(reservingCapacity: 256 + rows.count * 600 + kept.count * 400)
        func containerFamily(_ f: Family, timestamped: Bool = true, _ value: (ContainerUsage) -> Double?) {
            var opened = false
            for row in rows {
                guard let v = value(pods[row.pod].containers[row.container]) else { continue }
                if !opened { open(f, &w); opened = true }
                w.sample(f.name, labelSet: row.labels, value: v, timestampMilliseconds: timestamped ? ts : nil)
            }
        }
        func podFamily(_ f: Family, _ value: (PodUsage) -> Double?) {
            var opened = false
            for (k, labels) in podLabels.enumerated() {
                guard let v = value(pods[kept[k]]) else { continue }
                if !opened { open(f, &w); opened = true }
                w.sample(f.name, labelSet: labels, value: v, timestampMilliseconds: ts)
            }
        }
        func nodeFamily(_ f: Family, _ value: Double?) {
            guard let value else { return }
            open(f, &w)
            w.sample(f.name, value: value, timestampMilliseconds: ts)
        }

        containerFamily(Self.containerCPU) { $0.sample.cpuUsageSeconds }
        containerFamily(Self.containerMemory) { $0.sample.memoryWorkingSetBytes.map { Double($0) } }
        // The kubelet leaves out start times at or before the epoch and never timestamps them.
        containerFamily(Self.containerStart, timestamped: false) { c in c.startTimeSeconds.flatMap { $0 > 0 ? $0 : nil } }
        containerFamily(Self.containerSwapLimit) { $0.sample.swapLimitBytes.map { Double($0) } }
        containerFamily(Self.containerSwap) { $0.sample.swapCurrent.map { Double($0) } }
        nodeFamily(Self.nodeCPU, snapshot.node.cpuUsageSeconds)
        nodeFamily(Self.nodeMemory, snapshot.node.memoryWorkingSetBytes.map { Double($0) })
        nodeFamily(Self.nodeSwap, snapshot.node.swapUsageBytes.map { Double($0) })
        podFamily(Self.podCPU) { $0.sample.cpuUsageSeconds }
        podFamily(Self.podMemory) { $0.sample.memoryWorkingSetBytes.map { Double($0) } }
        podFamily(Self.podSwap) { $0.sample.swapCurrent.map { Double($0) } }
        open(Self.scrapeError, &w)
        w.sample(Self.scrapeError.name, value: snapshot.scrapeFailed ? 1 : 0)
        return w.bytes
    }

    private func open(_ f: Family, _ w: inout PrometheusTextWriter) {
        w.family(f.name, type: f.type, help: f.stability.rawValue + f.help)
    }

    /// One pod per (namespace, name): the series carry no UID, so a pod deleted and re-created
    /// under the same name while both cgroups exist must not yield duplicate series. The snapshot
    /// is sorted by (namespace, name, uid); of two, keep the one with the later-started container
    /// (the new incarnation), so the two UIDs' values are never mixed.
    /// Indices into `pods`, not copies: at 1,000 pods a copy of the array is 700 KB a scrape.
    static func uniquePodIndices(_ pods: [PodUsage]) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(pods.count)
        for (index, pod) in pods.enumerated() {
            if let last = result.last, pods[last].namespace == pod.namespace, pods[last].name == pod.name {
                if newestStart(pod) > newestStart(pods[last]) { result[result.count - 1] = index }
                continue
            }
            result.append(index)
        }
        return result
    }

    private static func newestStart(_ pod: PodUsage) -> Double {
        pod.containers.compactMap(\.startTimeSeconds).max() ?? 0
    }
}
