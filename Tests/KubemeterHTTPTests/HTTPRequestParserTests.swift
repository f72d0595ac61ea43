import KubemeterTestSupport
import KubemeterHTTP
import Testing

private func parse(_ text: String, limit: Int = 8192) -> HTTPRequestParseResult {
    parse(Array(text.utf8), limit: limit)
}

private func parse(_ bytes: [UInt8], limit: Int = 8192) -> HTTPRequestParseResult {
    bytes.withUnsafeBytes { HTTPRequestParser.parseHead($0, maxHeaderBytes: limit) }
}

private func status(_ result: HTTPRequestParseResult) -> Int? {
    if case .error(let status, _) = result { return status }
    return nil
}

@Suite struct HTTPRequestParserTests {
    struct Good: CustomTestStringConvertible, Sendable {
        var input: String
        var method = "GET"
        var path: String
        var query: String?
        var version = HTTPVersion.http1_1
        var headers: [(String, String)] = []
        /// nil: the whole input.
        var headLength: Int?
        var testDescription: String { input.debugDescription }
    }

    @Test(arguments: [
        Good(input: "GET / HTTP/1.1\r\nHost: node\r\n\r\n", path: "/", headers: [("Host", "node")]),
        Good(input: "HEAD /metrics/resource?x=1&y HTTP/1.0\r\n\r\n",
             method: "HEAD", path: "/metrics/resource", query: "x=1&y", version: .http1_0),
        Good(input: "GET /? HTTP/1.1\r\nHost: n\r\n\r\n", path: "/", query: "", headers: [("Host", "n")]),
        Good(input: "GET /a?b?c=d HTTP/1.1\r\nHost: n\r\n\r\n", path: "/a", query: "b?c=d", headers: [("Host", "n")]),
        Good(input: "GET /%7Euser/a%20b HTTP/1.1\r\nHost: n\r\n\r\n", path: "/%7Euser/a%20b", headers: [("Host", "n")]),
        Good(input: "GET http://node:10250/metrics/resource?a=b HTTP/1.1\r\nHost: n\r\n\r\n", path: "/metrics/resource", query: "a=b", headers: [("Host", "n")]),
        Good(input: "GET HTTPS://node HTTP/1.1\r\nHost: n\r\n\r\n", path: "/", headers: [("Host", "n")]),
        Good(input: "GET http://node?q HTTP/1.1\r\nHost: n\r\n\r\n", path: "/", query: "q", headers: [("Host", "n")]),
        Good(input: "GET / HTTP/1.1\nHost: n\n\n", path: "/", headers: [("Host", "n")]),
        Good(input: "GET / HTTP/1.1\nA: 1\r\nHost: n\r\nB: 2\n\r\n", path: "/", headers: [("A", "1"), ("Host", "n"), ("B", "2")]),
        Good(input: "GET / HTTP/1.0\r\n\r\n", path: "/", version: .http1_0),
        Good(input: "\r\n\nGET / HTTP/1.1\r\nHost: n\r\n\r\n", path: "/", headers: [("Host", "n")]),
        Good(input: "GET / HTTP/1.1\r\nHost: n\r\nX-Spaced: \t spaced  value \t\r\nEmpty:\r\n\r\n",
             path: "/", headers: [("Host", "n"), ("X-Spaced", "spaced  value"), ("Empty", "")]),
        Good(input: "GET / HTTP/1.1\r\nHost: n\r\nx-a: 1\r\nX-A: 2\r\n\r\n", path: "/", headers: [("Host", "n"), ("x-a", "1"), ("X-A", "2")]),
        Good(input: "GET / HTTP/1.1\r\nHost: n\r\nContent-Length: 0\r\ncontent-length: 000\r\n\r\n",
             path: "/", headers: [("Host", "n"), ("Content-Length", "0"), ("content-length", "000")]),
        Good(input: "GET / HTTP/1.1\r\nHost: n\r\nUser-Agent: caf\u{e9} \u{2713}\r\n\r\n", path: "/", headers: [("Host", "n"), ("User-Agent", "caf\u{e9} \u{2713}")]),
        Good(input: "GET /a HTTP/1.1\r\nHost: n\r\n\r\nGET /b HTTP/1.1\r\n\r\n", path: "/a", headers: [("Host", "n")], headLength: 28),
        Good(input: "GET /a HTTP/1.1\r\nHost: n\r\n\r\nPOST", path: "/a", headers: [("Host", "n")], headLength: 28),
    ])
    func acceptsWellFormedHeads(_ good: Good) throws {
        guard case .complete(let request, let headLength) = parse(good.input) else {
            Issue.record("not complete: \(parse(good.input))")
            return
        }
        #expect(request.method == good.method)
        #expect(request.path == good.path)
        #expect(request.query == good.query)
        #expect(request.version == good.version)
        #expect(request.headers == HTTPHeaders(good.headers))
        #expect(request.arrivalNanoseconds == 0)
        #expect(headLength == (good.headLength ?? good.input.utf8.count))
    }

