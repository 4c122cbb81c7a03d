/*
 * conn.c: connecting and closing, failing a connection, and the table of open requests.
 * The frames themselves are in frames.c.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { DEFAULT_TIMEOUT_MS = 5000, FIRST_TABLE = 64 };
#define DEFAULT_MAX_REPLY (64u << 20)
#define DEFAULT_MAX_REQUEST (4u << 20)

int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t conn_deadline(const warden_conn *c) {
    return c->timeout_ms < 0 ? -1 : now_ns() + (int64_t)c->timeout_ms * 1000000;
}

int remaining_ms(int64_t deadline) {
    if (deadline < 0) return -1;
    int64_t left = deadline - now_ns();
    if (left <= 0) return 0;
    int64_t ms = (left + 999999) / 1000000;
    return ms > 1000000000 ? 1000000000 : (int)ms;
}

/* ------------------------------------------------------------------------------------------ */
/* Connecting and closing                                                                       */

static void apply_timeout(warden_conn *c, int timeout_ms) {
    c->timeout_ms = timeout_ms == 0 ? DEFAULT_TIMEOUT_MS : timeout_ms < 0 ? -1 : timeout_ms;
}

void warden_set_timeout(warden_conn *conn, int timeout_ms) {
    if (conn) apply_timeout(conn, timeout_ms);
}

bool warden_is_open(const warden_conn *conn) { return conn && !conn->failed; }

size_t warden_in_flight(const warden_conn *conn) { return conn ? conn->in_flight : 0; }

/* Connects the non-blocking socket `fd`, waiting until `deadline` while the listener's backlog
 * is full (EAGAIN on Unix sockets) or the connect is in progress. */
static int connect_until(int fd, const struct sockaddr_un *address, int64_t deadline) {
    for (;;) {
        if (connect(fd, (const struct sockaddr *)address, sizeof *address) == 0) return 0;
        if (errno == EINTR) continue;
        if (errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int r = poll(&p, 1, remaining_ms(deadline));
            if (r < 0 && errno == EINTR) continue;
            if (r == 0) return errno = ETIMEDOUT, -1;
            int error = 0;
            socklen_t length = sizeof error;
            if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) return -1;
            return error ? (errno = error, -1) : 0;
        }
        if (errno != EAGAIN) return -1;
        if (remaining_ms(deadline) == 0) return errno = ETIMEDOUT, -1;
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
}

