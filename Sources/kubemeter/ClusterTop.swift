import ArgumentParser
import KubemeterAgent
import KubemeterCluster
import KubemeterExposition
import KubemeterHTTP
import KubemeterSync

#if canImport(Glibc)
import Glibc
#endif

/// `kubectl kubemeter ...`: the binary under the plugin's name (a link `kubectl-kubemeter` ->
/// `kubemeter`, which is what kubectl finds in PATH). kubectl runs it with the words after
/// `kubectl kubemeter`.
struct KubectlKubemeter: ParsableCommand {
    static let pluginName = "kubectl-kubemeter"

    static let configuration = CommandConfiguration(
        commandName: "kubectl kubemeter",
        abstract: "kubemeter across the cluster, through the API server: `kubectl kubemeter top`.",
        subcommands: [ClusterTop.self, Version.self]
    )
}

/// `kubemeter cluster top` is the same command without kubectl's plugin machinery.
struct Cluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "kubemeter across the cluster, through the API server (also `kubectl kubemeter top`).",
        subcommands: [ClusterTop.self]
    )
}

/// The cluster view: every node's agent, read through the API server's pod proxy.
struct ClusterTop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Every node's pods, fresh from each node's agent: CPU, memory, limits, throttling, OOM, PSI, network.",
        discussion: """
            Finds the agents (pods labelled --agent-selector in --agent-namespace) and reads each one's \
            /top.json through the API server's pod proxy, all at once, each with --timeout. Rates are \
            the agents' own, between their collections. The API server is reached through one \
            `kubectl proxy --unix-socket` child, so the kubeconfig is read exactly as kubectl reads it \
            (--kubeconfig, --context, --cluster, --user, --as are passed on; so is KUBECONFIG). \
            Needs `list pods` and `get pods/proxy` in the agents' namespace (deploy/kubernetes/rbac-viewer). \
            A node that times out, cannot be reached or runs an agent without /top.json is listed \
            with its STATUS and never holds the others back. Keys as in `kubemeter top`.
            """)

    @OptionGroup var view: TopViewOptions

    @Option(help: ArgumentHelp("Only nodes whose name matches this: a substring, or a glob with * ? [..].", valueName: "pattern"))
    var node: String?

    @Option(help: ArgumentHelp("The agents' namespace.", valueName: "namespace"))
    var agentNamespace = "kubemeter"

    @Option(help: ArgumentHelp("The agents' pods: a label selector.", valueName: "selector"))
    var agentSelector = "app.kubernetes.io/name=kubemeter"

    @Option(help: ArgumentHelp("The agents' port. Default: each pod's port named http-metrics, else 10265.", valueName: "port"))
    var agentPort: Int?

    @Option(help: ArgumentHelp("""
        How the API server's pod proxy reaches the agents: http, or https for agents serving TLS \
        (deploy/kubernetes/overlays/tls).
        """, valueName: "scheme"))
    var agentScheme: AgentScheme = .http

    @Option(help: ArgumentHelp("Seconds to wait for one node's answer.", valueName: "seconds"))
    var timeout: Double = 5

    @Option(help: ArgumentHelp("The kubectl to run `kubectl proxy` with.", valueName: "path"))
    var kubectl = "kubectl"

    @Option(help: ArgumentHelp("Passed to kubectl.", valueName: "file"))
    var kubeconfig: String?

    @Option(help: ArgumentHelp("Passed to kubectl.", valueName: "name"))
    var context: String?

    @Option(help: ArgumentHelp("Passed to kubectl.", valueName: "name"))
    var cluster: String?

    @Option(help: ArgumentHelp("Passed to kubectl.", valueName: "name"))
    var user: String?

    @Option(help: ArgumentHelp("Passed to kubectl (impersonation).", valueName: "user"))
    var `as`: String?

    @Flag(help: "With --once: print to stderr where the time went (kubectl proxy's start, the pod list, the answers, the rendering) and the CPU used.")
    var timings = false

    func validate() throws {
        guard timeout > 0, timeout <= 600 else { throw ValidationError("--timeout must be between 0 and 600 seconds") }
        if let agentPort, !(1...65535).contains(agentPort) { throw ValidationError("--agent-port must be a port number") }
    }

    var kubeconfigFlags: [String] {
        var flags: [String] = []
        for (name, value) in [("kubeconfig", kubeconfig), ("context", context), ("cluster", cluster), ("user", user), ("as", `as`)] {
            if let value { flags.append("--\(name)=\(value)") }
        }
        return flags
    }

    func run() throws {
        let started = MonotonicClock.seconds()
        let proxy: KubectlProxy
        do { proxy = try KubectlProxy(kubectl: kubectl, kubeconfigFlags: kubeconfigFlags) } catch {
            writeError("kubectl kubemeter: \(error)")
            throw ExitCode.failure
        }
        let proxyReady = MonotonicClock.seconds()
        defer { proxy.stop() }
        var configuration = ClusterConfiguration(socketPath: proxy.socketPath)
        configuration.namespace = agentNamespace
        configuration.selector = agentSelector
        configuration.port = agentPort
        configuration.https = agentScheme == .https
        configuration.timeoutSeconds = timeout
        configuration.intervalSeconds = view.interval
        configuration.userAgent = "kubectl-kubemeter/\(KubemeterVersion.current)"
        let nodeFilter = node.map(NameFilter.init)

        if view.printsOnce {
            let session = ClusterSession(configuration: configuration, live: false)
            guard runOnce(session, proxy) else { throw ExitCode.failure }
            let settled = MonotonicClock.seconds()
            let cluster = ClusterView(session: session, options: view.topOptions, nodeFilter: nodeFilter)
            let output: [UInt8]
            switch view.output {
            case .json:
                output = ClusterJSONRenderer().render(cluster, timestampMilliseconds: WallClock.milliseconds())
            case .table, .wide:
                output = Array(ClusterTable(width: TerminalSize.printWidth(), wide: view.output == .wide).render(cluster).utf8)
            }
            let rendered = MonotonicClock.seconds()
            writeAll(output)
            if timings {
                proxy.stop()
                printTimings(session, started: started, proxyReady: proxyReady, settled: settled, rendered: rendered, bytes: output.count)
            }
            if session.listFailure != nil { throw ExitCode.failure }
            return
        }
        let session = ClusterSession(configuration: configuration, live: true)
        let live = LiveClusterTop(session: session, proxy: proxy, options: view.topOptions, nodeFilter: nodeFilter,
                                  wide: view.output == .wide)
        live.run()
        if let failure = live.proxyFailure {
            writeError("kubectl kubemeter: \(failure)")
            throw ExitCode.failure
        }
    }

    private func printTimings(_ session: ClusterSession, started: Double, proxyReady: Double, settled: Double, rendered: Double, bytes: Int) {
        func ms(_ seconds: Double) -> String { TopFormat.fixed(seconds * 1000, decimals: 1) + " ms" }
        func cpu(_ who: Int32) -> Double {
            var usage = rusage()
            getrusage(who, &usage)
            return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        }
        let answers = session.nodes.compactMap(\.answerSeconds).sorted()
        var lines = ["timings: kubectl proxy ready \(ms(proxyReady - started)); pod list \(ms(session.listSeconds ?? 0))"]
        lines.append("timings: \(session.nodes.count) agents asked at once; answers median \(ms(answers.isEmpty ? 0 : answers[answers.count / 2])), slowest \(ms(answers.last ?? 0)); all in \(ms(settled - proxyReady)) after the proxy was ready")
        lines.append("timings: view and rendering \(ms(rendered - settled)) (\(bytes) bytes); wall \(ms(rendered - started))")
        lines.append("timings: CPU kubectl-kubemeter \(ms(cpu(RUSAGE_SELF.rawValue))), kubectl proxy \(ms(cpu(RUSAGE_CHILDREN.rawValue)))")
        for line in lines { writeError(line) }
    }

    /// Asks every agent once; false when interrupted or when kubectl proxy died.
    private func runOnce(_ session: ClusterSession, _ proxy: KubectlProxy) -> Bool {
        let signals = SignalPipe([SIGINT, SIGTERM, SIGHUP])
        let settled = session.settle(interrupt: signals?.descriptor ?? -1) { proxy.isRunning }
        if !proxy.isRunning { writeError("kubectl kubemeter: kubectl proxy exited: \(proxy.logTail())") }
        return settled
    }
}

