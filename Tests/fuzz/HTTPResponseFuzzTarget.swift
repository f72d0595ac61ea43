// libFuzzer entry for the HTTP response decoder (KubemeterHTTP), compiled with that target's
// sources by Tests/fuzz/run.sh.
//
// Properties checked for every input, beyond "no crash":
// - the outcome does not depend on how the bytes arrive: fed whole, byte by byte, or in two
//   pieces split anywhere, the decoder gives the same response or fails the same way;
// - a body is never longer than the limit.

private let bodyLimit = 4096

private enum Outcome: Equatable {
    case response(HTTPClientResponse)
    case failure(String)
}

private func decode(_ pieces: [ArraySlice<UInt8>]) -> Outcome {
    var decoder = HTTPResponseDecoder(maxHeadBytes: 1024, maxBodyBytes: bodyLimit)
    do {
        for piece in pieces {
            if let response = try decoder.feed(Array(piece)) { return .response(response) }
        }
        return .response(try decoder.finish())
    } catch {
        return .failure(error.reason)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPResponseDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    let whole = decode([bytes[...]])
    if case .response(let response) = whole {
        precondition(response.body.count <= bodyLimit, "body of \(response.body.count) bytes past the limit")
    }
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    let twoPieces = decode([bytes[..<split], bytes[split...]])
    precondition(twoPieces == whole, "split at \(split): \(twoPieces) vs \(whole)")
    if bytes.count <= 512 {
        let byByte = decode(bytes.indices.map { bytes[$0...$0] })
        precondition(byByte == whole, "byte by byte: \(byByte) vs \(whole)")
    }
    return 0
}
