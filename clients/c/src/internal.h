/*
 * internal.h: the connection engine shared by the library's sources. Not installed.
 *
 * A connection keeps a table of open requests indexed by request id, a write buffer of frames
 * not yet sent and a read buffer of bytes not yet cut into frames. The engine writes and reads
 * on a non-blocking socket with poll(), so a caller never blocks on a write while the server
 * blocks on its own write of answers we are not reading. Each answer frame is decoded as soon
 * as it is cut, into the protobuf-c message its method names (or a Status), and parked in its
 * request's slot until the caller takes it.
 */
#ifndef WARDEN_INTERNAL_H
#define WARDEN_INTERNAL_H

#include "warden.h"

#include <protobuf-c/protobuf-c.h>

#include "warden/v1/service.pb-c.h"

/* Frame layout (docs/protocol.md §2). */
enum { FRAME_HEADER = 16, FRAME_MIN_LENGTH = 12 };
enum { FLAG_END_STREAM = 0x01, FLAG_CANCEL = 0x02 };

/* Method ids (service.proto's Method). */
enum {
    M_CHECK = 1, M_BATCH_CHECK = 2, M_LIST_OBJECTS = 3, M_LIST_SUBJECTS = 4, M_BATCH_GET_PERMISSIONS = 6, M_GRANT = 16, M_REVOKE = 17,
    M_BULK_GRANT = 18, M_BULK_REVOKE = 19, M_PUT_USER = 20, M_PUT_GROUP = 22, M_ADD_MEMBER = 24,
    M_REGISTER_CONTENT_TYPE = 26, M_HEALTH = 48
};

enum slot_state { SLOT_FREE = 0, SLOT_WAITING, SLOT_DONE, SLOT_ABANDONED };

/* One open request. Its index in the table is its id & mask (ids are chosen to make it so). */
typedef struct slot {
    uint32_t id;
    uint8_t state;
    bool pipelined;      /* a warden_submit_check() request: its id goes to the done queue */
    uint16_t method;
    uint8_t code;        /* the answer's status byte */
    ProtobufCMessage *reply; /* the decoded answer: the method's response, or a Status if code != 0 */
    warden_check_result check; /* a Check's answer (code 0), decoded by check_codec.c instead */
} slot;

struct warden_conn {
    int fd;
    int timeout_ms; /* -1: none */
    uint32_t max_reply_frame;
    uint32_t max_request_frame;

    bool failed;
    warden_status failure; /* the first failure, quoted by every later call */

    slot *slots;
    uint32_t mask;    /* table size - 1; the size is a power of two */
    uint32_t used;    /* slots not FREE */
    uint32_t next_id;

    size_t in_flight;  /* pipelined requests not yet returned by warden_poll_check() */
    uint32_t *done;    /* ring of finished pipelined ids, oldest first */
    size_t done_cap, done_head, done_count;

    uint8_t *rbuf;
    size_t rcap, rstart, rend;
    int receive_timeout_ms; /* the socket's SO_RCVTIMEO as last set (0: none) */
    uint8_t *wbuf;
    size_t wcap, wstart, wend;
};

/* Monotonic time in ns; deadlines are absolute ns, or -1 for none. */
int64_t now_ns(void);
int64_t conn_deadline(const warden_conn *c);
/* Milliseconds left until `deadline`, for poll(): -1 for none, rounded up. */
int remaining_ms(int64_t deadline);

