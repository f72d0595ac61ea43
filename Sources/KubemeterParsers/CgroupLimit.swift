/// A cgroup limit file: `memory.max`, `memory.swap.max`, `memory.high`, `pids.max`, ...
///
/// The kernel writes either "max" (no limit) or a number, then one newline.
package enum CgroupLimit: KernelFile, Equatable, Sendable {
    case unlimited
    case limited(UInt64)

    /// Generic, since one type serves many files; `parse(_:file:)` names the real file in errors.
    package static let fileName = "limit file"

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> CgroupLimit {
        try parse(bytes, file: fileName)
    }

    /// Parses `bytes`, naming `file` (e.g. "memory.max") in any error.
    package static func parse(
        _ bytes: UnsafeRawBufferPointer, file: String
    ) throws(ParseError) -> CgroupLimit {
        if bytes.isBlankFile { throw ParseError(file: file, reason: .empty) }
        let content = SingleValueFile.content(bytes)
        if bytes.matches(content, "max") { return .unlimited }
        guard let value = DecimalText.uint64(bytes, content) else {
            throw ParseError(file: file, reason: .invalidNumber(field: "value"))
        }
        return .limited(value)
    }

    package static func parse(_ bytes: [UInt8], file: String) throws(ParseError) -> CgroupLimit {
        try withBytes(of: bytes) { (raw) throws(ParseError) in try parse(raw, file: file) }
    }

    package static func parse(_ text: String, file: String) throws(ParseError) -> CgroupLimit {
        try parse(Array(text.utf8), file: file)
    }
}
