/// CPU time from one `cpu` line of `/proc/stat`, in USER_HZ ticks (`sysconf(_SC_CLK_TCK)`,
/// almost always 100). Guest time is already included in user and nice.
package struct CPUTimes: Equatable, Sendable {
    package var user: UInt64
    package var nice: UInt64
    package var system: UInt64
    package var idle: UInt64
    package var iowait: UInt64
    package var irq: UInt64
    package var softirq: UInt64
    package var steal: UInt64
    package var guest: UInt64
    package var guestNice: UInt64

    package init(
        user: UInt64 = 0, nice: UInt64 = 0, system: UInt64 = 0, idle: UInt64 = 0,
        iowait: UInt64 = 0, irq: UInt64 = 0, softirq: UInt64 = 0, steal: UInt64 = 0,
        guest: UInt64 = 0, guestNice: UInt64 = 0
    ) {
        self.user = user
        self.nice = nice
        self.system = system
        self.idle = idle
        self.iowait = iowait
        self.irq = irq
        self.softirq = softirq
        self.steal = steal
        self.guest = guest
        self.guestNice = guestNice
    }
}

/// `/proc/stat`: CPU time (total and per CPU), boot time and scheduler counters.
///
/// A cpu line needs at least four numeric columns (user nice system idle); the later columns
/// came with later kernels (iowait..softirq 2.6, steal 2.6.11, guest 2.6.24, guest_nice 2.6.33)
/// and are 0 when absent; columns after the tenth are ignored. The `intr` and `softirq` lines
/// are skipped without being split.
package struct ProcStat: KernelFile, Equatable, Sendable {
    package static let fileName = "/proc/stat"

    /// The aggregate "cpu" line.
    package var total: CPUTimes?
    /// "cpuN" lines by N. Offline CPUs have no line.
    package var perCPU: [Int: CPUTimes]
    /// `btime`: boot time, seconds since the Unix epoch.
    package var bootTime: UInt64?
    /// `ctxt`.
    package var contextSwitches: UInt64?
    /// `processes`: forks since boot.
    package var processesCreated: UInt64?
    /// `procs_running`.
    package var procsRunning: UInt64?
    /// `procs_blocked`.
    package var procsBlocked: UInt64?
    /// Lines skipped: a cpu line with under four numbers or a bad one, a known key with a bad
    /// value, a repeated key (which also voids the first), or a line with a single field.
    package var malformedLines: Int

    package init(
        total: CPUTimes? = nil, perCPU: [Int: CPUTimes] = [:], bootTime: UInt64? = nil,
        contextSwitches: UInt64? = nil, processesCreated: UInt64? = nil,
        procsRunning: UInt64? = nil, procsBlocked: UInt64? = nil, malformedLines: Int = 0
    ) {
        self.total = total
        self.perCPU = perCPU
        self.bootTime = bootTime
        self.contextSwitches = contextSwitches
        self.processesCreated = processesCreated
        self.procsRunning = procsRunning
        self.procsBlocked = procsBlocked
        self.malformedLines = malformedLines
    }

    /// The one-number lines (the `cpu*` lines are read apart).
    enum ScalarKey: Int, FileKey {
        case btime, ctxt, processes, procsRunning, procsBlocked

        var name: StaticString {
            switch self {
            case .btime: "btime"
            case .ctxt: "ctxt"
            case .processes: "processes"
            case .procsRunning: "procs_running"
            case .procsBlocked: "procs_blocked"
            }
        }
    }

    private static let scalarKeys = KeyTable<ScalarKey>()

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> ProcStat {
        if bytes.isBlankFile { throw ParseError(file: fileName, reason: .empty) }
        var stat = ProcStat()
        var totalSeen = false
        var totalRejected = false
        var ambiguousCPUs: Set<Int> = []
        var scalars = KeyedSlots<ScalarKey>()
        var malformed = 0

        var lines = LineReader(bytes)
        while let line = lines.next() {
            var fields = FieldReader(bytes, line)
            guard let key = fields.next() else { continue }
            if bytes.hasPrefix(key, "cpu") {
                let suffix = ByteSpan(start: key.start + 3, end: key.end)
                if suffix.isEmpty {
                    let times = parseCPUTimes(bytes, &fields)
                    if totalSeen || times == nil {
                        totalRejected = true
                        malformed += 1
                    }
                    totalSeen = true
                    stat.total = totalRejected ? nil : times
                    continue
                }
                if isDigits(bytes, suffix) {
                    let times = parseCPUTimes(bytes, &fields)
                    guard let n = DecimalText.uint64(bytes, suffix).flatMap({ Int(exactly: $0) }),
                          n <= Int(Int32.max) else {
                        malformed += 1
                        continue
                    }
                    // A bad or repeated cpuN leaves that CPU out: never a guessed value.
                    if let times, !ambiguousCPUs.contains(n), stat.perCPU.updateValue(times, forKey: n) == nil {
                        continue
                    }
                    stat.perCPU[n] = nil
                    ambiguousCPUs.insert(n)
                    malformed += 1
                    continue
                }
                // "cpu" followed by letters: a key this parser does not know.
            }
            guard let scalar = scalarKeys.key(of: key, in: bytes) else {
                if fields.next() == nil { malformed += 1 }  // a lone word is no line of this file
                continue
            }
            var number: UInt64?
            if let value = fields.next(), fields.next() == nil {
                number = DecimalText.uint64(bytes, value)
            }
            if !scalars[scalar].record(number) { malformed += 1 }
        }
        stat.bootTime = scalars.number(.btime)
        stat.contextSwitches = scalars.number(.ctxt)
        stat.processesCreated = scalars.number(.processes)
        stat.procsRunning = scalars.number(.procsRunning)
        stat.procsBlocked = scalars.number(.procsBlocked)
        stat.malformedLines = malformed
        return stat
    }

    private static func isDigits(_ bytes: UnsafeRawBufferPointer, _ span: ByteSpan) -> Bool {
        var i = span.start
        while i < span.end {
            guard bytes[i] &- ASCII.zero <= 9 else { return false }
            i += 1
        }
        return true
    }

    /// The numeric columns of a cpu line: at least four, each a valid number.
    private static func parseCPUTimes(_ bytes: UnsafeRawBufferPointer, _ fields: inout FieldReader) -> CPUTimes? {
        var columns: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        while count < 10, let field = fields.next() {
            guard let value = DecimalText.uint64(bytes, field) else { return nil }
            switch count {
            case 0: columns.0 = value
            case 1: columns.1 = value
            case 2: columns.2 = value
            case 3: columns.3 = value
            case 4: columns.4 = value
            case 5: columns.5 = value
            case 6: columns.6 = value
            case 7: columns.7 = value
            case 8: columns.8 = value
            default: columns.9 = value
            }
            count += 1
        }
        guard count >= 4 else { return nil }
        return CPUTimes(
            user: columns.0, nice: columns.1, system: columns.2, idle: columns.3,
            iowait: columns.4, irq: columns.5, softirq: columns.6, steal: columns.7,
            guest: columns.8, guestNice: columns.9)
    }
}
