#if canImport(Glibc)
import Glibc
#endif

// Allocation-free scanning over the bytes of one kernel file. Every helper walks its input once,
// so a hostile file (binary, a 1 MiB line, a 1 MiB number) costs time linear in its size.

/// A half-open range of byte offsets into the file being parsed.
struct ByteSpan: Equatable {
    var start: Int
    var end: Int

    @inline(__always) var count: Int { end - start }
    @inline(__always) var isEmpty: Bool { start >= end }
}

enum ASCII {
    static let tab: UInt8 = 0x09
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let leftParenthesis: UInt8 = 0x28
    static let rightParenthesis: UInt8 = 0x29
    static let period: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let zero: UInt8 = 0x30
    static let colon: UInt8 = 0x3A
    static let equals: UInt8 = 0x3D
    static let verticalBar: UInt8 = 0x7C

    /// Field separators inside a line. The kernel writes spaces; tabs are tolerated.
    @inline(__always) static func isBlank(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }

    @inline(__always) static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || (byte >= tab && byte <= carriageReturn)  // \t \n \v \f \r
    }
}

extension UnsafeRawBufferPointer {
    /// True for zero bytes or only whitespace: such a file has nothing to parse. Usually stops
    /// at the first byte.
    @inline(__always) var isBlankFile: Bool {
        var i = 0
        while i < count {
            if !ASCII.isWhitespace(self[i]) { return false }
            i &+= 1
        }
        return true
    }

    @inline(__always) func bytes(_ span: ByteSpan) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[span.start..<span.end])
    }

    /// The span's bytes as a String (invalid UTF-8 repaired). Only for names that are kept.
    @inline(__always) func string(_ span: ByteSpan) -> String {
        String(decoding: bytes(span), as: UTF8.self)
    }

    /// Whether the span holds exactly the bytes of `literal`.
    @inline(__always) func matches(_ span: ByteSpan, _ literal: StaticString) -> Bool {
        let length = literal.utf8CodeUnitCount
        guard span.count == length, span.start >= 0, span.end <= count else { return false }
        guard length > 0, let base = baseAddress else { return length == 0 }
        return memcmp(base + span.start, literal.utf8Start, length) == 0
    }

    /// Whether the span starts with the bytes of `literal`.
    @inline(__always) func hasPrefix(_ span: ByteSpan, _ literal: StaticString) -> Bool {
        let length = literal.utf8CodeUnitCount
        guard span.count >= length else { return false }
        return matches(ByteSpan(start: span.start, end: span.start &+ length), literal)
    }

    @inline(__always) func firstIndex(of byte: UInt8, in span: ByteSpan) -> Int? {
        var i = span.start
        while i < span.end {
            if self[i] == byte { return i }
            i &+= 1
        }
        return nil
    }

    @inline(__always) func contains(_ byte: UInt8, in span: ByteSpan) -> Bool {
        firstIndex(of: byte, in: span) != nil
    }

    /// The span without leading and trailing blanks.
    @inline(__always) func trimmingBlanks(_ span: ByteSpan) -> ByteSpan {
        var start = span.start
        var end = span.end
        while start < end && ASCII.isBlank(self[start]) { start &+= 1 }
        while end > start && ASCII.isBlank(self[end &- 1]) { end &-= 1 }
        return ByteSpan(start: start, end: end)
    }
}

/// Lines of a file, split on '\n', each without its terminator; a '\r' before the '\n' (CRLF) is
/// dropped too. A final line without '\n' is still a line; the empty text after a final '\n' is not.
struct LineReader {
    let bytes: UnsafeRawBufferPointer
    /// The bytes as `UInt8`s, read without a bounds check per byte (the loops keep within `count`).
    private let base: UnsafePointer<UInt8>?
    private var position = 0
    /// The 1-based number of the line last returned.
    private(set) var lineNumber = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.base = bytes.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
    }

    @inline(__always) mutating func next() -> ByteSpan? {
        let count = bytes.count
        guard position < count, let base else { return nil }
        let start = position
        // memchr: the C library's vectorised search, several times faster than a byte loop.
        let end: Int
        if let newline = memchr(base + start, Int32(ASCII.newline), count &- start) {
            end = base.distance(to: newline.assumingMemoryBound(to: UInt8.self))
        } else {
            end = count
        }
        position = end &+ 1
        var trimmed = end
        if trimmed > start && base[trimmed &- 1] == ASCII.carriageReturn { trimmed &-= 1 }
        lineNumber &+= 1
        return ByteSpan(start: start, end: trimmed)
    }
}

