/// TLS for `HTTPServer`, implemented outside this module (KubemeterTLS, on OpenSSL) so that the
/// server, its parser and their fuzz harnesses link no TLS library.
///
/// Everything here is called on the server's one I/O thread, on non-blocking sockets: a call never
/// waits, it says what it waits for (`wantRead`, `wantWrite`) and the I/O thread polls for that.
package protocol TLSStreamFactory: Sendable {
    /// A TLS stream over the accepted, non-blocking socket `fd` (server side, handshake not yet
    /// begun), or nil if none can be made (no usable certificate): the connection is then closed.
    /// The stream never closes `fd`.
    func makeStream(fd: Int32) -> (any TLSStream)?
}

/// The outcome of one non-blocking TLS call.
package enum TLSResult: Equatable, Sendable {
    /// The handshake is complete (`handshake`), or this many bytes were read or written.
    case done(Int)
    /// Call again once the socket is readable / writable.
    case wantRead
    case wantWrite
    /// The peer closed the connection (close_notify, or the end of the stream).
    case closed
    /// A protocol or certificate error, or a socket error: the connection is unusable.
    case failed
}

/// One connection's TLS state. Used by the I/O thread only.
package protocol TLSStream: AnyObject {
    func handshake() -> TLSResult
    func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSResult
    /// A retry after `wantRead`/`wantWrite` must pass the same bytes (the server does).
    func write(_ buffer: UnsafeRawBufferPointer) -> TLSResult
    /// Decrypted bytes buffered inside the stream, which poll() cannot see.
    var hasBufferedInput: Bool { get }
    /// Sends close_notify if `notifyPeer` (best effort, never waits) and frees the stream's state.
    func close(notifyPeer: Bool)
}

/// Checks every request before the handler sees it, and adds headers to what it answers; runs on
/// the worker threads, so it may be slow (a bcrypt verification).
package protocol RequestGate: Sendable {
    /// A response to send instead of the handler's (401), or nil to call the handler.
    func check(_ request: HTTPRequest) -> HTTPResponse?
    /// Adds the configured headers to a response (the handler's or `check`'s).
    func decorate(_ response: inout HTTPResponse)
    /// The configuration's counters, for the agent's /metrics.
    var statistics: WebSecurityStatistics { get }
}

/// What the web configuration did since start.
package struct WebSecurityStatistics: Sendable, Equatable {
    /// Successful loads of the web configuration and its files (the first one included).
    package var reloads: UInt64
    /// Loads that failed: the previous configuration stayed in force.
    package var reloadErrors: UInt64
    /// Whether the last load succeeded.
    package var lastReloadSucceeded: Bool
    /// Requests answered 401: no, malformed or wrong credentials.
    package var authFailures: UInt64
    /// (user, password) checks answered from the cache, and those that cost a bcrypt.
    package var authCacheHits: UInt64
    package var authCacheMisses: UInt64

    package init(reloads: UInt64 = 0, reloadErrors: UInt64 = 0, lastReloadSucceeded: Bool = true,
                 authFailures: UInt64 = 0, authCacheHits: UInt64 = 0, authCacheMisses: UInt64 = 0) {
        self.reloads = reloads
        self.reloadErrors = reloadErrors
        self.lastReloadSucceeded = lastReloadSucceeded
        self.authFailures = authFailures
        self.authCacheHits = authCacheHits
        self.authCacheMisses = authCacheMisses
    }
}
