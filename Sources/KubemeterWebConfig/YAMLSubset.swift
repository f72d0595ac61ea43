/// The YAML that web configuration files use, and no more: block mappings and sequences by
/// indentation, one-line flow sequences and mappings (`[a, b]`, `{}`), plain, single- and
/// double-quoted scalars, comments, a leading `---`. Everything else YAML has (anchors, aliases,
/// tags, block scalars `|` `>`, multi-line scalars, `?` keys, several documents) is refused with
/// the line it is on, rather than read approximately. Pure: bytes in, a tree or a `YAMLError` out.
package struct YAMLNode: Equatable, Sendable {
    package enum Kind: Equatable, Sendable {
        /// `~`, `null`, or nothing after `key:`.
        case null
        /// A scalar's text, and whether it was quoted (a quoted `true` is a string).
        case scalar(String, quoted: Bool)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    package var kind: Kind
    /// 1-based line the node starts on.
    package var line: Int

    package init(_ kind: Kind, line: Int) {
        self.kind = kind
        self.line = line
    }
}

/// One `key: value` of a mapping, in the file's order (duplicate keys are refused).
package struct YAMLPair: Equatable, Sendable {
    package var key: String
    package var line: Int
    package var value: YAMLNode

    package init(key: String, line: Int, value: YAMLNode) {
        self.key = key
        self.line = line
        self.value = value
    }
}

package struct YAMLError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 1-based; 0 for the whole input (not UTF-8).
    package var line: Int
    package var reason: String

    package init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    package var description: String { line > 0 ? "line \(line): \(reason)" : reason }
}

package enum YAMLSubset {
    /// Nesting deeper than this is refused (the parser recurses once per level).
    package static let maxDepth = 32

    /// The document: `.null` when it is empty (only comments or blank lines).
    package static func parse(_ bytes: [UInt8]) throws(YAMLError) -> YAMLNode {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw YAMLError(line: 0, reason: "not UTF-8")
        }
        var parser = try Parser(lines: Lexer.lines(bytes))
        return try parser.document()
    }
}

// MARK: Lines

/// A line with content: its number, indentation (spaces), and the bytes after the indentation
/// with trailing blanks removed (comments are removed later, where quotes are known).
struct Line {
    var number: Int
    var indent: Int
    var content: ArraySlice<UInt8>
}

enum Lexer {
    static let space: UInt8 = 0x20, tab: UInt8 = 0x09, hash: UInt8 = 0x23, cr: UInt8 = 0x0D, lf: UInt8 = 0x0A

    static func lines(_ bytes: [UInt8]) throws(YAMLError) -> [Line] {
        var result: [Line] = []
        var number = 0
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }  // a UTF-8 byte order mark
        while start <= bytes.count {
            number += 1
            var end = start
            while end < bytes.count && bytes[end] != lf { end += 1 }
            var last = end
            if last > start && bytes[last - 1] == cr { last -= 1 }
            var indent = start
            while indent < last && bytes[indent] == space { indent += 1 }
            if indent < last && bytes[indent] == tab {
                // Tabs may follow content, never make indentation (YAML forbids it).
                var rest = indent
                while rest < last && (bytes[rest] == tab || bytes[rest] == space) { rest += 1 }
                if rest < last && bytes[rest] != hash {
                    throw YAMLError(line: number, reason: "a tab in the indentation (YAML indents with spaces only)")
                }
                indent = last
            }
            var trimmed = last
            while trimmed > indent && (bytes[trimmed - 1] == space || bytes[trimmed - 1] == tab) { trimmed -= 1 }
            for byte in bytes[start..<last] where byte < 0x20 && byte != tab {
                throw YAMLError(line: number, reason: "a control character")
            }
            if trimmed > indent && bytes[indent] != hash {
                result.append(Line(number: number, indent: indent - start, content: bytes[indent..<trimmed]))
            }
            start = end + 1
        }
        return result
    }
}

// MARK: Scalars and flow collections within one line

