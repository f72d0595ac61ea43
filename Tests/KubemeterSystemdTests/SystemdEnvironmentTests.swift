import Glibc
import Logging
import Testing
@testable import KubemeterSystemd

@Suite(.serialized) struct SystemdEnvironmentTests {
    @Test func journalStreamParsing() {
        #expect(JournalStream(parsing: "8:12345") == JournalStream(device: 8, inode: 12345))
        #expect(JournalStream(parsing: "8:") == nil)
        #expect(JournalStream(parsing: "8:1:2") == nil)
        #expect(JournalStream(parsing: "x:1") == nil)
    }

    /// JOURNAL_STREAM must name the very file on the fd: a matching pair is the journal, any
    /// other (a wrapper redirected stderr) is not.
    @Test func journalStreamMatchesOnlyTheSameFile() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var status = stat()
        try #require(fstat(fds[1], &status) == 0)
        let saved = getenv("JOURNAL_STREAM").map { String(cString: $0) }
        defer { if let saved { setenv("JOURNAL_STREAM", saved, 1) } else { unsetenv("JOURNAL_STREAM") } }
        setenv("JOURNAL_STREAM", "\(status.st_dev):\(status.st_ino)", 1)
        #expect(JournalStream.isJournal(fd: fds[1]))
        setenv("JOURNAL_STREAM", "\(status.st_dev):\(status.st_ino + 1)", 1)
        #expect(!JournalStream.isJournal(fd: fds[1]))
        unsetenv("JOURNAL_STREAM")
        #expect(!JournalStream.isJournal(fd: fds[1]))
    }

    @Test func watchdogPingsAtHalfTheTimeout() {
        #expect(SystemdWatchdog.pingInterval(watchdogMicroseconds: 30_000_000) == 15_000_000_000)
        #expect(SystemdWatchdog.pingInterval(watchdogMicroseconds: 1) == 1)
        #expect(SystemdWatchdog.pingInterval(watchdogMicroseconds: UInt64.max) == UInt64.max / 2)
    }

    /// Where journald runs, an entry is accepted by the real socket through libsystemd.
    @Test(.enabled(if: JournaldLogHandler.journalSocketExists, "no journald socket on this machine"))
    func journaldAcceptsAnEntry() {
        let result = JournaldLogHandler.send(["MESSAGE=kubemeter test entry", "PRIORITY=7", "KUBEMETER_TEST=1"])
        #expect(result >= 0)
    }

    /// Where journald does not run, libsystemd drops events silently (returns 0), so the handler
    /// checks for the socket and writes the event to its fallback as logfmt: nothing is lost.
    @Test(.enabled(if: !JournaldLogHandler.journalSocketExists, "journald runs here; the fallback is not reached"))
    func withoutJournaldEventsFallBackToStderr() throws {
        #expect(JournaldLogHandler.send(["MESSAGE=x"]) == 0) // libsystemd's silent drop
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let handler = JournaldLogHandler(label: "kubemeter", fallback: LineWriter(fd: fds[1]))
        let logger = Logger(label: "kubemeter", factory: { _ in handler })
        logger.error("collection failed", metadata: ["path": "/sys/fs/cgroup"])
        close(fds[1])
        let text = readAll(fds[0])
        #expect(text.contains(#"level=error msg="collection failed" path=/sys/fs/cgroup logger=kubemeter"#))
    }
}
