import Glibc
import KubemeterHTTP
import Synchronization
import Testing

/// The server's TLS path without OpenSSL: a stand-in stream whose "handshake" is a 6-byte
/// preamble starting with 0x16 (a TLS record's first byte), that asks once for writability during
/// it, and that reads whole socket buffers but hands them out 7 bytes at a time, so requests sit
/// in the stream where poll() cannot see them. OpenSSL itself is tested end to end (test_tls.py).
final class FakeTLSCounters: Sendable {
    let streams = Atomic<Int>(0)
    let closedWithNotify = Atomic<Int>(0)
    let closedWithoutNotify = Atomic<Int>(0)
}

struct FakeTLSFactory: TLSStreamFactory {
    static let preamble: [UInt8] = [0x16] + Array("HELLO".utf8)
    let counters = FakeTLSCounters()
    var refuse = false

    func makeStream(fd: Int32) -> (any TLSStream)? {
        if refuse { return nil }
        counters.streams.wrappingAdd(1, ordering: .relaxed)
        return FakeTLSStream(fd: fd, counters: counters)
    }
}

final class FakeTLSStream: TLSStream {
    let fd: Int32
    let counters: FakeTLSCounters
    var handshakeBytes = 0
    var askedForWrite = false
    var buffered: [UInt8] = []

    init(fd: Int32, counters: FakeTLSCounters) {
        self.fd = fd
        self.counters = counters
    }

    func handshake() -> TLSResult {
        if !askedForWrite {
            askedForWrite = true
            return .wantWrite
        }
        while handshakeBytes < FakeTLSFactory.preamble.count {
            var byte: UInt8 = 0
            let count = recv(fd, &byte, 1, 0)
            if count == 0 { return .closed }
            if count < 0 { return errno == EAGAIN || errno == EWOULDBLOCK ? .wantRead : .failed }
            guard byte == FakeTLSFactory.preamble[handshakeBytes] else { return .failed }
            handshakeBytes += 1
        }
        return .done(0)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSResult {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { buffered += chunk[0..<count]; continue }
            if count == 0 && buffered.isEmpty { return .closed }
            if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK { return .failed }
            break
        }
        if buffered.isEmpty { return .wantRead }
        let count = min(7, buffered.count, buffer.count)
        for index in 0..<count { buffer[index] = buffered[index] }
        buffered.removeFirst(count)
        return .done(count)
    }

    func write(_ buffer: UnsafeRawBufferPointer) -> TLSResult {
        let sent = send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
        if sent > 0 { return .done(sent) }
        return errno == EAGAIN || errno == EWOULDBLOCK ? .wantWrite : .failed
    }

    var hasBufferedInput: Bool { !buffered.isEmpty }

    func close(notifyPeer: Bool) {
        if notifyPeer {
            counters.closedWithNotify.wrappingAdd(1, ordering: .relaxed)
        } else {
            counters.closedWithoutNotify.wrappingAdd(1, ordering: .relaxed)
        }
    }
}

/// Asks for `Authorization: yes` on every path but /healthz, and adds a header to every answer.
final class TestGate: RequestGate {
    let failures = Atomic<UInt64>(0)

    func check(_ request: HTTPRequest) -> HTTPResponse? {
        if request.path == "/healthz" || request.headers["Authorization"] == "yes" { return nil }
        failures.wrappingAdd(1, ordering: .relaxed)
        var response = HTTPResponse.text(401, "Unauthorized")
        response.headers.add(name: "WWW-Authenticate", value: "Basic")
        return response
    }

    func decorate(_ response: inout HTTPResponse) {
        response.headers.add(name: "X-Frame-Options", value: "deny")
    }

    var statistics: WebSecurityStatistics { WebSecurityStatistics(authFailures: failures.load(ordering: .relaxed)) }
}

