#ifndef WARDEN_C_MEMORY_H
#define WARDEN_C_MEMORY_H

#include <stddef.h>

/// Gives the allocator's free pages back to the kernel (glibc's malloc_trim(0): every arena, and
/// whole free pages inside the heap, not only its top), so resident memory follows what is in
/// use after a large build frees its input. A no-op where the C library has no such call.
void warden_release_free_memory(void);

/// Bytes the allocator has handed out and not had back (glibc's mallinfo2: arena and mmapped
/// chunks in use); 0 where the C library does not say.
size_t warden_heap_in_use(void);

#endif
