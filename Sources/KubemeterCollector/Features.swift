#if canImport(Glibc)
import Glibc
#endif
import KubemeterHostFiles

/// What the posture the agent runs in lets it read, found once at start. A feature it cannot
/// have is said, with what it cannot read and why (a log line, and
/// `kubemeter_feature_enabled{feature}` 0 on `/metrics`): never a silently missing series.
package struct Features: Sendable, Equatable {
    package struct Feature: Sendable, Equatable {
        /// The `feature` label: `pod_metrics`, `container_names`, `pod_network`, `pressure`,
        /// `node_filesystem`, `image_filesystem`, `ephemeral_storage_logs`, `_rootfs`, `_volumes`.
        package var name: String
        package var enabled: Bool
        /// How it is read when enabled; what is missing and why when not.
        package var detail: String
    }

    package var all: [Feature]

    package subscript(name: String) -> Feature? { all.first { $0.name == name } }

    /// Probes the host paths as the collector will read them.
    static func probe(
        paths: HostPaths, processLookup: PodNetworkSampler.ProcessLookup, storage: EphemeralStorageMonitor.Configuration?
    ) -> Features {
        var all: [Feature] = []
        if let cgroup = paths.cgroupPath {
            all.append(Feature(name: "pod_metrics", enabled: true, detail: "cgroup v2 tree \(cgroup)"))
        } else {
            all.append(Feature(name: "pod_metrics", enabled: false,
                               detail: "no cgroup v2 hierarchy under the host root: node metrics only"))
        }

        // Pod and container names come from the CRI log paths: absent is a node with no pods
        // yet (or not a node); present but unlistable is a posture without the right mount.
        var unlistable: [String] = []
        for directory in [paths.podLogPath, paths.containerLogPath] {
            do { _ = try FileSystem.entries(of: directory) } catch {
                if case .io = error { unlistable.append(error.description) }
            }
        }
        all.append(unlistable.isEmpty
            ? Feature(name: "container_names", enabled: true, detail: "\(paths.podLogPath), \(paths.containerLogPath)")
            : Feature(name: "container_names", enabled: false, detail: "cannot list " + unlistable.joined(separator: "; ")))

        // Per-pod network: another process's net/dev, and a way to find the sandbox's process.
        let initNetDev = paths.procPath + "/1/net/dev"
        let initCgroup = paths.procPath + "/1/cgroup"
        if access(initNetDev, R_OK) != 0 {
            all.append(Feature(name: "pod_network", enabled: false, detail:
                "cannot read \(initNetDev) (\(String(cString: strerror(errno)))): other processes are hidden in "
                + "\(paths.procPath) (hidepid, ProtectProc) or it is not a procfs"))
        } else if processLookup == .procCgroupScan && access(initCgroup, R_OK) != 0 {
            all.append(Feature(name: "pod_network", enabled: false, detail:
                "the agent's PID namespace is not \(paths.procPath)'s, and \(initCgroup) is unreadable "
                + "(\(String(cString: strerror(errno)))): no way to find the pods' processes"))
        } else {
            let how = processLookup == .cgroupProcs
                ? "sandbox processes from cgroup.procs"
                : "sandbox processes from \(paths.procPath)/<pid>/cgroup (the agent's PID namespace is not the host's)"
            all.append(Feature(name: "pod_network", enabled: true, detail: how + "; hostNetwork pods told by the identity of net/dev"))
        }

        // Pressure (PSI): a kernel feature (CONFIG_PSI, psi=1), not a posture's.
        let pressureFiles = (paths.cgroupPath.map { [$0 + "/cpu.pressure"] } ?? []) + [paths.procPath + "/pressure/cpu"]
        if let readable = pressureFiles.first(where: { access($0, R_OK) == 0 }) {
            all.append(Feature(name: "pressure", enabled: true, detail: readable))
        } else {
            all.append(Feature(name: "pressure", enabled: false, detail:
                "no readable \(pressureFiles.joined(separator: " or ")): the kernel has no PSI (CONFIG_PSI, psi=1)"))
        }

        // The Summary API's node `fs` and `runtime.imageFs`: statfs of directories a DaemonSet
        // has only when it mounts them (deploy/kubernetes mounts both read-only).
        switch FileSystemCapacity.of(paths.kubeletRootPath) {
        case .success: all.append(Feature(name: "node_filesystem", enabled: true, detail: "statfs \(paths.kubeletRootPath)"))
        case .failure(let error): all.append(Feature(name: "node_filesystem", enabled: false, detail:
            "cannot statfs the kubelet's root directory (\(error)): /stats/summary has no node fs"))
        }
        if let root = paths.imageFileSystemRoot {
            all.append(Feature(name: "image_filesystem", enabled: true, detail: "statfs \(root)"))
        } else {
            all.append(Feature(name: "image_filesystem", enabled: false, detail:
                "none of \(paths.runtimeRootPaths.joined(separator: ", ")) exists: /stats/summary has no runtime.imageFs"))
        }
        all += ephemeralStorage(paths: paths, storage: storage)
        return Features(all: all)
    }

    /// Pods' ephemeral storage by part: each needs directories a posture may not reach. Probed by
    /// listing them (not `access()`, which ignores CAP_DAC_READ_SEARCH for a non-root user).
    static func ephemeralStorage(paths: HostPaths, storage: EphemeralStorageMonitor.Configuration?) -> [Feature] {
        let names = ["ephemeral_storage_logs", "ephemeral_storage_rootfs", "ephemeral_storage_volumes"]
        guard let storage else {
            return names.map { Feature(name: $0, enabled: false, detail: "the walks are off (--ephemeral-storage-interval 0)") }
        }
        let pace = "walked every \(Int(storage.intervalSeconds)) s at <= \(storage.inodesPerSecond) inodes/s"
        func listable(_ directory: String) -> String? {
            do {
                _ = try FileSystem.entries(of: directory)
                return nil
            } catch {
                return error.description
            }
        }
        let needsCapability = "; the agent needs CAP_DAC_READ_SEARCH (deploy/kubernetes/overlays/ephemeral-storage, deploy/systemd)"
        var features: [Feature] = []
        if let problem = listable(paths.podLogPath) {
            features.append(Feature(name: names[0], enabled: false, detail: "cannot list " + problem))
        } else {
            features.append(Feature(name: names[0], enabled: true, detail: "files in \(paths.podLogPath)/<pod>/[<container>/], " + pace))
        }
        let root = paths.hostRootPath
        if let layers = WritableLayerLocator.layerDirectories(of: paths.installedRuntime, hostRoot: root) {
            let problems = layers.compactMap(listable)
            let mountInfo = paths.procPath + "/1/mountinfo"
            let unreadableMountInfo = paths.installedRuntime == "containerd" && access(mountInfo, R_OK) != 0
            if !problems.isEmpty {
                features.append(Feature(name: names[1], enabled: false, detail:
                    "cannot list " + problems.joined(separator: "; ") + needsCapability))
            } else if unreadableMountInfo {
                features.append(Feature(name: names[1], enabled: false, detail:
                    "cannot read \(mountInfo) (\(String(cString: strerror(errno)))): containerd's rootfs mounts are listed there"))
            } else {
                features.append(Feature(name: names[1], enabled: true, detail: "\(paths.installedRuntime ?? "") writable layers under \(layers[0]), " + pace))
            }
        } else {
            features.append(Feature(name: names[1], enabled: false, detail:
                "no container runtime state directory under \(root) (containerd, CRI-O or Docker)"))
        }
        let pods = Path.join(paths.kubeletRootPath, "pods")
        if let problem = listable(pods) {
            features.append(Feature(name: names[2], enabled: false, detail:
                "cannot list " + problem + " (emptyDir, configMap volumes and etc-hosts)" + needsCapability))
        } else {
            features.append(Feature(name: names[2], enabled: true, detail: "emptyDir, configMap, gitRepo volumes and etc-hosts in \(pods), " + pace))
        }
        return features
    }
}
