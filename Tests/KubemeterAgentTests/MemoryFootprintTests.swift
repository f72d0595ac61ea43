#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import KubemeterAgent

/// The process's resident set, in KiB, from /proc/self/status.
private func residentKiB() -> Int? {
    guard let file = fopen("/proc/self/status", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmRSS:") {
            return Int(text.dropFirst(6).split { $0 == " " || $0 == "\t" }.first ?? "")
        }
    }
    return nil
}

/// Releasing the program's code pages unmaps them (RSS drops) and the program runs on: the code
/// it needs faults back in.
@Test func releasingStartupCodeUnmapsItAndTheProgramRunsOn() throws {
    let before = try #require(residentKiB())
    let released = MemoryFootprint.releaseStartupCode()
    let after = try #require(residentKiB())
    #expect(released > 1 << 20, "the test binary's code segment is megabytes")
    #expect(after < before, "RSS \(before) KiB before, \(after) KiB after")
    // Code runs again after the release (this test, the runtime, the test library).
    #expect([3, 1, 2].sorted() == [1, 2, 3])
}
