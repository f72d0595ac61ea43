/// One line of a pressure file: the share of wall time in which tasks stalled, averaged over
/// 10, 60 and 300 seconds (percent), and the total stall time in microseconds.
package struct PressureLine: Equatable, Sendable {
    package var avg10: Double
    package var avg60: Double
    package var avg300: Double
    package var totalUsec: UInt64

    package init(avg10: Double, avg60: Double, avg300: Double, totalUsec: UInt64) {
        self.avg10 = avg10
        self.avg60 = avg60
        self.avg300 = avg300
        self.totalUsec = totalUsec
    }
}

/// A pressure stall information file: cgroup v2 `cpu.pressure`, `memory.pressure`,
/// `io.pressure`, and `/proc/pressure/{cpu,memory,io}` (Documentation/accounting/psi.rst).
///
///     some avg10=0.00 avg60=0.19 avg300=0.20 total=4407090
///     full avg10=0.00 avg60=0.00 avg300=0.00 total=0
///
/// Kernels before 5.13 write no `full` line for cpu; it is nil then.
package struct Pressure: KernelFile, Equatable, Sendable {
    package static let fileName = "pressure"

    package var some: PressureLine?
    package var full: PressureLine?
    /// Lines skipped: unreadable, a some/full line missing a key or with a bad value, or a
    /// repeated some/full line (which also voids the first).
    package var malformedLines: Int

    package init(some: PressureLine?, full: PressureLine?, malformedLines: Int = 0) {
        self.some = some
        self.full = full
        self.malformedLines = malformedLines
    }

    private enum LineSlot {
        case unseen, value(PressureLine), rejected

        var line: PressureLine? {
            if case .value(let line) = self { return line }
            return nil
        }

        mutating func record(_ line: PressureLine?) -> Bool {
            if case .unseen = self, let line {
                self = .value(line)
                return true
            }
            self = .rejected
            return false
        }
    }

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> Pressure {
        if bytes.isBlankFile { throw ParseError(file: fileName, reason: .empty) }
        var some = LineSlot.unseen
        var full = LineSlot.unseen
        var malformed = 0
        var lines = LineReader(bytes)
        while let line = lines.next() {
            var fields = FieldReader(bytes, line)
            guard let kind = fields.next() else { continue }
            if bytes.matches(kind, "some") {
                if !some.record(parseLine(bytes, &fields)) { malformed += 1 }
            } else if bytes.matches(kind, "full") {
                if !full.record(parseLine(bytes, &fields)) { malformed += 1 }
            } else if !isKeyValueLine(bytes, &fields) {
                malformed += 1
            }
            // Otherwise a kind this parser does not know: ignored, as new kernels may add one.
        }
        return Pressure(some: some.line, full: full.line, malformedLines: malformed)
    }

    /// "avg10=.. avg60=.. avg300=.. total=..": all four required once; unknown keys ignored.
    private static func parseLine(
        _ bytes: UnsafeRawBufferPointer, _ fields: inout FieldReader
    ) -> PressureLine? {
        var avg10: Double?, avg60: Double?, avg300: Double?, total: UInt64?
        while let field = fields.next() {
            guard let (key, value) = NestedKey.split(bytes, field) else { return nil }
            if bytes.matches(key, "avg10") {
                guard avg10 == nil, let v = DecimalText.double(bytes, value) else { return nil }
                avg10 = v
            } else if bytes.matches(key, "avg60") {
                guard avg60 == nil, let v = DecimalText.double(bytes, value) else { return nil }
                avg60 = v
            } else if bytes.matches(key, "avg300") {
                guard avg300 == nil, let v = DecimalText.double(bytes, value) else { return nil }
                avg300 = v
            } else if bytes.matches(key, "total") {
                guard total == nil, let v = DecimalText.uint64(bytes, value) else { return nil }
                total = v
            }
        }
        guard let avg10, let avg60, let avg300, let total else { return nil }
        return PressureLine(avg10: avg10, avg60: avg60, avg300: avg300, totalUsec: total)
    }

    /// Whether the rest of a line is one or more "key=value" fields.
    private static func isKeyValueLine(_ bytes: UnsafeRawBufferPointer, _ fields: inout FieldReader) -> Bool {
        var any = false
        while let field = fields.next() {
            guard NestedKey.split(bytes, field) != nil else { return false }
            any = true
        }
        return any
    }
}

/// Nested-keyed cgroup files (io.stat, pressure): fields of the form "key=value".
enum NestedKey {
    /// The key and value of a "key=value" field; nil without '=' or with an empty key.
    @inline(__always)
    static func split(_ bytes: UnsafeRawBufferPointer, _ field: ByteSpan) -> (key: ByteSpan, value: ByteSpan)? {
        guard let equals = bytes.firstIndex(of: ASCII.equals, in: field), equals > field.start else {
            return nil
        }
        return (ByteSpan(start: field.start, end: equals), ByteSpan(start: equals + 1, end: field.end))
    }
}
