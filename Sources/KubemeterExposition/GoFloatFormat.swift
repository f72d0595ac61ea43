/// Formats a sample value exactly as the kubelet's Prometheus client does (prometheus/common
/// expfmt `writeFloat`: 1, 0, -1, NaN, +Inf, -Inf written by name; otherwise Go's
/// `strconv.AppendFloat(f, 'g', -1, 64)`), so a scrape of kubemeter reads byte for byte like a
/// scrape of the kubelet: `1.234567e+06`, `0.5`, `1e-05`, `123456`.
package enum GoFloatFormat {
    package static func append(_ value: Double, to out: inout [UInt8]) {
        if value.isNaN { out.append(contentsOf: "NaN".utf8); return }
        if value == .infinity { out.append(contentsOf: "+Inf".utf8); return }
        if value == -.infinity { out.append(contentsOf: "-Inf".utf8); return }
        if value == 0 { out.append(UInt8(ascii: "0")); return }
        if value < 0 { out.append(UInt8(ascii: "-")) }
        // Byte counts and whole seconds: below 2^53 an integer's shortest digits are its own
        // digits less trailing zeros (its neighbours are within 1), so no round trip through text.
        if value.magnitude < 9_007_199_254_740_992, value.magnitude.rounded(.towardZero) == value.magnitude {
            appendInteger(UInt64(value.magnitude), to: &out)
            return
        }

        // Swift's description is the shortest digit string that reads back to the same double,
        // as Go's shortest mode is; only the layout differs, so re-lay the digits out Go's way.
        var digits: [UInt8] = []
        var pointPosition = 0  // value = 0.d1d2...dn x 10^pointPosition
        decompose(value.magnitude.description, &digits, &pointPosition)

        let exponent = pointPosition - 1
        if exponent < -4 || exponent >= 6 {
            // %e with as many digits as needed: d[.ddd]e±XX (at least two exponent digits).
            out.append(digits[0])
            if digits.count > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            out.append(UInt8(ascii: "e"))
            out.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let magnitude = exponent.magnitude
            if magnitude < 10 { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: String(magnitude).utf8)
        } else if pointPosition <= 0 {
            out.append(contentsOf: "0.".utf8)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -pointPosition))
            out.append(contentsOf: digits)
        } else if digits.count <= pointPosition {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: pointPosition - digits.count))
        } else {
            out.append(contentsOf: digits[..<pointPosition])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[pointPosition...])
        }
    }

    private static func appendInteger(_ integer: UInt64, to out: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes, room for 20 digits
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            var rest = integer
            repeat {
                buffer[31 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            let text = UnsafeRawBufferPointer(rebasing: buffer[(32 - count)...])
            let exponent = count - 1
            if exponent < 6 {
                out.append(contentsOf: text)
                return
            }
            var significant = count
            while significant > 1, text[significant - 1] == UInt8(ascii: "0") { significant -= 1 }
            out.append(text[0])
            if significant > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: text[1..<significant])
            }
            out.append(contentsOf: "e+".utf8)
            if exponent < 10 { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: String(exponent).utf8)
        }
    }

    package static func format(_ value: Double) -> String {
        var out: [UInt8] = []
        append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Splits Swift's "123.45", "0.001" or "1.5e-07" into significant digits and point position.
    private static func decompose(_ text: String, _ digits: inout [UInt8], _ pointPosition: inout Int) {
        var exponent = 0
        var mantissa = Substring(text)
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var integerDigits = 0
        var seenPoint = false
        for byte in mantissa.utf8 {
            if byte == UInt8(ascii: ".") { seenPoint = true; continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { continue }
            digits.append(byte)
            if !seenPoint { integerDigits += 1 }
        }
        // Leading zeros move the point left; trailing zeros carry no information.
        var leading = 0
        while leading < digits.count - 1, digits[leading] == UInt8(ascii: "0") { leading += 1 }
        digits.removeFirst(leading)
        while digits.count > 1, digits.last == UInt8(ascii: "0") { digits.removeLast() }
        pointPosition = integerDigits - leading + exponent
    }
}
