import Glibc
import KubemeterTestSupport
import Testing

/// The real binary under a fake service manager: a datagram NOTIFY_SOCKET this test binds, a
/// listening socket passed as fd 3 (LISTEN_FDS), WATCHDOG_USEC, then SIGTERM. libsystemd's own
/// sd_notify / sd_listen_fds / sd_watchdog_enabled run in the child, as under systemd.
@Suite(.serialized) struct AgentProcessTests {
    /// `.build/<triple>/debug/kubemeter`, beside the test bundle (built by `swift build --build-tests`).
    static var binary: String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = exe.lastIndex(of: "/") else { return nil }
        let candidate = String(exe[..<slash]) + "/kubemeter"
        return access(candidate, X_OK) == 0 ? candidate : nil
    }

    @Test func notifiesReadyStatusWatchdogAndStoppingAndServesThePassedSocket() throws {
        let binary = try #require(Self.binary, "kubemeter binary not built beside the tests")
        let tool = try #require(TestShell.fakeNodeTool(), "Tests/tools/fake-node not found")
        let run = try ServiceManagerFake()
        defer { run.cleanUp() }
        let tree = run.directory + "/tree"
        try #require(system("python3 '\(tool)' '\(tree)' --pods 3 --containers 2 >/dev/null") == 0)
        // 192.0.2.1 (TEST-NET-1) is on no interface here: binding it would fail, so a served
        // request proves the passed socket is used.
        try run.start(binary: binary, arguments: ["serve", "--host-root", tree, "--listen-address", "192.0.2.1:10265"],
                      watchdogMicroseconds: 400_000)

        let ready = try run.receive(until: { $0.contains("READY=1") })
        #expect(ready.last!.contains("STATUS=serving on 127.0.0.1:\(run.port): 3 pods, 6 containers; last collection ok"))
        #expect(ready.last!.contains("WATCHDOG=1"))
        #expect(!ready.dropLast().contains { $0.contains("READY=1") })

        let readyz = try run.get("/readyz")
        #expect(readyz.hasPrefix("HTTP/1.1 200"))
        let metrics = try run.get("/metrics/resource")
        #expect(metrics.contains("pod_cpu_usage_seconds_total{namespace="))

        // The periodic check (half of WATCHDOG_USEC) keeps pinging while collections succeed.
        let pings = try run.receive(until: { $0.contains("WATCHDOG=1") })
        #expect(pings.last!.contains("requests"))

        try #require(kill(run.pid, SIGTERM) == 0)
        let stopping = try run.receive(until: { $0.contains("STOPPING=1") })
        #expect(stopping.last! == "STOPPING=1\nSTATUS=stopping")
        #expect(try run.waitForExit() == 0)
    }

    @Test func neverReadyNorWatchdogWhileCollectionsFail() throws {
        let binary = try #require(Self.binary, "kubemeter binary not built beside the tests")
        let run = try ServiceManagerFake()
        defer { run.cleanUp() }
        let empty = run.directory + "/empty"
        try #require(mkdir(empty, 0o755) == 0)
        try run.start(binary: binary, arguments: ["serve", "--host-root", empty], watchdogMicroseconds: 200_000)
        // Three status reports: the first collection's and two periodic ones, each a new attempt.
        var messages: [String] = []
        for _ in 0..<3 { messages += try run.receive(until: { $0.contains("STATUS=") }) }
        #expect(messages.allSatisfy { !$0.contains("READY=1") && !$0.contains("WATCHDOG=1") })
        #expect(messages.allSatisfy { $0.contains("last collection FAILED") })
        #expect(try run.get("/readyz").hasPrefix("HTTP/1.1 503"))
        try #require(kill(run.pid, SIGTERM) == 0)
        _ = try run.receive(until: { $0.contains("STOPPING=1") })
        #expect(try run.waitForExit() == 0)
    }
}

struct ProcessTestError: Error, CustomStringConvertible {
    var description: String
}

