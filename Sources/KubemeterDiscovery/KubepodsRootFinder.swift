import KubemeterHostFiles
/// Finds the kubepods root below the cgroup v2 mount when it is not configured.
///
/// The kubelet puts every pod under `<--cgroup-root>/kubepods` (pkg/kubelet/cm/node_container_manager_linux.go
/// and container_manager_linux.go: `defaultNodeAllocatableCgroupName` "kubepods" below
/// `CgroupRoot`). With the default root `/` that is `kubepods` (cgroupfs) or `kubepods.slice`
/// (systemd); with another root it is deeper: kind uses `/kubelet` with the systemd driver,
/// hence `kubelet.slice/kubelet-kubepods.slice`; a cgroupfs root `/custom` gives `custom/kubepods`.
///
/// Search: breadth first, at most `maximumDepth` levels below `cgroupRoot`, stopping at the
/// shallowest level with a match. It never descends into systemd units that cannot hold it
/// (`*.scope`, `*.service`, `*.mount`, ...), the big unrelated slices (`system.slice`,
/// `user.slice`, `machine.slice`), or a kubepods match itself. When one level holds several
/// matches (e.g. a stale `kubepods` beside a live `kubepods.slice` after a driver change), the
/// one with the most pod cgroups wins, then the first by name.
struct KubepodsRootFinder {
    static let maximumDepth = 3
    private static let unrelatedTrees: Set<Substring> = ["system.slice", "user.slice", "machine.slice"]
    private static let leafUnitSuffixes = [".scope", ".service", ".mount", ".socket", ".swap", ".device", ".target"]

    let cgroupRoot: String
    let fileSystem: FileSystemAccess

    /// The absolute path of the kubepods root, or nil if there is none within reach.
    func find(counters: inout DiscoveryCounters) -> String? {
        // A cgroup root that is itself the kubepods root (the agent pointed straight at it).
        if case .kubepods = CgroupName.classify(String(Path.baseName(cgroupRoot))) {
            return cgroupRoot
        }
        var level = [cgroupRoot]
        for _ in 1...Self.maximumDepth {
            var matches: [String] = []
            var next: [String] = []
            for directory in level {
                let children: FileSystem.Subdirectories
                do {
                    children = try fileSystem.subdirectories(directory)
                } catch {
                    // The mount itself missing is not churn; a vanished directory further down is.
                    if directory == cgroupRoot {
                        counters.recordRoot(error)
                    } else {
                        counters.record(error)
                    }
                    continue
                }
                counters.vanishedEntries += children.vanishedEntries
                for name in children.names.sorted() {
                    let path = Path.join(directory, name)
                    if case .kubepods = CgroupName.classify(name) {
                        matches.append(path)
                    } else if Self.mayContainKubepods(Substring(name)) {
                        next.append(path)
                    }
                }
            }
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 { return mostPopulated(matches) }
            if next.isEmpty { return nil }
            level = next
        }
        return nil
    }

    private static func mayContainKubepods(_ name: Substring) -> Bool {
        if unrelatedTrees.contains(name) { return false }
        if leafUnitSuffixes.contains(where: { name.hasSuffix($0) }) { return false }
        switch CgroupName.classify(String(name)) {
        case .other: return true
        default: return false  // a pod, QoS or container cgroup outside any kubepods root
        }
    }

    /// Ties are rare (leftovers of a driver change); counting the pod cgroups of each candidate
    /// (directly below it and one QoS level down) settles them.
    private func mostPopulated(_ candidates: [String]) -> String {
        var best = candidates[0]
        var bestCount = -1
        for candidate in candidates {
            var count = 0
            for name in (try? fileSystem.subdirectories(candidate))?.names ?? [] {
                switch CgroupName.classify(name) {
                case .pod:
                    count += 1
                case .qos:
                    let qosNames = (try? fileSystem.subdirectories(Path.join(candidate, name)))?.names ?? []
                    count += qosNames.count { if case .pod = CgroupName.classify($0) { true } else { false } }
                default:
                    break
                }
            }
            if count > bestCount { (best, bestCount) = (candidate, count) }
        }
        return best
    }
}
