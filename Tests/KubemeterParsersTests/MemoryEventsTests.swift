import Testing
@testable import KubemeterParsers

@Suite struct MemoryEventsTests {
    // Written in the kernel's format (cgroup-v2.rst "memory.events"; mm/memcontrol.c
    // __memory_events_show): this host has no cgroup v2 memory controller.
    @Test func kernelFormatSample() throws {
        let events = try MemoryEvents.parse(try Fixture.bytes("cgroupv2_memory.events.txt"))
        #expect(events == MemoryEvents(low: 0, high: 12, max: 37, oom: 2, oomKill: 1, oomGroupKill: 0))
    }

    @Test func beforeOOMGroupKill() throws {
        let events = try MemoryEvents.parse(lines("low 0", "high 0", "max 0", "oom 0", "oom_kill 0"))
        #expect(events == MemoryEvents(low: 0, high: 0, max: 0, oom: 0, oomKill: 0, oomGroupKill: nil))
    }

    @Test func malformed() throws {
        #expect(parseError(MemoryEvents.self, "") == ParseError(file: "memory.events", reason: .empty))
        let events = try MemoryEvents.parse(lines("low 1", "oom max", "oom_kill 2", "oom_kill 2", "high"))
        #expect(events == MemoryEvents(low: 1, malformedLines: 3))
    }
}
