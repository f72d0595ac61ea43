#if canImport(Glibc)
import Glibc
#endif
import KubemeterHostFiles
import KubemeterParsers
import KubemeterSnapshot

/// The node's CPU, working set and swap, by the kubelet's formulas on cgroup v2, with the
/// documented `/proc` fallbacks (docs/metrics.md, "Node").
struct NodeSampler {
    let files: KeptOpenFiles
    let paths: HostPaths
    let procChecksIdentity: Bool
    let cgroupChecksIdentity: Bool
    /// USER_HZ: `/proc/stat` counts CPU time in these ticks.
    let ticksPerSecond: Double

    struct Result {
        var usage: NodeUsage
        var unreadableFiles: Int
        /// False when neither source of node CPU nor of node memory could be read.
        var succeeded: Bool
    }

    /// Under the proc mount, in the order `sample()` indexes them.
    static let procFiles = ["stat", "meminfo", "1/net/dev", "net/dev", "pressure/cpu", "pressure/memory", "pressure/io"]
    /// In the root cgroup, likewise.
    static let rootCgroupFiles = ["cpu.stat", "memory.stat", "cpu.pressure", "memory.pressure", "io.pressure"]

    func sample(scope: CollectionScope) -> Result {
        var unreadable = 0
        let proc = files.directory(paths.procPath, files: Self.procFiles, checksIdentity: procChecksIdentity)
        let root = paths.cgroupPath.flatMap {
            files.directory($0, files: Self.rootCgroupFiles, checksIdentity: cgroupChecksIdentity)
        }
        func value<V>(_ index: Int, of directory: KeptOpenFiles.Directory?, _ parse: (UnsafeRawBufferPointer) throws(ParseError) -> V) -> V? {
            guard let directory else { return nil }
            switch files.read(index, of: directory, parse) {
            case .success(let v): return v
            case .failure(.notFound): return nil
            case .failure: unreadable += 1; return nil
            }
        }

        var usage = NodeUsage()
        // /proc/stat: node_cpu_seconds_total needs it by mode; /metrics/resource only as fallback.
        let procStat = scope == .full ? value(0, of: proc, ProcStat.parse) : nil
        if let usec = value(0, of: root, CPUStat.parse)?.usageUsec {
            usage.cpuUsageSeconds = Double(usec) / 1e6
            usage.cpuSource = .rootCgroupCPUStat
        } else if let total = (procStat ?? value(0, of: proc, ProcStat.parse))?.total {
            usage.cpuUsageSeconds = Double(NodeFormulas.busyTicks(total)) / ticksPerSecond
            usage.cpuSource = .procStat
        }

        let meminfo = value(1, of: proc, Meminfo.parse)
        let rootMemory = value(1, of: root, MemoryStat.parser(for: scope))
        if let rootMemory, let bytes = NodeFormulas.workingSet(rootMemoryStat: rootMemory) {
            usage.memoryWorkingSetBytes = bytes
            usage.memorySource = .rootCgroupMemoryStat
        } else if let meminfo, let bytes = NodeFormulas.workingSet(meminfo: meminfo) {
            usage.memoryWorkingSetBytes = bytes
            usage.memorySource = .procMeminfo
        }
        if let meminfo, let total = meminfo.swapTotal, let free = meminfo.swapFree {
            usage.swapUsageBytes = total > free ? total - free : 0
        }

        if scope == .full {
            // For /metrics/cadvisor's node_* families. `<proc>/net/dev` is `self/net/dev`: the
            // agent's own namespace, the host's only with hostNetwork; `<proc>/1/net/dev` is
            // init's, the host's.
            usage.procStat = procStat
            usage.meminfo = meminfo
            usage.netDev = value(2, of: proc, NetDev.parse) ?? value(3, of: proc, NetDev.parse)
            // The root cgroup's pressure files are the system-wide PSI (the same numbers as
            // /proc/pressure/*, kernel/sched/psi.c); /proc/pressure where no cgroup v2 tree is
            // read.
            usage.cpuPressure = value(2, of: root, Pressure.parse) ?? value(4, of: proc, Pressure.parse)
            usage.memoryPressure = value(3, of: root, Pressure.parse) ?? value(5, of: proc, Pressure.parse)
            usage.ioPressure = value(4, of: root, Pressure.parse) ?? value(6, of: proc, Pressure.parse)
        }
        let succeeded = usage.cpuUsageSeconds != nil || usage.memoryWorkingSetBytes != nil
        return Result(usage: usage, unreadableFiles: unreadable, succeeded: succeeded)
    }
}

/// The node formulas, each with the source it follows.
public enum NodeFormulas {
    /// Busy time as the kernel's root cgroup counts it (kernel/cgroup/rstat.c,
    /// `root_cgroup_cputime`): user + nice + system + irq + softirq. Idle and iowait are not
    /// usage; guest time is already inside user and nice. Steal is time the hypervisor gave to
    /// others: 6.1 kernels added it to the root's `usage_usec`, current ones do not (measured on
    /// 6.18: `usage_usec` = `user_usec` + `system_usec` = user + nice + system + irq + softirq of
    /// `/proc/stat` to the tick, with 41 s of steal left out), nor does cgroup v1's `cpuacct.usage`.
    public static func busyTicks(_ t: CPUTimes) -> UInt64 {
        t.user &+ t.nice &+ t.system &+ t.irq &+ t.softirq
    }

    /// The root cgroup's usage as opencontainers/cgroups fs2/memory.go `rootStatsFromMeminfo`
    /// takes it (the root has no `memory.current`): `anon + file` from the root `memory.stat`;
    /// cAdvisor then subtracts `inactive_file`.
    public static func workingSet(rootMemoryStat s: MemoryStat) -> UInt64? {
        guard let anon = s.anon, let file = s.file else { return nil }
        return ResourceFormulas.workingSet(usage: anon &+ file, inactiveFile: s.inactiveFile ?? 0)
    }

    /// The fallback where the v2 tree has no memory controller (hybrid hosts): runc's earlier
    /// `statsFromMeminfo` usage, MemTotal - MemFree, less `Inactive(file)`.
    public static func workingSet(meminfo m: Meminfo) -> UInt64? {
        guard let total = m.memTotal, let free = m.memFree, total >= free else { return nil }
        return ResourceFormulas.workingSet(usage: total - free, inactiveFile: m.inactiveFile ?? 0)
    }
}
