/// A cgroup v2 `cpu.stat`: CPU time and throttling, all durations in microseconds.
///
/// `usage_usec`, `user_usec` and `system_usec` are always there; the throttling keys appear when
/// the cpu controller is enabled, the burst keys since Linux 5.14. A key the file lacks is nil.
package struct CPUStat: KernelFile, Equatable, Sendable {
    package static let fileName = "cpu.stat"

    package var usageUsec: UInt64?
    package var userUsec: UInt64?
    package var systemUsec: UInt64?
    package var nrPeriods: UInt64?
    package var nrThrottled: UInt64?
    package var throttledUsec: UInt64?
    package var nrBursts: UInt64?
    package var burstUsec: UInt64?
    /// Lines skipped: unreadable, a known key with a bad value, or a repeated key.
    package var malformedLines: Int

    package init(
        usageUsec: UInt64? = nil, userUsec: UInt64? = nil, systemUsec: UInt64? = nil,
        nrPeriods: UInt64? = nil, nrThrottled: UInt64? = nil, throttledUsec: UInt64? = nil,
        nrBursts: UInt64? = nil, burstUsec: UInt64? = nil, malformedLines: Int = 0
    ) {
        self.usageUsec = usageUsec
        self.userUsec = userUsec
        self.systemUsec = systemUsec
        self.nrPeriods = nrPeriods
        self.nrThrottled = nrThrottled
        self.throttledUsec = throttledUsec
        self.nrBursts = nrBursts
        self.burstUsec = burstUsec
        self.malformedLines = malformedLines
    }

    enum Key: Int, FileKey {
        case usageUsec, userUsec, systemUsec, nrPeriods, nrThrottled, throttledUsec, nrBursts, burstUsec

        var name: StaticString {
            switch self {
            case .usageUsec: "usage_usec"
            case .userUsec: "user_usec"
            case .systemUsec: "system_usec"
            case .nrPeriods: "nr_periods"
            case .nrThrottled: "nr_throttled"
            case .throttledUsec: "throttled_usec"
            case .nrBursts: "nr_bursts"
            case .burstUsec: "burst_usec"
            }
        }
    }

    private static let keys = KeyTable<Key>()

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> CPUStat {
        let (s, malformed) = try FlatKeyedFile.scan(bytes, file: fileName, keys: keys)
        return CPUStat(
            usageUsec: s.number(.usageUsec), userUsec: s.number(.userUsec), systemUsec: s.number(.systemUsec),
            nrPeriods: s.number(.nrPeriods), nrThrottled: s.number(.nrThrottled),
            throttledUsec: s.number(.throttledUsec), nrBursts: s.number(.nrBursts), burstUsec: s.number(.burstUsec),
            malformedLines: malformed)
    }
}
