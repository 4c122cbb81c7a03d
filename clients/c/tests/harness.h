/*
 * harness.h: the tests' assertions, a real `warden serve` process, and a scripted fake server.
 */
#ifndef WARDEN_TEST_HARNESS_H
#define WARDEN_TEST_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "warden.h"

/* ---- assertions: each CHECK counts one pass or one failure; a failure prints where ---- */

extern int harness_passed, harness_failed;

bool harness_check(bool ok, const char *what, const char *file, int line);
#define CHECK(cond) harness_check((cond), #cond, __FILE__, __LINE__)
/* A call's code, and on a mismatch the status it left. */
bool harness_code(int got, int want, const warden_status *st, const char *what, const char *file, int line);
#define CHECK_CODE(got, want, st) harness_code((got), (want), (st), #got, __FILE__, __LINE__)
/* Ends the test under way (printing "ok" or "FAIL" and its name) and begins the next. The run
 * counts tests: a test passes when none of its assertions failed. */
void harness_test(const char *name);

/* ---- a real server: `$WARDEN_BIN serve` in a temporary directory ---- */

typedef struct test_server {
    pid_t pid;
    char dir[256];
    char socket[300];
} test_server;

/* Starts a server and waits until it accepts connections (up to 60 s). Returns false on failure. */
bool server_start(test_server *server);
/* SIGTERM, wait, remove the directory. */
void server_stop(test_server *server);
/* SIGKILL now (the directory stays until server_stop()). */
void server_kill(test_server *server);
/* Kills the server after `ms` milliseconds, from a forked child: returns the child's pid. */
pid_t server_kill_later(test_server *server, int ms);
/* A connection with `timeout_ms`; aborts the test run if it cannot connect. */
warden_conn *server_connect(const test_server *server, int timeout_ms);

/* ---- a fake server: one connection, one scripted behaviour ---- */

typedef enum fake_script {
    FAKE_HUGE_LENGTH,      /* answers with a length field of 0xFFFFFFF0 */
    FAKE_LENGTH_2000,      /* answers with a 2,000-byte frame (over a client limit of 1 KiB) */
    FAKE_SHORT_LENGTH,     /* a length of 5, below the 12 header bytes */
    FAKE_GARBAGE_BODY,     /* right header, a body that is not protobuf */
    FAKE_WRONG_METHOD,     /* a valid answer that names another method */
    FAKE_CONNECTION_ERROR, /* a RESOURCE_EXHAUSTED Status on request id 0, then EOF */
    FAKE_EOF_MID_FRAME,    /* half a header, then EOF */
    FAKE_LATE_ANSWER,      /* answers the first request 400 ms late, after the second */
    FAKE_REVERSED,         /* reads 8 requests, answers them in reverse order (and one unknown id) */
    FAKE_STATUS,           /* an INVALID_ARGUMENT Status on the request's id */
    FAKE_BATCH_SHORT,      /* a BatchCheck answer with one result fewer than asked */
    FAKE_MASKS_SHORT,      /* a BatchGetPermissions answer with one mask byte fewer than asked */
    FAKE_DRIP,             /* a valid answer, one byte at a time */
} fake_script;

/* Listens on `path`, forks a child that runs `script` on the first connection. */
pid_t fake_start(const char *path, fake_script script);
/* Waits for the child (after the client has closed its connection). */
void fake_stop(pid_t pid, const char *path);

/* ---- the test groups ---- */

void test_codec(void);
void test_against_server(void);
void test_pipelining_and_bulk(void);
void test_pipelining_and_bulk_on(test_server *server);
void test_malformed_replies(void);
void test_server_death(void);

#endif
