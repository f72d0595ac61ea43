/// `/proc/<pid>/stat`: one process's status line (proc(5); fs/proc/array.c, do_task_stat).
///
///     5122 (cat) R 5115 5115 3469 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 144757 3133440 380 ...
///
/// The command name is in parentheses and may itself contain spaces, parentheses and newlines;
/// it ends at the last ')' of the file. Fields are numbered as in proc(5), from 1.
package struct ProcPIDStat: KernelFile, Equatable, Sendable {
    package static let fileName = "/proc/<pid>/stat"

    /// Field 1.
    package var pid: Int32
    /// Field 2, without the parentheses (invalid UTF-8 repaired).
    package var comm: String
    /// Field 3, the state character (e.g. `UInt8(ascii: "R")`).
    package var state: UInt8
    /// Field 4.
    package var ppid: Int32
    /// Field 14, user time in USER_HZ ticks.
    package var utimeTicks: UInt64
    /// Field 15, system time in USER_HZ ticks.
    package var stimeTicks: UInt64
    /// Field 22, start time after boot in USER_HZ ticks.
    package var startTimeTicks: UInt64
    /// Field 20.
    package var numThreads: UInt64
    /// Field 23.
    package var vsizeBytes: UInt64
    /// Field 24, resident set size in pages.
    package var rssPages: UInt64

    package init(
        pid: Int32, comm: String, state: UInt8, ppid: Int32, utimeTicks: UInt64,
        stimeTicks: UInt64, startTimeTicks: UInt64, numThreads: UInt64, vsizeBytes: UInt64,
        rssPages: UInt64
    ) {
        self.pid = pid
        self.comm = comm
        self.state = state
        self.ppid = ppid
        self.utimeTicks = utimeTicks
        self.stimeTicks = stimeTicks
        self.startTimeTicks = startTimeTicks
        self.numThreads = numThreads
        self.vsizeBytes = vsizeBytes
        self.rssPages = rssPages
    }

    /// Kernel task names are at most 64 bytes (workqueue workers); refusing longer keeps a hostile
    /// file from becoming a huge String.
    static let maximumCommLength = 256

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> ProcPIDStat {
        if bytes.isBlankFile { throw ParseError(file: fileName, reason: .empty) }
        let whole = ByteSpan(start: 0, end: bytes.count)
        guard let open = bytes.firstIndex(of: ASCII.leftParenthesis, in: whole),
              let close = lastIndex(of: ASCII.rightParenthesis, in: bytes), close > open
        else { throw ParseError(file: fileName, reason: .malformed(line: 1)) }

        let pidSpan = bytes.trimmingBlanks(ByteSpan(start: 0, end: open))
        guard let pid = DecimalText.int32(bytes, pidSpan) else {
            throw ParseError(file: fileName, reason: .invalidNumber(field: "pid"))
        }
        let commSpan = ByteSpan(start: open + 1, end: close)
        guard commSpan.count <= maximumCommLength else {
            throw ParseError(file: fileName, reason: .malformed(line: 1))
        }

        // After the name: fields 3..., on the rest of the line (its newline dropped).
        var end = bytes.count
        while end > close + 1 && ASCII.isWhitespace(bytes[end - 1]) { end -= 1 }
        var fields = FieldReader(bytes, ByteSpan(start: close + 1, end: end))
        var number = 2
        func next(_ name: String) throws(ParseError) -> ByteSpan {
            guard let field = fields.next() else { throw ParseError(file: fileName, reason: .missingField(name)) }
            number += 1
            return field
        }
        func skip(to target: Int, _ name: String) throws(ParseError) {
            while number < target - 1 { _ = try next(name) }
        }
        func unsigned(_ name: String) throws(ParseError) -> UInt64 {
            guard let value = DecimalText.uint64(bytes, try next(name)) else {
                throw ParseError(file: fileName, reason: .invalidNumber(field: name))
            }
            return value
        }

        let stateField = try next("state")
        guard stateField.count == 1 else { throw ParseError(file: fileName, reason: .malformed(line: 1)) }
        guard let ppid = DecimalText.int32(bytes, try next("ppid")) else {
            throw ParseError(file: fileName, reason: .invalidNumber(field: "ppid"))
        }
        try skip(to: 14, "utime")
        let utime = try unsigned("utime")
        let stime = try unsigned("stime")
        try skip(to: 20, "num_threads")
        let threads = try unsigned("num_threads")
        try skip(to: 22, "starttime")
        let start = try unsigned("starttime")
        let vsize = try unsigned("vsize")
        let rss = try unsigned("rss")

        return ProcPIDStat(
            pid: pid, comm: bytes.string(commSpan), state: bytes[stateField.start], ppid: ppid,
            utimeTicks: utime, stimeTicks: stime, startTimeTicks: start, numThreads: threads,
            vsizeBytes: vsize, rssPages: rss)
    }

    private static func lastIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int? {
        var i = bytes.count
        while i > 0 {
            i -= 1
            if bytes[i] == byte { return i }
        }
        return nil
    }
}
