import ArgumentParser
import KubemeterCollector
import KubemeterExposition
import KubemeterSync

#if canImport(Glibc)
import Glibc
import KubemeterSnapshot
#endif

/// `kubemeter top`: the node's pods, live, read straight from the kernel.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live view of the node's pods: CPU, memory, limits, throttling, OOM kills, PSI, network.",
        discussion: """
            Rates (CPU cores, network) are computed between two reads --interval apart. On a terminal \
            the view redraws in place; keys: q quit, c cpu, m memory, n name, N namespace, t throttle, \
            o oom, p psi, r rx, x tx (sort), e containers on/off, w wide on/off. When stdout is not a \
            terminal (a pipe, watch, CI), or with --once, one table is printed after one interval. \
            NO_COLOR turns colour off.
            """)

    enum Output: String, ExpressibleByArgument, CaseIterable {
        case table, wide, json
    }

    @OptionGroup var host: HostOptions

    @Option(help: ArgumentHelp("Sort by: \(TopSortKey.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "key"))
    var sort: TopSortKey = .cpu

    @Option(help: ArgumentHelp("Only namespaces matching this: a substring, or a glob with * ? [..].", valueName: "pattern"))
    var namespace: String?

    @Option(help: ArgumentHelp("Only pods whose name matches this: a substring, or a glob with * ? [..].", valueName: "pattern"))
    var pod: String?

    @Flag(help: "One row per container instead of one per pod.")
    var containers = false

    @Option(help: ArgumentHelp("Seconds between two reads.", valueName: "seconds"))
    var interval: Double = 2

    @Flag(help: "Print one table after one interval and exit, even on a terminal.")
    var once = false

    @Option(help: "table, wide (limits, QoS, each pressure) or json.")
    var output: Output = .table

    func validate() throws {
        guard interval >= 0.1, interval <= 3600 else { throw ValidationError("--interval must be between 0.1 and 3600 seconds") }
    }

    func run() throws {
        let logger = host.makeLogger()
        let collector = Collector(paths: host.paths, kubepodsPath: host.kubepodsPath, logger: logger)
        var options = TopOptions(sort: sort, containers: containers)
        options.namespace = namespace.map(NameFilter.init)
        options.pod = pod.map(NameFilter.init)

        if once || output == .json || isatty(1) == 0 {
            let first = collector.collect()
            sleep(seconds: interval)
            let second = collector.collect()
            let view = TopView(current: second, previous: first, options: options)
            switch output {
            case .json:
                writeAll(TopJSONRenderer().render(view))
            case .table, .wide:
                let width = isatty(1) != 0 ? TerminalSize.current()?.columns : TerminalSize.columnsFromEnvironment()
                writeAll(Array(TopTable(width: width, wide: output == .wide).render(view).utf8))
            }
            if second.scrapeFailed { throw ExitCode.failure }
            return
        }
        try LiveTop(collector: collector, options: options, wide: output == .wide, interval: interval).run()
    }
}

extension TopSortKey: ExpressibleByArgument {}

/// Sleeps `seconds`, past signal interruptions.
func sleep(seconds: Double) {
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.towardZero)) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
}

/// The terminal's size in characters.
struct TerminalSize {
    var columns: Int
    var rows: Int

    /// The size of the terminal on stdout, if it is one.
    static func current() -> TerminalSize? {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return nil }
        return TerminalSize(columns: Int(size.ws_col), rows: Int(size.ws_row))
    }

    /// `COLUMNS` when set (a shell exports it for pipes it starts); no limit otherwise.
    static func columnsFromEnvironment() -> Int? {
        guard let text = getenv("COLUMNS"), let columns = Int(String(cString: text)), columns > 0 else { return nil }
        return columns
    }
}

/// Where the live view's signal handler writes: a global, since a C handler captures nothing.
nonisolated(unsafe) var liveTopSignalPipe: Int32 = -1

/// The live, in-place view: alternate screen, no echo, keys read as they are typed; the terminal
/// is restored however it ends (q, Ctrl-C, SIGTERM).
final class LiveTop {
    private let collector: Collector
    private var options: TopOptions
    private var wide: Bool
    private let interval: Double
    private let color: Bool
    private var saved = termios()
    private var savedValid = false
    private var signalDescriptor: Int32 = -1
    private let keyboard = isatty(0) != 0

    init(collector: Collector, options: TopOptions, wide: Bool, interval: Double) {
        self.collector = collector
        self.options = options
        self.wide = wide
        self.interval = interval
        let noColor = getenv("NO_COLOR").map { String(cString: $0) } ?? ""
        color = noColor.isEmpty
    }

    private static let escape = "\u{1B}["

    func run() throws {
        // Signals become bytes on a pipe polled with the keyboard: the handler only writes one
        // byte (async-signal-safe); the loop does the rest.
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
            signalDescriptor = ends[0]
            liveTopSignalPipe = ends[1]
            for number in [SIGINT, SIGTERM, SIGHUP, SIGWINCH] {
                signal(number) { number in
                    var byte = UInt8(truncatingIfNeeded: number)
                    _ = write(liveTopSignalPipe, &byte, 1)
                }
            }
        }

