/*
 * test_robustness.c: replies the client must refuse (a fake server), and a real server that dies
 * in the middle of calls.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const warden_check_request any_check = {
    .user = "1", .permission = "lab.view_experiment", .object_type = "lab.experiment", .object_pk = "1"};

static double seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Runs one check against a fake server with `script`; returns its code, with *st. */
static warden_code one_check(const char *path, fake_script script, const warden_options *options, warden_status *st,
                             bool *still_open) {
    pid_t fake = fake_start(path, script);
    warden_conn *c = warden_connect(path, options, st);
    if (!c) {
        fake_stop(fake, path);
        return st->code;
    }
    warden_check_result result;
    warden_code code = warden_check(c, &any_check, &result, st);
    if (code == WARDEN_OK) warden_check_result_clear(&result);
    *still_open = warden_is_open(c);
    if (!*still_open) {
        /* Every later call fails at once, quoting the first failure. */
        warden_status again;
        CHECK_CODE(warden_check(c, &any_check, &result, &again), WARDEN_UNAVAILABLE, &again);
        CHECK(again.local && strstr(again.message, "the connection is closed") != NULL);
    }
    warden_close(c);
    fake_stop(fake, path);
    return code;
}

void test_malformed_replies(void) {
    char dir[] = "/tmp/warden-c-fake.XXXXXX";
    if (!CHECK(mkdtemp(dir) != NULL)) return;
    char path[64];
    snprintf(path, sizeof path, "%s/fake.sock", dir);
    warden_status st;
    bool open;

    harness_test("reply length 0xFFFFFFF0: RESOURCE_EXHAUSTED before any body is read");
    CHECK_CODE(one_check(path, FAKE_HUGE_LENGTH, NULL, &st, &open), WARDEN_RESOURCE_EXHAUSTED, &st);
    CHECK(st.local && !open && strstr(st.message, "4294967280 exceeds the client's limit of 67108864") != NULL);

    harness_test("reply over the client's max_reply_frame: RESOURCE_EXHAUSTED");
    warden_options small = {.max_reply_frame = 1024};
    CHECK_CODE(one_check(path, FAKE_LENGTH_2000, &small, &st, &open), WARDEN_RESOURCE_EXHAUSTED, &st);
    CHECK(st.local && !open && strstr(st.message, "2000 exceeds the client's limit of 1024") != NULL);

    harness_test("malformed replies: a length below 12, a body that is not protobuf, the wrong method");
    CHECK_CODE(one_check(path, FAKE_SHORT_LENGTH, NULL, &st, &open), WARDEN_INTERNAL, &st);
    CHECK(st.local && !open && strstr(st.message, "frame length 5 is below") != NULL);

    CHECK_CODE(one_check(path, FAKE_GARBAGE_BODY, NULL, &st, &open), WARDEN_INTERNAL, &st);
    CHECK(st.local && !open && strstr(st.message, "not a valid warden.v1.CheckResponse") != NULL);

    CHECK_CODE(one_check(path, FAKE_WRONG_METHOD, NULL, &st, &open), WARDEN_INTERNAL, &st);
    CHECK(st.local && !open && strstr(st.message, "method 1, its answer says 2") != NULL);

    harness_test("a status on request id 0 fails the connection with the server's code and message");
    /* A status on request id 0: the server's code and message, and the connection is over. */
    CHECK_CODE(one_check(path, FAKE_CONNECTION_ERROR, NULL, &st, &open), WARDEN_RESOURCE_EXHAUSTED, &st);
    CHECK(!st.local && !open && strcmp(st.message, "frame length 5000000 exceeds the limit of 4194304 bytes") == 0);

    harness_test("EOF in the middle of a reply: UNAVAILABLE");
    CHECK_CODE(one_check(path, FAKE_EOF_MID_FRAME, NULL, &st, &open), WARDEN_UNAVAILABLE, &st);
    CHECK(st.local && !open && strstr(st.message, "in the middle of a reply") != NULL);

    harness_test("a request's status and message; a reply one byte at a time");
    CHECK_CODE(one_check(path, FAKE_STATUS, NULL, &st, &open), WARDEN_INVALID_ARGUMENT, &st);
    CHECK(!st.local && open && strcmp(st.message, "permission: the fake server refuses it") == 0);

    CHECK_CODE(one_check(path, FAKE_DRIP, NULL, &st, &open), WARDEN_OK, &st);
    CHECK(open);

    harness_test("a BatchCheck reply with fewer results than items: INTERNAL");
    /* A BatchCheck answer with fewer results than items. */
    pid_t fake = fake_start(path, FAKE_BATCH_SHORT);
    warden_conn *c = warden_connect(path, NULL, &st);
    warden_check_request two[2] = {any_check, any_check};
    warden_batch_result *batch = NULL;
    CHECK_CODE(warden_batch_check(c, two, 2, 0, &batch, &st), WARDEN_INTERNAL, &st);
    CHECK(batch == NULL && st.local && strstr(st.message, "1 results for 2 checks") != NULL && !warden_is_open(c));
    warden_close(c);
    fake_stop(fake, path);

    harness_test("a BatchGetPermissions reply with fewer masks than pks: INTERNAL");
    fake = fake_start(path, FAKE_MASKS_SHORT);
    c = warden_connect(path, NULL, &st);
    const char *pks[] = {"1", "2"};
    warden_permissions_request ask = {.user = "u", .content_type = "a.car", .pks = pks, .pk_count = 2};
    warden_permission_sets *sets = NULL;
    CHECK_CODE(warden_batch_get_permissions(c, &ask, &sets, &st), WARDEN_INTERNAL, &st);
    CHECK(sets == NULL && st.local && strstr(st.message, "1 mask bytes for 2 pks") != NULL && !warden_is_open(c));
    warden_close(c);
    fake_stop(fake, path);

    harness_test("no answer in time: DEADLINE_EXCEEDED, the connection stays, the late answer is dropped");
    /* No answer in time: DEADLINE_EXCEEDED, the connection stays; the late answer is dropped. */
    fake = fake_start(path, FAKE_LATE_ANSWER);
    warden_options quick = {.timeout_ms = 150};
    c = warden_connect(path, &quick, &st);
    warden_check_result result;
    CHECK_CODE(warden_check(c, &any_check, &result, &st), WARDEN_DEADLINE_EXCEEDED, &st);
    CHECK(st.local && warden_is_open(c));
    warden_set_timeout(c, 3000);
    CHECK_CODE(warden_check(c, &any_check, &result, &st), WARDEN_OK, &st);
    CHECK(result.revision == 2);
    warden_check_result_clear(&result);
    CHECK_CODE(warden_check(c, &any_check, &result, &st), WARDEN_OK, &st);
    CHECK(result.revision == 3); /* not the late answer's 1 */
    warden_check_result_clear(&result);
    warden_close(c);
    fake_stop(fake, path);

    harness_test("answers out of order are matched by request id");
    /* Answers in reverse order (and one for an id never sent): each matched by its id. */
    fake = fake_start(path, FAKE_REVERSED);
    c = warden_connect(path, NULL, &st);
    uint32_t tickets[8];
    for (int i = 0; i < 8; i++) CHECK_CODE(warden_submit_check(c, &any_check, &tickets[i], &st), WARDEN_OK, &st);
    int matched = 0;
    uint32_t first = 0;
    for (int i = 0; i < 8; i++) {
        warden_check_completion done;
        if (!CHECK_CODE(warden_poll_check(c, 3000, &done, &st), WARDEN_OK, &st)) break;
        if (i == 0) first = done.ticket;
        matched += done.result.revision == done.ticket * 10u;
        warden_check_result_clear(&done.result);
    }
    CHECK(matched == 8 && first == tickets[7] && warden_in_flight(c) == 0);
    warden_close(c);
    fake_stop(fake, path);

    harness_test("local argument checks");
    /* Local argument checks. */
    CHECK(warden_connect("", NULL, &st) == NULL && st.code == WARDEN_INVALID_ARGUMENT);
    CHECK(warden_connect(path, NULL, &st) == NULL && st.code == WARDEN_UNAVAILABLE && st.local);
    CHECK_CODE(warden_check(NULL, &any_check, &result, &st), WARDEN_INVALID_ARGUMENT, &st);
    warden_close(NULL);
    rmdir(dir);
}

