import KubemeterParsers
import KubemeterSnapshot

/// The formulas of `kubemeter top` and `GET /top`, over two reads of the same cgroup or node.
///
/// A rate is (value2 - value1) / (t2 - t1). A counter that went down (a cgroup recreated under
/// the same path) gives no rate rather than a negative or huge one.
public enum TopRates {
    /// Cores used between two reads: Δ`usage_usec` / 1e6 / Δt.
    public static func cores(previous: CgroupSample?, current: CgroupSample, seconds: Double?) -> Double? {
        guard let seconds, seconds > 0,
              let before = previous?.cpu?.usageUsec, let now = current.cpu?.usageUsec, now >= before
        else { return nil }
        return Double(now - before) / 1e6 / seconds
    }

    /// Cores used between two reads of a cumulative core-seconds counter (the node's).
    public static func cores(previousSeconds: Double?, currentSeconds: Double?, seconds: Double?) -> Double? {
        guard let seconds, seconds > 0, let before = previousSeconds, let now = currentSeconds, now >= before
        else { return nil }
        return (now - before) / seconds
    }

    /// The CPU limit in cores: `cpu.max` quota / period; nil when the quota is `max` or unknown.
    public static func limitCores(_ cpuMax: CPUMax?) -> Double? {
        guard let cpuMax, let quota = cpuMax.quotaUsec, cpuMax.periodUsec > 0 else { return nil }
        return Double(quota) / Double(cpuMax.periodUsec)
    }

    /// The memory limit in bytes: `memory.max` when it is a number.
    public static func limitBytes(_ limit: CgroupLimit?) -> UInt64? {
        if case .limited(let bytes) = limit { return bytes }
        return nil
    }

    /// Share of CFS periods throttled between two reads, in percent: Δ`nr_throttled` / Δ`nr_periods`.
    /// With no period elapsed it is 0 when a quota is set (nothing could be throttled) and unknown
    /// otherwise (no quota: the kernel counts no periods at all).
    public static func throttledPercent(previous: CgroupSample?, current: CgroupSample) -> Double? {
        guard let before = previous?.cpu, let now = current.cpu,
              let periods1 = before.nrPeriods, let periods2 = now.nrPeriods,
              let throttled1 = before.nrThrottled, let throttled2 = now.nrThrottled,
              periods2 >= periods1, throttled2 >= throttled1
        else { return nil }
        let periods = periods2 - periods1
        if periods == 0 { return limitCores(current.cpuMax) == nil ? nil : 0 }
        return Double(throttled2 - throttled1) / Double(periods) * 100
    }

    /// Percent of `limit` that `value` is.
    public static func percent(_ value: Double?, of limit: Double?) -> Double? {
        guard let value, let limit, limit > 0 else { return nil }
        return value / limit * 100
    }

    /// Bytes per second received and sent, summed over the interfaces present in both reads
    /// (`lo` is never counted). An interface whose counters went down is left out.
    public static func network(
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
    public static func seconds(from previous: NodeSnapshot?, to current: NodeSnapshot) -> Double? {
        guard let previous, current.timestampMilliseconds > previous.timestampMilliseconds else { return nil }
        return Double(current.timestampMilliseconds - previous.timestampMilliseconds) / 1000
    }
}
