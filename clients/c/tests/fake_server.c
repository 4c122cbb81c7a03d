/*
 * fake_server.c: a forked process on its own socket that answers with scripted bytes, to test
 * how the client takes oversized, malformed, late, reordered and partial replies.
 */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "warden/v1/service.pb-c.h"

typedef struct request {
    uint32_t id;
    uint16_t method;
} request;

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static bool full_io(int fd, void *buffer, size_t length, bool writing) {
    uint8_t *p = buffer;
    while (length > 0) {
        ssize_t n = writing ? send(fd, p, length, MSG_NOSIGNAL) : read(fd, p, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        length -= (size_t)n;
    }
    return true;
}

/* Reads one request frame; false at EOF. */
static bool read_request(int fd, request *r) {
    uint8_t header[16];
    if (!full_io(fd, header, sizeof header, false)) return false;
    uint32_t length = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 | header[3];
    r->id = (uint32_t)header[4] << 24 | (uint32_t)header[5] << 16 | (uint32_t)header[6] << 8 | header[7];
    r->method = (uint16_t)(header[8] << 8 | header[9]);
    if (length < 12) return false;
    uint8_t *body = malloc(length - 12 + 1);
    bool ok = body && full_io(fd, body, length - 12, false);
    free(body);
    return ok;
}

/* Writes a frame: header (length from the body unless `length` is not 0) and body. */
static void send_frame(int fd, uint32_t length, uint32_t id, uint16_t method, uint8_t status, const uint8_t *body,
                       size_t size) {
    uint8_t header[16] = {0};
    put32(header, length ? length : (uint32_t)(12 + size));
    put32(header + 4, id);
    header[8] = (uint8_t)(method >> 8), header[9] = (uint8_t)method;
    header[10] = 0x01;
    header[11] = status;
    full_io(fd, header, sizeof header, true);
    if (size) full_io(fd, (void *)body, size, true);
}

/* A CheckResponse allowed OBJECT_GRANT_USER at `revision`, packed into `out` (64 bytes). */
static size_t check_answer(uint8_t *out, uint64_t revision) {
    Warden__V1__Decision decision = WARDEN__V1__DECISION__INIT;
    decision.allowed = true;
    decision.reason = WARDEN__V1__REASON__OBJECT_GRANT_USER;
    Warden__V1__CheckResponse response = WARDEN__V1__CHECK_RESPONSE__INIT;
    response.decision = &decision;
    response.revision = revision;
    return warden__v1__check_response__pack(&response, out);
}

static size_t status_body(uint8_t *out, uint32_t code, const char *message) {
    Warden__V1__Status status = WARDEN__V1__STATUS__INIT;
    status.code = code;
    status.message = (char *)message;
    return warden__v1__status__pack(&status, out);
}

static void sleep_ms(int ms) {
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&pause, &pause) < 0 && errno == EINTR) {}
}

