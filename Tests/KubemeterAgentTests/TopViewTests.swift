import KubemeterExposition
import KubemeterParsers
import KubemeterSnapshot
import Testing

/// Two hand-built snapshots 2 s apart with every field `kubemeter top` reads set, so each column's
/// formula is checked against figures worked out by hand.
enum TopFixture {
    static let mib: UInt64 = 1024 * 1024

    static func sample(
        usageUsec: UInt64, periods: UInt64? = nil, throttled: UInt64? = nil, quota: UInt64? = nil,
        memory: UInt64 = 0, inactiveFile: UInt64 = 0, memoryMax: CgroupLimit? = nil, oomKills: UInt64? = nil,
        pressures: (Double, Double, Double)? = nil
    ) -> CgroupSample {
        var sample = CgroupSample(
            cpu: CPUStat(usageUsec: usageUsec, nrPeriods: periods, nrThrottled: throttled),
            memoryCurrent: memory, memoryStat: MemoryStat(inactiveFile: inactiveFile))
        if let quota { sample.cpuMax = CPUMax(quotaUsec: quota, periodUsec: 100_000) }
        sample.memoryMax = memoryMax
        sample.memoryEvents = oomKills.map { MemoryEvents(oomKill: $0) }
        if let (cpu, memory, io) = pressures {
            func line(_ avg10: Double) -> PressureLine { PressureLine(avg10: avg10, avg60: 0, avg300: 0, totalUsec: 0) }
            sample.cpuPressure = Pressure(some: line(cpu), full: nil)
            sample.memoryPressure = Pressure(some: line(memory), full: line(0))
            sample.ioPressure = Pressure(some: line(io), full: line(0))
        }
        return sample
    }

    /// `step` 0 is the first read (t = 1 s), 1 the second (t = 3 s).
    static func snapshot(step: UInt64) -> NodeSnapshot {
        // Pod "web": 0.5 cores of a 0.5-core quota, 5 of 20 periods throttled, 200 MiB of 400 MiB,
        // 3 OOM kills, pressures 1.5/7.25/0.5, eth0 2000 B/s in and 500 B/s out (lo ignored).
        var web = PodUsage(
            namespace: "shop", name: "web-1", uid: "uid-web", qosClass: "burstable", cgroupPath: "/kubepods/web",
            sample: sample(usageUsec: 1_000_000 + step * 1_000_000, periods: 100 + step * 20, throttled: 10 + step * 5,
                           quota: 50_000, memory: 300 * mib, inactiveFile: 100 * mib, memoryMax: .limited(400 * mib),
                           oomKills: 3, pressures: (1.5, 7.25, 0.5)),
            containers: [
                ContainerUsage(name: "app", id: "c-app", runtime: "containerd", cgroupPath: "/kubepods/web/app",
                               sample: sample(usageUsec: 500_000 + step * 1_000_000), startTimeSeconds: 1_700_000_000,
                               restartCount: 2),
                ContainerUsage(name: "side\"car", id: "c-side", runtime: "containerd", cgroupPath: "/kubepods/web/side",
                               sample: sample(usageUsec: 7, memory: 10 * mib), startTimeSeconds: nil, restartCount: 0),
            ])
        web.network = [NetDevInterface(name: "eth0", rxBytes: 1000 + step * 4000, txBytes: step * 1000),
                       NetDevInterface(name: "lo", rxBytes: step * 1_000_000, txBytes: step * 1_000_000)]
        web.hostNetwork = false
        // Pod "agent": host network, no limits, 2 cores.
        var agent = PodUsage(
            namespace: "kube-system", name: "node-agent", uid: "uid-agent", qosClass: "besteffort",
            cgroupPath: "/kubepods/agent", sample: sample(usageUsec: step * 4_000_000, memory: 50 * mib), containers: [])
        agent.hostNetwork = true
        var node = NodeUsage(cpuUsageSeconds: 100 + Double(step) * 4, memoryWorkingSetBytes: 8 * 1024 * mib)
        node.procStat = ProcStat(perCPU: [0: CPUTimes(), 1: CPUTimes(), 2: CPUTimes(), 3: CPUTimes()])
        node.meminfo = Meminfo(names: ["MemTotal"], values: [16 * 1024 * mib])
        node.netDev = NetDev(interfaces: [NetDevInterface(name: "eth0", rxBytes: step * 2048, txBytes: 0)])
        func pressure(_ avg10: Double) -> Pressure {
            Pressure(some: PressureLine(avg10: avg10, avg60: 0, avg300: 0, totalUsec: 0), full: nil)
        }
        node.cpuPressure = pressure(2.5)
        node.memoryPressure = pressure(0)
        node.ioPressure = pressure(12.25)
        return NodeSnapshot(timestampMilliseconds: 1000 + Int64(step) * 2000, node: node, pods: [web, agent])
    }
}

