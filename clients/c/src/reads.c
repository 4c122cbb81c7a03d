/*
 * reads.c: Check (blocking and pipelined), BatchCheck, ListObjects, ListSubjects and
 * BatchGetPermissions.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Sets a proto3 optional bool (a oneof of one field in the generated code) unless DEFAULT. */
#define SET_OPTIONAL_BOOL(message, field, present, value)                                                              \
    do {                                                                                                           \
        if ((value) != WARDEN_DEFAULT) {                                                                           \
            (message)._##field##_case = (present);                                                                 \
            (message).field = (value) == WARDEN_TRUE;                                                              \
        }                                                                                                          \
    } while (0)

/* A BatchCheck item's protobuf form, pointing into the caller's strings and its own parts. */
typedef struct item_message {
    Warden__V1__CheckItem item;
    Warden__V1__Subject subject;
    Warden__V1__ObjectRef object;
} item_message;

static char *text(const char *s) { return (char *)(s ? s : ""); }

static warden_code fill_subject(Warden__V1__Subject *subject, const char *user, const char *group, warden_status *st) {
    warden__v1__subject__init(subject);
    if (user && group) return status_set(st, WARDEN_INVALID_ARGUMENT, true, "subject: set user or group, not both");
    if (user) subject->kind_case = WARDEN__V1__SUBJECT__KIND_USER, subject->user = (char *)user;
    if (group) subject->kind_case = WARDEN__V1__SUBJECT__KIND_GROUP, subject->group = (char *)group;
    return WARDEN_OK;
}

/* The same mapping as check_codec.c's for a CheckRequest (a CheckItem has its first five fields). */
static warden_code fill_item(item_message *m, const warden_check_request *r, warden_status *st) {
    warden__v1__check_item__init(&m->item);
    warden_code code = fill_subject(&m->subject, r->user, r->group, st);
    if (code) return code;
    if (r->user || r->group) m->item.subject = &m->subject;
    m->item.permission = text(r->permission);
    if (r->object_type || r->object_pk) {
        warden__v1__object_ref__init(&m->object);
        m->object.content_type = text(r->object_type);
        m->object.pk = text(r->object_pk);
        m->item.object = &m->object;
    }
    m->item.content_type = text(r->content_type);
    SET_OPTIONAL_BOOL(m->item, accept_global_perms, WARDEN__V1__CHECK_ITEM___ACCEPT_GLOBAL_PERMS_ACCEPT_GLOBAL_PERMS,
                      r->accept_global_perms);
    return WARDEN_OK;
}

void warden_check_result_clear(warden_check_result *result) {
    if (!result) return;
    free(result->decision.group);
    memset(result, 0, sizeof *result);
}

/* Opens a Check request and queues its frame (encoded by check_codec.c); *id is its id. */
static warden_code queue_check(warden_conn *c, const warden_check_request *r, bool pipelined, uint32_t *id,
                               warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (code) return code;
    if (!r) return status_set(st, WARDEN_INVALID_ARGUMENT, true, "request: NULL");
    if (r->user && r->group) return status_set(st, WARDEN_INVALID_ARGUMENT, true, "subject: set user or group, not both");
    if ((code = conn_open_request(c, M_CHECK, pipelined, id, st))) return code;
    size_t size = check_encoded_size(r);
    uint8_t *body = conn_queue_header(c, *id, M_CHECK, FLAG_END_STREAM, size, st);
    if (!body) {
        conn_release(c, *id);
        return st ? st->code : WARDEN_INVALID_ARGUMENT;
    }
    check_encode(r, body);
    return WARDEN_OK;
}

warden_code warden_check(warden_conn *c, const warden_check_request *request, warden_check_result *result,
                         warden_status *st) {
    warden_check_result ignored;
    warden_check_result *out = result ? result : &ignored;
    memset(out, 0, sizeof *out);
    uint32_t id;
    warden_code code = queue_check(c, request, false, &id, st);
    if (!code) code = conn_wait(c, id, conn_deadline(c), st);
    if (!code) code = conn_take_check(c, id, out, st);
    if (!result) warden_check_result_clear(&ignored);
    return code;
}

