/// Writes the Prometheus text exposition format 0.0.4 into a byte buffer.
package struct PrometheusTextWriter {
    package private(set) var bytes: [UInt8]

    /// The Content-Type Prometheus requires for this format (Prometheus 3 refuses a scrape
    /// whose Content-Type is missing or invalid).
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    package init(reservingCapacity capacity: Int = 16 * 1024) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    package mutating func family(_ name: String, type: String, help: String) {
        append("# HELP ", name, " ")
        appendEscaped(help, escapeQuotes: false)
        append("\n# TYPE ", name, " ", type, "\n")
    }

    /// One sample. `labels` must already be sorted by name, as the kubelet's client writes them.
    package mutating func sample(
        _ name: String, labels: [(String, String)] = [], value: Double, timestampMilliseconds: Int64? = nil
    ) {
        sample(name, labelSet: labels.isEmpty ? [] : Self.labelSet(labels), value: value,
               timestampMilliseconds: timestampMilliseconds)
    }

    /// `{name="value",...}` for `labels` (sorted by name), made once and reused across families.
    /// The one place label values are escaped.
    package static func labelSet(_ labels: [(String, String)]) -> [UInt8] {
        var w = PrometheusTextWriter(reservingCapacity: 128)
        w.bytes.append(UInt8(ascii: "{"))
        for (index, (label, labelValue)) in labels.enumerated() {
            if index > 0 { w.bytes.append(UInt8(ascii: ",")) }
            w.append(label, "=\"")
            w.appendEscaped(labelValue, escapeQuotes: true)
            w.bytes.append(UInt8(ascii: "\""))
        }
        w.bytes.append(UInt8(ascii: "}"))
        return w.bytes
    }

    /// One sample whose label set was made by `labelSet`.
    package mutating func sample(_ name: String, labelSet: [UInt8], value: Double, timestampMilliseconds: Int64? = nil) {
        bytes.append(contentsOf: name.utf8)
        bytes.append(contentsOf: labelSet)
        bytes.append(UInt8(ascii: " "))
        GoFloatFormat.append(value, to: &bytes)
        if let timestampMilliseconds {
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: String(timestampMilliseconds).utf8)
        }
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func append(_ parts: String...) {
        for part in parts { bytes.append(contentsOf: part.utf8) }
    }

    /// HELP escapes `\` and newline; label values also escape `"`.
    private mutating func appendEscaped(_ text: String, escapeQuotes: Bool) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            case UInt8(ascii: "\"") where escapeQuotes: append("\\\"")
            default: bytes.append(byte)
            }
        }
    }
}
