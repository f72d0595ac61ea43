import KubemeterCluster
import Testing

/// A PodList as the API server writes it for the DaemonSet (trimmed of nothing the decoder must
/// skip: managedFields, conditions, status of containers): one running pod, one pending and not
/// scheduled yet, one terminating on a node.
let podList = #"""
{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"913"},"items":[
 {"metadata":{"name":"kubemeter-4xk2p","generateName":"kubemeter-","namespace":"kubemeter","uid":"0b0c3f1e-5a1d-4a86-9a3c-0d41f2f7c001",
   "resourceVersion":"901","creationTimestamp":"2025-01-01T00:00:00Z","labels":{"app.kubernetes.io/name":"kubemeter","controller-revision-hash":"6d8f"},
   "ownerReferences":[{"apiVersion":"apps/v1","kind":"DaemonSet","name":"kubemeter","uid":"u","controller":true,"blockOwnerDeletion":true}],
   "managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{}}}}}]},
  "spec":{"nodeName":"node-a","hostNetwork":true,"containers":[{"name":"kubemeter","image":"kubemeter:0.1.0",
   "ports":[{"name":"http-metrics","containerPort":10265,"protocol":"TCP"}],"resources":{"limits":{"cpu":"250m"}}}],
   "tolerations":[{"operator":"Exists"}]},
  "status":{"phase":"Running","hostIP":"10.0.0.11","podIP":"10.0.0.11","podIPs":[{"ip":"10.0.0.11"}],
   "conditions":[{"type":"Ready","status":"True","lastProbeTime":null}],"containerStatuses":[{"name":"kubemeter","ready":true,"restartCount":0}]}},
 {"metadata":{"name":"kubemeter-pend1","namespace":"kubemeter"},
  "spec":{"containers":[{"name":"kubemeter","ports":[{"name":"http-metrics","containerPort":10300}]}]},
  "status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False"}]}},
 {"metadata":{"name":"kubemeter-old9z","namespace":"kubemeter","deletionTimestamp":"2025-01-01T00:01:00Z"},
  "spec":{"nodeName":"node-b","containers":[{"name":"kubemeter"}]},
  "status":{"phase":"Running","podIP":"10.0.0.12"}}
]}
"""#

@Test func decodesTheAgentsFromAPodList() throws {
    let pods = try AgentPod.decodeList(Array(podList.utf8))
    #expect(pods == [
        AgentPod(name: "kubemeter-4xk2p", namespace: "kubemeter", nodeName: "node-a", podIP: "10.0.0.11", phase: "Running", metricsPort: 10265),
        AgentPod(name: "kubemeter-pend1", namespace: "kubemeter", phase: "Pending", metricsPort: 10300),
        AgentPod(name: "kubemeter-old9z", namespace: "kubemeter", nodeName: "node-b", podIP: "10.0.0.12", phase: "Running", terminating: true),
    ])
}

@Test func refusesWhatIsNotAPodList() {
    func reason(_ text: String) -> String? {
        do {
            _ = try AgentPod.decodeList(Array(text.utf8))
            return nil
        } catch {
            return "\(error)"
        }
    }
    #expect(reason(#"{"kind":"Status","status":"Failure"}"#)?.contains("not a v1 PodList (kind Status)") == true)
    #expect(reason("<html>")?.contains("invalid JSON at byte 0") == true)
    #expect(reason(#"{"kind":"PodList","items":[{"metadata":{"namespace":"k"}}]}"#)?.contains("items[0]: no metadata.name") == true)
    #expect(reason(#"{"kind":"PodList","items":[{"metadata":{"name":"a","namespace":"k"},"spec":{"nodeName":7}}]}"#)?.contains("spec.nodeName is not a string") == true)
    #expect(reason(#"{"kind":"PodList","items":[{"metadata":{"name":"a","namespace":"k"},"spec":{"containers":[{"ports":[{"name":"http-metrics","containerPort":70000}]}]}}]}"#)?.contains("no valid containerPort") == true)
    #expect(reason(#"{"kind":"PodList","items":[]}"#) == nil)
}

@Test func pathsAreTheAPIServersAndEscaped() {
    var configuration = ClusterConfiguration(socketPath: "/tmp/x")
    #expect(configuration.podListPath == "/api/v1/namespaces/kubemeter/pods?labelSelector=app.kubernetes.io%2Fname%3Dkubemeter")
    configuration.selector = "app in (a,b),tier!=x"
    #expect(configuration.podListPath.hasSuffix("labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Dx"))
    let pod = AgentPod(name: "kubemeter-4xk2p", namespace: "monitoring", metricsPort: 10300)
    #expect(configuration.proxyPath(pod, "/top.json") == "/api/v1/namespaces/monitoring/pods/kubemeter-4xk2p:10300/proxy/top.json")
    #expect(configuration.proxyPath(AgentPod(name: "p", namespace: "n"), "/top.json") == "/api/v1/namespaces/n/pods/p:10265/proxy/top.json")
    configuration.port = 9999
    #expect(configuration.proxyPath(pod, "/top.json").contains("/pods/kubemeter-4xk2p:9999/proxy/"))
    // Agents serving TLS: the pod proxy's [scheme:]name[:port].
    configuration.https = true
    #expect(configuration.proxyPath(pod, "/top.json") == "/api/v1/namespaces/monitoring/pods/https:kubemeter-4xk2p:9999/proxy/top.json")
}

@Test func kubernetesStatusIsToldFromAnAgentsBody() {
    let status = KubernetesStatus.decode(Array(#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"error trying to reach service: dial tcp 10.0.0.11:10265: connect: connection refused","reason":"ServiceUnavailable","code":503}"#.utf8))
    #expect(status == KubernetesStatus(message: "error trying to reach service: dial tcp 10.0.0.11:10265: connect: connection refused", reason: "ServiceUnavailable", code: 503))
    #expect(KubernetesStatus.decode(Array("not found: /top.json (see / for the endpoints)\n".utf8)) == nil)
}