/// A cursor over one line's content.
struct Cursor {
    let bytes: ArraySlice<UInt8>
    let line: Int
    var position: Int

    init(_ bytes: ArraySlice<UInt8>, line: Int) {
        self.bytes = bytes
        self.line = line
        position = bytes.startIndex
    }

    var atEnd: Bool { position >= bytes.endIndex }
    var current: UInt8? { atEnd ? nil : bytes[position] }
    func peek(_ offset: Int) -> UInt8? {
        position + offset < bytes.endIndex ? bytes[position + offset] : nil
    }

    static func isBlank(_ byte: UInt8?) -> Bool { byte == Lexer.space || byte == Lexer.tab }

    mutating func skipBlanks() {
        while Self.isBlank(current) { position += 1 }
    }

    /// True at the end, or at a comment (`#` after a blank or at the start).
    var atEndOrComment: Bool {
        if atEnd { return true }
        return current == Lexer.hash && (position == bytes.startIndex || Self.isBlank(bytes[position - 1]))
    }

    func error(_ reason: String) -> YAMLError { YAMLError(line: line, reason: reason) }

    /// A quoted scalar starting at the cursor (`'` or `"`), which must end on this line.
    mutating func quoted() throws(YAMLError) -> String {
        let quote = bytes[position]
        position += 1
        var text: [UInt8] = []
        while true {
            guard let byte = current else {
                throw error("a quoted scalar not closed on its line (multi-line scalars are not supported)")
            }
            position += 1
            if quote == 0x27 {  // '
                if byte == 0x27 {
                    if current == 0x27 { text.append(0x27); position += 1; continue }
                    break
                }
                text.append(byte)
                continue
            }
            if byte == 0x22 { break }  // "
            if byte != 0x5C { text.append(byte); continue }  // backslash
            guard let escape = current else { throw error("a backslash at the end of a double-quoted scalar") }
            position += 1
            switch escape {
            case UInt8(ascii: "n"): text.append(0x0A)
            case UInt8(ascii: "t"), Lexer.tab: text.append(0x09)
            case UInt8(ascii: "r"): text.append(0x0D)
            case UInt8(ascii: "0"): text.append(0)
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), Lexer.space: text.append(escape)
            case UInt8(ascii: "x"): try appendCodePoint(digits: 2, to: &text)
            case UInt8(ascii: "u"): try appendCodePoint(digits: 4, to: &text)
            case UInt8(ascii: "U"): try appendCodePoint(digits: 8, to: &text)
            default: throw error("an unknown escape \\\(Character(Unicode.Scalar(escape))) in a double-quoted scalar")
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    private mutating func appendCodePoint(digits: Int, to text: inout [UInt8]) throws(YAMLError) {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let byte = current, let digit = Self.hexValue(byte) else {
                throw error("an escape needs \(digits) hexadecimal digits")
            }
            value = value << 4 | digit
            position += 1
        }
        guard let scalar = Unicode.Scalar(value) else { throw error("an escape names no Unicode character") }
        text.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 0x30...0x39: UInt32(byte - 0x30)
        case 0x41...0x46: UInt32(byte - 0x41 + 10)
        case 0x61...0x66: UInt32(byte - 0x61 + 10)
        default: nil
        }
    }

