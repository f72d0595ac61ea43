#if canImport(Glibc)
import Glibc
#endif
import KubemeterDiscovery
import KubemeterHostFiles
import KubemeterParsers
import KubemeterSync

/// A pod's network counters, read from inside its network namespace: `<proc>/<pid>/net/dev` of
/// a process of the pod's sandbox (the pause process, which holds the namespace for the pod's
/// life). Every container of a pod shares that namespace, so this is the pod's traffic.
///
/// Finding the process takes no privilege, in any PID namespace:
/// - In the host's PID namespace (the systemd unit, root on the host), the first pid of the
///   sandbox's `cgroup.procs`: one kept-open `pread` per pod and collection.
/// - In a PID namespace of its own (the DaemonSet, `hostPID: false`), `cgroup.procs` lists only
///   the reader's namespace's processes (it reads empty), but the host's procfs mounted at
///   `<proc>` lists every host process: each `<proc>/<pid>/cgroup` names its cgroup, whose leaf
///   is the container's (`cri-containerd-<id>.scope`, `<id>`, ...; relative to the reader's
///   cgroup namespace, so only the leaf is compared). That index is built by one pass over
///   `<proc>` when a pod's sandbox is not known yet or its process is gone, at most once a
///   collection; a known pid is checked by one kept-open `pread` of its `cgroup` per collection.
///   Which way applies is told by `<proc>/self`: it names the reader's pid as that procfs's
///   namespace numbers it, which is `getpid()` only in that same namespace.
///
/// A pod whose namespace is the host's (`hostNetwork: true`) gets no interfaces: they are the
/// node's, already in node_network_*. A network namespace's identity needs no privilege either:
/// `stat` of `/proc/<pid>/ns/net` needs ptrace access (EACCES as non-root), but every namespace
/// has its own `net/dev` entry, so the (device, inode) of `<proc>/<pid>/net/dev` equals that of
/// `<proc>/1/net/dev` exactly when the two processes share init's namespace (measured as
/// `nobody`: the host's and `/proc/self/net/dev` share one inode, two `unshare -n` shells each
/// have their own). It is compared only when a pod's pid changes.
final class PodNetworkSampler {
    struct Result {
        var interfaces: [NetDevInterface]?
        var hostNetwork: Bool?
        var unreadable: [HostFileError] = []
    }

    /// How sandbox processes are found (see the type's documentation).
    enum ProcessLookup: Equatable, Sendable {
        /// `cgroup.procs`: the agent shares the PID namespace of the procfs it reads.
        case cgroupProcs
        /// `<proc>/<pid>/cgroup` of every process: it does not.
        case procCgroupScan
    }

    private struct Known {
        /// The sandbox cgroup (`.cgroupProcs`) or container ID (`.procCgroupScan`) that led to `pid`.
        var source: String
        var pid: Int32
        var hostNetwork: Bool?
    }

    let lookup: ProcessLookup
    private let files: KeptOpenFiles
    private let procPath: String
    private let procChecksIdentity: Bool
    private let cgroupChecksIdentity: Bool
    private var known: [String: Known] = [:]
    private var seen: [String: Known] = [:]
    /// The host's network namespace: `<proc>/1/net/dev`'s identity, once read.
    private var hostNamespace: FileIdentity?
    /// `.procCgroupScan`: container ID -> a pid in that container, from the last pass over `<proc>`.
    private var processIndex: [String: Int32] = [:]
    /// Whether `processIndex` was built during the collection in progress.
    private var indexedThisCollection = false
    /// When the index was last built (MonotonicClock seconds); a pod none of whose containers
    /// has a process (all exited) is looked up again only once the index is this old.
    private var indexedAt: Double = -.infinity
    static let indexReuseSeconds = 30.0
    /// Pods looked up in the current index without a match: not looked up again in it.
    private var missedInIndex: Set<String> = []

    init(files: KeptOpenFiles, procPath: String, procChecksIdentity: Bool, cgroupChecksIdentity: Bool) {
        self.files = files
        self.procPath = procPath
        self.procChecksIdentity = procChecksIdentity
        self.cgroupChecksIdentity = cgroupChecksIdentity
        lookup = Self.processLookup(procPath: procPath)
    }

