@testable import KubemeterCluster
import KubemeterExposition
import KubemeterHTTP
import Testing

private func outcome(_ status: Int, _ body: String) -> UnixSocketExchange.Outcome {
    .response(HTTPClientResponse(status: status, body: Array(body.utf8)))
}

private func failure(_ outcome: UnixSocketExchange.Outcome) -> NodeFailure? {
    if case .failure(let failure) = ClusterSession.interpret(outcome, timeout: 5) { return failure }
    return nil
}

let minimalDocument = #"""
{"kind":"kubemeter.top.node","schema_version":1,"agent_version":"0.1.0","timestamp_ms":1700000000000,"interval_seconds":2.0,
 "rates_from":"since the previous collection","scrape_failed":false,"future_field":{"ignored":true},
 "node":{"cpu_cores":1.5,"cpus":4,"memory_working_set_bytes":1073741824,"memory_total_bytes":4294967296,"cpu_pressure_some_avg10":null,
         "memory_pressure_some_avg10":0.5,"io_pressure_some_avg10":2.25,"rx_bytes_per_second":100.0,"tx_bytes_per_second":50.0,"pods":1,"containers":2},
 "pods":[{"namespace":"shop","pod":"web-1","container":null,"qos_class":"burstable","cpu_cores":0.5,"cpu_limit_cores":1.0,"memory_working_set_bytes":209715200,
          "memory_limit_bytes":null,"throttled_percent":0.0,"oom_kills":3,"restarts":4,"host_network":false,"rx_bytes_per_second":10.5,"tx_bytes_per_second":null,
          "containers":[{"namespace":"shop","pod":"web-1","container":"app","cpu_cores":0.25,"memory_working_set_bytes":104857600},
                        {"namespace":"shop","pod":"web-1","container":"side","cpu_cores":0.25}]}]}
"""#

@Test func aDocumentReadsIntoRows() throws {
    guard case .success(let document) = ClusterSession.interpret(outcome(200, minimalDocument), timeout: 5) else {
        Issue.record("not read")
        return
    }
    #expect(document.agentVersion == "0.1.0" && document.intervalSeconds == 2 && document.timestampMilliseconds == 1_700_000_000_000)
    #expect(document.node.cpuCount == 4 && document.node.memoryTotalBytes == 4 << 30 && document.node.cpuPressure == nil)
    #expect(document.pods.count == 1 && document.containers.count == 2)
    let web = document.pods[0]
    #expect(web.pod == "web-1" && web.container == nil && web.containerCount == 2 && web.cpuLimitCores == 1 && web.oomKills == 3)
    #expect(web.memoryBytes == 200 << 20 && web.memoryLimitBytes == nil && web.hostNetwork == false && web.rxBytesPerSecond == 10.5)
    #expect(web.restarts == 4 && document.containers.allSatisfy { $0.restarts == nil })  // an older agent's rows have none
    #expect(document.containers.map(\.container) == ["app", "side"])
    #expect(document.containers.allSatisfy { $0.namespace == "shop" && $0.pod == "web-1" })
}

@Test func eachFailureIsNamed() {
    #expect(failure(.timedOut) == NodeFailure(.timeout, "no answer within 5.0 s"))
    // The agent's own 404: it has no /top.json.
    #expect(failure(outcome(404, "not found: /top.json (see / for the endpoints)\n"))?.label == "old-version")
    // The API server's 404 (a Status): the pod is gone.
    let gone = failure(outcome(404, #"{"kind":"Status","status":"Failure","message":"pods \"kubemeter-x\" not found","reason":"NotFound","code":404}"#))
    #expect(gone == NodeFailure(.status(404), "pods \"kubemeter-x\" not found"))
    let refused = failure(outcome(503, #"{"kind":"Status","message":"error trying to reach service: dial tcp 10.0.0.9:10265: connect: connection refused","code":503}"#))
    #expect(refused == NodeFailure(.unreachable, "error trying to reach service: dial tcp 10.0.0.9:10265: connect: connection refused"))
    #expect(failure(outcome(503, "Error: 'dial tcp 10.0.0.9:10265: i/o timeout'\nTrying to reach: 'http://10.0.0.9:10265/top.json'"))?.detail
        == "Error: 'dial tcp 10.0.0.9:10265: i/o timeout'")  // older API servers answer in text
    #expect(failure(outcome(403, #"{"kind":"Status","message":"pods \"kubemeter-x\" is forbidden: User \"jane\" cannot get resource \"pods/proxy\"","code":403}"#))?.label == "forbidden")
    #expect(failure(outcome(500, "boom"))?.label == "HTTP-500")
    #expect(failure(outcome(200, "{"))?.kind == .badAnswer)
    let newer = failure(outcome(200, minimalDocument.replacing(#""schema_version":1"#, with: #""schema_version":2"#)))
    #expect(newer?.kind == .badAnswer && newer?.detail.contains("schema_version 2") == true)
    let mistyped = failure(outcome(200, minimalDocument.replacing(#""oom_kills":3"#, with: #""oom_kills":"3""#)))
    #expect(mistyped?.detail.contains("pods[0]: oom_kills is not a non-negative integer") == true)
    #expect(failure(.failure(.transport("connect /tmp/x/proxy.sock: No such file or directory")))?.label == "no-proxy")
}

