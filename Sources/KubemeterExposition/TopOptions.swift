/// What `kubemeter top` and `GET /top` show: sort order, filters, pod or container rows.
package struct TopOptions: Sendable, Equatable {
    package var sort: TopSortKey
    /// Keeps namespaces matching this (substring, or glob with `*` and `?`).
    package var namespace: NameFilter?
    /// Keeps pods whose name matches this (substring, or glob with `*` and `?`).
    package var pod: NameFilter?
    /// One row per container instead of one per pod.
    package var containers: Bool

    package init(sort: TopSortKey = .cpu, namespace: NameFilter? = nil, pod: NameFilter? = nil, containers: Bool = false) {
        self.sort = sort
        self.namespace = namespace
        self.pod = pod
        self.containers = containers
    }
}

/// The column a top table is sorted by: largest first, names alphabetically.
package enum TopSortKey: String, Sendable, CaseIterable {
    case cpu, memory, name, namespace, throttle, oom, restarts, ephemeral, psi, rx, tx

    /// The key bound to this sort in the live view.
    package var key: Character {
        switch self {
        case .cpu: "c"
        case .memory: "m"
        case .name: "n"
        case .namespace: "N"
        case .throttle: "t"
        case .oom: "o"
        case .restarts: "R"
        case .ephemeral: "E"
        case .psi: "p"
        case .rx: "r"
        case .tx: "x"
        }
    }
}

/// A name filter: a glob when the pattern has `*`, `?` or `[`, else a substring match.
package struct NameFilter: Sendable, Equatable {
    package let pattern: String
    private let isGlob: Bool

    package init(_ pattern: String) {
        self.pattern = pattern
        isGlob = pattern.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" })
    }

    package func matches(_ name: String) -> Bool {
        if !isGlob { return pattern.isEmpty || name.contains(pattern) }
        return Self.glob(Array(pattern.utf8)[...], Array(name.utf8)[...])
    }

    /// `*` any run, `?` one byte, `[abc]` / `[a-z]` / `[!a]` one byte of a set.
    private static func glob(_ pattern: ArraySlice<UInt8>, _ name: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var n = name.startIndex
        var starP: Int?
        var starN = 0
        while n < name.endIndex {
            if p < pattern.endIndex {
                let c = pattern[p]
                if c == UInt8(ascii: "*") {
                    starP = p
                    starN = n
                    p += 1
                    continue
                }
                if c == UInt8(ascii: "?") {
                    p += 1
                    n += 1
                    continue
                }
                if c == UInt8(ascii: "["), let (matched, next) = set(pattern, p, name[n]) {
                    if matched {
                        p = next
                        n += 1
                        continue
                    }
                } else if c == name[n] {
                    p += 1
                    n += 1
                    continue
                }
            }
            guard let star = starP else { return false }
            p = star + 1
            starN += 1
            n = starN
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }

    /// Whether `byte` is in the set starting at `start` (a '['), and the index after its ']';
    /// nil when the '[' opens no complete set (then it matches itself).
    private static func set(_ pattern: ArraySlice<UInt8>, _ start: Int, _ byte: UInt8) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < pattern.endIndex, pattern[i] == UInt8(ascii: "!") || pattern[i] == UInt8(ascii: "^") {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < pattern.endIndex {
            let c = pattern[i]
            if c == UInt8(ascii: "]"), !first { return (matched != negate, i + 1) }
            first = false
            if i + 2 < pattern.endIndex, pattern[i + 1] == UInt8(ascii: "-"), pattern[i + 2] != UInt8(ascii: "]") {
                if byte >= c && byte <= pattern[i + 2] { matched = true }
                i += 3
            } else {
                if byte == c { matched = true }
                i += 1
            }
        }
        return nil
    }
}
