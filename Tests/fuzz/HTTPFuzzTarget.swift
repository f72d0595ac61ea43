// libFuzzer entry for the HTTP request-head parser (KubemeterHTTP), compiled with that target's
// sources by Tests/fuzz/run.sh.
//
// Properties checked for every input, beyond "no crash":
// - a complete head's length lies within the input and within the limit;
// - statuses are only the ones the parser documents;
// - the outcome is decided by a prefix: an error or a complete head stays the same when more bytes
//   follow (the server relies on this to answer as soon as it can).

private let limit = 512
private let documentedStatuses: Set<Int> = [400, 405, 413, 414, 431, 505]

private func parse(_ bytes: UnsafeRawBufferPointer) -> HTTPRequestParseResult {
    HTTPRequestParser.parseHead(bytes, maxHeaderBytes: limit)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequestParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    let whole = parse(bytes)
    switch whole {
    case .incomplete:
        precondition(size <= limit, "incomplete past the limit (\(size) bytes)")
    case .complete(_, let headLength):
        precondition(headLength > 0 && headLength <= size && headLength <= limit, "head length \(headLength) of \(size)")
    case .error(let status, let reason):
        precondition(documentedStatuses.contains(status), "undocumented status \(status): \(reason)")
    }
    // Prefix property: a decided outcome does not change when garbage follows.
    if case .incomplete = whole {} else {
        var extended = Array(bytes)
        extended.append(contentsOf: Array("X\r\n\u{0}".utf8))
        let again = extended.withUnsafeBytes { parse($0) }
        switch (whole, again) {
        case (.complete(let a, let la), .complete(let b, let lb)):
            precondition(la == lb && a == b, "complete head changed when bytes followed")
        case (.error(let sa, _), .error(let sb, _)):
            precondition(sa == sb, "error status changed when bytes followed: \(sa) -> \(sb)")
        default:
            // A head that was complete only because the input ended inside the limit can still
            // become 431 when more bytes push it past: not a contradiction only if size was at the edge.
            precondition(size + 4 > limit, "outcome changed when bytes followed: \(whole) -> \(again)")
        }
    }
    return 0
}
