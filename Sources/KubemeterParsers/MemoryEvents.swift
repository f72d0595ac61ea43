/// A cgroup v2 `memory.events` (or `memory.events.local`): counts of memory-limit events.
///
/// `oom_group_kill` appeared in Linux 5.17; older kernels leave it nil.
package struct MemoryEvents: KernelFile, Equatable, Sendable {
    package static let fileName = "memory.events"

    package var low: UInt64?
    package var high: UInt64?
    package var max: UInt64?
    package var oom: UInt64?
    package var oomKill: UInt64?
    package var oomGroupKill: UInt64?
    /// Lines skipped: unreadable, a known key with a bad value, or a repeated key.
    package var malformedLines: Int

    package init(
        low: UInt64? = nil, high: UInt64? = nil, max: UInt64? = nil, oom: UInt64? = nil,
        oomKill: UInt64? = nil, oomGroupKill: UInt64? = nil, malformedLines: Int = 0
    ) {
        self.low = low
        self.high = high
        self.max = max
        self.oom = oom
        self.oomKill = oomKill
        self.oomGroupKill = oomGroupKill
        self.malformedLines = malformedLines
    }

    enum Key: Int, FileKey {
        case low, high, max, oom, oomKill, oomGroupKill

        var name: StaticString {
            switch self {
            case .low: "low"
            case .high: "high"
            case .max: "max"
            case .oom: "oom"
            case .oomKill: "oom_kill"
            case .oomGroupKill: "oom_group_kill"
            }
        }
    }

    private static let keys = KeyTable<Key>()

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> MemoryEvents {
        let (s, malformed) = try FlatKeyedFile.scan(bytes, file: fileName, keys: keys)
        return MemoryEvents(
            low: s.number(.low), high: s.number(.high), max: s.number(.max), oom: s.number(.oom),
            oomKill: s.number(.oomKill), oomGroupKill: s.number(.oomGroupKill), malformedLines: malformed)
    }
}
