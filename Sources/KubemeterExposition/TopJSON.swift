/// `kubemeter top --output json`: the rows of a `TopView` with their rates, for scripts.
package struct TopJSONRenderer: Sendable {
    package init() {}

    package func render(_ view: TopView) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("timestamp_ms", view.timestampMilliseconds)
        json.field("interval_seconds", view.intervalSeconds)
        json.field("sort", view.options.sort.rawValue)
        json.key("node")
        Self.node(view.node, &json)
        json.key("rows")
        json.beginArray()
        for row in view.rows { Self.row(row, &json) }
        json.endArray()
        json.endObject()
        var bytes = json.bytes
        bytes.append(0x0A)
        return bytes
    }

    /// The node line as an object (also in `/top.json` and the cluster view's JSON).
    package static func node(_ node: TopNodeSummary, _ json: inout JSONWriter) {
        json.beginObject()
        json.field("cpu_cores", node.cpuCores)
        json.field("cpus", node.cpuCount)
        json.field("memory_working_set_bytes", node.memoryWorkingSetBytes)
        json.field("memory_total_bytes", node.memoryTotalBytes)
        json.field("cpu_pressure_some_avg10", node.cpuPressure)
        json.field("memory_pressure_some_avg10", node.memoryPressure)
        json.field("io_pressure_some_avg10", node.ioPressure)
        json.field("rx_bytes_per_second", node.rxBytesPerSecond)
        json.field("tx_bytes_per_second", node.txBytesPerSecond)
        json.field("pods", node.pods)
        json.field("containers", node.containers)
        json.endObject()
    }

    /// One row as an object.
    package static func row(_ row: TopRow, _ json: inout JSONWriter, then more: (inout JSONWriter) -> Void = { _ in }) {
        json.beginObject()
        if let node = row.node { json.field("node", node) }
        json.field("namespace", row.namespace)
        json.field("pod", row.pod)
        json.field("container", row.container)
        json.field("qos_class", row.qosClass)
        json.field("cpu_cores", row.cpuCores)
        json.field("cpu_limit_cores", row.cpuLimitCores)
        json.field("cpu_percent_of_limit", row.cpuPercentOfLimit)
        json.field("memory_working_set_bytes", row.memoryBytes)
        json.field("memory_limit_bytes", row.memoryLimitBytes)
        json.field("memory_percent_of_limit", row.memoryPercentOfLimit)
        json.field("throttled_percent", row.throttledPercent)
        json.field("oom_kills", row.oomKills)
        json.field("restarts", row.restarts)
        json.field("ephemeral_storage_bytes", row.ephemeralStorageBytes)
        json.field("cpu_pressure_some_avg10", row.cpuPressure)
        json.field("memory_pressure_some_avg10", row.memoryPressure)
        json.field("io_pressure_some_avg10", row.ioPressure)
        json.field("host_network", row.hostNetwork)
        json.field("rx_bytes_per_second", row.rxBytesPerSecond)
        json.field("tx_bytes_per_second", row.txBytesPerSecond)
        more(&json)
        json.endObject()
    }
}
