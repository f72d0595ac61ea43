import CCrypt
import COpenSSL
import Glibc
import KubemeterSync
import Synchronization

/// `Authorization: Basic` checked against bcrypt hashes (crypt_r from libxcrypt). A bcrypt costs
/// tens of milliseconds by design, so successful (user, password, hash) checks are remembered for
/// `cacheSeconds`, as exporter-toolkit does: a Prometheus scraping every 15 s pays one bcrypt a
/// minute. The cache holds SHA-256 digests, never passwords, at most `cacheCapacity` of them;
/// failures are never cached. Runs on the server's worker threads.
final class BasicAuthVerifier: Sendable {
    static let cacheCapacity = 256
    static let cacheSeconds: Double = 60
    /// Checked when the user is unknown, so that a wrong user costs the time a wrong password does
    /// (exporter-toolkit does the same). The hash of a random, forgotten password.
    static let decoyHash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

    private let users: [String: String]
    private let cache = AnnotatedMutex<[[UInt8]: UInt64]>([:])
    let hits = Atomic<UInt64>(0)
    let misses = Atomic<UInt64>(0)

    init(users: [String: String]) {
        self.users = users
    }

    var cacheCount: Int { cache.withLock { $0.count } }

    /// Whether the request's `Authorization` header values grant access.
    func allows(authorization values: [String]) -> Bool {
        guard values.count == 1, let (user, password) = Self.credentials(values[0]) else { return false }
        let hash = users[user]
        let key = Self.digest(user, password, hash ?? "")
        let now = MonotonicClock.now()
        if hash != nil, cache.withLock({ entries in entries[key].map { $0 > now } ?? false }) {
            hits.wrappingAdd(1, ordering: .relaxed)
            return true
        }
        misses.wrappingAdd(1, ordering: .relaxed)
        let matches = Self.bcryptMatches(password: password, hash: hash ?? Self.decoyHash)
        guard let _ = hash, matches else { return false }
        let expiry = now + MonotonicClock.nanoseconds(Self.cacheSeconds)
        cache.withLock { entries in
            if entries.count >= Self.cacheCapacity {
                entries = entries.filter { $0.value > now }
                if entries.count >= Self.cacheCapacity, let any = entries.first { entries.removeValue(forKey: any.key) }
            }
            entries[key] = expiry
        }
        return true
    }

    /// `Basic <base64 of user:password>` (scheme case-insensitive). nil when malformed, or when the
    /// password holds a NUL (crypt would stop reading there).
    static func credentials(_ value: String) -> (user: String, password: [UInt8])? {
        let bytes = Array(value.utf8)
        guard bytes.count > 6, String(decoding: bytes[0..<5], as: UTF8.self).lowercased() == "basic", bytes[5] == 0x20 else {
            return nil
        }
        var start = 6
        while start < bytes.count && bytes[start] == 0x20 { start += 1 }
        guard let decoded = Base64.decode(bytes[start...]), let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else {
            return nil
        }
        let password = Array(decoded[(colon + 1)...])
        guard !password.contains(0) else { return nil }
        guard let user = String(validating: decoded[..<colon], as: UTF8.self) else { return nil }
        return (user, password)
    }

    static func bcryptMatches(password: [UInt8], hash: String) -> Bool {
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer {
            // The state holds the password's key schedule: wiped before it is freed.
            memset(data, 0, MemoryLayout<crypt_data>.size)
            data.deallocate()
        }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        let computed: [UInt8]? = (password + [0]).withUnsafeBufferPointer { passwordBuffer in
            passwordBuffer.withMemoryRebound(to: CChar.self) { phrase in
                guard let result = crypt_r(phrase.baseAddress, hash, data) else { return nil }
                return Array(UnsafeBufferPointer(start: UnsafeRawPointer(result).assumingMemoryBound(to: UInt8.self), count: strlen(result)))
            }
        }
        guard let computed else { return false }
        let expected = Array(hash.utf8)
        // A failed crypt_r returns a string starting with '*', which never equals a valid hash.
        guard computed.count == expected.count else { return false }
        var difference: UInt8 = 0
        for index in computed.indices { difference |= computed[index] ^ expected[index] }
        return difference == 0
    }

    /// SHA-256 of user, password and hash, each followed by a NUL (so no two triples collide).
    static func digest(_ user: String, _ password: [UInt8], _ hash: String) -> [UInt8] {
        let input = Array(user.utf8) + [0] + password + [0] + Array(hash.utf8) + [0]
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = input.withUnsafeBytes { inputBuffer in
            EVP_Digest(inputBuffer.baseAddress, inputBuffer.count, &output, &length, EVP_sha256(), nil)
        }
        return output
    }
}

/// RFC 4648 base64 (the standard alphabet, padding optional), strict otherwise.
enum Base64 {
    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        var bytes = Array(text)
        while bytes.last == UInt8(ascii: "=") { bytes.removeLast() }
        guard text.count - bytes.count <= 2, bytes.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in bytes {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            default: return nil
            }
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}
