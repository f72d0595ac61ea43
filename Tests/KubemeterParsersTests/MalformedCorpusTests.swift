import Testing
@testable import KubemeterParsers

/// The same hostile inputs, given to every parser. Each must give a typed error or a value with
/// nothing taken from the garbage, and garbage next to a real sample must not change the sample's
/// values.
@Suite struct MalformedCorpusTests {
    struct Spec<T: KernelFile & Equatable> {
        var sample: [UInt8]
        /// The error's file name (the generic name for one-type-many-files parsers).
        var fileName: String = T.fileName
        /// io.stat is legitimately empty; every other file is not.
        var emptyIsError = true
        /// Line-oriented files keep reading after a bad line; one-record files do not.
        var lineBased = true
        /// True when the value holds nothing read from the input.
        var vacant: (T) -> Bool
        /// The value with its skip counter cleared, to compare values across inputs.
        var normalized: (T) -> T = { $0 }
    }

    static let oneMiB = 1 << 20

    static func check<T: KernelFile & Equatable>(_ type: T.Type, _ spec: Spec<T>) throws {
        func run(_ bytes: [UInt8], _ what: String) -> Result<T, ParseError> {
            let result = Result { () throws(ParseError) -> T in try T.parse(bytes) }
            if case .failure(let error) = result {
                #expect(error.file == spec.fileName, "\(what): \(error)")
            }
            return result
        }
        func expectNothingTaken(_ bytes: [UInt8], _ what: String) {
            if case .success(let value) = run(bytes, what) {
                #expect(spec.vacant(value), "\(what) gave \(value)")
            }
        }

        // Empty and whitespace only.
        for (bytes, what) in [([UInt8](), "empty"), (Array(" \n\t\r\n  \n".utf8), "whitespace")] {
            switch run(bytes, what) {
            case .failure(let error):
                #expect(spec.emptyIsError && error.reason == .empty, "\(what): \(error)")
            case .success(let value):
                #expect(!spec.emptyIsError && spec.vacant(value), "\(what) gave \(value)")
            }
        }

        // Binary bytes, one of each, and repeated in reverse.
        let binary = (0...255).map { UInt8($0) }
        expectNothingTaken(binary, "binary")
        expectNothingTaken(binary.reversed() + binary, "binary twice")

        // Very long lines: letters, digits, blanks, one key repeated.
        let longLetters = [UInt8](repeating: UInt8(ascii: "a"), count: oneMiB)
        let longDigits = [UInt8](repeating: UInt8(ascii: "9"), count: oneMiB)
        expectNothingTaken(longLetters, "1 MiB letters")
        expectNothingTaken(longDigits, "1 MiB digits")
        expectNothingTaken(longDigits + [10], "1 MiB digits and newline")
        expectNothingTaken([UInt8](repeating: UInt8(ascii: "("), count: oneMiB), "1 MiB parentheses")
        expectNothingTaken(Array(String(repeating: "k=1 ", count: oneMiB / 4).utf8), "1 MiB key=value")

        // Numbers where the format does not want them, and alone.
        for text in ["-1\n", "18446744073709551616\n", "max\n", "1 2 3\n", ":\n", "=\n", "(\n", ")\n", "\r\n\r\n"] {
            let bytes = Array(text.utf8)
            if text == "\r\n\r\n" {
                #expect((try? T.parse(bytes)).map(spec.vacant) ?? true, "CRLF only")
            } else if T.self != CgroupValue.self && T.self != CgroupLimit.self {
                expectNothingTaken(bytes, text)
            }
        }

        // The real sample: it parses, and its CRLF form parses to the same value.
        guard case .success(let expected) = run(spec.sample, "sample") else {
            Issue.record("sample did not parse")
            return
        }
        let crlf = spec.sample.flatMap { $0 == 10 ? [13, 10] : [$0] }
        #expect(try T.parse(crlf) == expected, "CRLF sample")

        // The sample cut at every byte: typed errors only (checked by `run`), never a crash.
        for cut in 0..<spec.sample.count {
            _ = run(Array(spec.sample[0..<cut]), "cut at \(cut)")
        }

        if spec.lineBased {
            // Garbage lines around the sample leave its values exact.
            let noise: [[UInt8]] = [
                longLetters, binary.filter { $0 != 10 }, Array("garbage".utf8), Array("a b c d e f".utf8),
                Array("\u{7F}\u{0}\u{1}".utf8),
            ]
            for line in noise {
                let before = line + [10] + spec.sample
                let after = spec.sample + line + [10]
                for (bytes, what) in [(before, "noise before"), (after, "noise after")] {
                    if case .success(let value) = run(bytes, what) {
                        #expect(spec.normalized(value) == spec.normalized(expected), "\(what)")
                    } else {
                        Issue.record("\(what): sample lost")
                    }
                }
            }
        }
    }

