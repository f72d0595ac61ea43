#if canImport(Glibc)
package import Glibc
import KubemeterSync
#endif
package import KubemeterExposition
package import KubemeterHTTP

/// Where the agents are and how to ask them.
package struct ClusterConfiguration: Sendable {
    /// kubectl proxy's socket.
    package var socketPath: String
    /// The agents' namespace and label selector (deploy/kubernetes/base).
    package var namespace = "kubemeter"
    package var selector = "app.kubernetes.io/name=kubemeter"
    /// The agents' port; nil: each pod's port named `http-metrics`, else 10265.
    package var port: Int?
    /// The agents serve HTTPS (`--web.config.file` with `tls_server_config`, the tls overlay): the
    /// pod proxy is asked for `https:<pod>:<port>` (the API server does not verify the agent's
    /// certificate there, as for any pod proxy; the user's own connection is kubectl's TLS).
    package var https = false
    /// Longest wait for one node's answer (and, at least 5 s, for the pod list).
    package var timeoutSeconds = 5.0
    /// Live view: seconds between two requests to the same node, and between two pod lists.
    package var intervalSeconds = 2.0
    package var relistSeconds = 30.0
    package var userAgent = "kubectl-kubemeter"
    package var maxPodListBytes = 64 << 20
    package var maxNodeBytes = 16 << 20

    package static let defaultPort = 10265

    package init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// `GET` the agents' pods, by label.
    package var podListPath: String {
        "/api/v1/namespaces/\(Self.escape(namespace))/pods?labelSelector=\(Self.escape(selector))"
    }

    /// The API server's pod proxy to `path` on `pod`'s agent port.
    package func proxyPath(_ pod: AgentPod, _ path: String) -> String {
        let number = port ?? pod.metricsPort ?? Self.defaultPort
        let scheme = https ? "https:" : ""
        return "/api/v1/namespaces/\(Self.escape(pod.namespace))/pods/\(scheme)\(Self.escape(pod.name)):\(number)/proxy\(path)"
    }

    /// Percent-encodes all but RFC 3986's unreserved characters.
    static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0xF)])
            }
        }
        return out
    }
}

/// Why a node has no figures this time.
package struct NodeFailure: Error, Sendable, Equatable {
    package enum Kind: Sendable, Equatable {
        /// No answer within the timeout.
        case timeout
        /// The API server could not reach the agent (502/503 from the pod proxy: refused, no route).
        case unreachable
        /// The agent answered 404 at `/top.json`: it predates the endpoint.
        case oldVersion
        /// The agent's answer was not a `/top.json` this plugin reads (including a newer schema).
        case badAnswer
        /// The pod is not running or has no IP yet: nothing was asked.
        case notRunning
        /// Any other HTTP status, from the API server (403: RBAC) or the agent.
        case status(Int)
        /// The request could not be made (kubectl proxy gone).
        case transport
        /// The agent answered, but its collection failed (it read neither the node's CPU nor its
        /// memory); what it did read is still shown.
        case scrapeFailed
    }

    package var kind: Kind
    /// The whole message: the API server's Status message, the agent's body, the parse error.
    package var detail: String

    package init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// The word in the nodes table's STATUS column.
    package var label: String {
        switch kind {
        case .timeout: "timeout"
        case .unreachable: "unreachable"
        case .oldVersion: "old-version"
        case .badAnswer: "bad-answer"
        case .notRunning: detail
        case .status(403): "forbidden"
        case .status(let code): "HTTP-\(code)"
        case .transport: "no-proxy"
        case .scrapeFailed: "scrape-failed"
        }
    }
}

/// What is known of one agent: its pod, and its latest answer or failure.
package struct NodeState: Sendable {
    package var agent: AgentPod
    package var document: NodeTopDocument?
    package var failure: NodeFailure?
    /// Seconds the latest answer (or failure) took.
    package var answerSeconds: Double?
    /// Nil until the first request to it ended.
    package var hasOutcome: Bool { document != nil || failure != nil }

    /// The node's name; the pod's when it is not scheduled.
    package var nodeName: String { agent.nodeName ?? "(\(agent.name))" }
}

