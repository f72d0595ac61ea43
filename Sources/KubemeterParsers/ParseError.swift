/// Why a kernel file's bytes could not be read as that file.
///
/// Parsers throw this only when nothing useful can be taken from the file. A single bad line in a
/// keyed file is not an error: the line is skipped, its field left `nil`, and the skip counted.
package struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
    package enum Reason: Equatable, Sendable {
        /// Zero bytes, or only whitespace.
        case empty
        /// A field the format requires is absent.
        case missingField(String)
        /// A line that cannot be read at all (1-based).
        case malformed(line: Int)
        /// A field that should be a number is not one (text, a sign, an overflow, a second value).
        case invalidNumber(field: String)
        /// The input is larger than a parser's hard bound.
        case tooLarge
    }

    /// The kernel file, as named in docs (e.g. "cpu.stat", "/proc/stat").
    package var file: String
    package var reason: Reason

    package init(file: String, reason: Reason) {
        self.file = file
        self.reason = reason
    }

    package var description: String {
        switch reason {
        case .empty: "\(file): empty"
        case .missingField(let field): "\(file): missing field \(field)"
        case .malformed(let line): "\(file): malformed line \(line)"
        case .invalidNumber(let field): "\(file): invalid number in \(field)"
        case .tooLarge: "\(file): too large"
        }
    }
}