/* ------------------------------------------------------------------------------------------ */
/* Pipelined checks                                                                             */

warden_code warden_submit_check(warden_conn *c, const warden_check_request *request, uint32_t *ticket,
                                warden_status *st) {
    uint32_t id;
    warden_code code = queue_check(c, request, true, &id, st);
    if (code) return code;
    c->in_flight++;
    if (ticket) *ticket = id;
    if ((code = conn_submit_flush(c, st))) return code;
    return status_ok(st);
}

warden_code warden_flush(warden_conn *c, warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (!code) code = conn_flush(c, 0, conn_deadline(c), st);
    return code ? code : status_ok(st);
}

static warden_code complete(warden_conn *c, uint32_t id, warden_check_completion *out, warden_status *st) {
    out->ticket = id;
    c->in_flight--;
    conn_take_check(c, id, &out->result, &out->status);
    return status_ok(st);
}

warden_code warden_poll_check(warden_conn *c, int timeout_ms, warden_check_completion *completion,
                              warden_status *st) {
    uint32_t id;
    warden_code code = conn_usable(c, st);
    if (code) return code;
    if (!completion) return status_set(st, WARDEN_INVALID_ARGUMENT, true, "completion: NULL");
    if (conn_pop_done(c, &id)) return complete(c, id, completion, st);
    if (c->in_flight == 0) return status_set(st, WARDEN_FAILED_PRECONDITION, true, "no pipelined check in flight");
    /* Whatever has already arrived first, without waiting; then wait. */
    if ((code = conn_pump(c, -1, false, st))) return code;
    int64_t deadline = timeout_ms < 0 ? -1 : now_ns() + (int64_t)timeout_ms * 1000000;
    while (!conn_pop_done(c, &id)) {
        code = conn_pump(c, deadline, true, st);
        if (code == WARDEN_DEADLINE_EXCEEDED)
            return status_set(st, code, true, "no pipelined check finished within %d ms", timeout_ms);
        if (code) return code;
    }
    return complete(c, id, completion, st);
}

/* ------------------------------------------------------------------------------------------ */
/* BatchCheck                                                                                   */

void warden_batch_result_free(warden_batch_result *result) {
    if (!result) return;
    for (size_t i = 0; i < result->count; i++) {
        free(result->items[i].message);
        free(result->items[i].decision.group);
    }
    free(result->items);
    free(result);
}

