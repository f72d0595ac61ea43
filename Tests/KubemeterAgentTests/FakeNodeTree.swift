#if canImport(Glibc)
import Glibc
#endif
import KubemeterCollector
import Testing

/// A synthetic node written by the project's generator, `shared/tools/fake-node`, with the
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
        let tool = try #require(Self.tool(), "shared/tools/fake-node not found above \(#filePath)")
        try Self.run("python3 '\(tool)' '\(root)' --pods \(pods) --containers \(containers) "
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
        directory.write("flatten.py", script)
        try Self.run("python3 '\(scriptPath)' '\(root)/truth.json' > '\(directory.path)/truth.txt'")
        var truth = Truth()
        for line in try Self.readFile(directory.path + "/truth.txt").split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            try #require(fields.count == 4, "odd line \(line)")
            let expected = Expected(
                cpuSeconds: try #require(Double(fields[2])), workingSetBytes: try #require(UInt64(fields[3])))
            if fields[0] == "pod" { truth.pods[fields[1]] = expected } else { truth.containers[fields[1]] = expected }
        }
        return truth
    }

    /// The first ancestor of this file that has `shared/tools/fake-node`.
    static func tool(from file: String = #filePath) -> String? {
        var directory = Substring(file)
        while let slash = directory.lastIndex(of: "/") {
            directory = directory[..<slash]
            let candidate = String(directory) + "/shared/tools/fake-node"
            if access(candidate, R_OK) == 0 { return candidate }
        }
        return nil
    }

    static func run(_ command: String) throws {
        let status = system(command)
        try #require(status == 0, "command failed (\(status)): \(command)")
    }

    static func readFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0, "open \(path)")
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            try #require(count >= 0)
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
