import KubemeterHostFiles

/// The counts one discovery pass accumulates; copied into the `DiscoveryReport`.
struct DiscoveryCounters {
    var podCgroupsWithoutLogDirectory = 0
    var skippedEntries = 0
    var vanishedEntries = 0

    mutating func record(_ error: HostFileError) {
        switch error {
        case .vanished, .notFound: vanishedEntries += 1
        case .io, .parse: skippedEntries += 1
        }
    }
}
