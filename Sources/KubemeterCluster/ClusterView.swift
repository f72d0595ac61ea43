package import KubemeterExposition

/// One line of the nodes table.
package struct ClusterNodeLine: Sendable, Equatable {
    package var node: String
    package var agentPod: String
    /// The agent's node figures; nil when it did not answer.
    package var summary: TopNodeSummary?
    package var failure: NodeFailure?
    package var answerSeconds: Double?
    package var intervalSeconds: Double?
    package var ratesFrom: String?
    package var agentVersion: String?
    /// Not asked yet, or no answer yet (the first round of the live view).
    package var waiting: Bool

    package var status: String { failure?.label ?? (waiting ? "waiting" : "ok") }

    package var cpuPercent: Double? {
        guard let cores = summary?.cpuCores, let count = summary?.cpuCount, count > 0 else { return nil }
        return cores / Double(count) * 100
    }

    package var memoryPercent: Double? {
        guard let used = summary?.memoryWorkingSetBytes, let total = summary?.memoryTotalBytes, total > 0 else { return nil }
        return Double(used) / Double(total) * 100
    }

    package var pressure: Double? {
        [summary?.cpuPressure, summary?.memoryPressure, summary?.ioPressure].compactMap { $0 }.max()
    }
}

/// Everything the cluster view shows: the nodes, and the pod or container rows of every node
/// that answered, filtered and sorted as `kubemeter top` does, each row with its node.
package struct ClusterView: Sendable, Equatable {
    package var nodes: [ClusterNodeLine]
    package var rows: [TopRow]
    package var options: TopOptions
    /// Keeps nodes (and their rows) whose name matches.
    package var nodeFilter: NameFilter?
    /// Sums over the nodes that answered.
    package var total: TopNodeSummary
    package var answering: Int
    /// Why the agents could not be listed, if they could not.
    package var listFailure: String?
    package var agentNamespace: String
    package var agentSelector: String

    package init(session: ClusterSession, options: TopOptions, nodeFilter: NameFilter? = nil) {
        self.options = options
        self.nodeFilter = nodeFilter
        listFailure = session.listFailure
        agentNamespace = session.configuration.namespace
        agentSelector = session.configuration.selector
        var nodes: [ClusterNodeLine] = []
        var rows: [TopRow] = []
        var total = TopNodeSummary()
        var answering = 0
        for state in session.nodes {
            let name = state.nodeName
            if let nodeFilter, !nodeFilter.matches(name) { continue }
            var line = ClusterNodeLine(node: name, agentPod: state.agent.name, failure: state.failure,
                                       answerSeconds: state.answerSeconds, waiting: !state.hasOutcome)
            if let document = state.document {
                if document.scrapeFailed {
                    line.failure = NodeFailure(.scrapeFailed, "the agent's collection failed: it could read neither the node's CPU nor its memory (see its log and /metrics)")
                }
                line.summary = document.node
                line.intervalSeconds = document.intervalSeconds
                line.ratesFrom = document.ratesFrom
                line.agentVersion = document.agentVersion
                answering += 1
                Self.add(document.node, to: &total)
                for var row in options.containers ? document.containers : document.pods {
                    if let filter = options.namespace, !filter.matches(row.namespace) { continue }
                    if let filter = options.pod, !filter.matches(row.pod) { continue }
                    row.node = name
                    rows.append(row)
                }
            }
            nodes.append(line)
        }
        self.nodes = Self.sorted(nodes, by: options.sort)
        self.rows = TopView.sorted(rows, by: options.sort)
        self.total = total
        self.answering = answering
    }

    /// The range of the answering agents' rate intervals.
    package var intervalRange: (low: Double, high: Double)? {
        let intervals = nodes.compactMap(\.intervalSeconds)
        guard let low = intervals.min(), let high = intervals.max() else { return nil }
        return (low, high)
    }

    package var failing: [ClusterNodeLine] { nodes.filter { $0.failure != nil } }

    private static func add(_ node: TopNodeSummary, to total: inout TopNodeSummary) {
        func sum<T: AdditiveArithmetic>(_ a: T?, _ b: T?) -> T? {
            guard let b else { return a }
            return (a ?? .zero) + b
        }
        total.cpuCores = sum(total.cpuCores, node.cpuCores)
        total.cpuCount = sum(total.cpuCount, node.cpuCount)
        total.memoryWorkingSetBytes = sum(total.memoryWorkingSetBytes, node.memoryWorkingSetBytes)
        total.memoryTotalBytes = sum(total.memoryTotalBytes, node.memoryTotalBytes)
        total.rxBytesPerSecond = sum(total.rxBytesPerSecond, node.rxBytesPerSecond)
        total.txBytesPerSecond = sum(total.txBytesPerSecond, node.txBytesPerSecond)
        total.pods += node.pods
        total.containers += node.containers
    }

    /// By the figure the sort key names where a node has it (CPU, memory, PSI, network), largest
    /// first, nodes without it last; by node name otherwise and for ties.
    static func sorted(_ nodes: [ClusterNodeLine], by key: TopSortKey) -> [ClusterNodeLine] {
        func figure(_ line: ClusterNodeLine) -> Double? {
            switch key {
            case .cpu: line.summary?.cpuCores
            case .memory: line.summary?.memoryWorkingSetBytes.map { Double($0) }
            case .psi: line.pressure
            case .rx: line.summary?.rxBytesPerSecond
            case .tx: line.summary?.txBytesPerSecond
            case .name, .namespace, .throttle, .oom, .restarts, .ephemeral: nil
            }
        }
        return nodes.sorted { a, b in
            switch (figure(a), figure(b)) {
            case let (x?, y?) where x != y: return x > y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return (a.node, a.agentPod) < (b.node, b.agentPod)
            }
        }
    }
}
