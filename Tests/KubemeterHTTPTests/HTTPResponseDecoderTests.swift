import KubemeterHTTP
import Testing

/// Decodes `text` fed in pieces of `step` bytes (0: whole), finishing at the end.
private func decode(_ text: String, step: Int = 0, maxBody: Int = 1 << 20, head: Bool = false) -> Result<HTTPClientResponse, HTTPResponseError> {
    var decoder = HTTPResponseDecoder(maxHeadBytes: 4096, maxBodyBytes: maxBody, requestWasHead: head)
    let bytes = Array(text.utf8)
    let size = step == 0 ? max(bytes.count, 1) : step
    do {
        var start = 0
        while start < bytes.count {
            if let response = try decoder.feed(Array(bytes[start..<min(start + size, bytes.count)])) { return .success(response) }
            start += size
        }
        return .success(try decoder.finish())
    } catch {
        return .failure(error)
    }
}

private func body(_ result: Result<HTTPClientResponse, HTTPResponseError>) -> String? {
    guard case .success(let response) = result else { return nil }
    return String(decoding: response.body, as: UTF8.self)
}

private func failure(_ result: Result<HTTPClientResponse, HTTPResponseError>) -> String? {
    guard case .failure(let error) = result else { return nil }
    return error.reason
}

@Test func contentLengthBodyWhateverThePieces() throws {
    let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"kind\":\"x\"}\nNEXT"
    for step in [0, 1, 2, 3, 7, 64] {
        let result = decode(text, step: step)
        let response = try result.get()
        #expect(response.status == 200 && response.reason == "OK" && response.version == .http1_1)
        #expect(response.headers["content-type"] == "application/json")
        #expect(body(result) == "{\"kind\":\"x\"}\n", "step \(step)")  // bytes past the length are not the body
    }
}

@Test func chunkedBodyWithExtensionsAndTrailers() {
    // As Go's net/http writes one (kubectl proxy, the API server): hex sizes, a last chunk, trailers.
    let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n"
    for step in [0, 1, 5, 11] {
        #expect(body(decode(text, step: step)) == "Wikipedia in\r\n\r\nchunks.", "step \(step)")
    }
    #expect(body(decode("HTTP/1.1 200 OK\nTransfer-Encoding: gzip, Chunked\n\n3\nabc\n0\n\n")) == "abc")  // LF-only lines
}

@Test func bodyRunsToTheCloseWithoutFraming() {
    #expect(body(decode("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it\n", step: 4)) == "all of it\n")
    // A transfer coding other than chunked last: read to the close (RFC 9112 6.3).
    #expect(body(decode("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw")) == "raw")
}

@Test func noBodyWhereThereIsNone() throws {
    #expect(try decode("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n").get().body.isEmpty)
    #expect(try decode("HTTP/1.1 304 Not Modified\r\n\r\n").get().body.isEmpty)
    #expect(try decode("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", head: true).get().body.isEmpty)
    let interim = try decode("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ngone").get()
    #expect(interim.status == 503 && interim.reason == "Service Unavailable" && interim.body == Array("gone".utf8))
    #expect(try decode("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n").get().reason == "")  // reason may be missing
}

@Test func refusesWhatIsNotAResponse() {
    let cases: [(String, String)] = [
        ("", "before any response"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", "inside the response head"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", "inside the response body"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "inside the response body"),
        ("SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x status line"),
        ("HTTP/2 200\r\n\r\n", "not an HTTP/1.x status line"),
        ("HTTP/1.1 20x OK\r\n\r\n", "invalid status code"),
        ("HTTP/1.1 2000 OK\r\n\r\n", "invalid status code"),
        ("HTTP/1.1 200 OK\r\nbad header\r\n\r\n", "header line without ':'"),
        ("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "obsolete line folding"),
        ("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", "bare CR"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "conflicting Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n", "chunk size too large"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", "chunk data longer than its size"),
    ]
    for (text, reason) in cases {
        for step in [0, 1] {
            let got = failure(decode(text, step: step))
            #expect(got?.contains(reason) == true, "\(text.debugDescription) step \(step): \(got ?? "accepted")")
        }
    }
}

@Test func limitsBoundWhatIsHeld() {
    #expect(failure(decode("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", maxBody: 10))?.contains("exceeds 10") == true)
    #expect(failure(decode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n", maxBody: 10))?.contains("exceeds 10") == true)
    #expect(failure(decode("HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "x", count: 11), step: 3, maxBody: 10))?.contains("exceeds 10") == true)
    #expect(failure(decode("HTTP/1.1 200 OK\r\nX: " + String(repeating: "y", count: 5000) + "\r\n\r\n"))?.contains("head exceeds") == true)
}
