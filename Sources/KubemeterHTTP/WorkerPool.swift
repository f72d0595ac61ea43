import Dispatch
import Synchronization
#if canImport(KubemeterSync)
// The fuzz harness compiles this module's sources together with KubemeterSync's.
import KubemeterSync
#endif

/// A fixed set of threads running the handler. Jobs come from the I/O thread; finished responses go
/// back through `completions` and a wake-up of the I/O thread.
///
/// The queue cannot grow without bound: each connection has at most one request in flight, so it holds
/// at most `maxConnections` jobs.
final class WorkerPool: Sendable {
    struct Job: Sendable {
        var connectionID: UInt64
        var request: HTTPRequest
    }

    struct Completion: Sendable {
        var connectionID: UInt64
        var response: HTTPResponse
    }

    private enum Item: Sendable {
        case job(Job)
        case stop
    }

    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private let wakeup: WakeupPipe
    private let queue = AnnotatedMutex<[Item]>([])
    private let available = DispatchSemaphore(value: 0)
    private let finished = AnnotatedMutex<[Completion]>([])

    init(handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse, wakeup: WakeupPipe) {
        self.handler = handler
        self.wakeup = wakeup
    }

    /// Returns the number of threads started (fewer only if the system refused threads).
    func start(threads: Int) -> Int {
        var started = 0
        for _ in 0..<max(1, threads) where DetachedThread.start({ self.work() }) {
            started += 1
        }
        return started
    }

    func submit(_ job: Job) {
        queue.withLock { $0.append(.job(job)) }
        available.signal()
    }

    /// Called by the I/O thread after a wake-up.
    func takeCompletions() -> [Completion] {
        finished.withLock { completions in
            defer { completions.removeAll(keepingCapacity: true) }
            return completions
        }
    }

    /// Drops queued jobs and lets each of `threads` workers exit after its current handler call.
    /// Workers are not joined: a handler stuck for good must not keep `run()` from returning.
    func stop(threads: Int) {
        queue.withLock { items in
            items.removeAll()
            items.append(contentsOf: repeatElement(.stop, count: threads))
        }
        for _ in 0..<threads { available.signal() }
    }

    private func work() {
        while true {
            available.wait()
            let item: Item? = queue.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            switch item {
            case nil:
                continue
            case .stop:
                return
            case .job(let job):
                let response = handler(job.request)
                finished.withLock { $0.append(Completion(connectionID: job.connectionID, response: response)) }
                wakeup.signal()
            }
        }
    }
}
