import Testing
@testable import KubemeterParsers

@Suite struct PressureTests {
    // Copied from this host: /proc/pressure/* and /sys/fs/cgroup/unified/*.pressure (Linux 6.18).
    @Test func realProcPressureFiles() throws {
        let cpu = try Pressure.parse(try Fixture.bytes("proc_pressure_cpu.txt"))
        #expect(cpu == Pressure(
            some: PressureLine(avg10: 0.00, avg60: 0.19, avg300: 0.20, totalUsec: 4_411_238),
            full: PressureLine(avg10: 0, avg60: 0, avg300: 0, totalUsec: 0)))

        let io = try Pressure.parse(try Fixture.bytes("proc_pressure_io.txt"))
        #expect(io == Pressure(
            some: PressureLine(avg10: 0.41, avg60: 0.97, avg300: 0.73, totalUsec: 5_706_047),
            full: PressureLine(avg10: 0.41, avg60: 0.97, avg300: 0.72, totalUsec: 5_574_092)))

        let memory = try Pressure.parse(try Fixture.bytes("proc_pressure_memory.txt"))
        #expect(memory.some?.totalUsec == 0)
        #expect(memory.full?.avg300 == 0)
    }

    @Test func realCgroupPressureFiles() throws {
        let cpu = try Pressure.parse(try Fixture.bytes("cgroup_unified_cpu.pressure.txt"))
        #expect(cpu.some == PressureLine(avg10: 0, avg60: 0.19, avg300: 0.20, totalUsec: 4_411_238))
        let io = try Pressure.parse(try Fixture.bytes("cgroup_unified_io.pressure.txt"))
        #expect(io.some == PressureLine(avg10: 0.61, avg60: 0.74, avg300: 0.54, totalUsec: 7_002_652))
        #expect(io.full == PressureLine(avg10: 0.54, avg60: 0.69, avg300: 0.52, totalUsec: 6_851_279))
    }

    @Test func averagesRoundLikeTheStandardLibrary() throws {
        // Every value "%lu.%02lu" can print, and the long forms the fallback handles.
        for whole in [0, 1, 2, 9, 10, 42, 99, 100] {
            for hundredths in 0..<100 {
                let text = "\(whole).\(hundredths < 10 ? "0" : "")\(hundredths)"
                let parsed = try Pressure.parse("some avg10=\(text) avg60=0 avg300=0 total=0\n")
                #expect(parsed.some?.avg10 == Double(text)!, "\(text)")
            }
        }
        for text in ["2.89", "0.1", "123456789012345678901234567890", "9007199254740993.5",
                     "0.30000000000000000000000000000001", "12345678901234567.25", "7"] {
            let parsed = try Pressure.parse("some avg10=\(text) avg60=0 avg300=0 total=0\n")
            #expect(parsed.some?.avg10 == Double(text)!, "\(text)")
        }
    }

    @Test func hugeAverageIsRefusedNotConverted() throws {
        let digits = String(repeating: "9", count: 1 << 20)
        let p = try Pressure.parse("some avg10=\(digits).5 avg60=0 avg300=0 total=0\nfull avg10=0 avg60=0 avg300=0 total=1\n")
        #expect(p == Pressure(some: nil, full: PressureLine(avg10: 0, avg60: 0, avg300: 0, totalUsec: 1), malformedLines: 1))
    }

    @Test func oldKernelCPUHasNoFullLine() throws {
        let cpu = try Pressure.parse("some avg10=1.50 avg60=0.75 avg300=0.25 total=1234\n")
        #expect(cpu == Pressure(some: PressureLine(avg10: 1.5, avg60: 0.75, avg300: 0.25, totalUsec: 1234), full: nil))
    }

    @Test func badLinesAreSkippedAndCounted() throws {
        let p = try Pressure.parse(lines(
            "some avg10=0.00 avg60=0.00 avg300=0.00",               // no total
            "full avg10=1.00 avg60=2.00 avg300=3.00 total=4 new=5"  // unknown key: fine
        ))
        #expect(p == Pressure(some: nil, full: PressureLine(avg10: 1, avg60: 2, avg300: 3, totalUsec: 4), malformedLines: 1))

        for bad in ["some avg10=-1.00 avg60=0 avg300=0 total=0", "some avg10=1e3 avg60=0 avg300=0 total=0",
                    "some avg10=nan avg60=0 avg300=0 total=0", "some avg10=1. avg60=0 avg300=0 total=0",
                    "some avg10=.5 avg60=0 avg300=0 total=0", "some avg10=1.2.3 avg60=0 avg300=0 total=0",
                    "some avg10=1 avg10=1 avg60=0 avg300=0 total=0", "some avg10=1 avg60=0 avg300=0 total=max",
                    "some avg10=1 avg60=0 avg300=0 total=18446744073709551616", "some avg10 avg60=0",
                    "some =1 avg10=1 avg60=0 avg300=0 total=0", "some", "garbage"] {
            let parsed = try Pressure.parse(bad + "\n")
            #expect(parsed == Pressure(some: nil, full: nil, malformedLines: 1), "\(bad)")
        }
    }

    @Test func duplicateLineVoidsBoth() throws {
        let p = try Pressure.parse(lines(
            "some avg10=0 avg60=0 avg300=0 total=1", "some avg10=0 avg60=0 avg300=0 total=2",
            "full avg10=0 avg60=0 avg300=0 total=3"))
        #expect(p.some == nil)
        #expect(p.full?.totalUsec == 3)
        #expect(p.malformedLines == 1)
    }

    @Test func unknownKindIsIgnored() throws {
        let p = try Pressure.parse(lines("other avg10=0 total=9", "full avg10=0 avg60=0 avg300=0 total=3"))
        #expect(p == Pressure(some: nil, full: PressureLine(avg10: 0, avg60: 0, avg300: 0, totalUsec: 3)))
    }

    @Test func emptyAndCRLF() throws {
        #expect(parseError(Pressure.self, "") == ParseError(file: "pressure", reason: .empty))
        let p = try Pressure.parse("some avg10=0.50 avg60=0.00 avg300=0.00 total=7\r\n")
        #expect(p.some == PressureLine(avg10: 0.5, avg60: 0, avg300: 0, totalUsec: 7))
    }
}