@Suite struct HTTPServerTLSTests {
    @Test func handshakeThenPipelinedRequestsHeldInsideTheStream() throws {
        let factory = FakeTLSFactory()
        let server = try startServer { $0.tls = factory; $0.readTimeoutSeconds = 2 }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        // Preamble and two requests in one segment: after the handshake the socket is empty and
        // everything else waits inside the stream; the server must drain it without a poll event.
        try client.send(FakeTLSFactory.preamble + Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /echo?q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        let first = try client.readResponse()
        #expect(first.status == 200)
        #expect(first.bodyText == metricsText + "\n")
        let second = try client.readResponse()
        #expect(second.status == 200)
        #expect(second.bodyText.hasPrefix("GET /echo q"))
        #expect(client.readUntilClosed().ending == .endOfFile)
        #expect(server.statistics.tlsHandshakes == 1)
        #expect(server.statistics.requestsHandled == 2)
        // The close after `Connection: close` sent close_notify.
        #expect(eventually { factory.counters.closedWithNotify.load(ordering: .relaxed) == 1 })
    }

    @Test func plainHTTPOnTheTLSPortIsTold400InClear() throws {
        let server = try startServer { $0.tls = FakeTLSFactory() }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        try client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let (bytes, ending) = client.readUntilClosed()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.0 400 Bad Request\r\n"))
        #expect(text.hasSuffix("\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"))
        #expect(ending == .endOfFile)
        #expect(server.statistics.tlsPlaintextRequests == 1)
        #expect(server.statistics.requestsHandled == 0)
        // Anything else that is not a handshake record is closed without a word.
        let other = try TestClient(port: server.boundAddress.port)
        try other.send([0x00, 0x01, 0x02])
        let (nothing, _) = other.readUntilClosed()
        #expect(nothing.isEmpty)
        #expect(eventually { server.statistics.tlsHandshakeFailures == 1 })
    }

    @Test func aStalledHandshakeIsCutOffByTheReadTimeoutSilently() throws {
        let server = try startServer { $0.tls = FakeTLSFactory(); $0.readTimeoutSeconds = 0.3 }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        try client.send(Array(FakeTLSFactory.preamble.prefix(3)))
        let start = MonotonicClockForTests.seconds()
        let (bytes, ending) = client.readUntilClosed()
        #expect(bytes.isEmpty)  // no clear-text 408 to a TLS client
        #expect(ending == .endOfFile)
        #expect(MonotonicClockForTests.seconds() - start < 2)
        #expect(server.statistics.tlsHandshakeTimeouts == 1)
        #expect(server.statistics.readTimeouts == 0)
    }

    @Test func aFactoryWithoutContextClosesTheConnection() throws {
        let server = try startServer { $0.tls = FakeTLSFactory(refuse: true) }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        #expect(client.readUntilClosed().bytes.isEmpty)
        #expect(server.statistics.tlsHandshakeFailures == 1)
    }

    @Test func atTheLimitHandshakesMakeRoomWithoutAClearText503() throws {
        let server = try startServer { $0.tls = FakeTLSFactory(); $0.maxConnections = 2; $0.readTimeoutSeconds = 5 }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let stalled = try (0..<2).map { _ in try TestClient(port: server.boundAddress.port) }
        for client in stalled { try client.send([0x16]) }
        #expect(eventually { server.statistics.connectionsAccepted == 2 })
        let scrape = try TestClient(port: server.boundAddress.port)
        try scrape.send(FakeTLSFactory.preamble + Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(try scrape.readResponse().status == 200)
        let (bytes, _) = stalled[0].readUntilClosed()
        #expect(bytes.isEmpty)
        #expect(server.statistics.incompleteConnectionsClosedForRoom == 1)
    }

    @Test func theGateRunsBeforeTheHandlerAndDecoratesEveryAnswer() throws {
        let gate = TestGate()
        let server = try startServer { $0.gate = gate }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        try client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let denied = try client.readResponse()
        #expect(denied.status == 401)
        #expect(denied.header("WWW-Authenticate") == "Basic")
        #expect(denied.header("X-Frame-Options") == "deny")
        try client.send("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: yes\r\n\r\n")
        let allowed = try client.readResponse()
        #expect(allowed.status == 200 && allowed.header("X-Scrape") == "yes" && allowed.header("X-Frame-Options") == "deny")
        try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().status == 404)  // the handler's answer: the gate let it through
        #expect(server.statistics.security?.authFailures == 1)
    }
}

enum MonotonicClockForTests {
    static func seconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
