#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable on CLOCK_MONOTONIC (so timed waits neither stretch nor
/// shrink with wall-clock jumps): what single flight and the heartbeat need and
/// `Synchronization.Mutex` lacks. The pthread calls are ones ThreadSanitizer intercepts.
package final class ConditionLock: @unchecked Sendable {
    // @unchecked: the pthread objects are only touched through the calls below, which are
    // thread-safe by POSIX.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }

    /// `body` with the lock held.
    package func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits for `broadcast()`; call with the lock held. May return spuriously: wait in a loop
    /// over the condition.
    package func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits for `broadcast()` until `deadline` (MonotonicClock nanoseconds); call with the lock
    /// held. Returns false when the deadline passed. May return spuriously, as `wait()`.
    package func wait(untilMonotonic deadline: UInt64) -> Bool {
        var time = timespec()
        time.tv_sec = Int(deadline / 1_000_000_000)
        time.tv_nsec = Int(deadline % 1_000_000_000)
        return pthread_cond_timedwait(condition, mutex, &time) != ETIMEDOUT
    }

    package func broadcast() { pthread_cond_broadcast(condition) }
}
