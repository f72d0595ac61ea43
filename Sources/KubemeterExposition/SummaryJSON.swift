package import KubemeterParsers
package import KubemeterSnapshot
import KubemeterHostFiles
import KubemeterSync

/// `GET /stats/summary`: the kubelet's Summary API (k8s.io/kubelet/pkg/apis/stats/v1alpha1
/// `Summary`), field for field: the Go types' JSON names and nesting, a pointer field left out
/// when the agent has no value for it (`omitempty`), a non-pointer one always written, times as
/// `metav1.Time` writes them. Every value comes from the snapshot by `Formulas`, as
/// /metrics/resource's do; docs/metrics.md ("The Summary API") says where each comes from and
/// which fields the node alone cannot fill.
package struct SummaryJSONRenderer: Sendable {
    /// `NodeStats.nodeName`.
    package var nodeName: String
    /// `?only_cpu_and_memory=true`: the node's and each pod's and container's `cpu` and `memory`
    /// (and `swap`), names and start times, as the kubelet's `GetCPUAndMemoryStats` gives them.
    package var onlyCPUAndMemory = false

    package init(nodeName: String, onlyCPUAndMemory: Bool = false) {
        self.nodeName = nodeName
        self.onlyCPUAndMemory = onlyCPUAndMemory
    }

    /// cAdvisor leaves these interfaces out of a container's and the node's network stats
    /// (container/libcontainer/handler.go `isIgnoredDevice`: loopback, veth ends, bridges of
    /// Docker and nerdctl).
    static let ignoredInterfacePrefixes = ["lo", "veth", "docker", "nerdctl"]
    /// The interface whose counters `NetworkStats` carries inline (pkg/kubelet/stats helper.go
    /// `defaultNetworkInterfaceName`).
    static let defaultInterfaceName = "eth0"

    package func render(_ snapshot: NodeSnapshot) -> [UInt8] {
        let time = RFC3339.format(seconds: Int(snapshot.timestampMilliseconds / 1000))
        var json = JSONWriter()
        json.beginObject()
        json.key("node")
        node(snapshot, time, &json)
        json.key("pods")
        json.beginArray()
        for pod in snapshot.pods { self.pod(pod, node: snapshot.node, time, &json) }
        json.endArray()
        json.endObject()
        var bytes = json.bytes
        bytes.append(0x0A)
        return bytes
    }

    // MARK: NodeStats

    private func node(_ snapshot: NodeSnapshot, _ time: String, _ json: inout JSONWriter) {
        let node = snapshot.node
        json.beginObject()
        json.field("nodeName", nodeName)
        if !snapshot.systemContainers.isEmpty {
            json.key("systemContainers")
            json.beginArray()
            for system in snapshot.systemContainers {
                json.beginObject()
                json.field("name", system.role.rawValue)
                Self.time("startTime", seconds: system.startTimeSeconds, &json)
                cgroupStats(system.sample, memoryLimit: Formulas.memoryLimitBytes(system.sample.memoryMax), time, &json)
                json.endObject()
            }
            json.endArray()
        }
        // The kubelet's is the creation time of cAdvisor's root container: the boot, to the second.
        Self.time("startTime", seconds: node.procStat?.bootTime.map { Double($0) }, &json)
        if let usage = node.cpuUsageSeconds {
            cpuStats(time, nanoCores: node.cpuUsageNanoCores, coreNanoSeconds: Formulas.nanoseconds(seconds: usage),
                     pressure: node.cpuPressure, &json)
        }
        if let workingSet = node.memoryWorkingSetBytes {
            // The root's limit is the machine's memory (cAdvisor's machine info).
            memoryStats(time, workingSet: workingSet, limit: node.meminfo?.memTotal,
                        usage: Formulas.nodeMemoryUsageBytes(rootMemoryStat: node.rootMemoryStat, meminfo: node.meminfo),
                        stat: node.rootMemoryStat, pressure: node.memoryPressure, &json)
        }
        guard !onlyCPUAndMemory else {
            json.endObject()
            return
        }
        ioStats(time, pressure: node.ioPressure, &json)
        if let interfaces = node.netDev?.interfaces {
            Self.network(interfaces, time, &json)
        }
        if let fs = node.rootFileSystem {
            json.key("fs")
            Self.fileSystem(fs, time, &json)
        }
        if let imageFs = node.imageFileSystem {
            json.key("runtime")
            json.beginObject()
            json.key("imageFs")
            // The kubelet's imageFs usedBytes is the images' total size (the CRI's ImageFsInfo);
            // without the runtime's socket only the file system's figures are known.
            Self.fileSystem(imageFs, time, used: false, &json)
            json.endObject()
        }
        if node.processIDLimit != nil || node.processCount != nil {
            json.key("rlimit")
            json.beginObject()
            json.field("time", time)
            json.omittedIfNil("maxpid", node.processIDLimit.map { Int64(clamping: $0) })
            json.omittedIfNil("curproc", node.processCount.map { Int64(clamping: $0) })
            json.endObject()
        }
        if let usage = node.swapUsageBytes {
            // The root's swap limit is the machine's swap.
            swapStats(time, usage: usage, limit: node.meminfo?.swapTotal, &json)
        }
        json.endObject()
    }

    // MARK: PodStats and ContainerStats

    private func pod(_ pod: PodUsage, node: NodeUsage, _ time: String, _ json: inout JSONWriter) {
        json.beginObject()
        json.key("podRef")
        json.beginObject()
        json.field("name", pod.name)
        json.field("namespace", pod.namespace)
        json.field("uid", pod.uid)
        json.endObject()
        Self.time("startTime", seconds: pod.startTimeSeconds, &json)
        json.key("containers")
        json.beginArray()
        for container in pod.containers {
            json.beginObject()
            json.field("name", container.name)
            Self.time("startTime", seconds: container.startTimeSeconds, &json)
            cgroupStats(container.sample, memoryLimit: Formulas.memoryLimitBytes(container.sample.memoryMax), time, network: {
                guard !onlyCPUAndMemory else { return }
                // ContainerStats `rootfs` (the writable layer, on the image file system) and `logs`
                // (on the kubelet's): pkg/kubelet/stats cri_stats_provider.go.
                if let rootfs = container.rootfs {
                    $0.key("rootfs")
                    Self.storage(rootfs, on: node.imageFileSystem ?? node.rootFileSystem, &$0)
                }
                if let logs = container.logs {
                    $0.key("logs")
                    Self.storage(logs, on: node.rootFileSystem, &$0)
                }
            }, &json)
            json.endObject()
        }
        json.endArray()
        cgroupStats(pod.sample, memoryLimit: Formulas.memoryLimitBytes(pod.sample.memoryMax), time, network: {
            guard !onlyCPUAndMemory else { return }
            // A hostNetwork pod's sandbox is in the node's namespace: cAdvisor reads the node's
            // interfaces for it.
            if let interfaces = pod.hostNetwork == true ? node.netDev?.interfaces : pod.network {
                Self.network(interfaces, time, &$0)
            }
            if let volumes = pod.storage?.volumes, !volumes.isEmpty {
                $0.key("volume")
                $0.beginArray()
                for volume in volumes {
                    Self.storage(volume.usage, on: volume.fileSystem ?? node.rootFileSystem, name: volume.name, &$0)
                }
                $0.endArray()
            }
            if let total = Formulas.ephemeralStorage(of: pod) {
                $0.key("ephemeral-storage")
                Self.storage(total, on: node.rootFileSystem, &$0)
            }
        }, &json)
        json.endObject()
    }

    /// `cpu`, `memory`, (`io`, `network`) and `swap` of one cgroup, as fields of the object
    /// being written; each left out when its file was not read.
    private func cgroupStats(
        _ sample: CgroupSample, memoryLimit: UInt64?, _ time: String,
        network: (inout JSONWriter) -> Void = { _ in }, _ json: inout JSONWriter
    ) {
        if let usec = sample.cpu?.usageUsec {
            cpuStats(time, nanoCores: sample.cpuUsageNanoCores, coreNanoSeconds: Formulas.nanoseconds(microseconds: usec),
                     pressure: sample.cpuPressure, &json)
        }
        if let workingSet = sample.memoryWorkingSetBytes {
            memoryStats(time, workingSet: workingSet, limit: memoryLimit, usage: sample.memoryCurrent,
                        stat: sample.memoryStat, pressure: sample.memoryPressure, &json)
        }
        if !onlyCPUAndMemory { ioStats(time, pressure: sample.ioPressure, &json) }
        network(&json)
        if let usage = sample.swapCurrent {
            swapStats(time, usage: usage, limit: sample.swapLimitBytes, &json)
        }
    }

    /// `CPUStats`; PSI left out of `only_cpu_and_memory`.
    private func cpuStats(_ time: String, nanoCores: UInt64?, coreNanoSeconds: UInt64, pressure: Pressure?, _ json: inout JSONWriter) {
        json.key("cpu")
        json.beginObject()
        json.field("time", time)
        json.omittedIfNil("usageNanoCores", nanoCores)
        json.field("usageCoreNanoSeconds", coreNanoSeconds)
        if !onlyCPUAndMemory { Self.psi(pressure, &json) }
        json.endObject()
    }

    /// `MemoryStats`: `availableBytes` only under a limit; rss and page faults from `memory.stat`.
    private func memoryStats(
        _ time: String, workingSet: UInt64, limit: UInt64?, usage: UInt64?, stat: MemoryStat?, pressure: Pressure?,
        _ json: inout JSONWriter
    ) {
        json.key("memory")
        json.beginObject()
        json.field("time", time)
        json.omittedIfNil("availableBytes", limit.map { Formulas.availableBytes(limit: $0, workingSet: workingSet) })
        json.omittedIfNil("usageBytes", usage)
        json.field("workingSetBytes", workingSet)
        json.omittedIfNil("rssBytes", stat?.anon)
        json.omittedIfNil("pageFaults", stat?.pgfault)
        json.omittedIfNil("majorPageFaults", stat?.pgmajfault)
        if !onlyCPUAndMemory { Self.psi(pressure, &json) }
        json.endObject()
    }

    /// `IOStats`: only its PSI, so only where the kernel has `io.pressure`.
    private func ioStats(_ time: String, pressure: Pressure?, _ json: inout JSONWriter) {
        guard pressure != nil else { return }
        json.key("io")
        json.beginObject()
        json.field("time", time)
        Self.psi(pressure, &json)
        json.endObject()
    }

    /// `SwapStats`: `swapAvailableBytes` only under a limit.
    private func swapStats(_ time: String, usage: UInt64, limit: UInt64?, _ json: inout JSONWriter) {
        json.key("swap")
        json.beginObject()
        json.field("time", time)
        json.omittedIfNil("swapAvailableBytes", limit.map { Formulas.availableBytes(limit: $0, workingSet: usage) })
        json.field("swapUsageBytes", usage)
        json.endObject()
    }

    // MARK: Shared pieces

    /// A `metav1.Time` that is not a pointer: always written, `null` when unknown (Go's zero time).
    static func time(_ key: String, seconds: Double?, _ json: inout JSONWriter) {
        json.field(key, seconds.map { RFC3339.format(seconds: Int($0)) })
    }

    /// `PSIStats`: `full` and `some`, each with `total` (microseconds) and the three averages.
    static func psi(_ pressure: Pressure?, _ json: inout JSONWriter) {
        guard let pressure, pressure.some != nil || pressure.full != nil else { return }
        json.key("psi")
        json.beginObject()
        for (name, line) in [("full", pressure.full), ("some", pressure.some)] {
            json.key(name)
            json.beginObject()
            // Kernels before 5.13 write no cpu `full` line: Go's zero PSIData, as the kubelet's
            // cAdvisor would report it.
            json.field("total", line?.totalUsec ?? 0)
            json.field("avg10", line?.avg10 ?? 0)
            json.field("avg60", line?.avg60 ?? 0)
            json.field("avg300", line?.avg300 ?? 0)
            json.endObject()
        }
        json.endObject()
    }

    /// `NetworkStats`: every interface but those cAdvisor ignores, and `eth0`'s counters inline.
    static func network(_ all: [NetDevInterface], _ time: String, _ json: inout JSONWriter) {
        let interfaces = all.filter { interface in !ignoredInterfacePrefixes.contains { interface.name.hasPrefix($0) } }
        json.key("network")
        json.beginObject()
        json.field("time", time)
        let inline = interfaces.first { $0.name == defaultInterfaceName }
        json.field("name", inline?.name ?? "")
        if let inline { counters(inline, &json) }
        if !interfaces.isEmpty {
            json.key("interfaces")
            json.beginArray()
            for interface in interfaces {
                json.beginObject()
                json.field("name", interface.name)
                counters(interface, &json)
                json.endObject()
            }
            json.endArray()
        }
        json.endObject()
    }

    private static func counters(_ interface: NetDevInterface, _ json: inout JSONWriter) {
        json.field("rxBytes", interface.rxBytes)
        json.field("rxErrors", interface.rxErrors)
        json.field("txBytes", interface.txBytes)
        json.field("txErrors", interface.txErrors)
    }

    /// `FsStats` of a part of a pod's ephemeral storage: used bytes and inodes from the walk, at the
    /// walk's time; capacity, available and inodes from the file system it is on (the kubelet
    /// takes them from the root or image file system's info). `name`: a `VolumeStats`.
    static func storage(_ usage: StorageUsage, on fs: FileSystemCapacity?, name: String? = nil, _ json: inout JSONWriter) {
        json.beginObject()
        json.field("time", RFC3339.format(seconds: Int(usage.measuredAtSeconds)))
        if let fs {
            json.field("availableBytes", fs.availableBytes)
            json.field("capacityBytes", fs.capacityBytes)
        }
        json.field("usedBytes", usage.bytes)
        if let fs {
            json.field("inodesFree", fs.inodesFree)
            json.field("inodes", fs.inodes)
        }
        json.field("inodesUsed", usage.inodes)
        if let name { json.field("name", name) }
        json.endObject()
    }

    /// `FsStats` from `statfs`, as cAdvisor's `getVfsStats` and the kubelet's `RootFsStats`
    /// reduce it: used = capacity - free (root's reserve counts as used), inodes used likewise.
    static func fileSystem(_ fs: FileSystemCapacity, _ time: String, used: Bool = true, _ json: inout JSONWriter) {
        json.beginObject()
        json.field("time", time)
        json.field("availableBytes", fs.availableBytes)
        json.field("capacityBytes", fs.capacityBytes)
        if used { json.field("usedBytes", Formulas.usedBytes(fs)) }
        json.field("inodesFree", fs.inodesFree)
        json.field("inodes", fs.inodes)
        json.field("inodesUsed", Formulas.inodesUsed(fs))
        json.endObject()
    }
}
