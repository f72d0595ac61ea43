import CLinux
import Glibc
import KubemeterHostFiles
import KubemeterSync
import Synchronization

/// Directory listings kept between discoveries, re-read only when the directory changed, so a
/// steady node costs one `fstat` (or `stat`) per directory instead of a full listing.
///
/// "Changed" is judged from `stat`: inode, link count, mtime and ctime. On cgroupfs (kernfs) a
/// directory's mtime does not move when a child cgroup is made or removed, but its link count
/// does (2 + subdirectories), which is what catches new and removed cgroups there. A removal
/// plus an addition between two discoveries keeps the count; the removed cgroup's files then
/// answer ENODEV, and the collector calls `invalidateAll()` and discovers again. On ordinary
/// file systems (`/var/log/pods`, test trees) the mtime moves, but in coarse ticks: a listing
/// whose directory changed less than `racyWindowNanoseconds` before it was made is not trusted,
/// as git does for its index.
///
/// A listed cgroup directory with subdirectories (a pod, a QoS class, kubepods) is held by an
/// `O_PATH` fd, up to `maximumOpenDirectories`, so its check is an `fstat` rather than a `stat`
/// that walks the whole path (on cgroupfs a lookup per component: for a pod directory here,
/// 3.4 µs against 0.55 µs). Only on cgroupfs: there a directory cannot be renamed, and nothing
/// is mounted on a cgroup; elsewhere (`/var/log/pods`) a mount or a rename would leave an fd on
/// the old directory, unchanged for ever, while a `stat` by path sees another device or inode.
/// An fd follows its directory, not its name, so it must show removal: an ordinary file system
/// drops a removed directory's link count to 0; kernfs keeps it at 2 + its subdirectories, which
/// by then are all gone, so a cgroup that had children shows 2 where the listing saw more. A directory listed with no subdirectories, removed and made anew under the
/// same name (a static pod's UID is a hash of its manifest), would show the same inode and link
/// count through its old fd, and only its times to tell (6.x kernels move them at removal; that is
/// not promised): such directories, and any past the bound, are checked by path.
///
/// It also keeps the target of each `/var/log/containers` link discovery read, by the link's path,
/// for as long as discoveries keep asking for it: the link's name carries its container's ID and
/// the kubelet never re-points a link (it makes it once, in kuberuntime_container.go
/// `startContainer`, and removes it with its container), so a target once read is read for good:
/// one `readlink` per container instance, ever.
package final class ListingCache: Sendable {
    typealias Identity = DirectoryIdentity

    struct Cached<Listing> {
        var identity: Identity
        var listing: Listing
        var trusted: Bool
        var generation: UInt64
        /// The directory, held open (O_PATH) for `fstat`; -1 when it is checked by path.
        var descriptor: Int32
    }

    /// One dictionary per kind of listing rather than one dictionary of an enum: Swift keeps a
    /// multi-payload enum's case in the spare high bits of the payload's array pointer, which
    /// LeakSanitizer cannot recognize as a reference, so every cached `[Entry]` showed as leaked at
    /// exit (a false report, but one that fails the sanitized test run).
    private struct State {
        var subdirectories: [String: Cached<FileSystem.Subdirectories>] = [:]
        var entries: [String: Cached<[FileSystem.Entry]>] = [:]
        /// Link targets by the link's path, with the generation that last asked for each.
        var linkTargets: [String: (target: String, generation: UInt64)] = [:]
        var generation: UInt64 = 0
        var hits = 0
        var misses = 0
        var linkTargetsReused = 0
        var linkTargetsRead = 0
        var openDirectories = 0

        mutating func removeAll() {
            forget { _ in true }
        }

        /// Drops the listings `matching` says to, closing their fds.
        mutating func forget(where matching: (UInt64) -> Bool) {
            subdirectories = subdirectories.filter { keep($0.value, unless: matching) }
            entries = entries.filter { keep($0.value, unless: matching) }
        }

        /// Drops the link targets `matching` says to.
        mutating func forgetLinkTargets(where matching: (UInt64) -> Bool) {
            linkTargets = linkTargets.filter { !matching($0.value.generation) }
        }

        private mutating func keep<Listing>(_ cached: Cached<Listing>, unless matching: (UInt64) -> Bool) -> Bool {
            guard matching(cached.generation) else { return true }
            release(cached.descriptor)
            return false
        }

        mutating func release(_ descriptor: Int32) {
            guard descriptor >= 0 else { return }
            close(descriptor)
            openDirectories -= 1
        }

        /// How many listings the current generation made or reused, when every one of them is
        /// trusted and its directory unchanged; nil otherwise.
        func currentListingsHolding() -> Int? {
            guard let listed = holding(subdirectories), let more = holding(entries) else { return nil }
            return listed + more
        }

        private func holding<Listing>(_ listings: [String: Cached<Listing>]) -> Int? {
            var count = 0
            for (path, cached) in listings where cached.generation == generation {
                guard cached.trusted, ListingCache.identity(of: cached, at: path) == cached.identity else { return nil }
                count += 1
            }
            return count
        }
    }

    private let state = Mutex(State())
    static let racyWindowNanoseconds: Int64 = 2_000_000_000
    /// Directories held open at most; past it, directories are checked by path.
    package let maximumOpenDirectories: Int

    /// Whether only cgroupfs directories are held open (always, but in tests of the fd logic on
    /// ordinary temporary trees).
    let holdsOnlyCgroupDirectories: Bool

    package convenience init(maximumOpenDirectories: Int = 5_000) {
        self.init(maximumOpenDirectories: maximumOpenDirectories, holdsOnlyCgroupDirectories: true)
    }

    init(maximumOpenDirectories: Int, holdsOnlyCgroupDirectories: Bool) {
        self.maximumOpenDirectories = maximumOpenDirectories
        self.holdsOnlyCgroupDirectories = holdsOnlyCgroupDirectories
    }

    deinit {
        state.withLock { $0.removeAll() }
    }

    /// Directory fds held now.
    package var openDirectories: Int {
        state.withLock { $0.openDirectories }
    }

    /// Forgets every listing: the next discovery lists every directory again. Link targets stay:
    /// a link's target never changes (see above), and a link that went is no longer asked for.
    package func invalidateAll() {
        state.withLock { $0.removeAll() }
    }

    /// Listings served from the cache and listings read, since the start.
    package var statistics: (hits: Int, misses: Int) {
        state.withLock { ($0.hits, $0.misses) }
    }

    /// Link targets served from the cache and read with `readlink`, since the start.
    package var linkTargetStatistics: (reused: Int, read: Int) {
        state.withLock { ($0.linkTargetsReused, $0.linkTargetsRead) }
    }

    /// Whether every directory the last discovery listed is unchanged and trusted, judged by one
    /// `fstat` each (a `stat` for those not held open): then that discovery's report still
    /// describes the node. Checked under the lock: an fd is never used while being closed.
    func previousDiscoveryStillHolds() -> Bool {
        state.withLock { state in
            guard let holding = state.currentListingsHolding(), holding > 0 else { return false }
            state.hits += holding
            return true
        }
    }

    /// Starts a discovery.
    func beginDiscovery() {
        state.withLock { $0.generation += 1 }
    }

    /// Ends a discovery: listings and link targets it did not use are dropped and their fds
    /// closed (their directories are gone or no longer walked, their containers gone), so the
    /// cache never outgrows the node.
    func endDiscovery() {
        state.withLock { state in
            let current = state.generation
            state.forget { $0 != current }
            state.forgetLinkTargets { $0 != current }
        }
    }

    /// The target of the link at `path`: kept from an earlier `read` when there was one, else read
    /// now with `read` and kept. A failed read keeps nothing (the next discovery tries again).
    func linkTarget(_ path: String, read: () throws(HostFileError) -> String) throws(HostFileError) -> String {
        let kept = state.withLock { state -> String? in
            guard var entry = state.linkTargets[path] else { return nil }
            entry.generation = state.generation
            state.linkTargets[path] = entry
            state.linkTargetsReused += 1
            return entry.target
        }
        if let kept { return kept }
        let target = try read()
        state.withLock { state in
            state.linkTargets[path] = (target, state.generation)
            state.linkTargetsRead += 1
        }
        return target
    }

    func subdirectories(_ path: String) throws(HostFileError) -> FileSystem.Subdirectories {
        try listing(path, in: \.subdirectories) { () throws(HostFileError) in try FileSystem.subdirectories(of: path) }
    }

    func entries(_ path: String) throws(HostFileError) -> [FileSystem.Entry] {
        try listing(path, in: \.entries) { () throws(HostFileError) in try FileSystem.entries(of: path) }
    }

    /// The cached listing of `path` when its directory is unchanged and the listing trusted;
    /// otherwise a fresh one from `list`, kept for next time with the directory held open.
    private func listing<Listing: Sendable>(
        _ path: String, in kind: WritableKeyPath<State, [String: Cached<Listing>]> & Sendable,
        _ list: () throws(HostFileError) -> Listing
    ) throws(HostFileError) -> Listing {
        let hit = state.withLock { state -> Listing? in
            guard var cached = state[keyPath: kind][path], cached.trusted,
                Self.identity(of: cached, at: path) == cached.identity
            else {
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
        let (descriptor, identity) = try openDirectory(path)
        let listing: Listing
        do {
            listing = try list()
        } catch {
            state.withLock { $0.release(descriptor) }
            throw error
        }
        let trusted = WallClock.nanoseconds() - identity.mtime > Self.racyWindowNanoseconds
        state.withLock { state in
            state.release(state[keyPath: kind][path]?.descriptor ?? -1)
            state[keyPath: kind][path] = Cached(
                identity: identity, listing: listing, trusted: trusted, generation: state.generation,
                descriptor: descriptor)
        }
        return listing
    }

    /// `path`'s identity, and the directory held open (O_PATH) when it has subdirectories, is on
    /// cgroupfs and the bound allows; otherwise -1, and it is checked by path.
    private func openDirectory(_ path: String) throws(HostFileError) -> (Int32, Identity) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw HostFileError(errno: errno, path: path, during: .revisiting) }
        guard info.st_nlink > 2, let descriptor = holdOpen(path) else { return (-1, Identity(info)) }
        // The identity later checks will compare with is the held directory's.
        var held = stat()
        guard fstat(descriptor, &held) == 0 else {
            state.withLock { $0.release(descriptor) }
            return (-1, Identity(info))
        }
        return (descriptor, Identity(held))
    }

    /// `path` opened O_PATH and counted, when the bound and its file system allow; else nil.
    private func holdOpen(_ path: String) -> Int32? {
        let reserved = state.withLock { state -> Bool in
            guard state.openDirectories < maximumOpenDirectories else { return false }
            state.openDirectories += 1
            return true
        }
        guard reserved else { return nil }
        let descriptor = Glibc.open(path, CLINUX_O_PATH | O_DIRECTORY | O_CLOEXEC)
        if descriptor >= 0, !holdsOnlyCgroupDirectories || FileSystemKind.isCgroupFileSystem(descriptor: descriptor) {
            return descriptor
        }
        if descriptor >= 0 { close(descriptor) }
        state.withLock { $0.openDirectories -= 1 }
        return nil
    }

    /// What `cached`'s directory is now: by its fd (nil once removed: link count 0), else by path.
    fileprivate static func identity<Listing>(of cached: Cached<Listing>, at path: String) -> Identity? {
        var info = stat()
        if cached.descriptor >= 0 {
            guard fstat(cached.descriptor, &info) == 0, info.st_nlink > 0 else { return nil }
        } else {
            guard stat(path, &info) == 0 else { return nil }
        }
        return Identity(info)
    }
}

extension FileSystemAccess {
    /// The live file system, with listings served from `cache` while their directories are
    /// unchanged, and each link read once.
    static func live(cachedBy cache: ListingCache) -> FileSystemAccess {
        FileSystemAccess(
            subdirectories: { path throws(HostFileError) in try cache.subdirectories(path) },
            entries: { path throws(HostFileError) in try cache.entries(path) },
            readLink: FileSystemAccess.live.readLink
        ).cachingLinkTargets(in: cache)
    }

    /// `self`, with each link's target read once through `self` and then served from `cache`.
    func cachingLinkTargets(in cache: ListingCache) -> FileSystemAccess {
        let inner = self
        return FileSystemAccess(
            subdirectories: inner.subdirectories, entries: inner.entries,
            readLink: { path throws(HostFileError) in
                try cache.linkTarget(path) { () throws(HostFileError) in try inner.readLink(path) }
            })
    }
}
