#ifndef KUBEMETER_CLINUX_SHIM_H
#define KUBEMETER_CLINUX_SHIM_H
// Linux headers the Swift Glibc module does not bring in.
#include <sys/vfs.h>
#include <linux/magic.h>
#include <malloc.h>

// O_PATH (Linux 2.6.39): an fd that names a file without opening it for I/O, usable with fstat
// and as the directory of openat. Glibc hides it behind _GNU_SOURCE.
static const int CLINUX_O_PATH = 010000000;
#endif
