#if canImport(Glibc)
import Glibc
#endif
import KubemeterHostFiles
import KubemeterParsers
import KubemeterSnapshot

/// The node's CPU, working set and swap, by the kubelet's formulas on cgroup v2, with the
/// documented `/proc` fallbacks (docs/metrics.md, "Node").
struct NodeSampler {
    let files: KeptOpenFiles
    let paths: HostPaths
    let procChecksIdentity: Bool
    let cgroupChecksIdentity: Bool
    /// USER_HZ: `/proc/stat` counts CPU time in these ticks.
    let ticksPerSecond: Double

    struct Result {
        var usage: NodeUsage
        var unreadable: [HostFileError]
        /// False when neither source of node CPU nor of node memory could be read.
        var succeeded: Bool
    }

    func sample(scope: CollectionScope) -> Result {
        var unreadable: [HostFileError] = []
        let proc = files.directory(paths.procPath, of: ProcFile.self, checksIdentity: procChecksIdentity)
        let root = paths.cgroupPath.flatMap {
            files.directory($0, of: RootCgroupFile.self, checksIdentity: cgroupChecksIdentity)
        }
        func value<Files, V>(_ file: Files, of directory: KeptDirectory<Files>?, _ parse: (UnsafeRawBufferPointer) throws(ParseError) -> V) -> V? {
            guard let directory else { return nil }
            switch files.read(file, of: directory, parse) {
            case .success(let v): return v
            case .failure(.notFound): return nil
            case .failure(let error): unreadable.append(error); return nil
            }
        }

        var usage = NodeUsage()
        // /proc/stat: node_cpu_seconds_total needs it by mode; /metrics/resource only as fallback.
        let procStat = scope == .full ? value(.stat, of: proc, ProcStat.parse) : nil
        if let usec = value(.cpuStat, of: root, CPUStat.parse)?.usageUsec {
            usage.cpuUsageSeconds = Formulas.cpuUsageSeconds(usageUsec: usec)
            usage.cpuSource = .rootCgroupCPUStat
        } else if let total = (procStat ?? value(.stat, of: proc, ProcStat.parse))?.total {
            usage.cpuUsageSeconds = Double(Formulas.nodeCPUBusyTicks(total)) / ticksPerSecond
            usage.cpuSource = .procStat
        }

        let meminfo = value(.meminfo, of: proc, Meminfo.parse)
        let rootMemory = value(.memoryStat, of: root, MemoryStat.parser(for: scope))
        if let rootMemory, let bytes = Formulas.nodeWorkingSetBytes(rootMemoryStat: rootMemory) {
            usage.memoryWorkingSetBytes = bytes
            usage.memorySource = .rootCgroupMemoryStat
        } else if let meminfo, let bytes = Formulas.nodeWorkingSetBytes(meminfo: meminfo) {
            usage.memoryWorkingSetBytes = bytes
            usage.memorySource = .procMeminfo
        }
        usage.swapUsageBytes = meminfo.flatMap(Formulas.nodeSwapUsageBytes(meminfo:))

        if scope == .full {
            // For /metrics/cadvisor's node_* families. `<proc>/net/dev` is `self/net/dev`: the
            // agent's own namespace, the host's only with hostNetwork; `<proc>/1/net/dev` is
            // init's, the host's.
            usage.procStat = procStat
            usage.meminfo = meminfo
            usage.rootMemoryStat = rootMemory
            usage.netDev = value(.initNetDev, of: proc, NetDev.parse) ?? value(.ownNetDev, of: proc, NetDev.parse)
            // The root cgroup's pressure files are the system-wide PSI (the same numbers as
            // /proc/pressure/*, kernel/sched/psi.c); /proc/pressure where no cgroup v2 tree is
            // read.
            usage.cpuPressure = value(.cpuPressure, of: root, Pressure.parse) ?? value(.cpuPressure, of: proc, Pressure.parse)
            usage.memoryPressure = value(.memoryPressure, of: root, Pressure.parse) ?? value(.memoryPressure, of: proc, Pressure.parse)
            usage.ioPressure = value(.ioPressure, of: root, Pressure.parse) ?? value(.ioPressure, of: proc, Pressure.parse)
            // The Summary API's rlimit: the lower of the two system-wide task limits, and every
            // task (pkg/kubelet/stats/pidlimit pidlimit_linux.go `Stats`).
            let limits = [value(.pidMax, of: proc, CgroupValue.parse), value(.threadsMax, of: proc, CgroupValue.parse)]
            usage.processIDLimit = limits.compactMap { $0?.value }.min()
            usage.processCount = value(.loadavg, of: proc, LoadAverage.parse)?.tasks
            usage.rootFileSystem = capacity(of: paths.kubeletRootPath, &unreadable)
            if let runtimeRoot = paths.imageFileSystemRoot {
                usage.imageFileSystem = capacity(of: runtimeRoot, &unreadable)
            }
        }
        let succeeded = usage.cpuUsageSeconds != nil || usage.memoryWorkingSetBytes != nil
        return Result(usage: usage, unreadable: unreadable, succeeded: succeeded)
    }
}

/// `statfs` of `path`: absent is a posture without the mount (said once, by `Features`).
private func capacity(of path: String, _ unreadable: inout [HostFileError]) -> FileSystemCapacity? {
    switch FileSystemCapacity.of(path) {
    case .success(let capacity): return capacity
    case .failure(.notFound): return nil
    case .failure(let error): unreadable.append(error); return nil
    }
}

/// The node's files under the proc mount.
enum ProcFile: Int, KeptFileSet {
    case stat, meminfo
    /// init's: the host's network namespace (the agent's own is the host's only with hostNetwork).
    case initNetDev
    /// The agent's own (`self/net/dev`), where init's is not readable.
    case ownNetDev
    case cpuPressure, memoryPressure, ioPressure
    case loadavg, pidMax, threadsMax

    var fileName: String {
        switch self {
        case .loadavg: "loadavg"
        case .pidMax: "sys/kernel/pid_max"
        case .threadsMax: "sys/kernel/threads-max"
        case .stat: "stat"
        case .meminfo: "meminfo"
        case .initNetDev: "1/net/dev"
        case .ownNetDev: "net/dev"
        case .cpuPressure: "pressure/cpu"
        case .memoryPressure: "pressure/memory"
        case .ioPressure: "pressure/io"
        }
    }

    static let fileNames = allCases.map(\.fileName)
}

/// The node's files in the root cgroup.
enum RootCgroupFile: Int, KeptFileSet {
    case cpuStat, memoryStat, cpuPressure, memoryPressure, ioPressure

    var fileName: String {
        switch self {
        case .cpuStat: "cpu.stat"
        case .memoryStat: "memory.stat"
        case .cpuPressure: "cpu.pressure"
        case .memoryPressure: "memory.pressure"
        case .ioPressure: "io.pressure"
        }
    }

    static let fileNames = allCases.map(\.fileName)
}
