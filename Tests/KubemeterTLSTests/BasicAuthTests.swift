import KubemeterHTTP
import KubemeterTestSupport
import Synchronization
import Testing
@testable import KubemeterTLS

/// "U*U" under OpenBSD's bcrypt test vector (independent of libxcrypt), and "hunter2" at cost 4.
let vectorHash = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
let hunter2Hash = "$2b$04$r7xjRbbcejCHUP23397Li.5WTBQIznvHBbQmagriusv3vS.3v9U2u"

func basic(_ credentials: String) -> String {
    "Basic " + base64(Array(credentials.utf8))
}

func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
        let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
        let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
        for position in 0..<4 {
            out.append(position <= chunk.count ? alphabet[Int(value >> (18 - 6 * UInt32(position)) & 63)] : UInt8(ascii: "="))
        }
        index += 3
    }
    return String(decoding: out, as: UTF8.self)
}

@Suite struct BasicAuthTests {
    @Test func bcryptAgainstKnownVectors() {
        #expect(BasicAuthVerifier.bcryptMatches(password: Array("U*U".utf8), hash: vectorHash))
        #expect(!BasicAuthVerifier.bcryptMatches(password: Array("U*V".utf8), hash: vectorHash))
        #expect(BasicAuthVerifier.bcryptMatches(password: Array("hunter2".utf8), hash: hunter2Hash))
        #expect(!BasicAuthVerifier.bcryptMatches(password: Array("hunter".utf8), hash: hunter2Hash))
        #expect(!BasicAuthVerifier.bcryptMatches(password: [], hash: hunter2Hash))
        #expect(!BasicAuthVerifier.bcryptMatches(password: Array("x".utf8), hash: "not a hash"))
    }

    @Test func credentialsParsing() {
        #expect(BasicAuthVerifier.credentials(basic("alice:pa:ss")).map { [$0.user, String(decoding: $0.password, as: UTF8.self)] } == ["alice", "pa:ss"])
        #expect(BasicAuthVerifier.credentials("basic " + base64(Array("a:b".utf8)))?.user == "a")
        #expect(BasicAuthVerifier.credentials(basic("nocolon")) == nil)
        #expect(BasicAuthVerifier.credentials("Bearer abc") == nil)
        #expect(BasicAuthVerifier.credentials("Basic !!!") == nil)
        #expect(BasicAuthVerifier.credentials("Basic") == nil)
        // A NUL would end the password early for crypt: refused.
        #expect(BasicAuthVerifier.credentials("Basic " + base64([0x61, 0x3A, 0x62, 0x00, 0x63])) == nil)
    }

    @Test func base64Decoding() {
        #expect(Base64.decode(ArraySlice("YWxpY2U6c2VjcmV0".utf8)) == Array("alice:secret".utf8))
        #expect(Base64.decode(ArraySlice("YQ==".utf8)) == Array("a".utf8))
        #expect(Base64.decode(ArraySlice("YQ".utf8)) == Array("a".utf8))
        #expect(Base64.decode(ArraySlice("Y".utf8)) == nil)
        #expect(Base64.decode(ArraySlice("YQ===".utf8)) == nil)
        #expect(Base64.decode(ArraySlice("Y Q".utf8)) == nil)
    }

    @Test func successesAreCachedFailuresAreNot() {
        let verifier = BasicAuthVerifier(users: ["alice": hunter2Hash])
        #expect(verifier.allows(authorization: [basic("alice:hunter2")]))
        #expect(verifier.allows(authorization: [basic("alice:hunter2")]))
        #expect(verifier.hits.load(ordering: .relaxed) == 1)
        #expect(verifier.misses.load(ordering: .relaxed) == 1)
        #expect(!verifier.allows(authorization: [basic("alice:hunter3")]))
        #expect(!verifier.allows(authorization: [basic("alice:hunter3")]))
        #expect(verifier.misses.load(ordering: .relaxed) == 3)
        #expect(!verifier.allows(authorization: [basic("bob:hunter2")]))
        #expect(!verifier.allows(authorization: []))
        #expect(!verifier.allows(authorization: [basic("alice:hunter2"), basic("alice:hunter2")]))
    }

    @Test func theCacheIsBounded() {
        // Distinct users sharing one hash: each success is a distinct cache entry.
        let count = BasicAuthVerifier.cacheCapacity + 20
        let verifier = BasicAuthVerifier(users: Dictionary(uniqueKeysWithValues: (0..<count).map { ("u\($0)", hunter2Hash) }))
        for index in 0..<count {
            #expect(verifier.allows(authorization: [basic("u\(index):hunter2")]))
        }
        #expect(verifier.cacheCount == BasicAuthVerifier.cacheCapacity)
        // The newest entry stays.
        #expect(verifier.allows(authorization: [basic("u\(count - 1):hunter2")]))
        #expect(verifier.hits.load(ordering: .relaxed) == 1)
    }
}
