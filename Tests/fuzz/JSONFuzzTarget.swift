// libFuzzer entry for the JSON parser (KubemeterJSON), compiled with that target's sources by
// Tests/fuzz/run.sh.
//
// Properties checked for every input, beyond "no crash" (the depth bound keeps the recursion
// short whatever the nesting):
// - an error's offset lies within the input;
// - whitespace around a document does not change whether it is accepted, nor what it reads as;
// - a document accepted alone is accepted as the element of an array, and reads the same there.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    let alone: JSONValue?
    do {
        alone = try JSONParser.parse(bytes, maxDepth: 32)
    } catch {
        precondition(error.offset >= 0 && error.offset <= size, "offset \(error.offset) outside \(size) bytes")
        alone = nil
    }
    let padded = try? JSONParser.parse(Array(" \n".utf8) + bytes + Array("\t\r".utf8), maxDepth: 32)
    precondition(padded == alone, "whitespace around the document changed it")
    if let alone {
        let wrapped = try? JSONParser.parse(Array("[".utf8) + bytes + Array("]".utf8), maxDepth: 33)
        precondition(wrapped == .array([alone]), "the document read differently inside an array")
    }
    return 0
}
