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
        let node = view.node
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
        let net = "net rx " + rate(node.rxBytesPerSecond) + " tx " + rate(node.txBytesPerSecond)
        let first = "node  \(cpu)  \(memory)  \(psi)  \(net)  pods \(node.pods)  containers \(node.containers)"

        var second: String
        if let seconds = view.intervalSeconds {
            second = "rates over " + TopFormat.fixed(seconds, decimals: 2) + " s"
        } else {
            second = "no rates: one collection only (CPU, throttling and network need two)"
        }
        if let note { second += " " + note }
        second += "; sorted by \(view.options.sort.rawValue)"
        var filters: [String] = []
        if let f = view.options.namespace { filters.append("namespace~" + f.pattern) }
        if let f = view.options.pod { filters.append("pod~" + f.pattern) }
        if !filters.isEmpty { second += "; " + filters.joined(separator: " ") }
        second += "; showing \(view.rows.count) " + (view.options.containers ? "containers" : "pods")
        return [clip(first), clip(second)]
    }

    /// The column header and one line per row, fitted to `width`.
    package func table(_ view: TopView) -> [String] {
        var columns = self.columns(view.rows)
        let separator = 2
        if let width {
            var total = columns.reduce(0) { $0 + $1.width } + separator * (columns.count - 1)
            // Narrow the widest name column one character at a time: every name keeps a readable start.
            while total > width {
                guard let widest = columns.indices.filter({ columns[$0].isName && columns[$0].width > columns[$0].minimumWidth })
                    .max(by: { columns[$0].width < columns[$1].width })
                else { break }
                columns[widest].width -= 1
                total -= 1
            }
            // Then drop figures from the right (network first), keeping names, CPU and memory.
            let kept = columns.firstIndex(where: { $0.title == "MEM" }).map { $0 + 1 } ?? columns.count
            while total > width, columns.count > kept {
                total -= columns.removeLast().width + separator
            }
        }
        var lines: [String] = []
        lines.reserveCapacity(view.rows.count + 1)
        for line in -1..<view.rows.count {
            var text = ""
            for (index, column) in columns.enumerated() {
                let cell = line < 0 ? column.title : column.cells[line]
                let fitted = Self.fit(cell, column.width, left: column.isName || line < 0 && column.isLeft)
                text += index == columns.count - 1 && column.isLeft ? Self.trimmed(fitted) : fitted
                if index < columns.count - 1 { text += "  " }
            }
            lines.append(clip(text))
        }
        return lines
    }

    /// Summary, blank line, table, each line ending in "\n".
    package func render(_ view: TopView) -> String {
        var out = ""
        for line in summary(view) { out += line + "\n" }
        out += "\n"
        for line in table(view) { out += line + "\n" }
        return out
    }

    private struct Column {
        var title: String
        var cells: [String]
        var isName = false
        var isLeft = false
        var width = 0
        var minimumWidth = 0
    }

    private func columns(_ rows: [TopRow]) -> [Column] {
        var columns: [Column] = []
        func name(_ title: String, minimumWidth: Int = 8, _ value: (TopRow) -> String) {
            var column = Column(title: title, cells: rows.map(value), isName: true, isLeft: true)
            column.minimumWidth = minimumWidth
            columns.append(column)
        }
        func figure(_ title: String, _ value: (TopRow) -> String) {
            columns.append(Column(title: title, cells: rows.map(value)))
        }
        name("NAMESPACE") { $0.namespace }
        name("POD", minimumWidth: 16) { $0.pod }
        name("CONTAINER") { $0.container ?? "(\($0.containerCount))" }
        if wide { name("QOS", minimumWidth: 3) { $0.qosClass } }
        figure("CPU") { TopFormat.cores($0.cpuCores) }
        if wide { figure("CPU-LIM") { TopFormat.cores($0.cpuLimitCores) } }
        figure("CPU%LIM") { TopFormat.percent($0.cpuPercentOfLimit) }
        figure("MEM") { TopFormat.bytes($0.memoryBytes) }
        if wide { figure("MEM-LIM") { TopFormat.bytes($0.memoryLimitBytes) } }
        figure("MEM%LIM") { TopFormat.percent($0.memoryPercentOfLimit) }
        figure("THR%") { TopFormat.percent($0.throttledPercent) }
        figure("OOM") { TopFormat.count($0.oomKills) }
        if wide {
            figure("PSI-CPU") { TopFormat.percent($0.cpuPressure) }
            figure("PSI-MEM") { TopFormat.percent($0.memoryPressure) }
            figure("PSI-IO") { TopFormat.percent($0.ioPressure) }
        } else {
            figure("PSI") { TopFormat.percent($0.pressure) }
        }
        figure("RX/s") { $0.hostNetwork == true ? "host" : rate($0.rxBytesPerSecond) }
        figure("TX/s") { $0.hostNetwork == true ? "host" : rate($0.txBytesPerSecond) }
        for index in columns.indices {
            columns[index].width = columns[index].cells.reduce(columns[index].title.count) { max($0, $1.count) }
        }
        return columns
    }

    private func rate(_ value: Double?) -> String {
        TopFormat.bytes(value)
    }

    /// Pads (left- or right-aligned) or cuts `text` to exactly `width` characters.
    private static func fit(_ text: String, _ width: Int, left: Bool) -> String {
        let count = text.count
        if count > width { return width <= 1 ? String(text.prefix(width)) : String(text.prefix(width - 1)) + "~" }
        let padding = String(repeating: " ", count: width - count)
        return left ? text + padding : padding + text
    }

    private static func trimmed(_ text: String) -> String {
        var text = Substring(text)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }

    private func clip(_ line: String) -> String {
        guard let width, line.count > width else { return line }
        return String(line.prefix(width))
    }
}
