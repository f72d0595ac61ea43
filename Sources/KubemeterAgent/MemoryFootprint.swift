#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// What the agent does so that between scrapes its RSS is what it keeps, not the peak of the last
/// scrape nor the code that ran once at startup.
///
/// - A scrape's snapshot, rows and rendering are transient (at 1,000 pods about 5 MB), freed once
///   the response is made. glibc keeps freed heap pages mapped for reuse, and raises its mmap
///   threshold the first time a large block is freed, so the next scrape's large buffers come
///   from the heap too: the process would sit at its peak for good (measured at 1,000 pods:
///   steady RSS 21.6 MiB; with this, 16.5 MiB, for about 6 % more CPU a scrape: the pages given
///   back are faulted in again by the next scrape).
/// - The kernel maps a program's code in 64 KiB runs around each page that runs (fault-around),
///   and keeps it mapped: argument parsing, configuration and the first collection's logging stay
///   in RSS forever though they never run again (about 1 MiB). After startup the agent drops its
///   code pages once; those its scrapes use come back from the page cache on the first scrape.
enum MemoryFootprint {
    /// Freed heap above this after a scrape is handed back to the kernel. At 110 pods a scrape
    /// frees about 0.8 MB, and giving it back would cost more page faults than it saves.
    static let returnThresholdBytes = 1 << 20
    /// Blocks at least this large are mmapped and unmapped on free (a fixed threshold: glibc's
    /// dynamic one would grow to the size of the first rendering freed).
    static let mmapThresholdBytes: Int32 = 256 * 1024

    /// Sets the allocator up; call before the first collection.
    static func configureAllocator() {
        // One arena: the handler threads take turns (single flight), and an arena per thread
        // only holds freed pages (measured: 19.5 MiB RSS with the default, 14.6 with one).
        _ = mallopt(M_ARENA_MAX, 1)
        _ = mallopt(M_MMAP_THRESHOLD, mmapThresholdBytes)
    }

    /// After a scrape: gives freed heap pages back to the kernel when there are many of them
    /// (`malloc_trim` walks the free lists and madvises whole free pages).
    static func afterScrape() {
        if mallinfo2().fordblks > returnThresholdBytes {
            _ = malloc_trim(0)
        }
    }

    /// Once startup is over (the first collection made, the socket bound): unmaps the program's
    /// code pages so that only those used from then on are mapped again. Returns the bytes released.
    @discardableResult
    static func releaseStartupCode() -> Int {
        clinux_release_program_text()
    }
}
