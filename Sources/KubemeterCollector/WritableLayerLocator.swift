#if canImport(Glibc)
import Glibc
#endif
import KubemeterHostFiles
import KubemeterJSON
import KubemeterParsers

/// Finds each container's writable layer (the directory its writes land in) from the runtime's
/// files on the node, with no runtime socket (docs/metrics.md, "Ephemeral storage"):
/// - containerd: the container's rootfs is an overlay mounted at
///   `/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/rootfs` in the host's mount
///   namespace; its `upperdir=` (`.../io.containerd.snapshotter.v1.overlayfs/snapshots/<n>/fs`)
///   is the layer. Read from the host's `/proc/1/mountinfo`.
/// - CRI-O (containers/storage): `overlay-containers/containers.json` gives the container's
///   `layer`; the layer's files are `overlay/<layer>/diff`.
/// - Docker (cri-dockerd): `image/overlay2/layerdb/mounts/<id>/mount-id` names
///   `overlay2/<mount-id>/diff`.
///
/// Used by the ephemeral-storage walker's thread only. The runtime-wide files (mountinfo,
/// containers.json) are read once per round, in `beginRound`.
final class WritableLayerLocator {
    private let hostRoot: String
    private let procPath: String
    private let installedRuntime: String?
    private var containerdLayers: [String: String] = [:]
    /// `major:minor` -> the mount's source (`/dev/vda1`), from the host's mountinfo.
    private var deviceSources: [String: String] = [:]
    private var containerdFailure: HostFileError?
    private var crioLayers: [String: String] = [:]
    private var crioStamp: WholeFile.Stamp?
    private var crioFailure: HostFileError?
    /// Docker's mount-id of a container never changes: kept until the container goes.
    private var dockerLayers: [String: String] = [:]

    init(hostRoot: String, procPath: String, installedRuntime: String?) {
        self.hostRoot = hostRoot
        self.procPath = procPath
        self.installedRuntime = installedRuntime
    }

    static let containerdTaskDirectory = "io.containerd.runtime.v2.task"
    static let containerdRoot = "var/lib/containerd"
    static let crioStorage = "var/lib/containers/storage"
    static let dockerRoot = "var/lib/docker"
    /// A node with a thousand containers writes a mountinfo of a few MiB.
    static let maximumMountInfoBytes = 64 << 20
    static let maximumContainersJSONBytes = 256 << 20

    /// The directories the layers of `runtime` are found in, under `hostRoot` (each must be
    /// listable for the walks to have them); nil for a runtime this locator does not know.
    static func layerDirectories(of runtime: String?, hostRoot: String) -> [String]? {
        switch runtime {
        case "containerd": [Path.join(hostRoot, containerdRoot + "/io.containerd.snapshotter.v1.overlayfs/snapshots")]
        case "crio": [Path.join(hostRoot, crioStorage + "/overlay"), Path.join(hostRoot, crioStorage + "/overlay-containers")]
        case "docker": [Path.join(hostRoot, dockerRoot + "/overlay2"), Path.join(hostRoot, dockerRoot + "/image/overlay2/layerdb/mounts")]
        default: nil
        }
    }

    /// Re-reads what maps every container at once; `runtimes` are those of this round's containers.
    func beginRound(runtimes: Set<String>) {
        let resolved = Set(runtimes.map(resolve))
        readMountInfo(containerd: resolved.contains("containerd"))
        if resolved.contains("crio") { readContainersJSON() }
    }

    /// Forgets Docker layers of containers no longer on the node.
    func endRound(keeping ids: Set<String>) {
        dockerLayers = dockerLayers.filter { ids.contains($0.key) }
    }

    /// The directory holding the container's writable layer, under the host root.
    func layer(of containerID: String, runtime: String) -> Result<String, HostFileError> {
        switch resolve(runtime) {
        case "containerd":
            if let path = containerdLayers[containerID] { return .success(path) }
            return .failure(containerdFailure ?? .notFound(
                path: "\(procPath)/1/mountinfo: no overlay rootfs of container \(containerID)"))
        case "crio":
            if let path = crioLayers[containerID] { return .success(path) }
            return .failure(crioFailure ?? .notFound(
                path: Path.join(hostRoot, Self.crioStorage + "/overlay-containers/containers.json") + ": no container \(containerID)"))
        case "docker":
            if let path = dockerLayers[containerID] { return .success(path) }
            let file = Path.join(hostRoot, Self.dockerRoot + "/image/overlay2/layerdb/mounts/\(containerID)/mount-id")
            let bytes: [UInt8]
            do { bytes = try WholeFile.read(file, limit: 4096) } catch { return .failure(error) }
            let mountID = String(decoding: bytes, as: UTF8.self).trimmingBlanksAndNewlines
            guard Self.isLayerID(mountID) else {
                return .failure(.parse(path: file, ParseError(file: "mount-id", reason: .missingField("mount id"))))
            }
            let path = Path.join(hostRoot, Self.dockerRoot + "/overlay2/\(mountID)/diff")
            dockerLayers[containerID] = path
            return .success(path)
        default:
            return .failure(.notFound(path: "writable layer of \(containerID): runtime \(runtime) not known"))
        }
    }

