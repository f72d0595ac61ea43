import Glibc
import KubemeterHTTP

/// 8 MiB: more than the loopback socket buffers hold when the client keeps a small receive window.
let bigBody = [UInt8](repeating: UInt8(ascii: "x"), count: 8 << 20)

let metricsText = """
    # HELP node_cpu_usage_seconds_total Cumulative cpu time consumed by the node in core-seconds
    # TYPE node_cpu_usage_seconds_total counter
    node_cpu_usage_seconds_total 12345.678 1700000000000
    """

/// Routes used by the socket tests; unknown paths are the handler's business (404).
@Sendable func testHandler(_ request: HTTPRequest) -> HTTPResponse {
    switch request.path {
    case "/":
        return .text(200, "hello")
    case "/metrics":
        var response = HTTPResponse.text(200, metricsText)
        response.headers.add(name: "X-Scrape", value: "yes")
        return response
    case "/echo":
        let fields = [
            request.method, request.path, request.query ?? "<nil>", "\(request.version)",
            request.arrivalNanoseconds > 0 ? "stamped" : "unstamped",
        ]
        return .text(200, fields.joined(separator: " "))
    case "/slow":
        usleep(300_000)
        return .text(200, "slow")
    case "/big":
        return HTTPResponse(status: 200, body: bigBody)
    case "/close":
        var response = HTTPResponse.text(200, "bye")
        response.headers.add(name: "Connection", value: "close")
        return response
    case "/evil":
        return HTTPResponse(
            status: 200,
            headers: HTTPHeaders([
                ("X-Injected", "a\r\nSet-Cookie: stolen=1"), ("Bad Name", "x"), ("Content-Length", "999"),
                ("X-Fine", "ok"),
            ]),
            body: Array("evil\n".utf8)
        )
    default:
        return .text(404, "not found")
    }
}

/// A started server on 127.0.0.1 (or `host`), port 0. Callers shut it down with `defer`.
func startServer(
    host: String = "127.0.0.1",
    _ configure: (inout HTTPServerConfiguration) -> Void = { _ in },
    handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse = testHandler
) throws -> HTTPServer {
    var configuration = HTTPServerConfiguration(listenAddress: ListenAddress(host: host, port: 0))
    // Every socket test connects from one address: the per-address share (a quarter of the limit
    // by default) is off unless a test sets it (HTTPServerAddressShareTests).
    configuration.maxConnectionsPerAddress = .max
    configure(&configuration)
    let server = try HTTPServer(configuration: configuration, handler: handler)
    server.start()
    return server
}

/// Waits (bounded) until `condition` holds, for state the server reaches asynchronously.
func eventually(attempts: Int = 200, _ condition: () -> Bool) -> Bool {
    for _ in 0..<attempts {
        if condition() { return true }
        usleep(25_000)
    }
    return condition()
}
