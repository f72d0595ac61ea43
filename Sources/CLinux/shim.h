#ifndef KUBEMETER_CLINUX_SHIM_H
#define KUBEMETER_CLINUX_SHIM_H
// Linux headers the Swift Glibc module does not bring in.
#include <sys/vfs.h>
#include <linux/magic.h>
#endif
