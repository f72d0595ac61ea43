package import KubemeterParsers
package import KubemeterSnapshot

/// `GET /snapshot.json` and `kubemeter snapshot --format json`: kubemeter's own view, every pod and container of one snapshot,
/// with identity (UID, QoS class, cgroup path, container ID, runtime) and current values.
/// Counters are cumulative as read; unknown values are `null`.
package struct SnapshotJSONRenderer: Sendable {
    package init() {}

    package func render(_ snapshot: NodeSnapshot) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("timestamp_ms", snapshot.timestampMilliseconds)
        json.field("scrape_failed", snapshot.scrapeFailed)
        json.key("node")
        node(snapshot.node, &json)
        json.key("pods")
        json.beginArray()
        for pod in snapshot.pods {
            json.beginObject()
            json.field("namespace", pod.namespace)
            json.field("name", pod.name)
            json.field("uid", pod.uid)
            json.field("qos_class", pod.qosClass)
            json.field("cgroup_path", pod.cgroupPath)
            json.field("host_network", pod.hostNetwork)
            Self.sample(pod.sample, &json)
            json.key("network")
            if let interfaces = pod.network {
                Self.interfaces(interfaces, &json)
            } else {
                json.value(nil as String?)
            }
            json.key("containers")
            json.beginArray()
            for container in pod.containers {
                json.beginObject()
                json.field("name", container.name)
                json.field("id", container.id)
                json.field("runtime", container.runtime)
                json.field("cgroup_path", container.cgroupPath)
                json.field("start_time_seconds", container.startTimeSeconds)
                Self.sample(container.sample, &json)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.key("problems")
        json.beginObject()
        json.field("vanished_cgroups", snapshot.problems.vanishedCgroups)
        json.field("unreadable_files", snapshot.problems.unreadableFiles)
        json.field("pods_without_log_directory", snapshot.problems.podsWithoutLogDirectory)
        json.field("skipped_entries", snapshot.problems.skippedEntries)
        json.endObject()
        json.endObject()
        var bytes = json.bytes
        bytes.append(0x0A)
        return bytes
    }

    private func node(_ node: NodeUsage, _ json: inout JSONWriter) {
        json.beginObject()
        json.field("cpu_usage_seconds", node.cpuUsageSeconds)
        json.field("cpu_source", node.cpuSource?.rawValue)
        json.field("memory_working_set_bytes", node.memoryWorkingSetBytes)
        json.field("memory_source", node.memorySource?.rawValue)
        json.field("memory_total_bytes", node.meminfo?.memTotal)
        json.field("swap_usage_bytes", node.swapUsageBytes)
        json.field("cpus", node.procStat.map { $0.perCPU.count })
        Self.pressures(node.cpuPressure, node.memoryPressure, node.ioPressure, &json)
        json.key("network")
        if let interfaces = node.netDev?.interfaces {
            Self.interfaces(interfaces, &json)
        } else {
            json.value(nil as String?)
        }
        json.endObject()
    }

    /// The values of one cgroup, as fields of the object being written.
    static func sample(_ sample: CgroupSample, _ json: inout JSONWriter) {
        json.field("cpu_usage_seconds", sample.cpuUsageSeconds)
        json.field("cpu_periods", sample.cpu?.nrPeriods)
        json.field("cpu_throttled_periods", sample.cpu?.nrThrottled)
        json.field("cpu_throttled_seconds", sample.cpu?.throttledUsec.map(Formulas.seconds(microseconds:)))
        json.field("cpu_limit_cores", Formulas.cpuLimitCores(sample.cpuMax))
        json.field("memory_working_set_bytes", sample.memoryWorkingSetBytes)
        json.field("memory_usage_bytes", sample.memoryCurrent)
        json.field("memory_limit_bytes", Formulas.memoryLimitBytes(sample.memoryMax))
        json.field("swap_usage_bytes", sample.swapCurrent)
        json.field("oom_kills", sample.memoryEvents?.oomKill)
        json.field("pids", sample.pidsCurrent)
        pressures(sample.cpuPressure, sample.memoryPressure, sample.ioPressure, &json)
    }

    /// `"pressure": {"cpu": {"some_avg10": .., "some_total_seconds": .., "full_...": ..}, ...}`.
    static func pressures(_ cpu: Pressure?, _ memory: Pressure?, _ io: Pressure?, _ json: inout JSONWriter) {
        json.key("pressure")
        json.beginObject()
        for (name, pressure) in [("cpu", cpu), ("memory", memory), ("io", io)] {
            json.key(name)
            guard let pressure else {
                json.value(nil as String?)
                continue
            }
            json.beginObject()
            json.field("some_avg10", pressure.some?.avg10)
            json.field("some_total_seconds", pressure.some.map { Formulas.seconds(microseconds: $0.totalUsec) })
            json.field("full_avg10", pressure.full?.avg10)
            json.field("full_total_seconds", pressure.full.map { Formulas.seconds(microseconds: $0.totalUsec) })
            json.endObject()
        }
        json.endObject()
    }

    static func interfaces(_ interfaces: [NetDevInterface], _ json: inout JSONWriter) {
        json.beginArray()
        for interface in interfaces {
            json.beginObject()
            json.field("interface", interface.name)
            json.field("rx_bytes", interface.rxBytes)
            json.field("tx_bytes", interface.txBytes)
            json.field("rx_packets", interface.rxPackets)
            json.field("tx_packets", interface.txPackets)
            json.field("rx_dropped", interface.rxDropped)
            json.field("tx_dropped", interface.txDropped)
            json.endObject()
        }
        json.endArray()
    }
}
