/// Where the server listens: a host (name or IP literal) and a TCP port.
package struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// An IPv4 or IPv6 literal (without brackets) or a host name; "" means all interfaces
    /// (IPv6 dual-stack "::" when available, else 0.0.0.0).
    package var host: String
    /// 0 asks the kernel for a free port; `HTTPServer.boundAddress` tells which one it chose.
    package var port: UInt16

    package init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses "127.0.0.1:9779", "[::1]:9779", "[fe80::1%eth0]:9779", ":9779", "0.0.0.0:0", "localhost:9779".
    /// The port is required; an IPv6 literal must be in brackets.
    package init(parsing text: String) throws(HTTPServerError) {
        func invalid(_ detail: String) -> HTTPServerError {
            HTTPServerError(kind: .invalidAddress, address: "\"\(text)\"", detail: detail)
        }
        let bytes = Array(text.utf8)
        guard let colon = bytes.lastIndex(of: ASCII.colon) else { throw invalid("missing \":port\"") }
        let portBytes = bytes[(colon + 1)...]
        guard !portBytes.isEmpty, portBytes.count <= 5, portBytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw invalid("port must be a number from 0 to 65535")
        }
        let portValue = portBytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard portValue <= 65535 else { throw invalid("port must be a number from 0 to 65535") }

        var hostBytes = bytes[..<colon]
        if hostBytes.first == UInt8(ascii: "[") {
            guard hostBytes.count > 2, hostBytes.last == UInt8(ascii: "]") else {
                throw invalid("unterminated \"[\" in IPv6 address")
            }
            hostBytes = hostBytes.dropFirst().dropLast()
            guard hostBytes.contains(ASCII.colon),
                  hostBytes.allSatisfy({ Self.isIPv6LiteralByte($0) }) else {
                throw invalid("malformed IPv6 address in brackets")
            }
        } else {
            guard !hostBytes.contains(ASCII.colon) else {
                throw invalid("an IPv6 address must be written in brackets, e.g. [::1]:9779")
            }
            guard hostBytes.allSatisfy({ Self.isHostNameByte($0) }) else {
                throw invalid("malformed host name")
            }
        }
        self.host = String(decoding: hostBytes, as: UTF8.self)
        self.port = UInt16(portValue)
    }

    package var description: String {
        host.utf8.contains(ASCII.colon) ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    private static func isHostNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"): true
        default: false
        }
    }

    /// Hex digits, ':' and '.', plus '%' and a zone name such as "eth0".
    private static func isIPv6LiteralByte(_ byte: UInt8) -> Bool {
        isHostNameByte(byte) || byte == ASCII.colon || byte == ASCII.percent
    }
}
