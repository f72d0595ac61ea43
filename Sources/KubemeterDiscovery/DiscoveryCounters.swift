import KubemeterHostFiles

/// The counts one discovery pass accumulates; copied into the `DiscoveryReport`.
struct DiscoveryCounters {
    var podCgroupsWithoutLogDirectory = 0
    var skippedEntries = 0
    var vanishedEntries = 0
    /// Directories and links that could not be read for a reason other than vanishing, with
    /// why (the first `maximumFailures`; `skippedEntries` counts them all).
    var failures: [HostFileError] = []
    static let maximumFailures = 16

    mutating func record(_ error: HostFileError) {
        switch error {
        case .vanished, .notFound: vanishedEntries += 1
        case .io, .parse: fail(error)
        }
    }

    /// A directory that could not be read: counted as skipped, kept (up to a bound) with why.
    mutating func fail(_ error: HostFileError) {
        skippedEntries += 1
        if failures.count < Self.maximumFailures { failures.append(error) }
    }

    /// A directory discovery starts from (the kubepods root, `/var/log/pods`,
    /// `/var/log/containers`) could not be listed: absent is no failure (a machine that is not a
    /// node, a node with no pods yet), anything else is (EACCES in a posture without the mount).
    mutating func recordRoot(_ error: HostFileError) {
        if case .io = error { fail(error) }
    }
}
