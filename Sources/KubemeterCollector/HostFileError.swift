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

extension HostFileError {
    /// The error for a failed open or read of `path`.
    static func classify(_ code: Int32, _ path: String) -> HostFileError {
        switch code {
        case ENOENT, ENOTDIR: .notFound(path: path)
        case ENODEV: .vanished(path: path)
        default: .io(path: path, errno: code)
        }
    }
}
