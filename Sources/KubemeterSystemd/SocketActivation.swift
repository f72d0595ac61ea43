import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// Why the sockets systemd passed cannot be used.
package enum SocketActivationError: Error, Equatable, CustomStringConvertible {
    /// `sd_listen_fds` failed (e.g. a malformed `LISTEN_FDS`); the value is the negative errno.
    case listenFDsFailed(errno: Int32)
    /// More than one socket was passed; kubemeter serves exactly one.
    case tooManySockets(count: Int32)
    /// The passed descriptor is not a listening stream socket (`ListenStream=` in the .socket unit).
    case notAListeningStreamSocket(fd: Int32)

    package var description: String {
        switch self {
        case .listenFDsFailed(let errno):
            return "sd_listen_fds failed: errno \(-errno)"
        case .tooManySockets(let count):
            return "systemd passed \(count) sockets; kubemeter.socket must have exactly one ListenStream="
        case .notAListeningStreamSocket(let fd):
            return "fd \(fd) passed by systemd is not a listening stream socket (use ListenStream=)"
        }
    }
}

/// systemd socket activation (`sd_listen_fds(3)`).
package enum SocketActivation {
    /// The listening socket systemd passed (`LISTEN_FDS`/`LISTEN_PID`), or nil when started without
    /// one. Unsets the variables, so child processes do not inherit them.
    package static func passedListeningSocket() throws(SocketActivationError) -> Int32? {
        let count = sd_listen_fds(1)
        if count < 0 { throw .listenFDsFailed(errno: count) }
        if count == 0 { return nil }
        if count > 1 { throw .tooManySockets(count: count) }
        let fd = Int32(SD_LISTEN_FDS_START)
        guard sd_is_socket(fd, AF_UNSPEC, Int32(SOCK_STREAM.rawValue), 1) > 0 else {
            throw .notAListeningStreamSocket(fd: fd)
        }
        return fd
    }
}
