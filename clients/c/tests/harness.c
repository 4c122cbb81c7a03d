/*
 * harness.c: assertions, the real server process and the run's main().
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int harness_passed, harness_failed;

/* The test under way: its name and the assertion failures counted when it began. */
static const char *current;
static int failures_at_start;
static int tests_passed, tests_failed;

static void end_test(void) {
    if (!current) return;
    bool ok = harness_failed == failures_at_start;
    ok ? tests_passed++ : tests_failed++;
    printf("%s %s\n", ok ? "ok  " : "FAIL", current);
    fflush(stdout);
    current = NULL;
}

void harness_test(const char *name) {
    end_test();
    current = name;
    failures_at_start = harness_failed;
}

bool harness_check(bool ok, const char *what, const char *file, int line) {
    if (ok) {
        harness_passed++;
    } else {
        harness_failed++;
        printf("  FAIL %s:%d: %s\n", file, line, what);
    }
    return ok;
}

bool harness_code(int got, int want, const warden_status *st, const char *what, const char *file, int line) {
    if (got == want) {
        harness_passed++;
        return true;
    }
    harness_failed++;
    printf("  FAIL %s:%d: %s = %s, expected %s", file, line, what, warden_code_name(got), warden_code_name(want));
    if (st) printf(" (status %s%s: %s)", warden_code_name(st->code), st->local ? ", local" : "", st->message);
    printf("\n");
    return false;
}

/* ------------------------------------------------------------------------------------------ */

/* The server binary: $WARDEN_BIN, else .build/debug/warden of the repository this test was
 * built in (the test runs from clients/c/<build>/, four levels below the repository). */
static const char *server_binary(void) {
    static char path[PATH_MAX + 32];
    const char *env = getenv("WARDEN_BIN");
    if (env && *env) return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return ".build/debug/warden";
    exe[n] = '\0';
    for (int i = 0; i < 4; i++) {
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
    }
    snprintf(path, sizeof path, "%s/.build/debug/warden", exe);
    return path;
}

static void sleep_ms(int ms) {
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&pause, &pause) < 0 && errno == EINTR) {}
}

bool server_start(test_server *server) {
    const char *binary = server_binary();
    if (access(binary, X_OK) != 0) {
        printf("  the server binary %s is missing: build it (swift build --product warden) or set WARDEN_BIN\n", binary);
        return false;
    }
    snprintf(server->dir, sizeof server->dir, "/tmp/warden-c-test.XXXXXX");
    if (!mkdtemp(server->dir)) return false;
    snprintf(server->socket, sizeof server->socket, "%s/s.sock", server->dir);
    char database[320], log[320];
    snprintf(database, sizeof database, "%s/db", server->dir);
    snprintf(log, sizeof log, "%s/server.log", server->dir);
    server->pid = fork();
    if (server->pid < 0) return false;
    if (server->pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
        execl(binary, binary, "serve", "--socket", server->socket, "--database", database, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000; i++) {
        warden_status st;
        warden_conn *c = warden_connect(server->socket, NULL, &st);
        if (c) {
            warden_code code = warden_health(c, NULL, &st);
            warden_close(c);
            if (code == WARDEN_OK) return true;
        }
        if (waitpid(server->pid, NULL, WNOHANG) == server->pid) {
            printf("  the server exited at start; its log is %s\n", log);
            server->pid = 0;
            return false;
        }
        sleep_ms(20);
    }
    printf("  the server did not accept connections within 60 s\n");
    return false;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void server_kill(test_server *server) {
    if (server->pid > 0) {
        kill(server->pid, SIGKILL);
        waitpid(server->pid, NULL, 0);
        server->pid = 0;
    }
}

void server_stop(test_server *server) {
    if (server->pid > 0) {
        kill(server->pid, SIGTERM);
        waitpid(server->pid, NULL, 0);
        server->pid = 0;
    }
    if (server->dir[0]) nftw(server->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    server->dir[0] = '\0';
}

pid_t server_kill_later(test_server *server, int ms) {
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(ms);
        kill(server->pid, SIGKILL);
        _exit(0);
    }
    return child;
}

warden_conn *server_connect(const test_server *server, int timeout_ms) {
    warden_status st;
    warden_options options = {.timeout_ms = timeout_ms};
    warden_conn *c = warden_connect(server->socket, &options, &st);
    if (!c) {
        printf("  cannot connect to %s: %s\n", server->socket, st.message);
        exit(2);
    }
    return c;
}

int main(void) {
    signal(SIGPIPE, SIG_DFL); /* the library must never raise it */
    test_codec();
    test_against_server();
    test_pipelining_and_bulk();
    test_malformed_replies();
    test_server_death();
    end_test();
    printf("%d assertions passed, %d failed\n", harness_passed, harness_failed);
    printf("libwarden: %d passed, %d failed\n", tests_passed, tests_failed);
    return harness_failed || tests_failed || tests_passed == 0 ? 1 : 0;
}
