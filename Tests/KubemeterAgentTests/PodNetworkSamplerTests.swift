@testable import KubemeterCollector
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func containerID(_ text: String) throws -> String? {
    try Array(text.utf8).withUnsafeBytes { try PodNetworkSampler.parseContainerID($0) }
}

private let id = String(repeating: "ab12", count: 16)

/// `/proc/<pid>/cgroup` as a reader in another cgroup namespace sees it: the path is relative to
/// the reader's namespace root (`/../..`), so only its container-shaped component counts.
@Test func theContainerOfAProcessIsTheLeafOfItsCgroupPath() throws {
    #expect(try containerID("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1_2.slice/cri-containerd-\(id).scope\n") == id)
    #expect(try containerID("0::/../../kubepods-besteffort-pod9.slice/crio-\(id).scope\n") == id)
    #expect(try containerID("0::/kubepods/burstable/pod1-2/\(id)\n") == id)
    // crun's `container` child and CRI-O's `exec` sit below the container's own cgroup.
    #expect(try containerID("0::/kubepods/pod1/\(id)/container\n") == id)
    // Hybrid hosts list the v1 hierarchies first; only the v2 line names the v2 path.
    #expect(try containerID("12:pids:/kubepods/pod1/\(id)\n1:name=systemd:/x\n0::/kubepods/pod1/\(id)\n") == id)
    // Not in a container: the kubelet, a shell, the conmon of CRI-O.
    #expect(try containerID("0::/system.slice/kubelet.service\n") == nil)
    #expect(try containerID("0::/kubepods.slice/kubepods-pod1.slice/crio-conmon-\(id).scope\n") == nil)
    #expect(try containerID("12:pids:/kubepods/pod1/\(id)\n") == nil, "no v2 line: no v2 path")
    #expect(try containerID("") == nil)
}

/// The agent tells whether it shares the PID namespace of the procfs it reads by `<proc>/self`.
@Test func theProcessLookupFollowsThePIDNamespaceOfTheProcfs() throws {
    #expect(PodNetworkSampler.processLookup(procPath: "/proc") == .cgroupProcs, "this process reads its own /proc")
    var template = Array("/tmp/kubemeter-proc-XXXXXX".utf8CString)
    let proc = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    defer { _ = system("rm -rf '\(proc)'") }
    #expect(PodNetworkSampler.processLookup(procPath: proc) == .cgroupProcs, "a copied tree without self is read as written")
    #expect(symlink(String(getpid() + 1), proc + "/self") == 0)
    #expect(PodNetworkSampler.processLookup(procPath: proc) == .procCgroupScan, "self names another pid: another namespace")
}
