#if canImport(Glibc)
import Glibc
#endif
import KubemeterDiscovery
import KubemeterHostFiles
import KubemeterParsers

/// A pod's network counters, read from inside its network namespace: `<proc>/<pid>/net/dev` of
/// a process of the pod's sandbox (the pause process, which holds the namespace for the pod's
/// life). Every container of a pod shares that namespace, so this is the pod's traffic.
///
/// Per pod and collection: one `pread` of the sandbox's `cgroup.procs` (the first pid; a sandbox
/// restarted with a new pid is followed at once, and a recycled pid never read) and one `pread`
/// of that pid's `net/dev`, both kept open in `KeptOpenFiles`. The namespace inode is compared
/// with the host's only when the pid changes. A pod whose namespace is the host's
/// (`hostNetwork: true`) gets no interfaces: they are the node's, already in node_network_*.
final class PodNetworkSampler {
    struct Result {
        var interfaces: [NetDevInterface]?
        var hostNetwork: Bool?
        var unreadable: [HostFileError] = []
    }

    private struct Known {
        var sandboxCgroup: String
        var pid: Int32
        var hostNetwork: Bool?
    }

    private let files: KeptOpenFiles
    private let procPath: String
    private let procChecksIdentity: Bool
    private let cgroupChecksIdentity: Bool
    private var known: [String: Known] = [:]
    private var seen: [String: Known] = [:]
    /// The host's network namespace (`<proc>/1/ns/net`), once read.
    private var hostNamespace: (dev: UInt64, ino: UInt64)?

    init(files: KeptOpenFiles, procPath: String, procChecksIdentity: Bool, cgroupChecksIdentity: Bool) {
        self.files = files
        self.procPath = procPath
        self.procChecksIdentity = procChecksIdentity
        self.cgroupChecksIdentity = cgroupChecksIdentity
    }

    func sample(_ pod: DiscoveredPod) -> Result {
        var result = Result()
        var entry: Known?
        // The sandbox found last time first; otherwise each candidate, sandbox first.
        if let previous = known[pod.uid], let pid = firstPID(previous.sandboxCgroup, &result) {
            entry = previous
            if pid != previous.pid {
                entry = Known(sandboxCgroup: previous.sandboxCgroup, pid: pid, hostNetwork: sharesHostNamespace(pid))
            }
        } else {
            for cgroup in Self.candidateCgroups(pod) {
                guard let pid = firstPID(cgroup, &result) else { continue }
                entry = Known(sandboxCgroup: cgroup, pid: pid, hostNetwork: sharesHostNamespace(pid))
                break
            }
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

    /// Whether `pid` lives in the host's network namespace; nil when either namespace link is
    /// unreadable (no `ns/net` in a copied tree, or no permission), and then the namespace is
    /// taken to be the pod's own.
    private func sharesHostNamespace(_ pid: Int32) -> Bool? {
        if hostNamespace == nil { hostNamespace = Self.namespace(procPath + "/1/ns/net") }
        guard let host = hostNamespace, let pod = Self.namespace(procPath + "/" + String(pid) + "/ns/net") else {
            return nil
        }
        return host == pod
    }

    private static func namespace(_ path: String) -> (dev: UInt64, ino: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }
}

/// A process's `net/dev`: the counters of its network namespace.
enum ProcessNetFile: Int, KeptFileSet {
    case dev

    var fileName: String { "dev" }
    static let fileNames = allCases.map(\.fileName)
}

/// A cgroup's `cgroup.procs`, read apart from its other files (see `candidateCgroups`).
enum CgroupProcsFile: Int, KeptFileSet {
    case procs

    var fileName: String { "cgroup.procs" }
    static let fileNames = allCases.map(\.fileName)
}