@Test func ratesAndLimitsFollowTheFormulas() throws {
    let view = TopView(current: TopFixture.snapshot(step: 1), previous: TopFixture.snapshot(step: 0), options: TopOptions())
    #expect(view.intervalSeconds == 2)
    #expect(view.rows.map(\.pod) == ["node-agent", "web-1"])  // by CPU, largest first
    let web = try #require(view.rows.first { $0.pod == "web-1" })
    #expect(web.cpuCores == 0.5)
    #expect(web.cpuLimitCores == 0.5)
    #expect(web.cpuPercentOfLimit == 100)
    #expect(web.memoryBytes == 200 * TopFixture.mib)
    #expect(web.memoryPercentOfLimit == 50)
    #expect(web.throttledPercent == 25)
    #expect(web.oomKills == 3)
    #expect(web.pressure == 7.25)
    #expect(web.rxBytesPerSecond == 2000)
    #expect(web.txBytesPerSecond == 500)
    #expect(web.containerCount == 2)
    let agent = try #require(view.rows.first { $0.pod == "node-agent" })
    #expect(agent.cpuCores == 2)
    #expect(agent.cpuLimitCores == nil && agent.cpuPercentOfLimit == nil)
    #expect(agent.throttledPercent == nil)
    #expect(agent.rxBytesPerSecond == nil && agent.hostNetwork == true)
    #expect(view.node.cpuCores == 2)
    #expect(view.node.cpuCount == 4)
    #expect(view.node.rxBytesPerSecond == 1024)
    #expect(view.node.pods == 2 && view.node.containers == 2)
}

@Test func containerRowsUseTheirOwnCgroups() throws {
    let view = TopView(current: TopFixture.snapshot(step: 1), previous: TopFixture.snapshot(step: 0),
                       options: TopOptions(sort: .memory, containers: true))
    #expect(view.rows.map { $0.container ?? "" } == ["side\"car", "app"])
    #expect(view.rows[1].cpuCores == 0.5)
    #expect(view.rows[0].cpuCores == 0)
    #expect(view.rows[0].rxBytesPerSecond == nil)
}

@Test func withoutAPreviousSnapshotThereAreNoRates() {
    let view = TopView(current: TopFixture.snapshot(step: 1), previous: nil, options: TopOptions())
    #expect(view.intervalSeconds == nil)
    #expect(view.rows.allSatisfy { $0.cpuCores == nil && $0.throttledPercent == nil && $0.rxBytesPerSecond == nil })
    #expect(view.rows.first { $0.pod == "web-1" }?.memoryBytes == 200 * TopFixture.mib)
    // The same snapshot twice (no time passed) gives no rates either, never a division by zero.
    let same = TopView(current: TopFixture.snapshot(step: 1), previous: TopFixture.snapshot(step: 1), options: TopOptions())
    #expect(same.rows.allSatisfy { $0.cpuCores == nil })
}

@Test func aCounterThatWentDownGivesNoRate() {
    let before = TopFixture.sample(usageUsec: 5_000_000, periods: 10, throttled: 5, quota: 10_000)
    let after = TopFixture.sample(usageUsec: 1_000_000, periods: 2, throttled: 1, quota: 10_000)
    #expect(Formulas.cores(previous: before, current: after, seconds: 1) == nil)
    #expect(Formulas.throttledPercent(previous: before, current: after) == nil)
    let idle = TopFixture.sample(usageUsec: 5_000_000, periods: 10, throttled: 5, quota: 10_000)
    #expect(Formulas.throttledPercent(previous: before, current: idle) == 0)
    let unlimited = TopFixture.sample(usageUsec: 5_000_000, periods: 0, throttled: 0)
    #expect(Formulas.throttledPercent(previous: unlimited, current: unlimited) == nil)
    #expect(Formulas.networkRates(previous: [NetDevInterface(name: "eth0", rxBytes: 10)],
                             current: [NetDevInterface(name: "eth0", rxBytes: 5)], seconds: 1)! == (0, 0))
}

