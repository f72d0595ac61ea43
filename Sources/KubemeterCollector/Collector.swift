#if canImport(Glibc)
import Glibc
#endif
import KubemeterDiscovery
import KubemeterParsers
import KubemeterSnapshot
import Logging

/// Builds one `NodeSnapshot` per call to `collect()`, reading every file at that moment.
///
/// Not thread-safe: the agent runs one collection at a time (single flight) and shares its result.
public final class Collector {
    public let paths: HostPaths
    private let reader = HostFileReader()
    private let discovery: PodDiscovery?
    private let logger: Logger

    public init(paths: HostPaths, kubepodsPath: String? = nil, logger: Logger = Logger(label: "kubemeter.collector")) {
        self.paths = paths
        self.logger = logger
        if let cgroupPath = paths.cgroupPath {
            discovery = PodDiscovery(configuration: DiscoveryConfiguration(
                cgroupRoot: cgroupPath, podLogDirectory: paths.podLogPath,
                containerLogDirectory: paths.containerLogPath, kubepodsPath: kubepodsPath))
        } else {
            discovery = nil
        }
    }

    /// Reads the node, discovers pods and reads every pod and container cgroup.
    public func collect() -> NodeSnapshot {
        let timestamp = Self.nowMilliseconds()
        var problems = CollectionProblems()
        let node = NodeSampler(reader: reader, paths: paths, ticksPerSecond: Self.ticksPerSecond).sample()
        problems.unreadableFiles += node.unreadableFiles

        var pods: [PodUsage] = []
        if let discovery {
            let report = discovery.discover()
            problems.podsWithoutLogDirectory += report.podCgroupsWithoutLogDirectory
            problems.skippedEntries += report.skippedEntries
            problems.vanishedCgroups += report.vanishedEntries
            pods.reserveCapacity(report.pods.count)
            let sampler = CgroupSampler(reader: reader)
            for pod in report.pods {
                if let usage = collect(pod, sampler, &problems) { pods.append(usage) }
            }
        }
        return NodeSnapshot(
            timestampMilliseconds: timestamp, node: node.usage, pods: pods,
            scrapeFailed: !node.succeeded, problems: problems)
    }

    private func collect(_ pod: DiscoveredPod, _ sampler: CgroupSampler, _ problems: inout CollectionProblems) -> PodUsage? {
        guard case .sampled(let podSample, let podUnreadable) = sampler.sample(pod.cgroupPath) else {
            problems.vanishedCgroups += 1
            return nil
        }
        problems.unreadableFiles += podUnreadable
        var containers: [ContainerUsage] = []
        containers.reserveCapacity(pod.containers.count)
        for container in pod.containers {
            switch sampler.sample(container.cgroupPath) {
            case .vanished:
                problems.vanishedCgroups += 1
            case .sampled(let sample, let unreadable):
                problems.unreadableFiles += unreadable
                containers.append(ContainerUsage(
                    name: container.name, id: container.id, runtime: container.runtime.rawValue,
                    cgroupPath: container.cgroupPath, sample: sample,
                    startTimeSeconds: sampler.startTimeSeconds(container.cgroupPath)))
            }
        }
        return PodUsage(
            namespace: pod.namespace, name: pod.name, uid: pod.uid, qosClass: pod.qos.rawValue,
            cgroupPath: pod.cgroupPath, sample: podSample, containers: containers)
    }

    static let ticksPerSecond: Double = {
        let hz = sysconf(Int32(_SC_CLK_TCK))
        return hz > 0 ? Double(hz) : 100
    }()

    static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
