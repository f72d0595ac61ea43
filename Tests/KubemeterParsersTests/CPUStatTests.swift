import Testing
@testable import KubemeterParsers

@Suite struct CPUStatTests {
    @Test func realUnifiedHierarchySample() throws {
        // Copied from this host's /sys/fs/cgroup/unified/cpu.stat (Linux 6.18, cgroup v2 without the
        // cpu controller: no throttling keys, and `nice_usec`, which this parser does not know).
        let stat = try CPUStat.parse(try Fixture.bytes("cgroup_unified_cpu.stat.txt"))
        #expect(stat == CPUStat(usageUsec: 62_856_063, userUsec: 36_723_978, systemUsec: 26_132_084))
    }

    @Test func throttlingSampleInKernelFormat() throws {
        // Written by hand in the kernel's format (cgroup-v2.rst "cpu.stat"; key order of
        // kernel/sched/core.c cpu_extra_stat_show): this host's v2 tree has no cpu controller.
        let stat = try CPUStat.parse(try Fixture.bytes("cgroupv2_cpu.stat.txt"))
        #expect(stat.usageUsec == 2_094_716_392)
        #expect(stat.userUsec == 1_637_617_427)
        #expect(stat.systemUsec == 457_098_965)
        #expect(stat.nrPeriods == 312_441)
        #expect(stat.nrThrottled == 2876)
        #expect(stat.throttledUsec == 190_432_215)
        #expect(stat.nrBursts == 0)
        #expect(stat.burstUsec == 0)
        #expect(stat.malformedLines == 0)
    }

    @Test func emptyAndBlankFilesThrowEmpty() {
        #expect(parseError(CPUStat.self, "") == ParseError(file: "cpu.stat", reason: .empty))
        #expect(parseError(CPUStat.self, " \n\t\r\n") == ParseError(file: "cpu.stat", reason: .empty))
    }

    @Test func badValueSkipsOnlyThatField() throws {
        let stat = try CPUStat.parse(lines(
            "usage_usec 100", "user_usec -5", "system_usec 18446744073709551616", "nr_periods max",
            "nr_throttled 7"))
        #expect(stat == CPUStat(usageUsec: 100, nrThrottled: 7, malformedLines: 3))
    }

    @Test func largestValueIsKept() throws {
        let stat = try CPUStat.parse("usage_usec 18446744073709551615\n")
        #expect(stat.usageUsec == UInt64.max)
    }

    @Test func duplicateKeyVoidsTheField() throws {
        let stat = try CPUStat.parse(lines("usage_usec 1", "user_usec 2", "usage_usec 3"))
        #expect(stat == CPUStat(usageUsec: nil, userUsec: 2, malformedLines: 1))
    }

    @Test func extraAndMissingFields() throws {
        let stat = try CPUStat.parse(lines("usage_usec 1 2", "user_usec", "system_usec 3"))
        #expect(stat == CPUStat(systemUsec: 3, malformedLines: 2))
    }

    @Test func unknownKeysAnywhereAreIgnored() throws {
        let stat = try CPUStat.parse(lines("new_key 1", "usage_usec 5", "other_key text", "user_usec 6"))
        #expect(stat == CPUStat(usageUsec: 5, userUsec: 6))
    }

    @Test func crlfTruncationAndTabs() throws {
        #expect(try CPUStat.parse("usage_usec 5\r\nuser_usec 6\r\n") == CPUStat(usageUsec: 5, userUsec: 6))
        // Cut mid-line: a key without its value is a skipped line.
        #expect(try CPUStat.parse("usage_usec 5\nuser_usec 6\nsystem_us") == CPUStat(usageUsec: 5, userUsec: 6, malformedLines: 1))
        #expect(try CPUStat.parse("usage_usec\t5\n") == CPUStat(usageUsec: 5))
    }
}
