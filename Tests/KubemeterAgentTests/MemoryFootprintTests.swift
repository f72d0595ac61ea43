#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import KubemeterAgent
import CLinux
import KubemeterParsers

/// The resident KiB of the executable mapping that holds `address`, from /proc/self/smaps: the
/// program's own code pages, which other tests' allocations running in parallel do not move (the
/// whole-process VmRSS would).
private func residentCodeKiB(containing address: UInt) -> Int? {
    guard let file = fopen("/proc/self/smaps", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 512)
    var inMapping = false
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fields = text.split(separator: " ", omittingEmptySubsequences: true)
        if let range = fields.first, range.contains("-"), fields.count > 1, fields[1].count == 4 {
            let bounds = range.split(separator: "-")
            if bounds.count == 2, let low = UInt(bounds[0], radix: 16), let high = UInt(bounds[1], radix: 16) {
                inMapping = fields[1].dropFirst(2).first == "x" && low <= address && address < high
            }
        } else if inMapping, text.hasPrefix("Rss:") {
            return Int(fields.dropFirst().first ?? "")
        }
    }
    return nil
}

/// Releasing the program's code pages unmaps them (the code mapping's resident set drops by
/// megabytes) and the program runs on: the code it then runs faults back in.
@Test func releasingStartupCodeUnmapsItAndTheProgramRunsOn() throws {
    let releaser: @convention(c) () -> Int = clinux_release_program_text
    let code = UInt(bitPattern: unsafeBitCast(releaser, to: UnsafeRawPointer.self))
    let before = try #require(residentCodeKiB(containing: code))
    let released = MemoryFootprint.releaseStartupCode()
    let after = try #require(residentCodeKiB(containing: code))
    #expect(released > 1 << 20, "the test binary's code segment is megabytes")
    #expect(after + 256 < before, "code resident \(before) KiB before, \(after) KiB after")
    // Code not run since the release (the collector's parsers, the renderers) is mapped again on use.
    // Tests running in parallel may run the same parser between the release and the measure (its
    // page is then resident already, and nothing grows), so each attempt releases again first.
    let text = "usage_usec 12345\nuser_usec 1\nsystem_usec 2\nnr_periods 3\nnr_throttled 4\nthrottled_usec 5\n"
    var faultedBack: [(after: Int, again: Int)] = []
    for attempt in 0..<5 {
        if attempt > 0 { _ = MemoryFootprint.releaseStartupCode() }
        let resident = try #require(residentCodeKiB(containing: code))
        let cpu = try Array(text.utf8).withUnsafeBytes { bytes throws(ParseError) in try CPUStat.parse(bytes) }
        #expect(cpu.usageUsec == 12345 && cpu.throttledUsec == 5)
        let again = try #require(residentCodeKiB(containing: code))
        faultedBack.append((resident, again))
        if again > resident { break }
    }
    #expect(faultedBack.contains { $0.again > $0.after }, "running code faulted no page back (KiB before, after): \(faultedBack)")
}
