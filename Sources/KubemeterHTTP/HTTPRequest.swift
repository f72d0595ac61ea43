/// One parsed request head. Requests never carry a body: the server answers 413 to any that declares one.
package struct HTTPRequest: Sendable, Equatable {
    /// The method as sent, e.g. "GET" (only GET and HEAD reach a handler).
    package var method: String
    /// The target's path without the query; percent-decoding is NOT applied. For an absolute-form
    /// target (`http://host/path`) this is the path part only, "/" when the path is empty.
    package var path: String
    /// The raw text after the first '?', or nil when the target has no '?'.
    package var query: String?
    package var version: HTTPVersion
    package var headers: HTTPHeaders
    /// CLOCK_MONOTONIC nanoseconds at which the request head was complete (0 from the pure parser).
    package var arrivalNanoseconds: UInt64

    package init(
        method: String = "GET",
        path: String,
        query: String? = nil,
        version: HTTPVersion = .http1_1,
        headers: HTTPHeaders = HTTPHeaders(),
        arrivalNanoseconds: UInt64 = 0
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.arrivalNanoseconds = arrivalNanoseconds
    }

    /// The query split on '&' and then on the first '=', each side percent-decoded with '+' read as a
    /// space (form encoding). Empty segments are skipped; a segment without '=' has the value "".
    /// An invalid escape such as "%zz" is kept literally rather than rejected.
    package func queryItems() -> [(name: String, value: String)] {
        guard let query else { return [] }
        var items: [(name: String, value: String)] = []
        for segment in query.utf8.split(separator: ASCII.ampersand, omittingEmptySubsequences: true) {
            if let equals = segment.firstIndex(of: ASCII.equals) {
                items.append((
                    name: PercentDecoding.decode(segment[segment.startIndex..<equals]),
                    value: PercentDecoding.decode(segment[segment.index(after: equals)...])
                ))
            } else {
                items.append((name: PercentDecoding.decode(segment), value: ""))
            }
        }
        return items
    }
}
