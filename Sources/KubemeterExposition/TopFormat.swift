/// How a top table writes figures: fixed decimals, binary units, "-" for unknown.
package enum TopFormat {
    package static let unknown = "-"

    /// `value` rounded half away from zero to `decimals` places: 0.25 -> "0.250" with 3.
    package static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return unknown }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value.magnitude * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9.0e18 else { return unknown }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        var text = value < 0 && units != 0 ? "-" : ""
        text += String(whole)
        if decimals > 0 {
            let fraction = String(units % UInt64(scale))
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }

    package static func cores(_ value: Double?) -> String {
        value.map { fixed($0, decimals: 3) } ?? unknown
    }

    package static func percent(_ value: Double?) -> String {
        value.map { fixed($0, decimals: 1) } ?? unknown
    }

    /// Bytes with a binary unit: "512B", "1.5Ki", "123Mi", "2.41Gi".
    package static func bytes(_ value: Double?) -> String {
        guard let value, value.isFinite, value >= 0 else { return unknown }
        let units = ["B", "Ki", "Mi", "Gi", "Ti", "Pi"]
        var scaled = value
        var unit = 0
        while scaled >= 1024, unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        if unit == 0 { return fixed(scaled, decimals: 0) + units[0] }
        let decimals = scaled >= 100 ? 0 : scaled >= 10 ? 1 : 2
        return fixed(scaled, decimals: decimals) + units[unit]
    }

    package static func bytes(_ value: UInt64?) -> String {
        guard let value else { return unknown }
        return bytes(Double(value) as Double?)
    }

    package static func count(_ value: UInt64?) -> String {
        value.map { String($0) } ?? unknown
    }
}
