/// A cgroup v2 `memory.stat`: the memory footprint by type (bytes) and reclaim event counters.
///
/// The kernel documents that entries move and new ones appear in the middle; only keys matter.
/// Keys absent on a given kernel (e.g. `kernel` before 5.18) are nil.
package struct MemoryStat: KernelFile, Equatable, Sendable {
    package static let fileName = "memory.stat"

    package var anon: UInt64?
    package var file: UInt64?
    package var kernel: UInt64?
    package var kernelStack: UInt64?
    package var pagetables: UInt64?
    package var sock: UInt64?
    package var shmem: UInt64?
    package var fileMapped: UInt64?
    package var fileDirty: UInt64?
    package var fileWriteback: UInt64?
    package var swapcached: UInt64?
    package var anonThp: UInt64?
    package var inactiveAnon: UInt64?
    package var activeAnon: UInt64?
    package var inactiveFile: UInt64?
    package var activeFile: UInt64?
    package var unevictable: UInt64?
    package var slabReclaimable: UInt64?
    package var slabUnreclaimable: UInt64?
    package var slab: UInt64?
    package var pgfault: UInt64?
    package var pgmajfault: UInt64?
    package var workingsetRefaultAnon: UInt64?
    package var workingsetRefaultFile: UInt64?
    /// Lines skipped: unreadable, a known key with a bad value, or a repeated key.
    package var malformedLines: Int

    package init(
        anon: UInt64? = nil, file: UInt64? = nil, kernel: UInt64? = nil,
        kernelStack: UInt64? = nil, pagetables: UInt64? = nil, sock: UInt64? = nil,
        shmem: UInt64? = nil, fileMapped: UInt64? = nil, fileDirty: UInt64? = nil,
        fileWriteback: UInt64? = nil, swapcached: UInt64? = nil, anonThp: UInt64? = nil,
        inactiveAnon: UInt64? = nil, activeAnon: UInt64? = nil, inactiveFile: UInt64? = nil,
        activeFile: UInt64? = nil, unevictable: UInt64? = nil, slabReclaimable: UInt64? = nil,
        slabUnreclaimable: UInt64? = nil, slab: UInt64? = nil, pgfault: UInt64? = nil,
        pgmajfault: UInt64? = nil, workingsetRefaultAnon: UInt64? = nil,
        workingsetRefaultFile: UInt64? = nil, malformedLines: Int = 0
    ) {
        self.anon = anon
        self.file = file
        self.kernel = kernel
        self.kernelStack = kernelStack
        self.pagetables = pagetables
        self.sock = sock
        self.shmem = shmem
        self.fileMapped = fileMapped
        self.fileDirty = fileDirty
        self.fileWriteback = fileWriteback
        self.swapcached = swapcached
        self.anonThp = anonThp
        self.inactiveAnon = inactiveAnon
        self.activeAnon = activeAnon
        self.inactiveFile = inactiveFile
        self.activeFile = activeFile
        self.unevictable = unevictable
        self.slabReclaimable = slabReclaimable
        self.slabUnreclaimable = slabUnreclaimable
        self.slab = slab
        self.pgfault = pgfault
        self.pgmajfault = pgmajfault
        self.workingsetRefaultAnon = workingsetRefaultAnon
        self.workingsetRefaultFile = workingsetRefaultFile
        self.malformedLines = malformedLines
    }

    /// The keys read, named as the struct's fields; `name` is the kernel's spelling.
    enum Key: Int, FileKey {
        case anon, file, kernel, kernelStack, pagetables, sock, shmem, fileMapped, fileDirty
        case fileWriteback, swapcached, anonThp, inactiveAnon, activeAnon, inactiveFile, activeFile
        case unevictable, slabReclaimable, slabUnreclaimable, slab, pgfault, pgmajfault
        case workingsetRefaultAnon, workingsetRefaultFile

        var name: StaticString {
            switch self {
            case .anon: "anon"
            case .file: "file"
            case .kernel: "kernel"
            case .kernelStack: "kernel_stack"
            case .pagetables: "pagetables"
            case .sock: "sock"
            case .shmem: "shmem"
            case .fileMapped: "file_mapped"
            case .fileDirty: "file_dirty"
            case .fileWriteback: "file_writeback"
            case .swapcached: "swapcached"
            case .anonThp: "anon_thp"
            case .inactiveAnon: "inactive_anon"
            case .activeAnon: "active_anon"
            case .inactiveFile: "inactive_file"
            case .activeFile: "active_file"
            case .unevictable: "unevictable"
            case .slabReclaimable: "slab_reclaimable"
            case .slabUnreclaimable: "slab_unreclaimable"
            case .slab: "slab"
            case .pgfault: "pgfault"
            case .pgmajfault: "pgmajfault"
            case .workingsetRefaultAnon: "workingset_refault_anon"
            case .workingsetRefaultFile: "workingset_refault_file"
            }
        }
    }

    private static let keys = KeyTable<Key>()

    private static let workingSetKeys = KeyTable<Key>([.anon, .file, .inactiveFile])

    /// Only what the working set needs (`anon`, `file`, `inactive_file`; every other field nil),
    /// reading no further than the line of the last of them: on 6.x kernels line 23 of about 50.
    /// For /metrics/resource, which reads `memory.stat` of every cgroup for this alone.
    package static func parseWorkingSet(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> MemoryStat {
        let (s, malformed) = try FlatKeyedFile.scan(bytes, file: fileName, keys: workingSetKeys, stoppingWhenAllSeen: true)
        return MemoryStat(anon: s.number(.anon), file: s.number(.file), inactiveFile: s.number(.inactiveFile), malformedLines: malformed)
    }

    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> MemoryStat {
        let (s, malformed) = try FlatKeyedFile.scan(bytes, file: fileName, keys: keys)
        return MemoryStat(
            anon: s.number(.anon), file: s.number(.file), kernel: s.number(.kernel),
            kernelStack: s.number(.kernelStack), pagetables: s.number(.pagetables), sock: s.number(.sock),
            shmem: s.number(.shmem), fileMapped: s.number(.fileMapped), fileDirty: s.number(.fileDirty),
            fileWriteback: s.number(.fileWriteback), swapcached: s.number(.swapcached),
            anonThp: s.number(.anonThp), inactiveAnon: s.number(.inactiveAnon),
            activeAnon: s.number(.activeAnon), inactiveFile: s.number(.inactiveFile),
            activeFile: s.number(.activeFile), unevictable: s.number(.unevictable),
            slabReclaimable: s.number(.slabReclaimable), slabUnreclaimable: s.number(.slabUnreclaimable),
            slab: s.number(.slab), pgfault: s.number(.pgfault), pgmajfault: s.number(.pgmajfault),
            workingsetRefaultAnon: s.number(.workingsetRefaultAnon),
            workingsetRefaultFile: s.number(.workingsetRefaultFile), malformedLines: malformed)
    }
}
