#ifndef WARDEN_C_PING_PONG_H
#define WARDEN_C_PING_PONG_H

#include <stdint.h>

/// The floor of docs/benchmarks.md: a minimal C echo of `size`-byte messages over a Unix socket
/// at `path`, the server in a forked child process. Round trip `rounds` messages one at a time
/// and store each round trip's nanoseconds in `samples` (`rounds` entries). Returns 0, or -1
/// with errno set.
int warden_pingpong(const char *path, int rounds, int size, uint64_t *samples);

/// The same echo with `depth` messages in flight: sends `messages` messages and returns the
/// seconds it took for every echo to come back, or a negative value on error.
double warden_pingpong_pipelined(const char *path, int messages, int size, int depth);

#endif