/* Status helpers (status.c). `st` may be NULL in all of them. Each returns `code`. */
warden_code status_ok(warden_status *st);
warden_code status_set(warden_status *st, warden_code code, bool local, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
warden_code status_copy(warden_status *st, const warden_status *from);
/* Fills *st from a server answer's status byte and Status body. */
warden_code status_from_reply(warden_status *st, uint8_t code, const ProtobufCMessage *body);

/* Fails the connection for good (closing its socket, dropping every open request) and reports
 * the failure in *st. A connection already failed keeps its first failure. */
warden_code conn_fail(warden_conn *c, warden_status *st, warden_code code, bool local, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Returns UNAVAILABLE quoting the first failure if the connection has failed, else OK. */
warden_code conn_usable(warden_conn *c, warden_status *st);

/* Opens a request slot for `method`; *id is its request id. */
warden_code conn_open_request(warden_conn *c, uint16_t method, bool pipelined, uint32_t *id, warden_status *st);
/* The open request `id`, or NULL. */
slot *conn_find(warden_conn *c, uint32_t id);
/* Queues a finished pipelined request's id for warden_poll_check(); false if out of memory. */
bool conn_push_done(warden_conn *c, uint32_t id);
/* Whether request `id` has its answer parked. */
bool conn_answered(warden_conn *c, uint32_t id);
/* Gives up on request `id`: its id stays reserved until its answer arrives, which is dropped. */
void conn_abandon(warden_conn *c, uint32_t id);
/* Frees a request's slot (and its answer if one is parked). */
void conn_release(warden_conn *c, uint32_t id);
/* Queues one frame; `message` NULL: a header-only frame. */
warden_code conn_queue_frame(warden_conn *c, uint32_t id, uint16_t method, uint8_t flags,
                             const ProtobufCMessage *message, warden_status *st);
/* Queues a frame's header and returns where its `body_size` bytes of body go, or NULL (*st set). */
uint8_t *conn_queue_header(warden_conn *c, uint32_t id, uint16_t method, uint8_t flags, size_t body_size,
                           warden_status *st);
/* Sends queued frames until none is left, or until request `id` (0: none) is answered. */
warden_code conn_flush(warden_conn *c, uint32_t id, int64_t deadline, warden_status *st);
/* Waits for request `id`'s answer. On DEADLINE_EXCEEDED the request is abandoned: its id stays
 * reserved until the late answer arrives, which is then dropped. */
warden_code conn_wait(warden_conn *c, uint32_t id, int64_t deadline, warden_status *st);
/* Takes request `id`'s parked answer and frees its slot. Returns OK with *reply (the caller
 * frees it with protobuf_c_message_free_unpacked), or the request's error in *st. */
warden_code conn_take(warden_conn *c, uint32_t id, ProtobufCMessage **reply, warden_status *st);
/* As conn_take() for a Check: moves its decoded answer into *out. */
warden_code conn_take_check(warden_conn *c, uint32_t id, warden_check_result *out, warden_status *st);
/* Frees what an open request's slot holds and marks it free. */
void slot_clear(slot *s);
/* One unary call: queue, send, wait, take. */
warden_code conn_call(warden_conn *c, uint16_t method, const ProtobufCMessage *request,
                      ProtobufCMessage **reply, warden_status *st);
/* One round of I/O for pipelining: sends what the socket takes, reads what has arrived, waiting
 * until `deadline` for something to happen. Returns OK, DEADLINE_EXCEEDED, or the failure. */
warden_code conn_pump(warden_conn *c, int64_t deadline, bool wait, warden_status *st);
/* Sends without waiting once enough is queued (for warden_submit_check()). */
warden_code conn_submit_flush(warden_conn *c, warden_status *st);
/* Pops the oldest finished pipelined request id; false if none. */
bool conn_pop_done(warden_conn *c, uint32_t *id);

/* CheckRequest and CheckResponse by hand (check_codec.c). check_decode() returns false, with
 * nothing to free, when the bytes are not a valid CheckResponse. */
size_t check_encoded_size(const warden_check_request *request);
void check_encode(const warden_check_request *request, uint8_t *out);
bool check_decode(const uint8_t *body, size_t length, warden_check_result *out);

/* Takes ownership of a decoded string field: returns it (heap) and clears the field, or NULL
 * when it is absent or empty. */
char *steal_string(char **field);
/* Converts a decoded Decision, taking its group string. */
void decision_take(warden_decision *out, Warden__V1__Decision *in);

#endif /* WARDEN_INTERNAL_H */