    /// `.procCgroupScan` when `<proc>/self` names a pid other than ours: that procfs belongs to
    /// another PID namespace (the host's, mounted into a pod), where `cgroup.procs` reads empty
    /// for us. A tree without `self` (a copied node, a test tree) is read as it is written.
    static func processLookup(procPath: String) -> ProcessLookup {
        var buffer = [CChar](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBufferPointer { readlink(procPath + "/self", $0.baseAddress!, $0.count - 1) }
        guard count > 0 else { return .cgroupProcs }
        let target = buffer.withUnsafeBufferPointer {
            String(decoding: UnsafeRawBufferPointer(start: $0.baseAddress, count: count), as: UTF8.self)
        }
        return target == String(getpid()) ? .cgroupProcs : .procCgroupScan
    }

    func sample(_ pod: DiscoveredPod) -> Result {
        var result = Result()
        let entry: Known?
        switch lookup {
        case .cgroupProcs: entry = findByCgroupProcs(pod, &result)
        case .procCgroupScan: entry = findByProcCgroup(pod, &result)
        }
        guard let entry else { return result }
        seen[pod.uid] = entry
        result.hostNetwork = entry.hostNetwork
        if entry.hostNetwork == true { return result }

        guard let directory = files.directory(
            procPath + "/" + String(entry.pid) + "/net", of: ProcessNetFile.self, checksIdentity: procChecksIdentity)
        else { return result }
        switch files.read(.dev, of: directory, NetDev.parse) {
        case .success(let netDev):
            result.interfaces = netDev.interfaces.filter { $0.name != "lo" }
        case .failure(.notFound), .failure(.vanished):
            break
        case .failure(let error):
            result.unreadable.append(error)
        }
        return result
    }

    /// Keeps only the pods seen in this collection.
    func endCollection() {
        known = seen
        seen.removeAll(keepingCapacity: true)
        indexedThisCollection = false
    }

    // MARK: In the host's PID namespace: cgroup.procs

    private func findByCgroupProcs(_ pod: DiscoveredPod, _ result: inout Result) -> Known? {
        // The sandbox found last time first; otherwise each candidate, sandbox first.
        if let previous = known[pod.uid], let pid = firstPID(previous.source, &result) {
            if pid == previous.pid { return previous }
            return Known(source: previous.source, pid: pid, hostNetwork: sharesHostNamespace(pid))
        }
        for cgroup in Self.candidateCgroups(pod) {
            guard let pid = firstPID(cgroup, &result) else { continue }
            return Known(source: cgroup, pid: pid, hostNetwork: sharesHostNamespace(pid))
        }
        return nil
    }

    /// The sandbox's cgroup: an unnamed container-shaped cgroup of the pod, named like its app
    /// containers (the runtime and driver decide the shape, e.g. `cri-containerd-<id>.scope`).
    /// After them the app containers, which share the sandbox's namespace.
    static func candidateCgroups(_ pod: DiscoveredPod) -> [String] {
        var candidates: [String] = []
        for id in pod.unnamedContainerIDs {
            if let model = pod.containers.first, let slash = model.cgroupPath.lastIndex(of: "/") {
                let directory = String(model.cgroupPath[model.cgroupPath.index(after: slash)...])
                if directory.contains(model.id) {
                    candidates.append(pod.cgroupPath + "/" + directory.replacing(model.id, with: id))
                    continue
                }
            }
            for shape in ["cri-containerd-\(id).scope", "crio-\(id).scope", "docker-\(id).scope", id] {
                candidates.append(pod.cgroupPath + "/" + shape)
            }
        }
        // Keyed with a trailing slash: `CgroupSampler` keeps this directory's other files under
        // its plain path, and one key with two file lists would reopen both at every collection.
        // (CRI-O without an infra container has no sandbox process at all.)
        candidates.append(contentsOf: pod.containers.map { $0.cgroupPath + "/" })
        return candidates
    }

    private func firstPID(_ cgroup: String, _ result: inout Result) -> Int32? {
        guard let directory = files.directory(cgroup, of: CgroupProcsFile.self, checksIdentity: cgroupChecksIdentity) else {
            return nil
        }
        switch files.read(.procs, of: directory, Self.parseFirstPID) {
        case .success(let pid): return pid
        case .failure(.notFound), .failure(.vanished): return nil
        case .failure(let error): result.unreadable.append(error); return nil
        }
    }

    /// The first line of `cgroup.procs`; nil when the cgroup has no process.
    static func parseFirstPID(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> Int32? {
        var value: Int32 = 0
        var digits = 0
        for byte in bytes {
            if byte == UInt8(ascii: "\n") { break }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else {
                throw ParseError(file: "cgroup.procs", reason: .invalidNumber(field: "pid"))
            }
            value = value * 10 + Int32(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 && value > 0 ? value : nil
    }

    // MARK: In a PID namespace of its own: <proc>/<pid>/cgroup

    /// The sandbox ID first, then the app containers' (they share the sandbox's namespace).
    static func candidateIDs(_ pod: DiscoveredPod) -> [String] {
        pod.unnamedContainerIDs + pod.containers.map(\.id)
    }

    private func findByProcCgroup(_ pod: DiscoveredPod, _ result: inout Result) -> Known? {
        let candidates = Self.candidateIDs(pod)
        // The process found last time, while it is still in the container that led to it.
        if let previous = known[pod.uid], candidates.contains(previous.source),
           containerID(ofProcess: previous.pid, &result) == previous.source {
            return previous
        }
        let now = MonotonicClock.seconds()
        if !indexedThisCollection,
           !missedInIndex.contains(pod.uid) || now - indexedAt >= Self.indexReuseSeconds {
            rebuildIndex(now)
        }
        for id in candidates {
            guard let pid = processIndex[id] else { continue }
            return Known(source: id, pid: pid, hostNetwork: sharesHostNamespace(pid))
        }
        missedInIndex.insert(pod.uid)
        return nil
    }

    /// The container the process is in (the leaf of its cgroup v2 path); nil once it is gone.
    private func containerID(ofProcess pid: Int32, _ result: inout Result) -> String? {
        guard let directory = files.directory(
            procPath + "/" + String(pid), of: ProcessCgroupFile.self, checksIdentity: procChecksIdentity)
        else { return nil }
        switch files.read(.cgroup, of: directory, Self.parseContainerID) {
        case .success(let id): return id
        case .failure(.notFound), .failure(.vanished): return nil
        case .failure(let error): result.unreadable.append(error); return nil
        }
    }

    /// One pass over `<proc>`: each process's container, the lowest pid of each kept.
    private func rebuildIndex(_ now: Double) {
        indexedThisCollection = true
        indexedAt = now
        missedInIndex.removeAll(keepingCapacity: true)
        processIndex.removeAll(keepingCapacity: true)
        guard let entries = try? FileSystem.entries(of: procPath) else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        for entry in entries {
            guard let pid = Int32(entry.name), pid > 0 else { continue }
            let fd = open(procPath + "/" + entry.name + "/cgroup", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            close(fd)
            guard count > 0 else { continue }
            let parsed: String?? = buffer.withUnsafeBytes { bytes in
                try? Self.parseContainerID(UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
            }
            guard let found = parsed, let id = found else { continue }
            if let other = processIndex[id], other < pid { continue }
            processIndex[id] = pid
        }
    }

    /// The container ID in a `/proc/<pid>/cgroup`: the last component of the cgroup v2 line
    /// (`0::<path>`) that is container-shaped (crun's `container` child and CRI-O's `exec` sit
    /// below it); nil for a process in no container.
    static func parseContainerID(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            for component in line.dropFirst(3).split(separator: "/").reversed() {
                if case .container(let id, _) = CgroupName.classify(String(component)) { return id }
            }
            return nil
        }
        return nil
    }

    // MARK: The network namespace

    /// Whether `pid` lives in the host's network namespace, by the identity of `net/dev` (see the
    /// type's documentation); nil when either cannot be stat'ed (then no interfaces are read
    /// either: nothing is reported that could be the node's).
    private func sharesHostNamespace(_ pid: Int32) -> Bool? {
        if hostNamespace == nil { hostNamespace = FileIdentity(path: procPath + "/1/net/dev") }
        guard let host = hostNamespace, let pod = FileIdentity(path: procPath + "/" + String(pid) + "/net/dev") else {
            return nil
        }
        return host == pod
    }
}

/// A process's `net/dev`: the counters of its network namespace.
enum ProcessNetFile: Int, KeptFileSet {
    case dev

    var fileName: String { "dev" }
    static let fileNames = allCases.map(\.fileName)
}

/// A process's `cgroup`: the cgroup it is in.
enum ProcessCgroupFile: Int, KeptFileSet {
    case cgroup

    var fileName: String { "cgroup" }
    static let fileNames = allCases.map(\.fileName)
}

/// A cgroup's `cgroup.procs`, read apart from its other files (see `candidateCgroups`).
enum CgroupProcsFile: Int, KeptFileSet {
    case procs

    var fileName: String { "cgroup.procs" }
    static let fileNames = allCases.map(\.fileName)
}

/// A file's device and inode: what tells one network namespace's `net/dev` from another's.
struct FileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
