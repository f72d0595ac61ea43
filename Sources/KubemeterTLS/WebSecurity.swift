package import KubemeterHTTP
package import KubemeterHostFiles
import KubemeterSync
package import KubemeterWebConfig
import Synchronization

/// Why a web configuration could not be loaded: which file, and what in it.
package enum WebConfigLoadError: Error, Equatable, Sendable, CustomStringConvertible {
    case file(HostFileError)
    case config(path: String, WebConfigError)
    case tls(TLSSetupError)
    /// The reloaded file turns TLS on or off: the listener's mode is set at start.
    case tlsModeChanged(path: String)

    package var description: String {
        switch self {
        case .file(let error): "\(error)"
        case .config(let path, let error): "\(path): \(error)"
        case .tls(let error): "\(error)"
        case .tlsModeChanged(let path): "\(path): tls_server_config was added or removed; turning TLS on or off needs a restart"
        }
    }

    /// Structured fields for the log line: the file, the line and the key when known.
    package var fields: [(String, String)] {
        switch self {
        case .file(let error): [("file", error.path)]
        case .config(let path, let error): [("file", path), ("line", "\(error.line)"), ("key", error.key)]
        case .tls(let error): [("file", error.subject)]
        case .tlsModeChanged(let path): [("file", path), ("key", "tls_server_config")]
        }
    }
}

