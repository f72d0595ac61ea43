import KubemeterJSON

/// One agent as the API server lists it: a pod of the DaemonSet.
package struct AgentPod: Sendable, Equatable {
    package var name: String
    package var namespace: String
    /// `spec.nodeName`; nil while the pod is not scheduled.
    package var nodeName: String?
    /// `status.podIP` (the node's IP, as the DaemonSet uses hostNetwork); nil until it has one.
    package var podIP: String?
    /// `status.phase`: Pending, Running, Succeeded, Failed, Unknown.
    package var phase: String
    /// `metadata.deletionTimestamp` is set: the pod is going away.
    package var terminating: Bool
    /// The `containerPort` of the port named `http-metrics` (the DaemonSet's), if the pod has one.
    package var metricsPort: Int?

    package init(name: String, namespace: String, nodeName: String? = nil, podIP: String? = nil, phase: String = "Running",
                terminating: Bool = false, metricsPort: Int? = nil) {
        self.name = name
        self.namespace = namespace
        self.nodeName = nodeName
        self.podIP = podIP
        self.phase = phase
        self.terminating = terminating
        self.metricsPort = metricsPort
    }

    /// The port named `http-metrics` in deploy/kubernetes/base/daemonset.yaml.
    package static let metricsPortName = "http-metrics"

    /// Reads a v1 PodList. Strict about the parts used (names, node, IP, phase, ports must have
    /// their API types); everything else in a pod is ignored.
    package static func decodeList(_ bytes: [UInt8]) throws(ClusterError) -> [AgentPod] {
        let document: JSONValue
        do { document = try JSONParser.parse(bytes) } catch { throw ClusterError.badAnswer("pod list: \(error)") }
        guard document["kind"]?.string == "PodList", let items = document["items"]?.array else {
            throw ClusterError.badAnswer("pod list: not a v1 PodList (kind \(document["kind"]?.string ?? "missing"))")
        }
        var pods: [AgentPod] = []
        for (index, item) in items.enumerated() {
            pods.append(try decode(item, at: index))
        }
        return pods
    }

    private static func decode(_ item: JSONValue, at index: Int) throws(ClusterError) -> AgentPod {
        func bad(_ what: String) -> ClusterError { .badAnswer("pod list: items[\(index)]: \(what)") }
        func optionalString(_ value: JSONValue?, _ what: String) throws(ClusterError) -> String? {
            guard let value, !value.isNull else { return nil }
            guard let text = value.string else { throw bad("\(what) is not a string") }
            return text.isEmpty ? nil : text
        }
        guard let metadata = item["metadata"], let name = metadata["name"]?.string, !name.isEmpty,
              let namespace = metadata["namespace"]?.string
        else { throw bad("no metadata.name or metadata.namespace") }
        var pod = AgentPod(name: name, namespace: namespace)
        pod.terminating = try optionalString(metadata["deletionTimestamp"], "metadata.deletionTimestamp") != nil
        pod.nodeName = try optionalString(item["spec"]?["nodeName"], "spec.nodeName")
        pod.podIP = try optionalString(item["status"]?["podIP"], "status.podIP")
        pod.phase = try optionalString(item["status"]?["phase"], "status.phase") ?? "Unknown"
        for container in item["spec"]?["containers"]?.array ?? [] {
            for port in container["ports"]?.array ?? [] where port["name"]?.string == metricsPortName {
                guard let number = port["containerPort"]?.int, (1...65535).contains(number) else {
                    throw bad("port \(metricsPortName) has no valid containerPort")
                }
                pod.metricsPort = pod.metricsPort ?? number
            }
        }
        return pod
    }
}

/// What went wrong for the whole view, or for one request.
package enum ClusterError: Error, Equatable, CustomStringConvertible {
    /// A request could not be made or finished (the socket, the proxy).
    case transport(String)
    /// An answer that is not what was asked for (not JSON, not the expected kind).
    case badAnswer(String)
    /// The API server answered with this status (and a Status message when it sent one).
    case status(Int, String)
    /// kubectl could not be started, or its proxy did not come up.
    case kubectl(String)

    package var description: String {
        switch self {
        case .transport(let text): text
        case .badAnswer(let text): "unexpected answer: \(text)"
        case .status(let code, let message): "HTTP \(code)" + (message.isEmpty ? "" : ": \(message)")
        case .kubectl(let text): text
        }
    }
}

/// The API server's `Status` object, which it sends with every error (`kind: Status`).
package struct KubernetesStatus: Sendable, Equatable {
    package var message: String
    package var reason: String
    package var code: Int?

    package init(message: String, reason: String, code: Int?) {
        self.message = message
        self.reason = reason
        self.code = code
    }

    /// Nil when `body` is not a Status object (it came from the agent, not the API server).
    package static func decode(_ body: [UInt8]) -> KubernetesStatus? {
        guard let value = try? JSONParser.parse(body), value["kind"]?.string == "Status" else { return nil }
        return KubernetesStatus(message: value["message"]?.string ?? "", reason: value["reason"]?.string ?? "",
                                code: value["code"]?.int)
    }
}
