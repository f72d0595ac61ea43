/// A cgroup v2 `cpu.max`: "$MAX $PERIOD" in microseconds, where $MAX is "max" for no quota
/// (the default is "max 100000").
package struct CPUMax: KernelFile, Equatable, Sendable {
    package static let fileName = "cpu.max"

    /// The CPU time the cgroup may use per period; nil when the quota is "max" (unlimited).
    package var quotaUsec: UInt64?
    package var periodUsec: UInt64

    package init(quotaUsec: UInt64?, periodUsec: UInt64) {
        self.quotaUsec = quotaUsec
        self.periodUsec = periodUsec
    }

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> CPUMax {
        if bytes.isBlankFile { throw ParseError(file: fileName, reason: .empty) }
        var lines = LineReader(bytes)
        guard let line = lines.next() else { throw ParseError(file: fileName, reason: .empty) }
        // One line only: anything after it (other than trailing whitespace) is not this file.
        if let extra = lines.next(), !bytes.bytes(ByteSpan(start: extra.start, end: bytes.count)).isBlankFile {
            throw ParseError(file: fileName, reason: .malformed(line: 2))
        }
        var fields = FieldReader(bytes, line)
        guard let quota = fields.next() else { throw ParseError(file: fileName, reason: .malformed(line: 1)) }
        guard let period = fields.next() else {
            throw ParseError(file: fileName, reason: .missingField("period"))
        }
        if fields.next() != nil { throw ParseError(file: fileName, reason: .malformed(line: 1)) }

        var quotaUsec: UInt64?
        if !bytes.matches(quota, "max") {
            guard let value = DecimalText.uint64(bytes, quota) else {
                throw ParseError(file: fileName, reason: .invalidNumber(field: "quota"))
            }
            quotaUsec = value
        }
        guard let periodUsec = DecimalText.uint64(bytes, period) else {
            throw ParseError(file: fileName, reason: .invalidNumber(field: "period"))
        }
        return CPUMax(quotaUsec: quotaUsec, periodUsec: periodUsec)
    }
}
