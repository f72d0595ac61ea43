import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd about the service's state through `sd_notify(3)`. Outside systemd (no
/// `NOTIFY_SOCKET`) every call is a no-op, so the agent calls it unconditionally.
package struct SystemdNotifier: Sendable {
    package init() {}

    /// True when the service manager gave us a notification socket.
    package static var isConfigured: Bool {
        guard let value = getenv("NOTIFY_SOCKET") else { return false }
        return value.pointee != 0
    }

    /// Sends `state` (e.g. `READY=1`, `STATUS=...`). Returns false when systemd could not be told.
    @discardableResult
    package func notify(_ state: String) -> Bool {
        sd_notify(0, state) >= 0
    }
}
