import KubemeterHTTP
import Testing

@Suite struct ListenAddressTests {
    struct Good: Sendable, CustomTestStringConvertible {
        var text: String
        var host: String
        var port: UInt16
        var testDescription: String { text }
    }

    @Test(arguments: [
        Good(text: "127.0.0.1:9779", host: "127.0.0.1", port: 9779),
        Good(text: "[::1]:9779", host: "::1", port: 9779),
        Good(text: "[::]:80", host: "::", port: 80),
        Good(text: "[fe80::1%eth0]:9779", host: "fe80::1%eth0", port: 9779),
        Good(text: ":9779", host: "", port: 9779),
        Good(text: "0.0.0.0:0", host: "0.0.0.0", port: 0),
        Good(text: "localhost:9779", host: "localhost", port: 9779),
        Good(text: "node-1.example_x.local:65535", host: "node-1.example_x.local", port: 65535),
        Good(text: "host:00080", host: "host", port: 80),
    ])
    func parses(_ good: Good) throws {
        let address = try ListenAddress(parsing: good.text)
        #expect(address == ListenAddress(host: good.host, port: good.port))
        #expect(try ListenAddress(parsing: address.description) == address)
    }

    @Test(arguments: [
        "", "9779", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80a", "127.0.0.1:123456",
        "::1:9779", "[::1]", "[::1:9779", "::1]:9779", "[]:80", "[127.0.0.1]:80", "host name:80", "host/x:80",
        "[::1]x:80",
    ])
    func refuses(_ text: String) {
        let error = #expect(throws: HTTPServerError.self) { try ListenAddress(parsing: text) }
        #expect(error?.kind == .invalidAddress)
        #expect(error?.description.contains("\"\(text)\"") == true)
    }

    @Test func describesAddresses() {
        #expect(ListenAddress(host: "::1", port: 1).description == "[::1]:1")
        #expect(ListenAddress(host: "", port: 9779).description == ":9779")
        #expect(ListenAddress(host: "10.0.0.1", port: 80).description == "10.0.0.1:80")
    }
}

@Suite struct QueryItemsTests {
    @Test func splitsAndDecodes() {
        let request = HTTPRequest(path: "/", query: "a=1&b=%20x+y&&c&d=&=e&f=%zz&g=%E2%9C%93&h=a=b&%41%4a=%4a%6b&t=%2")
        let items = request.queryItems()
        #expect(items.map(\.name) == ["a", "b", "c", "d", "", "f", "g", "h", "AJ", "t"])
        #expect(items.map(\.value) == ["1", " x y", "", "", "e", "%zz", "\u{2713}", "a=b", "Jk", "%2"])
    }

    @Test func absentOrEmptyQueryHasNoItems() {
        #expect(HTTPRequest(path: "/").queryItems().isEmpty)
        #expect(HTTPRequest(path: "/", query: "").queryItems().isEmpty)
        #expect(HTTPRequest(path: "/", query: "&&").queryItems().isEmpty)
    }

    @Test func invalidUTF8BecomesReplacementCharacters() {
        let items = HTTPRequest(path: "/", query: "x=%FF%FE").queryItems()
        #expect(items.count == 1)
        #expect(items.first?.value == "\u{FFFD}\u{FFFD}")
    }
}

@Suite struct HTTPHeadersAndResponseTests {
    @Test func headersKeepOrderAndLookUpWithoutCase() {
        var headers = HTTPHeaders([("Content-Type", "text/plain"), ("X-A", "1")])
        headers.add(name: "x-a", value: "2")
        #expect(headers["content-type"] == "text/plain")
        #expect(headers["X-A"] == "1")
        #expect(headers.values(name: "X-a") == ["1", "2"])
        #expect(headers["Missing"] == nil)
        #expect(headers.map(\.name) == ["Content-Type", "X-A", "x-a"])
        headers.remove(name: "X-A")
        #expect(headers.count == 1)
        #expect(!headers.contains(name: "x-a"))
    }

    @Test func textResponsesEndWithOneNewline() {
        let response = HTTPResponse.text(404, "not found")
        #expect(response.status == 404)
        #expect(response.body == Array("not found\n".utf8))
        #expect(response.headers["Content-Type"] == "text/plain; charset=utf-8")
        #expect(HTTPResponse.text(200, "a\n").body == Array("a\n".utf8))
        #expect(HTTPResponse.text(200, "").body == Array("\n".utf8))
    }
}