/// What systemd does for a notify + socket-activated service, done by hand.
final class ServiceManagerFake {
    let directory: String
    let notifyFD: Int32
    let listenFD: Int32
    let port: UInt16
    private(set) var pid: pid_t = 0
    private var exited = false

    init() throws {
        var template = Array("/tmp/kubemeter-systemd-test-XXXXXX".utf8CString)
        let made = mkdtemp(&template)
        guard let made else { throw ProcessTestError(description: "mkdtemp: \(errno)") }
        let directory = String(cString: made)
        self.directory = directory

        let notify = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array((directory + "/notify").utf8CString)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.enumerated() where index < raw.count { raw[index] = UInt8(bitPattern: byte) }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(notify, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard notify >= 0, bound == 0 else { throw ProcessTestError(description: "notify socket: errno \(errno)") }
        // A bound on every receive, so a broken agent fails the test instead of hanging it.
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(notify, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var inet = sockaddr_in()
        inet.sin_family = sa_family_t(AF_INET)
        inet.sin_addr.s_addr = inet_addr("127.0.0.1")
        inet.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &inet) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(listener, address, length) == 0 && listen(listener, 16) == 0
                    && getsockname(listener, address, &length) == 0
            }
        }
        guard listener >= 0, listening else { throw ProcessTestError(description: "listen socket: errno \(errno)") }
        notifyFD = notify
        listenFD = listener
        port = UInt16(bigEndian: inet.sin_port)
    }

    /// Starts the binary as systemd would: fd 3 = the listening socket, LISTEN_PID = its own pid
    /// (the shell `exec`s, keeping its pid), NOTIFY_SOCKET, WATCHDOG_USEC.
    func start(binary: String, arguments: [String], watchdogMicroseconds: UInt64) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, listenFD, 3)
        posix_spawn_file_actions_addopen(&actions, 2, directory + "/stderr.log", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ["/bin/sh", "-c", "LISTEN_PID=$$ exec \"$@\"", "sh", binary] + arguments
        let environment = [
            "PATH=/usr/bin:/bin", "NOTIFY_SOCKET=\(directory)/notify", "LISTEN_FDS=1",
            "WATCHDOG_USEC=\(watchdogMicroseconds)", "KUBEMETER_TEST=1",
        ]
        var cArgv = argv.map { strdup($0) } + [nil]
        var cEnv = environment.map { strdup($0) } + [nil]
        defer { (cArgv + cEnv).forEach { free($0) } }
        let result = posix_spawn(&pid, "/bin/sh", &actions, nil, &cArgv, &cEnv)
        guard result == 0 else { throw ProcessTestError(description: "posix_spawn: \(result)") }
    }

    /// Datagrams received until one satisfies `done` (that one last).
    func receive(until done: (String) -> Bool) throws -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(notifyFD, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else {
                throw ProcessTestError(description: "no notification (errno \(errno)); got \(messages); stderr: \(stderrLog())")
            }
            let message = String(decoding: buffer[0..<n], as: UTF8.self)
            messages.append(message)
            if done(message) { return messages }
        }
    }

    /// One GET over a new connection to the passed socket's port; the whole response.
    func get(_ path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var inet = sockaddr_in()
        inet.sin_family = sa_family_t(AF_INET)
        inet.sin_addr.s_addr = inet_addr("127.0.0.1")
        inet.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &inet) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ProcessTestError(description: "connect: errno \(errno)") }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(path) HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return readAll(fd)
    }

    /// The exit status (a signal death counts as 128 + signal).
    func waitForExit() throws -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw ProcessTestError(description: "waitpid: errno \(errno)") }
        }
        exited = true
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    func stderrLog() -> String {
        let fd = open(directory + "/stderr.log", O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        return readAll(fd)
    }

    func cleanUp() {
        if pid > 0 && !exited {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(notifyFD)
        close(listenFD)
        _ = system("rm -rf '\(directory)'")
    }
}
