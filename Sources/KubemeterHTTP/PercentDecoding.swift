/// Decoding of `application/x-www-form-urlencoded` query components.
enum PercentDecoding {
    /// Decodes "%XX" escapes and '+' (as space). Malformed escapes stay as written; bytes that are not
    /// valid UTF-8 after decoding become U+FFFD, so any input yields a string.
    static func decode<C: Collection<UInt8>>(_ bytes: C) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == ASCII.plus {
                output.append(ASCII.space)
            } else if byte == ASCII.percent {
                let first = bytes.index(after: index)
                if first != bytes.endIndex, let high = ASCII.hexValue(bytes[first]) {
                    let second = bytes.index(after: first)
                    if second != bytes.endIndex, let low = ASCII.hexValue(bytes[second]) {
                        output.append(high << 4 | low)
                        index = bytes.index(after: second)
                        continue
                    }
                }
                output.append(byte)
            } else {
                output.append(byte)
            }
            index = bytes.index(after: index)
        }
        return String(decoding: output, as: UTF8.self)
    }
}
