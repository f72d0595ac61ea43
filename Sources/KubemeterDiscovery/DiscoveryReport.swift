package import KubemeterHostFiles

/// The result of one `PodDiscovery.discover()`: the pods found, and counts of what was passed over.
package struct DiscoveryReport: Sendable {
    /// Sorted by namespace, name, UID.
    package var pods: [DiscoveredPod]
    /// Absolute path of the kubepods root used, `nil` when none was found (or the configured one is absent).
    package var kubepodsPath: String?
    /// Pod cgroups not reported because no `/var/log/pods/<namespace>_<pod>_<uid>` directory names
    /// them (no directory, or only a legacy `/var/log/pods/<uid>` one).
    package var podCgroupsWithoutLogDirectory: Int
    /// Names that looked wrong and were ignored: unexpected cgroup directories in the pod tree,
    /// unparsable log entries, links that contradict or cannot be resolved, and directories that
    /// could not be read for a reason other than vanishing (e.g. EACCES).
    package var skippedEntries: Int
    /// Directories or links that vanished (ENOENT, ENODEV, ENOTDIR) between listing and reading: churn.
    package var vanishedEntries: Int
    /// Directories and links that could not be read for a reason other than vanishing (the
    /// first few), with the path and errno: what an operator needs to fix a posture.
    package var failures: [HostFileError] = []

    package init(
        pods: [DiscoveredPod] = [], kubepodsPath: String? = nil, podCgroupsWithoutLogDirectory: Int = 0,
        skippedEntries: Int = 0, vanishedEntries: Int = 0
    ) {
        self.pods = pods
        self.kubepodsPath = kubepodsPath
        self.podCgroupsWithoutLogDirectory = podCgroupsWithoutLogDirectory
        self.skippedEntries = skippedEntries
        self.vanishedEntries = vanishedEntries
    }
}
