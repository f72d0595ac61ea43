#if canImport(Glibc)
import Glibc
#endif

/// `JOURNAL_STREAM` (`device:inode`), which systemd sets when a service's stdout or stderr is
/// connected to the journal. Comparing it with stderr's own device and inode tells whether our
/// stderr really is the journal (and not, say, redirected by a wrapper script).
package struct JournalStream: Equatable, Sendable {
    package var device: UInt64
    package var inode: UInt64

    package init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// Parses `device:inode` (both decimal); nil for anything else.
    package init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        self.init(device: device, inode: inode)
    }

    /// True when `JOURNAL_STREAM` names the file open on `fd` (default: stderr).
    package static func isJournal(fd: Int32 = 2) -> Bool {
        guard let raw = getenv("JOURNAL_STREAM"), let stream = JournalStream(parsing: String(cString: raw)) else {
            return false
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else { return false }
        return UInt64(status.st_dev) == stream.device && UInt64(status.st_ino) == stream.inode
    }
}
