/// A kernel file's contents as a typed value, parsed from the bytes of one read.
///
/// Parsers do no I/O: the caller reads the file (once, into a reused buffer) and hands over
/// the bytes, which need only live for the call.
package protocol KernelFile: Sendable {
    /// The kernel file's name as written in errors and docs (e.g. "cpu.stat").
    static var fileName: String { get }
    /// Parses the whole file. Throws only when nothing useful can be taken from it.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> Self
}

extension KernelFile {
    /// Parses bytes held in an array (tests, and callers that already have one).
    package static func parse(_ bytes: [UInt8]) throws(ParseError) -> Self {
        try withBytes(of: bytes) { (raw) throws(ParseError) in try parse(raw) }
    }

    /// Parses text (tests and fixtures); the text's UTF-8 bytes are what is parsed.
    package static func parse(_ text: String) throws(ParseError) -> Self {
        try parse(Array(text.utf8))
    }
}

/// `Array.withUnsafeBytes` with a typed error (the standard library's version only rethrows).
func withBytes<Value>(
    of array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ParseError) -> Value
) throws(ParseError) -> Value {
    let result = array.withUnsafeBytes { raw in
        Result { () throws(ParseError) -> Value in try body(raw) }
    }
    return try result.get()
}
