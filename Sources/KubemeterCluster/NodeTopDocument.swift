package import KubemeterExposition
package import KubemeterJSON

/// An agent's `GET /top.json` (`NodeTopJSONRenderer`), read back: the node line, and every pod
/// with its containers, rates already computed by the agent.
package struct NodeTopDocument: Sendable, Equatable {
    package var agentVersion: String
    package var timestampMilliseconds: Int64?
    /// Seconds the agent's rates span; nil when it had only one collection.
    package var intervalSeconds: Double?
    package var ratesFrom: String
    package var scrapeFailed: Bool
    package var node: TopNodeSummary
    package var pods: [TopRow]
    package var containers: [TopRow]

    /// Strict about types (a figure is a number or null, a name a string) and the schema version;
    /// fields it does not know are ignored, so a newer agent that only adds fields still reads.
    package static func decode(_ bytes: [UInt8]) throws(ClusterError) -> NodeTopDocument {
        let document: JSONValue
        do { document = try JSONParser.parse(bytes) } catch { throw .badAnswer("\(NodeTopJSONRenderer.path): \(error)") }
        guard document["kind"]?.string == NodeTopJSONRenderer.kind else {
            throw .badAnswer("\(NodeTopJSONRenderer.path): kind is not \(NodeTopJSONRenderer.kind)")
        }
        guard let version = document["schema_version"]?.int, version == NodeTopJSONRenderer.schemaVersion else {
            throw .badAnswer("\(NodeTopJSONRenderer.path): schema_version \(document["schema_version"]?.int.map(String.init) ?? "missing"), this kubectl-kubemeter reads \(NodeTopJSONRenderer.schemaVersion)")
        }
        var reader = FieldReader(path: NodeTopJSONRenderer.path)
        var result = NodeTopDocument(
            agentVersion: try reader.string(document, "agent_version") ?? "?",
            timestampMilliseconds: try reader.integer(document, "timestamp_ms"),
            intervalSeconds: try reader.number(document, "interval_seconds"),
            ratesFrom: try reader.string(document, "rates_from") ?? "",
            scrapeFailed: try reader.bool(document, "scrape_failed") ?? false,
            node: TopNodeSummary(), pods: [], containers: [])
        guard let node = document["node"], node.object != nil else { throw .badAnswer("\(reader.path): no node object") }
        result.node = try reader.node(node)
        guard let pods = document["pods"]?.array else { throw .badAnswer("\(reader.path): no pods array") }
        for (index, pod) in pods.enumerated() {
            reader.path = "\(NodeTopJSONRenderer.path) pods[\(index)]"
            var row = try reader.row(pod)
            let containers = pod["containers"]?.array ?? []
            row.containerCount = containers.count
            row.container = nil
            result.pods.append(row)
            for (containerIndex, container) in containers.enumerated() {
                reader.path = "\(NodeTopJSONRenderer.path) pods[\(index)].containers[\(containerIndex)]"
                var containerRow = try reader.row(container)
                guard containerRow.container != nil else { throw .badAnswer("\(reader.path): no container name") }
                containerRow.namespace = row.namespace
                containerRow.pod = row.pod
                result.containers.append(containerRow)
            }
        }
        return result
    }
}

/// Typed reads of `top --output json` fields, with the path of the object in every error.
private struct FieldReader {
    var path: String

    func number(_ object: JSONValue, _ key: String) throws(ClusterError) -> Double? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let number = value.double else { throw .badAnswer("\(path): \(key) is not a number") }
        return number
    }

    func integer(_ object: JSONValue, _ key: String) throws(ClusterError) -> Int64? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let number = value.int64 else { throw .badAnswer("\(path): \(key) is not an integer") }
        return number
    }

    func unsigned(_ object: JSONValue, _ key: String) throws(ClusterError) -> UInt64? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let number = value.uint64 else { throw .badAnswer("\(path): \(key) is not a non-negative integer") }
        return number
    }

    func string(_ object: JSONValue, _ key: String) throws(ClusterError) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let text = value.string else { throw .badAnswer("\(path): \(key) is not a string") }
        return text
    }

    func bool(_ object: JSONValue, _ key: String) throws(ClusterError) -> Bool? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let flag = value.bool else { throw .badAnswer("\(path): \(key) is not true or false") }
        return flag
    }

    func node(_ object: JSONValue) throws(ClusterError) -> TopNodeSummary {
        var node = TopNodeSummary()
        node.cpuCores = try number(object, "cpu_cores")
        node.cpuCount = try unsigned(object, "cpus").map { Int(clamping: $0) }
        node.memoryWorkingSetBytes = try unsigned(object, "memory_working_set_bytes")
        node.memoryTotalBytes = try unsigned(object, "memory_total_bytes")
        node.cpuPressure = try number(object, "cpu_pressure_some_avg10")
        node.memoryPressure = try number(object, "memory_pressure_some_avg10")
        node.ioPressure = try number(object, "io_pressure_some_avg10")
        node.rxBytesPerSecond = try number(object, "rx_bytes_per_second")
        node.txBytesPerSecond = try number(object, "tx_bytes_per_second")
        node.pods = Int(clamping: try unsigned(object, "pods") ?? 0)
        node.containers = Int(clamping: try unsigned(object, "containers") ?? 0)
        return node
    }

    func row(_ object: JSONValue) throws(ClusterError) -> TopRow {
        guard object.object != nil else { throw .badAnswer("\(path): not an object") }
        guard let namespace = try string(object, "namespace"), let pod = try string(object, "pod") else {
            throw .badAnswer("\(path): no namespace or pod")
        }
        var row = TopRow(namespace: namespace, pod: pod, container: try string(object, "container"),
                         qosClass: try string(object, "qos_class") ?? "")
        row.cpuCores = try number(object, "cpu_cores")
        row.cpuLimitCores = try number(object, "cpu_limit_cores")
        row.memoryBytes = try unsigned(object, "memory_working_set_bytes")
        row.memoryLimitBytes = try unsigned(object, "memory_limit_bytes")
        row.throttledPercent = try number(object, "throttled_percent")
        row.oomKills = try unsigned(object, "oom_kills")
        row.restarts = try unsigned(object, "restarts").map { Int(clamping: $0) }
        row.ephemeralStorageBytes = try unsigned(object, "ephemeral_storage_bytes")
        row.cpuPressure = try number(object, "cpu_pressure_some_avg10")
        row.memoryPressure = try number(object, "memory_pressure_some_avg10")
        row.ioPressure = try number(object, "io_pressure_some_avg10")
        row.hostNetwork = try bool(object, "host_network")
        row.rxBytesPerSecond = try number(object, "rx_bytes_per_second")
        row.txBytesPerSecond = try number(object, "tx_bytes_per_second")
        return row
    }
}
