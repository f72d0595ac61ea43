/// A complete response from a handler.
///
/// The server owns the framing: it sets `Content-Length` (dropping any `Content-Length` or
/// `Transfer-Encoding` the handler set), and `Connection` as the connection's state requires. A handler
/// may set `Connection: close` to have the connection closed after this response. Header fields whose
/// name is not a token or whose value contains CR, LF or NUL are dropped rather than sent, so a handler
/// cannot split the response. A status outside 200...999 is replaced by 500.
package struct HTTPResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: [UInt8]

    package init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response whose body is `body` ending with exactly one added "\n"
    /// when it does not already end with one.
    package static func text(_ status: Int, _ body: String) -> HTTPResponse {
        var bytes = Array(body.utf8)
        if bytes.last != ASCII.lf {
            bytes.append(ASCII.lf)
        }
        return HTTPResponse(
            status: status,
            headers: HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")]),
            body: bytes
        )
    }
}
