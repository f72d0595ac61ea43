#ifndef KUBEMETER_CLINUX_SHIM_H
#define KUBEMETER_CLINUX_SHIM_H
// Linux headers the Swift Glibc module does not bring in.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 // struct dl_phdr_info
#endif
#include <sys/vfs.h>
#include <linux/magic.h>
#include <malloc.h>

// O_PATH (Linux 2.6.39): an fd that names a file without opening it for I/O, usable with fstat
// and as the directory of openat. Glibc hides it behind _GNU_SOURCE.
static const int CLINUX_O_PATH = 010000000;

#include <link.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static int clinux_release_text_of_first_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    long *released = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X)) continue;
        uintptr_t start = (info->dlpi_addr + segment->p_vaddr) & ~(page - 1);
        uintptr_t end = (info->dlpi_addr + segment->p_vaddr + segment->p_memsz + page - 1) & ~(page - 1);
        if (madvise((void *)start, end - start, MADV_DONTNEED) == 0) *released += (long)(end - start);
    }
    return 1; // the first object dl_iterate_phdr reports is the program itself: stop there
}

// Drops the program's own code pages from its page tables (MADV_DONTNEED on its executable
// segment: clean file pages, so nothing is lost). Code that runs again faults back in from the
// page cache; code that ran only at startup does not. Returns the bytes of the range released.
static inline long clinux_release_program_text(void) {
    long released = 0;
    dl_iterate_phdr(clinux_release_text_of_first_object, &released);
    return released;
}
#endif
