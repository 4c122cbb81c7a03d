#ifndef WARDEN_HEAP_STATS_H
#define WARDEN_HEAP_STATS_H
#include <stddef.h>

/// Bytes the C allocator has handed out and not taken back (glibc's mallinfo2): what live
/// objects hold, unlike RSS, which keeps pages the allocator has not returned.
size_t warden_heap_in_use(void);

#endif
