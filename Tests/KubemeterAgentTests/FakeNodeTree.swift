#if canImport(Glibc)
import Glibc
#endif
import KubemeterCollector
import KubemeterTestSupport
import Testing

/// A synthetic node written by the project's generator, `Tests/tools/fake-node`, with the
/// values its truth.json says a correct agent must report.
final class FakeNodeTree {
    /// What truth.json says of one pod or container cgroup.
    struct Expected: Equatable, CustomStringConvertible {
        var cpuSeconds: Double
        var workingSetBytes: UInt64
        var description: String { "cpu \(cpuSeconds) s, working set \(workingSetBytes) B" }
    }

    /// truth.json, by pod UID and by container ID.
    struct Truth {
        var pods: [String: Expected] = [:]
        var containers: [String: Expected] = [:]
    }

    let directory = TemporaryDirectory()
    var root: String { directory.path + "/node" }
    var paths: HostPaths { .resolve(hostRoot: root) }
    var podLogDirectory: String { root + "/var/log/pods" }

    init(pods: Int, containers: Int, driver: String, runtime: String = "containerd") throws {
        let tool = try #require(TestShell.fakeNodeTool(), "Tests/tools/fake-node not found above \(#filePath)")
        try TestShell.run("python3 '\(tool)' '\(root)' --pods \(pods) --containers \(containers) "
            + "--driver \(driver) --runtime \(runtime) --seed 7 > /dev/null")
    }

    /// truth.json flattened by Python's json module (no Foundation here); floats travel as
    /// `repr`, which reads back as the same Double.
    func truth() throws -> Truth {
        let script = "import json,sys; t=json.load(open(sys.argv[1]))\n"
            + "for p in t['pods']:\n"
            + "    print('pod', p['uid'], repr(p['cpu_seconds']), p['working_set_bytes'])\n"
            + "    for c in p['containers']: print('container', c['id'], repr(c['cpu_seconds']), c['working_set_bytes'])\n"
        let scriptPath = directory.path + "/flatten.py"
        directory.writeFile("flatten.py", script)
        try TestShell.run("python3 '\(scriptPath)' '\(root)/truth.json' > '\(directory.path)/truth.txt'")
        var truth = Truth()
        for line in try TestShell.readFile(directory.path + "/truth.txt").split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            try #require(fields.count == 4, "odd line \(line)")
            let expected = Expected(
                cpuSeconds: try #require(Double(fields[2])), workingSetBytes: try #require(UInt64(fields[3])))
            if fields[0] == "pod" { truth.pods[fields[1]] = expected } else { truth.containers[fields[1]] = expected }
        }
        return truth
    }
}
