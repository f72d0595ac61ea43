package import KubemeterSnapshot
import KubemeterParsers
import KubemeterSync

/// `GET /pods`: the node's pods as the kubelet's `/pods` lists them, a `v1.PodList`
/// (k8s.io/api/core/v1), with what the node's own files tell: names and UIDs from the CRI log
/// paths, the QoS class from the cgroup tree, resources from the cgroups' limits and weights,
/// each container's runtime ID and start. What only the API server knows (labels, owners,
/// images, probes, IPs, conditions) is left out, or written as Go writes a zero value where the
/// type has no `omitempty`. docs/metrics.md ("/pods") lists every field and where it comes from.
package struct PodListJSONRenderer: Sendable {
    package var nodeName: String
    /// The runtime of containers whose cgroup names do not say (the cgroupfs driver's bare IDs):
    /// the one whose state directory the node has (`containerd`, `crio`, `docker`), or nil.
    package var cgroupfsRuntime: String?
    /// How the runtime turned CPU shares into `cpu.weight` (see `Formulas.CPUWeightConversion`).
    package var weightConversion: CPUWeightConversionSetting

    package init(nodeName: String, cgroupfsRuntime: String? = nil, weightConversion: CPUWeightConversionSetting = .auto) {
        self.nodeName = nodeName
        self.cgroupfsRuntime = cgroupfsRuntime
        self.weightConversion = weightConversion
    }

    /// The `containerID` scheme of each runtime (pkg/kubelet/container `ContainerID.String`; the
    /// runtimes' CRI `RuntimeName`: containerd, cri-o, docker).
    static func containerIDScheme(_ runtime: String) -> String? {
        switch runtime {
        case "containerd": "containerd"
        case "crio": "cri-o"
        case "docker": "docker"
        default: nil
        }
    }

    /// `v1.PodQOSClass` for the cgroup tree's QoS level.
    static func qosClass(_ level: String) -> String? {
        switch level {
        case "guaranteed": "Guaranteed"
        case "burstable": "Burstable"
        case "besteffort": "BestEffort"
        default: nil
        }
    }

    package func render(_ snapshot: NodeSnapshot) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("kind", "PodList")
        json.field("apiVersion", "v1")
        json.key("metadata")
        json.beginObject()
        json.endObject()
        json.key("items")
        json.beginArray()
        let conversion = weightConversion.conversion ?? Formulas.weightConversion(of: snapshot.pods) ?? .linear
        for pod in snapshot.pods { self.pod(pod, conversion, &json) }
        json.endArray()
        json.endObject()
        var bytes = json.bytes
        bytes.append(0x0A)
        return bytes
    }

    private func pod(_ pod: PodUsage, _ conversion: Formulas.CPUWeightConversion, _ json: inout JSONWriter) {
        json.beginObject()
        json.key("metadata")
        json.beginObject()
        json.field("name", pod.name)
        json.field("namespace", pod.namespace)
        json.field("uid", pod.uid)
        // The API server's time of creation: not on the node. metav1.Time's zero value.
        json.field("creationTimestamp", nil as String?)
        json.endObject()

        json.key("spec")
        json.beginObject()
        json.key("containers")
        json.beginArray()
        for container in pod.containers {
            json.beginObject()
            json.field("name", container.name)
            json.key("resources")
            resources(container.sample, guaranteed: pod.qosClass == "guaranteed", conversion, &json)
            json.endObject()
        }
        json.endArray()
        json.field("nodeName", nodeName)
        if pod.hostNetwork == true { json.field("hostNetwork", true) }
        json.endObject()

        json.key("status")
        json.beginObject()
        // Only pods with a container cgroup are listed: their containers run.
        json.field("phase", pod.containers.isEmpty ? "Pending" : "Running")
        json.omittedIfNil("startTime", pod.startTimeSeconds.map { RFC3339.format(seconds: Int($0)) })
        json.key("containerStatuses")
        json.beginArray()
        for container in pod.containers { status(container, &json) }
        json.endArray()
        json.omittedIfNil("qosClass", Self.qosClass(pod.qosClass))
        json.endObject()
        json.endObject()
    }

    private func status(_ container: ContainerUsage, _ json: inout JSONWriter) {
        json.beginObject()
        json.field("name", container.name)
        json.key("state")
        json.beginObject()
        json.key("running")
        json.beginObject()
        json.omittedIfNil("startedAt", container.startTimeSeconds.map { RFC3339.format(seconds: Int($0)) })
        json.endObject()
        json.endObject()
        json.key("lastState")
        json.beginObject()
        json.endObject()
        // Readiness is the probes' (the kubelet's prober): a running container with no readiness
        // probe is ready, which is what the node can say.
        json.field("ready", true)
        // `n` of the `<n>.log` the container's link points at (the kubelet's own count: docs/metrics.md).
        json.field("restartCount", container.restartCount ?? 0)
        // The image is the runtime's record, not the node's files: Go's zero value.
        json.field("image", "")
        json.field("imageID", "")
        let scheme = Self.containerIDScheme(container.runtime) ?? cgroupfsRuntime.flatMap(Self.containerIDScheme)
        json.omittedIfNil("containerID", scheme.map { "\($0)://\(container.id)" })
        json.field("started", true)
        json.endObject()
    }

    /// `resources`: limits from `cpu.max` and `memory.max`; the CPU request from `cpu.weight`;
    /// a Guaranteed pod's requests equal its limits (the API server defaults them so).
    private func resources(
        _ sample: CgroupSample, guaranteed: Bool, _ conversion: Formulas.CPUWeightConversion, _ json: inout JSONWriter
    ) {
        let cpuLimit = Formulas.milliCPULimit(sample.cpuMax)
        let memoryLimit = Formulas.memoryLimitBytes(sample.memoryMax)
        let cpuRequest = guaranteed ? cpuLimit : sample.cpuWeight.flatMap {
            Formulas.milliCPURequest(weight: $0, conversion: conversion)
        }
        let memoryRequest = guaranteed ? memoryLimit : nil
        json.beginObject()
        for (key, cpu, memory) in [("limits", cpuLimit, memoryLimit), ("requests", cpuRequest, memoryRequest)]
        where cpu != nil || memory != nil {
            json.key(key)
            json.beginObject()
            json.omittedIfNil("cpu", cpu.map(Quantity.milliCPU))
            json.omittedIfNil("memory", memory.map(Quantity.bytes))
            json.endObject()
        }
        json.endObject()
    }
}

/// `--cpu-weight-conversion`: the runtime's shares-to-weight formula, or `auto` to tell it from the
/// pods (`Formulas.weightConversion(of:)`: the kubelet's pod cgroups always use the linear one).
package enum CPUWeightConversionSetting: String, Sendable, CaseIterable {
    case auto, linear, quadratic

    var conversion: Formulas.CPUWeightConversion? {
        switch self {
        case .auto: nil
        case .linear: .linear
        case .quadratic: .quadratic
        }
    }
}

/// `resource.Quantity` in the canonical form the API server writes it.
enum Quantity {
    /// `2`, `500m`.
    static func milliCPU(_ milli: UInt64) -> String {
        milli % 1000 == 0 ? String(milli / 1000) : "\(milli)m"
    }

    /// `128Mi` when a whole number of a binary unit, else the bytes.
    static func bytes(_ bytes: UInt64) -> String {
        guard bytes > 0 else { return "0" }
        for (suffix, shift) in [("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)] as [(String, UInt64)]
        where bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(suffix)"
        }
        return String(bytes)
    }
}
