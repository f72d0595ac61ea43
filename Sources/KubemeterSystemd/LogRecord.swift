#if canImport(Glibc)
package import Glibc
#endif
package import KubemeterSync
package import Logging

/// One log event with its metadata merged and flattened, ready for any of the output formats.
package struct LogRecord: Sendable, Equatable {
    package var timestamp: String
    package var level: Logger.Level
    package var message: String
    /// Metadata as `key=value` pairs, sorted by key, nested dictionaries flattened as `outer.inner`.
    package var fields: [(key: String, value: String)]
    package var label: String
    package var file: String
    package var function: String
    package var line: UInt

    package init(timestamp: String, level: Logger.Level, message: String, fields: [(key: String, value: String)],
                label: String, file: String, function: String, line: UInt) {
        self.timestamp = timestamp
        self.level = level
        self.message = message
        self.fields = fields
        self.label = label
        self.file = file
        self.function = function
        self.line = line
    }

    package static func == (lhs: LogRecord, rhs: LogRecord) -> Bool {
        lhs.timestamp == rhs.timestamp && lhs.level == rhs.level && lhs.message == rhs.message
            && lhs.fields.map(\.key) == rhs.fields.map(\.key) && lhs.fields.map(\.value) == rhs.fields.map(\.value)
            && lhs.label == rhs.label && lhs.file == rhs.file && lhs.function == rhs.function && lhs.line == rhs.line
    }

    /// Merges the handler's metadata with the event's (the event's win) and flattens the result.
    package static func flatten(_ handler: Logger.Metadata, _ event: Logger.Metadata?) -> [(key: String, value: String)] {
        var merged = handler
        if let event { merged.merge(event) { _, new in new } }
        var out: [(key: String, value: String)] = []
        append(merged, prefix: "", into: &out)
        return out.sorted { $0.key < $1.key }
    }

    private static func append(_ metadata: Logger.Metadata, prefix: String, into out: inout [(key: String, value: String)]) {
        for (key, value) in metadata {
            let name = prefix.isEmpty ? key : prefix + "." + key
            switch value {
            case .dictionary(let nested):
                append(nested, prefix: name, into: &out)
            default:
                out.append((name, value.description))
            }
        }
    }
}

/// The current time as RFC 3339 UTC with milliseconds (e.g. `2026-11-24T12:33:16.042Z`).
package enum LogTimestamp {
    package static func now() -> String {
        let now = WallClock.timespecNow()
        return format(seconds: Int(now.tv_sec), nanoseconds: Int(now.tv_nsec))
    }

    package static func format(seconds: Int, nanoseconds: Int) -> String {
        RFC3339.format(seconds: seconds, milliseconds: nanoseconds / 1_000_000)
    }
}

extension LogRecord {
    /// The record of one swift-log event: the handler's metadata, then the event's own (which
    /// wins), and the event's error as `error`.
    init(event: LogEvent, handlerMetadata: Logger.Metadata, label: String) {
        var explicit = event.metadata ?? [:]
        if let error = event.error { explicit["error"] = "\(error)" }
        self.init(timestamp: LogTimestamp.now(), level: event.level, message: event.message.description,
                  fields: LogRecord.flatten(handlerMetadata, explicit), label: label,
                  file: event.file, function: event.function, line: event.line)
    }
}
