import Glibc

struct TestClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One parsed response as the test client saw it.
struct TestResponse {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A tiny blocking HTTP client on POSIX sockets. Every receive and send times out (5 s by default),
/// so a broken server fails a test instead of hanging it.
final class TestClient {
    enum Ending: Equatable {
        case endOfFile
        case reset
        case timedOut
        case failed(Int32)
    }

    let fd: Int32
    private var pending: [UInt8] = []
    private var isClosed = false

    /// `sourceHost`: the local IPv4 address to connect from (any of 127.0.0.0/8 plays another peer).
    init(host: String = "127.0.0.1", port: UInt16, sourceHost: String? = nil, receiveBufferBytes: Int32? = nil,
         timeoutSeconds: Int = 5) throws {
        let isIPv6 = host.contains(":")
        fd = socket(isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestClientError("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBufferBytes {
            // Set before connect, so the advertised window stays small (no autotuning).
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let sourceHost {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, sourceHost, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let failure = errno
                Glibc.close(fd)
                throw TestClientError("bind \(sourceHost): errno \(failure)")
            }
        }
        let status: Int32
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard status == 0 else {
            let failure = errno
            Glibc.close(fd)
            throw TestClientError("connect \(host):\(port): errno \(failure)")
        }
    }

    deinit { close() }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                throw TestClientError("send: errno \(errno)")
            }
            offset += sent
        }
    }

    /// Reads one response; the body is read by Content-Length (none for HEAD).
    func readResponse(head: Bool = false) throws -> TestResponse {
        var headEnd: Int?
        while true {
            headEnd = Self.find([13, 10, 13, 10], in: pending)
            if headEnd != nil { break }
            guard try receiveMore() else {
                throw TestClientError("connection closed before a response head (\(pending.count) bytes)")
            }
        }
        let headBytes = pending[..<headEnd!]
        pending.removeFirst(headEnd! + 4)
        let lines = String(decoding: headBytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = lines[0].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard statusParts.count >= 2, statusParts[0] == "HTTP/1.1", let status = Int(statusParts[1]) else {
            throw TestClientError("bad status line: \(lines[0])")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw TestClientError("bad header line: \(line)") }
            headers.append((
                name: String(line[..<colon]),
                value: String(line[line.index(after: colon)...].drop { $0 == " " })
            ))
        }
        var response = TestResponse(status: status, headers: headers, body: [])
        if !head, let lengthText = response.header("Content-Length") {
            guard let length = Int(lengthText) else { throw TestClientError("bad Content-Length \(lengthText)") }
            while pending.count < length {
                guard try receiveMore() else { throw TestClientError("connection closed inside a body") }
            }
            response.body = Array(pending[..<length])
            pending.removeFirst(length)
        }
        return response
    }

    /// Reads until the server closes (or `limit` bytes, or the receive timeout), including bytes
    /// already buffered, and says how the stream ended.
    func readUntilClosed(limit: Int = 64 << 20) -> (bytes: [UInt8], ending: Ending) {
        var bytes = pending
        pending = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                bytes.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                return (bytes, .endOfFile)
            } else if errno == EINTR {
                continue
            } else if errno == ECONNRESET {
                return (bytes, .reset)
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return (bytes, .timedOut)
            } else {
                return (bytes, .failed(errno))
            }
        }
        return (bytes, .timedOut)
    }

    /// Receives up to `count` bytes, whatever arrives first.
    func receiveSome(_ count: Int) -> Int {
        var chunk = [UInt8](repeating: 0, count: count)
        return chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Whether bytes or an end of stream are waiting, within `milliseconds`.
    func isReadable(withinMilliseconds milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    /// Closes with an RST, as a client killed mid-transfer would.
    func abort() {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        close()
    }

    private func receiveMore() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                pending.append(contentsOf: chunk[0..<count])
                return true
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            if errno == ECONNRESET { return false }
            throw TestClientError("recv: errno \(errno)")
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }

    /// Whether this host can bind a socket to ::1 (containers without IPv6 cannot).
    static let ipv6LoopbackAvailable: Bool = {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        inet_pton(AF_INET6, "::1", &address.sin6_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
            }
        }
    }()
}
