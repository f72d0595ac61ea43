import KubemeterExposition

/// `kubectl kubemeter top --output json`: every node with its status and figures, and every row
/// of the nodes that answered, each with its node. Rows and node figures have the fields of
/// `kubemeter top --output json`.
package struct ClusterJSONRenderer: Sendable {
    package init() {}

    package func render(_ view: ClusterView, timestampMilliseconds: Int64) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("timestamp_ms", timestampMilliseconds)
        json.field("sort", view.options.sort.rawValue)
        json.key("agents")
        json.beginObject()
        json.field("namespace", view.agentNamespace)
        json.field("selector", view.agentSelector)
        json.field("list_error", view.listFailure)
        json.endObject()
        json.key("total")
        TopJSONRenderer.node(view.total, &json)
        json.key("nodes")
        json.beginArray()
        for line in view.nodes {
            json.beginObject()
            json.field("node", line.node)
            json.field("agent_pod", line.agentPod)
            json.field("status", line.status)
            json.field("error", line.failure?.detail)
            json.field("answer_seconds", line.answerSeconds)
            json.field("agent_version", line.agentVersion)
            json.field("interval_seconds", line.intervalSeconds)
            json.field("rates_from", line.ratesFrom)
            json.field("cpu_percent", line.cpuPercent)
            json.field("memory_percent", line.memoryPercent)
            json.key("summary")
            if let summary = line.summary { TopJSONRenderer.node(summary, &json) } else { json.value(nil as String?) }
            json.endObject()
        }
        json.endArray()
        json.key("rows")
        json.beginArray()
        for row in view.rows { TopJSONRenderer.row(row, &json) }
        json.endArray()
        json.endObject()
        var bytes = json.bytes
        bytes.append(0x0A)
        return bytes
    }
}
