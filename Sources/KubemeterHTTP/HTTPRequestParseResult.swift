/// The outcome of parsing the bytes received so far on a connection.
package enum HTTPRequestParseResult: Sendable, Equatable {
    /// More bytes are needed; nothing wrong has been seen yet.
    case incomplete
    /// A whole head; `headLength` bytes (including any leading blank lines and the final blank line)
    /// belong to it and the rest is the start of the next pipelined request.
    case complete(HTTPRequest, headLength: Int)
    /// The request must be refused with `status` and a one-line `reason`; the connection cannot continue.
    case error(status: Int, reason: String)
}
