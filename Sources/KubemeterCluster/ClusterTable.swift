import KubemeterExposition

/// Writes a `ClusterView` as plain text: two summary lines, the nodes table, then the pods (or
/// containers) table of every node that answered, with a NODE column. Same layout rules as
/// `TopTable` (names narrowed first, then figures dropped from the right), whose columns the
/// rows table is.
package struct ClusterTable: Sendable {
    package var width: Int?
    package var wide: Bool

    package init(width: Int? = nil, wide: Bool = false) {
        self.width = width
        self.wide = wide
    }

    package func summary(_ view: ClusterView) -> [String] {
        let answering = view.answering == view.nodes.count ? "" : " (\(view.answering) answering)"
        let first = "cluster  nodes \(view.nodes.count)\(answering)  " + TopTable.figures(view.total, pressure: false)
        var second = "agents \(view.agentSelector) in \(view.agentNamespace)"
        if let failure = view.listFailure {
            second += ": cannot list them: \(failure)"
        }
        if let range = view.intervalRange {
            second += "; rates by each agent over " + TopFormat.fixed(range.low, decimals: 2)
                + (range.high - range.low >= 0.005 ? "-" + TopFormat.fixed(range.high, decimals: 2) : "") + " s"
        }
        second += "; sorted by \(view.options.sort.rawValue)"
        var filters = TopTable.filters(view.options).map { [$0] } ?? []
        if let node = view.nodeFilter { filters.insert("node~" + node.pattern, at: 0) }
        if !filters.isEmpty { second += "; " + filters.joined(separator: " ") }
        second += "; showing \(view.rows.count) " + (view.options.containers ? "containers" : "pods")
        let failing = view.failing
        if !failing.isEmpty {
            second += "; not ok: " + failing.map { "\($0.node) \($0.status)" }.joined(separator: ", ")
        }
        return [TextColumns.clip(first, to: width), TextColumns.clip(second, to: width)]
    }

    /// Header and one line per node. NODE, the figures that say how full it is, and STATUS are
    /// kept however narrow; network and answer time go first.
    package func nodes(_ view: ClusterView) -> [String] {
        let lines = view.nodes
        var columns: [TextColumn] = []
        func figure(_ title: String, kept: Bool = false, _ value: (ClusterNodeLine) -> String) {
            columns.append(TextColumn(title: title, cells: lines.map(value), isKept: kept))
        }
        columns.append(TextColumn(title: "NODE", cells: lines.map(\.node), isName: true, minimumWidth: 12))
        if wide { columns.append(TextColumn(title: "AGENT", cells: lines.map(\.agentPod), isName: true)) }
        figure("CPU", kept: true) { TopFormat.cores($0.summary?.cpuCores) }
        figure("CPU%", kept: true) { TopFormat.percent($0.cpuPercent) }
        if wide { figure("CPUS") { $0.summary?.cpuCount.map { String($0) } ?? TopFormat.unknown } }
        figure("MEM", kept: true) { TopFormat.bytes($0.summary?.memoryWorkingSetBytes) }
        figure("MEM%", kept: true) { TopFormat.percent($0.memoryPercent) }
        if wide { figure("MEM-TOTAL") { TopFormat.bytes($0.summary?.memoryTotalBytes) } }
        figure("PODS") { $0.summary.map { String($0.pods) } ?? TopFormat.unknown }
        if wide {
            figure("PSI-CPU") { TopFormat.percent($0.summary?.cpuPressure) }
            figure("PSI-MEM") { TopFormat.percent($0.summary?.memoryPressure) }
            figure("PSI-IO") { TopFormat.percent($0.summary?.ioPressure) }
        } else {
            figure("PSI") { TopFormat.percent($0.pressure) }
        }
        figure("RX/s") { TopFormat.bytes($0.summary?.rxBytesPerSecond) }
        figure("TX/s") { TopFormat.bytes($0.summary?.txBytesPerSecond) }
        // How long the agent took to answer through the API server (the view waits for the slowest).
        figure("ANSWER") { $0.answerSeconds.map { TopFormat.fixed($0, decimals: 2) + "s" } ?? TopFormat.unknown }
        if wide { figure("VERSION") { $0.agentVersion ?? TopFormat.unknown } }
        columns.append(TextColumn(title: "STATUS", cells: lines.map(\.status), isKept: true, isLeft: true))
        return TextColumns.lines(columns, width: width)
    }

    /// Header and one line per pod or container, NODE first.
    package func rows(_ view: ClusterView) -> [String] {
        TopTable(width: width, wide: wide).table(view.rows)
    }

    /// What `--once` prints: summary, blank line, nodes, blank line, rows; and in wide mode the
    /// whole message of every node that failed.
    package func render(_ view: ClusterView) -> String {
        var out = ""
        for line in summary(view) { out += line + "\n" }
        out += "\n"
        for line in nodes(view) { out += line + "\n" }
        out += "\n"
        for line in rows(view) { out += line + "\n" }
        if wide, !view.failing.isEmpty {
            out += "\n"
            for line in view.failing {
                out += TextColumns.clip("\(line.node) (\(line.agentPod)): \(line.failure?.detail ?? "")", to: width) + "\n"
            }
        }
        return out
    }
}
