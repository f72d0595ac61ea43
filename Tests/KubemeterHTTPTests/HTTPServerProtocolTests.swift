import Glibc
import KubemeterHTTP
import Testing

/// Raw request bytes as a test argument, shown escaped on one line in the test log.
struct RawInput: Sendable, CustomTestStringConvertible, ExpressibleByStringLiteral {
    let text: String
    init(stringLiteral text: String) { self.text = text }
    var testDescription: String { text.debugDescription }
}

/// Request/response behaviour over real loopback sockets.
@Suite struct HTTPServerProtocolTests {
    @Test func getAndHeadAgreeOnHeadersAndHeadHasNoBody() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)

        try client.send("GET /metrics HTTP/1.1\r\nHost: node\r\n\r\n")
        let get = try client.readResponse()
        #expect(get.status == 200)
        #expect(get.bodyText == metricsText + "\n")
        #expect(get.header("Content-Length") == String(metricsText.utf8.count + 1))
        #expect(get.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(get.header("X-Scrape") == "yes")
        #expect(get.header("Connection") == nil)

        try client.send("HEAD /metrics HTTP/1.1\r\nHost: node\r\n\r\n")
        let head = try client.readResponse(head: true)
        #expect(head.status == 200)
        #expect(head.headers.map(\.name) == get.headers.map(\.name))
        #expect(head.headers.map(\.value) == get.headers.map(\.value))

        // Had the HEAD response carried a body, it would be read here as the next status line.
        try client.send("GET / HTTP/1.1\r\nHost: node\r\n\r\n")
        let next = try client.readResponse()
        #expect(next.status == 200)
        #expect(next.bodyText == "hello\n")
    }

    @Test func handlerSeesTheRequestAsSent() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        try client.send("GET /echo?a=1&b=%20 HTTP/1.1\r\nHost: node\r\n\r\n")
        #expect(try client.readResponse().bodyText == "GET /echo a=1&b=%20 HTTP/1.1 stamped\n")
        try client.send("HEAD /echo HTTP/1.1\r\nHost: n\r\n\r\n")
        let head = try client.readResponse(head: true)
        #expect(head.header("Content-Length") == String("HEAD /echo <nil> HTTP/1.1 stamped\n".utf8.count))
        // Absolute-form targets reach the handler as path and query.
        try client.send("GET http://node:9779/echo?x=y HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try client.readResponse().bodyText == "GET /echo x=y HTTP/1.1 stamped\n")
    }

    @Test func unknownPathIsTheHandlers404() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        try client.send("GET /nope HTTP/1.1\r\nHost: node\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 404)
        #expect(response.bodyText == "not found\n")
        #expect(response.header("Connection") == nil)
    }

    @Test func otherMethodsGet405WithAllow() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        for method in ["POST", "PUT", "DELETE", "OPTIONS", "get"] {
            let client = try TestClient(port: server.boundAddress.port)
            try client.send("\(method) /metrics HTTP/1.1\r\nHost: node\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 405, "\(method)")
            #expect(response.header("Allow") == "GET, HEAD")
            #expect(response.header("Connection") == "close")
            #expect(response.bodyText.hasSuffix("\n") && !response.bodyText.dropLast().contains("\n"))
            #expect(client.readUntilClosed().ending == .endOfFile)
        }
    }

    @Test(arguments: [
        "\u{16}\u{03}\u{01}\u{00}\u{a5}\u{01}\u{00}\u{00}\u{a1}\u{03}\u{03}",  // a TLS ClientHello
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /a#frag HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\u{0}b\r\n\r\n",
    ])
    func garbageGets400(_ input: RawInput) throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        try client.send(input.text)
        let response = try client.readResponse()
        #expect(response.status == 400)
        #expect(response.header("Connection") == "close")
        #expect(client.readUntilClosed().ending == .endOfFile)
        #expect(server.statistics.requestsRejected == 1)
    }

    @Test func overlongRequestLineGets414AndOverlongHeadGets431() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }

        let longLine = try TestClient(port: server.boundAddress.port)
        try longLine.send("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: node\r\n\r\n")
        #expect(try longLine.readResponse().status == 414)
        #expect(longLine.readUntilClosed().ending == .endOfFile)

        let longHead = try TestClient(port: server.boundAddress.port)
        var head = "GET / HTTP/1.1\r\nHost: node\r\n"
        for index in 0..<100 { head += "X-Filler-\(index): " + String(repeating: "b", count: 80) + "\r\n" }
        try longHead.send(head + "\r\n")
        let response = try longHead.readResponse()
        #expect(response.status == 431)
        #expect(response.header("Connection") == "close")
        #expect(longHead.readUntilClosed().ending == .endOfFile)
    }

    /// Bodies are refused with 413 whether announced by Content-Length or Transfer-Encoding.
    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost: node\r\nContent-Length: 5\r\n\r\nhello",
        "GET / HTTP/1.1\r\nHost: node\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ])
    func requestBodiesGet413(_ input: RawInput) throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        try client.send(input.text)
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(response.header("Connection") == "close")
        #expect(client.readUntilClosed().ending == .endOfFile)
    }

    @Test func keepAliveServesThreeRequestsOnOneConnection() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        for path in ["/", "/metrics", "/nope"] {
            try client.send("GET \(path) HTTP/1.1\r\nHost: node\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == (path == "/nope" ? 404 : 200))
            #expect(response.header("Connection") == nil)
        }
        #expect(server.statistics.connectionsAccepted == 1)
        #expect(server.statistics.requestsHandled == 3)
    }

    @Test func http10ClosesUnlessAskedToKeepAlive() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }

        let plain = try TestClient(port: server.boundAddress.port)
        try plain.send("GET / HTTP/1.0\r\n\r\n")
        let response = try plain.readResponse()
        #expect(response.status == 200)
        #expect(response.header("Connection") == "close")
        #expect(plain.readUntilClosed().ending == .endOfFile)

        let keepAlive = try TestClient(port: server.boundAddress.port)
        for _ in 0..<2 {
            try keepAlive.send("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            let kept = try keepAlive.readResponse()
            #expect(kept.status == 200)
            #expect(kept.header("Connection") == "keep-alive")
        }
    }

    @Test func connectionCloseIsHonoured() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }

        let client = try TestClient(port: server.boundAddress.port)
        try client.send("GET / HTTP/1.1\r\nHost: node\r\nConnection: foo, close\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.header("Connection") == "close")
        #expect(client.readUntilClosed().ending == .endOfFile)

        // A handler can ask for it too.
        let other = try TestClient(port: server.boundAddress.port)
        try other.send("GET /close HTTP/1.1\r\nHost: node\r\n\r\n")
        let closing = try other.readResponse()
        #expect(closing.header("Connection") == "close")
        #expect(other.readUntilClosed().ending == .endOfFile)
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        // The first is slow: answering in completion order would put "hello" first.
        try client.send("GET /slow HTTP/1.1\r\nHost: node\r\n\r\nGET / HTTP/1.1\r\nHost: node\r\n\r\n")
        #expect(try client.readResponse().bodyText == "slow\n")
        #expect(try client.readResponse().bodyText == "hello\n")
        try client.send("GET /echo?third HTTP/1.1\r\nHost: n\r\n\r\n")
        #expect(try client.readResponse().bodyText == "GET /echo third HTTP/1.1 stamped\n")
    }

    @Test(.enabled(if: TestClient.ipv6LoopbackAvailable, "::1 is not available here"))
    func servesIPv6Loopback() throws {
        let server = try startServer(host: "::1")
        defer { server.shutdown(gracePeriodSeconds: 0) }
        #expect(server.boundAddress.host == "::1")
        #expect(server.boundAddress.description == "[::1]:\(server.boundAddress.port)")
        let client = try TestClient(host: "::1", port: server.boundAddress.port)
        try client.send("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n")
        #expect(try client.readResponse().bodyText == "hello\n")
    }

    @Test func handlerFramingAndInvalidHeadersAreNotSent() throws {
        let server = try startServer()
        defer { server.shutdown(gracePeriodSeconds: 0) }
        let client = try TestClient(port: server.boundAddress.port)
        try client.send("GET /evil HTTP/1.1\r\nHost: n\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.header("Content-Length") == "5")
        #expect(response.bodyText == "evil\n")
        #expect(response.header("X-Fine") == "ok")
        #expect(response.header("Set-Cookie") == nil)
        #expect(response.header("X-Injected") == nil)
        #expect(response.headers.count == 2)
    }
}
