#if canImport(Glibc)
import Glibc
#endif
import KubemeterHostFiles
import KubemeterParsers
import KubemeterSnapshot

/// The files read from every pod and container cgroup: the kubelet's five first, then those
/// /metrics/cadvisor adds. Each is one `pread` per collection; a file the kernel lacks is opened
/// once, found absent, and never tried again for that directory.
enum CgroupFile: Int, KeptFileSet {
    case cpuStat, memoryCurrent, memoryStat, memorySwapCurrent, memorySwapMax
    case cpuMax, cpuWeight, memoryMax, memoryPeak, memoryEvents, pidsCurrent
    case cpuPressure, memoryPressure, ioPressure, ioStat

    var fileName: String {
        switch self {
        case .cpuStat: "cpu.stat"
        case .memoryCurrent: "memory.current"
        case .memoryStat: "memory.stat"
        case .memorySwapCurrent: "memory.swap.current"
        case .memorySwapMax: "memory.swap.max"
        case .cpuMax: "cpu.max"
        case .cpuWeight: "cpu.weight"
        case .memoryMax: "memory.max"
        case .memoryPeak: "memory.peak"
        case .memoryEvents: "memory.events"
        case .pidsCurrent: "pids.current"
        case .cpuPressure: "cpu.pressure"
        case .memoryPressure: "memory.pressure"
        case .ioPressure: "io.pressure"
        case .ioStat: "io.stat"
        }
    }

    static let fileNames = allCases.map(\.fileName)
}

/// Reads the files of one cgroup directory that the kubelet's formulas need.
struct CgroupSampler {
    let files: KeptOpenFiles
    /// False on cgroupfs, where a removed cgroup's kept fds answer ENODEV.
    let checksIdentity: Bool

    /// The outcome of sampling one cgroup: a sample, or the cgroup is gone.
    enum Outcome {
        case sampled(CgroupSample, unreadable: [HostFileError])
        case vanished
    }

    func sample(_ path: String, scope: CollectionScope) -> Outcome {
        guard let directory = files.directory(path, of: CgroupFile.self, checksIdentity: checksIdentity) else {
            return .vanished
        }
        var unreadable: [HostFileError] = []
        var vanished = false
        func value<V>(_ file: CgroupFile, _ parse: (UnsafeRawBufferPointer) throws(ParseError) -> V) -> V? {
            switch files.read(file, of: directory, parse) {
            case .success(let v): return v
            case .failure(.notFound): return nil
            case .failure(.vanished): vanished = true; return nil
            case .failure(let error): unreadable.append(error); return nil
            }
        }
        /// A one-number file (`memory.current`, `pids.current`, ...).
        func number(_ file: CgroupFile) -> UInt64? {
            value(file) { (b) throws(ParseError) in try CgroupValue.parse(b, file: file.fileName).value }
        }
        /// A number-or-`max` file (`memory.max`, `memory.swap.max`).
        func limit(_ file: CgroupFile) -> CgroupLimit? {
            value(file) { (b) throws(ParseError) in try CgroupLimit.parse(b, file: file.fileName) }
        }

        var sample = CgroupSample()
        sample.cpu = value(.cpuStat, CPUStat.parse)
        guard !vanished else { return .vanished }
        sample.memoryCurrent = number(.memoryCurrent)
        sample.memoryStat = value(.memoryStat, MemoryStat.parser(for: scope))
        sample.swapCurrent = number(.memorySwapCurrent)
        if sample.swapCurrent != nil {
            sample.swapMax = limit(.memorySwapMax)
        }
        // The rest only for /metrics/cadvisor and top: the kubelet's endpoint needs none of them.
        if scope == .full {
            var extra = CadvisorCgroupValues()
            extra.cpuMax = value(.cpuMax, CPUMax.parse)
            extra.cpuWeight = number(.cpuWeight)
            extra.memoryMax = limit(.memoryMax)
            extra.memoryPeak = number(.memoryPeak)
            extra.memoryEvents = value(.memoryEvents, MemoryEvents.parse)
            extra.pidsCurrent = number(.pidsCurrent)
            extra.cpuPressure = value(.cpuPressure, Pressure.parse)
            extra.memoryPressure = value(.memoryPressure, Pressure.parse)
            extra.ioPressure = value(.ioPressure, Pressure.parse)
            extra.ioStat = value(.ioStat, IOStat.parse)
            sample.cadvisorValues = extra
        }
        // A cgroup removed after discovery listed it answers ENOENT to a first open; tell that
        // apart from a kernel without the file by asking whether the directory is still there.
        if vanished || (sample.cpu == nil && access(path, F_OK) != 0) {
            return .vanished
        }
        return .sampled(sample, unreadable: unreadable)
    }
}

extension MemoryStat {
    /// The parse a collection of `scope` needs, for cgroups and the root alike: all of
    /// `memory.stat` for a full one, the working set's keys for the kubelet's endpoint.
    static func parser(for scope: CollectionScope) -> (UnsafeRawBufferPointer) throws(ParseError) -> MemoryStat {
        if scope == .full { return MemoryStat.parse }
        return MemoryStat.parseWorkingSet
    }
}

/// Container start times, taken once per container: they never change after creation.
final class StartTimes {
    private var known: [String: Double] = [:]
    private var seen: [String: Double] = [:]

    /// cAdvisor's way without the CRI: the earlier of the mtimes of the cgroup directory and of
    /// its `cgroup.events` (a directory's mtime moves when children are created under it).
    func startTime(of directory: String) -> Double? {
        if let cached = known[directory] {
            seen[directory] = cached
            return cached
        }
        guard let value = [directory, directory + "/cgroup.events"].compactMap(Self.modificationTime).min() else {
            return nil
        }
        seen[directory] = value
        return value
    }

    /// Keeps only the containers seen in this collection.
    func endCollection() {
        known = seen
        seen.removeAll(keepingCapacity: true)
    }

    private static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let seconds = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        return seconds > 0 ? seconds : nil
    }
}