/// Blank-separated fields of one line (runs of spaces or tabs separate; none are empty).
struct FieldReader {
    private let base: UnsafePointer<UInt8>?
    private var position: Int
    private let end: Int

    init(_ bytes: UnsafeRawBufferPointer, _ span: ByteSpan) {
        self.base = bytes.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
        precondition(span.start >= 0 && span.end <= bytes.count)
        self.position = span.start
        self.end = span.end
    }

    @inline(__always) mutating func next() -> ByteSpan? {
        guard let base else { return nil }
        var i = position
        while i < end && ASCII.isBlank(base[i]) { i &+= 1 }
        guard i < end else {
            position = end
            return nil
        }
        let start = i
        while i < end && !ASCII.isBlank(base[i]) { i &+= 1 }
        position = i
        return ByteSpan(start: start, end: i)
    }
}

enum DecimalText {
    /// A decimal unsigned integer made only of digits: no sign, no blanks, no empty string.
    /// Nil on anything else and on overflow (never a wrapped value). Stops at the first bad byte.
    @inline(__always)
    static func uint64(_ bytes: UnsafeRawBufferPointer, _ span: ByteSpan) -> UInt64? {
        guard span.start < span.end, span.start >= 0, span.end <= bytes.count, let raw = bytes.baseAddress else { return nil }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        var value: UInt64 = 0
        var i = span.start
        while i < span.end {
            let digit = base[i] &- ASCII.zero
            guard digit <= 9 else { return nil }
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(UInt64(digit))
            guard !overflowA && !overflowB else { return nil }
            value = sum
            i &+= 1
        }
        return value
    }

    @inline(__always)
    static func uint32(_ bytes: UnsafeRawBufferPointer, _ span: ByteSpan) -> UInt32? {
        uint64(bytes, span).flatMap { UInt32(exactly: $0) }
    }

    @inline(__always)
    static func int32(_ bytes: UnsafeRawBufferPointer, _ span: ByteSpan) -> Int32? {
        uint64(bytes, span).flatMap { Int32(exactly: $0) }
    }

    /// Exact powers of ten: every one up to 1e22 is representable as a Double.
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Decimal fractions longer than this are refused rather than converted: the kernel writes
    /// at most "100.00", and the fallback conversion should not see megabytes of digits.
    static let maximumDoubleLength = 64

    /// A non-negative decimal `digits` or `digits.digits` (the PSI averages' "%lu.%02lu"),
    /// rounded exactly as `Double(String)` rounds it.
    ///
    /// When the digits without the point fit in 2^53 and there are at most 22 after it, both the
    /// integer and the power of ten are exact Doubles, and IEEE division rounds their quotient
    /// correctly: the same nearest Double as strtod. Longer inputs (never written by the kernel)
    /// go through the standard library's own conversion.
    static func double(_ bytes: UnsafeRawBufferPointer, _ span: ByteSpan) -> Double? {
        guard span.count <= maximumDoubleLength else { return nil }
        var mantissa: UInt64 = 0
        var integerDigits = 0
        var fractionDigits = 0
        var sawPoint = false
        var exact = true
        var i = span.start
        while i < span.end {
            let byte = bytes[i]
            i &+= 1
            if byte == ASCII.period {
                guard !sawPoint else { return nil }
                sawPoint = true
                continue
            }
            let digit = byte &- ASCII.zero
            guard digit <= 9 else { return nil }
            if sawPoint { fractionDigits &+= 1 } else { integerDigits &+= 1 }
            if exact {
                let (shifted, overflowA) = mantissa.multipliedReportingOverflow(by: 10)
                let (sum, overflowB) = shifted.addingReportingOverflow(UInt64(digit))
                if overflowA || overflowB || sum > (1 << 53) { exact = false } else { mantissa = sum }
            }
        }
        guard integerDigits > 0, !sawPoint || fractionDigits > 0 else { return nil }
        if exact && fractionDigits <= 22 {
            return Double(mantissa) / exactPowersOfTen[fractionDigits]
        }
        return Double(bytes.string(span))
    }
}

/// The state of one expected key while a keyed file is scanned.
enum Slot: Equatable {
    case unseen
    case value(UInt64)
    /// Seen with a bad value, or seen twice: the field stays nil rather than take a guess.
    case rejected

    @inline(__always) var number: UInt64? {
        if case .value(let v) = self { return v }
        return nil
    }

