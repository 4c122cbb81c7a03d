/*
 * test_pipelining.c: pipelined checks, bulk streams, chunking by bytes and deadlines, against
 * the real server test_server.c started (split from it by responsibility).
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static void test_pipelining(warden_conn *c) {
    harness_test("pipelined checks: submit/poll, mixed with blocking calls");
    warden_status st;
    /* Eight checks in flight, one of them invalid; a blocking call in the middle. */
    uint32_t tickets[8];
    for (int i = 0; i < 8; i++) {
        warden_check_request r = {.user = i == 5 ? "2" : "1", .permission = i == 3 ? "view_experiment" : "lab.view_experiment",
                                  .object_type = i == 3 ? NULL : "lab.experiment", .object_pk = i == 3 ? NULL : "3"};
        CHECK_CODE(warden_submit_check(c, &r, &tickets[i], &st), WARDEN_OK, &st);
    }
    CHECK(warden_in_flight(c) == 8);
    CHECK_CODE(warden_health(c, NULL, &st), WARDEN_OK, &st);
    bool seen[8] = {false};
    int allowed = 0, errors = 0;
    while (warden_in_flight(c) > 0) {
        warden_check_completion done;
        if (!CHECK_CODE(warden_poll_check(c, 5000, &done, &st), WARDEN_OK, &st)) break;
        int index = -1;
        for (int i = 0; i < 8; i++)
            if (tickets[i] == done.ticket) index = i;
        CHECK(index >= 0 && !seen[index]);
        if (index < 0) continue;
        seen[index] = true;
        if (index == 3) {
            errors += done.status.code == WARDEN_INVALID_ARGUMENT && !done.status.local;
            CHECK(done.result.decision.group == NULL);
        } else {
            CHECK(done.status.code == WARDEN_OK);
            allowed += done.result.decision.allowed;
            if (index == 5) CHECK(done.result.decision.group && strcmp(done.result.decision.group, "editors") == 0);
        }
        warden_check_result_clear(&done.result);
    }
    CHECK(allowed == 1 && errors == 1);
    warden_check_completion none;
    CHECK_CODE(warden_poll_check(c, 0, &none, &st), WARDEN_FAILED_PRECONDITION, &st);
    CHECK_CODE(warden_flush(c, &st), WARDEN_OK, &st);
}

/* Checks every grant of `grants` with 64 in flight; returns how many were allowed. */
static size_t check_all_pipelined(warden_conn *c, const warden_grant_spec *grants, size_t count) {
    warden_status st;
    size_t next = 0, allowed = 0, answered = 0;
    while (answered < count) {
        while (next < count && warden_in_flight(c) < 64) {
            warden_check_request r = {.user = grants[next].user, .permission = grants[next].permission,
                                      .object_type = "drivers.car", .object_pk = grants[next].pk};
            if (!CHECK_CODE(warden_submit_check(c, &r, NULL, &st), WARDEN_OK, &st)) return allowed;
            next++;
        }
        warden_check_completion done;
        if (!CHECK_CODE(warden_poll_check(c, 10000, &done, &st), WARDEN_OK, &st)) return allowed;
        allowed += done.status.code == WARDEN_OK && done.result.decision.allowed &&
                   done.result.decision.reason == WARDEN_OBJECT_GRANT_USER;
        warden_check_result_clear(&done.result);
        answered++;
    }
    return allowed;
}

static void test_bulk(warden_conn *c) {
    harness_test("bulk grant of 20,000 in 7 chunks; 20,000 pipelined checks and a batch of 10,000 see them");
    warden_status st;
    enum { N = 20000 };
    static char pks[N][12];
    warden_grant_spec *grants = calloc(N, sizeof *grants);
    for (int i = 0; i < N; i++) {
        snprintf(pks[i], sizeof pks[i], "%d", i + 1);
        grants[i] = (warden_grant_spec){.user = "4", .permission = "drivers.change_car", .pk = pks[i]};
    }
    warden_bulk_result bulk;
    /* Chunks of 3,000 grants: 7 chunk frames on one request id. */
    CHECK_CODE(warden_bulk_grant(c, grants, N, 3000, NULL, &bulk, &st), WARDEN_OK, &st);
    CHECK(bulk.count == N && bulk.requested == N && bulk.revision > 0);
    CHECK(check_all_pipelined(c, grants, N) == N);

    /* The same grants in one BatchCheck of 10,000 (evaluated on the server's pool). */
    warden_check_request *items = calloc(10000, sizeof *items);
    for (int i = 0; i < 10000; i++)
        items[i] = (warden_check_request){.user = "4", .permission = "drivers.change_car",
                                          .object_type = "drivers.car", .object_pk = pks[i * 2]};
    warden_batch_result *batch = NULL;
    if (CHECK_CODE(warden_batch_check(c, items, 10000, bulk.revision, &batch, &st), WARDEN_OK, &st)) {
        size_t allowed = 0;
        for (size_t i = 0; i < batch->count; i++) allowed += batch->items[i].decision.allowed;
        CHECK(batch->count == 10000 && allowed == 10000);
    }
    warden_batch_result_free(batch);
    free(items);

    harness_test("bulk grant again changes nothing; bulk revoke of 10,000");
    /* Again: nothing changes. Then revoke the first half. */
    CHECK_CODE(warden_bulk_grant(c, grants, N, 0, NULL, &bulk, &st), WARDEN_OK, &st);
    CHECK(bulk.count == 0 && bulk.requested == N);
    CHECK_CODE(warden_bulk_revoke(c, grants, N / 2, 0, NULL, &bulk, &st), WARDEN_OK, &st);
    CHECK(bulk.count == N / 2);
    CHECK(check_all_pipelined(c, grants, N) == N / 2);

    harness_test("bulk: an empty stream; a bad row fails the stream; a refusal stops the upload");
    /* An empty stream is valid; a stream with an unregistered subject fails whole, naming the row. */
    CHECK_CODE(warden_bulk_grant(c, NULL, 0, 0, NULL, &bulk, &st), WARDEN_OK, &st);
    CHECK(bulk.requested == 0);
    grants[N - 1].user = "ghost";
    CHECK_CODE(warden_bulk_grant(c, grants, N, 5000, NULL, &bulk, &st), WARDEN_NOT_FOUND, &st);
    CHECK(strstr(st.message, "change") != NULL && !st.local);
    /* Refused at its first chunk for its actor (user 4 may not change its own grants): the rest
     * is not sent, and the connection goes on. */
    grants[N - 1].user = "4";
    CHECK_CODE(warden_bulk_grant(c, grants, N, 1000, "4", &bulk, &st), WARDEN_PERMISSION_DENIED, &st);
    CHECK_CODE(warden_health(c, NULL, &st), WARDEN_OK, &st);
    free(grants);
}