/// The web configuration in force: TLS contexts for new connections and basic auth and headers for
/// every request, re-read when the file or a file it names changes.
///
/// Change is checked at most once per second, by the first new connection or request after that
/// second (a `stat` of each file: the configuration, certificate, key and client CA). A change is
/// loaded whole; if anything in it fails, the previous configuration stays, the error is reported
/// once (until the files change again) and counted. New connections get the new certificate;
/// connections already open keep theirs.
package final class WebSecurity: TLSStreamFactory, RequestGate, Sendable {
    /// What one successful load made.
    private struct Loaded: Sendable {
        var config: WebConfig
        var context: OpenSSLContext?
        var auth: BasicAuthVerifier?
        /// Every file's stamp when it was read (nil: missing, which is only possible for none of them).
        var stamps: [String: WholeFile.Stamp]
    }

    package enum Event: Sendable {
        case loaded(WebConfig)
        case failed(WebConfigLoadError)
    }

    /// Paths where basic auth is not asked: liveness and readiness say nothing about the node, and
    /// the kubelet's httpGet probes cannot send credentials without writing them into the pod spec.
    package static let unauthenticatedPaths: Set<String> = ["/healthz", "/readyz"]

    package let path: String
    private let directory: String
    private let report: @Sendable (Event) -> Void
    private let current: AnnotatedMutex<Loaded>
    /// Stamps of the last failed load, so that one bad file is reported once, not every second.
    private let failedStamps = AnnotatedMutex<[String: WholeFile.Stamp]?>(nil)
    private let checkInterval: UInt64
    private let nextCheck: Atomic<UInt64>
    private let checking = Atomic<Bool>(false)
    private let reloads = Atomic<UInt64>(1)
    private let reloadErrors = Atomic<UInt64>(0)
    private let lastSucceeded = Atomic<Bool>(true)
    private let authFailures = Atomic<UInt64>(0)
    private let retiredCacheHits = Atomic<UInt64>(0)
    private let retiredCacheMisses = Atomic<UInt64>(0)

    /// Loads `path`; an error here is the agent's to report and exit on.
    package init(path: String, checkIntervalSeconds: Double = 1, report: @escaping @Sendable (Event) -> Void = { _ in }) throws(WebConfigLoadError) {
        self.path = path
        let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))
        directory = slash.map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        self.report = report
        checkInterval = MonotonicClock.nanoseconds(checkIntervalSeconds)
        let loaded = try Self.load(path: path, directory: directory)
        current = AnnotatedMutex(loaded)
        nextCheck = Atomic(MonotonicClock.now() &+ checkInterval)
    }

    package var config: WebConfig { current.withLock { $0.config } }

    /// Whether connections are TLS (fixed at start).
    package var tlsEnabled: Bool { current.withLock { $0.context != nil } }

    // MARK: Loading

    private static func stamps(of paths: [String]) -> [String: WholeFile.Stamp]? {
        var result: [String: WholeFile.Stamp] = [:]
        for path in paths {
            guard case .success(let stamp) = WholeFile.stamp(path) else { return nil }
            result[path] = stamp
        }
        return result
    }

    private static func read(_ path: String) throws(WebConfigLoadError) -> [UInt8] {
        do { return try WholeFile.read(path) } catch { throw .file(error) }
    }

    private static func load(path: String, directory: String) throws(WebConfigLoadError) -> Loaded {
        // Stamps first: a file replaced while it is read is then seen as changed at the next check.
        var stamps: [String: WholeFile.Stamp] = [:]
        if case .success(let stamp) = WholeFile.stamp(path) { stamps[path] = stamp }
        let bytes = try read(path)
        let config: WebConfig
        do { config = try WebConfig.parse(bytes, directory: directory) } catch {
            throw .config(path: path, error)
        }
        for file in config.files {
            if case .success(let stamp) = WholeFile.stamp(file) { stamps[file] = stamp }
        }
        var context: OpenSSLContext?
        if let tls = config.tls {
            let certificate = try read(tls.certFile)
            let key = try read(tls.keyFile)
            let clientCA = try tls.clientCAFile.map { (file) throws(WebConfigLoadError) -> [UInt8] in try read(file) }
            do { context = try OpenSSLContext(tls, certificate: certificate, key: key, clientCA: clientCA) } catch {
                throw .tls(error)
            }
        }
        let auth = config.basicAuthUsers.isEmpty ? nil : BasicAuthVerifier(users: config.basicAuthUsers)
        return Loaded(config: config, context: context, auth: auth, stamps: stamps)
    }

    /// Re-reads the configuration if its second has passed and a file changed. Never waits for
    /// another thread's check: that one's result is used when it is done.
    package func refreshIfDue(now: UInt64 = MonotonicClock.now()) {
        guard now >= nextCheck.load(ordering: .relaxed) else { return }
        guard checking.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        defer {
            nextCheck.store(now &+ checkInterval, ordering: .relaxed)
            checking.store(false, ordering: .releasing)
        }
        let (known, hadTLS) = current.withLock { ($0.stamps, $0.context != nil) }
        let files = [path] + Array(known.keys.filter { $0 != path })
        let seen = Self.stamps(of: files)
        if let seen, seen == known { return }
        if let seen, failedStamps.withLock({ $0 == seen }) { return }
        do throws(WebConfigLoadError) {
            let loaded = try Self.load(path: path, directory: directory)
            if (loaded.context != nil) != hadTLS { throw WebConfigLoadError.tlsModeChanged(path: path) }
            let retired = current.withLock { state -> BasicAuthVerifier? in
                let old = state.auth
                state = loaded
                return old
            }
            if let retired {
                retiredCacheHits.wrappingAdd(retired.hits.load(ordering: .relaxed), ordering: .relaxed)
                retiredCacheMisses.wrappingAdd(retired.misses.load(ordering: .relaxed), ordering: .relaxed)
            }
            failedStamps.withLock { $0 = nil }
            reloads.wrappingAdd(1, ordering: .relaxed)
            lastSucceeded.store(true, ordering: .relaxed)
            report(.loaded(loaded.config))
        } catch {
            // Reported once per state of the files; a file missing mid-rotation (no stamps) is
            // tried again every second and reported once.
            let failed = seen ?? [:]
            let firstReport = failedStamps.withLock { stamps -> Bool in
                defer { stamps = failed }
                return stamps != failed
            }
            if firstReport {
                reloadErrors.wrappingAdd(1, ordering: .relaxed)
                lastSucceeded.store(false, ordering: .relaxed)
                report(.failed(error))
            }
        }
    }

    // MARK: TLSStreamFactory

    package func makeStream(fd: Int32) -> (any TLSStream)? {
        refreshIfDue()
        return current.withLock { $0.context }?.makeStream(fd: fd)
    }

    // MARK: RequestGate

    package func check(_ request: HTTPRequest) -> HTTPResponse? {
        refreshIfDue()
        guard let auth = current.withLock({ $0.auth }) else { return nil }
        if Self.unauthenticatedPaths.contains(request.path) { return nil }
        if auth.allows(authorization: request.headers.values(name: "Authorization")) { return nil }
        authFailures.wrappingAdd(1, ordering: .relaxed)
        var response = HTTPResponse.text(401, "Unauthorized")
        response.headers.add(name: "WWW-Authenticate", value: "Basic realm=\"kubemeter\", charset=\"UTF-8\"")
        return response
    }

    package func decorate(_ response: inout HTTPResponse) {
        for header in current.withLock({ $0.config.headers }) {
            response.headers.remove(name: header.name)
            response.headers.add(name: header.name, value: header.value)
        }
    }

    package var statistics: WebSecurityStatistics {
        let auth = current.withLock { $0.auth }
        return WebSecurityStatistics(
            reloads: reloads.load(ordering: .relaxed),
            reloadErrors: reloadErrors.load(ordering: .relaxed),
            lastReloadSucceeded: lastSucceeded.load(ordering: .relaxed),
            authFailures: authFailures.load(ordering: .relaxed),
            authCacheHits: retiredCacheHits.load(ordering: .relaxed) + (auth?.hits.load(ordering: .relaxed) ?? 0),
            authCacheMisses: retiredCacheMisses.load(ordering: .relaxed) + (auth?.misses.load(ordering: .relaxed) ?? 0)
        )
    }
}
