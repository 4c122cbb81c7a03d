/*
 * status.c: warden_status, code and reason names, and decoded-string ownership.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const code_names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

static const char *const reason_names[] = {
    "REASON_UNSPECIFIED", "UNKNOWN_USER", "INACTIVE_USER", "SUPERUSER", "UNKNOWN_PERMISSION",
    "OBJECT_GRANT_USER", "OBJECT_GRANT_GROUP", "MODEL_GRANT_USER", "MODEL_GRANT_GROUP", "NO_GRANT",
};

const char *warden_code_name(int code) {
    return code >= 0 && code <= WARDEN_UNAUTHENTICATED ? code_names[code] : "UNKNOWN";
}

const char *warden_reason_name(int reason) {
    return reason >= 0 && reason <= WARDEN_NO_GRANT ? reason_names[reason] : reason_names[0];
}

warden_code status_ok(warden_status *st) {
    if (st) {
        st->code = WARDEN_OK;
        st->local = false;
        st->oldest_retained_revision = 0;
        st->message[0] = '\0';
    }
    return WARDEN_OK;
}

warden_code status_set(warden_status *st, warden_code code, bool local, const char *fmt, ...) {
    if (st) {
        st->code = code;
        st->local = local;
        st->oldest_retained_revision = 0;
        va_list args;
        va_start(args, fmt);
        vsnprintf(st->message, sizeof st->message, fmt, args);
        va_end(args);
    }
    return code;
}

warden_code status_copy(warden_status *st, const warden_status *from) {
    if (st && st != from) *st = *from;
    return from->code;
}

warden_code status_from_reply(warden_status *st, uint8_t code, const ProtobufCMessage *body) {
    /* The header's byte is authoritative; the body adds the message. */
    const Warden__V1__Status *s = (const Warden__V1__Status *)body;
    warden_code result = code > WARDEN_UNAUTHENTICATED ? WARDEN_UNKNOWN : (warden_code)code;
    status_set(st, result, false, "%s", s && s->message ? s->message : "");
    if (st && s) st->oldest_retained_revision = s->oldest_retained_revision;
    return result;
}

char *steal_string(char **field) {
    char *s = *field;
    /* protobuf-c leaves absent strings pointing at its shared empty string: never ours to free. */
    if (!s || s == protobuf_c_empty_string || !*s) return NULL;
    *field = NULL;
    return s;
}

void decision_take(warden_decision *out, Warden__V1__Decision *in) {
    out->allowed = in && in->allowed;
    out->reason = in ? (warden_reason)in->reason : WARDEN_REASON_UNSPECIFIED;
    out->group = in ? steal_string(&in->group) : NULL;
}
