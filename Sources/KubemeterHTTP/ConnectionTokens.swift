/// The comma-separated option list of a `Connection` field.
enum ConnectionTokens {
    static func contains(_ value: String, token: String) -> Bool {
        value.utf8.split(separator: UInt8(ascii: ",")).contains { element in
            let trimmed = element.drop { $0 == ASCII.space || $0 == ASCII.tab }
            var end = trimmed.endIndex
            while end > trimmed.startIndex {
                let previous = trimmed.index(before: end)
                guard trimmed[previous] == ASCII.space || trimmed[previous] == ASCII.tab else { break }
                end = previous
            }
            let word = trimmed[trimmed.startIndex..<end]
            return word.count == token.utf8.count
                && zip(word, token.utf8).allSatisfy { ASCII.lowercased($0) == ASCII.lowercased($1) }
        }
    }
}
