import Testing
@testable import KubemeterParsers

/// KiB to bytes, typed (a literal product inside `#expect` is not reliably typed as UInt64).
private func kB(_ n: UInt64) -> UInt64 { n * 1024 }

@Suite struct MeminfoTests {
    // Copied from this host's /proc/meminfo (Linux 6.18).
    @Test func realSample() throws {
        let info = try Meminfo.parse(try Fixture.bytes("proc_meminfo.txt"))
        #expect(info.names.count == 54)
        #expect(info.values.count == 54)
        #expect(info.names.first == "MemTotal")
        #expect(info.values.first == kB(24_684_092))
        #expect(info.names.last == "DirectMap1G")
        #expect(info.values.last == kB(25_165_824))
        #expect(info.memTotal == kB(24_684_092))
        #expect(info.memFree == kB(23_956_536))
        #expect(info.memAvailable == kB(24_349_168))
        #expect(info.buffers == kB(4520))
        #expect(info.cached == kB(568_100))
        #expect(info.swapTotal == 0)
        #expect(info.swapFree == 0)
        #expect(info.activeFile == kB(397_248))
        #expect(info.inactiveFile == kB(166_512))
        #expect(info["VmallocTotal"] == kB(34_359_738_367))
        #expect(info["HugePages_Total"] == 0)       // unit-less: a count, not kB
        #expect(info["Hugepagesize"] == kB(2048))
        #expect(info["NoSuchEntry"] == nil)
        #expect(info.malformedLines == 0)
    }

    @Test func unitlessValuesStayRaw() throws {
        let info = try Meminfo.parse(lines("HugePages_Total:     512", "MemTotal:  3 kB"))
        #expect(info == Meminfo(names: ["HugePages_Total", "MemTotal"], values: [512, 3072]))
    }

    @Test func overflowOnConversionSkipsTheEntry() throws {
        // 18014398509481984 kB * 1024 = 2^64: one past UInt64.max.
        let info = try Meminfo.parse(lines(
            "MemTotal: 18014398509481984 kB", "MemFree: 18014398509481983 kB", "Raw: 18446744073709551615"))
        #expect(info.memTotal == nil)
        #expect(info.memFree == kB(18_014_398_509_481_983))
        #expect(info["Raw"] == UInt64.max)
        #expect(info.malformedLines == 1)
    }

    @Test func malformedLines() throws {
        let info = try Meminfo.parse(lines(
            "MemTotal:       100 kB",
            "NoColon 5 kB",
            "MemFree:       -5 kB",
            "Cached:        5 MB",           // unknown unit
            "Buffers:       5 kB extra",
            "Shmem:",
            ": 5 kB",                         // no name
            "Bad Name: 5 kB",                 // blank inside the name
            "SwapFree:      max",
            "SwapTotal:     7 kB"))
        #expect(info == Meminfo(names: ["MemTotal", "SwapTotal"], values: [102_400, 7168], malformedLines: 8))
    }

    @Test func repeatedNameIsRemovedEntirely() throws {
        let info = try Meminfo.parse(lines("MemTotal: 1 kB", "MemFree: 2 kB", "MemTotal: 1 kB"))
        #expect(info == Meminfo(names: ["MemFree"], values: [2048], malformedLines: 1))
        #expect(info.memTotal == nil)
    }

    @Test func overLongNameIsRefused() throws {
        let name = String(repeating: "A", count: 65)
        let info = try Meminfo.parse("\(name): 1 kB\nMemFree: 2 kB\n")
        #expect(info == Meminfo(names: ["MemFree"], values: [2048], malformedLines: 1))
    }

    @Test func emptyAndCRLF() throws {
        #expect(parseError(Meminfo.self, "") == ParseError(file: "/proc/meminfo", reason: .empty))
        let info = try Meminfo.parse("MemTotal: 1 kB\r\nMemFree: 2 kB\r\n")
        #expect(info == Meminfo(names: ["MemTotal", "MemFree"], values: [1024, 2048]))
    }
}
