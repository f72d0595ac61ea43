import KubemeterHostFiles
/// The pods `/var/log/pods` names, by UID: the one place on disk that maps a pod UID to its
/// namespace and name (kubelet pkg/kubelet/kuberuntime/helpers.go `BuildPodLogsDirectory`; the
/// kubelet makes the directory before it starts the sandbox, kuberuntime_sandbox.go).
struct PodLogIndex {
    private(set) var podsByUID: [String: PodLogDirectoryName] = [:]

    /// One listing of `directory`, no stat. A missing directory gives an empty index.
    init(directory: String, fileSystem: FileSystemAccess, counters: inout DiscoveryCounters) {
        guard let entries = fileSystem.rootEntries(directory, counters: &counters) else { return }
        // Sorted so that the rare duplicate UID resolves the same way every time.
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            if let parsed = PodLogDirectoryName(parsing: entry.name) {
                if podsByUID[parsed.uid] == nil {
                    podsByUID[parsed.uid] = parsed
                } else {
                    counters.skippedEntries += 1
                }
            } else if KubernetesNameRules.isPodUID(Substring(entry.name)) {
                // Legacy (before 1.14) `/var/log/pods/<uid>`: no names in it. Its pod cgroup is
                // counted as without log directory when the join misses it.
                continue
            } else {
                counters.skippedEntries += 1
            }
        }
    }

    subscript(uid: String) -> PodLogDirectoryName? { podsByUID[uid] }
}