@Test func filtersTakeSubstringsAndGlobs() {
    #expect(NameFilter("web").matches("shop-web-1"))
    #expect(!NameFilter("web").matches("api"))
    #expect(NameFilter("web-*").matches("web-1"))
    #expect(!NameFilter("web-*").matches("shop-web-1"))
    #expect(NameFilter("*-[0-9]").matches("web-7"))
    #expect(!NameFilter("*-[!0-9]").matches("web-7"))
    #expect(NameFilter("w?b*").matches("wab"))
    #expect(NameFilter("kube-*").matches("kube-system"))
    let view = TopView(current: TopFixture.snapshot(step: 1), previous: nil,
                       options: TopOptions(namespace: NameFilter("sh*"), pod: NameFilter("web")))
    #expect(view.rows.map(\.pod) == ["web-1"])
    #expect(view.node.pods == 2)
}

@Test func sortKeysOrderRows() {
    let current = TopFixture.snapshot(step: 1)
    let previous = TopFixture.snapshot(step: 0)
    func order(_ key: TopSortKey) -> [String] {
        TopView(current: current, previous: previous, options: TopOptions(sort: key)).rows.map(\.pod)
    }
    #expect(order(.memory) == ["web-1", "node-agent"])
    #expect(order(.name) == ["node-agent", "web-1"])
    #expect(order(.namespace) == ["node-agent", "web-1"])
    #expect(order(.oom) == ["web-1", "node-agent"])  // unknown last
    #expect(order(.throttle) == ["web-1", "node-agent"])
    #expect(order(.rx) == ["web-1", "node-agent"])
    #expect(order(.restarts) == ["web-1", "node-agent"])  // 2 before 0
}

/// RESTARTS: a container's own count, a pod's the sum over its containers (as kubectl's), and
/// unknown ("-", sorted last) for a pod when any container's count is unknown.
@Test func restartsArePerContainerAndSummedPerPod() {
    var current = TopFixture.snapshot(step: 1)
    let containers = TopView(current: current, previous: nil, options: TopOptions(sort: .restarts, containers: true))
    #expect(containers.rows.map { "\($0.container ?? "")=\($0.restarts.map(String.init) ?? "-")" } == ["app=2", "side\"car=0"])
    let pods = TopView(current: current, previous: nil, options: TopOptions(sort: .restarts))
    #expect(pods.rows.map { "\($0.pod)=\($0.restarts.map(String.init) ?? "-")" } == ["web-1=2", "node-agent=0"])

    let web = current.pods.firstIndex { $0.name == "web-1" }!
    current.pods[web].containers[1].restartCount = nil
    let unknown = TopView(current: current, previous: nil, options: TopOptions(sort: .restarts))
    #expect(unknown.rows.map { "\($0.pod)=\($0.restarts.map(String.init) ?? "-")" } == ["node-agent=0", "web-1=-"])
    #expect(TopTable().table(unknown).last?.contains("    -  ") == true)
    let json = String(decoding: TopJSONRenderer().render(unknown), as: UTF8.self)
    #expect(json.contains("\"restarts\":0") && json.contains("\"restarts\":null"))
}

