import KubemeterExposition
import KubemeterSync

#if canImport(Glibc)
import Glibc
#endif

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

    /// The width a one-shot table is cut to: the terminal's, else `COLUMNS`, else none.
    static func printWidth() -> Int? {
        isatty(1) != 0 ? current()?.columns : columnsFromEnvironment()
    }
}

/// Where the signal handler writes: a global, since a C handler captures nothing.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// SIGINT, SIGTERM, SIGHUP (and SIGWINCH, for a live view) as bytes on a pipe, to be polled with
/// everything else: the handler only writes one byte (async-signal-safe); the loop does the rest.
final class SignalPipe {
    let descriptor: Int32

    init?(_ signals: [Int32]) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return nil }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        descriptor = ends[0]
        signalPipeWriteEnd = ends[1]
        for number in signals {
            signal(number) { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipeWriteEnd, &byte, 1)
            }
        }
    }

    /// The signal that arrived (after poll said the pipe is readable).
    func take() -> Int32 {
        var byte: UInt8 = 0
        _ = read(descriptor, &byte, 1)
        return Int32(byte)
    }

    deinit { close(descriptor) }
}

/// What a live view draws: lines, reverse-video headers, and blocks of rows that share the
/// screen's height, then a footer on the last line.
struct LiveFrame {
    enum Part {
        case text(String)
        case header(String)
        /// Rows cut to fit; `share` is the most of the room this block may take while a later
        /// block still wants rows (the last block takes the rest).
        case rows([String], label: String, share: Double)
    }

    var parts: [Part] = []
    var footer: String
}

/// The terminal of a live view: alternate screen, no echo, keys read as they are typed, signals
/// on a pipe; restored however it ends (q, Ctrl-C, SIGTERM). Both `top` and the cluster view use it.
final class LiveScreen {
    let color: Bool
    private let keyboard = isatty(0) != 0
    private var saved = termios()
    private var savedValid = false
    private let signals = SignalPipe([SIGINT, SIGTERM, SIGHUP, SIGWINCH])

    private static let escape = "\u{1B}["

    static let keyHelp = "q quit  sort: c cpu m mem n name N ns t thr o oom R restarts E ephem p psi r rx x tx  e containers  w wide"

    init() {
        let noColor = getenv("NO_COLOR").map { String(cString: $0) } ?? ""
        color = noColor.isEmpty
    }

    enum Input {
        case none, quit, resize
        case key(UInt8)
    }

    /// Waits up to `milliseconds` (-1: no limit) for a key, a signal, or one of `others`; their
    /// `revents` are filled in.
    func wait(milliseconds: Int32, others: inout [pollfd]) -> Input {
        // Keys only from a terminal: a closed or redirected stdin (`kubectl exec -t` without -i)
        // would read as end of input at once and end the view.
        var fds = [pollfd(fd: keyboard ? 0 : -1, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: signals?.descriptor ?? -1, events: Int16(POLLIN), revents: 0)] + others
        let ready = poll(&fds, nfds_t(fds.count), milliseconds)
        for index in others.indices { others[index].revents = fds[index + 2].revents }
        guard ready > 0 else { return .none }
        if let signals, fds[1].revents & Int16(POLLIN) != 0 {
            return signals.take() == SIGWINCH ? .resize : .quit
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

    func wait(seconds: Double) -> Input {
        var none: [pollfd] = []
        return wait(milliseconds: Int32(max(1, (seconds * 1000).rounded(.up))), others: &none)
    }

    /// Applies a key shared by the live views to `options` and `wide`; false to quit.
    static func apply(_ key: UInt8, _ options: inout TopOptions, _ wide: inout Bool) -> Bool {
        switch key {
        case UInt8(ascii: "q"), UInt8(ascii: "Q"), 0x03, 0x04: return false
        case UInt8(ascii: "e"): options.containers.toggle()
        case UInt8(ascii: "w"): wide.toggle()
        default:
            if let sort = TopSortKey.allCases.first(where: { $0.key.asciiValue == key }) { options.sort = sort }
        }
        return true
    }

    var size: TerminalSize { TerminalSize.current() ?? TerminalSize(columns: 80, rows: 24) }

    func draw(_ frame: LiveFrame) {
        let size = self.size
        var fixed = 1  // the footer
        var blocks: [(count: Int, share: Double)] = []
        for part in frame.parts {
            if case .rows(let lines, _, let share) = part { blocks.append((lines.count, share)) } else { fixed += 1 }
        }
        // Each block gets at most its share of the room while a later one still has rows; the
        // last one with rows takes what is left.
        let total = max(0, size.rows - fixed)
        var room = total
        var shown: [Int] = []
        for (index, block) in blocks.enumerated() {
            let laterWants = blocks[(index + 1)...].contains { $0.count > 0 }
            let limit = laterWants ? max(1, min(room, Int(Double(total) * block.share))) : room
            let take = min(block.count, limit)
            shown.append(take)
            room -= take
        }
        var text = Self.escape + "H"
        func line(_ content: String) { text += content + Self.escape + "K\n" }
        var block = 0
        var hidden: [String] = []
        for part in frame.parts {
            switch part {
            case .text(let content):
                line(TextColumns.clip(content, to: size.columns))
            case .header(let content):
                let clipped = TextColumns.clip(content, to: size.columns)
                let padded = clipped + String(repeating: " ", count: max(0, size.columns - clipped.count))
                line(color ? Self.escape + "7m" + padded + Self.escape + "0m" : clipped)
            case .rows(let lines, let label, _):
                for index in 0..<shown[block] { line(lines[index]) }
                if lines.count > shown[block] { hidden.append("\(lines.count - shown[block]) more \(label)") }
                block += 1
            }
        }
        var footer = frame.footer
        if !hidden.isEmpty { footer = "(" + hidden.joined(separator: ", ") + ")  " + footer }
        text += Self.escape + "J"
        text += Self.escape + "\(size.rows);1H" + TextColumns.clip(footer, to: size.columns) + Self.escape + "K"
        // One write per frame: the terminal never shows a half-drawn screen.
        writeAll(Array(text.utf8))
    }

    func enter() {
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

    func leave() {
        writeAll(Array((Self.escape + "0m" + Self.escape + "?25h" + Self.escape + "?1049l").utf8))
        if savedValid { tcsetattr(0, TCSANOW, &saved) }
    }
}
