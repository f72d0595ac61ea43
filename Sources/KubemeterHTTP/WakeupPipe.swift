import Glibc

/// A self-pipe that wakes the I/O thread out of poll() when a worker finishes or shutdown is asked.
///
/// The descriptors are closed in deinit, i.e. only after the I/O thread and every worker (which all
/// hold a reference) are done, so a late worker can never write into a reused descriptor number.
final class WakeupPipe: Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws(HTTPServerError) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            throw .system(.resources, address: "wake-up pipe", errorNumber: errno)
        }
        readEnd = ends[0]
        writeEnd = ends[1]
        guard SocketOptions.makeNonBlocking(readEnd), SocketOptions.makeNonBlocking(writeEnd) else {
            let failure = errno
            close(readEnd)
            close(writeEnd)
            throw .system(.resources, address: "wake-up pipe", errorNumber: failure)
        }
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Callable from any thread. A full pipe already guarantees a pending wake-up, so EAGAIN is fine.
    func signal() {
        var byte: UInt8 = 1
        while write(writeEnd, &byte, 1) < 0 && errno == EINTR {}
    }

    /// Empties the pipe; called by the I/O thread when the read end is readable.
    func drain() {
        var scratch = [UInt8](repeating: 0, count: 256)
        while true {
            let count = read(readEnd, &scratch, scratch.count)
            if count > 0 { continue }
            if count < 0 && errno == EINTR { continue }
            return
        }
    }
}
