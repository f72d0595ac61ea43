@testable import KubemeterCollector
import KubemeterDiscovery
@testable import KubemeterExposition
import KubemeterParsers
import KubemeterSnapshot
import Testing

@Test func cpuWeightBecomesCadvisorShares() {
    #expect(Formulas.cpuShares(weight: 1) == 2)
    // runc writes weight 1 + (1024 - 2) * 9999 / 262142 = 39 for 1024 shares; back: 2 + 38 * 262142 / 9999.
    #expect(Formulas.cpuShares(weight: 39) == 998)
    #expect(Formulas.cpuShares(weight: 100) == 2597)
    #expect(Formulas.cpuShares(weight: 10_000) == 262_144)
    #expect(Formulas.cpuShares(weight: 0) == nil)
    #expect(Formulas.cpuShares(weight: 10_001) == nil)
}

@Test func unlimitedMemoryIsZeroAsInCadvisor() {
    #expect(Formulas.cadvisorMemoryLimitBytes(.unlimited) == 0)
    #expect(Formulas.cadvisorMemoryLimitBytes(.limited(UInt64(1) << 62 + 4096)) == 0)
    #expect(Formulas.cadvisorMemoryLimitBytes(.limited(268_435_456)) == 268_435_456)
}

@Test func idIsTheCgroupPathFromTheHierarchyRoot() {
    let derived = CadvisorMetricsRenderer()
    #expect(derived.id("/host/sys/fs/cgroup/kubepods.slice/kubepods-pod1.slice") == "/kubepods.slice/kubepods-pod1.slice")
    #expect(derived.id("/sys/fs/cgroup/kubepods/burstable/pod1/abc") == "/kubepods/burstable/pod1/abc")
    let explicit = CadvisorMetricsRenderer(cgroupRoot: "/sys/fs/cgroup")
    #expect(explicit.id("/sys/fs/cgroup/kubelet/kubepods/pod1") == "/kubelet/kubepods/pod1")
}

private func text(_ snapshot: NodeSnapshot) -> String {
    String(decoding: CadvisorMetricsRenderer(cgroupRoot: "/cg").render(snapshot), as: UTF8.self)
}

