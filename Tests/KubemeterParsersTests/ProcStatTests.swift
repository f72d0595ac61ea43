import Testing
@testable import KubemeterParsers

@Suite struct ProcStatTests {
    // Copied from this host's /proc/stat (Linux 6.18, 2 CPUs).
    @Test func realSample() throws {
        let stat = try ProcStat.parse(try Fixture.bytes("proc_stat.txt"))
        #expect(stat.total == CPUTimes(
            user: 3671, nice: 0, system: 2575, idle: 282_345, iowait: 629, irq: 0, softirq: 37,
            steal: 23, guest: 0, guestNice: 0))
        #expect(stat.perCPU.count == 2)
        #expect(stat.perCPU[0] == CPUTimes(user: 1196, system: 1049, idle: 142_438, iowait: 29, softirq: 10, steal: 13))
        #expect(stat.perCPU[1] == CPUTimes(user: 2475, system: 1526, idle: 139_906, iowait: 599, softirq: 26, steal: 10))
        #expect(stat.contextSwitches == 335_675)
        #expect(stat.bootTime == 1_795_521_022)
        #expect(stat.processesCreated == 5145)
        #expect(stat.procsRunning == 1)
        #expect(stat.procsBlocked == 0)
        #expect(stat.malformedLines == 0)
        // The kernel's aggregate is the sum of the per-CPU lines.
        #expect(stat.total!.user == stat.perCPU.values.reduce(0) { $0 + $1.user })
    }

    @Test func oldKernelShortCPULines() throws {
        // Linux 2.4 wrote four columns; 2.6.11 eight. Missing columns are 0.
        let stat = try ProcStat.parse(lines("cpu  10 20 30 40", "cpu0 1 2 3 4 5 6 7 8", "btime 5"))
        #expect(stat.total == CPUTimes(user: 10, nice: 20, system: 30, idle: 40))
        #expect(stat.perCPU == [0: CPUTimes(user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7, steal: 8)])
        #expect(stat.bootTime == 5)
        #expect(stat.contextSwitches == nil)
    }

    @Test func extraColumnsAreIgnored() throws {
        let stat = try ProcStat.parse("cpu 1 2 3 4 5 6 7 8 9 10 11 12\n")
        #expect(stat.total == CPUTimes(user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7, steal: 8, guest: 9, guestNice: 10))
        #expect(stat.malformedLines == 0)
    }

    @Test func badCPULinesAreSkippedAndCounted() throws {
        let stat = try ProcStat.parse(lines(
            "cpu  1 2 3",                     // three columns
            "cpu0 1 2 3 -4",                  // negative
            "cpu1 1 2 3 18446744073709551616",// overflow
            "cpu2 1 2 max 4",                 // text
            "cpu3 1 2 3 4",
            "cpu99999999999999999999 1 2 3 4",// CPU number overflow
            "cpufreq 1 2 3 4",                // not a cpu line: unknown, ignored
            "ctxt 7"))
        #expect(stat.total == nil)
        #expect(stat.perCPU == [3: CPUTimes(user: 1, nice: 2, system: 3, idle: 4)])
        #expect(stat.contextSwitches == 7)
        #expect(stat.malformedLines == 5)
    }

    @Test func repeatedKeysVoidTheirValues() throws {
        let stat = try ProcStat.parse(lines(
            "cpu 1 1 1 1", "cpu0 1 1 1 1", "cpu0 2 2 2 2", "cpu1 3 3 3 3", "cpu 4 4 4 4", "cpu0 5 5 5 5",
            "btime 1", "btime 1", "processes 9"))
        #expect(stat.total == nil)
        #expect(stat.perCPU == [1: CPUTimes(user: 3, nice: 3, system: 3, idle: 3)])
        #expect(stat.bootTime == nil)
        #expect(stat.processesCreated == 9)
        #expect(stat.malformedLines == 4)
    }

    @Test func scalarFieldErrors() throws {
        let stat = try ProcStat.parse(lines("btime", "ctxt 1 2", "processes -1", "procs_running 3", "word"))
        #expect(stat == ProcStat(procsRunning: 3, malformedLines: 4))
    }

    @Test func emptyAndCRLF() throws {
        #expect(parseError(ProcStat.self, "\n\n") == ParseError(file: "/proc/stat", reason: .empty))
        let stat = try ProcStat.parse("cpu 1 2 3 4\r\nctxt 5\r\n")
        #expect(stat.total == CPUTimes(user: 1, nice: 2, system: 3, idle: 4))
        #expect(stat.contextSwitches == 5)
    }
}
