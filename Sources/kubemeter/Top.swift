import ArgumentParser
import KubemeterCollector
import KubemeterExposition
import KubemeterSync

#if canImport(Glibc)
import Glibc
import KubemeterSnapshot
#endif

/// What the node view and the cluster view share: sort, filters, rows, refresh, output.
struct TopViewOptions: ParsableArguments {
    enum Output: String, ExpressibleByArgument, CaseIterable {
        case table, wide, json
    }

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

    @Flag(help: "Print one table and exit, even on a terminal.")
    var once = false

    @Option(name: .shortAndLong, help: "table, wide (limits, QoS, each pressure) or json.")
    var output: Output = .table

    func validate() throws {
        guard interval >= 0.1, interval <= 3600 else { throw ValidationError("--interval must be between 0.1 and 3600 seconds") }
    }

    var topOptions: TopOptions {
        var options = TopOptions(sort: sort, containers: containers)
        options.namespace = namespace.map(NameFilter.init)
        options.pod = pod.map(NameFilter.init)
        return options
    }

    /// One table (or JSON) and exit: asked for, or stdout is not a terminal (a pipe, watch, CI).
    var printsOnce: Bool { once || output == .json || isatty(1) == 0 }
}

/// `kubemeter top`: the node's pods, live, read straight from the kernel.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live view of the node's pods: CPU, memory, limits, throttling, OOM kills, PSI, network.",
        discussion: """
            Rates (CPU cores, network) are computed between two reads --interval apart. On a terminal \
            the view redraws in place; keys: q quit, c cpu, m memory, n name, N namespace, t throttle, \
            o oom, p psi, r rx, x tx (sort), e containers on/off, w wide on/off. When stdout is not a \
            terminal (a pipe, watch, CI), or with --once, one table is printed after one interval. \
            NO_COLOR turns colour off. The whole cluster: `kubectl kubemeter top`.
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var view: TopViewOptions

    func run() throws {
        let logger = host.makeLogger()
        let collector = Collector(paths: host.paths, kubepodsPath: host.kubepodsPath, storage: host.ephemeralStorage, logger: logger)
        let options = view.topOptions

        if view.printsOnce {
            let first = collector.collect()
            // EPHEM: one walk of the pods just found, as `snapshot` does; attached to the second.
            collector.storage?.measureNow()
            sleep(seconds: view.interval)
            let second = collector.collect()
            let top = TopView(current: second, previous: first, options: options)
            switch view.output {
            case .json:
                writeAll(TopJSONRenderer().render(top))
            case .table, .wide:
                writeAll(Array(TopTable(width: TerminalSize.printWidth(), wide: view.output == .wide).render(top).utf8))
            }
            if second.scrapeFailed { throw ExitCode.failure }
            return
        }
        // The live view walks in the background as the agent does; EPHEM fills in after the first round.
        collector.storage?.start()
        LiveTop(collector: collector, options: options, wide: view.output == .wide, interval: view.interval).run()
    }
}

extension TopSortKey: ExpressibleByArgument {}

/// Sleeps `seconds`, past signal interruptions.
func sleep(seconds: Double) {
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.towardZero)) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
}

/// The node's live view: a collection every interval, redrawn in place.
final class LiveTop {
    private let collector: Collector
    private var options: TopOptions
    private var wide: Bool
    private let interval: Double
    private let screen = LiveScreen()

    init(collector: Collector, options: TopOptions, wide: Bool, interval: Double) {
        self.collector = collector
        self.options = options
        self.wide = wide
        self.interval = interval
    }

    func run() {
        screen.enter()
        defer { screen.leave() }

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
            switch screen.wait(seconds: wait) {
            case .quit:
                break loop
            case .resize:
                draw(view)
            case .key(let key):
                guard LiveScreen.apply(key, &options, &wide) else { break loop }
                view = TopView(current: current, previous: hasRates ? previous : nil, options: options)
                draw(view)
            case .none:
                continue
            }
        }
    }

    private func draw(_ view: TopView) {
        let table = TopTable(width: screen.size.columns, wide: wide)
        let lines = table.table(view)
        var frame = LiveFrame(footer: LiveScreen.keyHelp)
        frame.parts = table.summary(view).map { .text($0) } + [.text(""), .header(lines[0]), .rows(Array(lines.dropFirst()), label: "rows", share: 1)]
        screen.draw(frame)
    }
}
