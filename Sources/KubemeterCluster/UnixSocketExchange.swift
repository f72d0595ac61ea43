#if canImport(Glibc)
import Glibc
import KubemeterSync
#endif
import KubemeterHTTP

/// One HTTP/1.1 GET over a unix socket (to `kubectl proxy --unix-socket`), without blocking:
/// the owner polls `descriptor` for `events` and calls `service` when it is ready, or `expire`
/// once the deadline passed. One request per connection (`Connection: close`), so a slow answer
/// never queues another behind it.
final class UnixSocketExchange {
    enum Outcome: Sendable {
        case response(HTTPClientResponse)
        case failure(ClusterError)
        case timedOut
    }

    let deadline: UInt64
    let started: UInt64
    private(set) var descriptor: Int32 = -1
    private var request: [UInt8]
    private var written = 0
    private var decoder: HTTPResponseDecoder
    private(set) var outcome: Outcome?

    /// `path` is the request target (`/api/v1/...`), sent with `Host: localhost`, which kubectl's
    /// proxy requires (`--accept-hosts` default).
    init(socketPath: String, path: String, userAgent: String, timeoutSeconds: Double, maxBodyBytes: Int, now: UInt64) {
        started = now
        deadline = now + MonotonicClock.nanoseconds(timeoutSeconds)
        request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nUser-Agent: \(userAgent)\r\nAccept: application/json\r\nConnection: close\r\n\r\n".utf8)
        decoder = HTTPResponseDecoder(maxBodyBytes: maxBodyBytes)
        connect(socketPath)
    }

    deinit { closeDescriptor() }

    var events: Int16 { written < request.count ? Int16(POLLOUT) : Int16(POLLIN) }

    /// Seconds from start to the outcome (or to now).
    func seconds(now: UInt64) -> Double { Double(now &- started) / 1e9 }

    private func connect(_ socketPath: String) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return finish(.failure(.transport("socket path too long: \(socketPath)"))) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return finish(.failure(.transport("socket: \(Self.errorText())"))) }
        descriptor = fd
        // A unix socket connects at once or not at all (no EINPROGRESS); blocking here costs a
        // syscall, and a proxy that accepts late still answers within the deadline's poll.
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { return finish(.failure(.transport("connect \(socketPath): \(Self.errorText())"))) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// Does what the socket is ready for; the outcome once there is one.
    func service(revents: Int16) -> Outcome? {
        guard outcome == nil else { return outcome }
        if written < request.count {
            if revents & Int16(POLLOUT | POLLERR | POLLHUP) == 0 { return nil }
            let n = request.withUnsafeBytes { send(descriptor, $0.baseAddress! + written, $0.count - written, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { return nil }
                finish(.failure(.transport("send: \(Self.errorText())")))
                return outcome
            }
            written += n
            return nil
        }
        if revents & Int16(POLLIN | POLLERR | POLLHUP) == 0 { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Read what is there now, at most a few buffers, so one large answer does not starve the others.
        for _ in 0..<16 {
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return nil }
                finish(.failure(.transport("recv: \(Self.errorText())")))
                return outcome
            }
            do {
                if n == 0 {
                    finish(.response(try decoder.finish()))
                    return outcome
                }
                if let response = try decoder.feed(Array(buffer[0..<n])) {
                    finish(.response(response))
                    return outcome
                }
            } catch {
                finish(.failure(.transport("bad HTTP response: \(error)")))
                return outcome
            }
        }
        return nil
    }

    /// Ends the exchange as timed out if its deadline passed.
    func expire(now: UInt64) -> Outcome? {
        guard outcome == nil else { return outcome }
        if now >= deadline { finish(.timedOut) }
        return outcome
    }

    private func finish(_ result: Outcome) {
        outcome = result
        closeDescriptor()
    }

    private func closeDescriptor() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
    }

    static func errorText() -> String {
        String(cString: strerror(errno))
    }
}

