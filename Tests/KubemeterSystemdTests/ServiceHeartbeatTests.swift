import Synchronization
import Testing
import KubemeterSync
@testable import KubemeterSystemd

/// The heartbeat's notification logic, with a recorder in place of sd_notify.
@Suite struct ServiceHeartbeatTests {
    final class Recorder: Sendable {
        let messages = AnnotatedMutex<[String]>([])
        func record(_ message: String) { messages.withLock { $0.append(message) } }
        var all: [String] { messages.withLock { $0 } }
    }

    final class Script: Sendable {
        let reports: AnnotatedMutex<[HeartbeatReport]>
        let asked = AnnotatedMutex<[Bool]>([])
        init(_ reports: [HeartbeatReport]) { self.reports = AnnotatedMutex(reports) }
        func next(_ mustCollect: Bool) -> HeartbeatReport {
            asked.withLock { $0.append(mustCollect) }
            return reports.withLock { $0.removeFirst() }
        }
    }

    static let bad = HeartbeatReport(healthy: false, status: "failing")
    static let good = HeartbeatReport(healthy: true, status: "3 pods")

    @Test func readyOnceAtTheFirstHealthyCheckAndWatchdogOnlyWhenHealthy() {
        let recorder = Recorder()
        let script = Script([Self.good, Self.bad, Self.good])
        // A period far longer than the test: only the explicit ticks below run checks.
        let heartbeat = ServiceHeartbeat(periodNanoseconds: 3_600_000_000_000, watchdog: true,
                                         notify: recorder.record, check: script.next)
        heartbeat.start(initial: Self.bad)
        heartbeat.tick()
        heartbeat.tick()
        heartbeat.tick()
        heartbeat.stop()
        heartbeat.stop()
        heartbeat.tick() // after stop: nothing more is sent
        #expect(recorder.all == [
            "STATUS=failing",
            "READY=1\nSTATUS=3 pods\nWATCHDOG=1",
            "STATUS=failing",
            "STATUS=3 pods\nWATCHDOG=1",
            "STOPPING=1\nSTATUS=stopping",
        ])
        #expect(heartbeat.isReady)
    }

    @Test func withoutWatchdogChecksCollectOnlyUntilReady() {
        let recorder = Recorder()
        let script = Script([Self.bad, Self.good, Self.good])
        let heartbeat = ServiceHeartbeat(periodNanoseconds: 3_600_000_000_000, watchdog: false,
                                         notify: recorder.record, check: script.next)
        heartbeat.start(initial: Self.bad)
        heartbeat.tick()
        heartbeat.tick()
        heartbeat.tick()
        heartbeat.stop()
        #expect(script.asked.withLock { $0 } == [true, true, false])
        #expect(recorder.all == [
            "STATUS=failing", "STATUS=failing", "READY=1\nSTATUS=3 pods", "STATUS=3 pods", "STOPPING=1\nSTATUS=stopping",
        ])
    }
}
