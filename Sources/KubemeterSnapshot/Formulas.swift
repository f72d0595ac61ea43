package import KubemeterParsers

/// Every formula the agent applies to the kernel's numbers, once, next to the model they fill,
/// each named as docs/metrics.md names it and with the source it follows. Renderers and samplers
/// call these; none computes a value of its own.
package enum Formulas {
    // MARK: The kubelet's (/metrics/resource, docs/metrics.md "Containers and pods", "Node")

    /// CPU seconds: `cpu.stat` `usage_usec` / 1e6 (cAdvisor `setCPUStats`; the kubelet's
    /// `UsageCoreNanoSeconds` / 1e9).
    package static func cpuUsageSeconds(usageUsec: UInt64) -> Double {
        seconds(microseconds: usageUsec)
    }

    /// The kernel's microsecond counters (`cpu.stat` `*_usec`, PSI `total=`) in seconds, the
    /// Prometheus base unit cAdvisor and node_exporter write them in.
    package static func seconds(microseconds: UInt64) -> Double {
        Double(microseconds) / 1e6
    }

    /// Working set: usage - inactive_file, floored at 0 (google/cadvisor
    /// container/libcontainer/handler.go, `setMemoryStats`).
    package static func workingSetBytes(usage: UInt64, inactiveFile: UInt64) -> UInt64 {
        usage > inactiveFile ? usage - inactiveFile : 0
    }

    /// The swap limit (`container_swap_limit_bytes`): `memory.swap.max` when it is a number;
    /// nothing when it is `max` (the kubelet sets no SwapAvailableBytes then).
    package static func swapLimitBytes(_ swapMax: CgroupLimit?) -> UInt64? {
        if case .limited(let bytes) = swapMax { return bytes }
        return nil
    }

    /// Node CPU, fallback: busy time as the kernel's root cgroup counts it (kernel/cgroup/rstat.c,
    /// `root_cgroup_cputime`): user + nice + system + irq + softirq ticks. Idle and iowait are not
    /// usage; guest time is already inside user and nice. Steal is time the hypervisor gave to
    /// others: 6.1 kernels added it to the root's `usage_usec`, current ones do not (measured on
    /// 6.18: `usage_usec` = `user_usec` + `system_usec` = user + nice + system + irq + softirq of
    /// `/proc/stat` to the tick, with 41 s of steal left out), nor does cgroup v1's `cpuacct.usage`.
    package static func nodeCPUBusyTicks(_ t: CPUTimes) -> UInt64 {
        t.user &+ t.nice &+ t.system &+ t.irq &+ t.softirq
    }

    /// Node working set from the root cgroup, as opencontainers/cgroups fs2/memory.go
    /// `rootStatsFromMeminfo` takes the usage (the root has no `memory.current`): `anon + file`
    /// from the root `memory.stat`; cAdvisor then subtracts `inactive_file`.
    package static func nodeWorkingSetBytes(rootMemoryStat s: MemoryStat) -> UInt64? {
        guard let anon = s.anon, let file = s.file else { return nil }
        return workingSetBytes(usage: anon &+ file, inactiveFile: s.inactiveFile ?? 0)
    }

    /// Node working set, fallback where the v2 tree has no memory controller (hybrid hosts):
    /// runc's earlier `statsFromMeminfo` usage, MemTotal - MemFree, less `Inactive(file)`.
    package static func nodeWorkingSetBytes(meminfo m: Meminfo) -> UInt64? {
        guard let total = m.memTotal, let free = m.memFree, total >= free else { return nil }
        return workingSetBytes(usage: total - free, inactiveFile: m.inactiveFile ?? 0)
    }

    /// Node swap: SwapTotal - SwapFree (`rootStatsFromMeminfo`), floored at 0.
    package static func nodeSwapUsageBytes(meminfo m: Meminfo) -> UInt64? {
        guard let total = m.swapTotal, let free = m.swapFree else { return nil }
        return total > free ? total - free : 0
    }

    // MARK: cAdvisor's (/metrics/cadvisor)

    /// `container_spec_cpu_shares`: cgroup v2 `cpu.weight` (1-10000) back to v1 shares as
    /// cAdvisor does (container/common/helpers.go): 2 + (weight - 1) * 262142 / 9999, integer
    /// arithmetic.
    package static func cpuShares(weight: UInt64) -> UInt64? {
        guard weight >= 1, weight <= 10_000 else { return nil }
        return 2 + (weight - 1) * 262_142 / 9_999
    }

    /// `container_spec_memory_limit_bytes`: `memory.max` as cAdvisor reports it: "max" (and any
    /// value above 2^62, the kernel's rounded "unlimited") is 0.
    package static func cadvisorMemoryLimitBytes(_ limit: CgroupLimit) -> Double {
        guard case .limited(let bytes) = limit, bytes <= 1 << 62 else { return 0 }
        return Double(bytes)
    }

    // MARK: Limits (/top, /pods)

    /// The CPU limit in cores: `cpu.max` quota / period; nil when the quota is `max` or unknown.
    package static func cpuLimitCores(_ cpuMax: CPUMax?) -> Double? {
        guard let cpuMax, let quota = cpuMax.quotaUsec, cpuMax.periodUsec > 0 else { return nil }
        return Double(quota) / Double(cpuMax.periodUsec)
    }

    /// The memory limit in bytes: `memory.max` when it is a number.
    package static func memoryLimitBytes(_ limit: CgroupLimit?) -> UInt64? {
        if case .limited(let bytes) = limit { return bytes }
        return nil
    }

    // MARK: Rates between two reads (/top, `kubemeter top`)
    //
    // A rate is (value2 - value1) / (t2 - t1). A counter that went down (a cgroup recreated under
    // the same path) gives no rate rather than a negative or huge one.

    /// Cores used between two reads: Δ`usage_usec` / 1e6 / Δt.
    package static func cores(previous: CgroupSample?, current: CgroupSample, seconds: Double?) -> Double? {
        guard let seconds, seconds > 0,
              let before = previous?.cpu?.usageUsec, let now = current.cpu?.usageUsec, now >= before
        else { return nil }
        return Double(now - before) / 1e6 / seconds
    }

    /// Cores used between two reads of a cumulative core-seconds counter (the node's).
    package static func cores(previousSeconds: Double?, currentSeconds: Double?, seconds: Double?) -> Double? {
        guard let seconds, seconds > 0, let before = previousSeconds, let now = currentSeconds, now >= before
        else { return nil }
        return (now - before) / seconds
    }

    /// Share of CFS periods throttled between two reads, in percent: Δ`nr_throttled` / Δ`nr_periods`.
    /// With no period elapsed it is 0 when a quota is set (nothing could be throttled) and unknown
    /// otherwise (no quota: the kernel counts no periods at all).
    package static func throttledPercent(previous: CgroupSample?, current: CgroupSample) -> Double? {
        guard let before = previous?.cpu, let now = current.cpu,
              let periods1 = before.nrPeriods, let periods2 = now.nrPeriods,
              let throttled1 = before.nrThrottled, let throttled2 = now.nrThrottled,
              periods2 >= periods1, throttled2 >= throttled1
        else { return nil }
        let periods = periods2 - periods1
        if periods == 0 { return cpuLimitCores(current.cpuMax) == nil ? nil : 0 }
        return Double(throttled2 - throttled1) / Double(periods) * 100
    }

    /// Percent of `limit` that `value` is.
    package static func percent(_ value: Double?, of limit: Double?) -> Double? {
        guard let value, let limit, limit > 0 else { return nil }
        return value / limit * 100
    }

    /// Bytes per second received and sent, summed over the interfaces present in both reads
    /// (`lo` is never counted). An interface whose counters went down is left out.
    package static func networkRates(
        previous: [NetDevInterface]?, current: [NetDevInterface]?, seconds: Double?
    ) -> (rx: Double, tx: Double)? {
        guard let seconds, seconds > 0, let previous, let current else { return nil }
        var rx: UInt64 = 0
        var tx: UInt64 = 0
        for interface in current where interface.name != "lo" {
            guard let before = previous.first(where: { $0.name == interface.name }),
                  interface.rxBytes >= before.rxBytes, interface.txBytes >= before.txBytes
            else { continue }
            rx &+= interface.rxBytes - before.rxBytes
            tx &+= interface.txBytes - before.txBytes
        }
        return (Double(rx) / seconds, Double(tx) / seconds)
    }

    /// Seconds between two snapshots, from their wall-clock timestamps.
    package static func seconds(from previous: NodeSnapshot?, to current: NodeSnapshot) -> Double? {
        guard let previous, current.timestampMilliseconds > previous.timestampMilliseconds else { return nil }
        return Double(current.timestampMilliseconds - previous.timestampMilliseconds) / 1000
    }
}