warden_conn *warden_connect(const char *socket_path, const warden_options *options, warden_status *st) {
    warden_options o = options ? *options : (warden_options){0};
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (!socket_path || !*socket_path || strlen(socket_path) >= sizeof address.sun_path) {
        status_set(st, WARDEN_INVALID_ARGUMENT, true, "socket path: must be 1..%zu bytes",
                   sizeof address.sun_path - 1);
        return NULL;
    }
    memcpy(address.sun_path, socket_path, strlen(socket_path) + 1);

    warden_conn *c = calloc(1, sizeof *c);
    if (!c) {
        status_set(st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
        return NULL;
    }
    apply_timeout(c, o.timeout_ms);
    c->max_reply_frame = o.max_reply_frame ? o.max_reply_frame : DEFAULT_MAX_REPLY;
    c->max_request_frame = o.max_request_frame ? o.max_request_frame : DEFAULT_MAX_REQUEST;
    if (c->max_reply_frame < 64) c->max_reply_frame = 64;
    if (c->max_request_frame < 64) c->max_request_frame = 64;
    c->next_id = 1;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    c->slots = calloc(FIRST_TABLE, sizeof *c->slots);
    c->mask = FIRST_TABLE - 1;
    if (c->fd < 0 || !c->slots) {
        status_set(st, WARDEN_UNAVAILABLE, true, "socket: %s", strerror(errno));
        warden_close(c);
        return NULL;
    }
    int connect_ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : DEFAULT_TIMEOUT_MS;
    if (connect_until(c->fd, &address, now_ns() + (int64_t)connect_ms * 1000000) < 0) {
        if (errno == ETIMEDOUT)
            status_set(st, WARDEN_DEADLINE_EXCEEDED, true, "connect to %s: no connection within %d ms",
                       socket_path, connect_ms);
        else
            status_set(st, WARDEN_UNAVAILABLE, true, "connect to %s: %s", socket_path, strerror(errno));
        warden_close(c);
        return NULL;
    }
    /* From here on the socket blocks, and every call says whether it may: sends and reads that
     * must not wait pass MSG_DONTWAIT, and a wait for answers with nothing left to send blocks in
     * recv() under SO_RCVTIMEO. On this kind of VM a recv() woken by the answer returns about
     * 10 µs sooner than a poll() followed by a recv(). */
    int flags = fcntl(c->fd, F_GETFL);
    if (flags < 0 || fcntl(c->fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        status_set(st, WARDEN_UNAVAILABLE, true, "fcntl: %s", strerror(errno));
        warden_close(c);
        return NULL;
    }
    status_ok(st);
    return c;
}

void slot_clear(slot *s) {
    if (s->reply) protobuf_c_message_free_unpacked(s->reply, NULL);
    free(s->check.decision.group);
    *s = (slot){0};
}

static void drop_requests(warden_conn *c) {
    for (uint32_t i = 0; i <= c->mask; i++) slot_clear(&c->slots[i]);
    c->used = 0;
    c->in_flight = 0;
    c->done_head = c->done_count = 0;
}

void warden_close(warden_conn *c) {
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    if (c->slots) drop_requests(c);
    free(c->slots);
    free(c->done);
    free(c->rbuf);
    free(c->wbuf);
    free(c);
}

warden_code conn_fail(warden_conn *c, warden_status *st, warden_code code, bool local, const char *fmt, ...) {
    if (!c->failed) {
        c->failed = true;
        c->failure.code = code;
        c->failure.local = local;
        c->failure.oldest_retained_revision = 0;
        va_list args;
        va_start(args, fmt);
        vsnprintf(c->failure.message, sizeof c->failure.message, fmt, args);
        va_end(args);
        close(c->fd);
        c->fd = -1;
        drop_requests(c);
        c->rstart = c->rend = c->wstart = c->wend = 0;
    }
    return status_copy(st, &c->failure);
}

warden_code conn_usable(warden_conn *c, warden_status *st) {
    if (!c) return status_set(st, WARDEN_INVALID_ARGUMENT, true, "connection: NULL");
    if (!c->failed) return WARDEN_OK;
    return status_set(st, WARDEN_UNAVAILABLE, true, "the connection is closed: %s (%s)",
                      c->failure.message, warden_code_name(c->failure.code));
}

/* ------------------------------------------------------------------------------------------ */
/* The request table                                                                            */

static bool grow_table(warden_conn *c) {
    uint32_t size = (c->mask + 1) * 2;
    slot *table = calloc(size, sizeof *table);
    if (!table) return false;
    /* Distinct ids modulo n stay distinct modulo 2n: every slot finds an empty place. */
    for (uint32_t i = 0; i <= c->mask; i++)
        if (c->slots[i].state != SLOT_FREE) table[c->slots[i].id & (size - 1)] = c->slots[i];
    free(c->slots);
    c->slots = table;
    c->mask = size - 1;
    return true;
}

warden_code conn_open_request(warden_conn *c, uint16_t method, bool pipelined, uint32_t *id, warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (code) return code;
    if ((c->used + 1) * 2 > c->mask + 1 && !grow_table(c))
        return status_set(st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
    /* The next id whose slot is free: never 0, never an id still open (or abandoned). */
    while (c->next_id == 0 || c->slots[c->next_id & c->mask].state != SLOT_FREE) c->next_id++;
    slot *s = &c->slots[c->next_id & c->mask];
    *s = (slot){.id = c->next_id, .state = SLOT_WAITING, .pipelined = pipelined, .method = method};
    c->used++;
    *id = c->next_id++;
    return WARDEN_OK;
}

slot *conn_find(warden_conn *c, uint32_t id) {
    slot *s = &c->slots[id & c->mask];
    return s->state != SLOT_FREE && s->id == id ? s : NULL;
}

bool conn_answered(warden_conn *c, uint32_t id) {
    slot *s = conn_find(c, id);
    return s && s->state == SLOT_DONE;
}

void conn_abandon(warden_conn *c, uint32_t id) {
    slot *s = conn_find(c, id);
    if (!s) return;
    if (s->state == SLOT_DONE) conn_release(c, id);
    else s->state = SLOT_ABANDONED;
}

void conn_release(warden_conn *c, uint32_t id) {
    slot *s = conn_find(c, id);
    if (!s) return;
    slot_clear(s);
    c->used--;
}

bool conn_push_done(warden_conn *c, uint32_t id) {
    if (c->done_count == c->done_cap) {
        size_t cap = c->done_cap ? c->done_cap * 2 : 64;
        uint32_t *ring = malloc(cap * sizeof *ring);
        if (!ring) return false;
        for (size_t i = 0; i < c->done_count; i++) ring[i] = c->done[(c->done_head + i) % c->done_cap];
        free(c->done);
        c->done = ring;
        c->done_cap = cap;
        c->done_head = 0;
    }
    c->done[(c->done_head + c->done_count++) % c->done_cap] = id;
    return true;
}

bool conn_pop_done(warden_conn *c, uint32_t *id) {
    if (c->done_count == 0) return false;
    *id = c->done[c->done_head];
    c->done_head = (c->done_head + 1) % c->done_cap;
    c->done_count--;
    return true;
}
