import KubemeterJSON
import Testing

private func parse(_ text: String) throws(JSONError) -> JSONValue {
    try JSONParser.parse(Array(text.utf8))
}

private func rejects(_ bytes: [UInt8]) -> JSONError? {
    do {
        _ = try JSONParser.parse(bytes)
        return nil
    } catch {
        return error
    }
}

private func rejects(_ text: String) -> JSONError? { rejects(Array(text.utf8)) }

@Test func readsAKubernetesShapedDocument() throws {
    let value = try parse(#"""
        {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42"},
         "items":[{"metadata":{"name":"kubemeter-x7k2p","labels":{"app.kubernetes.io/name":"kubemeter"}},
                   "spec":{"nodeName":"node-a","containers":[{"ports":[{"name":"http-metrics","containerPort":10265}]}]},
                   "status":{"phase":"Running","podIP":"10.0.0.7","ready":true,"message":null}}]}
        """#)
    #expect(value["kind"]?.string == "PodList")
    let pod = value["items"]?.array?.first
    #expect(pod?["metadata"]?["name"]?.string == "kubemeter-x7k2p")
    #expect(pod?["spec"]?["containers"]?.array?.first?["ports"]?.array?.first?["containerPort"]?.int == 10265)
    #expect(pod?["status"]?["ready"]?.bool == true)
    #expect(pod?["status"]?["message"]?.isNull == true)
    #expect(pod?["status"]?["absent"] == nil)
    #expect(value["metadata"]?.object?.keys == ["resourceVersion"])
    #expect(value.object?.keys == ["kind", "apiVersion", "metadata", "items"])
}

@Test func numbersKeepTheirTextAndReadExactly() throws {
    #expect(try parse("18446744073709551615").uint64 == UInt64.max)
    #expect(try parse("18446744073709551616").uint64 == nil)  // past UInt64: no wrap, no rounding
    #expect(try parse("-9223372036854775808").int64 == Int64.min)
    #expect(try parse("9007199254740993").uint64 == 9_007_199_254_740_993)  // not representable as a Double
    #expect(try parse("0.25").double == 0.25)
    #expect(try parse("1e-05").double == 1e-05)
    #expect(try parse("-0").double == 0)
    #expect(try parse("2.5E+3").double == 2500)
    #expect(try parse("1.5").uint64 == nil)
    #expect(try parse("1e3").int == nil)  // an exponent is not an integer's text
    #expect(try parse("1e400").double == nil)  // infinity is not a number
    #expect(try parse("-1").uint64 == nil)
    #expect(try parse(" 7 ").number == "7" as String?)
}

extension JSONValue {
    fileprivate var number: String? {
        if case .number(let text) = self { return text }
        return nil
    }
}

@Test func stringsDecodeEscapesAndSurrogatePairs() throws {
    #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t""#).string == "a\"b\\c/d\u{08}\u{0C}\n\r\t")
    #expect(try parse(#""\u00e9\u20AC""#).string == "é€")
    #expect(try parse(#""\ud83d\ude00""#).string == "😀")
    #expect(try parse("\"é😀\"").string == "é😀")  // raw UTF-8 passes
    #expect(try parse(#""""#).string == "")
    #expect(try parse(#""\u0000""#).string == "\u{0}")
}

@Test func rejectsWhatTheRFCRejects() {
    let cases: [(String, String)] = [
        ("", "unexpected end"), ("   ", "unexpected end"), ("{", "unexpected end"), ("[1,", "unexpected end"),
        ("[1,]", "a value expected"), (#"{"a":1,}"#, "a string key expected"), ("{a:1}", "a string key expected"),
        ("'x'", "a value expected"), ("01", "leading zero"), ("-", "a digit expected"), ("1.", "after '.'"),
        (".5", "a value expected"), ("1e", "exponent"), ("+1", "a value expected"), ("NaN", "a value expected"),
        ("Infinity", "a value expected"), ("tru", "truncated literal"), ("nul", "truncated literal"), ("trUe", "invalid literal"),
        ("1 2", "data after the value"), ("[1]x", "data after the value"), ("/* c */1", "a value expected"),
        (#""a"#, "unterminated string"), (#""\x""#, "invalid escape"), (#""\u12x4""#, "invalid hex digit"),
        (#""\u12"#, "truncated"), (#""\ud83d""#, "unpaired high surrogate"), (#""\ude00""#, "unpaired low surrogate"),
        (#""\ud83d\u0041""#, "not followed by a low one"), ("\"a\tb\"", "control character"), ("\"a\nb\"", "control character"),
        (#"{"a":1,"a":2}"#, "duplicate key"), (#"{"a" 1}"#, "':' expected"), ("[1 2]", "',' or ']' expected"),
        (#"{"a":1 "b":2}"#, "',' or '}' expected"), ("\u{FEFF}1", "a value expected"), ("\u{0B}1", "a value expected"),
    ]
    for (text, reason) in cases {
        let error = rejects(text)
        #expect(error != nil, "accepted \(text.debugDescription)")
        #expect(error?.reason.contains(reason) == true, "\(text.debugDescription): \(error.map { "\($0)" } ?? "accepted"), wanted \(reason)")
    }
}

@Test func rejectsInvalidUTF8() {
    for bytes: [UInt8] in [
        [0x22, 0xFF, 0x22],  // never valid
        [0x22, 0xC0, 0xAF, 0x22],  // overlong "/"
        [0x22, 0xED, 0xA0, 0x80, 0x22],  // a surrogate encoded in UTF-8
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // past U+10FFFF
        [0x22, 0xE2, 0x82, 0x22],  // truncated sequence
        [0x22, 0x5C, 0x6E, 0xC3, 0x22],  // truncated, after an escape (the slow path)
    ] {
        #expect(rejects(bytes)?.reason.contains("UTF-8") == true, "\(bytes)")
    }
}

@Test func errorsSayWhere() {
    #expect(rejects(#"{"a": [1, 2, x]}"#) == JSONError(offset: 13, reason: "unexpected byte 'x', a value expected"))
    #expect(rejects(#"{"k":1,"k":2}"#)?.offset == 7)
    #expect("\(rejects("[1,]")!)" == "invalid JSON at byte 3: unexpected byte ']', a value expected")
}

@Test func depthIsBounded() throws {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(rejects(deep)?.reason.contains("nested deeper than 128") == true)  // no stack overflow
    let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
    #expect(try parse(ok).array?.count == 1)
    #expect(rejects(String(repeating: #"{"a":"#, count: 129) + "1" + String(repeating: "}", count: 129)) != nil)
    #expect(throws: JSONError.self) { try JSONParser.parse(Array("[[1]]".utf8), maxDepth: 1) }
}

@Test func everyPrefixOfADocumentIsRejectedWithoutCrashing() {
    let document = Array(#"{"a":[1,-2.5e3,true,false,null,"\u00e9\ud83d\ude00x"],"b":{}}"#.utf8)
    #expect(rejects(document) == nil)
    for end in 0..<document.count {
        #expect(rejects(Array(document[0..<end])) != nil, "prefix of \(end) bytes accepted")
    }
}

@Test func largeObjectsKeepOrderAndRefuseDuplicatesToo() throws {
    let members = (0..<100).map { #""k\#($0)":\#($0)"# }
    let object = try #require(try parse("{" + members.joined(separator: ",") + "}").object)
    #expect(object.count == 100 && object.keys.first == "k0" && object.keys.last == "k99")
    #expect(object["k77"] == .number("77") && object["k100"] == nil)
    #expect(object.members.map(\.key) == object.keys)
    #expect(rejects("{" + members.joined(separator: ",") + #","k5":0}"#)?.reason == #"duplicate key "k5""#)
    #expect(rejects("{" + members.joined(separator: ",") + #","k99":0}"#)?.offset == members.joined(separator: ",").utf8.count + 2)
}
