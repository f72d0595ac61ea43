/// A pure, allocation-light parser of HTTP/1.x request heads (RFC 9112), safe on arbitrary bytes.
///
/// Rules, in the order they are checked:
/// - Blank lines before the request line are skipped (RFC 9112 2.2). A lone LF ends a line like CRLF;
///   a CR anywhere else is an error.
/// - Request line `method SP target SP HTTP/x.y`, single spaces. Garbage is refused as soon as it is seen
///   (before the line is complete), so a TLS handshake or binary noise gets 400 at once.
///   A request line not ended within `maxHeaderBytes` -> 414. Unsupported `HTTP/d.d` -> 505, other versions -> 400.
///   Method other than GET/HEAD -> 405 (the server adds `Allow: GET, HEAD`).
///   Targets: origin-form `/p?q` and absolute-form `http://host/p?q`; anything else, or a '#', -> 400.
/// - Header fields `name: value`: name a token with no space before ':', obs-fold refused, value free of
///   control characters (obs-text allowed) -> otherwise 400. A second `Host` -> 400; an HTTP/1.1
///   request without `Host` -> 400 at the end of its head (RFC 9112 3.2: "MUST respond with 400").
/// - Bodies are never accepted: `Content-Length` > 0 or any `Transfer-Encoding` -> 413; a `Content-Length`
///   that is not digits, or two that differ, -> 400.
/// - The whole head (request line, fields, final blank line) must fit in `maxHeaderBytes` -> else 431.
///
/// Every error is decided by a prefix of the input: once a prefix gives `.error`, any longer input
/// starting with it gives the same error, and once it gives `.complete`, so does any extension.
/// `arrivalNanoseconds` of the request is 0; the server stamps it.
package enum HTTPRequestParser {
    package static func parseHead(_ bytes: UnsafeRawBufferPointer, maxHeaderBytes: Int) -> HTTPRequestParseResult {
        let limit = max(maxHeaderBytes, 1)
        // Only the first `limit` bytes can belong to an acceptable head; looking no further keeps the work
        // bounded and the result independent of what follows.
        let view = UnsafeRawBufferPointer(rebasing: bytes[0..<min(bytes.count, limit)])
        let exceedsLimit = bytes.count > limit

        var index = 0
        while index < view.count {
            if view[index] == ASCII.lf {
                index += 1
            } else if view[index] == ASCII.cr {
                guard index + 1 < view.count else { break }
                guard view[index + 1] == ASCII.lf else { return .error(status: 400, reason: "bare CR before the request line") }
                index += 2
            } else {
                break
            }
        }

        let lineStart = index
        guard let lineEnd = firstLineFeed(view, from: lineStart) else {
            if let problem = partialRequestLineProblem(view, from: lineStart) {
                return .error(status: 400, reason: problem)
            }
            if exceedsLimit {
                return .error(status: 414, reason: "request line exceeds \(limit) bytes")
            }
            return .incomplete
        }

        let requestLine: RequestLine
        switch parseRequestLine(view, from: lineStart, to: contentEnd(view, lineStart, lineEnd)) {
        case .success(let line): requestLine = line
        case .failure(let failure): return .error(status: failure.status, reason: failure.reason)
        }

        var headers = HTTPHeaders()
        var sawHost = false
        var contentLength: Substring.UTF8View?
        index = lineEnd + 1
        while true {
            guard let fieldEnd = firstLineFeed(view, from: index) else {
                return exceedsLimit ? .error(status: 431, reason: "request head exceeds \(limit) bytes") : .incomplete
            }
            let end = contentEnd(view, index, fieldEnd)
            if end == index {
                if requestLine.version == .http1_1 && !sawHost {
                    return .error(status: 400, reason: "HTTP/1.1 request without a Host field")
                }
                let request = HTTPRequest(
                    method: requestLine.method, path: requestLine.path, query: requestLine.query,
                    version: requestLine.version, headers: headers
                )
                return .complete(request, headLength: fieldEnd + 1)
            }
            let field: HTTPHeaders.Element
            switch parseField(view, from: index, to: end) {
            case .success(let parsed): field = parsed
            case .failure(let failure): return .error(status: failure.status, reason: failure.reason)
            }
            if HTTPHeaders.namesMatch(field.name, "Host") {
                if sawHost { return .error(status: 400, reason: "more than one Host field") }
                sawHost = true
            } else if HTTPHeaders.namesMatch(field.name, "Transfer-Encoding") {
                return .error(status: 413, reason: "request bodies are not accepted (Transfer-Encoding)")
            } else if HTTPHeaders.namesMatch(field.name, "Content-Length") {
                let digits = field.value.utf8
                guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    return .error(status: 400, reason: "invalid Content-Length")
                }
                let normalized = Substring(field.value).utf8.drop { $0 == 0x30 }
                if let previous = contentLength, !previous.elementsEqual(normalized) {
                    return .error(status: 400, reason: "conflicting Content-Length fields")
                }
                contentLength = normalized
                if !normalized.isEmpty {
                    return .error(status: 413, reason: "request bodies are not accepted (Content-Length)")
                }
            }
            headers.add(name: field.name, value: field.value)
            index = fieldEnd + 1
        }
    }

    private struct RequestLine {
        var method: String
        var path: String
        var query: String?
        var version: HTTPVersion
    }

    struct Failure: Error {
        var status: Int
        var reason: String
        init(_ status: Int, _ reason: String) {
            self.status = status
            self.reason = reason
        }
    }

    private static func firstLineFeed(_ view: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index < view.count {
            if view[index] == ASCII.lf { return index }
            index += 1
        }
        return nil
    }

    /// The end of a line's content: before the LF, and before a CR just ahead of it.
    private static func contentEnd(_ view: UnsafeRawBufferPointer, _ start: Int, _ lineFeed: Int) -> Int {
        lineFeed > start && view[lineFeed - 1] == ASCII.cr ? lineFeed - 1 : lineFeed
    }

    /// Cheap checks on a request line still arriving, so that noise is refused without waiting for more.
    private static func partialRequestLineProblem(_ view: UnsafeRawBufferPointer, from start: Int) -> String? {
        var spaces = 0
        var index = start
        while index < view.count {
            let byte = view[index]
            if byte == ASCII.space {
                spaces += 1
                if spaces > 2 { return "malformed request line" }
            } else if byte == ASCII.cr {
                if index != view.count - 1 { return "bare CR in request line" }
            } else if spaces == 0 ? !ASCII.isTokenCharacter(byte) : !ASCII.isVisible(byte) {
                return spaces == 0 ? "malformed method" : "invalid character in request line"
            }
            index += 1
        }
        return nil
    }

    private static func parseRequestLine(
        _ view: UnsafeRawBufferPointer, from start: Int, to end: Int
    ) -> Result<RequestLine, Failure> {
        let line = UnsafeRawBufferPointer(rebasing: view[start..<end])
        guard let firstSpace = line.firstIndex(of: ASCII.space) else {
            return .failure(Failure(400, "malformed request line"))
        }
        let afterMethod = line[(firstSpace + 1)...]
        guard let secondSpace = afterMethod.firstIndex(of: ASCII.space) else {
            return .failure(Failure(400, "malformed request line"))
        }
        let methodBytes = line[..<firstSpace]
        let targetBytes = line[(firstSpace + 1)..<secondSpace]
        let versionBytes = line[(secondSpace + 1)...]
        guard ASCII.isToken(methodBytes) else { return .failure(Failure(400, "malformed method")) }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy(ASCII.isVisible) else {
            return .failure(Failure(400, "malformed request target"))
        }
        guard versionBytes.allSatisfy(ASCII.isVisible) else { return .failure(Failure(400, "malformed HTTP version")) }

        let version: HTTPVersion
        switch Array(versionBytes) {
        case Array("HTTP/1.1".utf8): version = .http1_1
        case Array("HTTP/1.0".utf8): version = .http1_0
        case let other where isWellFormedVersion(other):
            return .failure(Failure(505, "HTTP version not supported"))
        default:
            return .failure(Failure(400, "malformed HTTP version"))
        }

        let method = String(decoding: methodBytes, as: UTF8.self)
        guard method == "GET" || method == "HEAD" else {
            return .failure(Failure(405, "method \(method) not allowed"))
        }

        guard let (path, query) = splitTarget(Array(targetBytes)) else {
            return .failure(Failure(400, "malformed request target"))
        }
        return .success(RequestLine(method: method, path: path, query: query, version: version))
    }

    private static func isWellFormedVersion(_ bytes: [UInt8]) -> Bool {
        bytes.count == 8 && bytes.starts(with: "HTTP/".utf8)
            && (0x30...0x39).contains(bytes[5]) && bytes[6] == UInt8(ascii: ".") && (0x30...0x39).contains(bytes[7])
    }

    /// Origin-form `/path?query` or absolute-form `http(s)://authority/path?query`.
    private static func splitTarget(_ target: [UInt8]) -> (String, String?)? {
        guard !target.contains(ASCII.hash) else { return nil }
        var pathStart = 0
        if target.first != ASCII.slash {
            guard let schemeLength = absoluteFormSchemeLength(target) else { return nil }
            let authorityStart = schemeLength
            var authorityEnd = authorityStart
            while authorityEnd < target.count, target[authorityEnd] != ASCII.slash, target[authorityEnd] != ASCII.question {
                authorityEnd += 1
            }
            guard authorityEnd > authorityStart else { return nil }
            pathStart = authorityEnd
        }
        let rest = target[pathStart...]
        let questionMark = rest.firstIndex(of: ASCII.question)
        let pathBytes = rest[..<(questionMark ?? rest.endIndex)]
        let path = pathBytes.isEmpty ? "/" : String(decoding: pathBytes, as: UTF8.self)
        let query = questionMark.map { String(decoding: rest[($0 + 1)...], as: UTF8.self) }
        return (path, query)
    }

    /// The length of a leading "http://" or "https://" (case-insensitive), or nil.
    private static func absoluteFormSchemeLength(_ target: [UInt8]) -> Int? {
        for scheme in ["http://", "https://"] {
            let schemeBytes = Array(scheme.utf8)
            if target.count >= schemeBytes.count,
               zip(target, schemeBytes).allSatisfy({ ASCII.lowercased($0) == $1 }) {
                return schemeBytes.count
            }
        }
        return nil
    }

    /// One `name: value` line (shared with `HTTPResponseDecoder`).
    static func parseField(
        _ view: UnsafeRawBufferPointer, from start: Int, to end: Int
    ) -> Result<HTTPHeaders.Element, Failure> {
        let line = UnsafeRawBufferPointer(rebasing: view[start..<end])
        if line[0] == ASCII.space || line[0] == ASCII.tab {
            return .failure(Failure(400, "obsolete line folding in header"))
        }
        guard let colon = line.firstIndex(of: ASCII.colon) else {
            return .failure(Failure(400, "header line without ':'"))
        }
        let nameBytes = line[..<colon]
        guard ASCII.isToken(nameBytes) else { return .failure(Failure(400, "malformed header name")) }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd, line[valueStart] == ASCII.space || line[valueStart] == ASCII.tab {
            valueStart += 1
        }
        while valueEnd > valueStart, line[valueEnd - 1] == ASCII.space || line[valueEnd - 1] == ASCII.tab {
            valueEnd -= 1
        }
        let valueBytes = line[valueStart..<valueEnd]
        guard valueBytes.allSatisfy(ASCII.isFieldValueByte) else {
            return .failure(Failure(400, "invalid character in header value"))
        }
        return .success((
            name: String(decoding: nameBytes, as: UTF8.self),
            value: String(decoding: valueBytes, as: UTF8.self)
        ))
    }
}
