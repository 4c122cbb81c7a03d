/*
 * writes.c: Grant, Revoke, the BulkGrant/BulkRevoke client streams, set-up writes and Health.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* A chunk is closed at about this many encoded bytes (as the Swift client does), far below the
 * server's 4 MiB frame limit whatever the strings' lengths. */
#define CHUNK_BYTES (1u << 20)
#define DEFAULT_CHUNK_GRANTS 10000

static char *text(const char *s) { return (char *)(s ? s : ""); }

/* A grant's protobuf form: the grant and its subject, pointing into the caller's strings. */
typedef struct grant_message {
    Warden__V1__Grant grant;
    Warden__V1__Subject subject;
} grant_message;

static warden_code fill_grant(grant_message *m, const warden_grant_spec *g, size_t index, warden_status *st) {
    if (!g) return status_set(st, WARDEN_INVALID_ARGUMENT, true, "grant: NULL");
    if (g->user && g->group)
        return status_set(st, WARDEN_INVALID_ARGUMENT, true, "grants[%zu].subject: set user or group, not both", index);
    warden__v1__grant__init(&m->grant);
    warden__v1__subject__init(&m->subject);
    if (g->user) m->subject.kind_case = WARDEN__V1__SUBJECT__KIND_USER, m->subject.user = (char *)g->user;
    if (g->group) m->subject.kind_case = WARDEN__V1__SUBJECT__KIND_GROUP, m->subject.group = (char *)g->group;
    m->grant.subject = &m->subject;
    m->grant.permission = text(g->permission);
    m->grant.content_type = text(g->content_type);
    if (g->pk) m->grant._pk_case = WARDEN__V1__GRANT___PK_PK, m->grant.pk = (char *)g->pk;
    return WARDEN_OK;
}

/* Runs a single write whose reply is a WriteResponse. */
static warden_code write_call(warden_conn *c, uint16_t method, const ProtobufCMessage *request,
                              warden_write_result *result, warden_status *st) {
    ProtobufCMessage *reply = NULL;
    if (result) memset(result, 0, sizeof *result);
    warden_code code = conn_call(c, method, request, &reply, st);
    if (code) return code;
    const Warden__V1__WriteResponse *response = (const Warden__V1__WriteResponse *)reply;
    if (result) result->revision = response->revision, result->changed = response->changed;
    protobuf_c_message_free_unpacked(reply, NULL);
    return WARDEN_OK;
}

static warden_code single_grant(warden_conn *c, uint16_t method, const warden_grant_spec *grant, const char *actor,
                                warden_write_result *result, warden_status *st) {
    grant_message m;
    warden_code code = conn_usable(c, st);
    if (!code) code = fill_grant(&m, grant, 0, st);
    if (code) return code;
    Warden__V1__GrantRequest request = WARDEN__V1__GRANT_REQUEST__INIT;
    request.grant = &m.grant;
    request.actor = text(actor);
    return write_call(c, method, &request.base, result, st);
}

warden_code warden_grant(warden_conn *c, const warden_grant_spec *grant, const char *actor, warden_write_result *result,
                         warden_status *st) {
    return single_grant(c, M_GRANT, grant, actor, result, st);
}

warden_code warden_revoke(warden_conn *c, const warden_grant_spec *grant, const char *actor, warden_write_result *result,
                          warden_status *st) {
    return single_grant(c, M_REVOKE, grant, actor, result, st);
}

/* ------------------------------------------------------------------------------------------ */
/* Bulk streams                                                                                 */

static size_t varint_size(size_t v) {
    size_t n = 1;
    while (v >= 0x80) v >>= 7, n++;
    return n;
}

/* Sends grants[*next..] as one chunk frame on `id`: as many grants as fit `per_chunk` and the
 * byte budget. Advances *next; the chunk that reaches the end carries END_STREAM. */
