#ifndef KUBEMETER_CCRYPT_SHIM_H
#define KUBEMETER_CCRYPT_SHIM_H
// libxcrypt's crypt_r: bcrypt ($2a$, $2b$, $2y$) among others, reentrant (its state is the caller's).
#include <crypt.h>
#endif