    /// A bare cgroupfs ID names no runtime: the one whose state directory exists.
    private func resolve(_ runtime: String) -> String {
        runtime == "unknown" ? (installedRuntime ?? runtime) : runtime
    }

    /// The source of the file system with this `st_dev` (cAdvisor's `device` label), else `major:minor`.
    func deviceName(_ device: UInt64) -> String {
        let number = DiskUsage.deviceNumber(device)
        return deviceSources[number] ?? number
    }

    private func readMountInfo(containerd: Bool) {
        let file = procPath + "/1/mountinfo"
        containerdLayers = [:]
        containerdFailure = nil
        deviceSources = [:]
        let info: MountInfo
        do {
            let bytes = try WholeFile.read(file, limit: Self.maximumMountInfoBytes)
            info = try MountInfo.parse(bytes)
        } catch let error as HostFileError {
            containerdFailure = error
            return
        } catch let error as ParseError {
            containerdFailure = .parse(path: file, error)
            return
        } catch {
            return
        }
        for mount in info.mounts where deviceSources[mount.device] == nil { deviceSources[mount.device] = mount.source }
        if containerd { containerdLayers = Self.containerdLayers(in: info, hostRoot: hostRoot) }
    }

    /// Container ID -> upperdir (under `hostRoot`) of every containerd task rootfs overlay.
    static func containerdLayers(in info: MountInfo, hostRoot: String) -> [String: String] {
        var layers: [String: String] = [:]
        for mount in info.mounts where mount.fileSystemType == "overlay" && mount.mountPoint.hasSuffix("/rootfs") {
            // .../io.containerd.runtime.v2.task/<namespace>/<id>/rootfs
            let parts = mount.mountPoint.split(separator: "/")
            guard parts.count >= 4, parts[parts.count - 4] == containerdTaskDirectory,
                  let upper = mount.superOption("upperdir") else { continue }
            layers[String(parts[parts.count - 2])] = Path.join(hostRoot, upper)
        }
        return layers
    }

    private func readContainersJSON() {
        let file = Path.join(hostRoot, Self.crioStorage + "/overlay-containers/containers.json")
        switch WholeFile.stamp(file) {
        case .failure(let error):
            crioLayers = [:]
            crioStamp = nil
            crioFailure = error
            return
        case .success(let stamp):
            if stamp == crioStamp { return }
            crioStamp = stamp
        }
        crioLayers = [:]
        crioFailure = nil
        let document: JSONValue
        do {
            document = try JSONParser.parse(try WholeFile.read(file, limit: Self.maximumContainersJSONBytes))
        } catch let error as HostFileError {
            crioFailure = error
            crioStamp = nil
            return
        } catch {
            crioFailure = .parse(path: file, ParseError(file: "containers.json", reason: .malformed(line: 1)))
            return
        }
        crioLayers = Self.crioLayers(in: document, storage: Path.join(hostRoot, Self.crioStorage))
    }

    /// Container ID -> `overlay/<layer>/diff` of each entry of containers.json.
    static func crioLayers(in document: JSONValue, storage: String) -> [String: String] {
        var layers: [String: String] = [:]
        for entry in document.array ?? [] {
            guard let id = entry["id"]?.string, let layer = entry["layer"]?.string, isLayerID(layer) else { continue }
            layers[id] = Path.join(storage, "overlay/\(layer)/diff")
        }
        return layers
    }

    /// Layer and mount IDs are hex digests: anything else (a `/`, `..`) must not become a path.
    static func isLayerID(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 128 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

extension String {
    fileprivate var trimmingBlanksAndNewlines: String {
        var view = Substring(self)
        while let last = view.last, last == "\n" || last == " " || last == "\r" || last == "\t" { view = view.dropLast() }
        while let first = view.first, first == " " || first == "\t" { view = view.dropFirst() }
        return String(view)
    }
}
