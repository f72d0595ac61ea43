import KubemeterHostFiles
/// Names container cgroups by joining their IDs with `/var/log/containers` links.
///
/// The join is by container ID, never by (pod, container) name: a restarted container leaves
/// its previous instance's link beside the new one (one dead instance is kept by default), and
/// a log rotation does not touch the link, so names alone would be ambiguous. A link whose ID
/// has no cgroup (a dead instance) is ignored; a cgroup no link names (the sandbox, which never
/// gets a link, or a container started an instant ago) stays unnamed.
///
/// Whole IDs: dictionary lookup, and the link must name the same pod and namespace.
///
/// Cut IDs (the kubelet cuts the name at 251 bytes, see `ContainerLogName`): the prefix is
/// matched against the IDs of the cgroups of the pods with that namespace and name that no
/// whole link has named yet (several pods share them when a pod was deleted and re-created).
/// A unique match is taken. When a prefix matches several IDs, the link is read with
/// `readlink`: its target `<ns>_<pod>_<uid>/<container>/<n>.log` names the pod UID and the whole
/// container name, which narrows the candidates to that pod. Assigning a match removes that ID
/// from the other links' candidates; this repeats until nothing changes. A link that still
/// matches more than one ID (its prefix fits both the container and its own pod's sandbox) is
/// counted as skipped and names nothing: discovery does not guess. Before matching, cut links
/// that share a container name are read, and only the newest instance (`n`) of each (pod UID,
/// container) takes part, so a dead instance's short prefix cannot name the sandbox.
///
/// Restart counts: every named container's own link is read once (`readlink`; a target already
/// read for the cut-name rules above is reused, and across discoveries `ListingCache` keeps
/// them), and `n` of its `<ns>_<pod>_<uid>/<container>/<n>.log` is the count. A target that is
/// not that very container's `<n>.log` (another pod or UID, another container, no `<n>.log`)
/// gives no count and is counted in `skippedEntries`; the container keeps its name.
struct ContainerLogJoin {
    let index: ContainerLogIndex
    let fileSystem: FileSystemAccess

    /// A pod with its names, as the join sees it.
    struct NamedPod {
        var namespace: String
        var name: String
        var uid: String
        var containerIDs: [String]
    }

    /// What a container's link says of it.
    struct Named: Equatable {
        var name: String
        /// `n` of the `<n>.log` its link points at; nil when unknown.
        var restartCount: Int?
    }

    /// Name and restart count by container ID, for the IDs some link names.
    func containers(for pods: [NamedPod], counters: inout DiscoveryCounters) -> [String: Named] {
        var names: [String: Named] = [:]
        var podsByKey: [ContainerLogIndex.PodKey: [Int]] = [:]
        for (position, pod) in pods.enumerated() {
            podsByKey[ContainerLogIndex.PodKey(namespace: pod.namespace, name: pod.name), default: []].append(position)
            for id in pod.containerIDs {
                guard let links = index.wholeLinksByID[id] else { continue }
                if let link = links.first(where: { $0.parsed.pod == pod.name && $0.parsed.namespace == pod.namespace }) {
                    names[id] = Named(
                        name: link.parsed.container,
                        restartCount: restartCount(readingTargetOf: link, podUID: pod.uid, counters: &counters))
                } else {
                    counters.skippedEntries += 1  // a link for this ID that names another pod
                }
            }
        }
        for (key, links) in index.truncatedLinksByPod {
            guard let positions = podsByKey[key] else { continue }  // links of pods that are gone
            var open: [Candidate] = []
            for position in positions {
                for id in pods[position].containerIDs where names[id] == nil {
                    open.append(Candidate(id: id, podUID: pods[position].uid))
                }
            }
            resolveTruncated(links, among: open, into: &names, counters: &counters)
        }
        return names
    }

    /// The restart count in the target of a whole link, read now (through the file system's
    /// cache of link targets). A link gone meanwhile is counted as vanished; the name stands.
    private func restartCount(
        readingTargetOf link: ContainerLogIndex.Link, podUID: String, counters: inout DiscoveryCounters
    ) -> Int? {
        let target: String
        do {
            target = try fileSystem.readLink(index.path(of: link))
        } catch {
            counters.record(error)
            return nil
        }
        return Self.restartCount(
            ContainerLogTarget(parsing: target), of: link.parsed, podUID: podUID, container: link.parsed.container,
            counters: &counters)
    }

