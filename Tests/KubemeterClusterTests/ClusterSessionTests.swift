@testable import KubemeterCluster
import KubemeterSync
import KubemeterExposition
import KubemeterHTTP
import Testing

#if canImport(Glibc)
import Glibc
#endif

private let listTarget = "/api/v1/namespaces/kubemeter/pods?labelSelector=app.kubernetes.io%2Fname%3Dkubemeter"

private func podList(_ pods: [(name: String, node: String?, phase: String)]) -> String {
    let items = pods.map { pod in
        let node = pod.node.map { #""nodeName":"\#($0)","# } ?? ""
        let ip = pod.phase == "Running" ? #","podIP":"127.0.0.1""# : ""
        return #"{"metadata":{"name":"\#(pod.name)","namespace":"kubemeter"},"spec":{\#(node)"containers":[{"name":"kubemeter","ports":[{"name":"http-metrics","containerPort":10265}]}]},"status":{"phase":"\#(pod.phase)"\#(ip)}}"#
    }
    return #"{"kind":"PodList","apiVersion":"v1","items":["# + items.joined(separator: ",") + "]}"
}

private func proxyTarget(_ pod: String) -> String {
    "/api/v1/namespaces/kubemeter/pods/\(pod):10265/proxy/top.json"
}

/// A document whose one pod is named after the node, so rows can be traced to their node.
private func document(_ node: String) -> String {
    minimalDocument.replacing(#""pod":"web-1""#, with: #""pod":"web-\#(node)""#)
}

/// Runs a live session's event loop for `seconds`, as the live view does (poll at most 50 ms).
private func drive(_ session: ClusterSession, seconds: Double) {
    let end = MonotonicClock.now() + MonotonicClock.nanoseconds(seconds)
    session.advance()
    while MonotonicClock.now() < end {
        var fds = session.descriptors()
        let timeout = session.timeoutMilliseconds()
        _ = poll(&fds, nfds_t(fds.count), timeout < 0 ? 50 : min(timeout, 50))
        session.advance(ready: fds)
    }
}

private func configuration(_ proxy: FakeProxy, timeout: Double) -> ClusterConfiguration {
    var configuration = ClusterConfiguration(socketPath: proxy.socketPath)
    configuration.timeoutSeconds = timeout
    return configuration
}

@Test func onceAsksEveryNodeAtOnceAndASlowOrDeadOneHoldsNoOtherBack() throws {
    let proxy = FakeProxy()
    defer { proxy.stop() }
    proxy.route(listTarget, .init(body: podList([
        ("kubemeter-a", "node-a", "Running"), ("kubemeter-b", "node-b", "Running"), ("kubemeter-c", "node-c", "Running"),
        ("kubemeter-d", nil, "Pending"), ("kubemeter-e", "node-e", "Running"), ("kubemeter-f", "node-f", "Running"),
        ("kubemeter-g", "node-g", "Running"),
    ])))
    proxy.route(proxyTarget("kubemeter-a"), .init(body: document("a")))
    proxy.route(proxyTarget("kubemeter-b"), .init(body: document("b"), delay: 0.6))
    proxy.route(proxyTarget("kubemeter-c"), .init(body: document("c"), delay: 30))  // hangs past the timeout
    proxy.route(proxyTarget("kubemeter-e"), .init(status: 404, body: "not found: /top.json (see / for the endpoints)\n"))
    proxy.route(proxyTarget("kubemeter-f"), .init(status: 503, body: #"{"kind":"Status","message":"error trying to reach service: dial tcp 127.0.0.1:10265: connect: connection refused","code":503}"#))
    proxy.route(proxyTarget("kubemeter-g"), .init(body: document("g"), chunked: true))

    let session = ClusterSession(configuration: configuration(proxy, timeout: 1.5), live: false)
    let start = MonotonicClock.now()
    // Fast nodes are in before the slow one: at 0.4 s, a and g have answered, b and c have not.
    session.advance()
    while MonotonicClock.now() - start < 400_000_000 {
        var fds = session.descriptors()
        _ = poll(&fds, nfds_t(fds.count), 20)
        session.advance(ready: fds)
    }
    func state(_ node: String) -> NodeState? { session.nodes.first { $0.nodeName == node } }
    #expect(state("node-a")?.document != nil && state("node-g")?.document != nil)
    #expect(state("node-b")?.hasOutcome == false && state("node-c")?.hasOutcome == false)

    #expect(session.settle())
    let seconds = Double(MonotonicClock.now() - start) / 1e9
    #expect(seconds >= 1.5 && seconds < 1.5 + 2, "\(seconds) s: the timeout bounds the wait")  // generous bound
    let view = ClusterView(session: session, options: TopOptions(sort: .name))
    #expect(view.nodes.map { "\($0.node) \($0.status)" } == [
        "(kubemeter-d) Pending", "node-a ok", "node-b ok", "node-c timeout", "node-e old-version", "node-f unreachable", "node-g ok",
    ])
    #expect((state("node-b")?.answerSeconds ?? 0) >= 0.6)
    #expect(view.rows.map { "\($0.node ?? "?") \($0.pod)" } == ["node-a web-a", "node-b web-b", "node-g web-g"])
    #expect(view.total.cpuCores == 4.5 && view.total.cpuCount == 12 && view.answering == 3)
    // One request per agent (none for the pending one), each with the Host kubectl proxy accepts.
    let requests = proxy.requests
    #expect(requests.filter { $0.0.contains("/proxy/") }.count == 6)
    #expect(requests.allSatisfy { $0.1 == "localhost" })
}

@Test func liveAsksAgainEveryIntervalAndFollowsThePodList() throws {
    let proxy = FakeProxy()
    defer { proxy.stop() }
    proxy.route(listTarget, .init(body: podList([("kubemeter-a", "node-a", "Running"), ("kubemeter-b", "node-b", "Running")])))
    proxy.route(proxyTarget("kubemeter-a"), .init(body: document("a")))
    proxy.route(proxyTarget("kubemeter-b"), .init(body: document("b")))
    proxy.route(proxyTarget("kubemeter-h"), .init(body: document("h")))
    var settings = configuration(proxy, timeout: 1)
    settings.intervalSeconds = 0.2
    settings.relistSeconds = 0.7
    let session = ClusterSession(configuration: settings, live: true)
    drive(session, seconds: 0.65)
    let asked = proxy.requests.filter { $0.0 == proxyTarget("kubemeter-a") }.count
    #expect(asked >= 3 && asked <= 5, "\(asked) requests in 0.65 s at a 0.2 s interval")
    #expect(session.nodes.map(\.nodeName) == ["node-a", "node-b"])
    // The DaemonSet replaced the pod on node-b: the next list drops it and asks the new one.
    proxy.route(listTarget, .init(body: podList([("kubemeter-a", "node-a", "Running"), ("kubemeter-h", "node-b", "Running")])))
    drive(session, seconds: 0.8)
    #expect(session.nodes.map(\.agent.name) == ["kubemeter-a", "kubemeter-h"])
    #expect(session.nodes.allSatisfy { $0.document != nil })
    #expect(ClusterView(session: session, options: TopOptions()).rows.map(\.pod).sorted() == ["web-a", "web-h"])
    session.close()
}

@Test func aPodListThatFailsIsSaidWithTheAPIServersMessage() {
    let proxy = FakeProxy()
    defer { proxy.stop() }
    proxy.route(listTarget, .init(status: 403, body: #"{"kind":"Status","message":"pods is forbidden: User \"jane\" cannot list resource \"pods\" in API group \"\" in the namespace \"kubemeter\"","reason":"Forbidden","code":403}"#))
    let session = ClusterSession(configuration: configuration(proxy, timeout: 1), live: false)
    #expect(session.settle())
    #expect(session.listFailure == #"cannot list pods in namespace kubemeter: HTTP 403: pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "kubemeter""#)
    #expect(session.nodes.isEmpty)

    let nowhere = ClusterSession(configuration: ClusterConfiguration(socketPath: proxy.directory + "/absent.sock"), live: false)
    #expect(nowhere.settle())
    #expect(nowhere.listFailure?.hasPrefix("connect \(proxy.directory)/absent.sock: No such file or directory") == true)
}

@Test func anAgentWhoseCollectionFailedIsMarkedAndStillShown() throws {
    let proxy = FakeProxy()
    defer { proxy.stop() }
    proxy.route(listTarget, .init(body: podList([("kubemeter-a", "node-a", "Running")])))
    proxy.route(proxyTarget("kubemeter-a"), .init(body: document("a").replacing(#""scrape_failed":false"#, with: #""scrape_failed":true"#)))
    let session = ClusterSession(configuration: configuration(proxy, timeout: 1), live: false)
    #expect(session.settle())
    let view = ClusterView(session: session, options: TopOptions())
    #expect(view.nodes.map(\.status) == ["scrape-failed"])
    #expect(view.rows.map(\.pod) == ["web-a"])
    #expect(ClusterTable().summary(view)[1].hasSuffix("not ok: node-a scrape-failed"))
}

@Test func theTableMarksEveryNodeAndKeepsStatusWhenNarrow() throws {
    let proxy = FakeProxy()
    defer { proxy.stop() }
    proxy.route(listTarget, .init(body: podList([("kubemeter-a", "node-a", "Running"), ("kubemeter-z", "node-z", "Running")])))
    proxy.route(proxyTarget("kubemeter-a"), .init(body: document("a")))
    let session = ClusterSession(configuration: configuration(proxy, timeout: 1), live: false)
    #expect(session.settle())
    let view = ClusterView(session: session, options: TopOptions())
    let wide = ClusterTable().render(view).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(wide[0] == "cluster  nodes 2 (1 answering)  cpu 1.500/4 cores (37.5%)  mem 1.00Gi/4.00Gi (25.0%)  net rx 100B tx 50B  pods 1  containers 2")
    #expect(wide[1].hasSuffix("; sorted by cpu; showing 1 pods; not ok: node-z HTTP-404"))
    #expect(wide[3] == "NODE      CPU  CPU%     MEM  MEM%  PODS  PSI  RX/s  TX/s  ANSWER  STATUS")
    #expect(wide[4].hasPrefix("node-a  1.500  37.5  1.00Gi  25.0     1  2.3  100B   50B ") && wide[4].hasSuffix("s  ok"))
    #expect(wide[5].hasPrefix("node-z      -     -       -     -     -    -     -     -  ") && wide[5].hasSuffix("HTTP-404"))
    #expect(wide[7].hasPrefix("NODE    NAMESPACE  POD    CONTAINER    CPU  CPU%LIM"))
    #expect(wide[8].hasPrefix("node-a  shop       web-a  (2)        0.500     50.0  200Mi"))
    let narrow = ClusterTable(width: 45).nodes(view)
    #expect(narrow[0] == "NODE      CPU  CPU%     MEM  MEM%  STATUS")
    #expect(narrow.allSatisfy { $0.count <= 45 })
}

@Test func liveTriesAFailedPodListAgainAfterAnInterval() {
    let proxy = FakeProxy()
    defer { proxy.stop() }
    proxy.route(listTarget, .init(status: 403, body: #"{"kind":"Status","message":"pods is forbidden","code":403}"#))
    proxy.route(proxyTarget("kubemeter-a"), .init(body: document("a")))
    var settings = configuration(proxy, timeout: 1)
    settings.intervalSeconds = 0.2
    let session = ClusterSession(configuration: settings, live: true)
    drive(session, seconds: 0.3)
    #expect(session.listFailure?.contains("HTTP 403: pods is forbidden") == true)
    // Granted meanwhile: the next try, an interval later (not the 30 s relist period), finds the agent.
    proxy.route(listTarget, .init(body: podList([("kubemeter-a", "node-a", "Running")])))
    drive(session, seconds: 0.6)
    #expect(session.listFailure == nil)
    #expect(session.nodes.first?.document != nil)
    session.close()
}
