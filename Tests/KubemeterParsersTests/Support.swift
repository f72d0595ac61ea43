import KubemeterTestSupport
import Testing
@testable import KubemeterParsers

/// Fixture files live in `Fixtures/` next to this file.
enum Fixture {
    static let directory = TestShell.fixturesDirectory()

    /// The fixture's bytes exactly as stored.
    static func bytes(_ name: String) throws -> [UInt8] {
        try TestShell.readBytes(directory + name)
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }
}

/// The error a parse threw, or nil when it returned.
func parseError<T: KernelFile>(_ type: T.Type, _ bytes: [UInt8]) -> ParseError? {
    do {
        _ = try T.parse(bytes)
        return nil
    } catch {
        return error
    }
}

func parseError<T: KernelFile>(_ type: T.Type, _ text: String) -> ParseError? {
    parseError(type, Array(text.utf8))
}


/// Text lines joined with a newline after each, as the kernel writes them.
func lines(_ lines: String...) -> String {
    lines.map { $0 + "\n" }.joined()
}
