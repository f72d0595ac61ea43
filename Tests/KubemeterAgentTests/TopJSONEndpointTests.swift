@testable import KubemeterAgent
import KubemeterSync
import KubemeterCluster
import KubemeterExposition
import KubemeterHTTP
import KubemeterJSON
import KubemeterSnapshot
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A router whose collections are the fixture's reads 2 s apart, the first one already taken
/// (as a Prometheus scrape would have), so `/top.json` has rates at once.
private func router() -> Router {
    let step = Atomic<UInt64>(0)
    let flight = SingleFlightCollector { _ in TopFixture.snapshot(step: step.add(1, ordering: .sequentiallyConsistent).oldValue) }
    _ = flight.collection(notStartedBefore: MonotonicClock.now())
    return Router(flight: flight, renderer: ResourceMetricsRenderer(sampleTimestamps: false), health: AgentHealthRecorder(), httpStatistics: { nil })
}

private func get(_ router: Router, _ query: String? = nil, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
    router.respond(to: HTTPRequest(path: "/top.json", query: query, headers: headers, arrivalNanoseconds: MonotonicClock.now()))
}

@Test func topJSONHasEveryPodWithItsContainersAndTheAgentsRates() throws {
    let response = get(router())
    #expect(response.status == 200)
    #expect(response.headers["Content-Type"] == "application/json")
    let document = try JSONParser.parse(response.body)
    #expect(document["kind"]?.string == "kubemeter.top.node")
    #expect(document["schema_version"]?.int == 1)
    #expect(document["agent_version"]?.string == KubemeterVersion.current)
    #expect(document["interval_seconds"]?.double == 2)
    #expect(document["rates_from"]?.string == "since the previous collection")
    #expect(document["node"]?["cpu_cores"]?.double == 2)  // (108 - 104) core-seconds over 2 s
    #expect(document["node"]?["cpus"]?.int == 4)
    let pods = try #require(document["pods"]?.array)
    #expect(pods.map { $0["pod"]?.string } == ["node-agent", "web-1"])  // by namespace: kube-system, shop
    let web = pods[1]
    #expect(web["cpu_cores"]?.double == 0.5)
    #expect(web["throttled_percent"]?.double == 25)
    #expect(web["rx_bytes_per_second"]?.double == 2000)
    let containers = try #require(web["containers"]?.array)
    #expect(containers.map { $0["container"]?.string } == ["app", "side\"car"])
    #expect(containers[0]["cpu_cores"]?.double == 0.5)
    #expect(containers[1]["memory_working_set_bytes"]?.uint64 == 10 * TopFixture.mib)
    #expect(pods[0]["containers"]?.array?.isEmpty == true)
    #expect(pods[0]["host_network"]?.bool == true)
}

@Test func topJSONTakesNoParametersAndIsGzippedWhenAsked() throws {
    let router = router()
    let refused = get(router, "sort=cpu")
    #expect(refused.status == 400)
    #expect(String(decoding: refused.body, as: UTF8.self).contains("takes none"))
    let plain = get(router)
    let zipped = get(router, headers: HTTPHeaders([("Accept-Encoding", "gzip")]))
    #expect(zipped.headers["Content-Encoding"] == "gzip")
    #expect(zipped.body.count < plain.body.count)
    #expect(Array(zipped.body.prefix(2)) == [0x1F, 0x8B])
}

/// What the agent writes is what `kubectl kubemeter top` reads: every field of every row.
@Test func theClusterViewReadsBackExactlyTheAgentsRows() throws {
    let response = get(router())
    let document = try NodeTopDocument.decode(response.body)
    let current = TopFixture.snapshot(step: 1)
    let previous = TopFixture.snapshot(step: 0)
    let pods = TopView(current: current, previous: previous, options: TopOptions(sort: .namespace))
    let containers = TopView(current: current, previous: previous, options: TopOptions(sort: .namespace, containers: true))
    #expect(document.node == pods.node)
    #expect(document.pods == pods.rows)
    #expect(document.containers == containers.rows)
    #expect(document.intervalSeconds == 2 && document.timestampMilliseconds == 3000 && document.agentVersion == KubemeterVersion.current)
}
