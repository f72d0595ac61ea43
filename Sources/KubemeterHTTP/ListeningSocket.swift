import Glibc

/// Creating, adopting and describing the listening socket.
enum ListeningSocket {
    /// Binds and listens on `address`. "" binds IPv6 "::" dual-stack, falling back to 0.0.0.0 where the
    /// kernel has no IPv6. A host name resolving to several addresses binds the first that works,
    /// IPv4 first, so that "localhost" means 127.0.0.1 as most clients expect.
    static func open(_ address: ListenAddress) throws(HTTPServerError) -> Int32 {
        if address.host.isEmpty {
            var any6 = sockaddr_in6()
            any6.sin6_family = sa_family_t(AF_INET6)
            any6.sin6_port = address.port.bigEndian
            do {
                return try withUnsafeBytes(of: &any6) { raw throws(HTTPServerError) in
                    try bindAndListen(raw, family: AF_INET6, dualStack: true, label: address.description)
                }
            } catch where error.errorNumber == EAFNOSUPPORT || error.errorNumber == EADDRNOTAVAIL {
                var any4 = sockaddr_in()
                any4.sin_family = sa_family_t(AF_INET)
                any4.sin_port = address.port.bigEndian
                return try withUnsafeBytes(of: &any4) { raw throws(HTTPServerError) in
                    try bindAndListen(raw, family: AF_INET, dualStack: false, label: address.description)
                }
            }
        }

        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &list)
        guard status == 0, let list else {
            if status == EAI_SYSTEM {
                throw .system(.addressResolution, address: address.description, errorNumber: errno)
            }
            throw HTTPServerError(
                kind: .addressResolution, address: address.description, detail: String(cString: gai_strerror(status))
            )
        }
        defer { freeaddrinfo(list) }

        var candidates: [UnsafeMutablePointer<addrinfo>] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let entry = cursor {
            if entry.pointee.ai_family == AF_INET || entry.pointee.ai_family == AF_INET6 {
                candidates.append(entry)
            }
            cursor = entry.pointee.ai_next
        }
        candidates.sort { $0.pointee.ai_family == AF_INET && $1.pointee.ai_family != AF_INET }
        var lastError = HTTPServerError(
            kind: .addressResolution, address: address.description, detail: "no IPv4 or IPv6 address found"
        )
        for entry in candidates {
            let raw = UnsafeRawBufferPointer(start: entry.pointee.ai_addr, count: Int(entry.pointee.ai_addrlen))
            do {
                return try bindAndListen(raw, family: entry.pointee.ai_family, dualStack: false, label: address.description)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private static func bindAndListen(
        _ socketAddress: UnsafeRawBufferPointer, family: Int32, dualStack: Bool, label: String
    ) throws(HTTPServerError) -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(.socket, address: label, errorNumber: errno) }
        var one: Int32 = 1
        var zero: Int32 = 0
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0,
              !dualStack || setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<Int32>.size)) == 0
        else {
            let failure = errno
            close(fd)
            throw .system(.socket, address: label, errorNumber: failure)
        }
        let pointer = socketAddress.baseAddress!.assumingMemoryBound(to: sockaddr.self)
        guard bind(fd, pointer, socklen_t(socketAddress.count)) == 0 else {
            let failure = errno
            close(fd)
            throw .system(.bind, address: label, errorNumber: failure)
        }
        guard listen(fd, SOMAXCONN) == 0 else {
            let failure = errno
            close(fd)
            throw .system(.listen, address: label, errorNumber: failure)
        }
        return fd
    }

    /// Checks that an inherited descriptor (systemd socket activation) is a listening stream socket,
    /// and makes it non-blocking and close-on-exec.
    static func adopt(_ fd: Int32) throws(HTTPServerError) {
        let label = "fd \(fd)"
        var type: Int32 = 0
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 else {
            throw .system(.invalidListeningSocket, address: label, errorNumber: errno)
        }
        length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 else {
            throw .system(.invalidListeningSocket, address: label, errorNumber: errno)
        }
        guard type == Int32(SOCK_STREAM.rawValue), accepting != 0 else {
            throw HTTPServerError(
                kind: .invalidListeningSocket, address: label,
                detail: type == Int32(SOCK_STREAM.rawValue) ? "socket is not listening" : "not a stream socket"
            )
        }
        guard SocketOptions.makeNonBlocking(fd) else {
            throw .system(.invalidListeningSocket, address: label, errorNumber: errno)
        }
    }

    /// The address the kernel actually bound (the real port when 0 was asked). A Unix socket
    /// (possible with socket activation) is reported as host "unix:<path>", port 0.
    static func localAddress(_ fd: Int32) -> ListenAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard status == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: &storage) { raw in
                var v4 = raw.load(as: sockaddr_in.self)
                return ListenAddress(host: numericHost(AF_INET, &v4.sin_addr), port: UInt16(bigEndian: v4.sin_port))
            }
        case AF_INET6:
            return withUnsafeBytes(of: &storage) { raw in
                var v6 = raw.load(as: sockaddr_in6.self)
                return ListenAddress(host: numericHost(AF_INET6, &v6.sin6_addr), port: UInt16(bigEndian: v6.sin6_port))
            }
        case AF_UNIX:
            return withUnsafeBytes(of: &storage) { raw in
                let pathOffset = MemoryLayout<sa_family_t>.size
                let end = min(Int(length), raw.count)
                let path = end > pathOffset ? raw[pathOffset..<end].prefix { $0 != 0 } : []
                return ListenAddress(host: "unix:" + String(decoding: path, as: UTF8.self), port: 0)
            }
        default:
            return nil
        }
    }

    private static func numericHost(_ family: Int32, _ address: UnsafeRawPointer) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        guard inet_ntop(family, address, &text, socklen_t(text.count)) != nil else { return "" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
