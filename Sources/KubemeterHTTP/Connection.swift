import Glibc

/// One accepted client socket. Owned and touched only by the I/O thread.
final class Connection {
    enum State {
        /// Collecting a request head (or idle between kept-alive requests).
        case reading
        /// A request is with a worker; reading is paused so responses stay in request order.
        case awaitingHandler
        /// Sending a response.
        case writing
        /// Every byte of the response is with the kernel, some not yet acknowledged by the peer (the
        /// socket's send queue is not empty): the write timeout still runs, reading stays paused
        /// until the queue is empty, so a client that never reads is cut off like one that reads slowly.
        case draining
        /// After the last response: our side is shut down and input is discarded until the client
        /// closes, so unread request bytes do not turn our close into an RST that destroys the response.
        case lingering
    }

    let id: UInt64
    let fd: Int32
    /// Where it came from, as the per-address share counts it; nil for a Unix-domain peer.
    let peer: PeerAddress?
    var state: State = .reading
    var isClosed = false
    /// When the current state times out (CLOCK_MONOTONIC ns); UInt64.max when it cannot.
    var deadline: UInt64

    /// Bytes received and not yet consumed: the head being read, then any pipelined requests.
    var input: [UInt8] = []
    var requestsServed = 0

    /// About the request with the handler, needed to frame its response.
    var isHeadRequest = false
    var clientWantsKeepAlive = false
    var requestVersion: HTTPVersion = .http1_1

    var outputHead: [UInt8] = []
    var outputBody: [UInt8] = []
    /// Bytes of head then body already sent.
    var outputSent = 0
    var closeAfterWrite = false
    /// When the response being written, drained or lingered over must be acknowledged by.
    var writeDeadline: UInt64 = .max
    /// When the peer last took bytes of the response (a send went through, the send queue shrank).
    var lastProgress: UInt64 = 0
    /// The socket's send queue at the last look, while draining.
    var queuedBytes = 0
    /// Draining: input arrived before the queue emptied; not polled for until the next check.
    var drainWaitsForCheck = false
    /// The accept batch it came in (EventLoop's `round`).
    var acceptedRound: UInt64 = 0

    var discardedWhileLingering = 0

    /// The connection's TLS state (nil: plain HTTP, or TLS already closed for lingering).
    var tls: (any TLSStream)?
    /// The TLS handshake is not complete: the connection is in `.reading`, waiting for no head yet.
    var handshaking = false
    /// What the last TLS call waits for, when it is not what the state implies (a handshake or a
    /// read that must write, a write that must read). nil: the state's own interest.
    var tlsWant: Int16?

    init(id: UInt64, fd: Int32, peer: PeerAddress? = nil, deadline: UInt64) {
        self.id = id
        self.fd = fd
        self.peer = peer
        self.deadline = deadline
    }

    /// The poll() events this state waits for. POLLHUP and POLLERR are reported regardless.
    var interest: Int16 {
        if let tlsWant, state == .reading || state == .writing { return tlsWant }
        return switch state {
        case .reading, .lingering: Int16(POLLIN)
        case .awaitingHandler: 0
        case .writing: Int16(POLLOUT)
        case .draining: drainWaitsForCheck ? 0 : Int16(POLLIN)
        }
    }
}
