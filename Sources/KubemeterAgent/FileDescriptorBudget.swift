/// How the process's descriptors (RLIMIT_NOFILE) are shared between the collector's kept-open
/// files and the HTTP connections, so that neither can starve the other: connections that took
/// every descriptor would leave a scrape's collection unable to open a file (it would fail or lose
/// values), and kept files that took every descriptor would leave no room to accept the scrape.
///
/// A fixed headroom stays free for what is opened briefly (directory listings, uncached reads,
/// `/proc` files, the journald socket, the listener, the wake-up pipe, the accept reserve). Kept
/// files are a cache (a file not kept is read with an open and a close), so when the limit is tight
/// they give way first, down to a quarter of what the headroom leaves; only then is the connection
/// limit lowered.
package struct FileDescriptorBudget: Sendable, Equatable {
    /// Descriptors left free for short-lived opens.
    package static let headroom = 64

    /// Files and directories the collector may keep open.
    package var keptFiles: Int
    /// Connections the HTTP server may hold at once.
    package var connections: Int

    package init(keptFiles: Int, connections: Int) {
        self.keptFiles = keptFiles
        self.connections = connections
    }

    /// The split of `limit` descriptors when `wantedFiles` kept files and `wantedConnections`
    /// connections are asked for.
    package init(limit: Int, wantedFiles: Int, wantedConnections: Int) {
        let usable = max(0, limit - Self.headroom)
        let filesFloor = min(wantedFiles, usable / 4)
        let files = max(filesFloor, min(wantedFiles, usable - wantedConnections))
        self.init(keptFiles: files, connections: max(1, min(wantedConnections, usable - files)))
    }
}
