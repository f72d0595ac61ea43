#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import KubemeterSync

/// What one heartbeat check found: whether the service works, and a one-line status for `STATUS=`.
public struct HeartbeatReport: Sendable, Equatable {
    public var healthy: Bool
    public var status: String

    public init(healthy: Bool, status: String) {
        self.healthy = healthy
        self.status = status
    }
}

/// Keeps the service manager informed while the service runs: `READY=1` the first time a check is
/// healthy, `STATUS=` on every check, and `WATCHDOG=1` only after a healthy check, so a service
/// whose collections fail or hang is restarted by `WatchdogSec=` instead of looking alive.
public final class ServiceHeartbeat: Sendable {
    /// The check: `mustCollect` is true when the caller needs fresh evidence (watchdog on, or not
    /// ready yet), false when the last known result is enough for a status line.
    public typealias Check = @Sendable (_ mustCollect: Bool) -> HeartbeatReport

    private struct State {
        var ready = false
        var stopped = false
    }

    private let notify: @Sendable (String) -> Void
    private let check: Check
    private let periodNanoseconds: UInt64
    private let watchdog: Bool
    private let state = AnnotatedMutex(State())
    private let wakeup = MonotonicCondition()

    /// - Parameters:
    ///   - periodNanoseconds: time between checks (half of `WATCHDOG_USEC` when there is a watchdog).
    ///   - watchdog: send `WATCHDOG=1` after each healthy check.
    ///   - notify: sends one `sd_notify` state string (tests pass a recorder).
    public init(periodNanoseconds: UInt64, watchdog: Bool,
                notify: @escaping @Sendable (String) -> Void = { SystemdNotifier().notify($0) },
                check: @escaping Check) {
        self.periodNanoseconds = max(periodNanoseconds, 1_000_000)
        self.watchdog = watchdog
        self.notify = notify
        self.check = check
    }

    /// True once `READY=1` has been sent.
    public var isReady: Bool { state.withLock { $0.ready } }

    /// Reports `report` (the caller's own first check), then checks every period on a thread of its own.
    public func start(initial report: HeartbeatReport) {
        publish(report)
        // Outside systemd nobody listens: no thread, so an idle agent does no work at all.
        guard watchdog || getenv("NOTIFY_SOCKET") != nil else { return }
        let started = PosixThread.start { [self] in
            while wakeup.wait(nanoseconds: periodNanoseconds, until: { state.withLock { $0.stopped } }) == false {
                tick()
            }
        }
        if !started { notify("STATUS=heartbeat thread could not be started") }
    }

    /// One check and its notifications (what the thread does each period).
    public func tick() {
        if state.withLock({ $0.stopped }) { return }
        let mustCollect = watchdog || !isReady
        publish(check(mustCollect))
    }

    /// Sends `STOPPING=1` and ends the checks; the thread leaves at its next wake-up, which this triggers.
    public func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        notify("STOPPING=1\nSTATUS=stopping")
        wakeup.signal()
    }

    private func publish(_ report: HeartbeatReport) {
        let (stopped, becameReady) = state.withLock { state -> (Bool, Bool) in
            if state.stopped { return (true, false) }
            if report.healthy && !state.ready {
                state.ready = true
                return (false, true)
            }
            return (false, false)
        }
        if stopped { return }
        var message = becameReady ? "READY=1\n" : ""
        message += "STATUS=\(report.status)"
        if watchdog && report.healthy { message += "\nWATCHDOG=1" }
        notify(message)
    }
}

/// A condition variable on CLOCK_MONOTONIC (so waits do not stretch or shrink with wall-clock jumps).
final class MonotonicCondition: @unchecked Sendable {
    // @unchecked: the pthread objects are touched only through pthread calls, which are thread-safe.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var signalled = false

    init() {
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

    /// Waits up to `nanoseconds` or until `signal()`; returns `done()` evaluated on wake-up.
    func wait(nanoseconds: UInt64, until done: () -> Bool) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = UInt64(now.tv_nsec) + nanoseconds % 1_000_000_000
        var deadline = timespec()
        deadline.tv_sec = now.tv_sec + Int(nanoseconds / 1_000_000_000) + Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_mutex_lock(mutex)
        while !signalled {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
        }
        signalled = false
        pthread_mutex_unlock(mutex)
        return done()
    }

    func signal() {
        pthread_mutex_lock(mutex)
        signalled = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}

/// A detached POSIX thread running a closure.
enum PosixThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if result != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