    /// `n` of `target` when it is `<ns>_<pod>_<podUID>/<container>/<n>.log` for the link's own
    /// namespace and pod; otherwise nil, and the target is counted in `skippedEntries`.
    static func restartCount(
        _ target: ContainerLogTarget?, of link: ContainerLogName, podUID: String, container: String,
        counters: inout DiscoveryCounters
    ) -> Int? {
        guard let target, target.pod.namespace == link.namespace, target.pod.name == link.pod,
              target.pod.uid == podUID, target.container == container, let count = target.restartCount
        else {
            counters.skippedEntries += 1
            return nil
        }
        return count
    }

    private struct Candidate {
        var id: String
        var podUID: String
    }

    private struct PendingLink {
        var link: ContainerLogIndex.Link
        var container: String
        var idPrefix: String
        /// From the link's target once read.
        var target: ContainerLogTarget?
        var hasBeenRead = false
        /// `readlink` failed (counted then): no target to judge.
        var readFailed = false

        /// Matches no ID: for links found dead or superseded.
        mutating func disable() { idPrefix = "\u{0}" }
    }

    private func resolveTruncated(
        _ links: [ContainerLogIndex.Link], among initialOpen: [Candidate],
        into names: inout [String: Named], counters: inout DiscoveryCounters
    ) {
        var open = initialOpen
        var pending = links.map { PendingLink(link: $0, container: $0.parsed.container, idPrefix: $0.parsed.idPrefix) }
        // A container part that is not a valid name means the cut fell inside it: only the
        // target knows the real name.
        for position in pending.indices where !KubernetesNameRules.isDNS1123Label(Substring(pending[position].container)) {
            readTarget(&pending[position], counters: &counters)
        }
        dropSupersededInstances(&pending, counters: &counters)
        while !pending.isEmpty {
            // Candidate IDs of every pending link; links that match nothing are dead instances.
            var candidates: [[Int]] = pending.map { link in
                open.indices.filter { position in
                    open[position].id.hasPrefix(link.idPrefix)
                        && (link.target == nil || link.target?.pod.uid == open[position].podUID)
                }
            }
            let live = candidates.indices.filter { !candidates[$0].isEmpty }
            pending = live.map { pending[$0] }
            candidates = live.map { candidates[$0] }
            if pending.isEmpty { break }

            // An ID that is some link's only candidate is taken when all such links agree on the name.
            var namesByCandidate: [Int: Set<String>] = [:]
            for (position, set) in candidates.enumerated() where set.count == 1 {
                namesByCandidate[set[0], default: []].insert(pending[position].container)
            }
            var assigned = Set<Int>()
            for (candidate, containerNames) in namesByCandidate where containerNames.count == 1 {
                assigned.insert(candidate)
            }
            if !assigned.isEmpty {
                let consumed = Set(candidates.indices.filter { candidates[$0].count == 1 && assigned.contains(candidates[$0][0]) })
                for candidate in assigned {
                    let links = consumed.filter { candidates[$0][0] == candidate }.sorted()
                    names[open[candidate].id] = named(open[candidate], by: links.map { pending[$0] }, counters: &counters)
                }
                pending = pending.indices.filter { !consumed.contains($0) }.map { pending[$0] }
                open = open.indices.filter { !assigned.contains($0) }.map { open[$0] }
                continue
            }
            // No progress by prefix alone: read the targets of the links not read yet.
            var learnt = false
            for position in pending.indices where !pending[position].hasBeenRead {
                if readTarget(&pending[position], counters: &counters) { learnt = true }
            }
            if !learnt { break }
        }
        counters.skippedEntries += pending.count  // still ambiguous: named nothing
    }

