/// A response as a client receives it: status, fields, and the body with its framing removed.
package struct HTTPClientResponse: Sendable, Equatable {
    package var version: HTTPVersion
    package var status: Int
    package var reason: String
    package var headers: HTTPHeaders
    package var body: [UInt8]

    package init(version: HTTPVersion = .http1_1, status: Int, reason: String = "", headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }
}

/// Why bytes received are not an acceptable response.
package struct HTTPResponseError: Error, Equatable, CustomStringConvertible {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
    package var description: String { reason }
}

/// Reads one HTTP/1.x response (RFC 9112) from bytes as they arrive, for the client side
/// (`kubectl kubemeter` talking to `kubectl proxy`). Pure: no I/O, safe on any bytes.
///
/// - The head is a status line `HTTP/1.x DDD reason` and fields (parsed as the request parser
///   parses them: token names, no obs-fold, no control characters), ended by a blank line; CRLF or
///   a lone LF ends a line. It must fit in `maxHeadBytes`. Interim 1xx responses are skipped.
/// - The body is framed as section 6.3 says: none for 1xx/204/304 or a HEAD request; chunked when
///   `Transfer-Encoding` ends in `chunked` (chunk extensions ignored, trailers read and dropped);
///   else `Content-Length` (two that differ, or one that is not digits, is an error); else it runs
///   to the end of the connection (`finish()`). A `Transfer-Encoding` that does not end in chunked
///   is read to the end too. Content codings are not undone: send no `Accept-Encoding`.
/// - A body past `maxBodyBytes` is an error, whatever its framing, so a peer cannot make the
///   client hold more than that.
package struct HTTPResponseDecoder: Sendable {
    package let maxHeadBytes: Int
    package let maxBodyBytes: Int
    package let requestWasHead: Bool

    private enum State: Sendable {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case done
    }

    private var state = State.head
    /// Bytes of the head, or of a chunk-size or trailer line, not yet complete.
    private var pending: [UInt8] = []
    private var response: HTTPClientResponse?
    private var body: [UInt8] = []

    package init(maxHeadBytes: Int = 64 * 1024, maxBodyBytes: Int = 64 * 1024 * 1024, requestWasHead: Bool = false) {
        self.maxHeadBytes = max(maxHeadBytes, 16)
        self.maxBodyBytes = max(maxBodyBytes, 0)
        self.requestWasHead = requestWasHead
    }

    /// Whether the response is complete.
    package var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Takes the next bytes received. Returns the response once it is complete; bytes after its
    /// end are ignored (the client sends `Connection: close` and one request per connection).
    package mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(HTTPResponseError) -> HTTPClientResponse? {
        var index = 0
        while index < bytes.count {
            switch state {
            case .done:
                return completed()
            case .head:
                index = try takeHead(bytes, from: index)
            case .fixed(let remaining):
                let n = min(remaining, bytes.count - index)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + n)]))
                index += n
                state = remaining - n == 0 ? .done : .fixed(remaining: remaining - n)
            case .untilClose:
                let n = bytes.count - index
                guard body.count + n <= maxBodyBytes else { throw HTTPResponseError("body exceeds \(maxBodyBytes) bytes") }
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index...]))
                index = bytes.count
            case .chunkSize:
                guard let line = try takeLine(bytes, &index, limit: 4096, what: "chunk size line") else { continue }
                let size = try Self.chunkSize(line)
                guard body.count + size <= maxBodyBytes else { throw HTTPResponseError("body exceeds \(maxBodyBytes) bytes") }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let n = min(remaining, bytes.count - index)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + n)]))
                index += n
                state = remaining - n == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            case .chunkDataEnd:
                guard let line = try takeLine(bytes, &index, limit: 2, what: "chunk end") else { continue }
                guard line.isEmpty else { throw HTTPResponseError("chunk data longer than its size") }
                state = .chunkSize
            case .trailers:
                guard let line = try takeLine(bytes, &index, limit: maxHeadBytes, what: "trailer field") else { continue }
                if line.isEmpty { state = .done }
            }
        }
        return isComplete ? completed() : nil
    }

    package mutating func feed(_ bytes: [UInt8]) throws(HTTPResponseError) -> HTTPClientResponse? {
        var copy = self
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(HTTPResponseError) -> HTTPClientResponse? in try copy.feed(buffer) }
        }
        self = copy
        return try result.get()
    }

    /// The peer closed the connection: the response if it is complete (or runs to the close),
    /// else the error saying what was cut short.
    package mutating func finish() throws(HTTPResponseError) -> HTTPClientResponse {
        switch state {
        case .done: return completed()!
        case .untilClose:
            state = .done
            return completed()!
        case .head: throw HTTPResponseError(pending.isEmpty ? "connection closed before any response" : "connection closed inside the response head")
        default: throw HTTPResponseError("connection closed inside the response body")
        }
    }

    private mutating func completed() -> HTTPClientResponse? {
        guard var response, isComplete else { return nil }
        response.body = body
        return response
    }

    /// Consumes head bytes; once the blank line is there, parses the head and picks the framing.
    private mutating func takeHead(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(HTTPResponseError) -> Int {
        var index = start
        // The blank line ends the head: "\n\n" or "\n\r\n", looked for across feeds.
        while index < bytes.count {
            let byte = bytes[index]
            pending.append(byte)
            index += 1
            if pending.count > maxHeadBytes { throw HTTPResponseError("response head exceeds \(maxHeadBytes) bytes") }
            guard byte == ASCII.lf else { continue }
            let n = pending.count
            let ended = (n >= 2 && pending[n - 2] == ASCII.lf) || (n >= 3 && pending[n - 2] == ASCII.cr && pending[n - 3] == ASCII.lf)
            guard ended else {
                if n == 1 || (n == 2 && pending[0] == ASCII.cr) { pending.removeAll() }  // blank lines before the status line
                continue
            }
            let head = pending
            pending.removeAll()
            try startBody(try Self.parseHead(head))
            return index
        }
        return index
    }

    private mutating func startBody(_ head: HTTPClientResponse) throws(HTTPResponseError) {
        if head.status >= 100, head.status < 200, head.status != 101 {
            return  // an interim response: the real one follows
        }
        response = head
        body = []
        if requestWasHead || head.status == 204 || head.status == 304 || head.status == 101 {
            state = .done
            return
        }
        let codings = head.headers.values(name: "Transfer-Encoding")
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingASCIISpaces().lowercasedASCII() }
        if !codings.isEmpty {
            state = codings.last == "chunked" ? .chunkSize : .untilClose
            return
        }
        let lengths = head.headers.values(name: "Content-Length")
        if let first = lengths.first {
            for other in lengths.dropFirst() where other != first {
                throw HTTPResponseError("conflicting Content-Length fields")
            }
            guard !first.isEmpty, first.utf8.count <= 18, first.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(first) else {
                throw HTTPResponseError("invalid Content-Length \"\(first)\"")
            }
            guard length <= maxBodyBytes else { throw HTTPResponseError("body of \(length) bytes exceeds \(maxBodyBytes)") }
            state = length == 0 ? .done : .fixed(remaining: length)
            return
        }
        state = .untilClose
    }

    /// A line (without its CRLF or LF) once complete; nil while more bytes are needed.
    private mutating func takeLine(
        _ bytes: UnsafeRawBufferPointer, _ index: inout Int, limit: Int, what: String
    ) throws(HTTPResponseError) -> [UInt8]? {
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == ASCII.lf {
                var line = pending
                pending.removeAll()
                if line.last == ASCII.cr { line.removeLast() }
                guard !line.contains(ASCII.cr) else { throw HTTPResponseError("bare CR in \(what)") }
                return line
            }
            pending.append(byte)
            if pending.count > limit + 1 { throw HTTPResponseError("\(what) too long") }
        }
        return nil
    }

    /// `1*HEXDIG [ chunk-ext ]`.
    private static func chunkSize(_ line: [UInt8]) throws(HTTPResponseError) -> Int {
        var size = 0
        var digits = 0
        for byte in line {
            guard let digit = ASCII.hexValue(byte) else {
                guard digits > 0, byte == UInt8(ascii: ";") || byte == ASCII.space || byte == ASCII.tab else {
                    throw HTTPResponseError("invalid chunk size")
                }
                break
            }
            digits += 1
            guard digits <= 15 else { throw HTTPResponseError("chunk size too large") }
            size = size << 4 | Int(digit)
        }
        guard digits > 0 else { throw HTTPResponseError("invalid chunk size") }
        return size
    }

    static func parseHead(_ head: [UInt8]) throws(HTTPResponseError) -> HTTPClientResponse {
        try head.withUnsafeBytes { view in Result { () throws(HTTPResponseError) -> HTTPClientResponse in
            var index = 0
            func lineEnd(from start: Int) -> (content: Int, next: Int) {
                var i = start
                while view[i] != ASCII.lf { i += 1 }  // the head ends in LF, so one is always found
                return (i > start && view[i - 1] == ASCII.cr ? i - 1 : i, i + 1)
            }
            let (statusEnd, afterStatus) = lineEnd(from: index)
            let statusLine = Array(UnsafeRawBufferPointer(rebasing: view[index..<statusEnd]))
            var response = try parseStatusLine(statusLine)
            index = afterStatus
            while true {
                let (end, next) = lineEnd(from: index)
                if end == index { break }
                guard !view[index..<end].contains(ASCII.cr) else { throw HTTPResponseError("bare CR in a header field") }
                switch HTTPRequestParser.parseField(view, from: index, to: end) {
                case .success(let field): response.headers.add(name: field.name, value: field.value)
                case .failure(let failure): throw HTTPResponseError(failure.reason)
                }
                index = next
            }
            return response
        } }.get()
    }

    /// `HTTP/1.x SP 3DIGIT SP reason` (the reason, and the space before it, may be missing).
    private static func parseStatusLine(_ line: [UInt8]) throws(HTTPResponseError) -> HTTPClientResponse {
        let version: HTTPVersion
        if line.starts(with: "HTTP/1.1 ".utf8) {
            version = .http1_1
        } else if line.starts(with: "HTTP/1.0 ".utf8) {
            version = .http1_0
        } else {
            throw HTTPResponseError("not an HTTP/1.x status line")
        }
        let code = line.dropFirst(9).prefix(3)
        guard code.count == 3, code.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), code.first != 0x30 else {
            throw HTTPResponseError("invalid status code")
        }
        let status = code.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        let rest = line.dropFirst(12)
        if let first = rest.first, first != ASCII.space { throw HTTPResponseError("invalid status code") }
        let reasonBytes = rest.dropFirst()
        guard reasonBytes.allSatisfy(ASCII.isFieldValueByte) else { throw HTTPResponseError("invalid character in the reason phrase") }
        return HTTPClientResponse(version: version, status: status, reason: String(decoding: reasonBytes, as: UTF8.self))
    }
}

extension StringProtocol {
    fileprivate func trimmingASCIISpaces() -> Substring {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }

    fileprivate func lowercasedASCII() -> String {
        String(decoding: utf8.map(ASCII.lowercased), as: UTF8.self)
    }
}
