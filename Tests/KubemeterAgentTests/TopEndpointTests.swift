@testable import KubemeterAgent
import KubemeterExposition
import KubemeterHTTP
import KubemeterSnapshot
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func monotonicNow() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// A flight whose collections are the fixture's reads 2 s apart (by their timestamps), in order.
private func flight() -> SingleFlightCollector {
    let step = Atomic<UInt64>(0)
    return SingleFlightCollector { _ in
        TopFixture.snapshot(step: step.add(1, ordering: .sequentiallyConsistent).oldValue)
    }
}

private func get(_ router: Router, _ path: String, _ query: String? = nil) -> (Int, String) {
    let response = router.respond(to: HTTPRequest(path: path, query: query, arrivalNanoseconds: monotonicNow()))
    return (response.status, String(decoding: response.body, as: UTF8.self))
}

@Test func topComputesRatesAgainstThePreviousCollection() {
    let flight = flight()
    let router = Router(flight: flight, renderer: ResourceMetricsRenderer(sampleTimestamps: false), health: AgentHealthRecorder(), httpStatistics: { nil })
    _ = flight.collection(notStartedBefore: monotonicNow())  // step 0, as a Prometheus scrape would
    let (status, body) = get(router, "/top", "sort=name&wide=1")
    #expect(status == 200)
    let lines = body.split(separator: "\n").map(String.init)
    #expect(lines[1] == "rates over 2.00 s (since the previous collection); sorted by name; showing 2 pods")
    #expect(lines[2].hasPrefix("NAMESPACE    POD         CONTAINER  QOS"))
    // CPU, CPU-LIM, CPU%LIM, MEM, MEM-LIM, MEM%LIM, THR%, OOM, RESTARTS, EPHEM, PSI-CPU, PSI-MEM, PSI-IO, RX/s, TX/s.
    #expect(lines[4] == "shop         web-1       (2)        burstable   0.500    0.500    100.0   200Mi    400Mi     50.0  25.0    3         2      -      1.5      7.3     0.5  1.95Ki  500B")
    #expect(flight.collection(before: flight.lastFullCollection!)?.generation == 1)
}

@Test func topRejectsUnknownParameters() {
    let router = Router(flight: flight(), renderer: ResourceMetricsRenderer(sampleTimestamps: false), health: AgentHealthRecorder(), httpStatistics: { nil })
    #expect(get(router, "/top", "sort=size").0 == 400)
    #expect(get(router, "/top", "width=0").0 == 400)
    #expect(get(router, "/top", "colour=1").0 == 400)
}

@Test func snapshotJSONServesTheCollection() {
    let router = Router(flight: flight(), renderer: ResourceMetricsRenderer(sampleTimestamps: false), health: AgentHealthRecorder(), httpStatistics: { nil })
    let (status, body) = get(router, "/snapshot.json")
    #expect(status == 200)
    #expect(body.hasPrefix(#"{"timestamp_ms":1000,"#))
    #expect(body.contains(#""uid":"uid-agent","qos_class":"besteffort""#))
    let (_, index) = get(router, "/")
    #expect(index.contains("\n/top ") && index.contains("\n/pods ") && index.contains("\n/stats/summary ") && index.contains("\n/snapshot.json "))
}
