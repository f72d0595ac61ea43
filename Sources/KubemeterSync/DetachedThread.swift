#if canImport(Glibc)
import Glibc
#endif

/// Starts detached pthreads: a bounded, explicit set of threads, unlike Dispatch's pool, which
/// grows when work blocks (and a metrics handler does block on file reads). The one thread
/// launcher of the agent (the HTTP workers and I/O loop, the systemd heartbeat).
package enum DetachedThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Returns false when the thread could not be created (the caller decides what that means).
    @discardableResult
    package static func start(_ run: @escaping @Sendable () -> Void) -> Bool {
        let context = Unmanaged.passRetained(Body(run)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            body.run()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
