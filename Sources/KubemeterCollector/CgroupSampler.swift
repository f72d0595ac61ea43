#if canImport(Glibc)
import Glibc
#endif
import KubemeterHostFiles
import KubemeterParsers
import KubemeterSnapshot

/// Reads the files of one cgroup directory that the kubelet's formulas need.
struct CgroupSampler {
    let files: KeptOpenFiles
    /// False on cgroupfs, where a removed cgroup's kept fds answer ENODEV.
    let checksIdentity: Bool

    /// The files read from every pod and container cgroup, in `CgroupSample` order: the kubelet's
    /// five first, then those /metrics/cadvisor adds. Each is one `pread` per collection; a file
    /// the kernel lacks is opened once, found absent, and never tried again for that directory.
    static let fileNames = [
        "cpu.stat", "memory.current", "memory.stat", "memory.swap.current", "memory.swap.max",
        "cpu.max", "cpu.weight", "memory.max", "memory.peak", "memory.events", "pids.current",
        "cpu.pressure", "memory.pressure", "io.pressure", "io.stat",
    ]

    /// The outcome of sampling one cgroup: a sample, or the cgroup is gone.
    enum Outcome {
        case sampled(CgroupSample, unreadableFiles: Int)
        case vanished
    }

    func sample(_ path: String, scope: CollectionScope) -> Outcome {
        guard let directory = files.directory(path, files: Self.fileNames, checksIdentity: checksIdentity) else {
            return .vanished
        }
        var unreadable = 0
        var vanished = false
        func value<V>(_ index: Int, _ parse: (UnsafeRawBufferPointer) throws(ParseError) -> V) -> V? {
            switch files.read(index, of: directory, parse) {
            case .success(let v): return v
            case .failure(.notFound): return nil
            case .failure(.vanished): vanished = true; return nil
            case .failure: unreadable += 1; return nil
            }
        }

        var sample = CgroupSample()
        sample.cpu = value(0, CPUStat.parse)
        guard !vanished else { return .vanished }
        sample.memoryCurrent = value(1) { (b) throws(ParseError) in try CgroupValue.parse(b, file: "memory.current").value }
        sample.memoryStat = value(2, MemoryStat.parser(for: scope))
        sample.swapCurrent = value(3) { (b) throws(ParseError) in try CgroupValue.parse(b, file: "memory.swap.current").value }
        if sample.swapCurrent != nil {
            sample.swapMax = value(4) { (b) throws(ParseError) in try CgroupLimit.parse(b, file: "memory.swap.max") }
        }
        // The rest only for /metrics/cadvisor and top: the kubelet's endpoint needs none of them.
        if scope == .full {
            var extra = CadvisorCgroupValues()
            extra.cpuMax = value(5, CPUMax.parse)
            extra.cpuWeight = value(6) { (b) throws(ParseError) in try CgroupValue.parse(b, file: "cpu.weight").value }
            extra.memoryMax = value(7) { (b) throws(ParseError) in try CgroupLimit.parse(b, file: "memory.max") }
            extra.memoryPeak = value(8) { (b) throws(ParseError) in try CgroupValue.parse(b, file: "memory.peak").value }
            extra.memoryEvents = value(9, MemoryEvents.parse)
            extra.pidsCurrent = value(10) { (b) throws(ParseError) in try CgroupValue.parse(b, file: "pids.current").value }
            extra.cpuPressure = value(11, Pressure.parse)
            extra.memoryPressure = value(12, Pressure.parse)
            extra.ioPressure = value(13, Pressure.parse)
            extra.ioStat = value(14, IOStat.parse)
            sample.cadvisorValues = extra
        }
        // A cgroup removed after discovery listed it answers ENOENT to a first open; tell that
        // apart from a kernel without the file by asking whether the directory is still there.
        if vanished || (sample.cpu == nil && access(path, F_OK) != 0) {
            return .vanished
        }
        return .sampled(sample, unreadableFiles: unreadable)
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
