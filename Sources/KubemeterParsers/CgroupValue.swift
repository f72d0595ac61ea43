/// A cgroup file that holds one unsigned number: `memory.current`, `memory.swap.current`,
/// `memory.peak`, `pids.current`, `cpu.weight`, ...
///
/// The kernel writes the number and one newline. Anything else (text, a sign, an overflow, two
/// numbers, padding) is `.invalidNumber`: a single-value file has no other field to fall back on.
package struct CgroupValue: KernelFile, Equatable, Sendable {
    /// Generic, since one type serves many files; `parse(_:file:)` names the real file in errors.
    package static let fileName = "single-value file"

    package var value: UInt64

    package init(value: UInt64) {
        self.value = value
    }

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> CgroupValue {
        try parse(bytes, file: fileName)
    }

    /// Parses `bytes`, naming `file` (e.g. "memory.current") in any error.
    package static func parse(
        _ bytes: UnsafeRawBufferPointer, file: String
    ) throws(ParseError) -> CgroupValue {
        if bytes.isBlankFile { throw ParseError(file: file, reason: .empty) }
        guard let value = DecimalText.uint64(bytes, SingleValueFile.content(bytes)) else {
            throw ParseError(file: file, reason: .invalidNumber(field: "value"))
        }
        return CgroupValue(value: value)
    }

    package static func parse(_ bytes: [UInt8], file: String) throws(ParseError) -> CgroupValue {
        try withBytes(of: bytes) { (raw) throws(ParseError) in try parse(raw, file: file) }
    }

    package static func parse(_ text: String, file: String) throws(ParseError) -> CgroupValue {
        try parse(Array(text.utf8), file: file)
    }
}

enum SingleValueFile {
    /// The file without its one trailing newline ("\n" or "\r\n"); nothing else is trimmed.
    @inline(__always) static func content(_ bytes: UnsafeRawBufferPointer) -> ByteSpan {
        var end = bytes.count
        if end > 0 && bytes[end - 1] == ASCII.newline {
            end -= 1
            if end > 0 && bytes[end - 1] == ASCII.carriageReturn { end -= 1 }
        }
        return ByteSpan(start: 0, end: end)
    }
}
