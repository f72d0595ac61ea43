/// Writes a `TopView` as the plain-text table of `kubemeter top` and `GET /top`: two summary
/// lines, a blank line, a column header, one line per row. ASCII only, no escapes: the live view
/// adds its own.
package struct TopTable: Sendable {
    /// Columns wider than this are narrowed (names first, cut with "~"), then lines are cut.
    package var width: Int?
    /// More columns: QoS class, the limits themselves, the three pressures apart.
    package var wide: Bool
    /// Appended to the second summary line (e.g. where the rates come from).
    package var note: String?

    package init(width: Int? = nil, wide: Bool = false, note: String? = nil) {
        self.width = width
        self.wide = wide
        self.note = note
    }

    /// The summary lines: node figures, then where the rates come from and the sort.
    package func summary(_ view: TopView) -> [String] {
        let first = "node  " + Self.figures(view.node)

        var second: String
        if let seconds = view.intervalSeconds {
            second = "rates over " + TopFormat.fixed(seconds, decimals: 2) + " s"
        } else {
            second = "no rates: one collection only (CPU, throttling and network need two)"
        }
        if let note { second += " " + note }
        second += "; sorted by \(view.options.sort.rawValue)"
        if let filters = Self.filters(view.options) { second += "; " + filters }
        second += "; showing \(view.rows.count) " + (view.options.containers ? "containers" : "pods")
        return [clip(first), clip(second)]
    }

    /// "cpu 1.2/8 cores (15.0%)  mem 3.1Gi/16Gi (19.4%)  psi cpu ..  net rx .. tx ..  pods N
    /// containers M": a node's line, or (without pressure, which does not add up) a cluster's.
    package static func figures(_ node: TopNodeSummary, pressure: Bool = true) -> String {
        var cpu = "cpu " + TopFormat.cores(node.cpuCores)
        if let count = node.cpuCount {
            cpu += "/\(count) cores"
            if let cores = node.cpuCores { cpu += " (" + TopFormat.percent(cores / Double(count) * 100) + "%)" }
        } else {
            cpu += " cores"
        }
        var memory = "mem " + TopFormat.bytes(node.memoryWorkingSetBytes)
        if let total = node.memoryTotalBytes {
            memory += "/" + TopFormat.bytes(total)
            if let used = node.memoryWorkingSetBytes, total > 0 {
                memory += " (" + TopFormat.percent(Double(used) / Double(total) * 100) + "%)"
            }
        }
        let psi = "psi cpu " + TopFormat.percent(node.cpuPressure) + " mem " + TopFormat.percent(node.memoryPressure)
            + " io " + TopFormat.percent(node.ioPressure)
        let net = "net rx " + TopFormat.bytes(node.rxBytesPerSecond) + " tx " + TopFormat.bytes(node.txBytesPerSecond)
        return cpu + "  " + memory + (pressure ? "  " + psi : "") + "  " + net + "  pods \(node.pods)  containers \(node.containers)"
    }

    /// "namespace~kube-* pod~web", or nil without filters.
    package static func filters(_ options: TopOptions) -> String? {
        var filters: [String] = []
        if let f = options.namespace { filters.append("namespace~" + f.pattern) }
        if let f = options.pod { filters.append("pod~" + f.pattern) }
        return filters.isEmpty ? nil : filters.joined(separator: " ")
    }

    /// The column header and one line per row, fitted to `width`.
    package func table(_ view: TopView) -> [String] {
        table(view.rows)
    }

    /// The same for any rows: a NODE column comes first when they carry a node (the cluster view).
    package func table(_ rows: [TopRow]) -> [String] {
        TextColumns.lines(columns(rows), width: width)
    }

    /// Summary, blank line, table, each line ending in "\n".
    package func render(_ view: TopView) -> String {
        var out = ""
        for line in summary(view) { out += line + "\n" }
        out += "\n"
        for line in table(view) { out += line + "\n" }
        return out
    }

    /// Names, CPU and memory are kept however narrow the table; the figures after them are dropped
    /// from the right (network first).
    private func columns(_ rows: [TopRow]) -> [TextColumn] {
        var columns: [TextColumn] = []
        func name(_ title: String, minimumWidth: Int = 8, _ value: (TopRow) -> String) {
            columns.append(TextColumn(title: title, cells: rows.map(value), isName: true, minimumWidth: minimumWidth))
        }
        func figure(_ title: String, kept: Bool = false, _ value: (TopRow) -> String) {
            columns.append(TextColumn(title: title, cells: rows.map(value), isKept: kept))
        }
        if rows.contains(where: { $0.node != nil }) { name("NODE") { $0.node ?? "-" } }
        name("NAMESPACE") { $0.namespace }
        name("POD", minimumWidth: 16) { $0.pod }
        name("CONTAINER") { $0.container ?? "(\($0.containerCount))" }
        if wide { name("QOS", minimumWidth: 3) { $0.qosClass } }
        figure("CPU", kept: true) { TopFormat.cores($0.cpuCores) }
        if wide { figure("CPU-LIM", kept: true) { TopFormat.cores($0.cpuLimitCores) } }
        figure("CPU%LIM", kept: true) { TopFormat.percent($0.cpuPercentOfLimit) }
        figure("MEM", kept: true) { TopFormat.bytes($0.memoryBytes) }
        if wide { figure("MEM-LIM") { TopFormat.bytes($0.memoryLimitBytes) } }
        figure("MEM%LIM") { TopFormat.percent($0.memoryPercentOfLimit) }
        figure("THR%") { TopFormat.percent($0.throttledPercent) }
        figure("OOM") { TopFormat.count($0.oomKills) }
        figure("RESTARTS") { TopFormat.count($0.restarts.map { UInt64($0) }) }
        figure("EPHEM") { TopFormat.bytes($0.ephemeralStorageBytes.map { Double($0) }) }
        if wide {
            figure("PSI-CPU") { TopFormat.percent($0.cpuPressure) }
            figure("PSI-MEM") { TopFormat.percent($0.memoryPressure) }
            figure("PSI-IO") { TopFormat.percent($0.ioPressure) }
        } else {
            figure("PSI") { TopFormat.percent($0.pressure) }
        }
        figure("RX/s") { $0.hostNetwork == true ? "host" : rate($0.rxBytesPerSecond) }
        figure("TX/s") { $0.hostNetwork == true ? "host" : rate($0.txBytesPerSecond) }
        return columns
    }

    private func rate(_ value: Double?) -> String {
        TopFormat.bytes(value)
    }

    private func clip(_ line: String) -> String {
        TextColumns.clip(line, to: width)
    }
}
