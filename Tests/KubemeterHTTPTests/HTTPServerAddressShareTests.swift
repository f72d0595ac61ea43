import Dispatch
import Glibc
import KubemeterHTTP
import Testing

/// The per-address share of the connection slots, and clients that never read.
@Suite struct HTTPServerAddressShareTests {
    @Test func theShareIsAQuarterOfTheLimitByDefault() {
        var configuration = HTTPServerConfiguration(listenAddress: ListenAddress(host: "127.0.0.1", port: 0))
        #expect(configuration.effectiveMaxConnectionsPerAddress == 64)
        configuration.maxConnections = 48
        #expect(configuration.effectiveMaxConnectionsPerAddress == 12)
        configuration.maxConnections = 2
        #expect(configuration.effectiveMaxConnectionsPerAddress == 1)
        configuration.maxConnectionsPerAddress = 10
        #expect(configuration.effectiveMaxConnectionsPerAddress == 2)
    }

    @Test func peersAreCountedByIPv4AddressAndByIPv6Prefix() throws {
        let v4 = try #require(peer(ipv4: "10.1.2.3"))
        #expect(v4.description == "10.1.2.3")
        #expect(v4.isIPv4)
        // The dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d: the same address.
        #expect(peer(ipv6: "::ffff:10.1.2.3") == v4)
        #expect(peer(ipv6: "::ffff:10.1.2.3", prefix: 64) == v4)
        #expect(peer(ipv4: "10.1.2.4") != v4)

        #expect(peer(ipv6: "2001:db8::1") != peer(ipv6: "2001:db8::2"))
        #expect(peer(ipv6: "2001:db8::1")?.description == "2001:db8::1")
        #expect(peer(ipv6: "2001:db8::1", prefix: 64) == peer(ipv6: "2001:db8::ffff:2", prefix: 64))
        #expect(peer(ipv6: "2001:db8::1", prefix: 64)?.description == "2001:db8::")
        #expect(peer(ipv6: "2001:db8:0:1::1", prefix: 64) != peer(ipv6: "2001:db8::1", prefix: 64))
        #expect(peer(ipv6: "2001:db8:0:1::1", prefix: 60) == peer(ipv6: "2001:db8::1", prefix: 60))
        #expect(peer(ipv6: "2001:db8::1", prefix: 0) == peer(ipv6: "fe80::1", prefix: 0))

        var unix = sockaddr_un()
        unix.sun_family = sa_family_t(AF_UNIX)
        #expect(withUnsafeBytes(of: &unix) { PeerAddress(socketAddress: $0) } == nil)
    }

