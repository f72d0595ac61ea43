#if canImport(Glibc)
package import Glibc
#endif

/// CLOCK_MONOTONIC: deadlines, durations and request arrival times, which must not jump with
/// the wall clock. The one place the agent reads it.
package enum MonotonicClock {
    /// Nanoseconds since an arbitrary start (boot).
    package static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// `now()` in seconds.
    package static func seconds() -> Double {
        Double(now()) / 1e9
    }

    /// Seconds as nanoseconds, clamped so that huge, negative or NaN settings cannot trap:
    /// NaN and <= 0 give 0, anything past half of UInt64's range gives that.
    package static func nanoseconds(_ seconds: Double) -> UInt64 {
        guard seconds.isFinite, seconds > 0 else { return seconds.isNaN || seconds <= 0 ? 0 : UInt64.max / 2 }
        let nanos = seconds * 1e9
        return nanos >= Double(UInt64.max / 2) ? UInt64.max / 2 : UInt64(nanos)
    }
}

/// CLOCK_THREAD_CPUTIME_ID: CPU time the calling thread has used, for work a thread of its own
/// does (the ephemeral-storage walks report their cost with it).
package enum ThreadCPUClock {
    package static func seconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// CLOCK_REALTIME: what timestamps that leave the process carry (samples, logs, mtimes compared
/// with now). The one place the agent reads it.
package enum WallClock {
    /// Nanoseconds since the Unix epoch.
    package static func nanoseconds() -> Int64 {
        let now = timespecNow()
        return Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
    }

    /// Milliseconds since the Unix epoch (Prometheus sample timestamps).
    package static func milliseconds() -> Int64 {
        let now = timespecNow()
        return Int64(now.tv_sec) &* 1000 &+ Int64(now.tv_nsec) / 1_000_000
    }

    /// Seconds since the Unix epoch.
    package static func seconds() -> Double {
        let now = timespecNow()
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Whole seconds and nanoseconds since the Unix epoch, as the kernel gives them.
    package static func timespecNow() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }
}

/// RFC 3339 in UTC: the one formatter of wall-clock times that leave the process (log records,
/// the Summary API's and PodList's times).
package enum RFC3339 {
    /// `2026-11-24T12:33:16Z`, as Go's `metav1.Time` writes a time (whole seconds); with
    /// `milliseconds`, `2026-11-24T12:33:16.042Z`.
    package static func format(seconds: Int, milliseconds: Int? = nil) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let head = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
        guard let milliseconds else { return head + "Z" }
        return head + "." + pad(Int32(milliseconds), 3) + "Z"
    }
}