@Test func seriesCarryCadvisorLabelsAndAbsentFilesWriteNothing() throws {
    var full = CgroupSample(cpu: try CPUStat.parse("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 3\nthrottled_usec 1500000\n"),
                            memoryCurrent: 1000, memoryStat: try MemoryStat.parse("anon 600\nfile 300\ninactive_file 100\n"))
    full.cpuMax = CPUMax(quotaUsec: 50_000, periodUsec: 100_000)
    full.memoryMax = .unlimited
    full.memoryPeak = 1500
    full.memoryEvents = MemoryEvents(oom: 2, oomKill: 1)
    full.cpuPressure = Pressure(some: PressureLine(avg10: 0, avg60: 0, avg300: 0, totalUsec: 4_000_000), full: nil)
    full.ioStat = IOStat(devices: [IOStatDevice(major: 8, minor: 0, rbytes: 4096, wbytes: 0, rios: 1, wios: 0)])
    // No cpu.max (so no CFS series), no memory.peak, no PSI, no io.stat.
    let bare = CgroupSample(cpu: try CPUStat.parse("usage_usec 1000000\nuser_usec 1\nsystem_usec 2\nnr_periods 5\n"), memoryCurrent: 10)
    var pod = PodUsage(namespace: "ns", name: "p", uid: "u", qosClass: "burstable", cgroupPath: "/cg/kubepods/pod-u", sample: bare,
                       containers: [ContainerUsage(name: "app", id: "c1", runtime: "containerd", cgroupPath: "/cg/kubepods/pod-u/c1",
                                                   sample: full, startTimeSeconds: nil)])
    pod.network = [NetDevInterface(name: "eth0", rxBytes: 7, txBytes: 9)]
    let out = text(NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: [pod]))
    let app = #"container="app",id="/kubepods/pod-u/c1",name="c1",namespace="ns",pod="p""#
    let podLabels = #"container="",id="/kubepods/pod-u",name="",namespace="ns",pod="p""#
    for line in [
        "container_cpu_usage_seconds_total{" + #"container="",cpu="total",id="/kubepods/pod-u",name="",namespace="ns",pod="p""# + "} 1",
        "container_cpu_usage_seconds_total{" + #"container="app",cpu="total",id="/kubepods/pod-u/c1",name="c1",namespace="ns",pod="p""# + "} 2.5",
        "container_cpu_cfs_throttled_periods_total{\(app)} 3",
        "container_cpu_cfs_throttled_seconds_total{\(app)} 1.5",
        "container_spec_cpu_quota{\(app)} 50000",
        "container_spec_memory_limit_bytes{\(app)} 0",
        "container_memory_working_set_bytes{\(app)} 900",
        "container_memory_rss{\(app)} 600",
        "container_memory_max_usage_bytes{\(app)} 1500",
        "container_oom_events_total{\(app)} 2",
        "container_oom_kills_total{\(app)} 1",
        "container_pressure_cpu_waiting_seconds_total{\(app)} 4",
        "container_fs_reads_bytes_total{" + #"container="app",device="8:0",id="/kubepods/pod-u/c1",name="c1",namespace="ns",pod="p""# + "} 4096",
        "container_network_receive_bytes_total{" + #"container="",id="/kubepods/pod-u",interface="eth0",name="",namespace="ns",pod="p""# + "} 7",
        "container_memory_usage_bytes{\(podLabels)} 10",
    ] {
        #expect(out.contains("\n" + line + "\n"), "missing: \(line)")
    }
    for absent in [
        "container_cpu_cfs_periods_total{\(podLabels)}", "container_memory_max_usage_bytes{\(podLabels)}",
        "container_pressure_cpu_waiting_seconds_total{\(podLabels)}", "container_pressure_cpu_stalled_seconds_total",
        "container_spec_cpu_period{\(podLabels)}", "container_fs_reads_bytes_total{container=\"\"",
        "container_network_receive_bytes_total{container=\"app\"",
    ] {
        #expect(!out.contains(absent), "should be absent: \(absent)")
    }
}

@Test func nodeFamiliesInNodeExporterNames() throws {
    var node = NodeUsage()
    node.procStat = try ProcStat.parse("cpu  100 200 300 400 500 600 700 800 0 0\n")
    node.meminfo = try Meminfo.parse("MemTotal: 100 kB\nMemAvailable: 50 kB\nInactive(file): 5 kB\n")
    node.netDev = NetDev(interfaces: [NetDevInterface(name: "eth0", rxBytes: 11, rxErrors: 1, txDropped: 2)])
    node.memoryPressure = Pressure(some: PressureLine(avg10: 0, avg60: 0, avg300: 0, totalUsec: 1_500_000),
                                   full: PressureLine(avg10: 0, avg60: 0, avg300: 0, totalUsec: 500_000))
    var w = PrometheusTextWriter()
    NodeExporterStyle(ticksPerSecond: 100).write(node, to: &w)
    let out = String(decoding: w.bytes, as: UTF8.self)
    for line in [
        #"node_cpu_seconds_total{mode="user"} 1"#, #"node_cpu_seconds_total{mode="steal"} 8"#,
        #"node_cpu_seconds_total{mode="idle"} 4"#,
        "node_memory_MemTotal_bytes 102400", "node_memory_MemAvailable_bytes 51200", "node_memory_Inactive_file_bytes 5120",
        #"node_network_receive_bytes_total{device="eth0"} 11"#, #"node_network_receive_errs_total{device="eth0"} 1"#,
        #"node_network_transmit_drop_total{device="eth0"} 2"#,
        "node_pressure_memory_waiting_seconds_total 1.5", "node_pressure_memory_stalled_seconds_total 0.5",
    ] {
        #expect(out.contains(line + "\n"), "missing: \(line)")
    }
    #expect(!out.contains("node_memory_SwapTotal_bytes"))
    #expect(!out.contains("node_pressure_cpu"))
}

