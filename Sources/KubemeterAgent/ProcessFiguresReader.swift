#if canImport(Glibc)
import Glibc
#endif
import KubemeterHostFiles
import KubemeterParsers
import KubemeterSnapshot

/// The agent's own process figures from `/proc/self`, as the Prometheus client's process
/// collector reports them.
enum ProcessFiguresReader {
    static func read() -> ProcessFigures {
        var figures = ProcessFigures()
        let ticks = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
        let pageSize = UInt64(max(1, sysconf(Int32(_SC_PAGESIZE))))
        if let bytes = try? WholeFile.read("/proc/self/stat"), let stat = try? ProcPIDStat.parse(bytes) {
            figures.cpuSeconds = Double(stat.utimeTicks + stat.stimeTicks) / ticks
            figures.residentBytes = stat.rssPages * pageSize
            figures.virtualBytes = stat.vsizeBytes
            if let bootBytes = try? WholeFile.read("/proc/stat"), let boot = (try? ProcStat.parse(bootBytes))?.bootTime {
                figures.startTimeSeconds = Double(boot) + Double(stat.startTimeTicks) / ticks
            }
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            figures.maximumFileDescriptors = limit.rlim_cur > UInt64(Int.max) ? Int.max : Int(limit.rlim_cur)
        }
        if let directory = opendir("/proc/self/fd") {
            var count = 0
            while let entry = readdir(directory) {
                if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
            }
            closedir(directory)
            figures.openFileDescriptors = count - 1  // the listing's own fd
        }
        return figures
    }
}
