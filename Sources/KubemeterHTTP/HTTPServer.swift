import Dispatch
import Glibc
import Synchronization
#if canImport(KubemeterSync)
// The fuzz harness compiles this module's sources together with KubemeterSync's.
import KubemeterSync
#endif

/// A small HTTP/1.1 server for GET/HEAD scrapes: one poll() I/O thread, a fixed pool of handler threads.
///
/// - The handler runs on a worker thread and may block for a while (collecting metrics); it must not
///   trap: a crash in the handler is a crash of the process, and Swift cannot catch it.
/// - `init` ignores SIGPIPE for the whole process (sends also use MSG_NOSIGNAL): a client that goes
///   away must never kill the agent.
/// - The server owns the listening socket, including one passed to `init(listeningSocket:)`, and
///   closes it on shutdown.
/// - A request that declares a body (`Content-Length` > 0 or any `Transfer-Encoding`) is answered
///   413 and the connection closed: only GET and HEAD are served, and the end of an unread body cannot
///   be found safely. Every refusal (400, 405, 408, 413, 414, 431, 505) is a response with a one-line
///   text body, then the connection is closed.
package final class HTTPServer: Sendable {
    private enum Lifecycle {
        case idle
        case running
        case stopped
    }

    private let loop: EventLoop
    private let lifecycle = AnnotatedMutex<Lifecycle>(.idle)
    /// Entered while the loop runs, so that `shutdown` can wait for `run()` to return.
    private let running = DispatchGroup()

    /// The address actually bound: the real port when port 0 was asked.
    package let boundAddress: ListenAddress

    /// Binds and listens (so the port is known and errors surface before run()).
    package convenience init(
        configuration: HTTPServerConfiguration,
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) throws(HTTPServerError) {
        let fd = try ListeningSocket.open(configuration.listenAddress)
        do {
            try self.init(adopting: fd, configuration: configuration, handler: handler)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Serve an already-listening socket (systemd socket activation passes one). The socket is made
    /// non-blocking and close-on-exec; once this succeeds the server owns it and `shutdown` closes it
    /// (on a thrown error it stays the caller's). `configuration.listenAddress` is not used.
    package convenience init(
        listeningSocket fd: Int32,
        configuration: HTTPServerConfiguration,
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) throws(HTTPServerError) {
        try ListeningSocket.adopt(fd)
        try self.init(adopting: fd, configuration: configuration, handler: handler)
    }

    private init(
        adopting fd: Int32,
        configuration: HTTPServerConfiguration,
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) throws(HTTPServerError) {
        signal(SIGPIPE, SIG_IGN)
        boundAddress = ListeningSocket.localAddress(fd) ?? configuration.listenAddress
        loop = try EventLoop(listener: fd, configuration: configuration, handler: handler)
    }

    /// Counters since start; cheap to read from any thread.
    package var statistics: HTTPServerStatistics {
        loop.statistics
    }

    /// Serves until `shutdown`; blocks the calling thread. Returns at once if the server is already
    /// running or was shut down.
    package func run() {
        guard enterRunning() else { return }
        serve()
    }

    /// `run()` on a background thread of its own.
    package func start() {
        guard enterRunning() else { return }
        if !DetachedThread.start({ self.serve() }) {
            // Without a thread there is nothing to serve with: behave as if shut down.
            serve(stopFirst: true)
        }
    }

    /// Stops accepting (the listener is closed at once), lets responses in flight finish for up to
    /// `gracePeriodSeconds` (they say `Connection: close`), closes everything, and returns when
    /// `run()` has returned. Called from a handler, it returns only after the grace period, since that
    /// handler's own request is in flight. Handler threads are not waited for.
    package func shutdown(gracePeriodSeconds: Double) {
        let wasRunning = lifecycle.withLock { state -> Bool in
            switch state {
            case .idle:
                state = .stopped
                loop.closeListener()
                return false
            case .running:
                return true
            case .stopped:
                return false
            }
        }
        guard wasRunning else { return }
        loop.requestShutdown(gracePeriodSeconds: gracePeriodSeconds)
        running.wait()
    }

    private func enterRunning() -> Bool {
        lifecycle.withLock { state in
            guard state == .idle else { return false }
            state = .running
            running.enter()
            return true
        }
    }

    private func serve(stopFirst: Bool = false) {
        if stopFirst { loop.requestShutdown(gracePeriodSeconds: 0) }
        loop.run()
        lifecycle.withLock { $0 = .stopped }
        running.leave()
    }
}
