package import CSystemd
package import Logging
#if canImport(Glibc)
package import Glibc
#endif
package import Synchronization

/// A swift-log handler sending each event to journald over its native protocol
/// (`sd_journal_sendv(3)`): `MESSAGE`, `PRIORITY`, `CODE_FILE`/`CODE_LINE`/`CODE_FUNC`,
/// `SYSLOG_IDENTIFIER`, `LOGGER`, and every metadata key as a field of its own (upper-cased, so
/// `journalctl PODS=110` finds the "first collection" event). If journald's socket is missing or
/// refuses an event, the event is written to stderr as logfmt instead, so it is never lost.
/// (libsystemd itself drops an event silently and returns success when the socket does not
/// exist, hence the explicit check.)
package struct JournaldLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    package let label: String
    package let identifier: String
    private let fallback: LineWriter

    package init(label: String, identifier: String = "kubemeter", fallback: LineWriter = .standardError) {
        self.label = label
        self.identifier = identifier
        self.fallback = fallback
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let record = LogRecord(event: event, handlerMetadata: metadata, label: label)
        if !Self.journalSocketExists || Self.send(Self.fields(for: record, identifier: identifier)) < 0 {
            fallback.write(line: LogfmtFormatter.format(record))
        }
    }

    /// The journal fields (`NAME=value`) for one event, in the order they are sent.
    package static func fields(for record: LogRecord, identifier: String) -> [String] {
        var fields = [
            "MESSAGE=\(record.message)",
            "PRIORITY=\(priority(record.level))",
            "CODE_FILE=\(record.file)",
            "CODE_LINE=\(record.line)",
            "CODE_FUNC=\(record.function)",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "LOGGER=\(record.label)",
        ]
        var used = Set(fields.map { String($0.prefix { $0 != "=" }) })
        for field in record.fields {
            var name = fieldName(field.key)
            if used.contains(name) { name = String(("META_" + name).prefix(64)) }
            guard used.insert(name).inserted else { continue }
            fields.append("\(name)=\(field.value)")
        }
        return fields
    }

    /// syslog priorities (0 emerg ... 7 debug); swift-log's trace has no level of its own there.
    package static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// A valid journal field name: `A-Z`, `0-9`, `_`, not starting with `_` (reserved for trusted
    /// fields) or a digit, at most 64 characters.
    package static func fieldName(_ key: String) -> String {
        var name = String(key.uppercased().unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "A"..."Z", "0"..."9", "_": return Character(scalar)
            default: return "_"
            }
        })
        while name.hasPrefix("_") { name.removeFirst() }
        if name.isEmpty || name.first!.isNumber { name = "F_" + name }
        return String(name.prefix(64))
    }

    /// Sends the fields as one journal entry; returns `sd_journal_sendv`'s result (negative errno on failure).
    static func send(_ fields: [String]) -> Int32 {
        // One buffer holding every field back to back, and one iovec per field pointing into it:
        // the fields may contain newlines and any bytes, which the native protocol carries as is.
        var buffer: [UInt8] = []
        var ranges: [(offset: Int, count: Int)] = []
        for field in fields {
            ranges.append((buffer.count, field.utf8.count))
            buffer.append(contentsOf: field.utf8)
        }
        return buffer.withUnsafeMutableBytes { bytes -> Int32 in
            let base = bytes.baseAddress ?? UnsafeMutableRawPointer(mutating: UnsafeRawPointer(bitPattern: 1)!)
            var vectors = ranges.map { iovec(iov_base: base + $0.offset, iov_len: $0.count) }
            return vectors.withUnsafeMutableBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }

    /// True when journald's native socket exists on this machine.
    package static var journalSocketExists: Bool {
        access("/run/systemd/journal/socket", F_OK) == 0
    }
}