    /// Refuses what may not start a plain scalar in this subset, with the reason.
    func checkPlainStart() throws(YAMLError) {
        guard let byte = current else { return }
        switch byte {
        case UInt8(ascii: "&"): throw error("anchors (&) are not supported")
        case UInt8(ascii: "*"): throw error("aliases (*) are not supported")
        case UInt8(ascii: "!"): throw error("tags (!) are not supported")
        case UInt8(ascii: "|"), UInt8(ascii: ">"): throw error("block scalars (| and >) are not supported")
        case UInt8(ascii: "%"), UInt8(ascii: "@"), UInt8(ascii: "`"): throw error("a plain scalar cannot start with \(Character(Unicode.Scalar(byte)))")
        case UInt8(ascii: "?") where Self.isBlank(peek(1)) || peek(1) == nil: throw error("complex keys (?) are not supported")
        case UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: ","): throw error("an unexpected \(Character(Unicode.Scalar(byte)))")
        default: return
        }
    }

    /// A plain scalar: up to a comment, the end, `: ` (when `stopAtColon`), or in flow context
    /// `,` `]` `}`. Trailing blanks are not part of it.
    mutating func plain(flow: Bool, stopAtColon: Bool) throws(YAMLError) -> String {
        try checkPlainStart()
        let start = position
        var end = position
        while let byte = current {
            if byte == Lexer.hash && position > start && Self.isBlank(bytes[position - 1]) { break }
            if byte == UInt8(ascii: ":") && stopAtColon && (peek(1) == nil || Self.isBlank(peek(1)) || (flow && Self.isFlowIndicator(peek(1)))) { break }
            if flow && Self.isFlowIndicator(byte) { break }
            position += 1
            if !Self.isBlank(byte) { end = position }
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    static func isFlowIndicator(_ byte: UInt8?) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}")
            || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{")
    }

    /// A scalar (plain words `~`/`null` read as null) or a flow collection.
    mutating func value(flow: Bool, depth: Int) throws(YAMLError) -> YAMLNode {
        guard depth < YAMLSubset.maxDepth else { throw error("nested deeper than \(YAMLSubset.maxDepth) levels") }
        switch current {
        case UInt8(ascii: "["): return try flowSequence(depth: depth)
        case UInt8(ascii: "{"): return try flowMapping(depth: depth)
        case 0x27, 0x22: return YAMLNode(.scalar(try quoted(), quoted: true), line: line)
        default:
            let text = try plain(flow: flow, stopAtColon: true)
            if text.isEmpty { return YAMLNode(.null, line: line) }
            return YAMLNode(Self.isNullWord(text) ? .null : .scalar(text, quoted: false), line: line)
        }
    }

    static func isNullWord(_ text: String) -> Bool {
        text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    private mutating func flowSequence(depth: Int) throws(YAMLError) -> YAMLNode {
        position += 1
        var items: [YAMLNode] = []
        while true {
            skipBlanks()
            guard let byte = current, !atEndOrComment else {
                throw error("a flow sequence not closed on its line (multi-line flow collections are not supported)")
            }
            if byte == UInt8(ascii: "]") { position += 1; break }
            if byte == UInt8(ascii: ",") { throw error("an empty entry in a flow sequence") }
            let item = try value(flow: true, depth: depth + 1)
            skipBlanks()
            if current == UInt8(ascii: ":") { throw error("mappings inside flow sequences are not supported") }
            items.append(item)
            skipBlanks()
            if current == UInt8(ascii: ",") { position += 1; continue }
            if current == UInt8(ascii: "]") { position += 1; break }
            if atEndOrComment { throw error("a flow sequence not closed on its line (multi-line flow collections are not supported)") }
            throw error("expected , or ] in a flow sequence")
        }
        return YAMLNode(.sequence(items), line: line)
    }

    private mutating func flowMapping(depth: Int) throws(YAMLError) -> YAMLNode {
        position += 1
        var pairs: [YAMLPair] = []
        while true {
            skipBlanks()
            guard let byte = current, !atEndOrComment else {
                throw error("a flow mapping not closed on its line (multi-line flow collections are not supported)")
            }
            if byte == UInt8(ascii: "}") { position += 1; break }
            let key = try self.key(flow: true)
            skipBlanks()
            let item: YAMLNode
            if current == UInt8(ascii: ",") || current == UInt8(ascii: "}") {
                item = YAMLNode(.null, line: line)
            } else {
                item = try value(flow: true, depth: depth + 1)
            }
            if pairs.contains(where: { $0.key == key }) { throw error("the key \"\(key)\" appears twice") }
            pairs.append(YAMLPair(key: key, line: line, value: item))
            skipBlanks()
            if current == UInt8(ascii: ",") { position += 1; continue }
            if current == UInt8(ascii: "}") { position += 1; break }
            if atEndOrComment { throw error("a flow mapping not closed on its line (multi-line flow collections are not supported)") }
            throw error("expected , or } in a flow mapping")
        }
        return YAMLNode(.mapping(pairs), line: line)
    }

    /// A mapping key and its `:` (followed by a blank or the end; in flow context also by an
    /// indicator). Throws when there is none.
    mutating func key(flow: Bool) throws(YAMLError) -> String {
        let text: String
        if current == 0x27 || current == 0x22 {
            text = try quoted()
            skipBlanks()
        } else {
            if current == UInt8(ascii: "[") || current == UInt8(ascii: "{") {
                throw error("collections as mapping keys are not supported")
            }
            text = try plain(flow: flow, stopAtColon: true)
        }
        guard current == UInt8(ascii: ":"), peek(1) == nil || Self.isBlank(peek(1)) || (flow && Self.isFlowIndicator(peek(1))) else {
            throw error("expected \"key: value\"")
        }
        if text.isEmpty { throw error("an empty mapping key") }
        position += 1
        return text
    }

    /// Whether the rest of the line is a mapping entry (`key:` then a blank or the end).
    func startsMappingEntry() -> Bool {
        var probe = self
        do {
            _ = try probe.key(flow: false)
            return true
        } catch {
            return false
        }
    }
}

// MARK: Blocks

struct Parser {
    var lines: [Line]
    var index = 0

    init(lines: [Line]) {
        self.lines = lines
    }

    mutating func document() throws(YAMLError) -> YAMLNode {
        for line in lines where line.indent == 0 && line.content.first == UInt8(ascii: "%") {
            throw YAMLError(line: line.number, reason: "directives (%) are not supported")
        }
        if let first = lines.first, first.indent == 0, isMarker(first, "---") {
            var cursor = Cursor(first.content, line: first.number)
            cursor.position += 3
            cursor.skipBlanks()
            guard cursor.atEndOrComment else { throw cursor.error("content after --- is not supported") }
            index = 1
        }
        for line in lines[index...] where line.indent == 0 && (isMarker(line, "---") || isMarker(line, "...")) {
            throw YAMLError(line: line.number, reason: "several documents in one file are not supported")
        }
        guard index < lines.count else { return YAMLNode(.null, line: 1) }
        let node = try block(indent: lines[index].indent, depth: 0)
        if index < lines.count {
            throw YAMLError(line: lines[index].number, reason: "unexpected indentation")
        }
        return node
    }

    private func isMarker(_ line: Line, _ marker: String) -> Bool {
        let bytes = Array(marker.utf8)
        guard line.content.starts(with: bytes) else { return false }
        let next = line.content.dropFirst(3).first
        return next == nil || Cursor.isBlank(next)
    }

    private static func isSequenceItem(_ line: Line) -> Bool {
        line.content.first == UInt8(ascii: "-") && (line.content.count == 1 || Cursor.isBlank(line.content.dropFirst().first))
    }

    /// The node whose first line is `lines[index]`, at exactly `indent`.
    private mutating func block(indent: Int, depth: Int) throws(YAMLError) -> YAMLNode {
        let line = lines[index]
        guard depth < YAMLSubset.maxDepth else {
            throw YAMLError(line: line.number, reason: "nested deeper than \(YAMLSubset.maxDepth) levels")
        }
        if Self.isSequenceItem(line) { return try sequence(indent: indent, depth: depth) }
        if Cursor(line.content, line: line.number).startsMappingEntry() { return try mapping(indent: indent, depth: depth) }
        // A lone scalar or flow collection on its own line.
        var cursor = Cursor(line.content, line: line.number)
        let node = try cursor.value(flow: false, depth: depth)
        try finish(&cursor)
        index += 1
        try noDeeperLine(than: indent, after: line)
        return node
    }

    /// Only blanks and a comment may follow a value on its line.
    private func finish(_ cursor: inout Cursor) throws(YAMLError) {
        cursor.skipBlanks()
        guard cursor.atEndOrComment else {
            if cursor.current == UInt8(ascii: ":") { throw cursor.error("a mapping value cannot start a mapping on the same line") }
            throw cursor.error("unexpected text after a value")
        }
    }

    private func noDeeperLine(than indent: Int, after line: Line) throws(YAMLError) {
        if index < lines.count && lines[index].indent > indent {
            throw YAMLError(line: lines[index].number, reason: "unexpected indentation (multi-line plain scalars are not supported)")
        }
    }

    /// The value after `key:` or `-` when nothing follows on the line: the more indented block
    /// below, a sequence at the key's own indentation (`key:` then `- item`), or null.
    private mutating func valueBelow(indent: Int, line: Line, allowSameIndentSequence: Bool, depth: Int) throws(YAMLError) -> YAMLNode {
        guard index < lines.count else { return YAMLNode(.null, line: line.number) }
        let next = lines[index]
        if next.indent > indent { return try block(indent: next.indent, depth: depth + 1) }
        if allowSameIndentSequence && next.indent == indent && Self.isSequenceItem(next) {
            return try sequence(indent: indent, depth: depth + 1)
        }
        return YAMLNode(.null, line: line.number)
    }

    private mutating func mapping(indent: Int, depth: Int) throws(YAMLError) -> YAMLNode {
        let first = lines[index].number
        var pairs: [YAMLPair] = []
        while index < lines.count && lines[index].indent == indent && !Self.isSequenceItem(lines[index]) {
            let line = lines[index]
            var cursor = Cursor(line.content, line: line.number)
            let key = try cursor.key(flow: false)
            if pairs.contains(where: { $0.key == key }) {
                throw YAMLError(line: line.number, reason: "the key \"\(key)\" appears twice")
            }
            cursor.skipBlanks()
            let value: YAMLNode
            if cursor.atEndOrComment {
                index += 1
                value = try valueBelow(indent: indent, line: line, allowSameIndentSequence: true, depth: depth)
            } else {
                value = try cursor.value(flow: false, depth: depth + 1)
                try finish(&cursor)
                index += 1
                try noDeeperLine(than: indent, after: line)
            }
            pairs.append(YAMLPair(key: key, line: line.number, value: value))
        }
        if index < lines.count && lines[index].indent > indent {
            throw YAMLError(line: lines[index].number, reason: "unexpected indentation")
        }
        return YAMLNode(.mapping(pairs), line: first)
    }

    private mutating func sequence(indent: Int, depth: Int) throws(YAMLError) -> YAMLNode {
        let first = lines[index].number
        var items: [YAMLNode] = []
        while index < lines.count && lines[index].indent == indent && Self.isSequenceItem(lines[index]) {
            let line = lines[index]
            var cursor = Cursor(line.content, line: line.number)
            cursor.position += 1
            cursor.skipBlanks()
            if cursor.atEndOrComment {
                index += 1
                items.append(try valueBelow(indent: indent, line: line, allowSameIndentSequence: false, depth: depth))
                continue
            }
            // `- key: value` or `- - item`: the rest of the line is the first line of a block
            // indented to where it starts.
            let offset = cursor.position - line.content.startIndex
            let rest = Line(number: line.number, indent: indent + offset, content: line.content[cursor.position...])
            if Self.isSequenceItem(rest) || cursor.startsMappingEntry() {
                lines[index] = rest
                items.append(try block(indent: rest.indent, depth: depth + 1))
                continue
            }
            items.append(try cursor.value(flow: false, depth: depth + 1))
            try finish(&cursor)
            index += 1
            try noDeeperLine(than: indent, after: line)
        }
        if index < lines.count && lines[index].indent > indent {
            throw YAMLError(line: lines[index].number, reason: "unexpected indentation")
        }
        return YAMLNode(.sequence(items), line: first)
    }
}
