#if canImport(Glibc)
import Glibc
#endif
import KubemeterParsers
import KubemeterSnapshot

/// Reads the files of one cgroup directory that the kubelet's formulas need.
struct CgroupSampler {
    let reader: HostFileReader

    /// The outcome of sampling one cgroup: a sample, or the cgroup is gone.
    enum Outcome {
        case sampled(CgroupSample, unreadableFiles: Int)
        case vanished
    }

    func sample(_ directory: String) -> Outcome {
        var unreadable = 0
        var vanished = false

        func value<V>(_ name: String, _ parse: (UnsafeRawBufferPointer) throws(ParseError) -> V) -> V? {
            switch reader.read(directory + "/" + name, parse) {
            case .success(let v): return v
            case .failure(.notFound): return nil
            case .failure(.vanished): vanished = true; return nil
            case .failure: unreadable += 1; return nil
            }
        }

        var sample = CgroupSample()
        sample.cpu = value("cpu.stat", CPUStat.parse)
        sample.memoryCurrent = value("memory.current") { (b) throws(ParseError) in
            try CgroupValue.parse(b, file: "memory.current").value
        }
        sample.memoryStat = value("memory.stat", MemoryStat.parse)
        sample.swapCurrent = value("memory.swap.current") { (b) throws(ParseError) in
            try CgroupValue.parse(b, file: "memory.swap.current").value
        }
        if sample.swapCurrent != nil {
            sample.swapMax = value("memory.swap.max") { (b) throws(ParseError) in
                try CgroupLimit.parse(b, file: "memory.swap.max")
            }
        }
        // A cgroup removed after discovery listed it answers ENOENT to every open; tell that
        // apart from a kernel without the file by asking whether the directory is still there.
        if vanished || (sample.cpu == nil && access(directory, F_OK) != 0) {
            return .vanished
        }
        return .sampled(sample, unreadableFiles: unreadable)
    }

    /// A container's start time the way cAdvisor takes it without the CRI: the earlier of the
    /// mtimes of its cgroup directory and of its `cgroup.events` (a directory's mtime moves when
    /// children are created under it; `cgroup.events` is written when the cgroup is made).
    func startTimeSeconds(_ directory: String) -> Double? {
        let times = [directory, directory + "/cgroup.events"].compactMap(Self.modificationTime)
        return times.min()
    }

    private static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let seconds = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        return seconds > 0 ? seconds : nil
    }
}