static warden_code batch_take(warden_conn *c, Warden__V1__BatchCheckResponse *response, size_t count,
                              warden_batch_result **out, warden_status *st) {
    if (response->n_results != count)
        return conn_fail(c, st, WARDEN_INTERNAL, true, "malformed reply: %zu results for %zu checks",
                         response->n_results, count);
    warden_batch_result *result = calloc(1, sizeof *result);
    warden_batch_item *items = calloc(count ? count : 1, sizeof *items);
    if (!result || !items) {
        free(result);
        free(items);
        return status_set(st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
    }
    result->items = items;
    result->count = count;
    result->revision = response->revision;
    for (size_t i = 0; i < count; i++) {
        Warden__V1__CheckResult *r = response->results[i];
        if (r->result_case == WARDEN__V1__CHECK_RESULT__RESULT_DECISION) {
            decision_take(&items[i].decision, r->decision);
        } else if (r->result_case == WARDEN__V1__CHECK_RESULT__RESULT_ERROR) {
            uint32_t code = r->error->code;
            items[i].code = code == 0 || code > WARDEN_UNAUTHENTICATED ? WARDEN_UNKNOWN : (warden_code)code;
            items[i].message = steal_string(&r->error->message);
            if (!items[i].message) items[i].message = calloc(1, 1);
        } else {
            warden_batch_result_free(result);
            return conn_fail(c, st, WARDEN_INTERNAL, true, "malformed reply: result %zu has neither a decision nor an error", i);
        }
    }
    *out = result;
    return status_ok(st);
}

warden_code warden_batch_check(warden_conn *c, const warden_check_request *requests, size_t count,
                               uint64_t min_revision, warden_batch_result **out, warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (code) return code;
    if (!out || (count && !requests)) return status_set(st, WARDEN_INVALID_ARGUMENT, true, "requests or result: NULL");
    *out = NULL;
    item_message *items = calloc(count ? count : 1, sizeof *items);
    Warden__V1__CheckItem **pointers = calloc(count ? count : 1, sizeof *pointers);
    if (!items || !pointers) code = status_set(st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
    for (size_t i = 0; !code && i < count; i++) {
        code = fill_item(&items[i], &requests[i], st);
        pointers[i] = &items[i].item;
    }
    ProtobufCMessage *reply = NULL;
    if (!code) {
        Warden__V1__BatchCheckRequest request = WARDEN__V1__BATCH_CHECK_REQUEST__INIT;
        request.n_items = count;
        request.items = pointers;
        request.min_revision = min_revision;
        code = conn_call(c, M_BATCH_CHECK, &request.base, &reply, st);
    }
    free(items);
    free(pointers);
    if (code) return code;
    code = batch_take(c, (Warden__V1__BatchCheckResponse *)reply, count, out, st);
    protobuf_c_message_free_unpacked(reply, NULL);
    return code;
}

/* ------------------------------------------------------------------------------------------ */
/* ListObjects                                                                                  */

void warden_list_page_free(warden_list_page *page) {
    if (!page) return;
    for (size_t i = 0; i < page->count; i++) free(page->pks[i]);
    free(page->pks);
    free(page->next_page_token);
    free(page->unrestricted_reason.group);
    free(page->content_type);
    free(page);
}

warden_code warden_list_objects(warden_conn *c, const warden_list_request *r, warden_list_page **out,
                                warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (code) return code;
    if (!r || !out) return status_set(st, WARDEN_INVALID_ARGUMENT, true, "request or page: NULL");
    *out = NULL;
    Warden__V1__ListObjectsRequest request = WARDEN__V1__LIST_OBJECTS_REQUEST__INIT;
    Warden__V1__Subject subject;
    if ((code = fill_subject(&subject, r->user, r->group, st))) return code;
    if (r->user || r->group) request.subject = &subject;
    request.n_permissions = r->permission_count;
    request.permissions = (char **)r->permissions;
    request.content_type = text(r->content_type);
    request.any_perm = r->any_perm;
    SET_OPTIONAL_BOOL(request, use_groups, WARDEN__V1__LIST_OBJECTS_REQUEST___USE_GROUPS_USE_GROUPS, r->use_groups);
    SET_OPTIONAL_BOOL(request, with_superuser, WARDEN__V1__LIST_OBJECTS_REQUEST___WITH_SUPERUSER_WITH_SUPERUSER,
                      r->with_superuser);
    SET_OPTIONAL_BOOL(request, accept_global_perms,
                      WARDEN__V1__LIST_OBJECTS_REQUEST___ACCEPT_GLOBAL_PERMS_ACCEPT_GLOBAL_PERMS,
                      r->accept_global_perms);
    if (r->page_size) {
        request._page_size_case = WARDEN__V1__LIST_OBJECTS_REQUEST___PAGE_SIZE_PAGE_SIZE;
        request.page_size = r->page_size;
    }
    request.page_token = text(r->page_token);
    request.min_revision = r->min_revision;

    ProtobufCMessage *reply = NULL;
    if ((code = conn_call(c, M_LIST_OBJECTS, &request.base, &reply, st))) return code;
    Warden__V1__ListObjectsResponse *response = (Warden__V1__ListObjectsResponse *)reply;
    warden_list_page *page = calloc(1, sizeof *page);
    if (!page) {
        protobuf_c_message_free_unpacked(reply, NULL);
        return status_set(st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
    }
    page->unrestricted = response->unrestricted;
    if (response->unrestricted_reason) decision_take(&page->unrestricted_reason, response->unrestricted_reason);
    /* The pks were decoded into heap strings: the page takes the array as it is. */
    page->count = response->n_pks;
    page->pks = response->pks;
    response->n_pks = 0;
    response->pks = NULL;
    page->next_page_token = steal_string(&response->next_page_token);
    page->revision = response->revision;
    /* NULL when empty (a server that predates the field): the page then holds its own "". */
    page->content_type = steal_string(&response->content_type);
    protobuf_c_message_free_unpacked(reply, NULL);
    if (!page->content_type && !(page->content_type = calloc(1, 1))) {
        warden_list_page_free(page);
        return status_set(st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
    }
    *out = page;
    return status_ok(st);
}

static void subjects_free(warden_subject_access *subjects, size_t count) {
    for (size_t i = 0; i < count; i++) {
        free(subjects[i].name);
        for (size_t j = 0; j < subjects[i].permission_count; j++) free(subjects[i].permissions[j]);
        free(subjects[i].permissions);
    }
    free(subjects);
}

void warden_subject_list_free(warden_subject_list *list) {
    if (!list) return;
    subjects_free(list->users, list->user_count);
    subjects_free(list->groups, list->group_count);
    free(list);
}

/* Takes the decoded subjects' strings (the message keeps only what is left to free). */
static bool take_subjects(Warden__V1__SubjectAccess **in, size_t count, warden_subject_access **out) {
    *out = NULL;
    if (count == 0) return true;
    warden_subject_access *subjects = calloc(count, sizeof *subjects);
    if (!subjects) return false;
    for (size_t i = 0; i < count; i++) {
        /* A name absent from the reply is protobuf-c's shared empty string: never ours to free. */
        subjects[i].name = steal_string(&in[i]->name);
        if (!subjects[i].name && !(subjects[i].name = calloc(1, 1))) {
            subjects_free(subjects, i);
            return false;
        }
        subjects[i].permission_count = in[i]->n_permissions;
        subjects[i].permissions = in[i]->permissions;
        in[i]->n_permissions = 0;
        in[i]->permissions = NULL;
    }
    *out = subjects;
    return true;
}

warden_code warden_list_subjects(warden_conn *c, const warden_subjects_request *r, warden_subject_list **out,
                                 warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (code) return code;
    if (!r || !out) return status_set(st, WARDEN_INVALID_ARGUMENT, true, "request or list: NULL");
    *out = NULL;
    Warden__V1__ListSubjectsRequest request = WARDEN__V1__LIST_SUBJECTS_REQUEST__INIT;
    Warden__V1__ObjectRef object = WARDEN__V1__OBJECT_REF__INIT;
    if (r->object_type || r->object_pk) {  /* neither: the server answers "object: required" */
        object.content_type = text(r->object_type);
        object.pk = text(r->object_pk);
        request.object = &object;
    }
    request.n_permissions = r->permission_count;
    request.permissions = (char **)r->permissions;
    request.with_superusers = r->with_superusers;
    SET_OPTIONAL_BOOL(request, with_group_users, WARDEN__V1__LIST_SUBJECTS_REQUEST___WITH_GROUP_USERS_WITH_GROUP_USERS,
                      r->with_group_users);
    request.attach_perms = r->attach_perms;
    SET_OPTIONAL_BOOL(request, accept_global_perms,
                      WARDEN__V1__LIST_SUBJECTS_REQUEST___ACCEPT_GLOBAL_PERMS_ACCEPT_GLOBAL_PERMS,
                      r->accept_global_perms);
    request.min_revision = r->min_revision;

    ProtobufCMessage *reply = NULL;
    if ((code = conn_call(c, M_LIST_SUBJECTS, &request.base, &reply, st))) return code;
    Warden__V1__ListSubjectsResponse *response = (Warden__V1__ListSubjectsResponse *)reply;
    warden_subject_list *list = calloc(1, sizeof *list);
    bool taken = list && take_subjects(response->users, response->n_users, &list->users);
    if (taken) list->user_count = response->n_users;
    taken = taken && take_subjects(response->groups, response->n_groups, &list->groups);
    if (taken) list->group_count = response->n_groups;
    if (list) list->revision = response->revision;
    protobuf_c_message_free_unpacked(reply, NULL);
    if (!taken) {
        warden_subject_list_free(list);
        return status_set(st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
    }
    *out = list;
    return status_ok(st);
}

bool warden_permission_sets_has(const warden_permission_sets *sets, size_t object, size_t codename) {
    if (!sets || object >= sets->count || codename >= sets->codename_count) return false;
    return sets->masks[object * sets->mask_bytes + codename / 8] >> (codename % 8) & 1;
}

void warden_permission_sets_free(warden_permission_sets *sets) {
    if (!sets) return;
    for (size_t i = 0; i < sets->codename_count; i++) free(sets->codenames[i]);
    free(sets->codenames);
    free(sets->masks);
    free(sets);
}

warden_code warden_batch_get_permissions(warden_conn *c, const warden_permissions_request *r,
                                         warden_permission_sets **out, warden_status *st) {
    warden_code code = conn_usable(c, st);
    if (code) return code;
    if (!r || !out) return status_set(st, WARDEN_INVALID_ARGUMENT, true, "request or sets: NULL");
    *out = NULL;
    Warden__V1__BatchGetPermissionsRequest request = WARDEN__V1__BATCH_GET_PERMISSIONS_REQUEST__INIT;
    Warden__V1__Subject subject;
    if ((code = fill_subject(&subject, r->user, r->group, st))) return code;
    if (r->user || r->group) request.subject = &subject;
    request.content_type = text(r->content_type);
    request.n_pks = r->pk_count;
    request.pks = (char **)r->pks;
    request.mode = (Warden__V1__PermissionMode)r->mode;
    SET_OPTIONAL_BOOL(request, accept_global_perms,
                      WARDEN__V1__BATCH_GET_PERMISSIONS_REQUEST___ACCEPT_GLOBAL_PERMS_ACCEPT_GLOBAL_PERMS,
                      r->accept_global_perms);
    request.min_revision = r->min_revision;

    ProtobufCMessage *reply = NULL;
    if ((code = conn_call(c, M_BATCH_GET_PERMISSIONS, &request.base, &reply, st))) return code;
    Warden__V1__BatchGetPermissionsResponse *response = (Warden__V1__BatchGetPermissionsResponse *)reply;
    size_t width = (response->n_codenames + 7) / 8;
    if (response->masks.len != width * r->pk_count) {
        size_t got = response->masks.len, codenames = response->n_codenames;
        protobuf_c_message_free_unpacked(reply, NULL);
        return conn_fail(c, st, WARDEN_INTERNAL, true, "malformed reply: %zu mask bytes for %zu pks of %zu codenames",
                         got, r->pk_count, codenames);
    }
    warden_permission_sets *sets = calloc(1, sizeof *sets);
    if (!sets) {
        protobuf_c_message_free_unpacked(reply, NULL);
        return status_set(st, WARDEN_RESOURCE_EXHAUSTED, true, "out of memory");
    }
    /* The codenames were decoded into heap strings, and the masks into a heap buffer: taken. */
    sets->codename_count = response->n_codenames;
    sets->codenames = response->codenames;
    response->n_codenames = 0;
    response->codenames = NULL;
    sets->count = r->pk_count;
    sets->mask_bytes = width;
    sets->masks = response->masks.len ? response->masks.data : NULL;
    if (response->masks.len) {
        response->masks.data = NULL;
        response->masks.len = 0;
    }
    sets->revision = response->revision;
    protobuf_c_message_free_unpacked(reply, NULL);
    *out = sets;
    return status_ok(st);
}