/// The live cluster view: requests and keys on one thread, redrawn as answers arrive.
final class LiveClusterTop {
    private let session: ClusterSession
    private let proxy: KubectlProxy
    private var options: TopOptions
    private let nodeFilter: NameFilter?
    private var wide: Bool
    private let screen = LiveScreen()
    /// Set when kubectl proxy exited under the view.
    private(set) var proxyFailure: String?

    init(session: ClusterSession, proxy: KubectlProxy, options: TopOptions, nodeFilter: NameFilter?, wide: Bool) {
        self.session = session
        self.proxy = proxy
        self.options = options
        self.nodeFilter = nodeFilter
        self.wide = wide
    }

    /// Frames are at most this often while answers stream in.
    private static let redrawGap = 0.1

    func run() {
        screen.enter()
        defer {
            screen.leave()
            session.close()
        }
        session.advance()
        draw()
        var lastDraw = MonotonicClock.seconds()
        var dirty = false
        loop: while true {
            var fds = session.descriptors()
            var timeout = session.timeoutMilliseconds()
            if dirty { timeout = min(timeout < 0 ? Int32.max : timeout, Int32(max(0, (lastDraw + Self.redrawGap - MonotonicClock.seconds()) * 1000))) }
            // Polled in slices of at most 500 ms to notice kubectl proxy exiting.
            timeout = timeout < 0 ? 500 : min(timeout, 500)
            switch screen.wait(milliseconds: timeout, others: &fds) {
            case .quit:
                break loop
            case .resize:
                dirty = true
            case .key(let key):
                guard LiveScreen.apply(key, &options, &wide) else { break loop }
                draw()
                lastDraw = MonotonicClock.seconds()
                dirty = false
            case .none:
                break
            }
            if session.advance(ready: fds) { dirty = true }
            if !proxy.isRunning {
                proxyFailure = "kubectl proxy exited: \(proxy.logTail())"
                break loop
            }
            if dirty, MonotonicClock.seconds() - lastDraw >= Self.redrawGap {
                draw()
                lastDraw = MonotonicClock.seconds()
                dirty = false
            }
        }
    }

    private func draw() {
        let view = ClusterView(session: session, options: options, nodeFilter: nodeFilter)
        let table = ClusterTable(width: screen.size.columns, wide: wide)
        let nodes = table.nodes(view)
        let rows = table.rows(view)
        var frame = LiveFrame(footer: LiveScreen.keyHelp)
        frame.parts = table.summary(view).map { .text($0) }
        frame.parts += [.text(""), .header(nodes[0]), .rows(Array(nodes.dropFirst()), label: "nodes", share: 0.4)]
        frame.parts += [.text(""), .header(rows[0]), .rows(Array(rows.dropFirst()), label: "rows", share: 1)]
        screen.draw(frame)
    }
}

func writeError(_ text: String) {
    writeAllTo(2, Array((text + "\n").utf8))
}


/// `--agent-scheme`: how the pod proxy talks to the agents.
enum AgentScheme: String, ExpressibleByArgument, CaseIterable {
    case http, https
}
