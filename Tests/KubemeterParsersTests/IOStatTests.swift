import Testing
@testable import KubemeterParsers

@Suite struct IOStatTests {
    // The example in Documentation/admin-guide/cgroup-v2.rst ("io.stat"), verbatim; this host's
    // v2 tree has no io controller.
    @Test func kernelDocumentationSample() throws {
        let stat = try IOStat.parse(try Fixture.bytes("cgroupv2_io.stat.txt"))
        #expect(stat.devices == [
            IOStatDevice(major: 8, minor: 16, rbytes: 1_459_200, wbytes: 314_773_504, rios: 192, wios: 353, dbytes: 0, dios: 0),
            IOStatDevice(major: 8, minor: 0, rbytes: 90_430_464, wbytes: 299_008_000, rios: 8950, wios: 1252, dbytes: 50_331_648, dios: 3021),
        ])
        #expect(stat.malformedLines == 0)
    }

    @Test func emptyFileIsNoDevices() throws {
        // A cgroup that has done no IO has an empty io.stat.
        #expect(try IOStat.parse("") == IOStat(devices: []))
        #expect(try IOStat.parse("\n") == IOStat(devices: []))
    }

    @Test func unknownKeysAndOldKernels() throws {
        // io.cost adds cost.* keys (some decimal); pre-5.2 kernels had no dbytes/dios.
        let stat = try IOStat.parse(lines(
            "259:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0 cost.vrate=100.00 cost.usage=5",
            "253:1 rbytes=3 wbytes=4 rios=5 wios=6"))
        #expect(stat.devices == [
            IOStatDevice(major: 259, minor: 0, rbytes: 10, wbytes: 20, rios: 1, wios: 2, dbytes: 0, dios: 0),
            IOStatDevice(major: 253, minor: 1, rbytes: 3, wbytes: 4, rios: 5, wios: 6),
        ])
        #expect(stat.malformedLines == 0)
    }

    @Test func badFieldsSkipOnlyThemselves() throws {
        let stat = try IOStat.parse(lines(
            "8:0 rbytes=-1 wbytes=2 rios=18446744073709551616 wios=4 wios=5 dios=max dbytes=6",
            "8:16 rbytes=1"))
        #expect(stat.devices == [
            IOStatDevice(major: 8, minor: 0, wbytes: 2, dbytes: 6),
            IOStatDevice(major: 8, minor: 16, rbytes: 1),
        ])
        #expect(stat.malformedLines == 1)
    }

    @Test func badDeviceSkipsTheLine() throws {
        let stat = try IOStat.parse(lines(
            "8 rbytes=1", "a:b rbytes=1", "8:-1 rbytes=1", "4294967296:0 rbytes=1", ":1 rbytes=1", "7:1 rbytes=9"))
        #expect(stat == IOStat(devices: [IOStatDevice(major: 7, minor: 1, rbytes: 9)], malformedLines: 5))
    }

    @Test func repeatedDeviceIsDropped() throws {
        let stat = try IOStat.parse(lines("8:0 rbytes=1", "8:16 rbytes=2", "8:0 rbytes=3", "8:0 rbytes=4"))
        #expect(stat == IOStat(devices: [IOStatDevice(major: 8, minor: 16, rbytes: 2)], malformedLines: 2))
    }

    @Test func manyDevicesStayLinear() throws {
        // More devices than the duplicate finder's short list, with one repeat at the end.
        var text = ""
        for minor in 0..<5000 { text += "8:\(minor) rbytes=\(minor)\n" }
        text += "8:4321 rbytes=0\n"
        let stat = try IOStat.parse(text)
        #expect(stat.devices.count == 4999)
        #expect(stat.devices.last == IOStatDevice(major: 8, minor: 4999, rbytes: 4999))
        #expect(!stat.devices.contains { $0.minor == 4321 })
        #expect(stat.malformedLines == 1)
    }

    @Test func crlf() throws {
        let stat = try IOStat.parse("8:0 rbytes=1 dios=2\r\n")
        #expect(stat.devices == [IOStatDevice(major: 8, minor: 0, rbytes: 1, dios: 2)])
    }
}
