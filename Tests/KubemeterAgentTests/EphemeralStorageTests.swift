#if canImport(Glibc)
import Glibc
#endif
import KubemeterJSON
import KubemeterTestSupport
import Testing
@testable import KubemeterCollector
@testable import KubemeterHostFiles
@testable import KubemeterParsers
@testable import KubemeterSnapshot

@Suite struct DiskUsageWalkTests {
    /// GNU du's figure for `path`: bytes on disk (`--block-size=1`) or inodes (`--inodes`).
    static func du(_ flag: String, _ path: String, in scratch: TemporaryDirectory) throws -> UInt64 {
        let out = scratch.path + "/du.out"
        try TestShell.run("du \(flag) -s '\(path)' | cut -f1 > '\(out)'")
        return UInt64(try TestShell.readFile(out).split(separator: "\n")[0]) ?? 0
    }

    /// A tree with what makes `du` and a naive sum differ: a sparse file, a hard-linked pair, a
    /// symlink to a big file outside, nested and empty directories, an empty file.
    static func makeTree(_ dir: TemporaryDirectory) throws -> String {
        let top = dir.path + "/tree"
        dir.writeFile("tree/a.txt", String(repeating: "x", count: 10_000))
        dir.writeFile("tree/empty", "")
        dir.writeFile("tree/d1/d2/d3/deep.bin", String(repeating: "y", count: 70_000))
        dir.makeDirectory("tree/emptydir")
        dir.writeFile("outside/big", String(repeating: "z", count: 200_000))
        dir.symlink("tree/link-out", to: dir.path + "/outside/big")
        try TestShell.run("ln '\(top)/a.txt' '\(top)/d1/a-hardlink'")
        try TestShell.run("truncate -s 50M '\(top)/d1/sparse' && printf data | dd of='\(top)/d1/sparse' conv=notrunc status=none")
        for i in 0..<300 { dir.writeFile("tree/many/f\(i)", String(repeating: "m", count: i * 37)) }
        return top
    }

    @Test func bytesAndInodesEqualDu() throws {
        let dir = TemporaryDirectory()
        let top = try Self.makeTree(dir)
        let usage = try DiskUsageWalk.measure(top).get()
        #expect(usage.bytes == (try Self.du("--block-size=1", top, in: dir)))
        #expect(usage.inodes == (try Self.du("--inodes", top, in: dir)))
        // The sparse file's 50 MiB are not on disk, the symlink's target is not followed.
        #expect(usage.bytes < 4 << 20)
        // The sub-tree: the hard link's other name is outside it, so it counts there too.
        let sub = top + "/d1"
        let subUsage = try DiskUsageWalk.measure(sub).get()
        #expect(subUsage.bytes == (try Self.du("--block-size=1", sub, in: dir)))
        #expect(subUsage.inodes == (try Self.du("--inodes", sub, in: dir)))
    }

    @Test func aSingleFileIsItsOwnBlocks() throws {
        let dir = TemporaryDirectory()
        dir.writeFile("one.log", String(repeating: "l", count: 5_000))
        let usage = try DiskUsageWalk.measure(dir.path + "/one.log").get()
        #expect(usage.inodes == 1)
        #expect(usage.bytes == (try Self.du("--block-size=1", dir.path + "/one.log", in: dir)))
        #expect(usage.bytes >= 5_000)
    }

    @Test func paceSeesEveryInodeInSmallSteps() throws {
        let dir = TemporaryDirectory()
        let top = try Self.makeTree(dir)
        var calls: [Int] = []
        let usage = try DiskUsageWalk.measure(top, paceInterval: 64) { calls.append($0) }.get()
        #expect(UInt64(calls.reduce(0, +)) == usage.inodes)
        #expect(calls.allSatisfy { $0 <= 64 })
        #expect(calls.count >= Int(usage.inodes) / 64)
    }

