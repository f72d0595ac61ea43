#if canImport(Glibc)
import Glibc
#endif
import KubemeterExposition
import KubemeterHTTP
import KubemeterSnapshot
import KubemeterSync

/// `GET /top` and `GET /top.json`: the node as `kubemeter top` shows it (as text, and as data for
/// the cluster view), from the same single-flight collection as `/metrics/resource`.
struct TopEndpoint: Sendable {
    let flight: SingleFlightCollector

    /// Rates over less than this are noise (two scrapes a few ms apart): a sample is taken instead.
    static let shortestInterval = 0.5
    /// Rates over more than this say little about now: a sample is taken instead.
    static let longestInterval = 300.0
    /// The sample taken when no usable previous collection is held.
    static let sampleMicroseconds: UInt32 = 1_000_000

    /// `?sort=cpu|memory|name|namespace|throttle|oom|psi|rx|tx`, `?namespace=`, `?pod=` (substring
    /// or glob), `?containers=1`, `?wide=1`, `?width=N`.
    func top(_ request: HTTPRequest) -> HTTPResponse {
        var options = TopOptions()
        var table = TopTable()
        for (name, value) in request.queryItems() {
            switch name {
            case "sort":
                guard let key = TopSortKey(rawValue: value) else {
                    let keys = TopSortKey.allCases.map(\.rawValue).joined(separator: ", ")
                    return .text(400, "bad sort \"\(value)\": one of \(keys)")
                }
                options.sort = key
            case "namespace": options.namespace = value.isEmpty ? nil : NameFilter(value)
            case "pod": options.pod = value.isEmpty ? nil : NameFilter(value)
            case "containers": options.containers = Self.isTrue(value)
            case "wide": table.wide = Self.isTrue(value)
            case "width":
                guard let width = Int(value), width > 0 else { return .text(400, "bad width \"\(value)\"") }
                table.width = width
            default:
                return .text(400, "unknown parameter \"\(name)\": sort, namespace, pod, containers, wide, width")
            }
        }

        let window = rateWindow(for: request)
        table.note = "(" + window.ratesFrom + ")"
        let view = TopView(current: window.current, previous: window.previous, options: options)
        return .text(200, table.render(view))
    }

    /// `GET /top.json`: the same view as data, every pod with its containers (for `kubectl
    /// kubemeter top`); no parameters, the reader filters and sorts.
    func topJSON(_ request: HTTPRequest) -> HTTPResponse {
        if let (name, _) = request.queryItems().first {
            return .text(400, "unknown parameter \"\(name)\": \(NodeTopJSONRenderer.path) takes none")
        }
        let window = rateWindow(for: request)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        var body = NodeTopJSONRenderer(agentVersion: KubemeterVersion.current)
            .render(current: window.current, previous: window.previous, ratesFrom: window.ratesFrom)
        // Through the API server's pod proxy the bytes cross the cluster twice: gzip when asked
        // (kubectl proxy's transport asks, and undoes it for its own client).
        headers.add(name: "Vary", value: "Accept-Encoding")
        if Gzip.isAccepted(by: request.headers["Accept-Encoding"]), let compressed = Gzip.compress(body) {
            headers.add(name: "Content-Encoding", value: "gzip")
            body = compressed
        }
        return HTTPResponse(status: 200, headers: headers, body: body)
    }

    /// The two collections the rates of `/top` and `/top.json` come from: the previous collection
    /// when it is 0.5 s to 5 min old, else a sample taken for this request; and a note saying which.
    private func rateWindow(for request: HTTPRequest) -> (current: NodeSnapshot, previous: NodeSnapshot?, ratesFrom: String) {
        // These render nothing of a collection's own: each is held only for its snapshot.
        let first = flight.withCollection(notStartedBefore: request.arrivalNanoseconds) { $0 }
        let previous = flight.collection(before: first)
        let held = previous.flatMap { Formulas.seconds(from: $0.snapshot, to: first.snapshot) }
        if let held, let previous, held >= Self.shortestInterval, held <= Self.longestInterval {
            return (first.snapshot, previous.snapshot, "since the previous collection")
        }
        usleep(Self.sampleMicroseconds)
        let sample = flight.withCollection(notStartedBefore: MonotonicClock.now()) { $0 }
        let reason = held == nil ? "no previous collection" : "previous collection too close or too old"
        return (sample.snapshot, first.snapshot, "a sample taken for this request: \(reason)")
    }

    private static func isTrue(_ value: String) -> Bool {
        value == "1" || value == "true" || value == "yes" || value.isEmpty
    }
}
