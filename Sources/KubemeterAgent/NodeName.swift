#if canImport(Glibc)
import Glibc
#endif

/// The node's name, as the Summary API and a PodList carry it, without the API server.
package enum NodeName {
    /// `--node-name`, else `$NODE_NAME` (the DaemonSet sets it from the downward API's
    /// `spec.nodeName`: the name the API server knows, even where the kubelet was given
    /// `--hostname-override`), else the host name in lower case and trimmed, as the kubelet's
    /// default is (k8s.io/component-helpers node/util `GetHostname`).
    package static func resolve(flag: String?, environment: String?) -> String {
        for given in [flag, environment] {
            if let name = given.map(trimmed), !name.isEmpty { return name }
        }
        return trimmed(hostName()).lowercased()
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(cString: buffer)
    }

    private static func trimmed(_ text: String) -> String {
        String(text.drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed())
    }
}
