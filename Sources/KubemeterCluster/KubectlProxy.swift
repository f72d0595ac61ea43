import CLinux
import KubemeterSync
#if canImport(Glibc)
import Glibc
#endif
import KubemeterHTTP

/// The plugin's one way to the API server: a `kubectl proxy --unix-socket` child for the life of
/// the view. kubectl reads the kubeconfig exactly as it does for any command (contexts, client
/// certificates, tokens, exec and auth-provider plugins, proxies, `KUBECONFIG`), so the plugin has
/// no Kubernetes client of its own; it speaks plain HTTP/1.1 to the socket.
///
/// The socket sits in a private directory (mode 0700, made by `mkdtemp`): kubectl's proxy adds the
/// user's credentials to every request, so nobody else on the machine may connect to it. The child
/// is in its own process group (a Ctrl-C on the terminal reaches only the plugin, which then stops
/// it) and gets SIGTERM if the plugin dies (`PR_SET_PDEATHSIG`).
package final class KubectlProxy {
    package let directory: String
    package let socketPath: String
    package let logPath: String
    package let arguments: [String]
    private(set) var pid: pid_t = -1
    private var exitStatus: Int32?

    /// Starts `kubectl proxy` with `kubeconfigFlags` (--kubeconfig, --context, ...) and waits up to
    /// `readySeconds` for its socket to accept a connection.
    package init(kubectl: String, kubeconfigFlags: [String], readySeconds: Double = 15) throws(ClusterError) {
        guard let executable = Self.find(kubectl) else {
            throw .kubectl("\(kubectl) not found in PATH: kubectl kubemeter reaches the cluster through kubectl proxy (set --kubectl)")
        }
        var template = Array((Self.temporaryDirectory() + "/kubectl-kubemeter-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw .kubectl("cannot make a private directory for kubectl proxy's socket: \(UnixSocketExchange.errorText())")
        }
        directory = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        socketPath = directory + "/proxy.sock"
        logPath = directory + "/kubectl.log"
        // --api-prefix=/ : paths are the API server's own. --accept-hosts stays at its default
        // (localhost only), which is why every request says `Host: localhost`.
        arguments = [executable, "proxy", "--unix-socket=\(socketPath)", "--api-prefix=/"] + kubeconfigFlags
        do {
            try spawn()
            try waitUntilReady(seconds: readySeconds)
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Whether the child is still running (reaps it once it ended).
    package var isRunning: Bool {
        guard pid > 0, exitStatus == nil else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            exitStatus = status
            return false
        }
        return true
    }

    /// The last lines kubectl wrote (its errors: a bad kubeconfig, a failed exec plugin).
    package func logTail(maxBytes: Int = 2000) -> String {
        let fd = open(logPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > 4 * maxBytes { bytes.removeFirst(bytes.count - maxBytes) }
        }
        var text = String(decoding: bytes.suffix(maxBytes), as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }

    /// SIGTERM, then SIGKILL after 2 s; removes the socket, the log and the directory.
    package func stop() {
        if pid > 0, isRunning {
            kill(pid, SIGTERM)
            let deadline = MonotonicClock.now() + 2_000_000_000
            while isRunning, MonotonicClock.now() < deadline { usleep(10_000) }
            if isRunning {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                exitStatus = status
            }
        }
        pid = -1
        unlink(socketPath)
        unlink(logPath)
        rmdir(directory)
    }

    private func spawn() throws(ClusterError) {
        let log = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard log >= 0, null >= 0 else { throw .kubectl("cannot open \(logPath): \(UnixSocketExchange.errorText())") }
        defer {
            close(log)
            close(null)
        }
        // Everything the child touches is made before fork: after it only async-signal-safe calls.
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let parent = getpid()
        let child = fork()
        if child < 0 { throw .kubectl("fork: \(UnixSocketExchange.errorText())") }
        if child == 0 {
            setpgid(0, 0)
            _ = clinux_set_parent_death_signal(SIGTERM)
            if getppid() != parent { _exit(1) }  // the plugin died before the line above
            dup2(null, 0)
            dup2(log, 1)
            dup2(log, 2)
            execv(argv[0]!, argv)
            _exit(127)
        }
        pid = child
    }

    private func waitUntilReady(seconds: Double) throws(ClusterError) {
        let deadline = MonotonicClock.now() + MonotonicClock.nanoseconds(seconds)
        while true {
            if !isRunning {
                let tail = logTail()
                throw .kubectl("kubectl proxy exited before serving" + (tail.isEmpty ? "" : ":\n" + tail))
            }
            if Self.accepts(socketPath) { return }
            if MonotonicClock.now() >= deadline {
                throw .kubectl("kubectl proxy did not serve on \(socketPath) within \(seconds) s" + (logTail().isEmpty ? "" : ":\n" + logTail()))
            }
            usleep(20_000)
        }
    }

    private static func accepts(_ path: String) -> Bool {
        let exchange = UnixSocketExchange(socketPath: path, path: "/", userAgent: "probe", timeoutSeconds: 1, maxBodyBytes: 0, now: MonotonicClock.now())
        if case .failure = exchange.outcome { return false }
        return true
    }

    /// `name` itself when it has a slash, else the first executable `PATH` entry holding it.
    static func find(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// `$TMPDIR` when it leaves room for the socket's name in `sun_path` (108 bytes), else /tmp.
    private static func temporaryDirectory() -> String {
        if let value = getenv("TMPDIR").map({ String(cString: $0) }), !value.isEmpty, value.utf8.count < 60 {
            var trimmed = value
            while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
            return trimmed
        }
        return "/tmp"
    }
}
