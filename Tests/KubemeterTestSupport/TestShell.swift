#if canImport(Glibc)
import Glibc
#endif

/// What the test targets share to drive the project's fake-node generator and read what it wrote.
/// Its failures are thrown, so a test that hits one fails with the command or path in the message.
public enum TestShell {
    /// A shell command that exited non-zero.
    public struct CommandFailed: Error, CustomStringConvertible {
        public let command: String
        public let status: Int32
        public var description: String { "command failed (\(status)): \(command)" }
    }

    /// A file that could not be opened or read.
    public struct ReadFailed: Error, CustomStringConvertible {
        public let path: String
        public let errno: Int32
        public var description: String { "cannot read \(path): errno \(errno)" }
    }

    /// The project's node generator, `Tests/tools/fake-node`, found from this file's place in the
    /// checkout (`Tests/KubemeterTestSupport/`), so nothing outside the repository is needed.
    public static func fakeNodeTool(from file: String = #filePath) -> String? {
        var directory = Substring(file)
        while let slash = directory.lastIndex(of: "/") {
            directory = directory[..<slash]
            let candidate = String(directory) + "/Tests/tools/fake-node"
            if access(candidate, R_OK) == 0 { return candidate }
        }
        return nil
    }

    /// The `Fixtures/` directory beside the calling test file (found through `#filePath`: no
    /// Bundle, no Foundation), with a trailing slash.
    public static func fixturesDirectory(beside file: String = #filePath) -> String {
        let cut = file.lastIndex(of: "/")!
        return String(file[..<cut]) + "/Fixtures/"
    }

    /// Runs `command` with /bin/sh.
    public static func run(_ command: String) throws(CommandFailed) {
        let status = system(command)
        guard status == 0 else { throw CommandFailed(command: command, status: status) }
    }

    /// The whole of a file, as UTF-8 (invalid bytes repaired).
    public static func readFile(_ path: String) throws(ReadFailed) -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    /// The whole of a file, its bytes exactly as stored (the one file reader of the test targets:
    /// the parsers' fixtures are read through it too).
    public static func readBytes(_ path: String) throws(ReadFailed) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadFailed(path: path, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count >= 0 else { throw ReadFailed(path: path, errno: errno) }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes
    }
}
