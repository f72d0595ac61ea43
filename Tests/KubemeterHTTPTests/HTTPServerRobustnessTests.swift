import Dispatch
import Glibc
import KubemeterHTTP
import Synchronization
import Testing

/// Hostile and unlucky clients: slow, idle, too many, never reading, vanishing.
@Suite struct HTTPServerRobustnessTests {
    @Test func slowlorisIsCutOffWhileOthersAreServed() throws {
        let server = try startServer { $0.readTimeoutSeconds = 1 }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port

        // At one byte per 200 ms this head would take about 9 s to arrive.
        let head = Array("GET / HTTP/1.1\r\nHost: node\r\nUser-Agent: slowloris/1.0\r\n\r\n".utf8)
        let slow = try TestClient(port: port)
        var sent = 0
        var servedMeanwhile = 0
        while sent < head.count {
            guard (try? slow.send([head[sent]])) != nil else { break }
            sent += 1
            if sent % 3 == 0 {
                let other = try TestClient(port: port)
                try other.send("GET / HTTP/1.1\r\nHost: node\r\n\r\n")
                if try other.readResponse().status == 200 { servedMeanwhile += 1 }
            }
            if slow.isReadable(withinMilliseconds: 200) { break }
        }
        let (bytes, ending) = slow.readUntilClosed()
        #expect(sent < head.count, "the whole head went through: the server never cut the client off")
        #expect(servedMeanwhile >= 1)
        #expect(ending == .endOfFile || ending == .reset)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.isEmpty || text.hasPrefix("HTTP/1.1 408 "))
        #expect(server.statistics.readTimeouts == 1)
    }

    @Test func threeHundredIdleConnectionsDoNotBlockARequest() throws {
        let server = try startServer { $0.maxConnections = 400 }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port
        let idle = try (0..<300).map { _ in try TestClient(port: port) }

        let client = try TestClient(port: port)
        try client.send("GET /metrics HTTP/1.1\r\nHost: node\r\n\r\n")
        #expect(try client.readResponse().status == 200)

        // The idle ones were accepted and are still served.
        #expect(eventually { server.statistics.connectionsAccepted == 301 })
        for index in [0, 150, 299] {
            try idle[index].send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
            #expect(try idle[index].readResponse().status == 200)
        }
        #expect(server.statistics.connectionsRejected == 0)
    }

    @Test func atTheLimitTheConnectionIdleLongestMakesRoom() throws {
        let server = try startServerClosingOnlyForRoom(maxConnections: 2)
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port
        let first = try TestClient(port: port)
        let second = try TestClient(port: port)
        for client in [first, second] {
            try client.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
            #expect(try client.readResponse().status == 200)
        }

        // The third is served; the first (idle longest) is closed quietly to make room.
        let third = try TestClient(port: port, timeoutSeconds: 3)
        try third.send("GET /metrics HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try third.readResponse().status == 200)
        let (bytes, ending) = first.readUntilClosed()
        #expect(bytes.isEmpty)
        #expect(ending == .endOfFile || ending == .reset)
        try second.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try second.readResponse().status == 200)
        let statistics = server.statistics
        #expect(statistics.idleConnectionsClosedForRoom == 1)
        #expect(statistics.incompleteConnectionsClosedForRoom == 0)
        #expect(statistics.connectionsRejected == 0)
    }

    @Test func idleKeptAliveConnectionsGoBeforeHeadsStillArriving() throws {
        let server = try startServerClosingOnlyForRoom(maxConnections: 3)
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port
        // Oldest: a head that has begun; then one that sent nothing; then a served, idle one.
        let partial = try TestClient(port: port)
        try partial.send("GET / HTTP/1.1\r\nHo")
        let silent = try TestClient(port: port)
        let kept = try TestClient(port: port)
        try kept.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try kept.readResponse().status == 200)
        #expect(eventually { server.statistics.connectionsAccepted == 3 })

