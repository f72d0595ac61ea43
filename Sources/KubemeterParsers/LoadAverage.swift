/// `/proc/loadavg` (fs/proc/loadavg.c): three load averages, running/total tasks, last PID.
///
///     0.52 0.58 0.59 2/1090 123456
///
/// The kubelet reads the task total here for the Summary API's `rlimit.curproc` rather than
/// sysinfo(2), whose 16-bit `procs` wraps past 65535 (pkg/kubelet/stats/pidlimit
/// pidlimit_linux.go, kubernetes#107107). Only the task counts are parsed: the averages are
/// node_exporter's business, and the last PID is of the reader's PID namespace.
package struct LoadAverage: KernelFile, Equatable, Sendable {
    package static let fileName = "loadavg"

    /// Tasks runnable now (the number before the slash).
    package var runnableTasks: UInt64
    /// Every task (thread) of the system: `nr_threads`, whatever the reader's PID namespace.
    package var tasks: UInt64

    package init(runnableTasks: UInt64, tasks: UInt64) {
        self.runnableTasks = runnableTasks
        self.tasks = tasks
    }

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> LoadAverage {
        if bytes.isBlankFile { throw ParseError(file: fileName, reason: .empty) }
        var lines = LineReader(bytes)
        guard let line = lines.next() else { throw ParseError(file: fileName, reason: .empty) }
        var fields = FieldReader(bytes, line)
        for _ in 0..<3 {
            guard fields.next() != nil else { throw ParseError(file: fileName, reason: .missingField("tasks")) }
        }
        guard let counts = fields.next() else { throw ParseError(file: fileName, reason: .missingField("tasks")) }
        guard let slash = bytes.firstIndex(of: ASCII.slash, in: counts),
              let runnable = DecimalText.uint64(bytes, ByteSpan(start: counts.start, end: slash)),
              let total = DecimalText.uint64(bytes, ByteSpan(start: slash + 1, end: counts.end))
        else { throw ParseError(file: fileName, reason: .invalidNumber(field: "tasks")) }
        return LoadAverage(runnableTasks: runnable, tasks: total)
    }
}