    /// Records one occurrence of the key; returns false when the line is to be counted malformed.
    @inline(__always) mutating func record(_ value: UInt64?) -> Bool {
        if case .unseen = self, let value {
            self = .value(value)
            return true
        }
        self = .rejected
        return false
    }
}

/// The keys of a keyed kernel file, one case each: the case's raw value is its slot (cases in
/// order from 0), `name` its text in the file. A parser reads its values by case, never by a
/// position, so adding a key is one case (the compiler then asks for its name) and a field.
protocol FileKey: CaseIterable, RawRepresentable, Sendable where RawValue == Int {
    var name: StaticString { get }
}

/// The values of a keyed file's keys found by one scan, by key. Inline: no allocation per parse
/// (memory.stat is parsed for every cgroup at every scrape).
struct KeyedSlots<Key: FileKey> {
    /// The most keys a file's key enum may have.
    static var capacity: Int { 32 }
    private var slots = InlineArray<32, Slot>(repeating: .unseen)

    @inline(__always) subscript(key: Key) -> Slot {
        get { slots[key.rawValue] }
        set { slots[key.rawValue] = newValue }
    }

    /// The key's value, or nil when it was absent, repeated or bad.
    @inline(__always) func number(_ key: Key) -> UInt64? { slots[key.rawValue].number }
}

/// The keys a parser looks for (all of `Key`, or some of them), matched against a line's key
/// bytes without allocating.
struct KeyTable<Key: FileKey>: Sendable {
    private let keys: [Key]
    private let names: [StaticString]
    /// Key indices grouped by key length: a line's key is compared only with keys of its length
    /// (memory.stat has ~50 lines a file and kubemeter reads it for every cgroup).
    private let byLength: [[Int]]

    init(_ keys: [Key] = Array(Key.allCases)) {
        for (offset, key) in Key.allCases.enumerated() {
            precondition(key.rawValue == offset, "\(Key.self): raw values must run 0, 1, 2, ... in case order")
        }
        precondition(Key.allCases.count <= KeyedSlots<Key>.capacity, "\(Key.self): more keys than KeyedSlots holds")
        self.keys = keys
        names = keys.map(\.name)
        let longest = names.map(\.utf8CodeUnitCount).max() ?? 0
        var byLength = [[Int]](repeating: [], count: longest + 1)
        for (i, name) in names.enumerated() { byLength[name.utf8CodeUnitCount].append(i) }
        self.byLength = byLength
    }

    var count: Int { keys.count }

    @inline(__always)
    func key(of span: ByteSpan, in bytes: UnsafeRawBufferPointer) -> Key? {
        let length = span.count
        guard length > 0, length < byLength.count else { return nil }
        for i in byLength[length] where bytes.matches(span, names[i]) {
            return keys[i]
        }
        return nil
    }
}

/// Flat-keyed cgroup files ("key value" per line: cpu.stat, memory.stat, memory.events,
/// cgroup.events).
enum FlatKeyedFile {
    /// One slot per key of `table`, and the number of lines skipped.
    ///
    /// A line is skipped and counted when it has a single field, or carries a known key whose value
    /// is not exactly one valid number, or repeats a known key (which also voids the key's value).
    /// Lines with unknown keys are ignored: new kernels add keys anywhere.
    ///
    /// With `stoppingWhenAllSeen`, the scan ends at the line that gives the last key of `table` a
    /// value: for a caller that needs a few keys near the top of a long file (a repeat of one of
    /// them further down then goes unnoticed; the kernel writes each key once).
    static func scan<Key>(
        _ bytes: UnsafeRawBufferPointer, file: String, keys table: KeyTable<Key>, stoppingWhenAllSeen: Bool = false
    ) throws(ParseError) -> (slots: KeyedSlots<Key>, malformedLines: Int) {
        if bytes.isBlankFile { throw ParseError(file: file, reason: .empty) }
        var slots = KeyedSlots<Key>()
        var malformed = 0
        var unseen = table.count
        var lines = LineReader(bytes)
        while let line = lines.next() {
            var fields = FieldReader(bytes, line)
            guard let key = fields.next() else { continue }
            guard let value = fields.next() else {
                malformed += 1
                continue
            }
            guard let known = table.key(of: key, in: bytes) else { continue }
            let single = fields.next() == nil
            let firstTime = slots[known] == .unseen
            if !slots[known].record(single ? DecimalText.uint64(bytes, value) : nil) {
                malformed += 1
            }
            if firstTime {
                unseen -= 1
                if stoppingWhenAllSeen && unseen == 0 { break }
            }
        }
        return (slots, malformed)
    }
}
