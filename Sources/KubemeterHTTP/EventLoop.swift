import Glibc
import Synchronization
#if canImport(KubemeterSync)
// The fuzz harness compiles this module's sources together with KubemeterSync's.
import KubemeterSync
#endif

/// The single I/O thread: poll() over the wake-up pipe, the listener and every connection, all
/// non-blocking, with per-connection deadlines. Idle or slow clients cost a descriptor and a few
/// hundred bytes, never a thread.
///
/// Safe as `@unchecked Sendable` because all mutable state below is touched only by the thread inside
/// `run()`, except `shutdownGraceNanoseconds` (an atomic) and `closeListener()`, which
/// `HTTPServer` calls only while holding its lifecycle lock in a state where `run()` can never start.
final class EventLoop: @unchecked Sendable {
    private let configuration: HTTPServerConfiguration
    private let wakeup: WakeupPipe
    private let pool: WorkerPool
    let counters = ServerCounters()

    /// Counters since start, and the connection limit in force; read from any thread.
    var statistics: HTTPServerStatistics {
        counters.snapshot(maxConnections: configuration.maxConnections, maxConnectionsPerAddress: maxConnectionsPerAddress,
                          security: configuration.gate?.statistics)
    }

    /// UInt64.max until shutdown is requested; then the grace period in nanoseconds.
    private let shutdownGraceNanoseconds = Atomic<UInt64>(.max)

    private var listener: Int32
    private var connections: [UInt64: Connection] = [:]
    /// Open connections by peer address, for the per-address share.
    private var connectionsByAddress: [PeerAddress: Int] = [:]
    private let maxConnectionsPerAddress: Int
    /// Connections in `.draining`, looked at every `drainCheckInterval` until their queue is empty.
    private var draining: Set<UInt64> = []
    private var nextDrainCheck: UInt64 = .max
    private var nextConnectionID: UInt64 = 1
    /// Counts the accept batches. A connection accepted in the current batch has not been read
    /// yet, so it never makes room for another of the same batch (its head may be waiting).
    private var round: UInt64 = 0
    /// No connection deadline is earlier than this; the deadline sweep runs once it has passed.
    private var nextDeadline: UInt64 = .max
    /// Set when accept() ran out of descriptors: the listener is not polled until then, instead of
    /// spinning on a listener that stays readable.
    private var acceptPausedUntil: UInt64?
    /// One descriptor held in reserve (`/dev/null`). Out of descriptors with no connection to let go,
    /// it is closed to accept one waiting connection, tell it 503 and close it, so that the backlog
    /// is answered rather than left to wedge. -1 if it could not be opened.
    private var reserveFD: Int32 = -1
    private var shutdownDeadline: UInt64?
    private var workerCount = 0

    private let readTimeout: UInt64
    private let writeTimeout: UInt64
    private let keepAliveTimeout: UInt64
    private let lingerTimeout: UInt64
    private var receiveBuffer = [UInt8](repeating: 0, count: 16_384)

    /// Lingering after the last response ends after `lingerTimeout` (at most 2 s) or this many
    /// discarded bytes, whichever comes first.
    private static let lingerByteLimit = 1 << 20
    /// Connections accepted per poll() round: at most half an address's share, so that of an
    /// address's connections some always predate the batch (a connection is not taken in the batch
    /// that accepted it, before its head could be read), and heads are read between two batches.
    private let acceptBatch: Int
    private static let acceptPause: UInt64 = 100_000_000
    /// How often the send queues of draining connections are looked at (one ioctl each).
    private static let drainCheckInterval: UInt64 = 20_000_000
    /// A response the peer has taken no byte of for this long is stalled: at the connection limit
    /// its slot may be taken (after idle ones and heads still arriving), with a reset.
    private static let stallNanoseconds: UInt64 = 1_000_000_000