/// Finds the agents and keeps asking each for its `/top.json`, all at once, without threads: the
/// owner polls `descriptors()` and calls `advance` (one thread can also watch the keyboard). A node
/// that is slow or dead affects only its own line: each node has its own request, deadline and
/// schedule.
///
/// Once (`live: false`): one pod list, then one request to every agent; `isSettled` once each has
/// answered or timed out. Live: every node is asked again `intervalSeconds` after its last request
/// started (or at once if that took longer), the pod list every `relistSeconds`.
package final class ClusterSession {
    package let configuration: ClusterConfiguration
    package let live: Bool
    package private(set) var nodes: [NodeState] = []
    /// Why the agents could not be listed (the latest list); nil once one succeeded.
    package private(set) var listFailure: String?
    package private(set) var listed = false
    /// Seconds the latest pod list took.
    package private(set) var listSeconds: Double?

    private var list: UnixSocketExchange?
    private var nextList: UInt64 = 0
    private var fetches: [String: UnixSocketExchange] = [:]
    private var nextFetch: [String: UInt64] = [:]

    package init(configuration: ClusterConfiguration, live: Bool) {
        self.configuration = configuration
        self.live = live
    }

    /// Once: the pod list ended, and every agent has an outcome.
    package var isSettled: Bool {
        guard list == nil, listed || listFailure != nil else { return false }
        return fetches.isEmpty && nodes.allSatisfy(\.hasOutcome)
    }

    /// Sockets to poll, with the events each waits for.
    package func descriptors() -> [pollfd] {
        var fds: [pollfd] = []
        if let list, list.descriptor >= 0 { fds.append(pollfd(fd: list.descriptor, events: list.events, revents: 0)) }
        for exchange in fetches.values where exchange.descriptor >= 0 {
            fds.append(pollfd(fd: exchange.descriptor, events: exchange.events, revents: 0))
        }
        return fds
    }

    /// Milliseconds until something is due (a deadline, a scheduled request); -1 for nothing.
    package func timeoutMilliseconds(now: UInt64 = MonotonicClock.now()) -> Int32 {
        var due: [UInt64] = fetches.values.map(\.deadline)
        if let list { due.append(list.deadline) } else if live || !listed { due.append(nextList) }
        if live { due.append(contentsOf: nextFetch.values) }
        guard let soonest = due.min() else { return -1 }
        if soonest <= now { return 0 }
        return Int32(clamping: (soonest - now + 999_999) / 1_000_000)
    }

    /// Services ready sockets (`ready`: the `descriptors()` after poll), expires deadlines, starts
    /// what is due. True when what the view shows changed.
    @discardableResult
    package func advance(ready: [pollfd] = [], now: UInt64 = MonotonicClock.now()) -> Bool {
        var changed = false
        var revents: [Int32: Int16] = [:]
        for fd in ready where fd.revents != 0 { revents[fd.fd] = fd.revents }

        if let exchange = list {
            let outcome = exchange.service(revents: revents[exchange.descriptor] ?? 0) ?? exchange.expire(now: now)
            if let outcome {
                list = nil
                listSeconds = exchange.seconds(now: MonotonicClock.now())
                finishList(outcome, now: now)
                changed = true
            }
        }
        for (name, exchange) in fetches {
            guard let outcome = exchange.service(revents: revents[exchange.descriptor] ?? 0) ?? exchange.expire(now: now) else { continue }
            fetches[name] = nil
            finishFetch(name, outcome, seconds: exchange.seconds(now: MonotonicClock.now()))
            changed = true
        }

        if list == nil, now >= nextList, live || (!listed && listFailure == nil) {
            list = UnixSocketExchange(socketPath: configuration.socketPath, path: configuration.podListPath,
                                      userAgent: configuration.userAgent, timeoutSeconds: max(configuration.timeoutSeconds, 5),
                                      maxBodyBytes: configuration.maxPodListBytes, now: now)
            nextList = now + MonotonicClock.nanoseconds(configuration.relistSeconds)
            if let outcome = list?.outcome {  // could not even connect
                list = nil
                finishList(outcome, now: now)
                changed = true
            }
        }
        for index in nodes.indices {
            let name = nodes[index].agent.name
            guard fetches[name] == nil, let due = nextFetch[name], now >= due else { continue }
            start(index, now: now)
            if !live { nextFetch[name] = nil }
            changed = changed || !nodes[index].hasOutcome
        }
        return changed
    }

    /// Once: polls and advances until `isSettled`. False when `interrupt` (a signal pipe) became
    /// readable or `stillUsable` (checked at least every 200 ms: is kubectl proxy alive?) said no.
    package func settle(interrupt: Int32 = -1, stillUsable: () -> Bool = { true }) -> Bool {
        advance()
        while !isSettled {
            var fds = descriptors() + [pollfd(fd: interrupt, events: Int16(POLLIN), revents: 0)]
            let timeout = timeoutMilliseconds()
            _ = poll(&fds, nfds_t(fds.count), timeout < 0 ? 200 : min(timeout, 200))
            if fds.last!.revents != 0 { return false }
            advance(ready: fds)
            if !stillUsable() { return false }
        }
        close()
        return true
    }

    /// Closes every socket.
    package func close() {
        list = nil
        fetches.removeAll()
    }

    private func start(_ index: Int, now: UInt64) {
        let pod = nodes[index].agent
        nextFetch[pod.name] = now + MonotonicClock.nanoseconds(configuration.intervalSeconds)
        guard pod.phase == "Running", pod.podIP != nil else {
            nodes[index].document = nil
            nodes[index].failure = NodeFailure(.notRunning, pod.phase == "Running" ? "no-pod-IP" : pod.phase)
            nodes[index].answerSeconds = nil
            return
        }
        let exchange = UnixSocketExchange(socketPath: configuration.socketPath, path: configuration.proxyPath(pod, NodeTopJSONRenderer.path),
                                          userAgent: configuration.userAgent, timeoutSeconds: configuration.timeoutSeconds,
                                          maxBodyBytes: configuration.maxNodeBytes, now: now)
        if let outcome = exchange.outcome {
            finishFetch(pod.name, outcome, seconds: 0)
        } else {
            fetches[pod.name] = exchange
        }
    }

    private func finishList(_ outcome: UnixSocketExchange.Outcome, now: UInt64) {
        // A failed list is tried again after an interval, not a relist period (live view).
        let retry = now + MonotonicClock.nanoseconds(configuration.intervalSeconds)
        let pods: [AgentPod]
        switch outcome {
        case .timedOut:
            listFailure = "listing the agents timed out after \(max(configuration.timeoutSeconds, 5)) s"
            nextList = min(nextList, retry)
            return
        case .failure(let error):
            listFailure = "\(error)"
            nextList = min(nextList, retry)
            return
        case .response(let response):
            guard response.status == 200 else {
                let status = KubernetesStatus.decode(response.body)
                listFailure = "cannot list pods in namespace \(configuration.namespace): HTTP \(response.status)"
                    + (status.map { ": \($0.message)" } ?? "")
                nextList = min(nextList, retry)
                return
            }
            do { pods = try AgentPod.decodeList(response.body) } catch {
                listFailure = "\(error)"
                nextList = min(nextList, retry)
                return
            }
        }
        listed = true
        listFailure = nil
        // Keep what is known of pods still listed; new pods are asked at once; gone ones dropped.
        var known: [String: NodeState] = [:]
        for node in nodes { known[node.agent.name] = node }
        nodes = pods.map { pod in
            var state = known[pod.name] ?? NodeState(agent: pod)
            state.agent = pod
            return state
        }
        nodes.sort { ($0.nodeName, $0.agent.name) < ($1.nodeName, $1.agent.name) }
        let names = Set(pods.map(\.name))
        for name in fetches.keys where !names.contains(name) { fetches[name] = nil }
        for name in nextFetch.keys where !names.contains(name) { nextFetch[name] = nil }
        for pod in pods where known[pod.name] == nil { nextFetch[pod.name] = now }
    }

    private func finishFetch(_ name: String, _ outcome: UnixSocketExchange.Outcome, seconds: Double) {
        guard let index = nodes.firstIndex(where: { $0.agent.name == name }) else { return }
        nodes[index].answerSeconds = seconds
        switch Self.interpret(outcome, timeout: configuration.timeoutSeconds) {
        case .success(let document):
            nodes[index].document = document
            nodes[index].failure = nil
        case .failure(let failure):
            nodes[index].document = nil
            nodes[index].failure = failure
        }
    }

    /// What an exchange's outcome means for the node.
    static func interpret(_ outcome: UnixSocketExchange.Outcome, timeout: Double) -> Result<NodeTopDocument, NodeFailure> {
        switch outcome {
        case .timedOut:
            return .failure(NodeFailure(.timeout, "no answer within \(TopFormat.fixed(timeout, decimals: 1)) s"))
        case .failure(let error):
            return .failure(NodeFailure(.transport, "\(error)"))
        case .response(let response):
            let status = KubernetesStatus.decode(response.body)
            switch response.status {
            case 200:
                do { return .success(try NodeTopDocument.decode(response.body)) } catch {
                    return .failure(NodeFailure(.badAnswer, "\(error)"))
                }
            case 404 where status == nil:
                // The agent's own 404 (text): it has no /top.json. The API server's 404 (a Status)
                // means the pod is gone, and the next pod list drops it.
                return .failure(NodeFailure(.oldVersion, "the agent has no \(NodeTopJSONRenderer.path): it predates kubectl kubemeter top; upgrade the DaemonSet"))
            case 502, 503:
                return .failure(NodeFailure(.unreachable, status?.message ?? Self.firstLine(response.body)))
            default:
                return .failure(NodeFailure(.status(response.status), status?.message ?? Self.firstLine(response.body)))
            }
        }
    }

    private static func firstLine(_ body: [UInt8]) -> String {
        String(decoding: body.prefix(300).prefix { $0 != 0x0A }, as: UTF8.self)
    }
}
