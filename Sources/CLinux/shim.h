#ifndef KUBEMETER_CLINUX_SHIM_H
#define KUBEMETER_CLINUX_SHIM_H
// Linux headers the Swift Glibc module does not bring in.
#include <sys/vfs.h>
#include <linux/magic.h>
#include <malloc.h>

// O_PATH (Linux 2.6.39): an fd that names a file without opening it for I/O, usable with fstat
// and as the directory of openat. Glibc hides it behind _GNU_SOURCE.
static const int CLINUX_O_PATH = 010000000;

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

// Drops the program's own code pages from its page tables: MADV_DONTNEED on the executable
// mapping that holds this very function (clean file pages, so nothing is lost). Code that runs
// again faults back in from the page cache; code that ran only at startup does not. Found in
// /proc/self/maps rather than with dl_iterate_phdr, whose struct needs _GNU_SOURCE, which this
// module cannot define without clashing with the Glibc module's own view of the headers.
// Returns the bytes released, 0 when /proc is not there.
static inline long clinux_release_program_text(void) {
    FILE *maps = fopen("/proc/self/maps", "re");
    if (!maps) return 0;
    uintptr_t self = (uintptr_t)&clinux_release_program_text;
    long released = 0;
    char line[512];
    while (fgets(line, sizeof line, maps)) {
        unsigned long low, high;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &low, &high, perms) != 3) continue;
        if (perms[2] != 'x' || self < low || self >= high) continue;
        if (madvise((void *)low, high - low, MADV_DONTNEED) == 0) released = (long)(high - low);
        break;
    }
    fclose(maps);
    return released;
}

#include <sys/prctl.h>

// prctl(2) is variadic, which Swift cannot call. Asks for `signal` when the thread that forked
// this process ends (the kubectl proxy child of `kubectl kubemeter` must not outlive it).
static inline int clinux_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}
#include <sys/syscall.h>
#include <unistd.h>

// ioprio_set(2) has no glibc wrapper, and syscall(2) is variadic. Puts the calling thread in the
// idle I/O class (IOPRIO_CLASS_IDLE = 3, shifted by IOPRIO_CLASS_SHIFT = 13): its reads wait
// while any other process wants the disk. The ephemeral-storage walker's thread calls it.
static inline int clinux_set_thread_idle_io_priority(void) {
    return (int)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, (int)syscall(SYS_gettid), 3 << 13);
}
#endif
