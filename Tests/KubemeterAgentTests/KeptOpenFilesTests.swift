import KubemeterTestSupport
import KubemeterCollector
import KubemeterParsers
import Testing

#if canImport(Glibc)
import Glibc
import KubemeterHostFiles
#endif

private func value(_ files: KeptOpenFiles, _ directory: KeptOpenFiles.Directory, _ index: Int = 0) -> Result<UInt64, HostFileError> {
    files.read(index, of: directory) { (bytes) throws(ParseError) in try CgroupValue.parse(bytes, file: "f").value }
}

@Test func rereadsAKeptFileAndSeesItsNewContent() throws {
    let tree = TemporaryDirectory()
    tree.writeFile("cg/memory.current", "100\n")
    let files = KeptOpenFiles(maximumOpenFiles: 10)
    files.beginCollection()
    let directory = try #require(files.directory(tree.path + "/cg", files: ["memory.current"], checksIdentity: true))
    #expect(try value(files, directory).get() == 100)
    files.endCollection()
    #expect(files.openFiles == 2, "the file, and its directory held for the identity check")

    // Rewritten in place (same inode), as the kernel regenerates a cgroup file: same fd, new value.
    let fd = open(tree.path + "/cg/memory.current", O_WRONLY | O_TRUNC)
    _ = "250\n".withCString { Glibc.write(fd, $0, 4) }
    close(fd)
    files.beginCollection()
    let again = try #require(files.directory(tree.path + "/cg", files: ["memory.current"], checksIdentity: true))
    #expect(try value(files, again).get() == 250)
    files.endCollection()
    #expect(files.openFiles == 2, "still the same fds")
}

@Test func aReplacedFileIsReopenedWhereIdentityIsChecked() throws {
    let tree = TemporaryDirectory()
    tree.writeFile("cg/memory.current", "100\n")
    let files = KeptOpenFiles(maximumOpenFiles: 10)
    files.beginCollection()
    let first = try #require(files.directory(tree.path + "/cg", files: ["memory.current"], checksIdentity: true))
    #expect(try value(files, first).get() == 100)
    files.endCollection()

    // Replaced by a new inode (what fake-node does): the directory's mtime moves, so its fds are
    // reopened; a kept fd would read the deleted file's 100 forever.
    usleep(20_000)
    tree.writeFile("cg/memory.current.new", "7\n")
    _ = rename(tree.path + "/cg/memory.current.new", tree.path + "/cg/memory.current")
    files.beginCollection()
    let second = try #require(files.directory(tree.path + "/cg", files: ["memory.current"], checksIdentity: true))
    #expect(try value(files, second).get() == 7)
    files.endCollection()
}

@Test func directoriesNotUsedByACollectionAreClosed() throws {
    let tree = TemporaryDirectory()
    tree.writeFile("a/f", "1\n")
    tree.writeFile("b/f", "2\n")
    let files = KeptOpenFiles(maximumOpenFiles: 10)
    files.beginCollection()
    for name in ["a", "b"] {
        let d = try #require(files.directory(tree.path + "/" + name, files: ["f"], checksIdentity: false))
        _ = value(files, d)
    }
    files.endCollection()
    #expect(files.openFiles == 2)
    files.beginCollection()
    let a = try #require(files.directory(tree.path + "/a", files: ["f"], checksIdentity: false))
    #expect(try value(files, a).get() == 1)
    files.endCollection()
    #expect(files.openFiles == 1, "b was not used: its fd is closed")
}

@Test func pastTheBoundFilesAreReadAndClosed() throws {
    let tree = TemporaryDirectory()
    for i in 0..<5 { tree.writeFile("c\(i)/f", "\(i)\n") }
    let files = KeptOpenFiles(maximumOpenFiles: 3)
    for _ in 0..<2 {
        files.beginCollection()
        for i in 0..<5 {
            let d = try #require(files.directory(tree.path + "/c\(i)", files: ["f"], checksIdentity: false))
            #expect(try value(files, d).get() == UInt64(i), "every value is right, kept or not")
        }
        files.endCollection()
        #expect(files.openFiles == 3)
    }
    #expect(files.uncachedReads == 4, "two files over the bound, twice")
}

@Test func missingFilesAndVanishedDirectories() throws {
    let tree = TemporaryDirectory()
    tree.writeFile("cg/cpu.stat", "usage_usec 5\n")
    let files = KeptOpenFiles(maximumOpenFiles: 10)
    files.beginCollection()
    let d = try #require(files.directory(tree.path + "/cg", files: ["cpu.stat", "memory.current"], checksIdentity: true))
    #expect(value(files, d, 1) == .failure(.notFound(path: tree.path + "/cg/memory.current")))
    files.endCollection()
    _ = system("rm -rf '\(tree.path)/cg'")
    files.beginCollection()
    #expect(files.directory(tree.path + "/cg", files: ["cpu.stat", "memory.current"], checksIdentity: true) == nil)
    files.endCollection()
    #expect(files.openFiles == 0)
}

