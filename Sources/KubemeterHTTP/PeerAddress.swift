import Glibc

/// The address a connection came from, as the per-address share of the connection slots counts it:
/// an IPv4 address (also when it reaches a dual-stack listener as `::ffff:a.b.c.d`), or an IPv6
/// address cut to its first `ipv6PrefixLength` bits (128 by default: every IPv6 address on its own;
/// 64 counts a /64 as one). Unix-domain peers (socket activation can pass such a listener) have none.
package struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    /// 16 bytes: IPv4 as `::ffff:a.b.c.d`, IPv6 with the bits past the prefix cleared.
    private var high: UInt64
    private var low: UInt64

    /// From a `sockaddr_in` or `sockaddr_in6` as accept() filled it in; nil for any other family.
    package init?(socketAddress raw: UnsafeRawBufferPointer, ipv6PrefixLength: Int = 128) {
        guard raw.count >= MemoryLayout<sa_family_t>.size else { return nil }
        let family = Int32(raw.load(as: sa_family_t.self))
        var bytes = [UInt8](repeating: 0, count: 16)
        switch family {
        case AF_INET where raw.count >= MemoryLayout<sockaddr_in>.size:
            let v4 = raw.loadUnaligned(as: sockaddr_in.self)
            withUnsafeBytes(of: v4.sin_addr) { address in
                bytes[10] = 0xFF
                bytes[11] = 0xFF
                for index in 0..<4 { bytes[12 + index] = address[index] }
            }
        case AF_INET6 where raw.count >= MemoryLayout<sockaddr_in6>.size:
            let v6 = raw.loadUnaligned(as: sockaddr_in6.self)
            withUnsafeBytes(of: v6.sin6_addr) { address in
                for index in 0..<16 { bytes[index] = address[index] }
            }
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
            if !mapped {
                let keep = max(0, min(128, ipv6PrefixLength))
                for index in 0..<16 {
                    let bitsInByte = max(0, min(8, keep - index * 8))
                    bytes[index] &= bitsInByte == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - bitsInByte))
                }
            }
        default:
            return nil
        }
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Whether this is an IPv4 address (or one mapped into IPv6).
    package var isIPv4: Bool { high == 0 && low >> 32 == 0xFFFF }

    /// `a.b.c.d`, or the IPv6 address (its prefix, the rest zero) as inet_ntop writes it.
    package var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if isIPv4 {
            var v4 = in_addr(s_addr: UInt32(truncatingIfNeeded: low).bigEndian)
            guard inet_ntop(AF_INET, &v4, &text, socklen_t(text.count)) != nil else { return "?" }
        } else {
            var v6 = in6_addr()
            withUnsafeMutableBytes(of: &v6) { raw in
                for index in 0..<8 {
                    raw[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * index))
                    raw[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * index))
                }
            }
            guard inet_ntop(AF_INET6, &v6, &text, socklen_t(text.count)) != nil else { return "?" }
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