/// EPHEM: a pod's total as the kubelet sums it, a container's layer and logs; "-" (sorted last)
/// until every part of the pod was measured.
@Test func ephemeralStorageIsShownAndSorted() {
    var current = TopFixture.snapshot(step: 1)
    let web = current.pods.firstIndex { $0.name == "web-1" }!
    let at = 1_000.0
    for c in current.pods[web].containers.indices {
        current.pods[web].containers[c].rootfs = StorageUsage(bytes: 3 << 20, inodes: 10, measuredAtSeconds: at)
        current.pods[web].containers[c].logs = StorageUsage(bytes: 1 << 20, inodes: 2, measuredAtSeconds: at)
    }
    current.pods[web].storage = PodStorageUsage(
        volumes: [VolumeStorageUsage(name: "cache", usage: StorageUsage(bytes: 2 << 20, inodes: 5, measuredAtSeconds: at))],
        podLogs: StorageUsage(bytes: 0, inodes: 0, measuredAtSeconds: at), etcHosts: nil, complete: true)
    let pods = TopView(current: current, previous: nil, options: TopOptions(sort: .ephemeral))
    #expect(pods.rows.map { "\($0.pod)=\($0.ephemeralStorageBytes.map(String.init) ?? "-")" } == ["web-1=\(10 << 20)", "node-agent=-"])
    #expect(TopTable().table(pods).dropFirst().first?.contains(" 10.0Mi ") == true)
    let containers = TopView(current: current, previous: nil, options: TopOptions(sort: .ephemeral, containers: true))
    #expect(containers.rows.map { $0.ephemeralStorageBytes ?? 0 } == [4 << 20, 4 << 20])
    current.pods[web].storage?.complete = false
    #expect(TopView(current: current, previous: nil, options: TopOptions(sort: .ephemeral)).rows.allSatisfy { $0.ephemeralStorageBytes == nil })
}

@Test func theTableShowsEachFigureAndDashesForUnknown() {
    let view = TopView(current: TopFixture.snapshot(step: 1), previous: TopFixture.snapshot(step: 0), options: TopOptions())
    let text = TopTable().render(view)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(lines[0] == "node  cpu 2.000/4 cores (50.0%)  mem 8.00Gi/16.0Gi (50.0%)  psi cpu 2.5 mem 0.0 io 12.3  net rx 1.00Ki tx 0B  pods 2  containers 2")
    #expect(lines[1] == "rates over 2.00 s; sorted by cpu; showing 2 pods")
    #expect(lines[2] == "")
    #expect(lines[3] == "NAMESPACE    POD         CONTAINER    CPU  CPU%LIM     MEM  MEM%LIM  THR%  OOM  RESTARTS  EPHEM  PSI    RX/s  TX/s")
    #expect(lines[4] == "kube-system  node-agent  (0)        2.000        -  50.0Mi        -     -    -         0      -    -    host  host")
    #expect(lines[5] == "shop         web-1       (2)        0.500    100.0   200Mi     50.0  25.0    3         2      -  7.3  1.95Ki  500B")
    #expect(lines.count == 7 && lines[6] == "")
}

@Test func narrowTerminalsCutNamesThenDropColumnsFromTheRight() {
    let view = TopView(current: TopFixture.snapshot(step: 1), previous: TopFixture.snapshot(step: 0), options: TopOptions())
    #expect(TopTable(width: 56).summary(view) == [
        "node  cpu 2.000/4 cores (50.0%)  mem 8.00Gi/16.0Gi (50.0",
        "rates over 2.00 s; sorted by cpu; showing 2 pods",
    ])
    let lines = TopTable(width: 56).table(view)
    #expect(lines == [
        "NAMESPA~  POD         CONTAIN~    CPU  CPU%LIM     MEM",
        "kube-sy~  node-agent  (0)       2.000        -  50.0Mi",
        "shop      web-1       (2)       0.500    100.0   200Mi",
    ])
}

@Test func formatsRoundAndScale() {
    #expect(TopFormat.fixed(0.25, decimals: 3) == "0.250")
    #expect(TopFormat.fixed(1.0005, decimals: 0) == "1")
    #expect(TopFormat.fixed(9.96, decimals: 1) == "10.0")
    #expect(TopFormat.fixed(-0.04, decimals: 1) == "0.0")
    #expect(TopFormat.bytes(512 as UInt64) == "512B")
    #expect(TopFormat.bytes(1536 as UInt64) == "1.50Ki")
    #expect(TopFormat.bytes(200 * TopFixture.mib) == "200Mi")
    #expect(TopFormat.bytes(nil as UInt64?) == "-")
    #expect(TopFormat.cores(.nan) == "-")
}
