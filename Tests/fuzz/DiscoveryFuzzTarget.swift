// libFuzzer entry for the name parsers of KubemeterDiscovery (CRI log file names, pod log directory
// names, cgroup directory names), compiled with that target's sources by Tests/fuzz/run.sh.
//
// Names on disk are arbitrary bytes; the parsers take Strings (invalid UTF-8 is repaired on the way
// in, as the directory reader does). Properties beyond "no crash": whatever a parser accepts
// round-trips through the fields it returns (nothing is invented), and classification is total.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDiscoveryNames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: data == nil ? 0 : size)
    let name = String(decoding: bytes, as: UTF8.self)

    if let log = ContainerLogName(parsing: name) {
        precondition(!log.pod.isEmpty && !log.namespace.isEmpty && !log.container.isEmpty,
                     "accepted a log name with an empty part: \(name.debugDescription)")
        precondition(name.contains(log.pod) && name.contains(log.namespace) && name.contains(log.container),
                     "log name parts not taken from the name: \(name.debugDescription)")
    }
    if let dir = PodLogDirectoryName(parsing: name) {
        precondition(name == "\(dir.namespace)_\(dir.name)_\(dir.uid)",
                     "pod log directory does not round-trip: \(name.debugDescription)")
    }
    switch CgroupName.classify(name) {
    case .pod(let uid, _): precondition(!uid.isEmpty, "pod with empty uid: \(name.debugDescription)")
    case .container(let id, _), .runtimeMonitor(let id):
        precondition(!id.isEmpty && name.contains(id), "container id not in name: \(name.debugDescription)")
    case .kubepods, .qos, .other: break
    }
    return 0
}
