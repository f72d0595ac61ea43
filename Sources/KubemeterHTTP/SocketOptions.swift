import Glibc

/// Per-socket options used by the I/O thread.
enum SocketOptions {
    static func makeNonBlocking(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { return false }
        let descriptorFlags = fcntl(fd, F_GETFD)
        return descriptorFlags >= 0 && fcntl(fd, F_SETFD, descriptorFlags | FD_CLOEXEC) == 0
    }

    /// Responses go out in one sendmsg; Nagle would only delay the tail of a large one.
    static func disableNagle(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Bounds what the kernel queues for the socket (the kernel doubles the value for its
    /// bookkeeping, and no longer grows the buffer by itself).
    static func setSendBuffer(_ fd: Int32, bytes: Int) {
        var size = Int32(clamping: bytes)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Bytes in the socket's send queue, sent or not, that the peer has not acknowledged
    /// (SIOCOUTQ); 0 if the kernel cannot say.
    static func unacknowledgedBytes(_ fd: Int32) -> Int {
        var queued: Int32 = 0
        return ioctl(fd, UInt(TIOCOUTQ), &queued) == 0 ? Int(max(0, queued)) : 0
    }

    /// close() then sends RST at once and drops unsent data, instead of the kernel retrying for minutes
    /// to deliver a response to a client that stopped reading.
    static func closeAbortively(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }
}
