import KubemeterTestSupport
import KubemeterCollector
import KubemeterHostFiles
import KubemeterParsers
import KubemeterSnapshot
import KubemeterSync
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Test func nodeFromRootCgroupFiles() {
    let host = TemporaryDirectory()
    host.writeFile("sys/fs/cgroup/cgroup.controllers", "cpu memory\n")
    host.writeFile("sys/fs/cgroup/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    host.writeFile("sys/fs/cgroup/memory.stat", "anon 1000\nfile 5000\ninactive_file 1500\n")
    host.writeFile("proc/stat", "cpu  1 2 3 4 5 6 7 8 0 0\nbtime 1\n")
    host.writeFile("proc/meminfo", "MemTotal: 100 kB\nMemFree: 10 kB\nSwapTotal: 50 kB\nSwapFree: 20 kB\n")
    let snapshot = Collector(paths: .resolve(hostRoot: host.path)).collect()
    #expect(snapshot.node.cpuUsageSeconds == 2.5)
    #expect(snapshot.node.cpuSource == .rootCgroupCPUStat)
    #expect(snapshot.node.memoryWorkingSetBytes == 4500)
    #expect(snapshot.node.memorySource == .rootCgroupMemoryStat)
    // UInt64(...) around arithmetic on literals: bare, `#expect` compares through AnyHashable, in a
    // compiler-made thunk that AddressSanitizer reports as a stack-buffer-overflow (a toolchain bug).
    #expect(snapshot.node.swapUsageBytes == UInt64(30 * 1024))
    #expect(!snapshot.scrapeFailed)
    #expect(snapshot.pods.isEmpty)
}

@Test func nodeFallsBackToProc() {
    let host = TemporaryDirectory()
    host.writeFile("sys/fs/cgroup/unified/cgroup.controllers", "\n")
    // user nice system idle iowait irq softirq steal: busy = 100+20+30+6+7 = 163 ticks (no steal)
    host.writeFile("proc/stat", "cpu  100 20 30 4000 5 6 7 8 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\nbtime 1\n")
    host.writeFile("proc/meminfo", "MemTotal: 1000 kB\nMemFree: 300 kB\nInactive(file): 200 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n")
    let snapshot = Collector(paths: .resolve(hostRoot: host.path)).collect()
    #expect(snapshot.node.cpuSource == .procStat)
    #expect(snapshot.node.cpuUsageSeconds == 163.0 / 100.0)
    #expect(snapshot.node.memorySource == .procMeminfo)
    #expect(snapshot.node.memoryWorkingSetBytes == UInt64((1000 - 300 - 200) * 1024))
    #expect(snapshot.node.swapUsageBytes == 0)
}

@Test func nothingReadableIsAFailedScrapeNotACrash() {
    let host = TemporaryDirectory()
    let snapshot = Collector(paths: .resolve(hostRoot: host.path)).collect()
    #expect(snapshot.scrapeFailed)
    #expect(snapshot.node == NodeUsage())
}

@Test func garbageNodeFilesAreCountedNotFatal() {
    let host = TemporaryDirectory()
    host.writeFile("sys/fs/cgroup/cgroup.controllers", "\n")
    host.writeFile("sys/fs/cgroup/cpu.stat", "")
    host.writeFile("proc/stat", "\u{1}\u{2}garbage\n")
    host.writeFile("proc/meminfo", "MemTotal: 1000 kB\nMemFree: 300 kB\n")
    let snapshot = Collector(paths: .resolve(hostRoot: host.path)).collect()
    #expect(snapshot.node.cpuUsageSeconds == nil)
    #expect(snapshot.node.memoryWorkingSetBytes == UInt64(700 * 1024))
    #expect(snapshot.problems.unreadableFiles >= 1)
    #expect(!snapshot.scrapeFailed)
}

/// A file that is there but cannot be read is named, with why, and fails its stage alone; the
/// failure log names it once, not at every collection.
@Test func anUnreadableFileIsNamedAndFailsOnlyItsStage() throws {
    let host = TemporaryDirectory()
    host.writeFile("sys/fs/cgroup/unified/cgroup.controllers", "\n")
    host.writeFile("proc/stat", "cpu  100 20 30 4000 5 6 7 8 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\nbtime 1\n")
    host.makeDirectory(host.path + "/proc/meminfo")  // read(2) of a directory: EISDIR
    let lines = RecordedLogLines()
    let logger = Logger(label: "test") { _ in lines }
    let collector = Collector(paths: .resolve(hostRoot: host.path), logger: logger)
    let snapshot = collector.collect()
    #expect(snapshot.node.cpuUsageSeconds != nil, "the rest of the node is read")
    #expect(!snapshot.problems.succeeded(.node))
    #expect(snapshot.problems.succeeded(.discovery) && snapshot.problems.succeeded(.cgroups))
    let failure = try #require(snapshot.problems.failures[.node]?.first)
    #expect(failure == .io(path: host.path + "/proc/meminfo", errno: EISDIR))
    #expect(snapshot.problems.unreadableFiles == 1)
    _ = collector.collect()
    let logged = lines.messages.filter { $0.contains("/proc/meminfo") }
    #expect(logged.count == 1, "logged once for two collections: \(lines.messages)")
    #expect(logged.first?.contains("Is a directory") == true)
}

/// Collects what a logger is told, one line each: message and metadata.
final class RecordedLogLines: LogHandler, @unchecked Sendable {
    private let lock = ConditionLock()
    private var recorded: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lock.withLock { recorded.append("\(event.message) \(fields.joined(separator: " "))") }
    }

    var messages: [String] { lock.withLock { recorded } }
}