        // Fourth: the idle one goes although it is the newest.
        let fourth = try TestClient(port: port, timeoutSeconds: 3)
        try fourth.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try fourth.readResponse().status == 200)
        #expect(kept.readUntilClosed().bytes.isEmpty)
        #expect(server.statistics.idleConnectionsClosedForRoom == 1)

        // Fifth: the fourth, now the only idle one, goes; the fifth leaves its head unfinished.
        // Sixth: no idle connection is left, so the oldest head-in-waiting, `partial`, goes with a
        // 503, and `silent` (younger) stays.
        let fifth = try TestClient(port: port)
        #expect(fourth.readUntilClosed().bytes.isEmpty)
        #expect(server.statistics.idleConnectionsClosedForRoom == 2)
        try fifth.send("GET / HTTP/1.1\r\n")
        let sixth = try TestClient(port: port, timeoutSeconds: 3)
        try sixth.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try sixth.readResponse().status == 200)
        let (bytes, _) = partial.readUntilClosed()
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 503 "))
        #expect(server.statistics.incompleteConnectionsClosedForRoom == 1)
        try silent.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try silent.readResponse().status == 200)
        #expect(server.statistics.connectionsRejected == 0)
    }

    @Test func whenEveryConnectionIsBusyTheNewOneGets503() throws {
        let release = DispatchSemaphore(value: 0)
        let server = try startServer({
            $0.maxConnections = 2
            $0.workerThreads = 2
        }, handler: { request in
            guard request.path == "/wait" else { return testHandler(request) }
            release.wait()
            return .text(200, "released")
        })
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port
        let busy = try (0..<2).map { _ in try TestClient(port: port) }
        for client in busy {
            try client.send("GET /wait HTTP/1.1\r\nHost: n\r\n\r\n")
        }
        #expect(eventually { server.statistics.requestsHandled == 2 })

        let extra = try TestClient(port: port, timeoutSeconds: 3)
        let (bytes, ending) = extra.readUntilClosed()
        #expect(ending == .endOfFile || ending == .reset)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.isEmpty || text.hasPrefix("HTTP/1.1 503 "))
        #expect(server.statistics.connectionsRejected == 1)

        release.signal()
        release.signal()
        for client in busy {
            let response = try client.readResponse()
            #expect(response.status == 200, "\(response)")
        }
    }

    @Test func aClientThatNeverReadsIsCutOffWithoutBlockingOthers() throws {
        let server = try startServer { $0.writeTimeoutSeconds = 1 }
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port

        // A small receive window keeps the 8 MiB from disappearing into kernel buffers.
        let stuck = try TestClient(port: port, receiveBufferBytes: 4096)
        try stuck.send("GET /big HTTP/1.1\r\nHost: node\r\n\r\n")
        #expect(eventually { server.statistics.requestsHandled == 1 })

        let other = try TestClient(port: port)
        try other.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try other.readResponse().bodyText == "hello\n")

        #expect(eventually { server.statistics.writeTimeouts == 1 })
        let (bytes, ending) = stuck.readUntilClosed()
        #expect(bytes.count < bigBody.count)
        #expect(ending == .reset || ending == .endOfFile)

        try other.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try other.readResponse().status == 200)
    }

    @Test func clientsVanishingMidResponseDoNotHurtTheServer() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let port = server.boundAddress.port

        for _ in 0..<3 {
            let leaving = try TestClient(port: port)
            try leaving.send("GET /big HTTP/1.1\r\nHost: n\r\n\r\n")
            #expect(leaving.receiveSome(65_536) > 0)
            leaving.abort()
        }
        // Gone before the (slow) handler even answers; and gone with a polite FIN.
        let early = try TestClient(port: port)
        try early.send("GET /slow HTTP/1.1\r\nHost: n\r\n\r\n")
        early.abort()
        let polite = try TestClient(port: port)
        try polite.send("GET /big HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(polite.receiveSome(1000) > 0)
        polite.close()

        let client = try TestClient(port: port)
        try client.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try client.readResponse().bodyText == "hello\n")
        #expect(eventually { server.statistics.requestsHandled == 6 })
    }
}

