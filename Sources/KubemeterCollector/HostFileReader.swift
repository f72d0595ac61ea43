#if canImport(Glibc)
import Glibc
#endif
import KubemeterParsers

/// Why a host file gave no value.
public enum HostFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist (ENOENT, ENOTDIR): the kernel has no such file here. Not a problem.
    case notFound(path: String)
    /// The cgroup went away while it was read (ENODEV on kernfs, or ENOENT after listing).
    case vanished(path: String)
    /// Any other read error, with errno.
    case io(path: String, errno: Int32)
    /// The bytes were read but are not what the kernel writes.
    case parse(path: String, ParseError)

    public var description: String {
        switch self {
        case .notFound(let path): "\(path): no such file"
        case .vanished(let path): "\(path): vanished while reading"
        case .io(let path, let code): "\(path): \(String(cString: strerror(code)))"
        case .parse(let path, let error): "\(path): \(error.reason)"
        }
    }
}

/// Reads whole small files into one reusable buffer: one open, one or two reads, one close per file.
/// Not thread-safe: one collection at a time owns it.
public final class HostFileReader {
    private var buffer: UnsafeMutableRawBufferPointer
    /// Files bigger than this are refused: no kernel file kubemeter reads comes near it, and a
    /// hostile file must not make the agent allocate without bound.
    public let maximumFileSize: Int

    public init(initialCapacity: Int = 64 * 1024, maximumFileSize: Int = 4 * 1024 * 1024) {
        buffer = .allocate(byteCount: initialCapacity, alignment: 16)
        self.maximumFileSize = maximumFileSize
    }

    deinit { buffer.deallocate() }

    /// Reads `path` and hands its bytes to `parse`; the bytes are only valid inside the call.
    public func read<Value>(
        _ path: String, _ parse: (UnsafeRawBufferPointer) throws(ParseError) -> Value
    ) -> Result<Value, HostFileError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return .failure(Self.classify(errno, path)) }
        defer { close(fd) }
        var length = 0
        while true {
            if length == buffer.count {
                guard buffer.count < maximumFileSize else {
                    return .failure(.parse(path: path, ParseError(file: path, reason: .tooLarge)))
                }
                grow()
            }
            let n = Glibc.read(fd, buffer.baseAddress! + length, buffer.count - length)
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(Self.classify(errno, path))
            }
            if n == 0 { break }
            length += n
        }
        do {
            return .success(try parse(UnsafeRawBufferPointer(rebasing: buffer[0..<length])))
        } catch {
            return .failure(.parse(path: path, error))
        }
    }

    private func grow() {
        let bigger = UnsafeMutableRawBufferPointer.allocate(
            byteCount: min(buffer.count * 2, maximumFileSize), alignment: 16)
        bigger.copyMemory(from: UnsafeRawBufferPointer(buffer))
        buffer.deallocate()
        buffer = bigger
    }

    static func classify(_ code: Int32, _ path: String) -> HostFileError {
        switch code {
        case ENOENT, ENOTDIR: .notFound(path: path)
        case ENODEV: .vanished(path: path)
        default: .io(path: path, errno: code)
        }
    }
}
