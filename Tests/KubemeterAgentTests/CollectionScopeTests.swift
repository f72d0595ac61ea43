#if canImport(Glibc)
import Glibc
#endif
import KubemeterCollector
import KubemeterParsers
import KubemeterSnapshot
import Testing

/// A `.resource` collection reads the kubelet's files only, and gives the very values a `.full`
/// one gives for them; the cAdvisor-only values are absent, not zero.
@Test func aResourceCollectionReadsOnlyTheKubeletsFilesAndTheSameValues() throws {
    let tree = try FakeNodeTree(pods: 3, containers: 2, driver: "systemd")
    let paths = tree.paths

    let resourceOnly = Collector(paths: paths)
    let resource = resourceOnly.collect(scope: .resource)
    let keptForResource = resourceOnly.openFileStatistics.open
    let everything = Collector(paths: paths)
    let full = everything.collect(scope: .full)
    let keptForFull = everything.openFileStatistics.open

    #expect(resource.scope == .resource && full.scope == .full)
    #expect(resource.pods.count == 3 && full.pods.count == 3)
    #expect(resource.node.cpuUsageSeconds == full.node.cpuUsageSeconds && resource.node.cpuUsageSeconds != nil)
    #expect(resource.node.memoryWorkingSetBytes == full.node.memoryWorkingSetBytes)
    #expect(resource.node.swapUsageBytes == full.node.swapUsageBytes)
    #expect(resource.node.procStat == nil && full.node.procStat != nil)
    #expect(resource.node.netDev == nil && full.node.netDev != nil)

    let cgroups = zip(resource.pods, full.pods).flatMap { r, f in
        [(r.sample, f.sample)] + zip(r.containers, f.containers).map { ($0.sample, $1.sample) }
    }
    #expect(cgroups.count == 3 + 3 * 2)
    for (r, f) in cgroups {
        #expect(r.cpu == f.cpu && r.cpu != nil)
        // Of memory.stat, a resource collection takes only what the working set needs.
        #expect(r.memoryCurrent == f.memoryCurrent && f.memoryStat?.activeFile != nil)
        #expect(r.memoryStat == MemoryStat(anon: f.memoryStat?.anon, file: f.memoryStat?.file, inactiveFile: f.memoryStat?.inactiveFile))
        #expect(r.memoryWorkingSetBytes == f.memoryWorkingSetBytes && r.memoryWorkingSetBytes != nil)
        #expect(r.swapCurrent == f.swapCurrent && r.swapMax == f.swapMax)
        #expect(r.cpuMax == nil && r.memoryEvents == nil && r.ioStat == nil && r.cpuPressure == nil && r.pidsCurrent == nil)
        #expect(f.cpuMax != nil && f.memoryEvents != nil)
    }
    for (r, f) in zip(resource.pods, full.pods) {
        #expect(r.containers.map(\.startTimeSeconds) == f.containers.map(\.startTimeSeconds))
        #expect(r.network == nil)
        #expect(f.network != nil || f.hostNetwork == true)
    }
    // The system containers (kubelet.service, containerd.service, kubepods) are read by both.
    #expect(resource.systemContainers.map(\.role) == full.systemContainers.map(\.role) && !resource.systemContainers.isEmpty)
    // Five files at most per cgroup, and one held directory per cgroup on this non-kernel tree.
    #expect(keptForResource <= (cgroups.count + resource.systemContainers.count) * 6 + 10)
    #expect(keptForFull > keptForResource)
}

/// After a `.full` collection, a `.resource` one opens nothing new; the cAdvisor files stay open
/// for the next `.full` one rather than being closed and reopened.
@Test func scopesShareTheKeptFiles() throws {
    let tree = try FakeNodeTree(pods: 2, containers: 1, driver: "cgroupfs")
    let collector = Collector(paths: tree.paths)
    _ = collector.collect(scope: .full)
    let afterFull = collector.openFileStatistics.open
    _ = collector.collect(scope: .resource)
    #expect(collector.openFileStatistics.open == afterFull)
    let again = collector.collect(scope: .full)
    #expect(collector.openFileStatistics.open == afterFull)
    #expect(again.pods.allSatisfy { $0.sample.cpuMax != nil })
}
