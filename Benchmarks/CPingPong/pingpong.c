#define _GNU_SOURCE
#include "CPingPong.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int full_io(int fd, char *buffer, size_t length, int writing) {
    size_t done = 0;
    while (done < length) {
        ssize_t n = writing ? write(fd, buffer + done, length - done) : read(fd, buffer + done, length - done);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

/// Forks an echo server on `path`; returns a connected client socket and the child's pid.
static int start_echo(const char *path, pid_t *child) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    unlink(path);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listener < 0) return -1;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 1) < 0) {
        close(listener);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int connection = accept(listener, NULL, NULL);
        char buffer[65536];
        for (;;) {
            ssize_t n = read(connection, buffer, sizeof buffer);
            if (n <= 0) _exit(0);
            if (full_io(connection, buffer, (size_t)n, 1) < 0) _exit(0);
        }
    }
    close(listener);
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    if (client < 0 || connect(client, (struct sockaddr *)&address, sizeof address) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    *child = pid;
    return client;
}

static void stop_echo(int client, pid_t child, const char *path) {
    close(client);
    waitpid(child, NULL, 0);
    unlink(path);
}

int warden_pingpong(const char *path, int rounds, int size, uint64_t *samples) {
    pid_t child;
    int client = start_echo(path, &child);
    if (client < 0) return -1;
    char *message = calloc(1, (size_t)size);
    int status = 0;
    for (int i = 0; i < rounds; i++) {
        uint64_t start = now_ns();
        if (full_io(client, message, (size_t)size, 1) < 0 || full_io(client, message, (size_t)size, 0) < 0) {
            status = -1;
            break;
        }
        samples[i] = now_ns() - start;
    }
    free(message);
    stop_echo(client, child, path);
    return status;
}

double warden_pingpong_pipelined(const char *path, int messages, int size, int depth) {
    pid_t child;
    int client = start_echo(path, &child);
    if (client < 0) return -1;
    char *batch = calloc((size_t)depth, (size_t)size);
    uint64_t start = now_ns();
    long sent = 0, received = 0;
    // Keep `depth` messages in flight: top up after each read.
    int first = depth < messages ? depth : messages;
    if (full_io(client, batch, (size_t)first * (size_t)size, 1) < 0) goto fail;
    sent = first;
    long pending_bytes = 0;
    while (received < messages) {
        ssize_t n = read(client, batch, (size_t)depth * (size_t)size);
        if (n <= 0) goto fail;
        pending_bytes += n;
        long whole = pending_bytes / size;
        pending_bytes -= whole * size;
        received += whole;
        long more = whole;
        if (sent + more > messages) more = messages - sent;
        if (more > 0) {
            if (full_io(client, batch, (size_t)more * (size_t)size, 1) < 0) goto fail;
            sent += more;
        }
    }
    double seconds = (double)(now_ns() - start) / 1e9;
    free(batch);
    stop_echo(client, child, path);
    return seconds;
fail:
    free(batch);
    stop_echo(client, child, path);
    return -1;
}
