import KubemeterHostFiles
/// The three file system operations discovery uses, as values, so that tests can count the
/// calls (the efficiency promise: one listing per directory) and make a directory vanish at an
/// exact moment (churn). Production code always uses `live`.
struct FileSystemAccess: Sendable {
    var subdirectories: @Sendable (String) throws(HostFileError) -> FileSystem.Subdirectories
    var entries: @Sendable (String) throws(HostFileError) -> [FileSystem.Entry]
    var readLink: @Sendable (String) throws(HostFileError) -> String

    static let live = FileSystemAccess(
        subdirectories: { path throws(HostFileError) in try FileSystem.subdirectories(of: path) },
        entries: { path throws(HostFileError) in try FileSystem.entries(of: path) },
        readLink: { path throws(HostFileError) in try FileSystem.readLink(path) })
}

extension FileSystemAccess {
    /// `self`, calling `afterListing` with a directory's path once it has been listed and before
    /// its listing is used: the seam for tests that remove something at exactly that moment.
    func observed(afterListing: @escaping @Sendable (String) -> Void) -> FileSystemAccess {
        let inner = self
        return FileSystemAccess(
            subdirectories: { path throws(HostFileError) in
                let listing = try inner.subdirectories(path)
                afterListing(path)
                return listing
            },
            entries: { path throws(HostFileError) in
                let listing = try inner.entries(path)
                afterListing(path)
                return listing
            },
            readLink: inner.readLink)
    }
}

extension FileSystemAccess {
    /// The entries of a directory discovery starts from (`/var/log/pods`, `/var/log/containers`),
    /// or nil with why recorded as `DiscoveryCounters.recordRoot` counts it.
    func rootEntries(_ directory: String, counters: inout DiscoveryCounters) -> [FileSystem.Entry]? {
        do {
            return try entries(directory)
        } catch {
            counters.recordRoot(error)
            return nil
        }
    }
}
