import Glibc
import KubemeterTestSupport
import Testing
@testable import KubemeterDiscovery

/// End to end on trees written by the project's generator, `Tests/tools/fake-node`: discovery
/// must find exactly the pods and containers of its truth.json, no more, no less.
@Suite struct FakeNodeTests {
    /// One row per container: namespace, pod, uid, qos, container, id, restart count.
    struct Row: Hashable, CustomStringConvertible {
        var namespace, pod, uid, qos, container, id, restarts: String
        var description: String { "\(namespace)/\(pod) \(uid) \(qos) \(container) \(id) restarts=\(restarts)" }
    }

    /// truth.json flattened by Python's own json module (no Foundation here).
    static func truthRows(_ out: String) throws -> (rows: Set<Row>, pods: Int) {
        let script = "import json,sys; t=json.load(open(sys.argv[1])); print(len(t['pods'])); "
            + "[print('\\t'.join([p['namespace'],p['name'],p['uid'],p['qos'],c['name'],c['id'],str(c['restart_count'])])) "
            + "for p in t['pods'] for c in p['containers']]"
        try TestShell.run("python3 -c \"\(script)\" '\(out)/truth.json' > '\(out)/truth.tsv'")
        let text = try TestShell.readFile("\(out)/truth.tsv")
        var lines = text.split(separator: "\n")
        let pods = try #require(Int(lines.removeFirst()))
        let rows = try lines.map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            try #require(fields.count == 7)
            return Row(namespace: fields[0], pod: fields[1], uid: fields[2], qos: fields[3], container: fields[4], id: fields[5],
                       restarts: fields[6])
        }
        return (Set(rows), pods)
    }

    static func rows(_ report: DiscoveryReport) -> Set<Row> {
        Set(report.pods.flatMap { pod in
            pod.containers.map {
                Row(namespace: pod.namespace, pod: pod.name, uid: pod.uid, qos: pod.qos.rawValue, container: $0.name, id: $0.id,
                    restarts: $0.restartCount.map(String.init) ?? "unknown")
            }
        })
    }

    static func discover(_ out: String) -> DiscoveryReport {
        PodDiscovery(configuration: DiscoveryConfiguration(
            cgroupRoot: out + "/sys/fs/cgroup", podLogDirectory: out + "/var/log/pods",
            containerLogDirectory: out + "/var/log/containers")).discover()
    }

    @Test(arguments: ["systemd", "cgroupfs"], ["containerd", "crio", "docker"])
    func findsExactlyTheTruth(driver: String, runtime: String) throws {
        let tool = try #require(TestShell.fakeNodeTool(), "Tests/tools/fake-node not found above \(#filePath)")
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let out = tree.path + "/node"
        try TestShell.run("python3 '\(tool)' '\(out)' --pods 8 --containers 3 --driver \(driver) --runtime \(runtime) > /dev/null")
        let truth = try Self.truthRows(out)
        #expect(truth.pods == 8)
        #expect(truth.rows.count == 24)

        let report = Self.discover(out)

        #expect(report.kubepodsPath == out + (driver == "systemd" ? "/sys/fs/cgroup/kubepods.slice" : "/sys/fs/cgroup/kubepods"))
        #expect(report.pods.count == truth.pods)
        let found = Self.rows(report)
        #expect(found.subtracting(truth.rows).isEmpty, "found but not in truth: \(found.subtracting(truth.rows))")
        #expect(truth.rows.subtracting(found).isEmpty, "in truth but not found: \(truth.rows.subtracting(found))")
        // Each pod's one unnamed cgroup is its sandbox; CRI-O's conmon scopes are not containers.
        #expect(report.pods.allSatisfy { $0.unnamedContainerIDs.count == 1 && $0.containers.count == 3 })
        let expectedRuntime: ContainerRuntime = switch (driver, runtime) {
        case (_, "crio"): .crio
        case ("systemd", "containerd"): .containerd
        case ("systemd", "docker"): .docker
        default: .unknown
        }
        #expect(report.pods.allSatisfy { $0.containers.allSatisfy { $0.runtime == expectedRuntime } })
        #expect((report.podCgroupsWithoutLogDirectory, report.skippedEntries, report.vanishedEntries) == (0, 0, 0))
    }

    /// After `--churn`: pods deleted and new ones created; discovery sees the new truth.
    @Test func followsChurn() throws {
        let tool = try #require(TestShell.fakeNodeTool(), "Tests/tools/fake-node not found above \(#filePath)")
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let out = tree.path + "/node"
        try TestShell.run("python3 '\(tool)' '\(out)' --pods 8 --containers 2 --driver systemd --runtime containerd > /dev/null")
        let before = Self.rows(Self.discover(out))
        #expect(before == (try Self.truthRows(out)).rows)
        try TestShell.run("python3 '\(tool)' '\(out)' --churn 3 --seed 5 > /dev/null")
        let after = try Self.truthRows(out)
        #expect(Self.rows(Self.discover(out)) == after.rows)
        #expect(after.rows != before)
    }

    /// After `--restart`: the restarted containers have new IDs and their counts went up by one;
    /// discovery sees exactly the new truth (and the generator gives some counts 0, some more).
    @Test func followsRestarts() throws {
        let tool = try #require(TestShell.fakeNodeTool(), "Tests/tools/fake-node not found above \(#filePath)")
        let tree = TemporaryDirectory()
        defer { tree.remove() }
        let out = tree.path + "/node"
        try TestShell.run("python3 '\(tool)' '\(out)' --pods 8 --containers 2 --driver cgroupfs --runtime crio > /dev/null")
        let before = try Self.truthRows(out).rows
        #expect(Self.rows(Self.discover(out)) == before)
        #expect(before.contains { $0.restarts == "0" } && before.contains { $0.restarts != "0" })
        try TestShell.run("python3 '\(tool)' '\(out)' --restart 3 --seed 5 > /dev/null")
        let after = try Self.truthRows(out).rows
        #expect(Self.rows(Self.discover(out)) == after)
        let restarted = after.subtracting(before)
        #expect(restarted.count == 3)
        for row in restarted {
            let previous = before.first { $0.uid == row.uid && $0.container == row.container }
            #expect(previous.map { Int($0.restarts)! + 1 } == Int(row.restarts), "\(row)")
        }
    }
}
