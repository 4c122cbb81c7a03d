/*
 * check: one permission check against a Warden server.
 *
 *     check SOCKET USER PERM [TYPE:PK]
 *     check var/warden.sock 42 drivers.change_car drivers.car:7
 *
 * Prints the decision and its reason; exits 0 when allowed, 1 when denied, 2 on an error (with
 * the status and the server's message on stderr), as `warden check` does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden.h"

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s SOCKET USER PERM [TYPE:PK]\n", argv[0]);
        return 2;
    }
    warden_check_request request = {.user = argv[2], .permission = argv[3]};
    char *object = NULL;
    if (argc == 5) {
        /* The pk is everything after the first colon: "files.file:/home/www/joe.config" works. */
        object = strdup(argv[4]);
        char *colon = object ? strchr(object, ':') : NULL;
        if (!colon) {
            fprintf(stderr, "%s: the object must be TYPE:PK (got \"%s\")\n", argv[0], argv[4]);
            free(object);
            return 2;
        }
        *colon = '\0';
        request.object_type = object;
        request.object_pk = colon + 1;
    }

    warden_status status;
    warden_conn *conn = warden_connect(argv[1], NULL, &status);
    if (!conn) {
        fprintf(stderr, "warden: %s: %s\n", warden_code_name(status.code), status.message);
        free(object);
        return 2;
    }
    warden_check_result result;
    int exit_code = 2;
    if (warden_check(conn, &request, &result, &status) == WARDEN_OK) {
        printf("%s %s", result.decision.allowed ? "allow" : "deny", warden_reason_name(result.decision.reason));
        if (result.decision.group) printf(" (group %s)", result.decision.group);
        printf("   (revision %llu)\n", (unsigned long long)result.revision);
        exit_code = result.decision.allowed ? 0 : 1;
        warden_check_result_clear(&result);
    } else {
        fprintf(stderr, "warden: %s: %s\n", warden_code_name(status.code), status.message);
    }
    warden_close(conn);
    free(object);
    return exit_code;
}
