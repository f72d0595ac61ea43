/// A cgroup v2 `cgroup.events`: whether the cgroup's subtree has live processes, and whether it
/// is frozen (`frozen` since Linux 5.2). Each value is "0" or "1"; anything else leaves it nil.
package struct CgroupEvents: KernelFile, Equatable, Sendable {
    package static let fileName = "cgroup.events"

    package var populated: Bool?
    package var frozen: Bool?
    /// Lines skipped: unreadable, a value other than 0 or 1, or a repeated key.
    package var malformedLines: Int

    package init(populated: Bool? = nil, frozen: Bool? = nil, malformedLines: Int = 0) {
        self.populated = populated
        self.frozen = frozen
        self.malformedLines = malformedLines
    }

    enum Key: Int, FileKey {
        case populated, frozen

        var name: StaticString {
            switch self {
            case .populated: "populated"
            case .frozen: "frozen"
            }
        }
    }

    private static let keys = KeyTable<Key>()

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> CgroupEvents {
        let (s, malformed) = try FlatKeyedFile.scan(bytes, file: fileName, keys: keys)
        var events = CgroupEvents(malformedLines: malformed)
        func flag(_ slot: Slot) -> Bool? {
            switch slot.number {
            case 0?: return false
            case 1?: return true
            case nil: return nil
            default:
                events.malformedLines += 1
                return nil
            }
        }
        events.populated = flag(s[.populated])
        events.frozen = flag(s[.frozen])
        return events
    }
}
