#if canImport(Glibc)
import Glibc
#endif

/// A scratch directory removed when the test is done with it.
final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/kubemeter-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    deinit { _ = system("rm -rf '\(path)'") }

    func write(_ relative: String, _ text: String) {
        let full = path + "/" + relative
        makeDirectory(String(full[..<full.lastIndex(of: "/")!]))
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "cannot create \(full)")
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress!, $0.count - 1) }
        close(fd)
    }

    func makeDirectory(_ full: String) {
        _ = system("mkdir -p '\(full)'")
    }
}
