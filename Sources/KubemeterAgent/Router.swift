import KubemeterExposition
import KubemeterHTTP
import KubemeterSnapshot

/// Maps request paths to responses.
struct Router: Sendable {
    let flight: SingleFlightCollector
    let renderer: ResourceMetricsRenderer
    /// cAdvisor's `id` label is the cgroup path below this mount.
    var cadvisor = CadvisorMetricsRenderer()
    /// `/pods`, and the node's name /stats/summary gives too.
    var podList = PodListJSONRenderer(nodeName: NodeName.resolve(flag: nil, environment: nil))
    var nodeName: String { podList.nodeName }
    /// What `/metrics` reports of the collections.
    let health: AgentHealthRecorder
    /// The HTTP server's counters, once the server exists.
    let httpStatistics: @Sendable () -> HTTPServerStatistics?

    static let index = """
        kubemeter: the kubelet's resource metrics, read from the kernel at scrape time.
        /metrics/resource  kubelet-compatible resource metrics (Prometheus text)
        /metrics/cadvisor  cAdvisor-compatible container metrics (limits, throttling, PSI, OOM, IO, pod network) and node_* metrics
        /metrics           kubemeter's own health: collections, errors, vanished cgroups, process
        /top               the node's pods now: CPU, memory, limits, throttling, OOM, PSI, network (text; ?sort= ?namespace= ?pod= ?containers=1 ?wide=1)
        /top.json          the same as data: every pod with its containers, rates computed here (JSON; read by kubectl kubemeter top)
        /stats/summary     the kubelet's Summary API, fresh (JSON; ?only_cpu_and_memory=true)
        /pods              the node's pods as the kubelet's /pods lists them: a v1.PodList of what the node knows (JSON)
        /snapshot.json     kubemeter's own view: every pod and container, UID, QoS, cgroup, container ID, values (JSON)
        /healthz           200 while the process is up
        /readyz            200 once a collection has succeeded
        """

    /// `respond(to:)`, then the freed heap back to the kernel: by then the collection and every
    /// transient of the scrape but the response body (mmapped when large) are freed.
    func respondReturningHeap(to request: HTTPRequest) -> HTTPResponse {
        let response = respond(to: request)
        MemoryFootprint.afterScrape()
        return response
    }

    func respond(to request: HTTPRequest) -> HTTPResponse {
        switch request.path {
        case "/metrics/resource":
            return flight.withCollection(notStartedBefore: request.arrivalNanoseconds, scope: .resource) { published in
                metrics(published, "resource", for: request) { renderer.render($0) }
            }
        case "/metrics/cadvisor":
            return flight.withCollection(notStartedBefore: request.arrivalNanoseconds) { published in
                metrics(published, "cadvisor", for: request) { cadvisor.render($0) }
            }
        case "/metrics":
            var health = health.current
            health.version = KubemeterVersion.current
            health.http = httpStatistics()
            health.process = ProcessFiguresReader.read()
            return metrics(AgentMetricsRenderer().render(health))
        case "/top":
            return TopEndpoint(flight: flight).top(request)
        case NodeTopJSONRenderer.path:
            return TopEndpoint(flight: flight).topJSON(request)
        case "/stats/summary":
            // The kubelet's handler takes only `true`; anything else is the whole summary.
            let onlyCPUAndMemory = request.queryItems().contains { $0 == ("only_cpu_and_memory", "true") }
            let renderer = SummaryJSONRenderer(nodeName: nodeName, onlyCPUAndMemory: onlyCPUAndMemory)
            return flight.withCollection(notStartedBefore: request.arrivalNanoseconds) { published in
                rendered(published, onlyCPUAndMemory ? "summary-cpu-memory" : "summary", as: Self.json, for: request) {
                    renderer.render($0)
                }
            }
        case "/pods":
            return flight.withCollection(notStartedBefore: request.arrivalNanoseconds) { published in
                rendered(published, "pods", as: Self.json, for: request) { podList.render($0) }
            }
        case "/snapshot.json":
            return flight.withCollection(notStartedBefore: request.arrivalNanoseconds) { published in
                rendered(published, "snapshot", as: Self.json, for: request) { SnapshotJSONRenderer().render($0) }
            }
        case "/healthz":
            return .text(200, "ok")
        case "/readyz":
            guard let last = flight.lastFinished, !last.scrapeFailed else {
                return .text(503, "not ready: no successful collection yet")
            }
            return .text(200, "ok")
        case "/":
            return .text(200, Self.index)
        default:
            return .text(404, "not found: \(request.path) (see / for the endpoints)")
        }
    }

    static let json = "application/json"

    /// A Prometheus rendering of `published` (see `rendered`).
    private func metrics(
        _ published: SingleFlightCollector.Published, _ key: String, for request: HTTPRequest,
        _ render: (NodeSnapshot) -> [UInt8]
    ) -> HTTPResponse {
        rendered(published, key, as: PrometheusTextWriter.contentType, for: request, render)
    }

    /// A rendering of `published`, gzip-encoded when the client accepts it; both made once per
    /// collection however many scrapes share it.
    private func rendered(
        _ published: SingleFlightCollector.Published, _ key: String, as contentType: String, for request: HTTPRequest,
        _ render: (NodeSnapshot) -> [UInt8]
    ) -> HTTPResponse {
        let plain = published.rendering(key, render)
        guard Gzip.isAccepted(by: request.headers["Accept-Encoding"]) else { return body(plain, contentType) }
        let compressed = published.rendering(key + ".gz") { _ in Gzip.compress(plain) ?? [] }
        var response = body(compressed.isEmpty ? plain : compressed, contentType)
        response.headers.add(name: "Vary", value: "Accept-Encoding")
        if !compressed.isEmpty { response.headers.add(name: "Content-Encoding", value: "gzip") }
        return response
    }

    private func metrics(_ body: [UInt8]) -> HTTPResponse {
        self.body(body, PrometheusTextWriter.contentType)
    }

    private func body(_ body: [UInt8], _ contentType: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        return HTTPResponse(status: 200, headers: headers, body: body)
    }
}
