#define _GNU_SOURCE
#include <sys/socket.h>
#include "CPeerCredentials.h"

int warden_so_peercred(void) {
#ifdef SO_PEERCRED
    _Static_assert(sizeof(struct ucred) == sizeof(warden_peer_credentials), "ucred layout");
    return SO_PEERCRED;
#else
    return 0;
#endif
}
