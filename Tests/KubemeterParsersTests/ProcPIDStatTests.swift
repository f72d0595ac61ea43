import Testing
@testable import KubemeterParsers

@Suite struct ProcPIDStatTests {
    // Copied from this host: /proc/self/stat as read by `cat`, and /proc/1/stat (Linux 6.18).
    @Test func realSelfSample() throws {
        let stat = try ProcPIDStat.parse(try Fixture.bytes("proc_self_stat.txt"))
        #expect(stat == ProcPIDStat(
            pid: 5147, comm: "cat", state: UInt8(ascii: "R"), ppid: 5141, utimeTicks: 0, stimeTicks: 0,
            startTimeTicks: 145_025, numThreads: 1, vsizeBytes: 3_133_440, rssPages: 382))
    }

    @Test func realInitSample() throws {
        let stat = try ProcPIDStat.parse(try Fixture.bytes("proc_1_stat.txt"))
        #expect(stat == ProcPIDStat(
            pid: 1, comm: "process_api", state: UInt8(ascii: "S"), ppid: 0, utimeTicks: 105,
            stimeTicks: 427, startTimeTicks: 25, numThreads: 13, vsizeBytes: 42_885_120, rssPages: 3154))
    }

    static let tail = " S 1 2 3 4 -1 6 7 8 9 10 11 12 13 14 20 0 5 0 777 8192 3 18446744073709551615 0\n"

    @Test func commWithSpacesAndParentheses() throws {
        let stat = try ProcPIDStat.parse("42 (a) b (c)) d)" + Self.tail)
        #expect(stat.comm == "a) b (c)) d")
        #expect(stat.ppid == 1)
        #expect(stat.utimeTicks == 11)
        #expect(stat.stimeTicks == 12)
        #expect(stat.numThreads == 5)
        #expect(stat.startTimeTicks == 777)
        #expect(stat.vsizeBytes == 8192)
        #expect(stat.rssPages == 3)
    }

    @Test func commWithNewlineAndEmptyComm() throws {
        #expect(try ProcPIDStat.parse("7 (x\ny)" + Self.tail).comm == "x\ny")
        #expect(try ProcPIDStat.parse("7 ()" + Self.tail).comm == "")
    }

    @Test func errors() {
        func reason(_ text: String) -> ParseError.Reason? { parseError(ProcPIDStat.self, text)?.reason }
        #expect(reason("") == .empty)
        #expect(reason("42 cat S 1\n") == .malformed(line: 1))
        #expect(reason("42 (cat S 1\n") == .malformed(line: 1))
        #expect(reason("-1 (cat)" + Self.tail) == .invalidNumber(field: "pid"))
        #expect(reason("2147483648 (cat)" + Self.tail) == .invalidNumber(field: "pid"))
        #expect(reason("42 (cat) SS 1 2\n") == .malformed(line: 1))
        #expect(reason("42 (cat)\n") == .missingField("state"))
        #expect(reason("42 (cat) S\n") == .missingField("ppid"))
        #expect(reason("42 (cat) S -1 2\n") == .invalidNumber(field: "ppid"))
        #expect(reason("42 (cat) S 1 2 3 4 5 6 7 8 9 10") == .missingField("utime"))
        #expect(reason("42 (cat) S 1 2 3 4 5 6 7 8 9 10 x 12 13 14 15 16 17 18 19 20\n") == .invalidNumber(field: "utime"))
        // Truncated just before rss.
        #expect(reason("42 (cat) S 1 2 3 4 -1 6 7 8 9 10 11 12 13 14 20 0 5 0 777 8192\n") == .missingField("rss"))
        #expect(reason("42 (cat) S 1 2 3 4 -1 6 7 8 9 10 11 12 13 14 20 0 5 0 777 8192 -3\n") == .invalidNumber(field: "rss"))
        #expect(reason("42 (\(String(repeating: "x", count: 300)))" + Self.tail) == .malformed(line: 1))
    }

    @Test func oldKernelWithFewerTrailingFieldsStillParses() throws {
        // Only fields up to rss (24) are needed; 2.6-era kernels wrote fewer than today's 52.
        let stat = try ProcPIDStat.parse("9 (sh) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 1 0 99 4096 2\n")
        #expect(stat.utimeTicks == 11)
        #expect(stat.rssPages == 2)
        #expect(stat.startTimeTicks == 99)
    }

    @Test func crlf() throws {
        let stat = try ProcPIDStat.parse("9 (sh) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 1 0 99 4096 2\r\n")
        #expect(stat.rssPages == 2)
    }
}