    /// A restarted container leaves the previous instance's link (same pod and container name,
    /// other ID). Whole IDs tell them apart; cut ones might not, and the old link's short prefix
    /// could match an unrelated live ID such as the sandbox. So when several cut links share a
    /// container name, their targets are read and only the newest instance (largest `<n>.log`)
    /// of each (pod UID, container) takes part.
    private func dropSupersededInstances(_ pending: inout [PendingLink], counters: inout DiscoveryCounters) {
        var countByContainer: [String: Int] = [:]
        for link in pending { countByContainer[link.container, default: 0] += 1 }
        guard countByContainer.values.contains(where: { $0 > 1 }) else { return }
        for position in pending.indices where countByContainer[pending[position].container, default: 0] > 1 {
            readTarget(&pending[position], counters: &counters)
        }
        struct Instance: Hashable { var uid: String; var container: String }
        var newest: [Instance: Int] = [:]
        for link in pending {
            guard let target = link.target, let restart = target.restartCount else { continue }
            let instance = Instance(uid: target.pod.uid, container: target.container)
            newest[instance] = max(newest[instance] ?? restart, restart)
        }
        for position in pending.indices {
            guard let target = pending[position].target, let restart = target.restartCount else { continue }
            if restart < newest[Instance(uid: target.pod.uid, container: target.container)]! {
                pending[position].disable()
            }
        }
    }

    /// The name the links that took `candidate` agree on, and the restart count of the link
    /// among them whose target says most (read now if none was read: one `readlink`, whose
    /// result the matching above could not use).
    private func named(_ candidate: Candidate, by links: [PendingLink], counters: inout DiscoveryCounters) -> Named {
        var links = links
        // Several links agree on an ID only after their targets were read (see
        // `dropSupersededInstances`); the newest instance's is the live one.
        let read = links.indices.filter { links[$0].target != nil }
        var chosen = read.max { (links[$0].target?.restartCount ?? -1) < (links[$1].target?.restartCount ?? -1) } ?? 0
        if links[chosen].target == nil, !links[chosen].hasBeenRead {
            readTarget(&links[chosen], counters: &counters)
        }
        if links[chosen].target == nil, let other = links.indices.first(where: { links[$0].target != nil }) { chosen = other }
        let link = links[chosen]
        let count: Int? = link.readFailed
            ? nil
            : Self.restartCount(link.target, of: link.link.parsed, podUID: candidate.podUID, container: link.container, counters: &counters)
        return Named(name: link.container, restartCount: count)
    }

    /// Reads the link's target to learn its pod UID and whole container name. Returns whether
    /// anything was learnt; a vanished link is counted and left to match nothing.
    @discardableResult
    private func readTarget(_ pending: inout PendingLink, counters: inout DiscoveryCounters) -> Bool {
        guard !pending.hasBeenRead else { return false }
        pending.hasBeenRead = true
        let target: String
        do {
            target = try fileSystem.readLink(index.path(of: pending.link))
        } catch {
            pending.readFailed = true
            counters.record(error)
            if case .vanished = error { pending.disable() }
            return false
        }
        guard let parsed = ContainerLogTarget(parsing: target) else { return false }
        guard parsed.pod.namespace == pending.link.parsed.namespace, parsed.pod.name == pending.link.parsed.pod else {
            // The name and the target disagree about the pod: trust neither.
            counters.skippedEntries += 1
            pending.disable()
            return false
        }
        pending.target = parsed
        if parsed.container != pending.container {
            // The cut fell inside the container name; what follows the whole name is the prefix.
            pending.container = parsed.container
            if let prefix = Self.idPrefix(afterContainer: parsed.container, inLinkNamed: pending.link.fileName) {
                pending.idPrefix = prefix
            } else {
                pending.disable()
            }
        }
        return true
    }

    /// The ID part of a link name once the container name is known: the text after
    /// `<container>-`, or "" when the cut fell before it.
    static func idPrefix(afterContainer container: String, inLinkNamed fileName: String) -> String? {
        let stem = Substring(fileName).dropLast(ContainerLogName.suffix.utf8.count)
        let parts = stem.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let rest = parts[2]
        let head = container + "-"
        if rest.hasPrefix(head) {
            let id = rest.dropFirst(head.utf8.count)
            return KubernetesNameRules.isLowerHexOrEmpty(id) ? String(id) : nil
        }
        return head.hasPrefix(rest) ? "" : nil
    }
}
