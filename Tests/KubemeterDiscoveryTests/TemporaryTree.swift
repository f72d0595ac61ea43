import KubemeterTestSupport
import Glibc
import Testing

/// A directory made with mkdtemp for one test, removed with everything in it by `remove()`.
struct TemporaryTree {
    let path: String

    init() throws {
        var template = Array("/tmp/kubemeter-discovery-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = try #require(made.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
    }

    func remove() { Self.removeTree(path) }

    /// `path`-relative or absolute; parents are made as needed.
    func makeDirectory(_ relative: String) {
        let absolute = relative.hasPrefix("/") ? relative : path + "/" + relative
        var partial = ""
        for component in absolute.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0 && errno != EEXIST {
                Issue.record("mkdir \(partial): errno \(errno)")
            }
        }
    }

    func writeFile(_ relative: String, _ contents: String = "") {
        let absolute = path + "/" + relative
        if let slash = absolute.lastIndex(of: "/") { makeDirectory(String(absolute[..<slash])) }
        let fd = open(absolute, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { Issue.record("open \(absolute): errno \(errno)"); return }
        _ = contents.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// A symlink at `relative` pointing at `target`, which need not exist.
    func symlink(_ relative: String, to target: String) {
        let absolute = path + "/" + relative
        if let slash = absolute.lastIndex(of: "/") { makeDirectory(String(absolute[..<slash])) }
        if Glibc.symlink(target, absolute) != 0 { Issue.record("symlink \(absolute): errno \(errno)") }
    }

    func exists(_ absolute: String) -> Bool {
        var status = stat()
        return lstat(absolute, &status) == 0
    }

    static func removeTree(_ path: String) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        if status.st_mode & S_IFMT == S_IFDIR {
            if let directory = opendir(path) {
                var names: [String] = []
                while let entry = readdir(directory) {
                    let name = withUnsafePointer(to: &entry.pointee.d_name) {
                        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(directory)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// Deterministic 64-hex container IDs and UUIDs (SplitMix64), so failures reproduce.
struct IDSource {
    private var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    mutating func hex(_ count: Int) -> String {
        var text = ""
        while text.count < count {
            let word = String(next(), radix: 16)
            text += String(repeating: "0", count: 16 - word.count) + word
        }
        return String(text.prefix(count))
    }

    mutating func containerID(prefix: String = "") -> String { prefix + hex(64 - prefix.count) }

    mutating func uuid() -> String {
        let h = hex(32)
        let chars = Array(h)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
    }

    /// A static pod's UID: 32 hex digits, no dashes.
    mutating func staticUID() -> String { hex(32) }
}
