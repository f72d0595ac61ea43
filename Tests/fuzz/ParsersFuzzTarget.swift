// libFuzzer entry for every kernel-file parser in KubemeterParsers. Compiled together with that
// target's sources by Tests/fuzz/run.sh (no SwiftPM), so `KubemeterParsers` is this module.
//
// One binary serves all parsers; FUZZ_TARGET picks which one gets the bytes, so each parser has its
// own corpus and its own bounded run. Besides "does not crash", it checks properties that must hold
// for any input: a parse either throws a typed `ParseError` or returns values, and parsing is
// deterministic (the same bytes give equal values, or equal errors, twice).

import Glibc

private enum ParserTarget: String, CaseIterable {
    case cpuStat = "cpu.stat"
    case cpuMax = "cpu.max"
    case memoryStat = "memory.stat"
    case memoryEvents = "memory.events"
    case cgroupEvents = "cgroup.events"
    case cgroupValue = "memory.current"
    case cgroupLimit = "memory.max"
    case pressure = "pressure"
    case ioStat = "io.stat"
    case procStat = "proc.stat"
    case meminfo = "proc.meminfo"
    case netDev = "proc.net.dev"
    case procPIDStat = "proc.pid.stat"

    static let selected: ParserTarget = {
        guard let raw = getenv("FUZZ_TARGET") else {
            fatalError("set FUZZ_TARGET to one of: \(allCases.map(\.rawValue).joined(separator: " "))")
        }
        let name = String(cString: raw)
        guard let target = ParserTarget(rawValue: name) else {
            fatalError("unknown FUZZ_TARGET \(name)")
        }
        return target
    }()

    /// Parses twice and checks both parses agree (by value: a dictionary's printed order may differ).
    func checkDeterministic(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .cpuStat: same { () throws(ParseError) in try CPUStat.parse(bytes) }
        case .cpuMax: same { () throws(ParseError) in try CPUMax.parse(bytes) }
        case .memoryStat: same { () throws(ParseError) in try MemoryStat.parse(bytes) }
        case .memoryEvents: same { () throws(ParseError) in try MemoryEvents.parse(bytes) }
        case .cgroupEvents: same { () throws(ParseError) in try CgroupEvents.parse(bytes) }
        case .cgroupValue: same { () throws(ParseError) in try CgroupValue.parse(bytes, file: "memory.current") }
        case .cgroupLimit: same { () throws(ParseError) in try CgroupLimit.parse(bytes, file: "memory.max") }
        case .pressure: same { () throws(ParseError) in try Pressure.parse(bytes) }
        case .ioStat: same { () throws(ParseError) in try IOStat.parse(bytes) }
        case .procStat: same { () throws(ParseError) in try ProcStat.parse(bytes) }
        case .meminfo: same { () throws(ParseError) in try Meminfo.parse(bytes) }
        case .netDev: same { () throws(ParseError) in try NetDev.parse(bytes) }
        case .procPIDStat: same { () throws(ParseError) in try ProcPIDStat.parse(bytes) }
        }
    }
}

/// Runs a parse twice; the outcomes (a value or a typed error naming its file) must be equal.
private func same<Value: Equatable>(_ parse: () throws(ParseError) -> Value) {
    let first = Result(catching: parse)
    let second = Result(catching: parse)
    if case .failure(let error) = first {
        precondition(!error.file.isEmpty, "ParseError without a file name: \(error)")
    }
    precondition(first == second, "non-deterministic parse: \(first) vs \(second)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParsers(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    ParserTarget.selected.checkDeterministic(bytes)
    return 0
}
