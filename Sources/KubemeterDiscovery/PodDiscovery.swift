import Synchronization
import KubemeterHostFiles

/// Finds the pods and containers of this node from the cgroup v2 tree and the CRI log paths on
/// disk: no API server, no CRI socket.
///
/// One `discover()`: find the kubepods root (configured, or a bounded search), list it, its QoS
/// levels and each pod cgroup once; list `/var/log/pods` once (UID -> namespace, name) and
/// `/var/log/containers` once (container ID -> container name); join by UID and by ID with
/// dictionaries; one `readlink` per named container for its restart count (and for cut link names
/// that stay ambiguous). With a `ListingCache`, a directory is listed again only when it changed
/// and a link is read once, ever (see `ListingCache`); without one, every call lists and reads
/// everything.
package struct PodDiscovery: Sendable {
    package let configuration: DiscoveryConfiguration

    let fileSystem: FileSystemAccess
    /// Listings kept between calls; nil lists every directory on every call.
    package let listingCache: ListingCache?
    /// The last report, served again while no listed directory changed.
    private let lastReport = SharedReport()

    /// - Parameter afterListing: for tests only (production passes nil): called with a directory's
    ///   path each time discovery has listed it (anew or from the cache), before the listing is
    ///   used, so that a test can make a cgroup or log directory vanish between the listing that
    ///   names it and the reads that follow.
    package init(
        configuration: DiscoveryConfiguration, listingCache: ListingCache? = nil,
        afterListing: (@Sendable (String) -> Void)? = nil
    ) {
        self.configuration = configuration
        let live: FileSystemAccess = listingCache.map { .live(cachedBy: $0) } ?? .live
        self.fileSystem = afterListing.map { live.observed(afterListing: $0) } ?? live
        self.listingCache = listingCache
    }

    init(configuration: DiscoveryConfiguration, fileSystem: FileSystemAccess) {
        self.configuration = configuration
        self.fileSystem = fileSystem
        self.listingCache = nil
    }

    /// Never throws and never crashes: a missing directory gives an empty report, a directory
    /// that vanishes mid-walk is counted in `vanishedEntries`, an odd name in `skippedEntries`.
    package func discover() -> DiscoveryReport {
        if let listingCache {
            // The report is a function of the listings (and of link targets, which never change):
            // when no listed directory changed, it is the same report, at one stat a directory.
            if listingCache.previousDiscoveryStillHolds(), var previous = lastReport.withLock({ $0 }) {
                previous.vanishedEntries = 0  // counted when it happened
                return previous
            }
            listingCache.beginDiscovery()
        }
        let report = discoverAnew()
        if let listingCache {
            listingCache.endDiscovery()
            lastReport.withLock { $0 = report }
        }
        return report
    }

    private func discoverAnew() -> DiscoveryReport {
        var counters = DiscoveryCounters()
        let kubepodsRoot: String?
        if let configured = configuration.kubepodsPath {
            kubepodsRoot = Path.join(configuration.cgroupRoot, configured)
        } else {
            kubepodsRoot = KubepodsRootFinder(cgroupRoot: configuration.cgroupRoot, fileSystem: fileSystem).find(counters: &counters)
        }
        guard let kubepodsRoot,
              let podCgroups = PodCgroupWalker(kubepodsRoot: kubepodsRoot, fileSystem: fileSystem).walk(counters: &counters)
        else {
            return report(pods: [], kubepodsPath: nil, counters)
        }
        guard !podCgroups.isEmpty else {
            return report(pods: [], kubepodsPath: kubepodsRoot, counters)
        }

        let podLogs = PodLogIndex(directory: configuration.podLogDirectory, fileSystem: fileSystem, counters: &counters)
        var named: [(cgroup: PodCgroup, names: PodLogDirectoryName)] = []
        for pod in podCgroups {
            if let names = podLogs[pod.uid] {
                named.append((pod, names))
            } else {
                counters.podCgroupsWithoutLogDirectory += 1
            }
        }

        let containerLogs = ContainerLogIndex(directory: configuration.containerLogDirectory, fileSystem: fileSystem, counters: &counters)
        let joined = ContainerLogJoin(index: containerLogs, fileSystem: fileSystem).containers(
            for: named.map {
                ContainerLogJoin.NamedPod(
                    namespace: $0.names.namespace, name: $0.names.name, uid: $0.cgroup.uid,
                    containerIDs: $0.cgroup.containers.map(\.id))
            },
            counters: &counters)

        let pods = named.map { pod, names in
            var containers: [DiscoveredContainer] = []
            var unnamed: [String] = []
            for container in pod.containers {
                if let named = joined[container.id] {
                    containers.append(DiscoveredContainer(
                        name: named.name, id: container.id, runtime: container.runtime, cgroupPath: container.path,
                        restartCount: named.restartCount))
                } else {
                    unnamed.append(container.id)
                }
            }
            containers.sort { ($0.name, $0.id) < ($1.name, $1.id) }
            return DiscoveredPod(
                namespace: names.namespace, name: names.name, uid: pod.uid, qos: pod.qos, cgroupPath: pod.path,
                containers: containers, unnamedContainerIDs: unnamed.sorted())
        }
        return report(
            pods: pods.sorted { ($0.namespace, $0.name, $0.uid) < ($1.namespace, $1.name, $1.uid) },
            kubepodsPath: kubepodsRoot, counters)
    }

    private func report(pods: [DiscoveredPod], kubepodsPath: String?, _ counters: DiscoveryCounters) -> DiscoveryReport {
        var report = DiscoveryReport(
            pods: pods, kubepodsPath: kubepodsPath,
            podCgroupsWithoutLogDirectory: counters.podCgroupsWithoutLogDirectory,
            skippedEntries: counters.skippedEntries, vanishedEntries: counters.vanishedEntries)
        report.failures = counters.failures
        return report
    }
}

/// A report shared between calls of a `PodDiscovery` (a value type) and its copies.
final class SharedReport: Sendable {
    private let report = Mutex<DiscoveryReport?>(nil)

    func withLock<T>(_ body: (inout DiscoveryReport?) -> T) -> T {
        report.withLock { body(&$0) }
    }
}
