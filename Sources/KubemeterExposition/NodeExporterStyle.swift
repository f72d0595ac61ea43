#if canImport(Glibc)
package import Glibc
#endif
package import KubemeterParsers
package import KubemeterSnapshot

/// The node's CPU by mode, memory, network and pressure under node_exporter's family names, HELP
/// and labels (its cpu, meminfo, netdev and pressure collectors), so node resource panels need no
/// node_exporter on this node. CPU is the `/proc/stat` "cpu" line (all CPUs summed): no per-CPU
/// series, so node_exporter's `cpu` label is absent.
package struct NodeExporterStyle: Sendable {
    /// USER_HZ: `/proc/stat` counts in these ticks.
    package var ticksPerSecond: Double

    package init(ticksPerSecond: Double = NodeExporterStyle.userHZ) {
        self.ticksPerSecond = ticksPerSecond
    }

    package static let userHZ: Double = {
        let hz = sysconf(Int32(_SC_CLK_TCK))
        return hz > 0 ? Double(hz) : 100
    }()

    /// The `/proc/meminfo` fields written, as node_exporter names them (`(x)` becomes `_x`).
    static let meminfoFields: [(file: String, metric: String)] = [
        ("Active(file)", "Active_file"), ("Buffers", "Buffers"), ("Cached", "Cached"),
        ("Inactive(file)", "Inactive_file"), ("MemAvailable", "MemAvailable"), ("MemFree", "MemFree"),
        ("MemTotal", "MemTotal"), ("SwapFree", "SwapFree"), ("SwapTotal", "SwapTotal"),
    ]

    package func write(_ node: NodeUsage, to w: inout PrometheusTextWriter) {
        var families: [(name: String, write: (inout PrometheusTextWriter) -> Void)] = []

        if let t = node.procStat?.total {
            let modes: [(String, UInt64)] = [
                ("idle", t.idle), ("iowait", t.iowait), ("irq", t.irq), ("nice", t.nice), ("softirq", t.softirq),
                ("steal", t.steal), ("system", t.system), ("user", t.user),
            ]
            families.append(("node_cpu_seconds_total", { w in
                w.family("node_cpu_seconds_total", type: "counter", help: "Seconds the CPUs spent in each mode.")
                for (mode, ticks) in modes {
                    w.sample("node_cpu_seconds_total", labelSet: PrometheusTextWriter.labelSet([("mode", mode)]), value: Double(ticks) / ticksPerSecond)
                }
            }))
        }
        if let m = node.meminfo {
            for (field, metric) in Self.meminfoFields {
                // Meminfo keeps kB values converted to bytes (see Meminfo).
                guard let bytes = m[field] else { continue }
                let name = "node_memory_\(metric)_bytes"
                families.append((name, { w in
                    w.family(name, type: "gauge", help: "Memory information field \(metric)_bytes.")
                    w.sample(name, value: Double(bytes))
                }))
            }
        }
        if let interfaces = node.netDev?.interfaces, !interfaces.isEmpty {
            let stats: [(String, (NetDevInterface) -> UInt64)] = [
                ("receive_bytes", \.rxBytes), ("receive_drop", \.rxDropped), ("receive_errs", \.rxErrors),
                ("receive_packets", \.rxPackets), ("transmit_bytes", \.txBytes), ("transmit_drop", \.txDropped),
                ("transmit_errs", \.txErrors), ("transmit_packets", \.txPackets),
            ]
            let sorted = interfaces.sorted { $0.name < $1.name }
            for (stat, value) in stats {
                let name = "node_network_\(stat)_total"
                families.append((name, { w in
                    w.family(name, type: "counter", help: "Network device statistic \(stat).")
                    for i in sorted {
                        w.sample(name, labelSet: PrometheusTextWriter.labelSet([("device", i.name)]), value: Double(value(i)))
                    }
                }))
            }
        }
        let pressure: [(String, Pressure?, String, String?)] = [
            ("cpu", node.cpuPressure, "Total time in seconds that processes have waited for CPU time",
             "Total time in seconds no process could make progress"),
            ("io", node.ioPressure, "Total time in seconds that processes have waited due to IO congestion",
             "Total time in seconds no process could make progress due to IO congestion"),
            ("memory", node.memoryPressure, "Total time in seconds that processes have waited for memory",
             "Total time in seconds no process could make progress due to memory congestion"),
        ]
        for (resource, file, waitingHelp, stalledHelp) in pressure {
            guard let file else { continue }
            for (kind, line, help) in [("waiting", file.some, waitingHelp), ("stalled", file.full, stalledHelp)] {
                guard let line, let help else { continue }
                let name = "node_pressure_\(resource)_\(kind)_seconds_total"
                families.append((name, { w in
                    w.family(name, type: "counter", help: help)
                    w.sample(name, value: Formulas.seconds(microseconds: line.totalUsec))
                }))
            }
        }
        for family in families.sorted(by: { $0.name < $1.name }) { family.write(&w) }
    }
}
