import Testing
@testable import KubemeterParsers

@Suite struct MemoryStatTests {
    // This host runs cgroup v2 in hybrid mode with memory on v1, so it has no v2 memory.stat. The
    // fixture is written in the kernel's format: keys in the order of mm/memcontrol.c
    // `memory_stats[]` and memcg vm events (Linux 6.x), "key value" lines in bytes or counts.
    @Test func kernelFormatSample() throws {
        let stat = try MemoryStat.parse(try Fixture.bytes("cgroupv2_memory.stat.txt"))
        #expect(stat.anon == 81_154_048)
        #expect(stat.file == 152_510_464)
        #expect(stat.kernel == 9_367_552)
        #expect(stat.kernelStack == 589_824)
        #expect(stat.pagetables == 1_347_584)
        #expect(stat.sock == 12288)
        #expect(stat.shmem == 1_351_680)
        #expect(stat.fileMapped == 48_017_408)
        #expect(stat.fileDirty == 73728)
        #expect(stat.fileWriteback == 0)
        #expect(stat.swapcached == 0)
        #expect(stat.anonThp == 33_554_432)
        #expect(stat.inactiveAnon == 82_337_792)
        #expect(stat.activeAnon == 167_936)
        #expect(stat.inactiveFile == 99_115_008)
        #expect(stat.activeFile == 52_043_776)
        #expect(stat.unevictable == 0)
        #expect(stat.slabReclaimable == 5_807_464)
        #expect(stat.slabUnreclaimable == 2_631_048)
        #expect(stat.slab == 8_438_512)
        #expect(stat.pgfault == 3_101_542)
        #expect(stat.pgmajfault == 211)
        #expect(stat.workingsetRefaultAnon == 0)
        #expect(stat.workingsetRefaultFile == 1432)
        #expect(stat.malformedLines == 0)
        // The kernel's own sum: slab = slab_reclaimable + slab_unreclaimable.
        #expect(stat.slab == stat.slabReclaimable! + stat.slabUnreclaimable!)
    }

    @Test func oldKernelWithoutNewerKeys() throws {
        // Linux 5.4 had no `kernel`, no `swapcached` and a single `workingset_refault`.
        let stat = try MemoryStat.parse(lines("anon 4096", "file 8192", "workingset_refault 3", "pgfault 9"))
        #expect(stat == MemoryStat(anon: 4096, file: 8192, pgfault: 9))
    }

    @Test func prefixOfAKeyIsNotTheKey() throws {
        // "file" must not match "file_mapped", nor "slab" match "slab_reclaimable".
        let stat = try MemoryStat.parse(lines("file_mapped 1", "slab_reclaimable 2", "fil 3", "files 4"))
        #expect(stat == MemoryStat(fileMapped: 1, slabReclaimable: 2))
    }

    @Test func malformedLinesAreCountedOthersExact() throws {
        let stat = try MemoryStat.parse(lines(
            "anon 1", "file -2", "anon 3", "shmem 5", "garbage", "inactive_file 18446744073709551616",
            "active_file 7"))
        #expect(stat == MemoryStat(shmem: 5, activeFile: 7, malformedLines: 4))
    }

    @Test func workingSetParseTakesItsThreeKeysAndNothingElse() throws {
        let bytes = try Fixture.bytes("cgroupv2_memory.stat.txt")
        let full = try MemoryStat.parse(bytes)
        let narrow = try workingSet(bytes)
        #expect(narrow == MemoryStat(anon: full.anon, file: full.file, inactiveFile: full.inactiveFile))
        #expect(narrow.inactiveFile == 99_115_008)
    }

    @Test func workingSetParseStopsAtItsLastKey() throws {
        // Lines after inactive_file are not read: a malformed one there is not counted, one
        // before it is, and a repeat of a key before it still voids that key.
        let stat = try workingSet(lines(
            "anon 1", "anon 2", "garbage", "file 3", "inactive_file 4", "file 5", "nonsense"))
        #expect(stat == MemoryStat(file: 3, inactiveFile: 4, malformedLines: 2))
        // Without inactive_file the whole file is read, and the working set subtracts nothing.
        let old = try workingSet(lines("anon 7", "file 8", "pgfault 9"))
        #expect(old == MemoryStat(anon: 7, file: 8))
    }

    private func workingSet(_ text: String) throws -> MemoryStat { try workingSet(Array(text.utf8)) }

    private func workingSet(_ bytes: [UInt8]) throws -> MemoryStat {
        try bytes.withUnsafeBytes { (raw) throws(ParseError) in try MemoryStat.parseWorkingSet(raw) }
    }

    @Test func emptyThrows() {
        #expect(parseError(MemoryStat.self, "\n") == ParseError(file: "memory.stat", reason: .empty))
    }
}