static warden_code send_chunk(warden_conn *c, uint32_t id, uint16_t method, const warden_grant_spec *grants,
                              size_t count, size_t *next, size_t per_chunk, const char *actor,
                              grant_message *parts, Warden__V1__Grant **pointers, warden_status *st) {
    Warden__V1__BulkGrantRequest chunk = WARDEN__V1__BULK_GRANT_REQUEST__INIT;
    /* `actor` is read from the first chunk only. */
    chunk.actor = *next == 0 ? text(actor) : "";
    size_t overhead = FRAME_MIN_LENGTH + 16 + strlen(chunk.actor);
    size_t budget = c->max_request_frame > overhead ? c->max_request_frame - overhead : 0;
    if (budget > CHUNK_BYTES) budget = CHUNK_BYTES;
    size_t bytes = 0, n = 0;
    while (*next + n < count && n < per_chunk) {
        warden_code code = fill_grant(&parts[n], &grants[*next + n], *next + n, st);
        if (code) return code;
        size_t size = protobuf_c_message_get_packed_size(&parts[n].grant.base);
        size += 1 + varint_size(size);
        if (n > 0 && bytes + size > budget) break;
        bytes += size;
        pointers[n] = &parts[n].grant;
        n++;
    }
    chunk.n_grants = n;
    chunk.grants = pointers;
    *next += n;
    return conn_queue_frame(c, id, method, *next == count ? FLAG_END_STREAM : 0, &chunk.base, st);
}

