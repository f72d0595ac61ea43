import KubemeterHostFiles
/// The links of `/var/log/containers`, indexed for the join with container cgroups: whole IDs by
/// ID, cut ones by pod (namespace and name). One listing, no stat, no readlink here.
///
/// The kubelet makes a link `<pod>_<namespace>_<container>-<id>.log` for every app container
/// once its log file exists, never for a sandbox, and removes it with the container
/// (pkg/kubelet/kuberuntime/kuberuntime_container.go `startContainer`, `removeContainerLog`;
/// dangling links are swept by kuberuntime_gc.go `evictPodLogsDirectories`). Their targets are
/// absolute host paths, so they dangle under another mount point: only names are read.
struct ContainerLogIndex {
    struct Link {
        /// The link's file name inside the directory (for `readlink`).
        var fileName: String
        var parsed: ContainerLogName
    }

    struct PodKey: Hashable {
        var namespace: String
        var name: String
    }

    let directory: String
    private(set) var wholeLinksByID: [String: [Link]] = [:]
    private(set) var truncatedLinksByPod: [PodKey: [Link]] = [:]

    init(directory: String, fileSystem: FileSystemAccess, counters: inout DiscoveryCounters) {
        self.directory = directory
        guard let entries = fileSystem.rootEntries(directory, counters: &counters) else { return }
        for entry in entries {
            guard let parsed = ContainerLogName(parsing: entry.name) else {
                counters.skippedEntries += 1
                continue
            }
            let link = Link(fileName: entry.name, parsed: parsed)
            if parsed.isTruncated {
                truncatedLinksByPod[PodKey(namespace: parsed.namespace, name: parsed.pod), default: []].append(link)
            } else {
                wholeLinksByID[parsed.idPrefix, default: []].append(link)
            }
        }
    }

    func path(of link: Link) -> String { Path.join(directory, link.fileName) }
}

/// Where a `/var/log/containers` link points: `<podLogsDir>/<namespace>_<pod>_<uid>/<container>/<n>.log`
/// (kubelet pkg/kubelet/kuberuntime/helpers.go `BuildContainerLogsDirectory`,
/// `buildContainerLogsPath`). The target is whole even when the link's name was cut.
struct ContainerLogTarget: Equatable {
    var pod: PodLogDirectoryName
    var container: String
    /// `n` of `<n>.log`: the container's restart count when this instance started, as the kubelet
    /// computed it (kuberuntime_container.go `startContainer`, which passes it to
    /// `buildContainerLogsPath`); so the newer of two instances has the larger one. Nil when the
    /// file name is not `<decimal digits>.log`.
    var restartCount: Int?

    /// Parses the last three components of `target`; the directory above them (the kubelet's
    /// `podLogsDir`) may be anything.
    init?(parsing target: String) {
        let components = target.split(separator: "/")
        guard components.count >= 3,
              let pod = PodLogDirectoryName(parsing: String(components[components.count - 3])),
              KubernetesNameRules.isDNS1123Label(components[components.count - 2]),
              components[components.count - 1].hasSuffix(".log")
        else { return nil }
        self.pod = pod
        self.container = String(components[components.count - 2])
        self.restartCount = Self.restartCount(ofLogFileNamed: components[components.count - 1])
    }

    /// `n` of a file named `<n>.log`, `n` in decimal digits only (the kubelet writes it with `%d`
    /// from a count that is never negative). A rotated `<n>.log.<timestamp>[.gz]` gives nil: a
    /// link points at its instance's live file, never at a rotated one.
    static func restartCount(ofLogFileNamed name: Substring) -> Int? {
        guard name.hasSuffix(".log") else { return nil }
        let digits = name.dropLast(".log".utf8.count)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(digits)  // nil past Int.max
    }
}
