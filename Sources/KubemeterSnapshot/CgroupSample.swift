package import KubemeterParsers

/// What one collection read from one cgroup directory. A field is nil when its file was absent or
/// unreadable: renderers then leave the series out rather than write a 0 (metrics-server drops a
/// whole pod when a container reports 0 CPU or 0 memory).
@dynamicMemberLookup
package struct CgroupSample: Sendable, Equatable {
    /// `cpu.stat`.
    package var cpu: CPUStat?
    /// `memory.current`, bytes. Absent at the root cgroup and without the memory controller.
    package var memoryCurrent: UInt64?
    /// `memory.stat`.
    package var memoryStat: MemoryStat?
    /// `memory.swap.current`, bytes. Absent without swap accounting.
    package var swapCurrent: UInt64?
    /// `memory.swap.max`.
    package var swapMax: CgroupLimit?
    /// Cores in use, in billionths, over the window since an earlier collection read this cgroup
    /// (`CPURateTracker`; the Summary API's `usageNanoCores`); nil on a cgroup's first reading.
    package var cpuUsageNanoCores: UInt64?

    /// The files only /metrics/cadvisor and `kubemeter top` read (the kubelet's endpoint needs
    /// none of them). Held out of line: a sample is copied several times on its way into the
    /// snapshot, and a `.resource` collection has none of these.
    package var cadvisorValues: CadvisorCgroupValues {
        get { cadvisorBox?.values ?? CadvisorCgroupValues() }
        set { cadvisorBox = newValue == CadvisorCgroupValues() ? nil : CadvisorBox(newValue) }
    }
    private var cadvisorBox: CadvisorBox?

    /// Each cAdvisor-only value read as if it were a field of the sample (`sample.cpuMax`).
    package subscript<Value>(dynamicMember keyPath: WritableKeyPath<CadvisorCgroupValues, Value>) -> Value {
        get { cadvisorValues[keyPath: keyPath] }
        set { cadvisorValues[keyPath: keyPath] = newValue }
    }

    package init(
        cpu: CPUStat? = nil, memoryCurrent: UInt64? = nil, memoryStat: MemoryStat? = nil,
        swapCurrent: UInt64? = nil, swapMax: CgroupLimit? = nil
    ) {
        self.cpu = cpu
        self.memoryCurrent = memoryCurrent
        self.memoryStat = memoryStat
        self.swapCurrent = swapCurrent
        self.swapMax = swapMax
    }
}

extension CgroupSample {
    package static func == (a: CgroupSample, b: CgroupSample) -> Bool {
        a.cpu == b.cpu && a.memoryCurrent == b.memoryCurrent && a.memoryStat == b.memoryStat
            && a.swapCurrent == b.swapCurrent && a.swapMax == b.swapMax && a.cpuUsageNanoCores == b.cpuUsageNanoCores
            && a.cadvisorValues == b.cadvisorValues
    }
}

/// The values of a cgroup's cAdvisor-only files (see `CgroupSample`).
package struct CadvisorCgroupValues: Sendable, Equatable {
    /// `cpu.max`: the CFS quota and period.
    package var cpuMax: CPUMax?
    /// `cpu.weight`.
    package var cpuWeight: UInt64?
    /// `memory.max`.
    package var memoryMax: CgroupLimit?
    /// `memory.peak` (kernel 5.19+).
    package var memoryPeak: UInt64?
    /// `memory.events`: oom, oom_kill, ... (hierarchical).
    package var memoryEvents: MemoryEvents?
    /// `pids.current`.
    package var pidsCurrent: UInt64?
    /// `cpu.pressure` (absent without PSI).
    package var cpuPressure: Pressure?
    /// `memory.pressure`.
    package var memoryPressure: Pressure?
    /// `io.pressure`.
    package var ioPressure: Pressure?
    /// `io.stat`.
    package var ioStat: IOStat?

    package init() {}
}

/// Immutable: a change to a sample's cAdvisor values makes a new box, so copies never share edits.
private final class CadvisorBox: Sendable {
    let values: CadvisorCgroupValues
    init(_ values: CadvisorCgroupValues) { self.values = values }
}

extension CgroupSample {
    /// Cumulative CPU time in core-seconds: `cpu.stat usage_usec` / 1e6 (cAdvisor and the kubelet).
    package var cpuUsageSeconds: Double? {
        cpu?.usageUsec.map(Formulas.cpuUsageSeconds(usageUsec:))
    }

    /// The kubelet's working set: `memory.current` - `inactive_file`, floored at 0
    /// (google/cadvisor container/libcontainer/handler.go, setMemoryStats, on cgroup v2).
    /// A `memory.stat` without `inactive_file` subtracts nothing, as in cAdvisor; a `memory.stat`
    /// that could not be read at all gives no working set (cAdvisor fails the container's stats
    /// then), never `memory.current` passed off as one.
    /// A `memory.stat` in which none of `anon`, `file`, `inactive_file` could be read is not one
    /// the kernel wrote (every kernel with cgroup v2 writes all three), and counts as unreadable.
    package var memoryWorkingSetBytes: UInt64? {
        guard let usage = memoryCurrent, let stat = memoryStat,
              stat.anon != nil || stat.file != nil || stat.inactiveFile != nil
        else { return nil }
        return Formulas.workingSetBytes(usage: usage, inactiveFile: stat.inactiveFile ?? 0)
    }

    /// The swap limit the kubelet reports as `container_swap_limit_bytes`: `memory.swap.max` when
    /// it is a number; nothing when it is `max` (the kubelet sets no SwapAvailableBytes then).
    package var swapLimitBytes: UInt64? {
        Formulas.swapLimitBytes(swapMax)
    }
}