    @Test(arguments: [
        "", "G", "GET", "GET /", "GET / HTTP/1.1", "GET / HTTP/1.1\r", "GET / HTTP/1.1\r\n",
        "GET / HTTP/1.1\r\nHost: node\r\n", "GET / HTTP/1.1\r\nHost: node\r\n\r", "\r\n", "\r", "\n\r\n",
        "GET / HTTP/1.1\r\nX: \u{1}",  // a bad field is judged when its line ends
    ])
    func waitsForMoreBytes(_ input: String) {
        #expect(parse(input) == .incomplete)
    }

    struct Bad: CustomTestStringConvertible, Sendable {
        var input: String
        var status: Int
        /// Whether the refusal is for the missing Host; every other case must be refused for its own
        /// fault, not because it happens to lack a Host.
        var missingHost = false
        var testDescription: String { "\(status) \(input.debugDescription)" }
    }

    @Test(arguments: [
        Bad(input: "GET  / HTTP/1.1\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1 \r\n\r\n", status: 400),
        Bad(input: " GET / HTTP/1.1\r\n\r\n", status: 400),
        Bad(input: "GET /\r\n\r\n", status: 400),
        Bad(input: "GET\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1x\r\n\r\n", status: 400),
        Bad(input: "GET / http/1.1\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/2.0\r\n\r\n", status: 505),
        Bad(input: "GET / HTTP/0.9\r\n\r\n", status: 505),
        Bad(input: "POST / HTTP/1.1\r\n\r\n", status: 405),
        Bad(input: "get / HTTP/1.1\r\n\r\n", status: 405),
        Bad(input: "OPTIONS * HTTP/1.1\r\n\r\n", status: 405),
        Bad(input: "GET * HTTP/1.1\r\n\r\n", status: 400),
        Bad(input: "GET ftp://node/ HTTP/1.1\r\n\r\n", status: 400),
        Bad(input: "GET http:///x HTTP/1.1\r\n\r\n", status: 400),
        Bad(input: "GET node/x HTTP/1.1\r\n\r\n", status: 400),
        Bad(input: "GET /a#b HTTP/1.1\r\n\r\n", status: 400),
        Bad(input: "GET /caf\u{e9} HTTP/1.1\r\n\r\n", status: 400),
        // Refused before the line is complete: no waiting for a newline that noise may never send.
        Bad(input: "G(T", status: 400),
        Bad(input: "\u{16}\u{3}\u{1}", status: 400),
        Bad(input: "GET /\u{0}", status: 400),
        Bad(input: "GET / HTTP/1.1 x", status: 400),
        Bad(input: "\rGET / HTTP/1.1\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nno colon\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\n: empty name\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nName : x\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nX: a\u{0}b\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nX: a\u{7f}\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", status: 400),
        // RFC 9112 3.2: an HTTP/1.1 request without Host gets 400, decided at the end of the head.
        Bad(input: "GET / HTTP/1.1\r\n\r\n", status: 400, missingHost: true),
        Bad(input: "GET / HTTP/1.1\r\nX-Host: n\r\nHostname: n\r\n\r\n", status: 400, missingHost: true),
        Bad(input: "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", status: 413),
        Bad(input: "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", status: 413),
        Bad(input: "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n", status: 400),
        Bad(input: "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", status: 413),
        Bad(input: "GET / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", status: 413),
    ])
    func refusesMalformedHeads(_ bad: Bad) {
        let result = parse(bad.input)
        #expect(status(result) == bad.status, "\(result)")
        if case .error(_, let reason) = result {
            #expect(!reason.isEmpty && !reason.contains("\n"))
            #expect(reason.contains("without a Host") == bad.missingHost, "\(reason)")
        }
    }

