import Glibc
import Synchronization

/// Directory listings kept between discoveries, re-read only when the directory changed, so a
/// steady node costs one `stat` per directory instead of a full listing.
///
/// "Changed" is judged from `stat`: inode, link count, mtime and ctime. On cgroupfs (kernfs) a
/// directory's mtime does not move when a child cgroup is made or removed, but its link count
/// does (2 + subdirectories), which is what catches new and removed cgroups there. A removal
/// plus an addition between two discoveries keeps the count; the removed cgroup's files then
/// answer ENODEV, and the collector calls `invalidateAll()` and discovers again. On ordinary
/// file systems (`/var/log/pods`, test trees) the mtime moves, but in coarse ticks: a listing
/// whose directory changed less than `racyWindowNanoseconds` before it was made is not trusted,
/// as git does for its index.
public final class ListingCache: Sendable {
    struct Identity: Equatable {
        var device: UInt64
        var inode: UInt64
        var links: UInt64
        var mtime: Int64
        var ctime: Int64
    }

    struct Cached<Listing> {
        var identity: Identity
        var listing: Listing
        var trusted: Bool
        var generation: UInt64
    }

    /// One dictionary per kind of listing rather than one dictionary of an enum: Swift keeps a
    /// multi-payload enum's case in the spare high bits of the payload's array pointer, which
    /// LeakSanitizer cannot recognize as a reference, so every cached `[Entry]` showed as leaked at
    /// exit (a false report, but one that fails the sanitized test run).
    private struct State {
        var subdirectories: [String: Cached<FileSystem.Subdirectories>] = [:]
        var entries: [String: Cached<[FileSystem.Entry]>] = [:]
        var generation: UInt64 = 0
        var hits = 0
        var misses = 0

        mutating func removeAll() {
            subdirectories.removeAll(keepingCapacity: true)
            entries.removeAll(keepingCapacity: true)
        }

        /// (path, identity, trusted) of every listing made or reused in the current generation.
        var current: [(path: String, identity: Identity, trusted: Bool)] {
            subdirectories.filter { $0.value.generation == generation }.map { ($0.key, $0.value.identity, $0.value.trusted) }
                + entries.filter { $0.value.generation == generation }.map { ($0.key, $0.value.identity, $0.value.trusted) }
        }
    }

    private let state = Mutex(State())
    static let racyWindowNanoseconds: Int64 = 2_000_000_000

    public init() {}

    /// Forgets every listing: the next discovery lists every directory again.
    public func invalidateAll() {
        state.withLock { $0.removeAll() }
    }

    /// Listings served from the cache and listings read, since the start.
    public var statistics: (hits: Int, misses: Int) {
        state.withLock { ($0.hits, $0.misses) }
    }

    /// Whether every directory the last discovery listed is unchanged and trusted, judged by one
    /// `stat` each: then that discovery's report still describes the node.
    func previousDiscoveryStillHolds() -> Bool {
        let cached = state.withLock { $0.current }
        guard !cached.isEmpty else { return false }
        for entry in cached {
            guard entry.trusted, let identity = try? Self.identity(of: entry.path), identity == entry.identity else {
                return false
            }
        }
        state.withLock { $0.hits += cached.count }
        return true
    }

    /// Starts a discovery; listings not used by the previous one are dropped (their directories
    /// are gone or no longer walked), so the cache never outgrows the node.
    func beginDiscovery() {
        state.withLock { state in
            let previous = state.generation
            state.generation += 1
            state.subdirectories = state.subdirectories.filter { $0.value.generation == previous }
            state.entries = state.entries.filter { $0.value.generation == previous }
        }
    }

    func subdirectories(_ path: String) throws(FileSystemError) -> FileSystem.Subdirectories {
        try listing(path, in: \.subdirectories) { () throws(FileSystemError) in try FileSystem.subdirectories(of: path) }
    }

    func entries(_ path: String) throws(FileSystemError) -> [FileSystem.Entry] {
        try listing(path, in: \.entries) { () throws(FileSystemError) in try FileSystem.entries(of: path) }
    }

    /// The cached listing of `path` when its directory is unchanged and the listing trusted;
    /// otherwise a fresh one from `list`, kept for next time.
    private func listing<Listing: Sendable>(
        _ path: String, in kind: WritableKeyPath<State, [String: Cached<Listing>]> & Sendable,
        _ list: () throws(FileSystemError) -> Listing
    ) throws(FileSystemError) -> Listing {
        let identity = try Self.identity(of: path)
        let hit = state.withLock { state -> Listing? in
            guard var cached = state[keyPath: kind][path], cached.trusted, cached.identity == identity else {
                state.misses += 1
                return nil
            }
            cached.generation = state.generation
            state[keyPath: kind][path] = cached
            state.hits += 1
            return cached.listing
        }
        if let hit { return hit }
        // The identity is taken before listing: a change during the listing then shows as a
        // different identity next time, never as a stale listing that looks current.
        let listing = try list()
        let trusted = Self.wallClockNanoseconds() - identity.mtime > Self.racyWindowNanoseconds
        state.withLock { state in
            state[keyPath: kind][path] = Cached(identity: identity, listing: listing, trusted: trusted, generation: state.generation)
        }
        return listing
    }

    private static func identity(of path: String) throws(FileSystemError) -> Identity {
        var info = stat()
        guard stat(path, &info) == 0 else { throw FileSystemError(path: path, errno: errno) }
        return Identity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), links: UInt64(info.st_nlink),
            mtime: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
            ctime: Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec))
    }

    private static func wallClockNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

extension FileSystemAccess {
    /// The live file system, with listings served from `cache` while their directories are unchanged.
    static func live(cachedBy cache: ListingCache) -> FileSystemAccess {
        FileSystemAccess(
            subdirectories: { path throws(FileSystemError) in try cache.subdirectories(path) },
            entries: { path throws(FileSystemError) in try cache.entries(path) },
            readLink: { path throws(FileSystemError) in try FileSystem.readLink(path) })
    }
}
