/// Classifies one cgroup directory base name of the kubepods tree. Pure: no I/O.
///
/// Naming rules and their sources:
/// - Pod and QoS levels (kubelet pkg/kubelet/cm/cgroup_manager_linux.go `ToSystemd`,
///   `ParseSystemdToCgroupName`, `ToCgroupfs`; qos_container_manager_linux.go;
///   pod_container_manager_linux.go `GetPodContainerName`): the kubelet's cgroup name is a list of
///   parts `[<cgroup-root parts>..., "kubepods", <"burstable"|"besteffort">?, "pod<uid>"]`. The
///   cgroupfs driver uses each part as one directory. The systemd driver escapes `-` to `_` in
///   each part, joins all parts so far with `-` and adds `.slice`, one directory per level
///   (runc/opencontainers `systemd.ExpandSlice`): `kubepods-burstable-pod<uid_>.slice`.
/// - Container level: see `ContainerRuntime` for each runtime's source. CRI-O's conmon scope
///   `crio-conmon-<id>.scope` (cri-o internal/config/cgmgr/systemd_linux.go `MoveConmonToCgroup`;
///   `crio-conmon-<id>` under cgroupfs, cgroupfs_linux.go) is a runtime monitor, not a container.
/// - Anything else, including systemd `.mount` units (which cAdvisor skips too:
///   google/cadvisor container/containerd/factory.go, container/crio/factory.go), is `other`.
package enum CgroupName {
    package enum Kind: Equatable, Sendable {
        /// The kubepods root: `kubepods` (cgroupfs), `kubepods.slice`, or `<root>-kubepods.slice`
        /// under a non-default kubelet `--cgroup-root` (kind: `kubelet-kubepods.slice`).
        case kubepods
        /// A QoS level: `burstable`/`besteffort` (cgroupfs) or `[<root>-]kubepods-burstable.slice`.
        case qos(QoSClass)
        /// A pod level. `qos` is what the name itself says: the systemd driver spells the whole
        /// path into the name (`kubepods-pod<uid_>.slice` is Guaranteed); the cgroupfs `pod<uid>`
        /// says nothing (`nil`), its parent directory does.
        case pod(uid: String, qos: QoSClass?)
        /// A container: `cri-containerd-<id>.scope`, `crio-<id>.scope`, `crio-<id>`,
        /// `docker-<id>.scope`, or a bare `<id>` (runtime `unknown`).
        case container(id: String, runtime: ContainerRuntime)
        /// CRI-O's conmon: `crio-conmon-<id>.scope` or `crio-conmon-<id>`. Never a container.
        case runtimeMonitor(id: String)
        case other
    }

    private static let sliceSuffix = ".slice"
    private static let scopeSuffix = ".scope"
    private static let kubepodsPart = "kubepods"
    private static let podPrefix = "pod"

    package static func classify(_ baseName: String) -> Kind {
        let name = Substring(baseName)
        if let container = classifyContainer(name) { return container }
        if name.hasSuffix(sliceSuffix) {
            return classifySystemdSlice(name.dropLast(sliceSuffix.utf8.count))
        }
        return classifyCgroupfs(name)
    }

    // MARK: - Containers

    private static func classifyContainer(_ name: Substring) -> Kind? {
        if KubernetesNameRules.isContainerID(name) {
            // Bare ID: containerd and Docker (cgroupfs driver) both name it so.
            return .container(id: String(name), runtime: .unknown)
        }
        let isScope = name.hasSuffix(scopeSuffix)
        let stem = isScope ? name.dropLast(scopeSuffix.utf8.count) : name
        if let id = idAfter(prefix: "crio-conmon-", in: stem) {
            return .runtimeMonitor(id: id)
        }
        if let id = idAfter(prefix: "crio-", in: stem) {
            // With the systemd driver, `crio-<id>` without `.scope` is the empty infra directory
            // CRI-O keeps for a dropped sandbox (drop_infra_ctr); it is a container-shaped cgroup
            // that never gets a log link, so the join files it under unnamed IDs.
            return .container(id: id, runtime: .crio)
        }
        guard isScope else { return nil }
        if let id = idAfter(prefix: "cri-containerd-", in: stem) {
            return .container(id: id, runtime: .containerd)
        }
        if let id = idAfter(prefix: "docker-", in: stem) {
            return .container(id: id, runtime: .docker)
        }
        return nil
    }

    private static func idAfter(prefix: String, in stem: Substring) -> String? {
        guard stem.hasPrefix(prefix) else { return nil }
        let id = stem.dropFirst(prefix.utf8.count)
        return KubernetesNameRules.isContainerID(id) ? String(id) : nil
    }

    // MARK: - systemd driver

    /// `unit` is the slice name without `.slice`, e.g. `kubelet-kubepods-burstable-pod1234_5678`.
    private static func classifySystemdSlice(_ unit: Substring) -> Kind {
        // Reverse of the kubelet's ToSystemd: split on `-`; `_` in a part stands for `-`.
        let parts = unit.split(separator: "-", omittingEmptySubsequences: false)
        guard let last = parts.last else { return .other }
        if last == kubepodsPart {
            return .kubepods
        }
        if let qos = qosLevel(last) {
            // `[<root>-]kubepods-<qos>.slice`
            return parts.count >= 2 && parts[parts.count - 2] == kubepodsPart ? .qos(qos) : .other
        }
        guard last.hasPrefix(podPrefix), parts.count >= 2 else { return .other }
        let escapedUID = last.dropFirst(podPrefix.utf8.count)
        let uid = String(escapedUID.map { $0 == "_" ? "-" : $0 })
        guard KubernetesNameRules.isPodUID(Substring(uid)) else { return .other }
        let parent = parts[parts.count - 2]
        if parent == kubepodsPart {
            return .pod(uid: uid, qos: .guaranteed)
        }
        if let qos = qosLevel(parent), parts.count >= 3, parts[parts.count - 3] == kubepodsPart {
            return .pod(uid: uid, qos: qos)
        }
        return .other
    }

    // MARK: - cgroupfs driver

    private static func classifyCgroupfs(_ name: Substring) -> Kind {
        if name == kubepodsPart { return .kubepods }
        if let qos = qosLevel(name) { return .qos(qos) }
        if name.hasPrefix(podPrefix) {
            let uid = name.dropFirst(podPrefix.utf8.count)
            if KubernetesNameRules.isPodUID(uid) { return .pod(uid: String(uid), qos: nil) }
        }
        return .other
    }

    /// Only Burstable and BestEffort have a QoS level directory (qos_container_manager_linux.go).
    private static func qosLevel(_ part: Substring) -> QoSClass? {
        switch part {
        case "burstable": .burstable
        case "besteffort": .besteffort
        default: nil
        }
    }
}
