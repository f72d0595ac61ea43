/// The counts one discovery pass accumulates; copied into the `DiscoveryReport`.
struct DiscoveryCounters {
    var podCgroupsWithoutLogDirectory = 0
    var skippedEntries = 0
    var vanishedEntries = 0

    mutating func record(_ error: FileSystemError) {
        switch error {
        case .vanished: vanishedEntries += 1
        case .unreadable: skippedEntries += 1
        }
    }
}
