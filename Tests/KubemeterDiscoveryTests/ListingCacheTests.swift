import KubemeterTestSupport
import Glibc
import Testing
@testable import KubemeterDiscovery
import KubemeterHostFiles

// ListingCache: a listing is reused only while its directory is unchanged, whether the directory
// is checked through a kept O_PATH fd (it has subdirectories) or by path (a leaf, or past the
// bound); fds follow the listings that use them. The agent holds only cgroupfs directories open;
// most tests here hold any, to check the fd logic on ordinary temporary trees.

/// A cache that holds directories of any file system open, as the agent's does on cgroupfs.
private func holdingAny(bound: Int = 5_000) -> ListingCache {
    ListingCache(maximumOpenDirectories: bound, holdsOnlyCgroupDirectories: false)
}

/// Sets `path`'s mtime 60 s back, past the racy window, so that its listing is trusted.
private func age(_ path: String) {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    let past = timespec(tv_sec: now.tv_sec - 60, tv_nsec: 0)
    let times = [past, past]
    #expect(utimensat(AT_FDCWD, path, times, 0) == 0, "utimensat \(path): errno \(errno)")
}

/// Makes `name` under `tree` with `children` in it, aged past the racy window; returns its path.
private func agedDirectory(_ tree: TemporaryDirectory, _ name: String, children: [String] = []) -> String {
    tree.makeDirectory(name)
    for child in children { tree.makeDirectory(name + "/" + child) }
    let path = tree.path + "/" + name
    age(path)
    return path
}

private func names(_ listing: FileSystem.Subdirectories) -> [String] {
    listing.names.sorted()
}

@Test func aDirectoryWithSubdirectoriesIsHeldOpenAndReusedUntilItChanges() throws {
    let tree = TemporaryDirectory()
    defer { tree.remove() }
    let pod = agedDirectory(tree, "pod", children: ["c1"])
    let cache = holdingAny()

    #expect(names(try cache.subdirectories(pod)) == ["c1"])
    #expect(cache.openDirectories == 1)
    #expect(names(try cache.subdirectories(pod)) == ["c1"])
    #expect(cache.statistics.hits == 1 && cache.statistics.misses == 1)

    tree.makeDirectory("pod/c2")
    #expect(names(try cache.subdirectories(pod)) == ["c1", "c2"])
    #expect(cache.statistics.misses == 2)
    #expect(cache.openDirectories == 1, "the new listing's fd replaces the old one's")
}

@Test func aDirectoryRemovedAndMadeAnewUnderItsNameIsListedAnew() throws {
    let tree = TemporaryDirectory()
    defer { tree.remove() }
    let pod = agedDirectory(tree, "pod", children: ["c1"])
    let cache = holdingAny()
    #expect(names(try cache.subdirectories(pod)) == ["c1"])
    #expect(cache.openDirectories == 1)

    // Same name, same shape (one subdirectory), same mtime: only the kept fd's link count (0 once
    // its directory is removed) tells the old directory from the new one.
    #expect(rmdir(pod + "/c1") == 0 && rmdir(pod) == 0)
    tree.makeDirectory("pod/c2")
    age(pod)
    #expect(names(try cache.subdirectories(pod)) == ["c2"])
    #expect(cache.openDirectories == 1)
}

@Test func aLeafDirectoryIsCheckedByPath() throws {
    let tree = TemporaryDirectory()
    defer { tree.remove() }
    let pod = agedDirectory(tree, "pod")
    let cache = holdingAny()
    #expect(names(try cache.subdirectories(pod)) == [])
    #expect(cache.openDirectories == 0)
    #expect(names(try cache.subdirectories(pod)) == [])
    #expect(cache.statistics.hits == 1)

    #expect(rmdir(pod) == 0)
    tree.makeDirectory("pod/c1")
    age(pod)
    #expect(names(try cache.subdirectories(pod)) == ["c1"])
    #expect(cache.openDirectories == 1, "listed again with a subdirectory: now held open")
}

@Test func pastTheBoundDirectoriesAreCheckedByPathAndStillSeenToChange() throws {
    let tree = TemporaryDirectory()
    defer { tree.remove() }
    let a = agedDirectory(tree, "a", children: ["x"]), b = agedDirectory(tree, "b", children: ["y"])
    let cache = holdingAny(bound: 1)
    #expect(names(try cache.subdirectories(a)) == ["x"])
    #expect(names(try cache.subdirectories(b)) == ["y"])
    #expect(cache.openDirectories == 1)

    #expect(names(try cache.subdirectories(b)) == ["y"])
    #expect(cache.statistics.hits == 1)
    tree.makeDirectory("b/z")
    #expect(names(try cache.subdirectories(b)) == ["y", "z"])
    #expect(cache.openDirectories == 1)
}

@Test func previousDiscoveryHoldsUntilAHeldDirectoryChanges() throws {
    let tree = TemporaryDirectory()
    defer { tree.remove() }
    let pod = agedDirectory(tree, "kubepods/pod1", children: ["c1"])
    let root = agedDirectory(tree, "kubepods")
    let cache = holdingAny()
    cache.beginDiscovery()
    _ = try cache.subdirectories(root)
    _ = try cache.subdirectories(pod)
    #expect(cache.openDirectories == 2)
    #expect(cache.previousDiscoveryStillHolds())

    // A container goes: the pod's link count moves, seen through its fd.
    #expect(rmdir(pod + "/c1") == 0)
    #expect(!cache.previousDiscoveryStillHolds())
}

