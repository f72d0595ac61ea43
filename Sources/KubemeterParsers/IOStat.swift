/// One device's line of `io.stat`; a key the line lacks (or has twice, or with a bad value) is nil.
package struct IOStatDevice: Equatable, Sendable {
    package var major: UInt32
    package var minor: UInt32
    package var rbytes: UInt64?
    package var wbytes: UInt64?
    package var rios: UInt64?
    package var wios: UInt64?
    package var dbytes: UInt64?
    package var dios: UInt64?

    package init(
        major: UInt32, minor: UInt32, rbytes: UInt64? = nil, wbytes: UInt64? = nil,
        rios: UInt64? = nil, wios: UInt64? = nil, dbytes: UInt64? = nil, dios: UInt64? = nil
    ) {
        self.major = major
        self.minor = minor
        self.rbytes = rbytes
        self.wbytes = wbytes
        self.rios = rios
        self.wios = wios
        self.dbytes = dbytes
        self.dios = dios
    }
}

/// A cgroup v2 `io.stat`: one line per device, keyed by "$MAJ:$MIN", in no particular order:
///
///     8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0
///
/// Unknown keys (e.g. the `cost.*` keys of io.cost) are ignored. A cgroup that has done no IO
/// has an empty `io.stat`, so an empty file is no device rather than an error.
package struct IOStat: KernelFile, Equatable, Sendable {
    package static let fileName = "io.stat"

    /// In file order.
    package var devices: [IOStatDevice]
    /// Lines skipped (no readable device), lines with a field skipped (bad value, repeated key),
    /// and repeats of a device (every line of a repeated device is dropped: never a guess).
    package var malformedLines: Int

    package init(devices: [IOStatDevice], malformedLines: Int = 0) {
        self.devices = devices
        self.malformedLines = malformedLines
    }

    enum Key: Int, FileKey {
        case rbytes, wbytes, rios, wios, dbytes, dios

        var name: StaticString {
            switch self {
            case .rbytes: "rbytes"
            case .wbytes: "wbytes"
            case .rios: "rios"
            case .wios: "wios"
            case .dbytes: "dbytes"
            case .dios: "dios"
            }
        }
    }

    private static let keys = KeyTable<Key>()

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> IOStat {
        var devices: [IOStatDevice] = []
        var malformed = 0
        var seen = DuplicateFinder<UInt64>()
        var repeated: [UInt64] = []
        var lines = LineReader(bytes)
        while let line = lines.next() {
            var fields = FieldReader(bytes, line)
            guard let deviceField = fields.next() else { continue }
            guard let (major, minor) = parseDevice(bytes, deviceField) else {
                malformed += 1
                continue
            }
            var slots = KeyedSlots<Key>()
            var lineIsClean = true
            while let field = fields.next() {
                guard let (key, value) = NestedKey.split(bytes, field) else {
                    lineIsClean = false
                    continue
                }
                guard let known = keys.key(of: key, in: bytes) else { continue }
                if !slots[known].record(DecimalText.uint64(bytes, value)) { lineIsClean = false }
            }
            let id = UInt64(major) << 32 | UInt64(minor)
            if !seen.insert(id) {
                repeated.append(id)
                lineIsClean = false
            }
            if !lineIsClean { malformed += 1 }
            devices.append(IOStatDevice(
                major: major, minor: minor, rbytes: slots.number(.rbytes), wbytes: slots.number(.wbytes),
                rios: slots.number(.rios), wios: slots.number(.wios), dbytes: slots.number(.dbytes),
                dios: slots.number(.dios)))
        }
        if !repeated.isEmpty {
            let ambiguous = Set(repeated)
            devices.removeAll { ambiguous.contains(UInt64($0.major) << 32 | UInt64($0.minor)) }
        }
        return IOStat(devices: devices, malformedLines: malformed)
    }

    /// "MAJ:MIN", both decimal.
    private static func parseDevice(_ bytes: UnsafeRawBufferPointer, _ field: ByteSpan) -> (UInt32, UInt32)? {
        guard let colon = bytes.firstIndex(of: ASCII.colon, in: field),
              let major = DecimalText.uint32(bytes, ByteSpan(start: field.start, end: colon)),
              let minor = DecimalText.uint32(bytes, ByteSpan(start: colon + 1, end: field.end))
        else { return nil }
        return (major, minor)
    }
}
