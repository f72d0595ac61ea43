/// Ordered HTTP header fields as `(name, value)` pairs.
///
/// Names keep the spelling they were sent or added with; lookup ignores ASCII case, as HTTP field
/// names are case-insensitive. Order and duplicates are preserved because some fields may repeat.
package struct HTTPHeaders: Sendable, Sequence, Equatable, CustomStringConvertible {
    package typealias Element = (name: String, value: String)

    private var fields: [Element]

    package init(_ pairs: [(String, String)] = []) {
        fields = pairs.map { (name: $0.0, value: $0.1) }
    }

    /// The first value of the field `name` (ASCII case-insensitive), or nil when absent.
    package subscript(name: String) -> String? {
        for field in fields where Self.namesMatch(field.name, name) {
            return field.value
        }
        return nil
    }

    /// Appends a field; existing fields of the same name are kept.
    package mutating func add(name: String, value: String) {
        fields.append((name: name, value: value))
    }

    /// Every value of the field `name`, in order.
    package func values(name: String) -> [String] {
        fields.filter { Self.namesMatch($0.name, name) }.map(\.value)
    }

    /// Removes every field named `name`.
    package mutating func remove(name: String) {
        fields.removeAll { Self.namesMatch($0.name, name) }
    }

    /// Whether any field is named `name`.
    package func contains(name: String) -> Bool {
        fields.contains { Self.namesMatch($0.name, name) }
    }

    /// The number of fields, counting repeated names separately.
    package var count: Int { fields.count }

    package func makeIterator() -> IndexingIterator<[Element]> {
        fields.makeIterator()
    }

    package static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    package var description: String {
        "[" + fields.map { "\($0.name): \($0.value)" }.joined(separator: ", ") + "]"
    }

    /// ASCII case-insensitive equality; field names are ASCII tokens, so no Unicode folding is wanted.
    static func namesMatch(_ a: String, _ b: String) -> Bool {
        let aBytes = a.utf8
        let bBytes = b.utf8
        guard aBytes.count == bBytes.count else { return false }
        for (x, y) in zip(aBytes, bBytes) where ASCII.lowercased(x) != ASCII.lowercased(y) {
            return false
        }
        return true
    }
}