    init(listener: Int32, configuration: HTTPServerConfiguration,
         handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws(HTTPServerError) {
        self.listener = listener
        self.configuration = configuration
        wakeup = try WakeupPipe()
        let gated: @Sendable (HTTPRequest) -> HTTPResponse
        if let gate = configuration.gate {
            gated = { request in
                var response = gate.check(request) ?? handler(request)
                gate.decorate(&response)
                return response
            }
        } else {
            gated = handler
        }
        pool = WorkerPool(handler: gated, wakeup: wakeup)
        readTimeout = MonotonicClock.nanoseconds(configuration.readTimeoutSeconds)
        writeTimeout = MonotonicClock.nanoseconds(configuration.writeTimeoutSeconds)
        keepAliveTimeout = MonotonicClock.nanoseconds(configuration.keepAliveTimeoutSeconds)
        lingerTimeout = min(2_000_000_000, max(readTimeout, 100_000_000))
        maxConnectionsPerAddress = configuration.effectiveMaxConnectionsPerAddress
        acceptBatch = max(1, min(64, maxConnectionsPerAddress / 2))
        reserveFD = Self.openReserve()
    }

    deinit {
        if reserveFD >= 0 { close(reserveFD) }
        if listener >= 0 { close(listener) }
        for connection in connections.values { close(connection.fd) }
    }

    // MARK: Cross-thread entry points

    func requestShutdown(gracePeriodSeconds: Double) {
        let grace = MonotonicClock.nanoseconds(gracePeriodSeconds)
        _ = shutdownGraceNanoseconds.compareExchange(expected: .max, desired: min(grace, .max - 1), ordering: .relaxed)
        wakeup.signal()
    }

    func closeListener() {
        if listener >= 0 {
            close(listener)
            listener = -1
        }
    }

    // MARK: The loop

    func run() {
        workerCount = pool.start(threads: configuration.workerThreads)
        var pollSet: [pollfd] = []
        var polled: [Connection] = []

        while true {
            var now = MonotonicClock.now()
            let grace = shutdownGraceNanoseconds.load(ordering: .relaxed)
            if shutdownDeadline == nil && grace != .max {
                beginShutdown(now: now, grace: grace)
            }
            if let shutdownDeadline, connections.isEmpty || now >= shutdownDeadline {
                break
            }
            if let paused = acceptPausedUntil, now >= paused {
                acceptPausedUntil = nil
            }

            pollSet.removeAll(keepingCapacity: true)
            polled.removeAll(keepingCapacity: true)
            pollSet.append(pollfd(fd: wakeup.readEnd, events: Int16(POLLIN), revents: 0))
            let listening = listener >= 0 && acceptPausedUntil == nil
            pollSet.append(pollfd(fd: listening ? listener : -1, events: Int16(POLLIN), revents: 0))
            for connection in connections.values {
                pollSet.append(pollfd(fd: connection.fd, events: connection.interest, revents: 0))
                polled.append(connection)
            }

            let ready = poll(&pollSet, nfds_t(pollSet.count), pollTimeoutMilliseconds(now: now))
            if ready < 0 {
                // EINTR is routine; anything else (ENOMEM) is transient at best: retry after a pause
                // rather than spin.
                if errno != EINTR { usleep(10_000) }
                continue
            }
            now = MonotonicClock.now()

            if pollSet[0].revents != 0 {
                wakeup.drain()
                for completion in pool.takeCompletions() {
                    deliver(completion, now: now)
                }
            }
            // Connections first, then accepts: a head that arrived is read before a new connection
            // could take its connection's slot.
            for index in polled.indices where pollSet[index + 2].revents != 0 {
                let connection = polled[index]
                if !connection.isClosed {
                    handleEvents(pollSet[index + 2].revents, on: connection, now: now)
                }
            }
            if pollSet[1].revents != 0 {
                round &+= 1
                acceptConnections(now: now)
            }
            if now >= nextDrainCheck {
                checkDraining(now: now)
            }
            if now >= nextDeadline {
                sweepDeadlines(now: now)
            }
        }

        for connection in Array(connections.values) {
            closeConnection(connection, abortively: connection.state == .writing || connection.state == .draining)
        }
        closeListener()
        pool.stop(threads: workerCount)
    }

    private func pollTimeoutMilliseconds(now: UInt64) -> Int32 {
        var wakeAt = min(nextDeadline, nextDrainCheck)
        if let paused = acceptPausedUntil { wakeAt = min(wakeAt, paused) }
        if let shutdownDeadline { wakeAt = min(wakeAt, shutdownDeadline) }
        if wakeAt == .max { return -1 }
        if wakeAt <= now { return 0 }
        // Rounded up, so that poll() does not return just before the deadline and spin.
        return Int32(clamping: (wakeAt - now + 999_999) / 1_000_000)
    }

    private func beginShutdown(now: UInt64, grace: UInt64) {
        shutdownDeadline = grace >= UInt64.max - now ? UInt64.max - 1 : now + grace
        closeListener()
        // Idle connections have nothing in flight; the others finish (with `Connection: close`)
        // within the grace period.
        for connection in Array(connections.values) where connection.state == .reading && connection.input.isEmpty {
            closeConnection(connection, abortively: false)
        }
    }

    private func setDeadline(_ connection: Connection, _ deadline: UInt64) {
        connection.deadline = deadline
        nextDeadline = min(nextDeadline, deadline)
    }

    private func after(_ interval: UInt64, from now: UInt64) -> UInt64 {
        interval >= UInt64.max - 1 - now ? UInt64.max - 1 : now + interval
    }

    // MARK: Accepting

    private func acceptConnections(now: UInt64) {
        for _ in 0..<acceptBatch {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &length) }
            }
            if fd < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK:
                    return
                case EINTR, ECONNABORTED, EPROTO:
                    continue
                case EMFILE, ENFILE:
                    // Out of descriptors: a connection without a request in progress gives its own
                    // back (and the accept is tried again); else the reserve answers one with 503.
                    if makeRoom(now: now) || refuseOneWithTheReserve() { continue }
                    acceptPausedUntil = now + Self.acceptPause
                    return
                default:
                    // ENOBUFS, ENOMEM, or out of descriptors with no reserve: the backlog waits until
                    // resources come back.
                    acceptPausedUntil = now + Self.acceptPause
                    return
                }
            }
            ServerCounters.increment(counters.connectionsAccepted)
            let peer = withUnsafeBytes(of: &storage) { raw in
                PeerAddress(socketAddress: UnsafeRawBufferPointer(rebasing: raw[..<min(raw.count, Int(length))]),
                            ipv6PrefixLength: configuration.ipv6PrefixLengthPerAddress)
            }
            if let peer, connectionsByAddress[peer, default: 0] >= maxConnectionsPerAddress {
                // The address holds its share: it gives back one of its own, or the new one goes.
                if makeRoom(now: now, among: peer) {
                    ServerCounters.increment(counters.addressShareMadeRoom)
                } else {
                    ServerCounters.increment(counters.addressShareRejected)
                    refuse(fd)
                    continue
                }
            }
            if connections.count >= configuration.maxConnections && !makeRoom(now: now) {
                refuse(fd)
                continue
            }
            guard SocketOptions.makeNonBlocking(fd) else {
                close(fd)
                continue
            }
            SocketOptions.disableNagle(fd)
            if let bytes = configuration.socketSendBufferBytes {
                SocketOptions.setSendBuffer(fd, bytes: bytes)
            }
            var stream: (any TLSStream)?
            if let tls = configuration.tls {
                guard let made = tls.makeStream(fd: fd) else {
                    ServerCounters.increment(counters.tlsHandshakeFailures)
                    close(fd)
                    continue
                }
                stream = made
            }
            let connection = Connection(id: nextConnectionID, fd: fd, peer: peer, deadline: .max)
            connection.tls = stream
            connection.handshaking = stream != nil
            connection.acceptedRound = round
            nextConnectionID += 1
            connections[connection.id] = connection
            if let peer { connectionsByAddress[peer, default: 0] += 1 }
            setDeadline(connection, after(readTimeout, from: now))
        }
    }

    /// At the limit, a new connection takes the place of one that holds a slot without a request in
    /// progress, so that connections which send nothing cannot keep a scrape out (they only ever push
    /// each other out). The one taken comes from the address holding the most connections (so one
    /// peer's flood pushes out its own connections before anyone else's), and of that address's: first
    /// the one idle longest after a response (RFC 9112 9.8 lets a server close an idle connection at
    /// any time), then the oldest whose head has not arrived (it has used the most of its read
    /// timeout), then the one whose response the peer has taken nothing of for longest, past
    /// `stallNanoseconds` (a client that does not read; it is reset). A connection whose request is
    /// with the handler, or whose response is moving, is never taken: if all of them are, the new
    /// one is refused. `among`: only that address's connections (it is at its share). Returns whether
    /// a slot was freed.
    private func makeRoom(now: UInt64, among address: PeerAddress? = nil) -> Bool {
        // (address's connections, negated; kind: 0 idle, 1 head awaited, 2 stalled; since; id): least first.
        var best: (Int, Int, UInt64, UInt64)?
        var chosen: Connection?
        for connection in connections.values {
            if let address, connection.peer != address { continue }
            if connection.acceptedRound == round { continue }
            let kind: Int
            let since: UInt64
            switch connection.state {
            case .reading:
                let idle = connection.requestsServed > 0 && connection.input.isEmpty
                kind = idle ? 0 : 1
                // Earlier deadline first; connections accepted in one batch share it, and the lower id is the older.
                since = connection.deadline
            case .writing, .draining:
                guard now >= connection.lastProgress, now - connection.lastProgress >= Self.stallNanoseconds else { continue }
                kind = 2
                since = connection.lastProgress
            case .awaitingHandler, .lingering:
                continue
            }
            let held = address == nil ? connection.peer.map { connectionsByAddress[$0, default: 0] } ?? 0 : 0
            let key = (-held, kind, since, connection.id)
            if best == nil || key < best! {
                best = key
                chosen = connection
            }
        }
        guard let chosen, let best else { return false }
        switch best.1 {
        case 0:
            ServerCounters.increment(counters.idleConnectionsClosedForRoom)
            closeConnection(chosen, abortively: false)
        case 1:
            ServerCounters.increment(counters.incompleteConnectionsClosedForRoom)
            if chosen.tls == nil { sendOverLimit(chosen.fd) }
            closeConnection(chosen, abortively: false)
        default:
            ServerCounters.increment(counters.stalledConnectionsClosedForRoom)
            closeConnection(chosen, abortively: true)
        }
        return true
    }

    /// Out of descriptors: accepts one waiting connection on the reserve descriptor, sends it the
    /// 503 and closes it, then takes the reserve back. False if there was no reserve or nothing
    /// could be accepted (another thread may have taken the freed descriptor).
    private func refuseOneWithTheReserve() -> Bool {
        guard reserveFD >= 0 else { return false }
        close(reserveFD)
        let fd = accept(listener, nil, nil)
        if fd >= 0 {
            ServerCounters.increment(counters.connectionsAccepted)
            refuse(fd)
        }
        reserveFD = Self.openReserve()
        return fd >= 0
    }

    private static func openReserve() -> Int32 {
        open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    /// A connection accepted but not kept: counted, told 503, closed.
    private func refuse(_ fd: Int32) {
        ServerCounters.increment(counters.connectionsRejected)
        sendOverLimit(fd)
        close(fd)
    }

    /// One non-blocking attempt to say why before the caller closes; the client learns it should
    /// retry later. Not on a TLS port: a TLS client would read plain text as a protocol error, so
    /// there the connection is only closed.
    private func sendOverLimit(_ fd: Int32) {
        if configuration.tls != nil { return }
        var response = HTTPResponse.text(503, "too many open connections")
        response.headers.add(name: "Retry-After", value: "1")
        let bytes = ResponseEncoder.encodeHead(response, bodyLength: response.body.count, connection: .close)
            + response.body
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
    }

    // MARK: Events

    private func handleEvents(_ revents: Int16, on connection: Connection, now: UInt64) {
        if revents & Int16(POLLNVAL) != 0 {
            closeConnection(connection, abortively: false)
            return
        }
        switch connection.state {
        case .reading:
            if connection.handshaking {
                continueHandshake(connection, now: now)
            } else {
                readRequest(connection, now: now)
            }
        case .awaitingHandler:
            // Only POLLHUP/POLLERR can be reported here: the client is gone, its response is not wanted.
            closeConnection(connection, abortively: false)
        case .writing:
            flush(connection, now: now)
        case .draining:
            if revents & Int16(POLLHUP | POLLERR) != 0 {
                closeConnection(connection, abortively: false)
            } else if !drained(connection, now: now) {
                // Input before the peer has acknowledged the response: pipelined, or a client that
                // does not read. It waits in the kernel until the queue is empty (the next check).
                connection.drainWaitsForCheck = true
            }
        case .lingering:
            discardInput(connection)
        }
    }

    // MARK: TLS

    /// Go's answer to plain HTTP on a TLS port (net/http), so clients and people see the mistake.
    private static let plaintextOnTLSResponse = Array("HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n".utf8)

    /// Advances the handshake as far as the socket allows. Before the first TLS call, one peeked
    /// byte tells a TLS ClientHello (a handshake record, 0x16) from plain HTTP (a method's letter),
    /// which gets the plain-text 400 above; anything else is closed.
    private func continueHandshake(_ connection: Connection, now: UInt64) {
        guard let tls = connection.tls else { return }
        if connection.tlsWant == nil {
            var first: UInt8 = 0
            let peeked = recv(connection.fd, &first, 1, Int32(MSG_PEEK))
            if peeked < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
                ServerCounters.increment(counters.tlsHandshakeFailures)
                closeConnection(connection, abortively: false)
                return
            }
            if peeked == 0 {
                ServerCounters.increment(counters.tlsHandshakeFailures)
                closeConnection(connection, abortively: false)
                return
            }
            if first != 0x16 {
                tls.close(notifyPeer: false)
                connection.tls = nil
                connection.handshaking = false
                if (0x41...0x5A).contains(first) {
                    ServerCounters.increment(counters.tlsPlaintextRequests)
                    startWriting(connection, head: Self.plaintextOnTLSResponse, body: [], closeAfter: true, now: now)
                } else {
                    ServerCounters.increment(counters.tlsHandshakeFailures)
                    closeConnection(connection, abortively: false)
                }
                return
            }
        }
        switch tls.handshake() {
        case .done:
            connection.handshaking = false
            connection.tlsWant = nil
            ServerCounters.increment(counters.tlsHandshakes)
            // The request may have come with the client's Finished; poll() would say so too, but
            // bytes already inside OpenSSL it cannot see.
            readRequest(connection, now: now)
        case .wantRead:
            connection.tlsWant = Int16(POLLIN)
        case .wantWrite:
            connection.tlsWant = Int16(POLLOUT)
        case .closed, .failed:
            ServerCounters.increment(counters.tlsHandshakeFailures)
            closeConnection(connection, abortively: false)
        }
    }

    /// recv() or its TLS equivalent: > 0 bytes, 0 at the end of the stream, < 0 with errno set
    /// (EAGAIN when the call must wait, with `tlsWant` saying for what).
    private func receive(_ connection: Connection) -> Int {
        guard let tls = connection.tls else {
            return receiveBuffer.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, 0) }
        }
        let result = receiveBuffer.withUnsafeMutableBytes { tls.read(into: $0) }
        return Self.asSocketCall(result, connection, waitsFor: Int16(POLLIN), closed: 0, failure: ECONNRESET)
    }

    /// A TLS read's or write's result as the socket call it stands for returns it: the count; -1
    /// with EAGAIN when it must wait (`tlsWant` set only when it waits for the other direction
    /// than its own, `waitsFor`); `closed` at the peer's close; -1 with `failure` on an error.
    private static func asSocketCall(
        _ result: TLSResult, _ connection: Connection, waitsFor own: Int16, closed: Int, failure: Int32
    ) -> Int {
        switch result {
        case .done(let count):
            connection.tlsWant = nil
            return count
        case .wantRead, .wantWrite:
            let wanted = result == .wantRead ? Int16(POLLIN) : Int16(POLLOUT)
            connection.tlsWant = wanted == own ? nil : wanted
            errno = EAGAIN
            return -1
        case .closed:
            if closed < 0 { errno = failure }
            return closed
        case .failed:
            errno = failure
            return -1
        }
    }

    /// Reads what the socket has, and over TLS what the stream still holds decrypted (which wakes
    /// no poll()), while a head is awaited.
    private func readRequest(_ connection: Connection, now: UInt64) {
        repeat {
            readOnce(connection, now: now)
        } while hasBufferedTLSInput(connection)
    }

    private func readOnce(_ connection: Connection, now: UInt64) {
        let count = receive(connection)
        if count < 0 {
            if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                closeConnection(connection, abortively: false)
            }
            return
        }
        if count == 0 {
            // The client finished sending without a complete request pending: nothing left to answer.
            closeConnection(connection, abortively: false)
            return
        }
        let wasEmpty = connection.input.isEmpty
        let received = receiveBuffer[0..<count]
        connection.input.append(contentsOf: received)
        if wasEmpty && connection.requestsServed > 0 {
            // A kept-alive connection leaves the idle timeout: the new head must arrive within the read timeout.
            setDeadline(connection, after(readTimeout, from: now))
        }
        // Parse only when it can change the outcome: a line ended, the head just began (early refusal
        // of noise), or the limit was passed. This keeps 1-byte writes from costing quadratic time.
        if wasEmpty || received.contains(ASCII.lf) || connection.input.count > configuration.maxHeaderBytes {
            parseInput(connection, now: now)
        }
    }

    private func hasBufferedTLSInput(_ connection: Connection) -> Bool {
        guard !connection.isClosed, connection.state == .reading, !connection.handshaking, let tls = connection.tls else {
            return false
        }
        return tls.hasBufferedInput
    }

    private func parseInput(_ connection: Connection, now: UInt64) {
        let result = connection.input.withUnsafeBytes {
            HTTPRequestParser.parseHead($0, maxHeaderBytes: configuration.maxHeaderBytes)
        }
        switch result {
        case .incomplete:
            return
        case .complete(var request, let headLength):
            connection.input.removeFirst(headLength)
            request.arrivalNanoseconds = now
            connection.isHeadRequest = request.method == "HEAD"
            connection.requestVersion = request.version
            connection.clientWantsKeepAlive = Self.wantsKeepAlive(request)
            connection.state = .awaitingHandler
            connection.deadline = .max
            ServerCounters.increment(counters.requestsHandled)
            pool.submit(WorkerPool.Job(connectionID: connection.id, request: request))
        case .error(let status, let reason):
            ServerCounters.increment(counters.requestsRejected)
            respondWithError(connection, status: status, reason: reason, now: now)
        }
    }

    /// HTTP/1.1 keeps the connection unless told `close`; HTTP/1.0 closes unless told `keep-alive`.
    static func wantsKeepAlive(_ request: HTTPRequest) -> Bool {
        let options = request.headers.values(name: "Connection")
        if options.contains(where: { ConnectionTokens.contains($0, token: "close") }) { return false }
        if request.version == .http1_1 { return true }
        return options.contains { ConnectionTokens.contains($0, token: "keep-alive") }
    }

    private func respondWithError(_ connection: Connection, status: Int, reason: String, now: UInt64) {
        var response = HTTPResponse.text(status, reason)
        if status == 405 {
            response.headers.add(name: "Allow", value: "GET, HEAD")
        }
        let head = ResponseEncoder.encodeHead(response, bodyLength: response.body.count, connection: .close)
        startWriting(connection, head: head, body: response.body, closeAfter: true, now: now)
    }

    private func deliver(_ completion: WorkerPool.Completion, now: UInt64) {
        guard let connection = connections[completion.connectionID], connection.state == .awaitingHandler else {
            return
        }
        let response = completion.response
        let close = !connection.clientWantsKeepAlive || shutdownDeadline != nil
            || ResponseEncoder.handlerRequestsClose(response)
        let directive: ResponseEncoder.ConnectionDirective =
            close ? .close : (connection.requestVersion == .http1_0 ? .keepAliveExplicit : .keepAliveDefault)
        let head = ResponseEncoder.encodeHead(response, bodyLength: response.body.count, connection: directive)
        let body = ResponseEncoder.bodyToSend(response, isHead: connection.isHeadRequest)
        startWriting(connection, head: head, body: body, closeAfter: close, now: now)
    }

    // MARK: Writing

    private func startWriting(_ connection: Connection, head: [UInt8], body: [UInt8], closeAfter: Bool, now: UInt64) {
        connection.state = .writing
        connection.tlsWant = nil
        if connection.tls != nil {
            // One buffer, so that head and body share TLS records.
            connection.outputHead = head + body
            connection.outputBody = []
        } else {
            connection.outputHead = head
            connection.outputBody = body
        }
        connection.outputSent = 0
        connection.closeAfterWrite = closeAfter
        connection.writeDeadline = after(writeTimeout, from: now)
        connection.lastProgress = now
        setDeadline(connection, connection.writeDeadline)
        // Most responses fit in the socket buffer: write now rather than after another poll().
        flush(connection, now: now)
    }

    private func flush(_ connection: Connection, now: UInt64) {
        let total = connection.outputHead.count + connection.outputBody.count
        while connection.outputSent < total {
            let sent = Self.sendOutput(connection)
            if sent > 0 {
                connection.outputSent += sent
                connection.lastProgress = now
            } else if sent < 0 && errno == EINTR {
                continue
            } else if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return
            } else {
                // EPIPE, ECONNRESET: the client left mid-response.
                closeConnection(connection, abortively: true)
                return
            }
        }
        finishResponse(connection, now: now)
    }

    /// One sendmsg of what is left of head and body, without copying them together; over TLS one
    /// SSL_write of what is left (`startWriting` put it all in `outputHead`).
    private static func sendOutput(_ connection: Connection) -> Int {
        let headCount = connection.outputHead.count
        let sent = connection.outputSent
        if let tls = connection.tls {
            let result = connection.outputHead.withUnsafeBytes { head in
                tls.write(UnsafeRawBufferPointer(rebasing: head[sent...]))
            }
            return asSocketCall(result, connection, waitsFor: Int16(POLLOUT), closed: -1, failure: EPIPE)
        }
        return connection.outputHead.withUnsafeBytes { head in
            connection.outputBody.withUnsafeBytes { body in
                var vectors: [iovec] = []
                if sent < headCount, let base = head.baseAddress {
                    vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: base + sent), iov_len: headCount - sent))
                }
                let bodySent = max(0, sent - headCount)
                if bodySent < body.count, let base = body.baseAddress {
                    vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: base + bodySent), iov_len: body.count - bodySent))
                }
                return vectors.withUnsafeMutableBufferPointer { vectorBuffer in
                    var message = msghdr()
                    message.msg_iov = vectorBuffer.baseAddress
                    message.msg_iovlen = vectorBuffer.count
                    return sendmsg(connection.fd, &message, Int32(MSG_NOSIGNAL))
                }
            }
        }
    }

    /// Every byte is with the kernel (the buffers are let go at once). A response is done only when
    /// the peer has acknowledged it: until then the connection drains, under the write timeout.
    private func finishResponse(_ connection: Connection, now: UInt64) {
        connection.requestsServed += 1
        connection.outputHead = []
        connection.outputBody = []
        connection.outputSent = 0
        if connection.closeAfterWrite || shutdownDeadline != nil {
            beginLingering(connection, now: now)
            return
        }
        let queued = SocketOptions.unacknowledgedBytes(connection.fd)
        if queued > 0 {
            connection.state = .draining
            connection.queuedBytes = queued
            connection.drainWaitsForCheck = false
            draining.insert(connection.id)
            nextDrainCheck = min(nextDrainCheck, after(Self.drainCheckInterval, from: now))
            setDeadline(connection, connection.writeDeadline)
            return
        }
        resumeReading(connection, now: now)
    }

    /// Whether a draining connection's send queue is empty; if so it goes back to reading. A queue
    /// that shrank is progress (the stall clock starts again).
    private func drained(_ connection: Connection, now: UInt64) -> Bool {
        let queued = SocketOptions.unacknowledgedBytes(connection.fd)
        if queued > 0 {
            if queued < connection.queuedBytes { connection.lastProgress = now }
            connection.queuedBytes = queued
            return false
        }
        draining.remove(connection.id)
        connection.drainWaitsForCheck = false
        if shutdownDeadline != nil {
            closeConnection(connection, abortively: false)
            return true
        }
        resumeReading(connection, now: now)
        if !connection.isClosed, connection.state == .reading, connection.tls == nil || !connection.handshaking {
            // Input that arrived meanwhile (the next request) is read now, not after another poll().
            readRequest(connection, now: now)
        }
        return true
    }

    private func checkDraining(now: UInt64) {
        for id in Array(draining) {
            guard let connection = connections[id], connection.state == .draining else {
                draining.remove(id)
                continue
            }
            if !drained(connection, now: now) { connection.drainWaitsForCheck = false }
        }
        nextDrainCheck = draining.isEmpty ? .max : after(Self.drainCheckInterval, from: now)
    }

    private func resumeReading(_ connection: Connection, now: UInt64) {
        connection.state = .reading
        if connection.input.isEmpty {
            setDeadline(connection, after(keepAliveTimeout, from: now))
        } else {
            // Pipelined requests already received are answered next, in order.
            setDeadline(connection, after(readTimeout, from: now))
            parseInput(connection, now: now)
        }
        if hasBufferedTLSInput(connection) { readRequest(connection, now: now) }
    }

    // MARK: Closing

    private func beginLingering(_ connection: Connection, now: UInt64) {
        // close_notify, then the raw socket is drained like a plain one.
        connection.tls?.close(notifyPeer: true)
        connection.tls = nil
        connection.tlsWant = nil
        shutdown(connection.fd, Int32(SHUT_WR))
        connection.state = .lingering
        connection.input = []
        setDeadline(connection, after(lingerTimeout, from: now))
    }

    private func discardInput(_ connection: Connection) {
        let count = receiveBuffer.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            connection.discardedWhileLingering += count
            if connection.discardedWhileLingering > Self.lingerByteLimit {
                closeConnection(connection, abortively: false)
            }
        } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            closeConnection(connection, abortively: false)
        }
    }

    private func sweepDeadlines(now: UInt64) {
        var earliest = UInt64.max
        for connection in Array(connections.values) {
            if connection.deadline <= now {
                expire(connection, now: now)
            }
            if !connection.isClosed {
                earliest = min(earliest, connection.deadline)
            }
        }
        nextDeadline = earliest
    }

    private func expire(_ connection: Connection, now: UInt64) {
        switch connection.state {
        case .reading:
            if connection.handshaking {
                ServerCounters.increment(counters.tlsHandshakeTimeouts)
                closeConnection(connection, abortively: false)
            } else if connection.input.isEmpty {
                // Idle: a new connection that never spoke, or a kept-alive one between requests.
                closeConnection(connection, abortively: false)
            } else {
                ServerCounters.increment(counters.readTimeouts)
                ServerCounters.increment(counters.requestsRejected)
                respondWithError(connection, status: 408, reason: "request head not received in time", now: now)
            }
        case .awaitingHandler:
            connection.deadline = .max
        case .writing:
            ServerCounters.increment(counters.writeTimeouts)
            closeConnection(connection, abortively: true)
        case .draining:
            if !drained(connection, now: now) {
                ServerCounters.increment(counters.writeTimeouts)
                closeConnection(connection, abortively: true)
            }
        case .lingering:
            // The client has not closed. If it has not taken the response either, it has until the
            // write deadline; past it the reset frees what the kernel still holds for it (a plain
            // close would leave the kernel retrying the queue to a peer that never reads).
            if SocketOptions.unacknowledgedBytes(connection.fd) == 0 {
                closeConnection(connection, abortively: false)
            } else if now < connection.writeDeadline {
                setDeadline(connection, min(connection.writeDeadline, after(Self.drainCheckInterval * 5, from: now)))
            } else {
                ServerCounters.increment(counters.writeTimeouts)
                closeConnection(connection, abortively: true)
            }
        }
    }

    private func closeConnection(_ connection: Connection, abortively: Bool) {
        guard !connection.isClosed else { return }
        connection.isClosed = true
        connection.tls?.close(notifyPeer: false)
        connection.tls = nil
        if abortively {
            SocketOptions.closeAbortively(connection.fd)
        } else {
            close(connection.fd)
        }
        connections.removeValue(forKey: connection.id)
        draining.remove(connection.id)
        if let peer = connection.peer, let held = connectionsByAddress[peer] {
            connectionsByAddress[peer] = held > 1 ? held - 1 : nil
        }
    }
}