@Test func garbageIsAParseErrorNotAValue() throws {
    let tree = TemporaryDirectory()
    tree.writeFile("cg/memory.current", "12abc\n")
    let files = KeptOpenFiles(maximumOpenFiles: 10)
    files.beginCollection()
    let d = try #require(files.directory(tree.path + "/cg", files: ["memory.current"], checksIdentity: true))
    guard case .failure(.parse) = value(files, d) else {
        Issue.record("expected a parse error")
        return
    }
}

/// Where directories are held open for their identity check, those fds count against the bound
/// too: past it the directory's files are read uncached, and the process never runs out of fds
/// (a 1000-pod tree once took every fd the process had, and the HTTP server could accept nothing).
@Test func theBoundCoversTheDirectoriesHeldForIdentity() throws {
    let tree = TemporaryDirectory()
    for i in 0..<6 { tree.writeFile("c\(i)/f", "\(i)\n") }
    let files = KeptOpenFiles(maximumOpenFiles: 5)
    for round in 0..<3 {
        files.beginCollection()
        for i in 0..<6 {
            let d = try #require(files.directory(tree.path + "/c\(i)", files: ["f"], checksIdentity: true))
            #expect(try value(files, d).get() == UInt64(i), "round \(round): every value is right")
            #expect(files.openFiles <= 5)
        }
        files.endCollection()
    }
    #expect(files.uncachedReads > 0)
}

/// A FIFO where a file should be (possible on a copied or hostile tree, never on cgroupfs) is an
/// error at once, never a read that waits for a writer and stalls the scrape.
@Test func aFIFOInPlaceOfAFileDoesNotBlock() throws {
    let tree = TemporaryDirectory()
    tree.writeFile("cg/pids.current", "5\n")
    try #require(mkfifo(tree.path + "/cg/memory.current", 0o644) == 0)
    let files = KeptOpenFiles(maximumOpenFiles: 10)
    files.beginCollection()
    let d = try #require(files.directory(tree.path + "/cg", files: ["memory.current", "pids.current"], checksIdentity: true))
    // pread on a FIFO is ESPIPE: an unreadable file, counted as such; not absent, not vanished.
    let result = value(files, d, 0)
    #expect(result == .failure(.io(path: tree.path + "/cg/memory.current", errno: ESPIPE)))
    #expect(try value(files, d, 1).get() == 5, "the directory's other files are still read")
    files.endCollection()
}

/// Past three quarters of the bound, directories are checked by path instead of a held fd, and
/// their files are still kept: a replaced file is reopened, a removed directory is gone, and one
/// made anew under the same name is read anew.
@Test func directoriesCheckedByPathStillFollowReplacedFiles() throws {
    let tree = TemporaryDirectory()
    for i in 0..<6 { tree.writeFile("c\(i)/f", "\(i)\n") }
    let files = KeptOpenFiles(maximumOpenFiles: 8)
    func collect(_ check: ([KeptOpenFiles.Directory?]) throws -> Void) throws {
        files.beginCollection()
        try check((0..<6).map { files.directory(tree.path + "/c\($0)", files: ["f"], checksIdentity: true) })
        files.endCollection()
    }
    // As `CgroupSampler` does: each directory, then its files.
    files.beginCollection()
    for i in 0..<6 {
        let d = try #require(files.directory(tree.path + "/c\(i)", files: ["f"], checksIdentity: true))
        #expect(try value(files, d).get() == UInt64(i))
    }
    files.endCollection()
    // 3 directory fds + 3 files (threshold 6), then 2 directories by path with their files kept,
    // and one whose file no fd is left for.
    #expect(files.openFiles == 8)
    #expect(files.uncachedReads == 1)

    // c3 is checked by path: its file replaced by a new inode is seen.
    tree.writeFile("c3/f.new", "33\n")
    _ = rename(tree.path + "/c3/f.new", tree.path + "/c3/f")
    _ = system("rm -rf '\(tree.path)/c4'")
    try collect { (dirs) throws in
        #expect(try value(files, try #require(dirs[3])).get() == 33)
        #expect(dirs[4] == nil)
    }
    tree.writeFile("c4/f", "44\n")
    try collect { (dirs) throws in
        #expect(try value(files, try #require(dirs[4])).get() == 44)
        #expect(try value(files, try #require(dirs[0])).get() == 0)
    }
    #expect(files.openFiles <= 8)
}
