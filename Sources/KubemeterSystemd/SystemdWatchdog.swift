import CSystemd

/// The service manager's watchdog (`WatchdogSec=` in the unit, `WATCHDOG_USEC` in the environment).
package enum SystemdWatchdog {
    /// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, as `sd_watchdog_enabled(3)`
    /// recommends, or nil when no watchdog is set for this process (`WATCHDOG_PID` is checked too).
    package static func pingIntervalNanoseconds() -> UInt64? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0 else { return nil }
        return pingInterval(watchdogMicroseconds: microseconds)
    }

    /// Half the watchdog timeout, in nanoseconds; never zero.
    package static func pingInterval(watchdogMicroseconds: UInt64) -> UInt64 {
        let half = watchdogMicroseconds / 2
        let (nanoseconds, overflow) = half.multipliedReportingOverflow(by: 1000)
        return overflow ? UInt64.max / 2 : max(nanoseconds, 1)
    }
}