static void run(int fd, fake_script script) {
    request r, second;
    uint8_t body[4096];
    size_t size;
    if (!read_request(fd, &r)) return;
    switch (script) {
    case FAKE_HUGE_LENGTH:
        send_frame(fd, 0xFFFFFFF0u, r.id, r.method, 0, NULL, 0);
        break;
    case FAKE_LENGTH_2000:
        memset(body, 0, 1988);
        send_frame(fd, 0, r.id, r.method, 0, body, 1988);
        break;
    case FAKE_SHORT_LENGTH:
        send_frame(fd, 5, r.id, r.method, 0, NULL, 0);
        break;
    case FAKE_GARBAGE_BODY:
        memset(body, 0xFF, 10);
        send_frame(fd, 0, r.id, r.method, 0, body, 10);
        break;
    case FAKE_WRONG_METHOD:
        size = check_answer(body, 1);
        send_frame(fd, 0, r.id, (uint16_t)(r.method + 1), 0, body, size);
        break;
    case FAKE_CONNECTION_ERROR:
        size = status_body(body, 8, "frame length 5000000 exceeds the limit of 4194304 bytes");
        send_frame(fd, 0, 0, 0, 8, body, size);
        return; /* and close */
    case FAKE_EOF_MID_FRAME:
        size = check_answer(body + 16, 1);
        put32(body, (uint32_t)(12 + size));
        full_io(fd, body, 8, true);
        return;
    case FAKE_LATE_ANSWER:
        if (!read_request(fd, &second)) return;
        size = check_answer(body, 2);
        send_frame(fd, 0, second.id, second.method, 0, body, size);
        sleep_ms(400);
        size = check_answer(body, 1);
        send_frame(fd, 0, r.id, r.method, 0, body, size);
        if (!read_request(fd, &second)) return;
        size = check_answer(body, 3);
        send_frame(fd, 0, second.id, second.method, 0, body, size);
        break;
    case FAKE_REVERSED: {
        request all[8] = {r};
        for (int i = 1; i < 8; i++)
            if (!read_request(fd, &all[i])) return;
        size = check_answer(body, 99);
        send_frame(fd, 0, 4242424, 1, 0, body, size); /* an id nobody asked for */
        for (int i = 7; i >= 0; i--) {
            size = check_answer(body, all[i].id * 10u); /* each answer names its id */
            send_frame(fd, 0, all[i].id, all[i].method, 0, body, size);
        }
        break;
    }
    case FAKE_STATUS:
        size = status_body(body, 3, "permission: the fake server refuses it");
        send_frame(fd, 0, r.id, r.method, 3, body, size);
        break;
    case FAKE_BATCH_SHORT: {
        Warden__V1__BatchCheckResponse response = WARDEN__V1__BATCH_CHECK_RESPONSE__INIT;
        Warden__V1__CheckResult result = WARDEN__V1__CHECK_RESULT__INIT;
        Warden__V1__Decision decision = WARDEN__V1__DECISION__INIT;
        Warden__V1__CheckResult *results[1] = {&result};
        result.result_case = WARDEN__V1__CHECK_RESULT__RESULT_DECISION;
        result.decision = &decision;
        response.n_results = 1;
        response.results = results;
        size = warden__v1__batch_check_response__pack(&response, body);
        send_frame(fd, 0, r.id, r.method, 0, body, size);
        break;
    }
    case FAKE_MASKS_SHORT: {
        Warden__V1__BatchGetPermissionsResponse response = WARDEN__V1__BATCH_GET_PERMISSIONS_RESPONSE__INIT;
        char *codenames[2] = {"change_car", "view_car"};
        uint8_t mask = 1;
        response.n_codenames = 2;
        response.codenames = codenames;
        response.masks.len = 1;
        response.masks.data = &mask;
        size = warden__v1__batch_get_permissions_response__pack(&response, body);
        send_frame(fd, 0, r.id, r.method, 0, body, size);
        break;
    }
    case FAKE_DRIP: {
        uint8_t frame[128];
        size = check_answer(frame + 16, 7);
        memset(frame, 0, 16);
        put32(frame, (uint32_t)(12 + size));
        put32(frame + 4, r.id);
        frame[9] = (uint8_t)r.method, frame[10] = 1;
        for (size_t i = 0; i < 16 + size; i++) {
            full_io(fd, frame + i, 1, true);
            sleep_ms(2);
        }
        break;
    }
    }
    /* Keep the connection open until the client closes it. */
    while (read_request(fd, &r)) {}
}

pid_t fake_start(const char *path, fake_script script) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof address.sun_path, "%s", path);
    unlink(path);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 4) < 0) {
        printf("  fake server: cannot listen on %s\n", path);
        exit(2);
    }
    pid_t pid = fork();
    if (pid == 0) {
        int fd = accept(listener, NULL, NULL);
        if (fd >= 0) run(fd, script);
        _exit(0);
    }
    close(listener);
    return pid;
}

void fake_stop(pid_t pid, const char *path) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    unlink(path);
}
