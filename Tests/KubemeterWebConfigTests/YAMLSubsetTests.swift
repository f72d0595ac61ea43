import KubemeterTestSupport
import Testing
@testable import KubemeterWebConfig

/// Fixture files live in `Fixtures/` next to this file.
enum Fixture {
    static let directory = TestShell.fixturesDirectory()

    static func bytes(_ name: String) throws -> [UInt8] {
        try TestShell.readBytes(directory + name)
    }

    static let names = ["full.yml", "tls-only.yml", "basic-auth-only.yml", "empty.yml"]
}

func yaml(_ text: String) throws(YAMLError) -> YAMLNode {
    try YAMLSubset.parse(Array(text.utf8))
}

func yamlError(_ text: String) -> YAMLError? {
    do {
        _ = try yaml(text)
        return nil
    } catch {
        return error
    }
}

func scalar(_ text: String, quoted: Bool = false, line: Int) -> YAMLNode {
    YAMLNode(.scalar(text, quoted: quoted), line: line)
}

@Suite struct YAMLSubsetTests {
    @Test func nestedMappingsSequencesAndScalars() throws {
        let node = try yaml("""
            # a comment
            a:
              b: plain text # trailing comment
              c: 'it''s'
              d: "tab\\there \\u00e9"
            list:
            - one
            - "two"
            flow: [x, 'y z', "w"]
            empty_flow: []
            empty_map: {}
            nothing:
            tilde: ~
            url: http://host:80/path#anchor
            """)
        guard case .mapping(let top) = node.kind else { Issue.record("not a mapping"); return }
        #expect(top.map(\.key) == ["a", "list", "flow", "empty_flow", "empty_map", "nothing", "tilde", "url"])
        #expect(top[0].value == YAMLNode(.mapping([
            YAMLPair(key: "b", line: 3, value: scalar("plain text", line: 3)),
            YAMLPair(key: "c", line: 4, value: scalar("it's", quoted: true, line: 4)),
            YAMLPair(key: "d", line: 5, value: scalar("tab\there é", quoted: true, line: 5)),
        ]), line: 3))
        #expect(top[1].value == YAMLNode(.sequence([scalar("one", line: 7), scalar("two", quoted: true, line: 8)]), line: 7))
        #expect(top[2].value == YAMLNode(.sequence([scalar("x", line: 9), scalar("y z", quoted: true, line: 9), scalar("w", quoted: true, line: 9)]), line: 9))
        #expect(top[3].value.kind == .sequence([]))
        #expect(top[4].value.kind == .mapping([]))
        #expect(top[5].value.kind == .null)
        #expect(top[6].value.kind == .null)
        // '#' inside a plain scalar (not after a blank) is text, as ':' not followed by a blank.
        #expect(top[7].value == scalar("http://host:80/path#anchor", line: 14))
    }

    @Test func indentedSequencesAndCompactMappingsInItems() throws {
        let node = try yaml("k:\n  - a: 1\n    b: 2\n  - - x\n    - y\n")
        let expected = YAMLNode(.mapping([YAMLPair(key: "k", line: 1, value: YAMLNode(.sequence([
            YAMLNode(.mapping([YAMLPair(key: "a", line: 2, value: scalar("1", line: 2)),
                               YAMLPair(key: "b", line: 3, value: scalar("2", line: 3))]), line: 2),
            YAMLNode(.sequence([scalar("x", line: 4), scalar("y", line: 5)]), line: 4),
        ]), line: 2))]), line: 1)
        #expect(node == expected)
    }

    @Test func emptyDocumentsAreNull() throws {
        #expect(try yaml("").kind == .null)
        #expect(try yaml("# only\n\n   \n").kind == .null)
        #expect(try yaml("---\n").kind == .null)
        #expect(try yaml("\u{FEFF}a: b\r\n").kind == .mapping([YAMLPair(key: "a", line: 1, value: scalar("b", line: 1))]))
    }

    /// Each refusal names the line it is on.
    @Test(arguments: [
        ("a: b\n\tc: d\n", 2, "tab"),
        ("a: &x b\n", 1, "anchors"),
        ("a: *x\n", 1, "aliases"),
        ("a: !!str b\n", 1, "tags"),
        ("a: |\n  text\n", 1, "block scalars"),
        ("a: >\n  text\n", 1, "block scalars"),
        ("a: b\na: c\n", 2, "appears twice"),
        ("a: 'open\n", 1, "not closed"),
        ("a: [x, y\n", 1, "not closed"),
        ("a: b\n   c: d\n", 2, "indentation"),
        ("a:\n  b: c\n d: e\n", 3, "indentation"),
        ("a: b: c\n", 1, "same line"),
        ("just a line\nnext: x\n", 2, "indentation"),
        ("a: b\n---\nc: d\n", 2, "several documents"),
        ("? a\n: b\n", 1, "complex keys"),
        ("a: \"\\q\"\n", 1, "unknown escape"),
        ("a: [b: c]\n", 1, "mappings inside flow"),
        ("a: plain\n  continued\n", 2, "multi-line"),
        ("%YAML 1.2\n---\na: b\n", 1, "directives"),
        ("a: [x,, y]\n", 1, "empty entry"),
    ] as [(String, Int, String)])
    func refusals(input: String, line: Int, reason: String) {
        let error = yamlError(input)
        #expect(error?.line == line, "\(input.debugDescription): \(String(describing: error))")
        #expect(error?.reason.contains(reason) == true, "\(input.debugDescription): \(String(describing: error))")
    }

    @Test func notUTF8IsRefused() {
        #expect(throws: YAMLError(line: 0, reason: "not UTF-8")) { try YAMLSubset.parse([0x61, 0x3A, 0x20, 0xFF]) }
    }

    @Test func deepNestingIsRefusedNotOverflowed() {
        let flow = "a: " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(yamlError(flow)?.reason.contains("nested deeper") == true)
        var block = ""
        for depth in 0..<100 { block += String(repeating: " ", count: depth) + "k:\n" }
        #expect(yamlError(block)?.reason.contains("nested deeper") == true)
    }

    @Test func fixturesParse() throws {
        for name in Fixture.names {
            _ = try YAMLSubset.parse(try Fixture.bytes(name))
        }
    }
}

