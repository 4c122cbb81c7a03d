/*
 * bench: Check latency and pipelined throughput through libwarden, against a running server.
 *
 *     bench SOCKET [--seconds S] [--rounds N] [--depth D] [--docs K] [--timeout MS] [--no-setup]
 *
 * Set-up (skipped with --no-setup; idempotent, so a second run changes nothing): registers
 * `bench.doc`, puts 100 users and bulk-grants each `view_doc` on K documents (1,000: 100,000
 * grants). The peer must be an admin of the server for that (the server's own uid is).
 * Then, cycling over 1,000 checks (a random user and a random document: about 1% allowed):
 *   1. Check, one in flight: N round trips through warden_check() (p50, p99).
 *   2. Check, D in flight (64) on one connection, through warden_submit_check()/poll, S seconds.
 *   3. BatchCheck of those 1,000 checks, one batch at a time, S seconds.
 * Figures are printed; nothing is asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "warden.h"

enum { USERS = 100, MAX_DOCS_PER_USER = 1000, CHECKS = 1000 };
static int docs_per_user = MAX_DOCS_PER_USER;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's CPU time (user + system), in seconds. */
static double cpu_s(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *sorted, size_t n, double p) {
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static void die(const char *what, const warden_status *st) {
    fprintf(stderr, "bench: %s: %s: %s\n", what, warden_code_name(st->code), st->message);
    exit(2);
}

static char user_ids[USERS][8];
static char pks[USERS * MAX_DOCS_PER_USER][8];

static void set_up(warden_conn *c) {
    warden_status st;
    if (warden_register_content_type(c, "bench.doc", NULL, 0, false, NULL, NULL, &st)) die("register", &st);
    for (int u = 0; u < USERS; u++)
        if (warden_put_user(c, user_ids[u], NULL, true, false, NULL, NULL, &st)) die("put user", &st);
    size_t n = (size_t)USERS * (size_t)docs_per_user;
    warden_grant_spec *grants = malloc(n * sizeof *grants);
    for (size_t i = 0; i < n; i++)
        grants[i] = (warden_grant_spec){.user = user_ids[i / (size_t)docs_per_user], .permission = "bench.view_doc", .pk = pks[i]};
    warden_bulk_result bulk;
    double start = now_s();
    warden_set_timeout(c, 600000);
    if (warden_bulk_grant(c, grants, n, 0, NULL, &bulk, &st)) die("bulk grant", &st);
    printf("set-up: BulkGrant of %llu grants (%llu new) in %.2f s\n", (unsigned long long)bulk.requested,
           (unsigned long long)bulk.count, now_s() - start);
    free(grants);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SOCKET [--seconds S] [--rounds N] [--depth D] [--docs K] [--timeout MS] [--no-setup]\n",
                argv[0]);
        return 2;
    }
    double seconds = 3;
    int rounds = 20000, depth = 64, setup = 1, timeout_ms = 60000;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--depth") && i + 1 < argc) depth = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--docs") && i + 1 < argc) docs_per_user = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) timeout_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-setup")) setup = 0;
        else return fprintf(stderr, "bench: unknown argument %s\n", argv[i]), 2;
    }
    if (rounds < 100) rounds = 100;
    if (depth < 1) depth = 1;
    if (docs_per_user < 1 || docs_per_user > MAX_DOCS_PER_USER) docs_per_user = MAX_DOCS_PER_USER;
    for (int u = 0; u < USERS; u++) snprintf(user_ids[u], sizeof user_ids[u], "b%d", u + 1);
    for (int i = 0; i < USERS * MAX_DOCS_PER_USER; i++) snprintf(pks[i], sizeof pks[i], "%d", i + 1);

    warden_status st;
    warden_conn *c = warden_connect(argv[1], NULL, &st);
    if (!c) die("connect", &st);
    time_t today = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&today));
    printf("libwarden bench, %s, socket %s\n", date, argv[1]);
    if (setup) set_up(c);
    warden_set_timeout(c, timeout_ms); /* each request's deadline (-1: none, sent as 0) */

    /* 1,000 checks from a fixed seed. */
    static warden_check_request checks[CHECKS];
    srand(7);
    for (int i = 0; i < CHECKS; i++)
        checks[i] = (warden_check_request){.user = user_ids[rand() % USERS], .permission = "bench.view_doc",
                                           .object_type = "bench.doc", .object_pk = pks[rand() % (USERS * docs_per_user)]};

    /* 1. One in flight. */
    double *samples = malloc((size_t)rounds * sizeof *samples);
    int warmup = rounds / 10;
    for (int i = 0; i < warmup + rounds; i++) {
        warden_check_result result;
        double start = now_s();
        if (warden_check(c, &checks[i % CHECKS], &result, &st)) die("check", &st);
        if (i >= warmup) samples[i - warmup] = (now_s() - start) * 1e6;
        warden_check_result_clear(&result);
    }
    qsort(samples, (size_t)rounds, sizeof *samples, by_value);
    printf("Check, one in flight (warden_check), %d calls: p50 %.1f us, p99 %.1f us\n", rounds,
           percentile(samples, (size_t)rounds, 0.5), percentile(samples, (size_t)rounds, 0.99));
    free(samples);

    /* 2. `depth` in flight on one connection. */
    long done = 0, allowed = 0, next = 0;
    double start = now_s(), stop = start + seconds, cpu = cpu_s();
    for (;;) {
        bool open = now_s() < stop;
        while (open && warden_in_flight(c) < (size_t)depth)
            if (warden_submit_check(c, &checks[next++ % CHECKS], NULL, &st)) die("submit", &st);
        if (warden_in_flight(c) == 0) break;
        warden_check_completion completion;
        if (warden_poll_check(c, -1, &completion, &st)) die("poll", &st);
        if (completion.status.code) die("pipelined check", &completion.status);
        allowed += completion.result.decision.allowed;
        warden_check_result_clear(&completion.result);
        done++;
    }
    double elapsed = now_s() - start;
    printf("Check, %d in flight, one connection (submit/poll): %.0f checks/s (%ld in %.2f s, %.1f%% allowed)\n", depth,
           (double)done / elapsed, done, elapsed, 100.0 * (double)allowed / (double)done);
    printf("  client CPU per check in that phase: %.2f us\n", (cpu_s() - cpu) * 1e6 / (double)done);

    /* 3. BatchCheck, one batch of 1,000 at a time. */
    long batches = 0;
    start = now_s();
    while (now_s() - start < seconds) {
        warden_batch_result *batch;
        if (warden_batch_check(c, checks, CHECKS, 0, &batch, &st)) die("batch check", &st);
        warden_batch_result_free(batch);
        batches++;
    }
    elapsed = now_s() - start;
    printf("BatchCheck, batches of %d, one at a time: %.0f decisions/s\n", CHECKS, (double)batches * CHECKS / elapsed);
    warden_close(c);
    return 0;
}
