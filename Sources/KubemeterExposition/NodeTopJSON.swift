package import KubemeterSnapshot

/// `GET /top.json`: one node's top view as data, for `kubectl kubemeter top` (the cluster view)
/// and scripts. The agent computes the rates between its own collections, as for `/top`; the
/// reader only sorts, filters and lays out.
///
/// ```
/// {"kind": "kubemeter.top.node", "schema_version": 1, "agent_version": "0.1.0",
///  "timestamp_ms": ..., "interval_seconds": 1.0 | null, "rates_from": "...", "scrape_failed": false,
///  "node": {<as in `top --output json`>},
///  "pods": [{<a pod row as in `top --output json`>, "containers": [{<a container row>}, ...]}, ...]}
/// ```
/// Every pod the agent sees is there (no filters: the reader filters), each with all its containers.
/// A reader must ignore fields it does not know and refuse a `schema_version` it does not know.
package struct NodeTopJSONRenderer: Sendable {
    /// Where the agent serves it. An agent older than this endpoint answers 404 here.
    package static let path = "/top.json"
    package static let kind = "kubemeter.top.node"
    package static let schemaVersion = 1

    package var agentVersion: String

    package init(agentVersion: String) {
        self.agentVersion = agentVersion
    }

    /// `ratesFrom` says where the rates come from (the previous collection, or a sample taken for
    /// the request), as `/top`'s second line does.
    package func render(current: NodeSnapshot, previous: NodeSnapshot?, ratesFrom: String) -> [UInt8] {
        let pods = TopView(current: current, previous: previous, options: TopOptions(sort: .namespace))
        let containers = TopView(current: current, previous: previous, options: TopOptions(sort: .namespace, containers: true))
        var json = JSONWriter()
        json.beginObject()
        json.field("kind", Self.kind)
        json.field("schema_version", Self.schemaVersion)
        json.field("agent_version", agentVersion)
        json.field("timestamp_ms", pods.timestampMilliseconds)
        json.field("interval_seconds", pods.intervalSeconds)
        json.field("rates_from", ratesFrom)
        json.field("scrape_failed", current.scrapeFailed)
        json.key("node")
        TopJSONRenderer.node(pods.node, &json)
        json.key("pods")
        json.beginArray()
        // Both views are sorted by namespace, pod, container: one pass pairs each pod with its containers.
        var next = containers.rows.startIndex
        for pod in pods.rows {
            TopJSONRenderer.row(pod, &json) { json in
                json.key("containers")
                json.beginArray()
                while next < containers.rows.endIndex, containers.rows[next].namespace == pod.namespace,
                      containers.rows[next].pod == pod.pod {
                    TopJSONRenderer.row(containers.rows[next], &json)
                    next += 1
                }
                json.endArray()
            }
        }
        json.endArray()
        json.endObject()
        var bytes = json.bytes
        bytes.append(0x0A)
        return bytes
    }
}
