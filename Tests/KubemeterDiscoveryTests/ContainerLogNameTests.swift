import Testing
@testable import KubemeterDiscovery

private let id = "4f9a0c1d2e3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f30211223344556677"

@Suite struct ContainerLogNameTests {
    static let whole: [(String, ContainerLogName)] = [
        ("web-0_default_nginx-\(id).log",
         ContainerLogName(pod: "web-0", namespace: "default", container: "nginx", idPrefix: id, isTruncated: false)),
        // `-` in container names: the ID follows the last `-`
        ("api-7d9f8b6c5-x2k4p_payments_log-shipper-v2-\(id).log",
         ContainerLogName(pod: "api-7d9f8b6c5-x2k4p", namespace: "payments", container: "log-shipper-v2", idPrefix: id, isTruncated: false)),
        // `.` in pod names
        ("my.app-1_ns_c-\(id).log",
         ContainerLogName(pod: "my.app-1", namespace: "ns", container: "c", idPrefix: id, isTruncated: false)),
    ]

    @Test(arguments: whole)
    func parsesWholeNames(fileName: String, expected: ContainerLogName) {
        #expect(ContainerLogName(parsing: fileName) == expected)
    }

    static let bad: [String] = [
        "web-0_default_nginx-\(id)",  // no .log
        "web-0_default_nginx-\(id).log.gz", "web-0_default_nginx-\(id).LOG",
        "web_0_default_nginx-\(id).log",  // `_` in a pod name cannot be: 4 parts
        "web-0_default_nginx_sidecar-\(id).log",  // `_` in a container name cannot be
        "web-0_default-\(id).log",  // 2 parts
        "web-0_default_nginx\(id).log",  // no `-` before the ID
        "web-0_default_nginx-\(id.dropLast()).log",  // short ID in a name the kubelet did not cut
        "web-0_default_nginx-\(id.uppercased()).log",
        "web-0_default_-\(id).log",  // empty container
        "web-0_default_Nginx-\(id).log", "web-0_Default_nginx-\(id).log", "Web-0_default_nginx-\(id).log",
        "web-0_default_nginx--\(id).log",  // container ending in `-`
        "_default_nginx-\(id).log", "web-0__nginx-\(id).log", ".log", "",
    ]

    @Test(arguments: bad)
    func rejects(fileName: String) {
        #expect(ContainerLogName(parsing: fileName) == nil, "\(fileName)")
    }

    /// The kubelet cuts `<pod>_<ns>_<container>-<id>` to 251 bytes (pkg/kubelet/kuberuntime/legacy.go `logSymlink`).
    @Test(arguments: [0, 1, 2, 10, 63])
    func parsesNamesCutInsideTheID(keptHexDigits: Int) throws {
        let namespace = "batch-jobs"
        let container = "worker"
        let podLength = 251 - namespace.count - container.count - 3 - keptHexDigits
        let pod = String(repeating: "p", count: podLength)
        let fileName = NodeFixture.linkName(pod: pod, namespace: namespace, container: container, id: id)
        #expect(fileName.utf8.count == 255)
        let parsed = try #require(ContainerLogName(parsing: fileName))
        #expect(parsed == ContainerLogName(
            pod: pod, namespace: namespace, container: container, idPrefix: String(id.prefix(keptHexDigits)), isTruncated: true))
    }

    @Test func aWholeIDThatExactlyFillsTheLimitIsNotCut() throws {
        let pod = String(repeating: "p", count: 251 - "default".count - "app".count - 3 - 64)
        let fileName = "\(pod)_default_app-\(id).log"
        #expect(fileName.utf8.count == 255)
        let parsed = try #require(ContainerLogName(parsing: fileName))
        #expect(!parsed.isTruncated)
        #expect(parsed.idPrefix == id)
    }

    @Test func aNameCutInsideTheContainerNameKeepsWhatIsLeft() throws {
        // len(pod) + len(ns) = 217, the most a pod that starts can have: 32 bytes are left.
        let pod = String(repeating: "p", count: 215)
        let fileName = NodeFixture.linkName(pod: pod, namespace: "ns", container: "very-long-container-name-for-testing-cuts", id: id)
        let parsed = try #require(ContainerLogName(parsing: fileName))
        #expect(parsed.isTruncated)
        #expect(parsed.container == "very-long-container-name-for-tes")
        #expect(parsed.idPrefix == "")
        // Once the target gives the whole container name, the ID part is known to be empty.
        #expect(ContainerLogJoin.idPrefix(afterContainer: "very-long-container-name-for-testing-cuts", inLinkNamed: fileName) == "")
    }

    @Test func idPrefixAfterAKnownContainerName() {
        let name = NodeFixture.linkName(pod: String(repeating: "p", count: 200), namespace: "ns", container: "a-b", id: id)
        #expect(ContainerLogJoin.idPrefix(afterContainer: "a-b", inLinkNamed: name) == String(id.prefix(251 - 200 - 2 - 2 - 3 - 1)))
        #expect(ContainerLogJoin.idPrefix(afterContainer: "a", inLinkNamed: name) == nil)  // "b-…" is not hex
    }

    @Test func targetsNameThePodUIDContainerAndRestart() throws {
        let uid = "6f1c2b9e-3d4a-4b8c-9e0f-1a2b3c4d5e6f"
        let target = try #require(ContainerLogTarget(parsing: "/var/log/pods/default_web-0_\(uid)/nginx/3.log"))
        #expect(target.pod == PodLogDirectoryName(namespace: "default", name: "web-0", uid: uid))
        #expect(target.container == "nginx")
        #expect(target.restartCount == 3)
        #expect(ContainerLogTarget(parsing: "/custom/logs/default_web-0_\(uid)/nginx/0.log")?.restartCount == 0)
        #expect(ContainerLogTarget(parsing: "/var/log/pods/\(uid)/nginx/0.log") == nil)  // legacy: no names
        #expect(ContainerLogTarget(parsing: "nginx/0.log") == nil)
        #expect(ContainerLogTarget(parsing: "/var/log/pods/default_web-0_\(uid)/Nginx/0.log") == nil)
    }

    /// `<n>.log` as the kubelet writes it (`%d.log`, helpers.go `buildContainerLogsPath`): decimal
    /// digits and nothing else; a rotated file, a sign, other digits or an overflow give nil.
    @Test(arguments: [
        ("0.log", 0), ("3.log", 3), ("12.log", 12), ("007.log", 7), ("9223372036854775807.log", Int.max),
        ("9223372036854775808.log", nil), ("1.log.20261203-101010.gz", nil), ("1.log.20261203-101010", nil),
        ("+1.log", nil), ("-1.log", nil), (" 1.log", nil), (".log", nil), ("a.log", nil), ("1.txt", nil),
        ("1", nil), ("\u{FF11}.log", nil), ("1.LOG", nil), ("0x1.log", nil),
    ] as [(String, Int?)])
    func restartCountOfALogFileName(name: String, expected: Int?) {
        #expect(ContainerLogTarget.restartCount(ofLogFileNamed: Substring(name)) == expected)
        let target = ContainerLogTarget(parsing: "/var/log/pods/default_web-0_6f1c2b9e-3d4a-4b8c-9e0f-1a2b3c4d5e6f/nginx/" + name)
        #expect(target?.restartCount == expected)
    }
}