    @Test func anAddressAtItsShareMakesRoomAmongItsOwnConnections() throws {
        let server = try startServer {
            $0.maxConnections = 16
            $0.maxConnectionsPerAddress = 2
            $0.readTimeoutSeconds = 30
        }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port
        let first = try TestClient(port: port, sourceHost: "127.0.0.2")
        let second = try TestClient(port: port, sourceHost: "127.0.0.2")
        let other = try TestClient(port: port, sourceHost: "127.0.0.3")
        #expect(eventually { server.statistics.connectionsAccepted == 3 })

        // A third from 127.0.0.2: its own oldest silent connection goes (503), no one else's.
        let third = try TestClient(port: port, sourceHost: "127.0.0.2")
        try third.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try third.readResponse().status == 200)
        let (bytes, _) = first.readUntilClosed()
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 503 "))
        for client in [second, other] {
            try client.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
            #expect(try client.readResponse().status == 200)
        }
        let statistics = server.statistics
        #expect(statistics.addressShareMadeRoom == 1)
        #expect(statistics.incompleteConnectionsClosedForRoom == 1)
        #expect(statistics.addressShareRejected == 0)
        #expect(statistics.connectionsRejected == 0)
        #expect(statistics.maxConnectionsPerAddress == 2)
    }

    @Test func onTheDualStackListenerAnIPv4PeerIsCountedByItsIPv4Address() throws {
        let server = try startServer(host: "") {
            $0.maxConnections = 16
            $0.maxConnectionsPerAddress = 1
            $0.readTimeoutSeconds = 30
        }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port
        let first = try TestClient(port: port, sourceHost: "127.0.0.2")
        let overIPv6 = TestClient.ipv6LoopbackAvailable ? try TestClient(host: "::1", port: port) : nil
        #expect(eventually { server.statistics.connectionsAccepted == (overIPv6 == nil ? 1 : 2) })

        // Seen as ::ffff:127.0.0.2, counted as 127.0.0.2: the second takes the first's slot; the
        // IPv6 peer holds its own.
        let second = try TestClient(port: port, sourceHost: "127.0.0.2")
        try second.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try second.readResponse().status == 200)
        #expect(String(decoding: first.readUntilClosed().bytes, as: UTF8.self).hasPrefix("HTTP/1.1 503 "))
        if let overIPv6 {
            try overIPv6.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
            #expect(try overIPv6.readResponse().status == 200)
        }
        #expect(server.statistics.addressShareMadeRoom == 1)
    }

    @Test func anAddressWhoseConnectionsAreAllBusyIsRefusedAndOthersAreServed() throws {
        let release = DispatchSemaphore(value: 0)
        let server = try startServer({
            $0.maxConnections = 16
            $0.maxConnectionsPerAddress = 2
            $0.workerThreads = 3
        }, handler: { request in
            guard request.path == "/wait" else { return testHandler(request) }
            release.wait()
            return .text(200, "released")
        })
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port
        let busy = try (0..<2).map { _ in try TestClient(port: port, sourceHost: "127.0.0.2") }
        for client in busy {
            try client.send("GET /wait HTTP/1.1\r\nHost: n\r\n\r\n")
        }
        #expect(eventually { server.statistics.requestsHandled == 2 })

        let extra = try TestClient(port: port, sourceHost: "127.0.0.2", timeoutSeconds: 3)
        let (bytes, ending) = extra.readUntilClosed()
        #expect(ending == .endOfFile || ending == .reset)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 503 "))
        #expect(server.statistics.addressShareRejected == 1)
        #expect(server.statistics.connectionsRejected == 1)

        let other = try TestClient(port: port, sourceHost: "127.0.0.3")
        try other.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try other.readResponse().status == 200)

        release.signal()
        release.signal()
        for client in busy {
            #expect(try client.readResponse().status == 200)
        }
    }

    @Test func atTheLimitTheAddressHoldingTheMostGivesBackFirst() throws {
        let server = try startServer {
            $0.maxConnections = 4
            $0.readTimeoutSeconds = 30
            $0.keepAliveTimeoutSeconds = 30
        }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port
        // A scraper's kept-alive connection, idle (which alone would go first), and three silent
        // connections from one other address.
        let kept = try TestClient(port: port, sourceHost: "127.0.0.2")
        try kept.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try kept.readResponse().status == 200)
        let silent = try (0..<3).map { _ in try TestClient(port: port, sourceHost: "127.0.0.3") }
        #expect(eventually { server.statistics.connectionsAccepted == 4 })

        let newcomer = try TestClient(port: port, sourceHost: "127.0.0.4")
        try newcomer.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try newcomer.readResponse().status == 200)
        #expect(String(decoding: silent[0].readUntilClosed().bytes, as: UTF8.self).hasPrefix("HTTP/1.1 503 "))
        try kept.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try kept.readResponse().status == 200)
        #expect(server.statistics.idleConnectionsClosedForRoom == 0)
        #expect(server.statistics.incompleteConnectionsClosedForRoom == 1)
    }

    @Test func aResponseTheKernelTookButThePeerNeverReadIsResetAtTheWriteTimeout() throws {
        // 300 KiB: all of it fits in the server's send buffer (256 KiB asked, 512 KiB granted), so
        // every byte is handed over; the client reads nothing and its window is 4 KiB.
        let body = [UInt8](repeating: UInt8(ascii: "y"), count: 300 << 10)
        let server = try startServer({ $0.writeTimeoutSeconds = 1 }, handler: { request in
            request.path == "/mid" ? HTTPResponse(status: 200, body: body) : testHandler(request)
        })
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port
        let stuck = try TestClient(port: port, receiveBufferBytes: 4096)
        try stuck.send("GET /mid HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(eventually { server.statistics.writeTimeouts == 1 })
        let (bytes, ending) = stuck.readUntilClosed()
        #expect(bytes.count < body.count)
        #expect(ending == .reset || ending == .endOfFile)

        // One that reads gets the same response whole, and its connection stays usable.
        let reader = try TestClient(port: port)
        try reader.send("GET /mid HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try reader.readResponse().body == body)
        try reader.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try reader.readResponse().bodyText == "hello\n")
        #expect(server.statistics.writeTimeouts == 1)
    }

    @Test func atTheLimitAStalledResponseMakesRoom() throws {
        let server = try startServer { $0.maxConnections = 1; $0.writeTimeoutSeconds = 30 }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port
        let stuck = try TestClient(port: port, receiveBufferBytes: 4096)
        try stuck.send("GET /big HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(eventually { server.statistics.requestsHandled == 1 })
        usleep(1_300_000)  // stalled for over a second

        let next = try TestClient(port: port)
        try next.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try next.readResponse().bodyText == "hello\n")
        #expect(server.statistics.stalledConnectionsClosedForRoom == 1)
        #expect(server.statistics.connectionsRejected == 0)
        let (bytes, ending) = stuck.readUntilClosed()
        #expect(bytes.count < bigBody.count)
        #expect(ending == .reset)
    }
}

private func peer(ipv4 text: String) -> PeerAddress? {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    inet_pton(AF_INET, text, &address.sin_addr)
    return withUnsafeBytes(of: &address) { PeerAddress(socketAddress: $0) }
}

private func peer(ipv6 text: String, prefix: Int = 128) -> PeerAddress? {
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    inet_pton(AF_INET6, text, &address.sin6_addr)
    return withUnsafeBytes(of: &address) { PeerAddress(socketAddress: $0, ipv6PrefixLength: prefix) }
}
