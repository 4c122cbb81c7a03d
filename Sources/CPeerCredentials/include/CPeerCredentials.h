#ifndef WARDEN_C_PEER_CREDENTIALS_H
#define WARDEN_C_PEER_CREDENTIALS_H

#include <stdint.h>

/// The layout of Linux's `struct ucred`, which Swift's Glibc module does not export
/// (it needs _GNU_SOURCE): what SO_PEERCRED reports about the process at the other end.
typedef struct {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
} warden_peer_credentials;

/// The SO_PEERCRED option name (Linux: 17), 0 where the platform has none.
int warden_so_peercred(void);

#endif