static warden_code bulk(warden_conn *c, uint16_t method, const warden_grant_spec *grants, size_t count, size_t per_chunk,
                        const char *actor, warden_bulk_result *result, warden_status *st) {
    if (result) memset(result, 0, sizeof *result);
    warden_code code = conn_usable(c, st);
    if (code) return code;
    if (count && !grants) return status_set(st, WARDEN_INVALID_ARGUMENT, true, "grants: NULL");
    for (size_t i = 0; i < count; i++)
        if (grants[i].user && grants[i].group)
            return status_set(st, WARDEN_INVALID_ARGUMENT, true, "grants[%zu].subject: set user or group, not both", i);
    if (per_chunk == 0) per_chunk = DEFAULT_CHUNK_GRANTS;
    size_t parts_count = per_chunk < count ? per_chunk : count ? count : 1;
    grant_message *parts = malloc(parts_count * sizeof *parts);
    Warden__V1__Grant **pointers = malloc(parts_count * sizeof *pointers);
    uint32_t id = 0;
    if (!parts || !pointers) code = status_set(st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
    if (!code) code = conn_open_request(c, method, false, &id, st);
    int64_t deadline = conn_deadline(c);
    size_t next = 0;
    /* One chunk queued and sent at a time, reading answers meanwhile: a refusal of the stream
     * (sent as soon as its first chunk arrives) stops the upload. */
    while (!code) {
        size_t before = next;
        if ((code = send_chunk(c, id, method, grants, count, &next, per_chunk, actor, parts, pointers, st))) {
            if (before == 0) {
                conn_release(c, id);
            } else {
                /* End the stream; the server answers CANCELLED, and the id stays reserved until then. */
                if (!conn_queue_frame(c, id, method, FLAG_CANCEL, NULL, NULL)) conn_flush(c, 0, deadline, NULL);
                conn_abandon(c, id);
            }
            break;
        }
        if ((code = conn_flush(c, id, deadline, st)) || next == count) break;
        if ((code = conn_pump(c, -1, false, st))) break;
        if (conn_answered(c, id)) break;
    }
    free(parts);
    free(pointers);
    if (code) return code;
    if (next < count) {
        /* Refused before its end: that answer was the stream's last frame on the server's side,
         * and a CANCEL frees the id there. */
        if ((code = conn_queue_frame(c, id, method, FLAG_CANCEL, NULL, st)) ||
            (code = conn_flush(c, 0, deadline, st)))
            return code;
    } else if ((code = conn_wait(c, id, deadline, st))) {
        return code;
    }
    ProtobufCMessage *reply = NULL;
    if ((code = conn_take(c, id, &reply, st))) return code;
    const Warden__V1__BulkResponse *response = (const Warden__V1__BulkResponse *)reply;
    if (result) {
        result->revision = response->revision;
        result->count = response->count;
        result->requested = response->requested;
    }
    protobuf_c_message_free_unpacked(reply, NULL);
    return WARDEN_OK;
}

warden_code warden_bulk_grant(warden_conn *c, const warden_grant_spec *grants, size_t count, size_t chunk_grants,
                              const char *actor, warden_bulk_result *result, warden_status *st) {
    return bulk(c, M_BULK_GRANT, grants, count, chunk_grants, actor, result, st);
}

warden_code warden_bulk_revoke(warden_conn *c, const warden_grant_spec *grants, size_t count, size_t chunk_grants,
                               const char *actor, warden_bulk_result *result, warden_status *st) {
    return bulk(c, M_BULK_REVOKE, grants, count, chunk_grants, actor, result, st);
}

/* ------------------------------------------------------------------------------------------ */
/* Set-up writes and Health                                                                     */

warden_code warden_register_content_type(warden_conn *c, const char *content_type, const char *const *custom,
                                         size_t custom_count, bool no_defaults, const char *actor,
                                         warden_write_result *result, warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (code) return code;
    Warden__V1__RegisterContentTypeRequest request = WARDEN__V1__REGISTER_CONTENT_TYPE_REQUEST__INIT;
    request.content_type = text(content_type);
    if (no_defaults) request._defaults_case = WARDEN__V1__REGISTER_CONTENT_TYPE_REQUEST___DEFAULTS_DEFAULTS;
    request.defaults = false;
    request.n_custom = custom ? custom_count : 0;
    request.custom = (char **)custom;
    request.actor = text(actor);
    return write_call(c, M_REGISTER_CONTENT_TYPE, &request.base, result, st);
}

warden_code warden_put_user(warden_conn *c, const char *id, const char *username, bool is_active, bool is_superuser,
                            const char *actor, warden_write_result *result, warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (code) return code;
    Warden__V1__User user = WARDEN__V1__USER__INIT;
    user.id = text(id);
    if (username) user._username_case = WARDEN__V1__USER___USERNAME_USERNAME, user.username = (char *)username;
    user._is_active_case = WARDEN__V1__USER___IS_ACTIVE_IS_ACTIVE;
    user.is_active = is_active;
    user.is_superuser = is_superuser;
    Warden__V1__PutUserRequest request = WARDEN__V1__PUT_USER_REQUEST__INIT;
    request.user = &user;
    request.actor = text(actor);
    return write_call(c, M_PUT_USER, &request.base, result, st);
}

warden_code warden_put_group(warden_conn *c, const char *name, const char *actor, warden_write_result *result,
                             warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (code) return code;
    Warden__V1__GroupRequest request = WARDEN__V1__GROUP_REQUEST__INIT;
    request.name = text(name);
    request.actor = text(actor);
    return write_call(c, M_PUT_GROUP, &request.base, result, st);
}

warden_code warden_add_member(warden_conn *c, const char *user, const char *group, const char *actor,
                              warden_write_result *result, warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (code) return code;
    Warden__V1__MemberRequest request = WARDEN__V1__MEMBER_REQUEST__INIT;
    request.user = text(user);
    request.group = text(group);
    request.actor = text(actor);
    return write_call(c, M_ADD_MEMBER, &request.base, result, st);
}

warden_code warden_health(warden_conn *c, uint64_t *revision, warden_status *st) {
    Warden__V1__HealthRequest request = WARDEN__V1__HEALTH_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    warden_code code = conn_usable(c, st);
    if (!code) code = conn_call(c, M_HEALTH, &request.base, &reply, st);
    if (code) return code;
    const Warden__V1__HealthResponse *response = (const Warden__V1__HealthResponse *)reply;
    if (revision) *revision = response->revision;
    if (strcmp(response->status, "SERVING") != 0)
        code = status_set(st, WARDEN_UNAVAILABLE, false, "the server is %s", response->status);
    protobuf_c_message_free_unpacked(reply, NULL);
    return code;
}
