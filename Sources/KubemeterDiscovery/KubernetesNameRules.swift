/// The shapes Kubernetes guarantees for the names discovery splits and joins on.
///
/// Namespace and container names are DNS-1123 labels and pod names DNS-1123 subdomains
/// (kubernetes staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go `IsDNS1123Label`,
/// `IsDNS1123Subdomain`; pkg/apis/core/validation/validation.go applies them to namespaces, pods
/// and containers). Neither allows `_`, which is what makes splitting `<ns>_<pod>_<uid>` and
/// `<pod>_<ns>_<container>-<id>` on `_` unambiguous. The kubelet's cgroup names forbid `_` in
/// their parts for the same reason (pkg/kubelet/cm/cgroup_manager_linux.go `NewCgroupName`).
enum KubernetesNameRules {
    static let dns1123LabelMaxLength = 63
    static let dns1123SubdomainMaxLength = 253
    static let containerIDLength = 64

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 bytes.
    static func isDNS1123Label(_ name: Substring) -> Bool {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= dns1123LabelMaxLength else { return false }
        guard isLowerAlphanumeric(bytes.first!), isLowerAlphanumeric(bytes.last!) else { return false }
        return bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    /// Dot-separated DNS-1123 labels, at most 253 bytes (`web-0`, `coredns-5d78c9869d-abcde`, `my.app-1`).
    static func isDNS1123Subdomain(_ name: Substring) -> Bool {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= dns1123SubdomainMaxLength else { return false }
        var previous: UInt8 = UInt8(ascii: ".")
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                // A label must end with an alphanumeric before a dot, and not be empty.
                guard isLowerAlphanumeric(previous) else { return false }
            } else if byte == UInt8(ascii: "-") {
                guard previous != UInt8(ascii: ".") else { return false }
            } else if !isLowerAlphanumeric(byte) {
                return false
            }
            previous = byte
        }
        return isLowerAlphanumeric(previous)
    }

    /// A pod UID as the kubelet writes it into cgroup and log directory names: a dashed UUID
    /// (8-4-4-4-12, from the API server), or 32 hex digits for a static pod, whose UID is the md5
    /// of its manifest (pkg/kubelet/config/common.go `applyDefaults`). Lowercase only: both are
    /// generated in lowercase, and the join is by exact string.
    static func isPodUID(_ uid: Substring) -> Bool {
        let bytes = uid.utf8
        switch bytes.count {
        case 32:
            return bytes.allSatisfy(isLowerHex)
        case 36:
            for (offset, byte) in bytes.enumerated() {
                let isDashPosition = offset == 8 || offset == 13 || offset == 18 || offset == 23
                if isDashPosition ? byte != UInt8(ascii: "-") : !isLowerHex(byte) { return false }
            }
            return true
        default:
            return false
        }
    }

    /// A CRI container ID: 64 lowercase hex digits (the shape cAdvisor matches too:
    /// google/cadvisor container/containerd/factory.go `containerdCgroupRegexp`).
    static func isContainerID(_ id: Substring) -> Bool {
        id.utf8.count == containerIDLength && id.utf8.allSatisfy(isLowerHex)
    }

    /// Lowercase hex digits only; the empty string qualifies (a fully cut ID prefix).
    static func isLowerHexOrEmpty(_ text: Substring) -> Bool {
        text.utf8.allSatisfy(isLowerHex)
    }

    static func isLowerHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }

    static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
    }
}
