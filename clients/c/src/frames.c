/*
 * frames.c: frames on the socket (docs/protocol.md §2, §10): queueing and sending requests,
 * reading and cutting answers, matching them to their requests, and the blocking call.
 */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

enum { FIRST_BUFFER = 64 * 1024 };
/* Queued bytes past which warden_submit_check() starts sending without being asked. */
#define SUBMIT_FLUSH_BYTES (64u * 1024)

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------------------------------------------ */
/* Writing                                                                                      */

static bool reserve(uint8_t **buffer, size_t *cap, size_t needed) {
    if (needed <= *cap) return true;
    size_t size = *cap ? *cap : FIRST_BUFFER;
    while (size < needed) size *= 2;
    uint8_t *bigger = realloc(*buffer, size);
    if (!bigger) return false;
    *buffer = bigger;
    *cap = size;
    return true;
}

uint8_t *conn_queue_header(warden_conn *c, uint32_t id, uint16_t method, uint8_t flags, size_t body,
                           warden_status *st) {
    if (body > c->max_request_frame - FRAME_MIN_LENGTH) {
        status_set(st, WARDEN_INVALID_ARGUMENT, true, "request: %zu bytes encoded, over the frame limit of %u bytes",
                   body + FRAME_MIN_LENGTH, c->max_request_frame);
        return NULL;
    }
    if (c->wstart == c->wend) c->wstart = c->wend = 0;
    if (!reserve(&c->wbuf, &c->wcap, c->wend + FRAME_HEADER + body)) {
        status_set(st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
        return NULL;
    }
    uint8_t *h = c->wbuf + c->wend;
    put32(h, (uint32_t)(FRAME_MIN_LENGTH + body));
    put32(h + 4, id);
    h[8] = (uint8_t)(method >> 8), h[9] = (uint8_t)method;
    h[10] = flags;
    h[11] = 0;
    put32(h + 12, c->timeout_ms > 0 ? (uint32_t)c->timeout_ms : 0);
    c->wend += FRAME_HEADER + body;
    return h + FRAME_HEADER;
}

warden_code conn_queue_frame(warden_conn *c, uint32_t id, uint16_t method, uint8_t flags,
                             const ProtobufCMessage *message, warden_status *st) {
    size_t size = message ? protobuf_c_message_get_packed_size(message) : 0;
    uint8_t *body = conn_queue_header(c, id, method, flags, size, st);
    if (!body) return st ? st->code : WARDEN_INVALID_ARGUMENT;
    if (message) protobuf_c_message_pack(message, body);
    return WARDEN_OK;
}

static warden_code read_some(warden_conn *c, warden_status *st);

/* Writes what the socket takes without blocking. Returns OK (some, all or nothing written) or the
 * connection's failure. */
static warden_code write_some(warden_conn *c, warden_status *st) {
    while (c->wstart < c->wend) {
        ssize_t n = send(c->fd, c->wbuf + c->wstart, c->wend - c->wstart, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->wstart += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return WARDEN_OK;
        int error = n < 0 ? errno : EPIPE;
        /* The server may have said why before it closed (a status on request id 0): read it first. */
        for (int i = 0; i < 64 && !c->failed; i++) read_some(c, NULL);
        return conn_fail(c, st, WARDEN_UNAVAILABLE, true, "the server closed the connection (send: %s)", strerror(error));
    }
    c->wstart = c->wend = 0;
    return WARDEN_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Reading                                                                                      */

static const ProtobufCMessageDescriptor *reply_descriptor(uint16_t method) {
    switch (method) {
    case M_CHECK: return &warden__v1__check_response__descriptor;
    case M_BATCH_CHECK: return &warden__v1__batch_check_response__descriptor;
    case M_LIST_OBJECTS: return &warden__v1__list_objects_response__descriptor;
    case M_LIST_SUBJECTS: return &warden__v1__list_subjects_response__descriptor;
    case M_BATCH_GET_PERMISSIONS: return &warden__v1__batch_get_permissions_response__descriptor;
    case M_BULK_GRANT:
    case M_BULK_REVOKE: return &warden__v1__bulk_response__descriptor;
    case M_HEALTH: return &warden__v1__health_response__descriptor;
    default: return &warden__v1__write_response__descriptor;
    }
}

/* Handles one whole frame: a connection error, an answer to park, or a frame to ignore. */
static warden_code dispatch(warden_conn *c, const uint8_t *frame, size_t body_length, warden_status *st) {
    uint32_t id = get32(frame + 4);
    uint16_t method = (uint16_t)(frame[8] << 8 | frame[9]);
    uint8_t code = frame[11];
    const uint8_t *body = frame + FRAME_HEADER;
    if (id == 0) {
        if (code == 0)
            return conn_fail(c, st, WARDEN_INTERNAL, true, "malformed reply: a frame on request id 0 with status OK");
        Warden__V1__Status *s = warden__v1__status__unpack(NULL, body_length, body);
        warden_code result = conn_fail(c, st, code > WARDEN_UNAUTHENTICATED ? WARDEN_UNKNOWN : (warden_code)code,
                                       false, "%s", s ? s->message : "(a connection error whose body is not a Status)");
        if (s) warden__v1__status__free_unpacked(s, NULL);
        return result;
    }
    slot *s = conn_find(c, id);
    if (!s || s->state == SLOT_DONE) return WARDEN_OK; /* an id we no longer track */
    if (s->state == SLOT_ABANDONED) {
        conn_release(c, id);
        return WARDEN_OK;
    }
    if (method != s->method)
        return conn_fail(c, st, WARDEN_INTERNAL, true, "malformed reply: request %u was method %u, its answer says %u",
                         id, s->method, method);
    const ProtobufCMessageDescriptor *descriptor = code ? &warden__v1__status__descriptor : reply_descriptor(method);
    bool valid;
    if (method == M_CHECK && code == 0) {
        valid = check_decode(body, body_length, &s->check);
    } else {
        s->reply = protobuf_c_message_unpack(descriptor, NULL, body_length, body);
        valid = s->reply != NULL;
    }
    if (!valid)
        return conn_fail(c, st, WARDEN_INTERNAL, true, "malformed reply: the answer to request %u is not a valid %s",
                         id, descriptor->name);
    s->state = SLOT_DONE;
    s->code = code;
    if (s->pipelined && !conn_push_done(c, id))
        return conn_fail(c, st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
    return WARDEN_OK;
}

/* Cuts every whole frame out of the read buffer. A length outside 12..max fails the connection
 * as soon as its 4 bytes are in, before any body is read or allocated. */
static warden_code cut_frames(warden_conn *c, warden_status *st) {
    while (c->rend - c->rstart >= 4) {
        uint32_t length = get32(c->rbuf + c->rstart);
        if (length < FRAME_MIN_LENGTH)
            return conn_fail(c, st, WARDEN_INTERNAL, true,
                             "malformed reply: frame length %u is below the 12 header bytes it counts", length);
        if (length > c->max_reply_frame)
            return conn_fail(c, st, WARDEN_RESOURCE_EXHAUSTED, true,
                             "reply frame length %u exceeds the client's limit of %u bytes", length, c->max_reply_frame);
        size_t whole = 4 + (size_t)length;
        if (c->rend - c->rstart < whole) {
            /* Make room for the whole frame: move it to the front, grow if it is still too big. */
            if (c->rstart + whole > c->rcap) {
                memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
                c->rend -= c->rstart;
                c->rstart = 0;
                if (!reserve(&c->rbuf, &c->rcap, whole))
                    return conn_fail(c, st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory for a %zu-byte reply", whole);
            }
            break;
        }
        warden_code code = dispatch(c, c->rbuf + c->rstart, length - FRAME_MIN_LENGTH, st);
        if (code) return code;
        c->rstart += whole;
    }
    if (c->rstart == c->rend) c->rstart = c->rend = 0;
    return WARDEN_OK;
}

/* Sets SO_RCVTIMEO to `ms` (-1: none) unless it is already within a millisecond of it: the
 * first wait of each call then costs no extra system call. */
static warden_code receive_timeout(warden_conn *c, int ms, warden_status *st) {
    int want = ms < 0 ? 0 : ms;
    int diff = want - c->receive_timeout_ms;
    if ((want == 0) == (c->receive_timeout_ms == 0) && diff >= -1 && diff <= 1) return WARDEN_OK;
    struct timeval tv = {.tv_sec = want / 1000, .tv_usec = (want % 1000) * 1000};
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        return conn_fail(c, st, WARDEN_UNAVAILABLE, true, "setsockopt: %s", strerror(errno));
    c->receive_timeout_ms = want;
    return WARDEN_OK;
}

/* Reads what has arrived (or, with `block`, waits for something to arrive, at most the socket's
 * receive timeout) and handles the frames it completes. */
static warden_code receive(warden_conn *c, bool block, warden_status *st);

static warden_code read_some(warden_conn *c, warden_status *st) { return receive(c, false, st); }

static warden_code receive(warden_conn *c, bool block, warden_status *st) {
    if (c->rstart > 0 && c->rcap - c->rend < FIRST_BUFFER / 4) {
        memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
        c->rend -= c->rstart;
        c->rstart = 0;
    }
    if (!reserve(&c->rbuf, &c->rcap, c->rend + FIRST_BUFFER / 4))
        return conn_fail(c, st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
    for (;;) {
        ssize_t n = recv(c->fd, c->rbuf + c->rend, c->rcap - c->rend, block ? 0 : MSG_DONTWAIT);
        if (n > 0) {
            c->rend += (size_t)n;
            return cut_frames(c, st);
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return WARDEN_OK;
        if (n == 0 && c->rend > c->rstart)
            return conn_fail(c, st, WARDEN_UNAVAILABLE, true, "the server closed the connection in the middle of a reply");
        return conn_fail(c, st, WARDEN_UNAVAILABLE, true, "the server closed the connection%s%s",
                         n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
    }
}

warden_code conn_pump(warden_conn *c, int64_t deadline, bool wait, warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (code) return code;
    if (c->wstart < c->wend) {
        if ((code = write_some(c, st))) return code;
        if (c->wstart == c->wend) return WARDEN_OK; /* progress: everything queued is out */
    }
    if (wait && c->wstart == c->wend) {
        /* Nothing to send: wait in recv() itself. A timeout there is EAGAIN, seen as nothing read. */
        int ms = remaining_ms(deadline);
        if (ms == 0) return WARDEN_DEADLINE_EXCEEDED;
        if ((code = receive_timeout(c, ms, st))) return code;
        return receive(c, true, st);
    }
    struct pollfd p = {.fd = c->fd, .events = POLLIN | (c->wstart < c->wend ? POLLOUT : 0)};
    int r = poll(&p, 1, wait ? remaining_ms(deadline) : 0);
    if (r < 0 && errno != EINTR) return conn_fail(c, st, WARDEN_UNAVAILABLE, true, "poll: %s", strerror(errno));
    if (r <= 0) return r == 0 && wait ? WARDEN_DEADLINE_EXCEEDED : WARDEN_OK;
    /* Read first: answers (or the server's last words) that came before a hang-up count. */
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && (code = read_some(c, st))) return code;
    if (p.revents & POLLOUT) return write_some(c, st);
    return WARDEN_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Calls                                                                                        */

warden_code conn_flush(warden_conn *c, uint32_t id, int64_t deadline, warden_status *st) {
    warden_code code = conn_usable(c, st);
    while (!code && c->wstart < c->wend) {
        slot *s = id ? conn_find(c, id) : NULL;
        if (s && s->state == SLOT_DONE) return WARDEN_OK;
        code = conn_pump(c, deadline, true, st);
        if (code == WARDEN_DEADLINE_EXCEEDED)
            /* Part of a frame may be out: the byte stream can no longer be trusted. */
            return conn_fail(c, st, WARDEN_DEADLINE_EXCEEDED, true,
                             "could not send the request within %d ms; the connection is closed", c->timeout_ms);
    }
    return code;
}

warden_code conn_wait(warden_conn *c, uint32_t id, int64_t deadline, warden_status *st) {
    warden_code code = conn_flush(c, id, deadline, st);
    if (code) return code;
    for (;;) {
        slot *s = conn_find(c, id);
        if (s && s->state == SLOT_DONE) return WARDEN_OK;
        code = conn_pump(c, deadline, true, st);
        if (code == WARDEN_DEADLINE_EXCEEDED) {
            if (conn_answered(c, id)) return WARDEN_OK;
            conn_abandon(c, id);
            return status_set(st, WARDEN_DEADLINE_EXCEEDED, true, "no answer within %d ms", c->timeout_ms);
        }
        if (code) return code;
    }
}

warden_code conn_take(warden_conn *c, uint32_t id, ProtobufCMessage **reply, warden_status *st) {
    slot *s = conn_find(c, id);
    if (!s || s->state != SLOT_DONE) return status_set(st, WARDEN_INTERNAL, true, "request %u has no answer", id);
    warden_code code = WARDEN_OK;
    if (s->code) {
        code = status_from_reply(st, s->code, s->reply);
        protobuf_c_message_free_unpacked(s->reply, NULL);
    } else {
        *reply = s->reply;
        status_ok(st);
    }
    s->reply = NULL;
    conn_release(c, id);
    return code;
}

warden_code conn_take_check(warden_conn *c, uint32_t id, warden_check_result *out, warden_status *st) {
    slot *s = conn_find(c, id);
    if (!s || s->state != SLOT_DONE) return status_set(st, WARDEN_INTERNAL, true, "request %u has no answer", id);
    warden_code code = WARDEN_OK;
    if (s->code) {
        code = status_from_reply(st, s->code, s->reply);
        memset(out, 0, sizeof *out);
    } else {
        *out = s->check;
        s->check.decision.group = NULL;
        status_ok(st);
    }
    conn_release(c, id);
    return code;
}

warden_code conn_call(warden_conn *c, uint16_t method, const ProtobufCMessage *request,
                      ProtobufCMessage **reply, warden_status *st) {
    uint32_t id;
    warden_code code = conn_open_request(c, method, false, &id, st);
    if (code) return code;
    if ((code = conn_queue_frame(c, id, method, FLAG_END_STREAM, request, st))) {
        conn_release(c, id);
        return code;
    }
    if ((code = conn_wait(c, id, conn_deadline(c), st))) return code;
    return conn_take(c, id, reply, st);
}

warden_code conn_submit_flush(warden_conn *c, warden_status *st) {
    return c->wend - c->wstart >= SUBMIT_FLUSH_BYTES ? conn_pump(c, -1, false, st) : WARDEN_OK;
}