@Test func listingsNoLongerUsedCloseTheirDirectories() throws {
    let tree = TemporaryDirectory()
    defer { tree.remove() }
    let a = tree.path + "/a", b = tree.path + "/b"
    tree.makeDirectory("a/x")
    tree.makeDirectory("b/y")
    let cache = holdingAny()
    cache.beginDiscovery()
    _ = try cache.subdirectories(a)
    _ = try cache.subdirectories(b)
    cache.endDiscovery()
    #expect(cache.openDirectories == 2)
    cache.beginDiscovery()
    _ = try cache.subdirectories(a)
    cache.endDiscovery()  // b was not used by this discovery: dropped, its fd closed
    #expect(cache.openDirectories == 1)
    cache.invalidateAll()
    #expect(cache.openDirectories == 0)
}

@Test func outsideCgroupfsTheAgentsCacheHoldsNothingOpenAndStillReuses() throws {
    let tree = TemporaryDirectory()
    defer { tree.remove() }
    let pod = agedDirectory(tree, "pod", children: ["c1"])
    let cache = ListingCache()
    #expect(names(try cache.subdirectories(pod)) == ["c1"])
    #expect(cache.openDirectories == 0)
    #expect(names(try cache.subdirectories(pod)) == ["c1"])
    #expect(cache.statistics.hits == 1)
    tree.makeDirectory("pod/c2")
    #expect(names(try cache.subdirectories(pod)) == ["c1", "c2"])
}

@Test func aDirectoryThatVanishedBeforeListingThrowsAndKeepsNoFd() throws {
    let tree = TemporaryDirectory()
    defer { tree.remove() }
    let cache = holdingAny()
    #expect(throws: HostFileError.vanished(path: tree.path + "/gone")) {
        _ = try cache.subdirectories(tree.path + "/gone")
    }
    #expect(cache.openDirectories == 0)
}

/// On cgroupfs (kernfs) a removed directory's fd still answers `fstat`, with a link count of 2
/// (its subdirectories are gone by then): a cgroup made anew under the same name is seen because
/// the listing saw more than 2, or, for one listed with none, because it is checked by path.
/// Skipped where no writable cgroup v2 hierarchy is mounted.
@Test func onCgroupfsACgroupMadeAnewUnderItsNameIsListedAnew() throws {
    // The cgroup v2 root: /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one.
    let bases = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
    guard let base = bases.first(where: { access($0 + "/cgroup.controllers", F_OK) == 0 && access($0, W_OK) == 0 })
    else { return }
    let top = base + "/kubemeter-listing-\(getpid())"
    let pod = top + "/pod"
    guard mkdir(top, 0o755) == 0 else { return }
    defer {
        for path in [pod + "/c1", pod + "/c2", pod, top] { _ = rmdir(path) }
    }
    #expect(mkdir(pod, 0o755) == 0 && mkdir(pod + "/c1", 0o755) == 0)
    age(pod)
    let cache = ListingCache()
    #expect(names(try cache.subdirectories(pod)) == ["c1"])
    #expect(cache.openDirectories == 1)
    #expect(names(try cache.subdirectories(pod)) == ["c1"])
    #expect(cache.statistics.hits == 1)

    #expect(rmdir(pod + "/c1") == 0 && rmdir(pod) == 0)
    #expect(mkdir(pod, 0o755) == 0 && mkdir(pod + "/c2", 0o755) == 0)
    age(pod)
    #expect(names(try cache.subdirectories(pod)) == ["c2"])

    // Listed with no subdirectory, then made anew with one: the old fd would show the same inode
    // and 2 links, with only its times to tell; checked by path, the new directory is seen.
    #expect(rmdir(pod + "/c2") == 0)
    age(pod)
    #expect(names(try cache.subdirectories(pod)) == [])
    #expect(cache.openDirectories == 0)
    #expect(rmdir(pod) == 0 && mkdir(pod, 0o755) == 0 && mkdir(pod + "/c1", 0o755) == 0)
    age(pod)
    #expect(names(try cache.subdirectories(pod)) == ["c1"])
}

/// A link's target is read once and then served from the cache, for as long as discoveries ask
/// for it; a discovery that did not ask (the container is gone) drops it. A failed read keeps
/// nothing.
@Test func linkTargetsAreReadOnceAndDroppedWhenNoLongerAskedFor() throws {
    let cache = holdingAny()
    var reads = 0
    func target(_ path: String) throws(HostFileError) -> String {
        try cache.linkTarget(path) { () throws(HostFileError) in
            reads += 1
            return "/var/log/pods/ns_pod_uid/c/\(reads).log"
        }
    }
    cache.beginDiscovery()
    #expect(try target("/l/a.log") == "/var/log/pods/ns_pod_uid/c/1.log")
    #expect(try target("/l/b.log") == "/var/log/pods/ns_pod_uid/c/2.log")
    cache.endDiscovery()
    cache.beginDiscovery()
    #expect(try target("/l/a.log") == "/var/log/pods/ns_pod_uid/c/1.log")  // kept, not read again
    cache.endDiscovery()  // b was not asked for: dropped
    #expect(reads == 2)
    cache.invalidateAll()  // listings only
    cache.beginDiscovery()
    #expect(try target("/l/a.log") == "/var/log/pods/ns_pod_uid/c/1.log")
    #expect(try target("/l/b.log") == "/var/log/pods/ns_pod_uid/c/3.log")  // read anew
    cache.endDiscovery()
    #expect(cache.linkTargetStatistics.read == 3 && cache.linkTargetStatistics.reused == 2)

    #expect(throws: HostFileError.self) {
        try cache.linkTarget("/l/gone.log") { () throws(HostFileError) -> String in
            throw HostFileError(errno: ENOENT, path: "/l/gone.log", during: .revisiting)
        }
    }
    #expect(try cache.linkTarget("/l/gone.log") { () throws(HostFileError) in "/x/0.log" } == "/x/0.log")
}