    @Test func missingIsNotFoundAndTooDeepIsAnError() throws {
        #expect(throws: HostFileError.self) { try DiskUsageWalk.measure("/nonexistent/kubemeter").get() }
        let dir = TemporaryDirectory()
        var deep = "deep"
        for _ in 0...DiskUsageWalk.maximumDepth { deep += "/d" }
        dir.makeDirectory(deep)
        guard case .failure(.io(_, let code)) = DiskUsageWalk.measure(dir.path + "/deep") else {
            Issue.record("a tree deeper than the cap must fail, not be counted short")
            return
        }
        #expect(code == ELOOP)
    }

    @Test func deviceNumbersAsMountinfoWritesThem() {
        #expect(DiskUsage.deviceNumber(0x0801) == "8:1")
        #expect(DiskUsage.deviceNumber(0xFE01) == "254:1")
        // Minor numbers past 255 and majors past 4095 use the high bits (glibc's makedev).
        // glibc's makedev(0x1003, 0x12345): minor's low byte, major's low 12 bits, minor's rest,
        // major's rest, in that order from bit 0.
        let major: UInt64 = 0x1003, minor: UInt64 = 0x12345
        let device = (minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & ~0xFF) << 12) | ((major & ~0xFFF) << 32)
        #expect(DiskUsage.deviceNumber(device) == "\(0x1003):\(0x12345)")
        var status = stat()
        lstat("/", &status)
        let mount = DiskUsage.deviceNumber(UInt64(status.st_dev))
        let mountInfo = (try? TestShell.readFile("/proc/self/mountinfo")) ?? ""
        #expect(mountInfo.contains(" \(mount) "))
    }
}

@Suite struct WritableLayerLocatorTests {
    @Test func containerdTaskRootfsOverlaysByID() throws {
        let snapshots = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots"
        let info = try MountInfo.parse("""
            27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
            455 30 0:61 / /run/containerd/io.containerd.runtime.v2.task/k8s.io/abc123/rootfs rw,relatime shared:231 - overlay overlay rw,lowerdir=\(snapshots)/7/fs,upperdir=\(snapshots)/12/fs,workdir=\(snapshots)/12/work
            456 30 0:62 / /run/containerd/io.containerd.runtime.v2.task/moby/def456/rootfs rw - overlay overlay rw,lowerdir=\(snapshots)/7/fs,upperdir=\(snapshots)/13/fs
            457 30 0:63 / /run/containerd/io.containerd.runtime.v2.task/k8s.io/noupper/rootfs rw - overlay overlay rw,lowerdir=\(snapshots)/7/fs
            458 30 0:64 / /srv/other/rootfs rw - overlay overlay rw,upperdir=/x/fs

            """)
        let layers = WritableLayerLocator.containerdLayers(in: info, hostRoot: "/host")
        #expect(layers == ["abc123": "/host\(snapshots)/12/fs", "def456": "/host\(snapshots)/13/fs"])
    }

    @Test func crioContainersJSONByID() throws {
        let layer = String(repeating: "ab", count: 32)
        let document = try JSONParser.parse(Array("""
            [{"id":"c1","names":["k8s_app"],"layer":"\(layer)","image":"i"},
             {"id":"c2","layer":"../../etc"},
             {"id":"c3"}]
            """.utf8))
        let layers = WritableLayerLocator.crioLayers(in: document, storage: "/host/var/lib/containers/storage")
        #expect(layers == ["c1": "/host/var/lib/containers/storage/overlay/\(layer)/diff"])
    }

