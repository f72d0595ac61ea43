#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import KubemeterSync

/// Writes whole lines to a file descriptor (stderr by default), one event at a time, so that
/// lines from different threads never interleave.
package final class LineWriter: Sendable {
    package static let standardError = LineWriter(fd: 2)

    private let fd: Int32
    private let lock = AnnotatedMutex<Void>(())

    package init(fd: Int32) {
        self.fd = fd
    }

    /// Writes `line` and a newline; a failing stderr is ignored (there is nowhere left to report it).
    package func write(line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return }
                    offset += n
                }
            }
        }
    }
}
