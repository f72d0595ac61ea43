// libFuzzer entry for the web configuration (KubemeterWebConfig: the YAML subset parser and the
// validation on top of it), compiled with that target's sources by Tests/fuzz/run.sh. Seeds:
// Tests/KubemeterWebConfigTests/Fixtures.
//
// Properties checked for every input, beyond "no crash" (the depth bound keeps the recursion short):
// - an error's line lies within the input (0 only for "not UTF-8");
// - parsing is deterministic;
// - a comment line appended does not change the tree, nor whether the configuration is accepted.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    let lines = bytes.filter { $0 == 0x0A }.count + 1
    let first = try? YAMLSubset.parse(bytes)
    do {
        _ = try YAMLSubset.parse(bytes)
    } catch {
        precondition(error.line >= 0 && error.line <= lines, "line \(error.line) outside \(lines) lines")
    }
    precondition((try? YAMLSubset.parse(bytes)) == first, "two parses differ")
    let config = Result { () throws(WebConfigError) -> WebConfig in try WebConfig.parse(bytes, directory: "/d") }
    if case .failure(let error) = config {
        precondition(error.line >= 0 && error.line <= lines, "line \(error.line) outside \(lines) lines")
    }
    if bytes.last == 0x0A || bytes.isEmpty {
        let commented = bytes + Array("# a comment\n".utf8)
        precondition((try? YAMLSubset.parse(commented)) == first, "an appended comment changed the tree")
        let again = Result { () throws(WebConfigError) -> WebConfig in try WebConfig.parse(commented, directory: "/d") }
        switch (config, again) {
        case (.success(let a), .success(let b)): precondition(a == b, "an appended comment changed the configuration")
        case (.failure, .failure): break
        default: preconditionFailure("an appended comment changed whether the configuration is accepted")
        }
    }
    return 0
}
