import KubemeterTestSupport
import KubemeterCollector
import Testing

@Test func hostRootPrefixesAllFourPaths() {
    let paths = HostPaths.resolve(hostRoot: "/host", cgroupPath: "/cg")
    #expect(paths.procPath == "/host/proc")
    #expect(paths.podLogPath == "/host/var/log/pods")
    #expect(paths.containerLogPath == "/host/var/log/containers")
    #expect(paths.cgroupPath == "/cg")
    #expect(paths.cgroupTree == .explicit)
}

@Test func defaultRootIsSlash() {
    let paths = HostPaths.resolve(cgroupPath: "/sys/fs/cgroup")
    #expect(paths.procPath == "/proc")
    #expect(paths.podLogPath == "/var/log/pods")
}

@Test func eachOverrideWins() {
    let paths = HostPaths.resolve(
        hostRoot: "/host/", procPath: "/p", cgroupPath: "/c", podLogPath: "/l", containerLogPath: "/k",
        kubeletRootPath: "/r", imageFileSystemPath: "/i")
    #expect(paths == HostPaths(procPath: "/p", cgroupPath: "/c", cgroupTree: .explicit, podLogPath: "/l", containerLogPath: "/k",
                               kubeletRootPath: "/r", runtimeRootPaths: ["/i"], hostRootPath: "/host/"))
}

@Test func theStateDirectoriesAreUnderTheHostRoot() {
    let paths = HostPaths.resolve(hostRoot: "/host", cgroupPath: "/c")
    #expect(paths.kubeletRootPath == "/host/var/lib/kubelet")
    #expect(paths.runtimeRootPaths == ["/host/var/lib/containerd", "/host/var/lib/containers/storage", "/host/var/lib/docker"])
}

@Test func unifiedHybridAndV1OnlyAreTold() {
    let unified = TemporaryDirectory()
    unified.writeFile("sys/fs/cgroup/cgroup.controllers", "cpu memory\n")
    #expect(HostPaths.resolve(hostRoot: unified.path).cgroupTree == .unified)
    #expect(HostPaths.resolve(hostRoot: unified.path).cgroupPath == unified.path + "/sys/fs/cgroup")

    let hybrid = TemporaryDirectory()
    hybrid.writeFile("sys/fs/cgroup/unified/cgroup.controllers", "\n")
    hybrid.makeDirectory(hybrid.path + "/sys/fs/cgroup/memory")
    #expect(HostPaths.resolve(hostRoot: hybrid.path).cgroupTree == .hybrid)
    #expect(HostPaths.resolve(hostRoot: hybrid.path).cgroupPath == hybrid.path + "/sys/fs/cgroup/unified")

    let v1 = TemporaryDirectory()
    v1.makeDirectory(v1.path + "/sys/fs/cgroup/memory")
    #expect(HostPaths.resolve(hostRoot: v1.path).cgroupTree == .none)
    #expect(HostPaths.resolve(hostRoot: v1.path).cgroupPath == nil)
}
