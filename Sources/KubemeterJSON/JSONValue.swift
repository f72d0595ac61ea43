/// A JSON value (RFC 8259) as `JSONParser` reads it.
///
/// Numbers keep their text, so that an integer of 64 bits reads back exactly (`uint64`, `int64`)
/// and a fraction reads as the nearest `Double`; nothing is rounded before the caller asks for a
/// type. Objects keep their members' order and have unique keys (the parser refuses duplicates).
package enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's text as it was written, already checked against the JSON grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The member `key` of an object; nil for a missing key or when this is not an object.
    package subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    package var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    package var bool: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    package var array: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    package var object: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    package var isNull: Bool { self == .null }

    /// The number as the nearest double (every JSON number has one: the grammar allows no NaN or
    /// infinity, and a huge exponent reads as infinity, which is refused here).
    package var double: Double? {
        guard case .number(let text) = self, let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// The number when it is written as an integer (no fraction, no exponent) within UInt64.
    package var uint64: UInt64? {
        guard case .number(let text) = self else { return nil }
        return UInt64(text)
    }

    /// The number when it is written as an integer (no fraction, no exponent) within Int64.
    package var int64: Int64? {
        guard case .number(let text) = self else { return nil }
        return Int64(text)
    }

    /// The number when it is written as an integer within Int.
    package var int: Int? {
        guard case .number(let text) = self else { return nil }
        return Int(text)
    }
}

/// The members of a JSON object, in the order they were written, keys unique.
///
/// Kept as two arrays, searched in order: the objects read here (pods, rows) have a few dozen
/// members at most, where a scan beats hashing every key. Past `indexedFrom` members a
/// dictionary index is built, so a huge object cannot make reading it quadratic.
package struct JSONObject: Sendable, Equatable {
    package private(set) var keys: [String] = []
    private var values: [JSONValue] = []
    private var index: [String: Int]?

    static let indexedFrom = 32

    package init() {}

    package subscript(key: String) -> JSONValue? {
        position(of: key).map { values[$0] }
    }

    package var count: Int { keys.count }

    /// Adds a member; false (and nothing changed) when `key` is already there.
    @discardableResult
    package mutating func insert(_ key: String, _ value: JSONValue) -> Bool {
        guard position(of: key) == nil else { return false }
        keys.append(key)
        values.append(value)
        if index != nil {
            index![key] = keys.count - 1
        } else if keys.count >= Self.indexedFrom {
            index = Dictionary(uniqueKeysWithValues: zip(keys, keys.indices))
        }
        return true
    }

    /// The members in order.
    package var members: [(key: String, value: JSONValue)] {
        Array(zip(keys, values)).map { (key: $0.0, value: $0.1) }
    }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return keys.firstIndex(of: key)
    }

    package static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.keys == b.keys && a.values == b.values
    }
}
