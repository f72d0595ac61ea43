import Testing
@testable import KubemeterDiscovery

private let uid = "6f1c2b9e-3d4a-4b8c-9e0f-1a2b3c4d5e6f"
private let uidEscaped = "6f1c2b9e_3d4a_4b8c_9e0f_1a2b3c4d5e6f"
private let staticUID = "0123456789abcdef0123456789abcdef"
private let id = "4f9a0c1d2e3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f30211223344556677"

@Suite struct CgroupNameTests {
    static let recognised: [(String, CgroupName.Kind)] = [
        // kubepods roots
        ("kubepods", .kubepods),
        ("kubepods.slice", .kubepods),
        ("kubelet-kubepods.slice", .kubepods),  // kind: --cgroup-root=/kubelet, systemd
        // QoS levels
        ("burstable", .qos(.burstable)),
        ("besteffort", .qos(.besteffort)),
        ("kubepods-burstable.slice", .qos(.burstable)),
        ("kubepods-besteffort.slice", .qos(.besteffort)),
        ("kubelet-kubepods-burstable.slice", .qos(.burstable)),
        // pods, systemd: `_` stands for `-` in the UID; the name carries the QoS
        ("kubepods-pod\(uidEscaped).slice", .pod(uid: uid, qos: .guaranteed)),
        ("kubepods-burstable-pod\(uidEscaped).slice", .pod(uid: uid, qos: .burstable)),
        ("kubepods-besteffort-pod\(uidEscaped).slice", .pod(uid: uid, qos: .besteffort)),
        ("kubelet-kubepods-burstable-pod\(uidEscaped).slice", .pod(uid: uid, qos: .burstable)),
        ("kubelet-kubepods-pod\(uidEscaped).slice", .pod(uid: uid, qos: .guaranteed)),
        ("kubepods-pod\(staticUID).slice", .pod(uid: staticUID, qos: .guaranteed)),
        // pods, cgroupfs: the parent directory carries the QoS
        ("pod\(uid)", .pod(uid: uid, qos: nil)),
        ("pod\(staticUID)", .pod(uid: staticUID, qos: nil)),
        // containers
        ("cri-containerd-\(id).scope", .container(id: id, runtime: .containerd)),
        ("crio-\(id).scope", .container(id: id, runtime: .crio)),
        ("crio-\(id)", .container(id: id, runtime: .crio)),
        ("docker-\(id).scope", .container(id: id, runtime: .docker)),
        (id, .container(id: id, runtime: .unknown)),
        // CRI-O's conmon
        ("crio-conmon-\(id).scope", .runtimeMonitor(id: id)),
        ("crio-conmon-\(id)", .runtimeMonitor(id: id)),
    ]

    @Test(arguments: recognised)
    func recognises(name: String, kind: CgroupName.Kind) {
        #expect(CgroupName.classify(name) == kind)
    }

    static let others: [String] = [
        "", "system.slice", "user.slice", "init.scope", "kubelet.slice", "custom",
        "container", "exec",  // crun's and CRI-O's children inside a container cgroup
        "\(id).mount", "docker-\(id).mount", "crio-\(id).mount", "cri-containerd-\(id).mount",
        "cri-containerd-\(id)",  // containerd's prefix exists only as a systemd scope
        "docker-\(id)",
        String(id.dropLast()),  // 63 hex
        id + "0",  // 65 hex
        id.uppercased(),
        "cri-containerd-\(id.uppercased()).scope",
        "crio-conmon-\(id.dropLast()).scope",
        "kubepods-burstable-pod\(uid).slice",  // unescaped dashes split the UID apart
        "kubepods-pod\(uidEscaped.uppercased()).slice",
        "kubepods-guaranteed.slice",  // Guaranteed has no QoS level
        "burstable.slice", "kubepods-burstable-besteffort-pod\(uidEscaped).slice",
        "foo-pod\(uidEscaped).slice", "pod\(uidEscaped).slice",
        "kubepods-pod\(uidEscaped).scope",
        "pod\(uid)x", "pod" + String(uid.dropLast()), "pod\(uid.uppercased())", "pod",
        "kubepods.slice.d", "Kubepods",
    ]

    @Test(arguments: others)
    func rejects(name: String) {
        #expect(CgroupName.classify(name) == .other, "\(name)")
    }
}
