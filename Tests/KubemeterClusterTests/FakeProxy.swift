import KubemeterHTTP
import KubemeterSync

#if canImport(Glibc)
import Glibc
#endif

/// A stand-in for `kubectl proxy --unix-socket` in the session tests: a unix socket server, one
/// thread per connection, answering each request target from a table (after a delay, or never).
final class FakeProxy: Sendable {
    struct Route: Sendable {
        var status = 200
        var body = ""
        var delay = 0.0
        /// Chunked instead of Content-Length (kubectl proxy and the API server use both).
        var chunked = false
    }

    let directory: String
    let socketPath: String
    private let listener: Int32
    private let state = AnnotatedMutex<(routes: [String: Route], requests: [(String, String)], stopped: Bool)>(([:], [], false))

    init() {
        var template = Array("/tmp/kubemeter-fakeproxy-XXXXXX".utf8CString)
        _ = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        directory = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        socketPath = directory + "/proxy.sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.listener = listener
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = socketPath
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        listen(listener, 128)
        DetachedThread.start { [self] in
            while true {
                let connection = accept(listener, nil, nil)
                if connection < 0 {
                    if errno == EINTR { continue }
                    return  // closed by stop()
                }
                DetachedThread.start { [self] in serve(connection) }
            }
        }
    }

    func route(_ target: String, _ route: Route) {
        state.withLock { $0.routes[target] = route }
    }

    /// (target, Host header) of every request, in arrival order.
    var requests: [(String, String)] { state.withLock { $0.requests } }

    func stop() {
        state.withLock { $0.stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        unlink(socketPath)
        rmdir(directory)
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !head.ends(with: Array("\r\n\r\n".utf8)) {
            let n = read(connection, &buffer, buffer.count)
            if n <= 0 { return }
            head += buffer[0..<n]
        }
        let text = String(decoding: head, as: UTF8.self)
        let target = text.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        let host = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("host:") }.map { String($0.dropFirst(5)).trimmingPrefix(" ") } ?? ""
        let route = state.withLock { state -> Route? in
            state.requests.append((target, String(host)))
            return state.routes[target]
        } ?? Route(status: 404, body: #"{"kind":"Status","message":"the server could not find the requested resource","code":404}"#)
        // Sleep in slices, to end soon after stop() (the hanging routes outlive their test).
        var waited = 0.0
        while waited < route.delay {
            if state.withLock({ $0.stopped }) { return }
            usleep(10_000)
            waited += 0.01
        }
        var response = "HTTP/1.1 \(route.status) X\r\nContent-Type: application/json\r\nConnection: close\r\n"
        if route.chunked {
            response += "Transfer-Encoding: chunked\r\n\r\n"
            var rest = Substring(route.body)
            while !rest.isEmpty {
                let piece = rest.prefix(100)
                response += String(piece.utf8.count, radix: 16) + "\r\n" + piece + "\r\n"
                rest = rest.dropFirst(piece.count)
            }
            response += "0\r\n\r\n"
        } else {
            response += "Content-Length: \(route.body.utf8.count)\r\n\r\n" + route.body
        }
        let bytes = Array(response.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(connection, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }
}

extension Array where Element: Equatable {
    fileprivate func ends(with suffix: [Element]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
