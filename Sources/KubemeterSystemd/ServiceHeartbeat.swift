#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import KubemeterSync

/// What one heartbeat check found: whether the service works, and a one-line status for `STATUS=`.
package struct HeartbeatReport: Sendable, Equatable {
    package var healthy: Bool
    package var status: String

    package init(healthy: Bool, status: String) {
        self.healthy = healthy
        self.status = status
    }
}

/// Keeps the service manager informed while the service runs: `READY=1` the first time a check is
/// healthy, `STATUS=` on every check, and `WATCHDOG=1` only after a healthy check, so a service
/// whose collections fail or hang is restarted by `WatchdogSec=` instead of looking alive.
package final class ServiceHeartbeat: Sendable {
    /// The check: `mustCollect` is true when the caller needs fresh evidence (watchdog on, or not
    /// ready yet), false when the last known result is enough for a status line.
    package typealias Check = @Sendable (_ mustCollect: Bool) -> HeartbeatReport

    private struct State {
        var ready = false
        var stopped = false
    }

    private let notify: @Sendable (String) -> Void
    private let check: Check
    private let periodNanoseconds: UInt64
    private let watchdog: Bool
    private let state = AnnotatedMutex(State())
    private let wakeup = Wakeup()

    /// - Parameters:
    ///   - periodNanoseconds: time between checks (half of `WATCHDOG_USEC` when there is a watchdog).
    ///   - watchdog: send `WATCHDOG=1` after each healthy check.
    ///   - notify: sends one `sd_notify` state string (tests pass a recorder).
    package init(periodNanoseconds: UInt64, watchdog: Bool,
                notify: @escaping @Sendable (String) -> Void = { SystemdNotifier().notify($0) },
                check: @escaping Check) {
        self.periodNanoseconds = max(periodNanoseconds, 1_000_000)
        self.watchdog = watchdog
        self.notify = notify
        self.check = check
    }

    /// True once `READY=1` has been sent.
    package var isReady: Bool { state.withLock { $0.ready } }

    /// Reports `report` (the caller's own first check), then checks every period on a thread of its own.
    package func start(initial report: HeartbeatReport) {
        publish(report)
        // Outside systemd nobody listens: no thread, so an idle agent does no work at all.
        guard watchdog || getenv("NOTIFY_SOCKET") != nil else { return }
        let started = DetachedThread.start { [self] in
            while wakeup.wait(nanoseconds: periodNanoseconds, until: { state.withLock { $0.stopped } }) == false {
                tick()
            }
        }
        if !started { notify("STATUS=heartbeat thread could not be started") }
    }

    /// One check and its notifications (what the thread does each period).
    package func tick() {
        if state.withLock({ $0.stopped }) { return }
        let mustCollect = watchdog || !isReady
        publish(check(mustCollect))
    }

    /// Sends `STOPPING=1` and ends the checks; the thread leaves at its next wake-up, which this triggers.
    package func stop() {
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

/// A sleep of one period that `signal()` ends early (the heartbeat's stop).
private final class Wakeup: @unchecked Sendable {
    // @unchecked: `signalled` is read and written only with `lock` held.
    private let lock = ConditionLock()
    private var signalled = false

    /// Waits up to `nanoseconds` or until `signal()`; returns `done()` evaluated on wake-up.
    func wait(nanoseconds: UInt64, until done: () -> Bool) -> Bool {
        let deadline = MonotonicClock.now() &+ nanoseconds
        lock.withLock {
            while !signalled {
                if !lock.wait(untilMonotonic: deadline) { break }
            }
            signalled = false
        }
        return done()
    }

    func signal() {
        lock.withLock {
            signalled = true
            lock.broadcast()
        }
    }
}
