import Glibc

/// CLOCK_MONOTONIC in nanoseconds: deadlines must not jump with the wall clock.
enum MonotonicClock {
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Seconds as nanoseconds, clamped so that huge or negative settings cannot trap.
    static func nanoseconds(_ seconds: Double) -> UInt64 {
        guard seconds.isFinite, seconds > 0 else { return seconds.isNaN || seconds <= 0 ? 0 : UInt64.max / 2 }
        let nanos = seconds * 1e9
        return nanos >= Double(UInt64.max / 2) ? UInt64.max / 2 : UInt64(nanos)
    }
}
