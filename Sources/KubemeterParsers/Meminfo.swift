/// `/proc/meminfo`: every entry in file order, with values in bytes.
///
///     MemTotal:       24684092 kB
///     HugePages_Total:       0
///
/// Lines with the ` kB` unit (KiB, whatever the kernel calls it) are converted to bytes; unit-less
/// lines (the HugePages_* counts) are kept as they are. An entry whose bytes would overflow a
/// UInt64 is skipped, never wrapped.
package struct Meminfo: KernelFile, Equatable, Sendable {
    package static let fileName = "/proc/meminfo"

    /// Entry names in file order, without the colon (e.g. "Inactive(file)").
    package var names: [String]
    /// `values[i]` belongs to `names[i]`.
    package var values: [UInt64]
    /// Lines skipped: no colon, a bad or overflowing number, an unknown unit, an over-long name,
    /// or a repeated name (which also removes the first entry of that name).
    package var malformedLines: Int

    /// - Precondition: `names` and `values` have the same count.
    package init(names: [String], values: [UInt64], malformedLines: Int = 0) {
        precondition(names.count == values.count, "Meminfo names and values must pair up")
        self.names = names
        self.values = values
        self.malformedLines = malformedLines
    }

    /// The value of the entry `name` (bytes, or a raw count for unit-less entries).
    package subscript(name: String) -> UInt64? {
        guard let index = names.firstIndex(of: name) else { return nil }
        return values[index]
    }

    package var memTotal: UInt64? { self["MemTotal"] }
    package var memFree: UInt64? { self["MemFree"] }
    package var memAvailable: UInt64? { self["MemAvailable"] }
    package var buffers: UInt64? { self["Buffers"] }
    package var cached: UInt64? { self["Cached"] }
    package var swapTotal: UInt64? { self["SwapTotal"] }
    package var swapFree: UInt64? { self["SwapFree"] }
    /// "Inactive(file)".
    package var inactiveFile: UInt64? { self["Inactive(file)"] }
    /// "Active(file)".
    package var activeFile: UInt64? { self["Active(file)"] }

    /// Longer names are not meminfo's (its longest is under 20 bytes); refusing them keeps a
    /// hostile line from becoming a huge String.
    static let maximumNameLength = 64

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> Meminfo {
        if bytes.isBlankFile { throw ParseError(file: fileName, reason: .empty) }
        var names: [String] = []
        var values: [UInt64] = []
        names.reserveCapacity(64)
        values.reserveCapacity(64)
        var malformed = 0
        var seen = DuplicateFinder<String>()
        var repeated: Set<String> = []

        var lines = LineReader(bytes)
        while let line = lines.next() {
            let trimmed = bytes.trimmingBlanks(line)
            if trimmed.isEmpty { continue }
            guard let colon = bytes.firstIndex(of: ASCII.colon, in: trimmed),
                  let value = parseValue(bytes, ByteSpan(start: colon + 1, end: trimmed.end))
            else {
                malformed += 1
                continue
            }
            let nameSpan = ByteSpan(start: trimmed.start, end: colon)
            guard isName(bytes, nameSpan) else {
                malformed += 1
                continue
            }
            let name = bytes.string(nameSpan)
            if !seen.insert(name) {
                repeated.insert(name)
                malformed += 1
            }
            names.append(name)
            values.append(value)
        }
        if !repeated.isEmpty {
            // Every line of a repeated name goes: which one is meant cannot be known.
            var keptNames: [String] = []
            var keptValues: [UInt64] = []
            for (name, value) in zip(names, values) where !repeated.contains(name) {
                keptNames.append(name)
                keptValues.append(value)
            }
            names = keptNames
            values = keptValues
        }
        return Meminfo(names: names, values: values, malformedLines: malformed)
    }

    /// "  24684092 kB" or "  0": a number, then nothing or the unit "kB".
    private static func parseValue(_ bytes: UnsafeRawBufferPointer, _ span: ByteSpan) -> UInt64? {
        var fields = FieldReader(bytes, span)
        guard let number = fields.next(), let value = DecimalText.uint64(bytes, number) else { return nil }
        guard let unit = fields.next() else { return value }
        guard fields.next() == nil, bytes.matches(unit, "kB") else { return nil }
        let (inBytes, overflow) = value.multipliedReportingOverflow(by: 1024)
        return overflow ? nil : inBytes
    }

    /// Printable ASCII without blanks, 1 to `maximumNameLength` bytes.
    private static func isName(_ bytes: UnsafeRawBufferPointer, _ span: ByteSpan) -> Bool {
        guard span.count > 0 && span.count <= maximumNameLength else { return false }
        var i = span.start
        while i < span.end {
            let byte = bytes[i]
            guard byte > ASCII.space && byte < 0x7F else { return false }
            i += 1
        }
        return true
    }
}
