import CZlib

/// gzip (RFC 1952) through zlib, for responses to clients that send `Accept-Encoding: gzip`.
package enum Gzip {
    /// The gzip encoding of `bytes`, or nil if zlib failed (the caller then sends them as they are).
    /// Level 1: metrics text compresses about 8:1 even at the fastest level, and the agent's CPU is
    /// paid on every node.
    package static func compress(_ bytes: [UInt8], level: Int32 = 1) -> [UInt8]? {
        var stream = z_stream()
        guard kubemeter_deflate_init_gzip(&stream, level) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let status = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        output.removeLast(bound - Int(stream.total_out))
        return output
    }

    /// Whether an `Accept-Encoding` header value accepts gzip: `gzip` or `x-gzip` without `q=0`, or,
    /// when neither is named, `*` without `q=0`.
    package static func isAccepted(by acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        // RFC 9110 12.5.3: a coding named explicitly decides for itself; `*` speaks only for the
        // codings not named, so `gzip;q=0, *` refuses gzip.
        var gzipNamed: Bool?
        var wildcard: Bool?
        for item in acceptEncoding.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingASCIISpaces().lowercased() }
            guard let coding = parts.first else { continue }
            let refused = parts.dropFirst().contains { (parameter: String) -> Bool in
                parameter.hasPrefix("q=") && Double(parameter.dropFirst(2)) == 0
            }
            if coding == "gzip" || coding == "x-gzip" {
                gzipNamed = (gzipNamed ?? false) || !refused
            } else if coding == "*" {
                wildcard = (wildcard ?? false) || !refused
            }
        }
        return gzipNamed ?? wildcard ?? false
    }
}

private extension Substring {
    func trimmingASCIISpaces() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
