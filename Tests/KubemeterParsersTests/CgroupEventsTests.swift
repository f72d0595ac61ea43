import Testing
@testable import KubemeterParsers

@Suite struct CgroupEventsTests {
    // Written in the kernel's format (cgroup-v2.rst "cgroup.events"): this host's v2 root has none.
    @Test func kernelFormatSample() throws {
        let events = try CgroupEvents.parse(try Fixture.bytes("cgroupv2_cgroup.events.txt"))
        #expect(events == CgroupEvents(populated: true, frozen: false))
    }

    @Test func beforeFreezer() throws {
        #expect(try CgroupEvents.parse("populated 0\n") == CgroupEvents(populated: false, frozen: nil))
    }

    @Test func onlyZeroAndOneAreFlags() throws {
        let events = try CgroupEvents.parse(lines("populated 2", "frozen 1"))
        #expect(events == CgroupEvents(populated: nil, frozen: true, malformedLines: 1))
        let worse = try CgroupEvents.parse(lines("populated yes", "frozen -1", "frozen 0"))
        #expect(worse == CgroupEvents(populated: nil, frozen: nil, malformedLines: 3))
    }

    @Test func empty() {
        #expect(parseError(CgroupEvents.self, "  ") == ParseError(file: "cgroup.events", reason: .empty))
    }
}
