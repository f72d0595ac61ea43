import Synchronization

#if KUBEMETER_TSAN
@_silgen_name("__tsan_acquire") private func threadSanitizerAcquire(_ address: UnsafeMutableRawPointer)
@_silgen_name("__tsan_release") private func threadSanitizerRelease(_ address: UnsafeMutableRawPointer)
#endif

/// A `Synchronization.Mutex` that ThreadSanitizer can follow.
///
/// On Linux, a contended `Mutex` is handed from one thread to the next inside the kernel
/// (`FUTEX_LOCK_PI`/`FUTEX_UNLOCK_PI`, called from the uninstrumented libswiftSynchronization), so
/// ThreadSanitizer sees no happens-before edge between the two critical sections and reports their
/// accesses to the protected value as a race. Built with `-D KUBEMETER_TSAN` (Tests/sanitize/run.sh
/// does), each critical section tells it so; in every other build this is exactly a `Mutex`.
package final class AnnotatedMutex<Value>: Sendable {
    private let mutex: Mutex<Value>

    package init(_ value: sending Value) {
        mutex = Mutex(value)
    }

    package func withLock<Result, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            #if KUBEMETER_TSAN
            let address = Unmanaged.passUnretained(self).toOpaque()
            threadSanitizerAcquire(address)
            defer { threadSanitizerRelease(address) }
            #endif
            return try body(&value)
        }
    }
}
