import KubemeterExposition
import KubemeterParsers
import KubemeterSnapshot
import Testing

private func sample(usec: UInt64, current: UInt64, inactiveFile: UInt64, swap: UInt64? = nil) -> CgroupSample {
    let cpu = try! CPUStat.parse("usage_usec \(usec)\nuser_usec 0\nsystem_usec 0\n")
    let memory = try! MemoryStat.parse("anon 1\nfile 2\ninactive_file \(inactiveFile)\n")
    return CgroupSample(cpu: cpu, memoryCurrent: current, memoryStat: memory, swapCurrent: swap)
}

private let snapshot = NodeSnapshot(
    timestampMilliseconds: 1_763_900_000_123,
    node: NodeUsage(cpuUsageSeconds: 12345.678901, cpuSource: .rootCgroupCPUStat,
                    memoryWorkingSetBytes: 1_676_767_232, memorySource: .rootCgroupMemoryStat, swapUsageBytes: 0),
    pods: [
        PodUsage(namespace: "web", name: "api-1", uid: "u1", qosClass: "burstable", cgroupPath: "/p1",
                 sample: sample(usec: 3_000_000, current: 10_000_000, inactiveFile: 2_000_000, swap: 0),
                 containers: [
                    ContainerUsage(name: "zeta", id: "a", runtime: "containerd", cgroupPath: "/p1/a",
                                   sample: sample(usec: 1_500_000, current: 4_096, inactiveFile: 8_192, swap: 0),
                                   startTimeSeconds: 1_763_885_021),
                    ContainerUsage(name: "app", id: "b", runtime: "containerd", cgroupPath: "/p1/b",
                                   sample: sample(usec: 1_234_567, current: 5_000_000, inactiveFile: 1_000_000),
                                   startTimeSeconds: nil),
                 ]),
        PodUsage(namespace: "default", name: "db-0", uid: "u2", qosClass: "guaranteed", cgroupPath: "/p2",
                 sample: CgroupSample(), containers: [
                    ContainerUsage(name: "app", id: "c", runtime: "crio", cgroupPath: "/p2/c",
                                   sample: sample(usec: 10, current: 100, inactiveFile: 0),
                                   startTimeSeconds: 1_763_885_000.25),
                 ]),
    ])

/// A golden exposition, written out by hand from the kubelet's rules: families by name, HELP with
/// the stability prefix, labels by name, series by label values, Go's float layout, the working
/// set floored at 0, and no series at all for what was not read (db-0's pod cgroup, app's start).
@Test func goldenExposition() {
    let text = String(decoding: ResourceMetricsRenderer().render(snapshot), as: UTF8.self)
    #expect(text == """
        # HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
        # TYPE container_cpu_usage_seconds_total counter
        container_cpu_usage_seconds_total{container="app",namespace="default",pod="db-0"} 1e-05
        container_cpu_usage_seconds_total{container="app",namespace="web",pod="api-1"} 1.234567
        container_cpu_usage_seconds_total{container="zeta",namespace="web",pod="api-1"} 1.5
        # HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
        # TYPE container_memory_working_set_bytes gauge
        container_memory_working_set_bytes{container="app",namespace="default",pod="db-0"} 100
        container_memory_working_set_bytes{container="app",namespace="web",pod="api-1"} 4e+06
        container_memory_working_set_bytes{container="zeta",namespace="web",pod="api-1"} 0
        # HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
        # TYPE container_start_time_seconds gauge
        container_start_time_seconds{container="app",namespace="default",pod="db-0"} 1.76388500025e+09
        container_start_time_seconds{container="zeta",namespace="web",pod="api-1"} 1.763885021e+09
        # HELP container_swap_usage_bytes [ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems
        # TYPE container_swap_usage_bytes gauge
        container_swap_usage_bytes{container="zeta",namespace="web",pod="api-1"} 0
        # HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
        # TYPE node_cpu_usage_seconds_total counter
        node_cpu_usage_seconds_total 12345.678901
        # HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
        # TYPE node_memory_working_set_bytes gauge
        node_memory_working_set_bytes 1.676767232e+09
        # HELP node_swap_usage_bytes [ALPHA] Current swap usage of the node in bytes. Reported only on non-windows systems
        # TYPE node_swap_usage_bytes gauge
        node_swap_usage_bytes 0
        # HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
        # TYPE pod_cpu_usage_seconds_total counter
        pod_cpu_usage_seconds_total{namespace="web",pod="api-1"} 3
        # HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
        # TYPE pod_memory_working_set_bytes gauge
        pod_memory_working_set_bytes{namespace="web",pod="api-1"} 8e+06
        # HELP pod_swap_usage_bytes [ALPHA] Current amount of the pod swap usage in bytes. Reported only on non-windows systems
        # TYPE pod_swap_usage_bytes gauge
        pod_swap_usage_bytes{namespace="web",pod="api-1"} 0
        # HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
        # TYPE resource_scrape_error gauge
        resource_scrape_error 0

        """)
}

@Test func timestampsOnCPUAndMemoryOnly() {
    let text = String(decoding: ResourceMetricsRenderer(sampleTimestamps: true).render(snapshot), as: UTF8.self)
    let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
    for line in lines {
        let stamped = line.hasSuffix(" 1763900000123")
        let unstamped = line.hasPrefix("container_start_time_seconds") || line.hasPrefix("resource_scrape_error")
        #expect(stamped != unstamped, "\(line)")
    }
}

@Test func emptyNodeHasOnlyScrapeError() {
    let failed = NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: [], scrapeFailed: true)
    let text = String(decoding: ResourceMetricsRenderer().render(failed), as: UTF8.self)
    #expect(text == """
        # HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
        # TYPE resource_scrape_error gauge
        resource_scrape_error 1

        """)
}

@Test func labelValuesAreEscaped() {
    var w = PrometheusTextWriter()
    w.sample("m", labels: [("a", "x\"y\\z\nw")], value: 1)
    #expect(String(decoding: w.bytes, as: UTF8.self) == "m{a=\"x\\\"y\\\\z\\nw\"} 1\n")
}

@Test func recreatedPodUnderTheSameNameIsReportedOnce() {
    var old = snapshot.pods[0]
    old.uid = "u0"
    old.containers[0].startTimeSeconds = 1_000
    var new = snapshot.pods[0]
    new.uid = "u9"
    new.sample = sample(usec: 7_000_000, current: 1, inactiveFile: 0)
    let twice = NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: [old, new])
    let text = String(decoding: ResourceMetricsRenderer().render(twice), as: UTF8.self)
    #expect(text.contains("pod_cpu_usage_seconds_total{namespace=\"web\",pod=\"api-1\"} 7\n"))
    #expect(text.split(separator: "\n").filter { $0.hasPrefix("pod_cpu_usage_seconds_total{") }.count == 1)
}