/// Lifecycle: binding, adopting a socket, shutting down.
@Suite struct HTTPServerLifecycleTests {
    @Test func shutdownFinishesInFlightRequestsThenReturnsRunAndClosesTheListener() throws {
        let server = try HTTPServer(
            configuration: HTTPServerConfiguration(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)),
            handler: testHandler
        )
        let port = server.boundAddress.port
        #expect(port != 0)
        let runReturned = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            server.run()
            runReturned.signal()
        }

        let idle = try TestClient(port: port)
        try idle.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try idle.readResponse().status == 200)

        let inFlight = try TestClient(port: port)
        try inFlight.send("GET /slow HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(eventually { server.statistics.requestsHandled == 2 })

        server.shutdown(gracePeriodSeconds: 5)
        #expect(runReturned.wait(timeout: .now() + 5) == .success)

        let slow = try inFlight.readResponse()
        #expect(slow.status == 200)
        #expect(slow.bodyText == "slow\n")
        #expect(slow.header("Connection") == "close")
        #expect(idle.readUntilClosed().ending == .endOfFile)
        #expect(throws: TestClientError.self) { try TestClient(port: port) }

        server.shutdown(gracePeriodSeconds: 1)  // a second call is harmless
        server.run()  // and run() after shutdown returns at once
    }

    @Test func shutdownBeforeRunClosesTheListener() throws {
        let server = try HTTPServer(
            configuration: HTTPServerConfiguration(listenAddress: ListenAddress(host: "127.0.0.1", port: 0)),
            handler: testHandler
        )
        server.shutdown(gracePeriodSeconds: 0)
        #expect(throws: TestClientError.self) { try TestClient(port: server.boundAddress.port) }
        server.start()
    }

    @Test func bindErrorNamesTheAddressAndErrno() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let taken = ListenAddress(host: "127.0.0.1", port: server.boundAddress.port)
        let error = #expect(throws: HTTPServerError.self) {
            try HTTPServer(configuration: HTTPServerConfiguration(listenAddress: taken), handler: testHandler)
        }
        #expect(error?.kind == .bind)
        #expect(error?.errorNumber == EADDRINUSE)
        #expect(error?.description == "cannot bind 127.0.0.1:\(taken.port): Address already in use (errno 98)")
    }

    @Test func unresolvableHostIsAnError() {
        let address = ListenAddress(host: "no-such-host.invalid", port: 0)
        let error = #expect(throws: HTTPServerError.self) {
            try HTTPServer(configuration: HTTPServerConfiguration(listenAddress: address), handler: testHandler)
        }
        #expect(error?.kind == .addressResolution)
    }

    @Test func allInterfacesAndLocalhostBind() throws {
        let any = try startServer(host: "")
        defer { any.shutdown(gracePeriodSeconds: 0) }
        #expect(any.boundAddress.host == "::" || any.boundAddress.host == "0.0.0.0")
        // Dual-stack: IPv4 clients reach the "::" listener.
        let client = try TestClient(port: any.boundAddress.port)
        try client.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try client.readResponse().status == 200)

        let local = try startServer(host: "localhost")
        defer { local.shutdown(gracePeriodSeconds: 0) }
        #expect(local.boundAddress.host == "127.0.0.1")
    }

    @Test func servesAnInheritedListeningSocket() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0 && listen(fd, 16) == 0)

        let server = try HTTPServer(
            listeningSocket: fd,
            configuration: HTTPServerConfiguration(listenAddress: ListenAddress(host: "", port: 0)),
            handler: testHandler
        )
        server.start()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        #expect(server.boundAddress.host == "127.0.0.1")
        let client = try TestClient(port: server.boundAddress.port)
        try client.send("GET / HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try client.readResponse().status == 200)
    }

    @Test func refusesADescriptorThatIsNotAListeningSocket() throws {
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        let unlistened = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(unlistened) }
        for fd in [ends[0], unlistened, -1] {
            let error = #expect(throws: HTTPServerError.self) {
                try HTTPServer(
                    listeningSocket: fd,
                    configuration: HTTPServerConfiguration(listenAddress: ListenAddress(host: "", port: 0)),
                    handler: testHandler
                )
            }
            #expect(error?.kind == .invalidListeningSocket)
        }
    }
}

/// A server with `maxConnections` and timeouts long enough that a connection it closes during a
/// test was closed to make room, never for being idle or slow.
private func startServerClosingOnlyForRoom(maxConnections: Int) throws -> HTTPServer {
    try startServer {
        $0.maxConnections = maxConnections
        $0.readTimeoutSeconds = 60
        $0.keepAliveTimeoutSeconds = 60
    }
}
