import Testing
@testable import KubemeterParsers

@Suite struct MountInfoTests {
    static let snapshots = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots"

    // The host's mountinfo on a containerd node: a sandbox's and a container's rootfs overlays,
    // a projected volume's tmpfs, and lines with escapes and odd optional fields.
    @Test func containerdNode() throws {
        let info = try MountInfo.parse(try Fixture.bytes("proc_1_mountinfo_containerd.txt"))
        #expect(info.mounts.count == 11)
        #expect(info.malformedLines == 2)
        let rootfs = try #require(info.mounts.first { $0.mountPoint.hasSuffix("/0a1b2c3d4e5f/rootfs") })
        #expect(rootfs == Mount(
            mountID: 455, parentID: 30, device: "0:61", root: "/",
            mountPoint: "/run/containerd/io.containerd.runtime.v2.task/k8s.io/0a1b2c3d4e5f/rootfs",
            fileSystemType: "overlay", source: "overlay",
            superOptions: ["rw", "lowerdir=\(Self.snapshots)/7/fs:\(Self.snapshots)/6/fs:\(Self.snapshots)/5/fs",
                           "upperdir=\(Self.snapshots)/12/fs", "workdir=\(Self.snapshots)/12/work", "index=off"]))
        #expect(rootfs.superOption("upperdir") == "\(Self.snapshots)/12/fs")
        #expect(rootfs.superOption("upper") == nil)
        #expect(info.mounts[0].superOption("upperdir") == nil)
    }

    @Test func escapesAreUndone() throws {
        let info = try MountInfo.parse(try Fixture.bytes("proc_1_mountinfo_containerd.txt"))
        let spaced = try #require(info.mounts.first { $0.mountID == 480 })
        #expect(spaced.root == "/srv/data dir")
        #expect(spaced.mountPoint == "/mnt/with space\\and\ttab")
        let odd = try #require(info.mounts.first { $0.mountID == 491 })
        #expect(odd.source == "overlay src")
        // A comma inside a value is escaped, so it does not split the option.
        #expect(odd.superOption("upperdir") == "/srv/a,b/up")
        #expect(odd.superOptions.count == 3)
    }

    @Test func malformedLinesAreSkippedAndCounted() throws {
        let info = try MountInfo.parse(lines(
            "1 2 0:1 / / rw - ext4 /dev/x rw",
            "x 2 0:1 / / rw - ext4 /dev/x rw",       // id not a number
            "3 2 01 / /a rw - ext4 /dev/x rw",       // device without a colon
            "4 2 0:1 / /b rw shared:1 - ext4",       // no source
            "5 2 0:1 / /c rw -",                     // nothing after the separator
            "6 2 0:1 / /d rw - tmpfs tmpfs"))        // no super options: still a mount
        #expect(info.mounts.map(\.mountID) == [1, 6])
        #expect(info.mounts[1].superOptions == [])
        #expect(info.malformedLines == 4)
    }

    @Test func escapeEdgeCases() {
        #expect(MountInfo.unescape("a\\040b") == "a b")
        #expect(MountInfo.unescape("end\\04") == "end\\04")      // too short: kept
        #expect(MountInfo.unescape("\\08x1") == "\\08x1")        // not octal: kept
        #expect(MountInfo.unescape("\\134\\134") == "\\\\")
        #expect(MountInfo.unescape("plain") == "plain")
    }

    @Test func emptyFileIsAnError() {
        #expect(parseError(MountInfo.self, "") == ParseError(file: "mountinfo", reason: .empty))
    }
}
