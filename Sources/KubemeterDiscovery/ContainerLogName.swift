/// A `/var/log/containers` link name, `<pod>_<namespace>_<container>-<id>.log` (kubelet
/// pkg/kubelet/kuberuntime/legacy.go `logSymlink`, with `BuildPodFullName` = `<pod>_<namespace>`
/// from pkg/kubelet/container/runtime.go). Pure: no I/O.
///
/// Splitting: on `_` into exactly three parts (pod names are DNS-1123 subdomains, namespaces and
/// container names DNS-1123 labels: none contains `_`, apimachinery
/// pkg/util/validation/validation.go), then the third part on its last `-` (a container name may
/// contain `-`, an ID never does).
///
/// Truncation: `logSymlink` cuts the part before `.log` to 251 bytes (`ext4MaxFileNameLen` 255
/// minus ".log"), so the ID is whole only when len(pod) + len(namespace) + len(container) <= 184.
/// A cut name has a 251-byte stem; its ID is then a prefix (possibly empty) and `isTruncated` is
/// true. When the cut falls inside the container name itself (only for names far longer than
/// any real cluster uses: len(pod) + len(namespace) <= 217 is enforced, kubernetes#104288), the
/// whole third part is kept as `container` with an empty `idPrefix`; the symlink's target gives
/// the real name (see `ContainerLogJoin`).
package struct ContainerLogName: Sendable, Equatable {
    package var pod: String
    package var namespace: String
    package var container: String
    /// The whole 64-hex ID, or a prefix of it when `isTruncated`.
    package var idPrefix: String
    /// The kubelet cut the name at 251 bytes before the ID was complete.
    package var isTruncated: Bool

    /// The kubelet's limit for the part of the name before `.log`.
    package static let maximumStemLength = 251
    static let suffix = ".log"

    package init?(parsing fileName: String) {
        guard fileName.hasSuffix(Self.suffix) else { return nil }
        let stem = Substring(fileName).dropLast(Self.suffix.utf8.count)
        let parts = stem.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3,
              KubernetesNameRules.isDNS1123Subdomain(parts[0]),
              KubernetesNameRules.isDNS1123Label(parts[1])
        else { return nil }
        let cut = stem.utf8.count == Self.maximumStemLength
        let rest = parts[2]
        var parsed: (container: Substring, id: Substring, truncated: Bool)?
        if let dash = rest.lastIndex(of: "-") {
            let container = rest[..<dash]
            let id = rest[rest.index(after: dash)...]
            if KubernetesNameRules.isDNS1123Label(container) {
                if KubernetesNameRules.isContainerID(id) {
                    parsed = (container, id, false)
                } else if cut, id.utf8.count < KubernetesNameRules.containerIDLength,
                          KubernetesNameRules.isLowerHexOrEmpty(id) {
                    parsed = (container, id, true)
                }
            }
        }
        if parsed == nil, cut, !rest.isEmpty,
           rest.utf8.allSatisfy({ KubernetesNameRules.isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }) {
            // Cut inside the container name: no ID left at all.
            parsed = (rest, rest[rest.endIndex...], true)
        }
        guard let parsed else { return nil }
        pod = String(parts[0])
        namespace = String(parts[1])
        container = String(parsed.container)
        idPrefix = String(parsed.id)
        isTruncated = parsed.truncated
    }

    package init(pod: String, namespace: String, container: String, idPrefix: String, isTruncated: Bool) {
        self.pod = pod
        self.namespace = namespace
        self.container = container
        self.idPrefix = idPrefix
        self.isTruncated = isTruncated
    }
}
