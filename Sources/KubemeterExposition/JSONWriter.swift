/// A small JSON writer: objects and arrays written in order, strings escaped per RFC 8259,
/// non-finite numbers and nil written as `null`. Written by hand to keep Foundation out.
package struct JSONWriter {
    package private(set) var bytes: [UInt8] = []
    /// Whether the next value in the current container needs a comma first.
    private var needsComma = false

    package init() {}

    package mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    package mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    package mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    package mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes `"name":`; the value follows.
    package mutating func key(_ name: String) {
        separate()
        appendString(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    package mutating func value(_ text: String?) {
        separate()
        if let text { appendString(text) } else { bytes.append(contentsOf: "null".utf8) }
        needsComma = true
    }

    package mutating func value(_ number: UInt64?) {
        raw(number.map { String($0) })
    }

    package mutating func value(_ number: Int64?) {
        raw(number.map { String($0) })
    }

    package mutating func value(_ number: Int?) {
        raw(number.map { String($0) })
    }

    package mutating func value(_ number: Double?) {
        guard let number, number.isFinite else { return raw(nil) }
        // Swift's description is the shortest text that reads back to the same double ("0.25",
        // "1e-05", "3450.524499"), all valid JSON numbers.
        raw(number.description)
    }

    package mutating func value(_ flag: Bool?) {
        raw(flag.map { $0 ? "true" : "false" })
    }

    package mutating func field(_ name: String, _ text: String?) { key(name); value(text) }
    package mutating func field(_ name: String, _ number: UInt64?) { key(name); value(number) }
    package mutating func field(_ name: String, _ number: Int64?) { key(name); value(number) }
    package mutating func field(_ name: String, _ number: Int?) { key(name); value(number) }
    package mutating func field(_ name: String, _ number: Double?) { key(name); value(number) }
    package mutating func field(_ name: String, _ flag: Bool?) { key(name); value(flag) }

    /// A field left out when its value is nil, as Go's `omitempty` leaves out a nil pointer.
    package mutating func omittedIfNil(_ name: String, _ number: UInt64?) { if let number { field(name, number) } }
    package mutating func omittedIfNil(_ name: String, _ number: Int64?) { if let number { field(name, number) } }
    package mutating func omittedIfNil(_ name: String, _ text: String?) { if let text { field(name, text) } }

    private mutating func raw(_ text: String?) {
        separate()
        bytes.append(contentsOf: (text ?? "null").utf8)
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private mutating func appendString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0xF)])
            default:
                // UTF-8 passes through: Swift strings are valid Unicode, so is the output.
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