        enterScreen()
        defer { leaveScreen() }

        var previous = collector.collect()
        var current = previous
        var hasRates = false
        var view = TopView(current: current, previous: nil, options: options)
        draw(view)
        var deadline = MonotonicClock.seconds() + interval
        loop: while true {
            let wait = deadline - MonotonicClock.seconds()
            if wait <= 0 {
                previous = current
                current = collector.collect()
                hasRates = true
                view = TopView(current: current, previous: previous, options: options)
                draw(view)
                deadline = MonotonicClock.seconds() + interval
                continue
            }
            switch waitForInput(seconds: wait) {
            case .quit:
                break loop
            case .resize:
                draw(view)
            case .key(let key):
                guard handle(key) else { break loop }
                view = TopView(current: current, previous: hasRates ? previous : nil, options: options)
                draw(view)
            case .none:
                continue
            }
        }
    }

    private enum Input {
        case none, quit, resize
        case key(UInt8)
    }

    private func waitForInput(seconds: Double) -> Input {
        // Keys only from a terminal: a closed or redirected stdin (`kubectl exec -t` without -i)
        // would read as end of input at once and end the view.
        var fds = [pollfd(fd: keyboard ? 0 : -1, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: signalDescriptor, events: Int16(POLLIN), revents: 0)]
        let ready = poll(&fds, signalDescriptor >= 0 ? 2 : 1, Int32(max(1, (seconds * 1000).rounded(.up))))
        guard ready > 0 else { return .none }
        if signalDescriptor >= 0, fds[1].revents & Int16(POLLIN) != 0 {
            var byte: UInt8 = 0
            _ = read(signalDescriptor, &byte, 1)
            return Int32(byte) == SIGWINCH ? .resize : .quit
        }
        if fds[0].revents & Int16(POLLIN | POLLHUP) != 0 {
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = read(0, &buffer, buffer.count)
            if n <= 0 { return .quit }  // stdin closed: nobody can press q any more
            // An escape sequence (arrow keys, function keys) is ignored whole.
            if buffer[0] == 0x1B { return .none }
            return .key(buffer[0])
        }
        return .none
    }

    /// Applies a key; false to quit.
    private func handle(_ key: UInt8) -> Bool {
        switch key {
        case UInt8(ascii: "q"), UInt8(ascii: "Q"), 0x03, 0x04: return false
        case UInt8(ascii: "e"): options.containers.toggle()
        case UInt8(ascii: "w"): wide.toggle()
        default:
            if let sort = TopSortKey.allCases.first(where: { $0.key.asciiValue == key }) { options.sort = sort }
        }
        return true
    }

    private func draw(_ view: TopView) {
        let size = TerminalSize.current() ?? TerminalSize(columns: 80, rows: 24)
        let table = TopTable(width: size.columns, wide: wide)
        let summary = table.summary(view)
        let lines = table.table(view)
        let room = max(0, size.rows - summary.count - 3)
        let shown = min(room, lines.count - 1)
        var frame = Self.escape + "H"
        func line(_ text: String) { frame += text + Self.escape + "K\n" }
        for text in summary { line(text) }
        line("")
        let header = lines[0] + String(repeating: " ", count: max(0, size.columns - lines[0].count))
        line(color ? Self.escape + "7m" + header + Self.escape + "0m" : lines[0])
        for index in 0..<shown { line(lines[index + 1]) }
        var footer = "q quit  sort: c cpu m mem n name N ns t thr o oom p psi r rx x tx  e containers  w wide"
        if lines.count - 1 > shown { footer = "(\(lines.count - 1 - shown) more rows)  " + footer }
        if footer.count > size.columns { footer = String(footer.prefix(size.columns)) }
        frame += Self.escape + "J"
        frame += Self.escape + "\(size.rows);1H" + footer + Self.escape + "K"
        // One write per frame: the terminal never shows a half-drawn screen.
        writeAll(Array(frame.utf8))
    }

    private func enterScreen() {
        if keyboard, tcgetattr(0, &saved) == 0 {
            savedValid = true
            var raw = saved
            raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG)
            withUnsafeMutableBytes(of: &raw.c_cc) { cc in
                cc[Int(VMIN)] = 1
                cc[Int(VTIME)] = 0
            }
            tcsetattr(0, TCSANOW, &raw)
        }
        // Alternate screen, cursor hidden, screen cleared.
        writeAll(Array((Self.escape + "?1049h" + Self.escape + "?25l" + Self.escape + "2J").utf8))
    }

    private func leaveScreen() {
        writeAll(Array((Self.escape + "0m" + Self.escape + "?25h" + Self.escape + "?1049l").utf8))
        if savedValid { tcsetattr(0, TCSANOW, &saved) }
        if signalDescriptor >= 0 { close(signalDescriptor) }
    }

}