    @Test func requestLineOverTheLimitIs414AndHeadOverTheLimitIs431() {
        let longTarget = "GET /" + String(repeating: "a", count: 9000)
        #expect(status(parse(longTarget)) == 414)
        #expect(status(parse(longTarget + " HTTP/1.1\r\n\r\n")) == 414)
        #expect(parse(String(longTarget.prefix(8192))) == .incomplete)

        var head = "GET / HTTP/1.1\r\n"
        while head.utf8.count < 9000 { head += "X-Filler: " + String(repeating: "b", count: 70) + "\r\n" }
        #expect(status(parse(head)) == 431)  // no blank line yet: it cannot fit any more
        #expect(status(parse(head + "\r\n")) == 431)
    }

    @Test func limitCountsTheWholeHeadExactly() {
        let head = "GET /metrics HTTP/1.1\r\nHost: node\r\n\r\n"
        let length = head.utf8.count
        guard case .complete(_, let headLength) = parse(head, limit: length) else {
            Issue.record("a head of exactly the limit must be accepted")
            return
        }
        #expect(headLength == length)
        #expect(status(parse(head, limit: length - 1)) == 431)
        #expect(status(parse(head, limit: 10)) == 414)
        #expect(status(parse("GET / HTTP/1.1\r\n", limit: 10)) == 414)
    }

    /// Random and mutated inputs: never a crash, only known outcomes, and every outcome is decided by
    /// a prefix (a longer input never changes an error or a complete head).
    @Test func survivesFuzzingAndIsDecidedByPrefixes() {
        var random = SplitMix64(seed: 0x6b75_6265_6d65_7465)
        let seeds = [
            "GET /metrics/resource?x=1 HTTP/1.1\r\nHost: node:10250\r\nAccept: text/plain\r\n\r\n",
            "HEAD http://node/a HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            "\r\nGET / HTTP/1.1\nX: y\n\n",
        ].map { Array($0.utf8) }
        let alphabet = Array("GETHEAD /?#:%\r\n\t HTTP/1.01Content-LengthTransfer-Encoding,\u{0}\u{7f}\u{ff}".utf8)
        let allowedStatuses: Set<Int> = [400, 405, 413, 414, 431, 505]
        var outcomes: [String: Int] = [:]

        for round in 0..<4000 {
            var input: [UInt8]
            if round % 5 == 0 {
                input = (0..<Int(random.next() % 120)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                input = seeds[Int(random.next() % UInt64(seeds.count))]
                for _ in 0..<Int(random.next() % 4) {
                    let position = Int(random.next() % UInt64(input.count + 1))
                    switch random.next() % 3 {
                    case 0: input.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: position)
                    case 1: if position < input.count { input.remove(at: position) }
                    default: if position < input.count { input[position] = alphabet[Int(random.next() % UInt64(alphabet.count))] }
                    }
                }
            }
            let limit = round % 3 == 0 ? 1 + Int(random.next() % 64) : 8192
            let full = parse(input, limit: limit)
            switch full {
            case .incomplete:
                outcomes["incomplete", default: 0] += 1
            case .complete(let request, let headLength):
                outcomes["complete", default: 0] += 1
                #expect(headLength <= input.count && headLength <= limit)
                #expect(request.method == "GET" || request.method == "HEAD")
                #expect(request.path.hasPrefix("/"))
            case .error(let status, _):
                outcomes["\(status)", default: 0] += 1
                #expect(allowedStatuses.contains(status), "\(status) for \(input)")
            }
            for _ in 0..<3 {
                let cut = Int(random.next() % UInt64(input.count + 1))
                let partial = parse(Array(input[..<cut]), limit: limit)
                if partial != .incomplete {
                    if let partialStatus = status(partial) {
                        #expect(status(full) == partialStatus, "prefix \(Array(input[..<cut])) of \(input)")
                    } else {
                        #expect(partial == full, "prefix \(Array(input[..<cut])) of \(input)")
                    }
                }
            }
        }
        // The generator must actually reach the interesting outcomes.
        for outcome in ["incomplete", "complete", "400", "431"] {
            #expect(outcomes[outcome, default: 0] > 0, "never saw \(outcome): \(outcomes)")
        }
    }
}

