import KubemeterTestSupport
import Testing
@testable import KubemeterParsers

/// Deterministic mutation fuzzing: 20,000 inputs per parser, made from a real sample by a seeded
/// generator. Each parse must return or throw a ParseError naming the parser's file (never crash),
/// and parsing the same bytes twice must give the same answer.
@Suite struct FuzzTests {
    static let iterations = 20_000

    /// Bytes that matter to the formats, so mutations reach the interesting branches.
    static let interesting: [UInt8] = Array(" \t\n\r:=()|.-+0123456789maxkBsomefull".utf8) + [0, 0x7F, 0x80, 0xFF]
    static let tokens: [[UInt8]] = [
        "18446744073709551615", "18446744073709551616", "-1", "max", "kB", " kB", "\r\n", "\n\n",
        "cpu", "cpu0 ", "usage_usec ", "some ", "full ", "avg10=", "total=", "8:0 ", "rbytes=", ")",
        "(", "MemTotal:", "eth0:", "99999999999999999999999", "0.00", "1.", ".5",
    ].map { Array($0.utf8) }

    static func mutate(_ input: inout [UInt8], _ rng: inout SplitMix64) {
        let count = input.count
        switch rng.next() % 8 {
        case 0 where count > 0:  // overwrite a byte
            input[Int(rng.next() % UInt64(count))] = UInt8(truncatingIfNeeded: rng.next())
        case 1:  // insert an interesting byte
            let at = Int(rng.next() % UInt64(count + 1))
            input.insert(interesting[Int(rng.next() % UInt64(interesting.count))], at: at)
        case 2 where count > 0:  // delete a range
            let start = Int(rng.next() % UInt64(count))
            let end = min(count, start + Int(rng.next() % 16) + 1)
            input.removeSubrange(start..<end)
        case 3 where count > 0:  // duplicate a range (repeats keys and lines)
            let start = Int(rng.next() % UInt64(count))
            let end = min(count, start + Int(rng.next() % 64) + 1)
            input.insert(contentsOf: input[start..<end], at: Int(rng.next() % UInt64(count + 1)))
        case 4:  // insert a token
            let at = Int(rng.next() % UInt64(count + 1))
            input.insert(contentsOf: tokens[Int(rng.next() % UInt64(tokens.count))], at: at)
        case 5 where count > 0:  // truncate
            input.removeLast(Int(rng.next() % UInt64(count)))
        case 6 where count > 0:  // replace a byte with an interesting one
            input[Int(rng.next() % UInt64(count))] = interesting[Int(rng.next() % UInt64(interesting.count))]
        default:  // random bytes
            let at = Int(rng.next() % UInt64(count + 1))
            let length = Int(rng.next() % 8) + 1
            input.insert(contentsOf: (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
        }
    }

    static func fuzz<T: KernelFile & Equatable>(_ type: T.Type, samples: [[UInt8]], seed: UInt64, fileName: String = T.fileName) {
        var rng = SplitMix64(seed: seed)
        var failures = 0
        var parsed = 0
        for iteration in 0..<iterations {
            var input = samples[iteration % samples.count]
            for _ in 0..<(1 + Int(rng.next() % 4)) { mutate(&input, &rng) }
            let first = Result { () throws(ParseError) -> T in try T.parse(input) }
            let second = Result { () throws(ParseError) -> T in try T.parse(input) }
            var ok = true
            switch (first, second) {
            case (.success(let a), .success(let b)): ok = a == b; parsed += 1
            case (.failure(let a), .failure(let b)): ok = a == b && a.file == fileName
            default: ok = false
            }
            if !ok {
                failures += 1
                if failures <= 5 { Issue.record("iteration \(iteration): \(input) gave \(first) then \(second)") }
            }
        }
        #expect(failures == 0)
        // Not all mutations are fatal: some inputs must still parse, or the loop tests little.
        #expect(parsed > 0)
    }

    @Test func cpuStat() throws {
        Self.fuzz(CPUStat.self, samples: [try Fixture.bytes("cgroupv2_cpu.stat.txt"), try Fixture.bytes("cgroup_unified_cpu.stat.txt")], seed: 1)
    }

    @Test func memoryStat() throws {
        Self.fuzz(MemoryStat.self, samples: [try Fixture.bytes("cgroupv2_memory.stat.txt")], seed: 2)
    }

    @Test func memoryEvents() throws {
        Self.fuzz(MemoryEvents.self, samples: [try Fixture.bytes("cgroupv2_memory.events.txt")], seed: 3)
    }

    @Test func cgroupEvents() throws {
        Self.fuzz(CgroupEvents.self, samples: [try Fixture.bytes("cgroupv2_cgroup.events.txt")], seed: 4)
    }

    @Test func cgroupValue() throws {
        Self.fuzz(CgroupValue.self, samples: [try Fixture.bytes("cgroupv2_memory.current.txt")], seed: 5)
    }

    @Test func cgroupLimit() throws {
        Self.fuzz(CgroupLimit.self, samples: [try Fixture.bytes("cgroupv2_memory.max.txt"), Array("1073741824\n".utf8)], seed: 6)
    }

    @Test func cpuMax() throws {
        Self.fuzz(CPUMax.self, samples: [try Fixture.bytes("cgroupv2_cpu.max.txt"), Array("50000 100000\n".utf8)], seed: 7)
    }

    @Test func pressure() throws {
        Self.fuzz(Pressure.self, samples: [try Fixture.bytes("proc_pressure_io.txt"), try Fixture.bytes("cgroup_unified_cpu.pressure.txt")], seed: 8)
    }

    @Test func ioStat() throws {
        Self.fuzz(IOStat.self, samples: [try Fixture.bytes("cgroupv2_io.stat.txt")], seed: 9)
    }

    @Test func procStat() throws {
        Self.fuzz(ProcStat.self, samples: [try Fixture.bytes("proc_stat.txt")], seed: 10)
    }

    @Test func meminfo() throws {
        Self.fuzz(Meminfo.self, samples: [try Fixture.bytes("proc_meminfo.txt")], seed: 11)
    }

    @Test func netDev() throws {
        Self.fuzz(NetDev.self, samples: [try Fixture.bytes("proc_net_dev.txt")], seed: 12)
    }

    @Test func procPIDStat() throws {
        Self.fuzz(ProcPIDStat.self, samples: [try Fixture.bytes("proc_self_stat.txt"), try Fixture.bytes("proc_1_stat.txt")], seed: 13)
    }
}
