import KubemeterExposition
import Testing

@Test(arguments: [
    ("gzip", true), ("GZIP", true), ("deflate, gzip;q=1.0, *;q=0.5", true), ("x-gzip", true), ("*", true),
    ("gzip;q=0", false), ("gzip; q=0.000", false), ("identity", false), ("", false), ("br, deflate", false),
    ("gzip;q=0.5", true),
    // RFC 9110 12.5.3: `*` covers only the codings not named, so an explicit refusal stands.
    ("gzip;q=0, *", false), ("*, gzip;q=0", false), ("*;q=0", false), ("*;q=0, gzip", true), ("br, *;q=0.1", true),
])
func acceptEncoding(header: String, accepted: Bool) {
    #expect(Gzip.isAccepted(by: header) == accepted)
}

@Test func compressesWithAGzipHeader() throws {
    let text = Array(String(repeating: "container_cpu_usage_seconds_total{container=\"app\"} 1.5\n", count: 200).utf8)
    let compressed = try #require(Gzip.compress(text))
    #expect(compressed.prefix(3) == [0x1f, 0x8b, 0x08], "gzip magic and deflate method")
    #expect(compressed.count * 10 < text.count)
    #expect(Gzip.isAccepted(by: nil) == false)
}