    @Test func cpuStat() throws {
        try Self.check(CPUStat.self, Spec(
            sample: try Fixture.bytes("cgroupv2_cpu.stat.txt"),
            vacant: { $0 == CPUStat(malformedLines: $0.malformedLines) },
            normalized: { var v = $0; v.malformedLines = 0; return v }))
    }

    @Test func memoryStat() throws {
        try Self.check(MemoryStat.self, Spec(
            sample: try Fixture.bytes("cgroupv2_memory.stat.txt"),
            vacant: { $0 == MemoryStat(malformedLines: $0.malformedLines) },
            normalized: { var v = $0; v.malformedLines = 0; return v }))
    }

    @Test func memoryEvents() throws {
        try Self.check(MemoryEvents.self, Spec(
            sample: try Fixture.bytes("cgroupv2_memory.events.txt"),
            vacant: { $0 == MemoryEvents(malformedLines: $0.malformedLines) },
            normalized: { var v = $0; v.malformedLines = 0; return v }))
    }

    @Test func cgroupEvents() throws {
        try Self.check(CgroupEvents.self, Spec(
            sample: try Fixture.bytes("cgroupv2_cgroup.events.txt"),
            vacant: { $0.populated == nil && $0.frozen == nil },
            normalized: { var v = $0; v.malformedLines = 0; return v }))
    }

    @Test func cgroupValue() throws {
        try Self.check(CgroupValue.self, Spec(
            sample: try Fixture.bytes("cgroupv2_memory.current.txt"), lineBased: false, vacant: { _ in false }))
    }

    @Test func cgroupLimit() throws {
        try Self.check(CgroupLimit.self, Spec(sample: Array("1073741824\n".utf8), lineBased: false, vacant: { _ in false }))
    }

    @Test func cpuMax() throws {
        try Self.check(CPUMax.self, Spec(
            sample: try Fixture.bytes("cgroupv2_cpu.max.txt"), lineBased: false, vacant: { _ in false }))
    }

    @Test func pressure() throws {
        try Self.check(Pressure.self, Spec(
            sample: try Fixture.bytes("proc_pressure_io.txt"),
            vacant: { $0.some == nil && $0.full == nil },
            normalized: { var v = $0; v.malformedLines = 0; return v }))
    }

    @Test func ioStat() throws {
        try Self.check(IOStat.self, Spec(
            sample: try Fixture.bytes("cgroupv2_io.stat.txt"), emptyIsError: false,
            vacant: { $0.devices.isEmpty },
            normalized: { var v = $0; v.malformedLines = 0; return v }))
    }

    @Test func procStat() throws {
        try Self.check(ProcStat.self, Spec(
            sample: try Fixture.bytes("proc_stat.txt"),
            vacant: { $0 == ProcStat(malformedLines: $0.malformedLines) },
            normalized: { var v = $0; v.malformedLines = 0; return v }))
    }

    @Test func meminfo() throws {
        try Self.check(Meminfo.self, Spec(
            sample: try Fixture.bytes("proc_meminfo.txt"),
            vacant: { $0.names.isEmpty && $0.values.isEmpty },
            normalized: { var v = $0; v.malformedLines = 0; return v }))
    }

    @Test func netDev() throws {
        try Self.check(NetDev.self, Spec(
            sample: try Fixture.bytes("proc_net_dev.txt"),
            vacant: { $0.interfaces.isEmpty },
            normalized: { var v = $0; v.malformedLines = 0; return v }))
    }

    @Test func procPIDStat() throws {
        try Self.check(ProcPIDStat.self, Spec(
            sample: try Fixture.bytes("proc_self_stat.txt"), lineBased: false, vacant: { _ in false }))
    }
}
