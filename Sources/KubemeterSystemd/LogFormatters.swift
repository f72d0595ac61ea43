import Logging

/// logfmt (`key=value` pairs, values quoted when they need it), one line per event.
package enum LogfmtFormatter {
    package static func format(_ record: LogRecord) -> String {
        var line = "time=\(record.timestamp) level=\(record.level.rawValue) msg=\(quote(record.message))"
        for field in record.fields {
            line += " \(key(field.key))=\(quote(field.value))"
        }
        line += " logger=\(quote(record.label)) source=\(quote("\(record.file):\(record.line)"))"
        return line
    }

    /// A key may not contain spaces, `=`, quotes or control characters: those become `_`.
    static func key(_ raw: String) -> String {
        let cleaned = String(raw.unicodeScalars.map { scalar -> Character in
            scalar.value <= 0x20 || scalar == "=" || scalar == "\"" || scalar.value == 0x7f ? "_" : Character(scalar)
        })
        return cleaned.isEmpty ? "_" : cleaned
    }

    /// Bare when the value is non-empty and has no space, `=`, quote, backslash or control
    /// character; otherwise double-quoted with those escaped, so one event is always one line.
    static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { scalar in
            scalar.value <= 0x20 || scalar == "=" || scalar == "\"" || scalar == "\\" || scalar.value == 0x7f
        }
        guard needsQuotes else { return value }
        return "\"" + JSONFormatter.escape(value) + "\""
    }
}

/// One JSON object per line: `time`, `level`, `msg`, the metadata fields, `logger`, `source`.
package enum JSONFormatter {
    package static func format(_ record: LogRecord) -> String {
        var line = "{\"time\":\"\(record.timestamp)\",\"level\":\"\(record.level.rawValue)\",\"msg\":\"\(escape(record.message))\""
        for field in record.fields where !reserved.contains(field.key) {
            line += ",\"\(escape(field.key))\":\"\(escape(field.value))\""
        }
        line += ",\"logger\":\"\(escape(record.label))\",\"source\":\"\(escape("\(record.file):\(record.line)"))\"}"
        return line
    }

    /// Keys the envelope uses; a metadata field of the same name is dropped rather than duplicated.
    static let reserved: Set<String> = ["time", "level", "msg", "logger", "source"]

    /// JSON string escaping (RFC 8259): quote, backslash and every control character.
    package static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
