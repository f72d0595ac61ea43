import Glibc

/// The text of an errno value, for error descriptions.
enum SystemErrorText {
    /// strerror_r rather than strerror: descriptions are built on any thread.
    static func describe(_ errorNumber: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard strerror_r(errorNumber, &buffer, buffer.count) == 0 else { return "error \(errorNumber)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
