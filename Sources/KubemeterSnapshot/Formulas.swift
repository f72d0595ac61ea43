#if canImport(Glibc)
import Glibc
#endif
package import KubemeterHostFiles
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

    /// The Summary API's `usageNanoCores`: Δ`usage_usec` in nanoseconds / Δt in seconds, truncated
    /// to an integer as the kubelet's `uint64` conversion does (pkg/kubelet/stats
    /// cri_stats_provider.go `getContainerUsageNanoCores`; cAdvisor's rate in
    /// cadvisor_stats_provider.go). Nil over no time.
    package static func usageNanoCores(usageNanoseconds: UInt64, milliseconds: Int64) -> UInt64? {
        guard milliseconds > 0 else { return nil }
        return UInt64(Double(usageNanoseconds) / (Double(milliseconds) / 1000))
    }

    // MARK: The Summary API's (/stats/summary, docs/metrics.md "The Summary API")

    /// `usageCoreNanoSeconds`: `usage_usec` * 1000.
    package static func nanoseconds(microseconds: UInt64) -> UInt64 {
        microseconds &* 1_000
    }

    /// The node's `usageCoreNanoSeconds` from its core-seconds (either source), to the nanosecond.
    package static func nanoseconds(seconds: Double) -> UInt64 {
        seconds.isFinite && seconds > 0 ? UInt64((seconds * 1e9).rounded()) : 0
    }

    /// `availableBytes`: limit - working set (pkg/kubelet/stats helper.go
    /// `cadvisorInfoToCPUandMemoryStats`, for a limit the kubelet does not take as unlimited),
    /// floored at 0. The node's limit is its memory capacity (`MemTotal`).
    package static func availableBytes(limit: UInt64, workingSet: UInt64) -> UInt64 {
        limit > workingSet ? limit - workingSet : 0
    }

    /// The node's `usageBytes`: the root's usage as `nodeWorkingSetBytes` takes it (anon + file
    /// of the root `memory.stat`; MemTotal - MemFree where the tree has no memory controller).
    package static func nodeMemoryUsageBytes(rootMemoryStat: MemoryStat?, meminfo: Meminfo?) -> UInt64? {
        if let anon = rootMemoryStat?.anon, let file = rootMemoryStat?.file { return anon &+ file }
        guard let total = meminfo?.memTotal, let free = meminfo?.memFree, total >= free else { return nil }
        return total - free
    }

    /// A file system's `usedBytes`: capacity - free blocks (root's reserve counts as used, so used
    /// + available < capacity), as cAdvisor's `getVfsStats` and the kubelet's `RootFsStats`.
    package static func usedBytes(_ fs: FileSystemCapacity) -> UInt64 {
        fs.capacityBytes > fs.freeBytes ? fs.capacityBytes - fs.freeBytes : 0
    }

    /// `inodesUsed`: inodes - free inodes.
    package static func inodesUsed(_ fs: FileSystemCapacity) -> UInt64 {
        fs.inodes > fs.inodesFree ? fs.inodes - fs.inodesFree : 0
    }

    // MARK: Ephemeral storage

    /// A pod's ephemeral storage, the kubelet's way (pkg/kubelet/stats/helper.go
    /// `calcEphemeralStorage`, `addContainerUsage`): every container's writable layer, and its
    /// logs where its layer is known, plus the pod's ephemeral volumes, the files of its log
    /// directory and its `etc-hosts`. Log inodes count only where the kubelet reads stats from
    /// the runtime (the CRI stats provider: containerd, cri-dockerd); on CRI-O it uses cAdvisor's
    /// and leaves them out. Nil unless every part was measured: a total short of a part would be
    /// a wrong figure, not a partial one. Its time is the newest part's.
    package static func ephemeralStorage(of pod: PodUsage) -> StorageUsage? {
        guard let storage = pod.storage, storage.complete, let volumes = storage.volumes else { return nil }
        var total = StorageUsage(bytes: 0, inodes: 0, measuredAtSeconds: 0)
        func add(_ part: StorageUsage?, inodes: Bool = true) {
            guard let part else { return }
            total.bytes &+= part.bytes
            if inodes { total.inodes &+= part.inodes }
            total.measuredAtSeconds = max(total.measuredAtSeconds, part.measuredAtSeconds)
        }
        for container in pod.containers {
            guard let rootfs = container.rootfs, let logs = container.logs else { return nil }
            add(rootfs)
            add(logs, inodes: container.runtime != "crio")
        }
        for volume in volumes where volume.ephemeral { add(volume.usage) }
        add(storage.podLogs)
        add(storage.etcHosts)
        return total.measuredAtSeconds > 0 ? total : nil
    }

    // MARK: /pods: resources back from the cgroups

    /// The CPU limit in millicores: `cpu.max` quota * 1000 / period, rounded (the kubelet writes
    /// quota = milliCPU * period / 1000: pkg/kubelet/cm helpers_linux.go `MilliCPUToQuota`).
    package static func milliCPULimit(_ cpuMax: CPUMax?) -> UInt64? {
        guard let cpuMax, let quota = cpuMax.quotaUsec, cpuMax.periodUsec > 0 else { return nil }
        return (quota * 1_000 + cpuMax.periodUsec / 2) / cpuMax.periodUsec
    }

    /// How a runtime turned the kubelet's CPU shares into cgroup v2 `cpu.weight`.
    package enum CPUWeightConversion: String, Sendable, CaseIterable {
        /// `1 + (shares - 2) * 9999 / 262142` (runc before 1.3.2 and crun before 1.23, through
        /// opencontainers/cgroups `ConvertCPUSharesToCgroupV2Value`): 1 CPU is weight 39.
        case linear
        /// `ceil(10^((log2(shares)^2 + 125 log2(shares)) / 612 - 7/34))` (runc 1.3.2+, crun
        /// 1.23+): the curve that maps 1024 shares, the v1 default, to weight 100.
        case quadratic

        package func weight(shares: UInt64) -> UInt64 {
            guard shares > 0 else { return 0 }
            switch self {
            case .linear:
                return 1 + (max(shares, 2) - 2) * 9_999 / 262_142
            case .quadratic:
                if shares <= 2 { return 1 }
                if shares >= 262_144 { return 10_000 }
                let l = log2(Double(shares))
                return UInt64(ceil(pow(10, (l * l + 125 * l) / 612 - 7.0 / 34)))
            }
        }
    }

    /// The kubelet's CPU shares for a request (pkg/kubelet/cm helpers_linux.go
    /// `MilliCPUToShares`): milliCPU * 1024 / 1000, at least 2, at most 262144.
    package static func shares(milliCPU: UInt64) -> UInt64 {
        min(max(milliCPU * 1_024 / 1_000, 2), 262_144)
    }

    /// The CPU request in millicores that gave `weight`: of every request that the kubelet and
    /// the runtime turn into this weight, the roundest (a multiple of 1000, else 500, 250, 100,
    /// ...), since a weight step spans up to 25 millicores. Nil for weight 1, the weight of no
    /// request at all (2 shares), and for a weight no request gives.
    package static func milliCPURequest(weight: UInt64, conversion: CPUWeightConversion) -> UInt64? {
        guard weight > 1, weight <= 10_000 else { return nil }
        func weightOf(_ milli: UInt64) -> UInt64 { conversion.weight(shares: shares(milliCPU: milli)) }
        // The first request whose weight reaches `weight`, and the first past it (both searches
        // over a non-decreasing function).
        func first(_ reaches: (UInt64) -> Bool) -> UInt64 {
            var low: UInt64 = 0
            var high: UInt64 = 262_144_000 / 1_024 + 1
            while low < high {
                let middle = (low + high) / 2
                if reaches(weightOf(middle)) { high = middle } else { low = middle + 1 }
            }
            return low
        }
        let lowest = first { $0 >= weight }
        let pastHighest = first { $0 > weight }
        guard lowest < pastHighest else { return nil }
        for step: UInt64 in [1_000, 500, 250, 100, 50, 25, 10, 5] {
            let candidate = (lowest + step - 1) / step * step
            if candidate < pastHighest { return candidate }
        }
        return lowest
    }

    /// The kubelet's own `cpu.weight` for a pod cgroup from its shares (pkg/kubelet/cm
    /// cgroup_manager_linux.go `getCPUWeight`): the linear formula, whatever the runtime uses.
    package static func kubeletWeight(shares: UInt64) -> UInt64 {
        shares >= 262_144 ? 10_000 : CPUWeightConversion.linear.weight(shares: shares)
    }

    /// Which conversion the runtime used on this node, told by the pods: the kubelet writes each
    /// pod cgroup's weight from the sum of its containers' requests by the linear formula, the
    /// runtime each container's by its own. The conversion whose inverse of the containers'
    /// weights, summed and converted back the kubelet's way, gives the pod's weight (to one step)
    /// in more pods; nil when no pod has a request (nothing to tell, and nothing to convert).
    package static func weightConversion(of pods: [PodUsage]) -> CPUWeightConversion? {
        var agreeing: [CPUWeightConversion: Int] = [:]
        for pod in pods {
            guard let podWeight = pod.sample.cpuWeight, podWeight > 1 else { continue }
            let weights = pod.containers.compactMap(\.sample.cpuWeight)
            guard weights.count == pod.containers.count, weights.contains(where: { $0 > 1 }) else { continue }
            for conversion in CPUWeightConversion.allCases {
                let total = weights.reduce(UInt64(0)) { $0 + (milliCPURequest(weight: $1, conversion: conversion) ?? 0) }
                let predicted = kubeletWeight(shares: shares(milliCPU: total))
                if max(predicted, podWeight) - min(predicted, podWeight) <= 1 { agreeing[conversion, default: 0] += 1 }
            }
        }
        let linear = agreeing[.linear] ?? 0
        let quadratic = agreeing[.quadratic] ?? 0
        if linear == 0 && quadratic == 0 { return nil }
        return quadratic > linear ? .quadratic : .linear
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
