/// A pod log directory name, `<namespace>_<pod>_<uid>` (kubelet pkg/kubelet/kuberuntime/helpers.go
/// `BuildPodLogsDirectory`, joined with `logPathDelimiter` "_"). Pure: no I/O.
///
/// The name splits on `_` into exactly three parts because none of them may contain `_`:
/// namespaces are DNS-1123 labels, pod names DNS-1123 subdomains, UIDs UUIDs or md5 hex
/// (apimachinery pkg/util/validation/validation.go). The legacy pre-1.14 directory `<uid>` has
/// one part and no names, so it does not parse.
package struct PodLogDirectoryName: Sendable, Equatable {
    package var namespace: String
    package var name: String
    package var uid: String

    package init?(parsing directoryName: String) {
        let parts = directoryName.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3,
              KubernetesNameRules.isDNS1123Label(parts[0]),
              KubernetesNameRules.isDNS1123Subdomain(parts[1]),
              KubernetesNameRules.isPodUID(parts[2])
        else { return nil }
        namespace = String(parts[0])
        name = String(parts[1])
        uid = String(parts[2])
    }

    package init(namespace: String, name: String, uid: String) {
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}