/* ------------------------------------------------------------------------------------------ */

void test_server_death(void) {
    harness_test("kill -9 during a blocking call, pipelined calls and on an idle connection");
    test_server server;
    if (!CHECK(server_start(&server))) return;
    warden_conn *blocking = server_connect(&server, 20000);
    warden_conn *pipelined = server_connect(&server, 20000);
    warden_conn *idle = server_connect(&server, 20000);
    warden_status st;

    /* 32 pipelined checks that wait for a revision that never comes. */
    warden_check_request future = any_check;
    future.min_revision = 1u << 30;
    for (int i = 0; i < 32; i++) CHECK_CODE(warden_submit_check(pipelined, &future, NULL, &st), WARDEN_OK, &st);
    CHECK_CODE(warden_flush(pipelined, &st), WARDEN_OK, &st);

    /* A blocking call in the same wait; the server dies 300 ms in. */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t killer = server_kill_later(&server, 300);
    warden_check_result result;
    CHECK_CODE(warden_check(blocking, &future, &result, &st), WARDEN_UNAVAILABLE, &st);
    CHECK(st.local && strstr(st.message, "the server closed the connection") != NULL);
    CHECK(seconds_since(&start) < 5); /* at once, not at the deadline */
    CHECK(!warden_is_open(blocking));
    waitpid(killer, NULL, 0);

    warden_check_completion done;
    if (!CHECK_CODE(warden_poll_check(pipelined, 5000, &done, &st), WARDEN_UNAVAILABLE, &st))
        printf("    completion %u: %s %s\n", done.ticket, warden_code_name(done.status.code), done.status.message);
    CHECK(warden_in_flight(pipelined) == 0 && !warden_is_open(pipelined));

    /* A connection with nothing in flight learns at its next call (a send to a dead peer: no SIGPIPE). */
    CHECK_CODE(warden_check(idle, &any_check, &result, &st), WARDEN_UNAVAILABLE, &st);
    CHECK(st.local && !warden_is_open(idle));
    warden_close(blocking);
    warden_close(pipelined);
    warden_close(idle);

    harness_test("kill -9 during a bulk upload");
    /* Killed during a bulk upload: an error (or, if the server was quicker, OK), never a crash. */
    server_stop(&server);
    if (!CHECK(server_start(&server))) return;
    warden_conn *c = server_connect(&server, 60000);
    CHECK_CODE(warden_register_content_type(c, "lab.experiment", NULL, 0, false, NULL, NULL, &st), WARDEN_OK, &st);
    CHECK_CODE(warden_put_user(c, "1", NULL, true, false, NULL, NULL, &st), WARDEN_OK, &st);
    enum { N = 200000 };
    char (*pks)[12] = malloc(N * sizeof *pks);
    warden_grant_spec *grants = calloc(N, sizeof *grants);
    for (int i = 0; i < N; i++) {
        snprintf(pks[i], sizeof pks[i], "%d", i + 1);
        grants[i] = (warden_grant_spec){.user = "1", .permission = "lab.view_experiment", .pk = pks[i]};
    }
    killer = server_kill_later(&server, 100);
    warden_code code = warden_bulk_grant(c, grants, N, 2000, NULL, NULL, &st);
    CHECK(code == WARDEN_UNAVAILABLE || code == WARDEN_OK);
    printf("  (bulk upload: %s %s)\n", warden_code_name(code), code ? st.message : "");
    if (code) CHECK(st.local && !warden_is_open(c));
    waitpid(killer, NULL, 0);
    warden_close(c);
    free(grants);
    free(pks);
    server_stop(&server);
}