    @Test func dockerMountIDFile() throws {
        let dir = TemporaryDirectory()
        let mountID = String(repeating: "0f", count: 32)
        dir.writeFile("var/lib/docker/image/overlay2/layerdb/mounts/cid/mount-id", mountID)
        dir.writeFile("var/lib/docker/image/overlay2/layerdb/mounts/bad/mount-id", "../../../etc")
        let locator = WritableLayerLocator(hostRoot: dir.path, procPath: dir.path + "/proc", installedRuntime: "docker")
        locator.beginRound(runtimes: ["docker"])
        #expect(try locator.layer(of: "cid", runtime: "docker").get() == dir.path + "/var/lib/docker/overlay2/\(mountID)/diff")
        #expect(try locator.layer(of: "cid", runtime: "unknown").get() == dir.path + "/var/lib/docker/overlay2/\(mountID)/diff")
        #expect(throws: HostFileError.self) { try locator.layer(of: "bad", runtime: "docker").get() }
        #expect(throws: HostFileError.self) { try locator.layer(of: "gone", runtime: "docker").get() }
    }
}

@Suite struct EphemeralStorageFormulaTests {
    static func part(_ bytes: UInt64, _ inodes: UInt64, at: Double = 100) -> StorageUsage {
        StorageUsage(bytes: bytes, inodes: inodes, measuredAtSeconds: at)
    }

    static func pod(runtime: String = "containerd") -> PodUsage {
        var pod = PodUsage(namespace: "ns", name: "p", uid: "u", qosClass: "BestEffort", cgroupPath: "/c", sample: CgroupSample(), containers: [
            ContainerUsage(name: "a", id: "1", runtime: runtime, cgroupPath: "/c/1", sample: CgroupSample(), startTimeSeconds: nil),
            ContainerUsage(name: "b", id: "2", runtime: runtime, cgroupPath: "/c/2", sample: CgroupSample(), startTimeSeconds: nil),
        ])
        pod.containers[0].rootfs = part(1_000, 10, at: 90)
        pod.containers[0].logs = part(200, 2)
        pod.containers[1].rootfs = part(3_000, 30)
        pod.containers[1].logs = part(400, 4, at: 120)
        pod.storage = PodStorageUsage(
            volumes: [VolumeStorageUsage(name: "cache", usage: part(50_000, 500)),
                      VolumeStorageUsage(name: "kube-api-access", usage: part(9_000, 9), ephemeral: false)],
            podLogs: part(7, 1), etcHosts: part(4_096, 1), complete: true)
        return pod
    }

    @Test func theKubeletsSum() {
        let total = Formulas.ephemeralStorage(of: Self.pod())
        #expect(total == StorageUsage(bytes: 1_000 + 200 + 3_000 + 400 + 50_000 + 7 + 4_096,
                                      inodes: 10 + 2 + 30 + 4 + 500 + 1 + 1, measuredAtSeconds: 120))
    }

    // Optionals are unwrapped before comparing: `#expect` on a `UInt64?` trips AddressSanitizer in
    // swift-testing's AnyHashable conversion (a stack-buffer-overflow report in libswiftCore).
    @Test func crioLeavesLogInodesOut() throws {
        let total = try #require(Formulas.ephemeralStorage(of: Self.pod(runtime: "crio")))
        #expect(total.inodes == 10 + 30 + 500 + 1 + 1)
        #expect(total.bytes == 1_000 + 200 + 3_000 + 400 + 50_000 + 7 + 4_096)
    }

    @Test func aMissingPartLeavesNoTotal() throws {
        var pod = Self.pod()
        pod.containers[1].rootfs = nil
        #expect(Formulas.ephemeralStorage(of: pod) == nil)
        pod = Self.pod()
        pod.storage?.volumes = nil
        #expect(Formulas.ephemeralStorage(of: pod) == nil)
        pod = Self.pod()
        pod.storage?.complete = false
        #expect(Formulas.ephemeralStorage(of: pod) == nil)
        pod = Self.pod()
        pod.storage = nil
        #expect(Formulas.ephemeralStorage(of: pod) == nil)
        // etc-hosts absent (the kubelet goes on without it): still a total.
        pod = Self.pod()
        pod.storage?.etcHosts = nil
        let withoutHosts = try #require(Formulas.ephemeralStorage(of: pod))
        #expect(withoutHosts.bytes == 1_000 + 200 + 3_000 + 400 + 50_000 + 7)
    }
}