/// Deterministic mutation fuzzing of the YAML subset parser and the web configuration on top of
/// it, in the style of KubemeterParsersTests/FuzzTests: 20,000 inputs from the fixtures, each
/// must parse or throw (never crash), the same way twice, and an error's line must lie within
/// the input.
@Suite struct WebConfigFuzzTests {
    static let iterations = 20_000
    static let tokens: [[UInt8]] = [
        ":", ": ", "- ", "-", "#", " #", "'", "\"", "''", "\\", "[", "]", "{", "}", ",", "\n", "\r\n", "\t", "  ", "    ",
        "~", "null", "true", "false", "&a", "*a", "!t", "|", ">", "---", "?", "%", "\\u00e9", "\\x4",
        "tls_server_config:", "cert_file:", "client_auth_type:", "basic_auth_users:", "$2y$10$",
    ].map { Array($0.utf8) }

    static func mutate(_ input: inout [UInt8], _ rng: inout SplitMix64) {
        let count = input.count
        switch rng.next() % 6 {
        case 0 where count > 0:
            input[Int(rng.next() % UInt64(count))] = UInt8(truncatingIfNeeded: rng.next())
        case 1 where count > 0:
            let start = Int(rng.next() % UInt64(count))
            input.removeSubrange(start..<min(count, start + Int(rng.next() % 16) + 1))
        case 2 where count > 0:
            let start = Int(rng.next() % UInt64(count))
            let end = min(count, start + Int(rng.next() % 64) + 1)
            input.insert(contentsOf: input[start..<end], at: Int(rng.next() % UInt64(count + 1)))
        case 3 where count > 0:
            input.removeLast(Int(rng.next() % UInt64(count)))
        default:
            input.insert(contentsOf: tokens[Int(rng.next() % UInt64(tokens.count))], at: Int(rng.next() % UInt64(count + 1)))
        }
    }

    @Test func mutatedConfigurations() throws {
        let samples = try Fixture.names.map { try Fixture.bytes($0) }
        var rng = SplitMix64(seed: 20)
        var failures = 0
        var parsed = 0
        var configs = 0
        for iteration in 0..<Self.iterations {
            var input = samples[iteration % samples.count]
            for _ in 0..<(1 + Int(rng.next() % 4)) { Self.mutate(&input, &rng) }
            let lines = input.filter { $0 == 0x0A }.count + 1
            let first = Result { () throws(YAMLError) -> YAMLNode in try YAMLSubset.parse(input) }
            let second = Result { () throws(YAMLError) -> YAMLNode in try YAMLSubset.parse(input) }
            var ok = true
            switch (first, second) {
            case (.success(let a), .success(let b)): ok = a == b; parsed += 1
            case (.failure(let a), .failure(let b)): ok = a == b && a.line >= 0 && a.line <= lines
            default: ok = false
            }
            let config = Result { () throws(WebConfigError) -> WebConfig in try WebConfig.parse(input, directory: "/d") }
            switch config {
            case .success: configs += 1
            case .failure(let error): ok = ok && error.line >= 0 && error.line <= lines
            }
            if !ok {
                failures += 1
                if failures <= 5 { Issue.record("iteration \(iteration): \(String(decoding: input, as: UTF8.self).debugDescription) gave \(first) then \(second); \(config)") }
            }
        }
        #expect(failures == 0)
        #expect(parsed > 0)
        #expect(configs > 0)
    }
}
