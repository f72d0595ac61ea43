import Glibc
import Logging
import Testing
@testable import KubemeterSystemd

@Suite struct FormattingTests {
    static let record = LogRecord(
        timestamp: "2026-11-24T12:33:16.042Z", level: .warning, message: "cannot read \"cpu.stat\"\nretrying",
        fields: LogRecord.flatten(["pod": "web-0", "z": "1"], ["duration_ms": "3.5", "path": "/a b", "empty": ""]),
        label: "kubemeter", file: "KubemeterAgent/Agent.swift", function: "run()", line: 42)

    @Test func logfmtQuotesOnlyWhatNeedsIt() {
        #expect(LogfmtFormatter.format(Self.record) == #"time=2026-11-24T12:33:16.042Z level=warning msg="cannot read \"cpu.stat\"\nretrying" duration_ms=3.5 empty="" path="/a b" pod=web-0 z=1 logger=kubemeter source=KubemeterAgent/Agent.swift:42"#)
        #expect(LogfmtFormatter.key("a b=c\"d") == "a_b_c_d")
        #expect(LogfmtFormatter.quote("tab\there") == #""tab\there""#)
    }

    @Test func jsonEscapesControlCharactersAndDropsEnvelopeKeys() {
        var record = Self.record
        record.fields = [("level", "spoofed"), ("x", "\u{01}\\")]
        #expect(JSONFormatter.format(record) == #"{"time":"2026-11-24T12:33:16.042Z","level":"warning","msg":"cannot read \"cpu.stat\"\nretrying","x":"\u0001\\","logger":"kubemeter","source":"KubemeterAgent/Agent.swift:42"}"#)
    }

    @Test func nestedMetadataIsFlattenedAndEventMetadataWins() {
        let fields = LogRecord.flatten(["a": "handler", "n": ["inner": "1"]], ["a": "event"])
        #expect(fields.map(\.key) == ["a", "n.inner"])
        #expect(fields.map(\.value) == ["event", "1"])
    }

    @Test func timestampIsRFC3339UTCWithMilliseconds() {
        // 1_700_000_000 s after the epoch is 2023-11-14 22:13:20 UTC.
        #expect(LogTimestamp.format(seconds: 1_700_000_000, nanoseconds: 7_999_999) == "2023-11-14T22:13:20.007Z")
        #expect(LogTimestamp.format(seconds: 0, nanoseconds: 0) == "1970-01-01T00:00:00.000Z")
    }

    @Test func journalFieldsCarryPriorityCodeLocationAndMetadata() {
        let fields = JournaldLogHandler.fields(for: Self.record, identifier: "kubemeter")
        #expect(fields == [
            "MESSAGE=cannot read \"cpu.stat\"\nretrying", "PRIORITY=4",
            "CODE_FILE=KubemeterAgent/Agent.swift", "CODE_LINE=42", "CODE_FUNC=run()",
            "SYSLOG_IDENTIFIER=kubemeter", "LOGGER=kubemeter",
            "DURATION_MS=3.5", "EMPTY=", "PATH=/a b", "POD=web-0", "Z=1",
        ])
    }

    @Test func journalFieldNamesAreValid() {
        #expect(JournaldLogHandler.fieldName("node.cpu-source") == "NODE_CPU_SOURCE")
        #expect(JournaldLogHandler.fieldName("__trusted") == "TRUSTED")
        #expect(JournaldLogHandler.fieldName("9lives") == "F_9LIVES")
        #expect(JournaldLogHandler.fieldName("") == "F_")
        #expect(JournaldLogHandler.fieldName(String(repeating: "a", count: 100)).count == 64)
        var record = Self.record
        record.fields = [("message", "spoof"), ("MESSAGE", "again")]
        let fields = JournaldLogHandler.fields(for: record, identifier: "k")
        #expect(fields.filter { $0.hasPrefix("MESSAGE=") }.count == 1)
        #expect(fields.contains("META_MESSAGE=spoof"))
        #expect(fields.count == 8) // the second collision is dropped, never sent twice
    }

    @Test func prioritiesFollowSyslog() {
        let levels: [Logger.Level] = [.trace, .debug, .info, .notice, .warning, .error, .critical]
        #expect(levels.map(JournaldLogHandler.priority) == [7, 7, 6, 5, 4, 3, 2])
    }

    @Test func textHandlerWritesOneLinePerEvent() throws {
        var pipeFDs: [Int32] = [0, 0]
        try #require(pipe(&pipeFDs) == 0)
        defer { close(pipeFDs[0]) }
        var handler = TextLogHandler(label: "t", style: .json, writer: LineWriter(fd: pipeFDs[1]))
        handler.logLevel = .info
        handler[metadataKey: "node"] = "n1"
        let logger = Logger(label: "t", factory: { _ in handler })
        logger.debug("filtered out")
        logger.info("hello", metadata: ["pods": "3"])
        close(pipeFDs[1])
        let text = readAll(pipeFDs[0])
        let lines = text.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains(#""level":"info","msg":"hello","node":"n1","pods":"3","logger":"t""#) == true)
    }
}

func readAll(_ fd: Int32) -> String {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
