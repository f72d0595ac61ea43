#if canImport(Glibc)
package import Glibc
#endif
package import KubemeterParsers

/// Why a host file or directory gave nothing: the one error of every read of the host (kept
/// files, directory listings, link targets), with the path it is about.
package enum HostFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kernel has no such file here (ENOENT, ENOTDIR at a first open): `cpu.pressure`
    /// without PSI, `memory.swap.current` without swap accounting. Not a problem.
    case notFound(path: String)
    /// It went away while it was being read: a cgroup removed (ENODEV on a kept fd), a process
    /// gone (ESRCH), a directory or link that discovery had just listed (ENOENT). Churn.
    case vanished(path: String)
    /// Any other errno (EACCES, EMFILE, EIO, ...).
    case io(path: String, errno: Int32)
    /// The bytes were read but are not what the kernel writes.
    case parse(path: String, ParseError)

    package var path: String {
        switch self {
        case .notFound(let path), .vanished(let path), .io(let path, _), .parse(let path, _): path
        }
    }

    package var description: String {
        switch self {
        case .notFound(let path): "\(path): no such file"
        case .vanished(let path): "\(path): vanished while reading"
        case .io(let path, let code): "\(path): \(String(cString: strerror(code)))"
        case .parse(let path, let error): "\(path): \(error.reason)"
        }
    }

    /// What was being done when a call failed. ENOENT means absence before a first open, and
    /// removal once the file or directory was known to be there: the one place that says so.
    package enum Operation: Sendable {
        /// Opening a file the kernel may not have (a first open of a cgroup or /proc file).
        case opening
        /// Reading something known to have been there: a kept fd, a directory or link that a
        /// listing has just named.
        case revisiting
    }

    /// The error for `code`, set by a failed call on `path` during `operation`.
    package init(errno code: Int32, path: String, during operation: Operation) {
        switch (code, operation) {
        case (ENOENT, .opening), (ENOTDIR, .opening): self = .notFound(path: path)
        case (ENOENT, _), (ENOTDIR, _), (ENODEV, _), (ESRCH, _): self = .vanished(path: path)
        default: self = .io(path: path, errno: code)
        }
    }
}