static void test_deadline(warden_conn *c) {
    harness_test("deadlines: a read waiting for a future revision");
    warden_status st;
    warden_check_result result;
    warden_set_timeout(c, 200);
    warden_check_request future = {.user = "1", .permission = "lab.view_experiment",
                                   .object_type = "lab.experiment", .object_pk = "3", .min_revision = 1u << 30};
    warden_code code = warden_check(c, &future, &result, &st);
    /* The server's UNAVAILABLE or DEADLINE_EXCEEDED, or this library's deadline: whichever first. */
    CHECK(code == WARDEN_UNAVAILABLE || code == WARDEN_DEADLINE_EXCEEDED);
    CHECK(warden_is_open(c));
    warden_set_timeout(c, 5000);
    warden_check_request now = future;
    now.min_revision = 0;
    CHECK_CODE(warden_check(c, &now, &result, &st), WARDEN_OK, &st);
    warden_check_result_clear(&result);
}

static void test_chunk_bytes(test_server *server) {
    harness_test("bulk: chunks split by encoded bytes below a small max_request_frame (64 KiB)");
    warden_status st;
    warden_options small = {.timeout_ms = 30000, .max_request_frame = 64 * 1024};
    warden_conn *c = warden_connect(server->socket, &small, &st);
    if (!CHECK(c != NULL)) return;
    enum { N = 2000, PK = 200 };
    char (*pks)[PK + 1] = malloc(N * sizeof *pks);
    warden_grant_spec *grants = calloc(N, sizeof *grants);
    for (int i = 0; i < N; i++) {
        memset(pks[i], 'a' + i % 26, PK);
        snprintf(pks[i], 12, "%07d", i); /* distinct: a number, then the filler */
        pks[i][7] = '-';
        pks[i][PK] = '\0';
        grants[i] = (warden_grant_spec){.user = "5", .permission = "drivers.view_car", .pk = pks[i]};
    }
    warden_bulk_result bulk; /* about 450 KB of grants: at least 7 chunks of under 64 KiB */
    CHECK_CODE(warden_bulk_grant(c, grants, N, 0, "su", &bulk, &st), WARDEN_OK, &st);
    CHECK(bulk.count == N && bulk.requested == N);
    warden_check_request last = {.user = "5", .permission = "drivers.view_car", .object_type = "drivers.car",
                                 .object_pk = pks[N - 1]};
    warden_check_result result;
    CHECK_CODE(warden_check(c, &last, &result, &st), WARDEN_OK, &st);
    CHECK(result.decision.allowed);
    warden_check_result_clear(&result);
    /* One request over the limit fails here, before it is sent; the connection goes on. */
    warden_check_request *many = calloc(N, sizeof *many);
    for (int i = 0; i < N; i++) many[i] = last;
    warden_batch_result *batch = NULL;
    CHECK_CODE(warden_batch_check(c, many, N, 0, &batch, &st), WARDEN_INVALID_ARGUMENT, &st);
    CHECK(st.local && strstr(st.message, "over the frame limit of 65536 bytes") != NULL && batch == NULL);
    CHECK_CODE(warden_health(c, NULL, &st), WARDEN_OK, &st);
    free(many);
    free(grants);
    free(pks);
    warden_close(c);
}

void test_pipelining_and_bulk_on(test_server *server) {
    warden_conn *c = server_connect(server, 30000);
    test_pipelining(c);
    test_bulk(c);
    test_chunk_bytes(server);
    test_deadline(c);
    warden_close(c);
    server_stop(server);
}