@Test func firstPIDOfCgroupProcs() throws {
    func parse(_ s: String) throws -> Int32? {
        try Array(s.utf8).withUnsafeBytes { raw in try PodNetworkSampler.parseFirstPID(raw) }
    }
    #expect(try parse("4242\n17\n") == 4242)
    #expect(try parse("") == nil)
    #expect(throws: ParseError.self) { try parse("x\n") }
}

@Test func sandboxCgroupIsNamedLikeItsAppContainers() {
    let pod = DiscoveredPod(
        namespace: "ns", name: "p", uid: "u", qos: .burstable, cgroupPath: "/cg/pod",
        containers: [DiscoveredContainer(name: "app", id: String(repeating: "a", count: 64), runtime: .containerd,
                                         cgroupPath: "/cg/pod/cri-containerd-" + String(repeating: "a", count: 64) + ".scope")],
        unnamedContainerIDs: [String(repeating: "b", count: 64)])
    let candidates = PodNetworkSampler.candidateCgroups(pod)
    #expect(candidates.first == "/cg/pod/cri-containerd-" + String(repeating: "b", count: 64) + ".scope")
    #expect(candidates.last == "/cg/pod/cri-containerd-" + String(repeating: "a", count: 64) + ".scope/")
}

/// `kubemeter_container_restarts_total`: one counter series per container whose count is known,
/// on the labels of the other container families; none for a pod, none for an unknown count.
@Test func restartsAreOurOwnCounterOnTheContainerLabels() throws {
    let sample = CgroupSample(cpu: try CPUStat.parse("usage_usec 1\n"), memoryCurrent: 10)
    let pod = PodUsage(namespace: "ns", name: "p", uid: "u", qosClass: "burstable", cgroupPath: "/cg/kubepods/pod-u", sample: sample,
                       containers: [
                           ContainerUsage(name: "app", id: "c1", runtime: "containerd", cgroupPath: "/cg/kubepods/pod-u/c1",
                                          sample: sample, startTimeSeconds: nil, restartCount: 3),
                           ContainerUsage(name: "new", id: "c2", runtime: "containerd", cgroupPath: "/cg/kubepods/pod-u/c2",
                                          sample: sample, startTimeSeconds: nil, restartCount: 0),
                           ContainerUsage(name: "odd", id: "c3", runtime: "containerd", cgroupPath: "/cg/kubepods/pod-u/c3",
                                          sample: sample, startTimeSeconds: nil, restartCount: nil),
                       ])
    let out = text(NodeSnapshot(timestampMilliseconds: 0, node: NodeUsage(), pods: [pod]))
    let lines = out.split(separator: "\n").map(String.init).filter { $0.contains("kubemeter_container_restarts_total") }
    #expect(lines == [
        "# HELP kubemeter_container_restarts_total " + CadvisorMetricsRenderer.F.restarts.help,
        "# TYPE kubemeter_container_restarts_total counter",
        #"kubemeter_container_restarts_total{container="app",id="/kubepods/pod-u/c1",name="c1",namespace="ns",pod="p"} 3"#,
        #"kubemeter_container_restarts_total{container="new",id="/kubepods/pod-u/c2",name="c2",namespace="ns",pod="p"} 0"#,
    ])
    #expect(CadvisorMetricsRenderer.F.restarts.help.contains("/var/log/containers"))
    // Families stay sorted by name: ours after every container_* one, before the node's.
    let families = out.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
    #expect(families.filter { !$0.hasPrefix("node_") } == families.filter { !$0.hasPrefix("node_") }.sorted())
}
