import KubemeterTestSupport
import Glibc
import Testing

/// Deterministic 64-hex container IDs and UUIDs (SplitMix64), so failures reproduce.
struct IDSource {
    private var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    mutating func hex(_ count: Int) -> String {
        var text = ""
        while text.count < count {
            let word = String(next(), radix: 16)
            text += String(repeating: "0", count: 16 - word.count) + word
        }
        return String(text.prefix(count))
    }

    mutating func containerID(prefix: String = "") -> String { prefix + hex(64 - prefix.count) }

    mutating func uuid() -> String {
        let h = hex(32)
        let chars = Array(h)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
    }

    /// A static pod's UID: 32 hex digits, no dashes.
    mutating func staticUID() -> String { hex(32) }
}
