/*
 * test_server.c: every API function against a real `warden serve` process.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static test_server server;
static warden_conn *conn;
static uint64_t last_revision;

/* Content types, users, a group and a membership, through the library's own set-up calls. */
static void set_up(void) {
    warden_status st;
    warden_write_result w;
    const char *custom[] = {"publish_experiment"};
    CHECK_CODE(warden_register_content_type(conn, "lab.experiment", custom, 1, false, NULL, &w, &st), WARDEN_OK, &st);
    CHECK(w.changed && w.revision > 0);
    CHECK_CODE(warden_register_content_type(conn, "drivers.car", NULL, 0, false, NULL, NULL, &st), WARDEN_OK, &st);
    const char *users[] = {"1", "2", "3", "4", "5"};
    for (size_t i = 0; i < 5; i++)
        CHECK_CODE(warden_put_user(conn, users[i], NULL, true, false, NULL, NULL, &st), WARDEN_OK, &st);
    CHECK_CODE(warden_put_user(conn, "9", "nine", false, false, NULL, NULL, &st), WARDEN_OK, &st);
    CHECK_CODE(warden_put_user(conn, "su", "root", true, true, NULL, NULL, &st), WARDEN_OK, &st);
    CHECK_CODE(warden_put_group(conn, "editors", NULL, NULL, &st), WARDEN_OK, &st);
    CHECK_CODE(warden_add_member(conn, "2", "editors", NULL, &w, &st), WARDEN_OK, &st);
    CHECK(w.changed);
    last_revision = w.revision;
}

/* Checks one request's decision; returns the revision. */
static uint64_t expect(const warden_check_request *r, bool allowed, warden_reason reason, const char *group) {
    warden_status st;
    warden_check_result result;
    if (!CHECK_CODE(warden_check(conn, r, &result, &st), WARDEN_OK, &st)) return 0;
    CHECK(result.decision.allowed == allowed);
    if (!CHECK(result.decision.reason == reason))
        printf("    got %s, expected %s\n", warden_reason_name(result.decision.reason), warden_reason_name(reason));
    if (group) CHECK(result.decision.group && strcmp(result.decision.group, group) == 0);
    else CHECK(result.decision.group == NULL);
    uint64_t revision = result.revision;
    warden_check_result_clear(&result);
    CHECK(result.decision.group == NULL && result.revision == 0);
    return revision;
}

static void test_grant_check_revoke(void) {
    harness_test("grant (idempotent) and check: every reason code, group and revision");
    warden_status st;
    warden_write_result w;
    warden_grant_spec g = {.user = "1", .permission = "lab.change_experiment", .pk = "7"};
    CHECK_CODE(warden_grant(conn, &g, NULL, &w, &st), WARDEN_OK, &st);
    CHECK(w.changed && w.revision > last_revision);
    uint64_t granted_at = w.revision;
    CHECK_CODE(warden_grant(conn, &g, NULL, &w, &st), WARDEN_OK, &st);
    CHECK(!w.changed && w.revision == granted_at); /* idempotent */

    warden_check_request r = {.user = "1", .permission = "lab.change_experiment",
                              .object_type = "lab.experiment", .object_pk = "7"};
    CHECK(expect(&r, true, WARDEN_OBJECT_GRANT_USER, NULL) == granted_at);
    r.object_pk = "8";
    expect(&r, false, WARDEN_NO_GRANT, NULL);
    r.user = "nobody";
    expect(&r, false, WARDEN_UNKNOWN_USER, NULL);
    r.user = "9";
    expect(&r, false, WARDEN_INACTIVE_USER, NULL);
    r.user = "su";
    expect(&r, true, WARDEN_SUPERUSER, NULL);
    r.user = "1";
    r.permission = "lab.fly_experiment";
    expect(&r, false, WARDEN_UNKNOWN_PERMISSION, NULL);

    /* Group grants, on an object and model-wide; and a group as the subject. */
    warden_grant_spec on_object = {.group = "editors", .permission = "view_experiment",
                                   .content_type = "lab.experiment", .pk = "3"};
    warden_grant_spec model = {.group = "editors", .permission = "lab.publish_experiment"};
    CHECK_CODE(warden_grant(conn, &on_object, NULL, NULL, &st), WARDEN_OK, &st);
    CHECK_CODE(warden_grant(conn, &model, NULL, NULL, &st), WARDEN_OK, &st);
    warden_check_request view = {.user = "2", .permission = "lab.view_experiment",
                                 .object_type = "lab.experiment", .object_pk = "3"};
    expect(&view, true, WARDEN_OBJECT_GRANT_GROUP, "editors");
    warden_check_request publish = {.user = "2", .permission = "lab.publish_experiment",
                                    .object_type = "lab.experiment", .object_pk = "5"};
    expect(&publish, true, WARDEN_MODEL_GRANT_GROUP, "editors");
    publish.accept_global_perms = WARDEN_FALSE;
    expect(&publish, false, WARDEN_NO_GRANT, NULL);
    warden_check_request model_level = {.user = "2", .permission = "publish_experiment", .content_type = "lab.experiment"};
    expect(&model_level, true, WARDEN_MODEL_GRANT_GROUP, "editors");
    warden_check_request as_group = {.group = "editors", .permission = "lab.view_experiment",
                                     .object_type = "lab.experiment", .object_pk = "3"};
    expect(&as_group, true, WARDEN_OBJECT_GRANT_GROUP, "editors");

    harness_test("revoke (idempotent), min_revision, health");
    /* Revoke, then the check is denied; revoking again changes nothing. */
    CHECK_CODE(warden_revoke(conn, &g, NULL, &w, &st), WARDEN_OK, &st);
    CHECK(w.changed && w.revision > granted_at);
    r = (warden_check_request){.user = "1", .permission = "lab.change_experiment",
                               .object_type = "lab.experiment", .object_pk = "7", .min_revision = w.revision};
    CHECK(expect(&r, false, WARDEN_NO_GRANT, NULL) >= w.revision);
    CHECK_CODE(warden_revoke(conn, &g, NULL, &w, &st), WARDEN_OK, &st);
    CHECK(!w.changed);
    uint64_t health_revision = 0;
    CHECK_CODE(warden_health(conn, &health_revision, &st), WARDEN_OK, &st);
    CHECK(health_revision >= w.revision);
}

static void test_errors(void) {
    harness_test("errors: INVALID_ARGUMENT and the server's message for a bad permission or pk");
    warden_status st;
    warden_check_result result;
    /* A bare codename with nothing to resolve it: INVALID_ARGUMENT, the server's message. */
    warden_check_request bare = {.user = "1", .permission = "change_experiment"};
    CHECK_CODE(warden_check(conn, &bare, &result, &st), WARDEN_INVALID_ARGUMENT, &st);
    CHECK(st.code == WARDEN_INVALID_ARGUMENT && !st.local);
    CHECK(strncmp(st.message, "permission: cannot tell which content type", 42) == 0);
    warden_check_request empty_pk = {.user = "1", .permission = "lab.view_experiment",
                                     .object_type = "lab.experiment", .object_pk = ""};
    CHECK_CODE(warden_check(conn, &empty_pk, &result, &st), WARDEN_INVALID_ARGUMENT, &st);
    CHECK(strcmp(st.message, "object.pk: must be 1..255 bytes of UTF-8 (got 0)") == 0);
    /* Both subjects set: refused here, before anything is sent. */
    warden_check_request both = {.user = "1", .group = "editors", .permission = "lab.view_experiment"};
    CHECK_CODE(warden_check(conn, &both, &result, &st), WARDEN_INVALID_ARGUMENT, &st);
    CHECK(st.local);
    harness_test("errors: NOT_FOUND, PERMISSION_DENIED (actor), ALREADY_EXISTS; the connection goes on");
    /* Writes: an unregistered subject, and a self-escalation refused for its actor. */
    warden_grant_spec ghost = {.user = "ghost", .permission = "lab.view_experiment", .pk = "1"};
    CHECK_CODE(warden_grant(conn, &ghost, NULL, NULL, &st), WARDEN_NOT_FOUND, &st);
    CHECK(strcmp(st.message, "user: \"ghost\" is not registered") == 0);
    warden_grant_spec self = {.user = "3", .permission = "lab.view_experiment", .pk = "1"};
    CHECK_CODE(warden_grant(conn, &self, "3", NULL, &st), WARDEN_PERMISSION_DENIED, &st);
    CHECK(!st.local && strlen(st.message) > 0);
    CHECK_CODE(warden_put_user(conn, "6", "nine", true, false, NULL, NULL, &st), WARDEN_ALREADY_EXISTS, &st);
    /* A list with page_size over the limit. */
    const char *perms[] = {"lab.view_experiment"};
    warden_list_request list = {.user = "3", .permissions = perms, .permission_count = 1, .page_size = 100001};
    warden_list_page *page = NULL;
    CHECK_CODE(warden_list_objects(conn, &list, &page, &st), WARDEN_INVALID_ARGUMENT, &st);
    CHECK(page == NULL);
    /* After all of these the connection still works. */
    CHECK(warden_is_open(conn));
    CHECK_CODE(warden_health(conn, NULL, &st), WARDEN_OK, &st);
    CHECK(strcmp(warden_code_name(WARDEN_UNAVAILABLE), "UNAVAILABLE") == 0 && strcmp(warden_code_name(99), "UNKNOWN") == 0);
    CHECK(strcmp(warden_reason_name(WARDEN_MODEL_GRANT_GROUP), "MODEL_GRANT_GROUP") == 0);
}

static void test_batch(void) {
    harness_test("batch check: decisions, an item's own error, an empty batch");
    warden_status st;
    warden_check_request items[5] = {
        {.user = "2", .permission = "lab.view_experiment", .object_type = "lab.experiment", .object_pk = "3"},
        {.user = "1", .permission = "lab.view_experiment", .object_type = "lab.experiment", .object_pk = "3"},
        {.user = "1", .permission = "change_experiment"}, /* an item's own error */
        {.user = "su", .permission = "lab.delete_experiment"},
        {.user = "2", .permission = "lab.publish_experiment"},
    };
    warden_batch_result *batch = NULL;
    if (CHECK_CODE(warden_batch_check(conn, items, 5, 0, &batch, &st), WARDEN_OK, &st)) {
        CHECK(batch->count == 5 && batch->revision > 0);
        CHECK(batch->items[0].code == WARDEN_OK && batch->items[0].decision.allowed &&
              batch->items[0].decision.reason == WARDEN_OBJECT_GRANT_GROUP &&
              strcmp(batch->items[0].decision.group, "editors") == 0 && batch->items[0].message == NULL);
        CHECK(batch->items[1].code == WARDEN_OK && !batch->items[1].decision.allowed &&
              batch->items[1].decision.reason == WARDEN_NO_GRANT);
        CHECK(batch->items[2].code == WARDEN_INVALID_ARGUMENT && batch->items[2].message &&
              strstr(batch->items[2].message, "cannot tell which content type") != NULL);
        CHECK(batch->items[3].code == WARDEN_OK && batch->items[3].decision.reason == WARDEN_SUPERUSER);
        CHECK(batch->items[4].code == WARDEN_OK && batch->items[4].decision.reason == WARDEN_MODEL_GRANT_GROUP);
    }
    warden_batch_result_free(batch);
    warden_batch_result_free(NULL);
    CHECK_CODE(warden_batch_check(conn, NULL, 0, 0, &batch, &st), WARDEN_OK, &st);
    CHECK(batch && batch->count == 0);
    warden_batch_result_free(batch);
}

/* Follows the pages to the end; returns the pks joined in one array (count in *total). */
static char **list_all(warden_list_request request, size_t *total, size_t *pages) {
    warden_status st;
    char **all = NULL;
    *total = *pages = 0;
    char *token = NULL;
    for (;;) {
        warden_list_page *page = NULL;
        request.page_token = token;
        if (!CHECK_CODE(warden_list_objects(conn, &request, &page, &st), WARDEN_OK, &st)) break;
        (*pages)++;
        /* Every page names the type it lists, here derived from "lab.view_experiment". */
        CHECK(page->content_type && strcmp(page->content_type, "lab.experiment") == 0);
        all = realloc(all, (*total + page->count + 1) * sizeof *all);
        for (size_t i = 0; i < page->count; i++) all[(*total)++] = strdup(page->pks[i]);
        free(token);
        token = page->next_page_token ? strdup(page->next_page_token) : NULL;
        request.min_revision = page->revision; /* every page at least as fresh as the last */
        warden_list_page_free(page);
        if (!token) break;
    }
    free(token);
    return all;
}

static void test_list_objects(void) {
    harness_test("list objects: 2,500 objects in pages of 1,000, followed to the end, in order");
    warden_status st;
    /* 2,500 objects for user 3, granted in one bulk stream. */
    enum { N = 2500 };
    static char pks[N][12];
    warden_grant_spec *grants = calloc(N, sizeof *grants);
    for (int i = 0; i < N; i++) {
        snprintf(pks[i], sizeof pks[i], "%d", N - i); /* sent in reverse: the list sorts */
        grants[i] = (warden_grant_spec){.user = "3", .permission = "lab.view_experiment", .pk = pks[i]};
    }
    warden_bulk_result bulk;
    CHECK_CODE(warden_bulk_grant(conn, grants, N, 0, NULL, &bulk, &st), WARDEN_OK, &st);
    CHECK(bulk.count == N && bulk.requested == N);
    free(grants);

    const char *perms[] = {"lab.view_experiment"};
    warden_list_request request = {.user = "3", .permissions = perms, .permission_count = 1, .page_size = 1000};
    size_t total, pages;
    char **all = list_all(request, &total, &pages);
    CHECK(total == N && pages == 3);
    bool ordered = true;
    for (size_t i = 0; i < total; i++) {
        ordered = ordered && atoi(all[i]) == (int)i + 1; /* canonical integers, numerically */
        free(all[i]);
    }
    free(all);
    CHECK(ordered);

    harness_test("list objects: unrestricted superuser, flags, groups");
    /* A superuser: unrestricted, with the reason; no pks. */
    warden_list_request su = {.user = "su", .permissions = perms, .permission_count = 1};
    warden_list_page *page = NULL;
    if (CHECK_CODE(warden_list_objects(conn, &su, &page, &st), WARDEN_OK, &st)) {
        CHECK(page->unrestricted && page->unrestricted_reason.reason == WARDEN_SUPERUSER && page->count == 0 &&
              page->pks == NULL && page->next_page_token == NULL);
        /* The type an unrestricted answer covers, derived from the permission. */
        CHECK(strcmp(page->content_type, "lab.experiment") == 0);
        warden_list_page_free(page);
    }
    /* The same user without superuser powers, and a group-granted list with a content type. */
    su.with_superuser = WARDEN_FALSE;
    if (CHECK_CODE(warden_list_objects(conn, &su, &page, &st), WARDEN_OK, &st)) {
        CHECK(!page->unrestricted && page->count == 0);
        warden_list_page_free(page);
    }
    warden_list_request editors = {.user = "2", .content_type = "lab.experiment", .any_perm = true,
                                   .use_groups = WARDEN_TRUE, .accept_global_perms = WARDEN_FALSE};
    if (CHECK_CODE(warden_list_objects(conn, &editors, &page, &st), WARDEN_OK, &st)) {
        CHECK(!page->unrestricted && page->count == 1 && strcmp(page->pks[0], "3") == 0 &&
              strcmp(page->content_type, "lab.experiment") == 0);
        warden_list_page_free(page);
    }
    warden_list_page_free(NULL);
}

/* The names of a list's users or groups, joined by commas (a static buffer). */
static const char *names(const warden_subject_access *subjects, size_t count) {
    static char joined[256];
    joined[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        if (i) strncat(joined, ",", sizeof joined - strlen(joined) - 1);
        strncat(joined, subjects[i].name, sizeof joined - strlen(joined) - 1);
    }
    return joined;
}

/* Lists who can reach lab.experiment "who" and checks the names; returns the list (or NULL). */
static warden_subject_list *who(warden_subjects_request r, const char *users, const char *groups) {
    warden_status st;
    warden_subject_list *list = NULL;
    r.object_type = "lab.experiment";
    r.object_pk = "who";
    r.accept_global_perms = WARDEN_FALSE;
    if (!CHECK_CODE(warden_list_subjects(conn, &r, &list, &st), WARDEN_OK, &st)) return NULL;
    if (!CHECK(strcmp(names(list->users, list->user_count), users) == 0))
        printf("    users: got %s, expected %s\n", names(list->users, list->user_count), users);
    if (!CHECK(strcmp(names(list->groups, list->group_count), groups) == 0))
        printf("    groups: got %s, expected %s\n", names(list->groups, list->group_count), groups);
    CHECK(list->revision >= last_revision);
    return list;
}

static void test_list_subjects(void) {
    harness_test("list subjects: users directly and through groups, groups, filters, attached codenames");
    warden_status st;
    warden_write_result w;
    warden_grant_spec grants[] = {
        {.user = "4", .permission = "lab.view_experiment", .pk = "who"},
        {.group = "editors", .permission = "lab.change_experiment", .pk = "who"},
        {.user = "9", .permission = "lab.view_experiment", .pk = "who"}, /* inactive: never listed */
    };
    for (size_t i = 0; i < 3; i++) CHECK_CODE(warden_grant(conn, &grants[i], NULL, &w, &st), WARDEN_OK, &st);
    last_revision = w.revision;

    warden_subject_list *list = who((warden_subjects_request){0}, "2,4", "editors");
    if (list) CHECK(list->users[0].permission_count == 0 && list->users[0].permissions == NULL);
    warden_subject_list_free(list);

    list = who((warden_subjects_request){.attach_perms = true}, "2,4", "editors");
    if (list) {
        CHECK(list->users[0].permission_count == 1 && strcmp(list->users[0].permissions[0], "change_experiment") == 0);
        CHECK(list->users[1].permission_count == 1 && strcmp(list->users[1].permissions[0], "view_experiment") == 0);
        CHECK(list->groups[0].permission_count == 1 && strcmp(list->groups[0].permissions[0], "change_experiment") == 0);
    }
    warden_subject_list_free(list);

    warden_subject_list_free(who((warden_subjects_request){.with_group_users = WARDEN_FALSE}, "4", "editors"));
    const char *change[] = {"change_experiment"};
    warden_subject_list_free(who((warden_subjects_request){.permissions = change, .permission_count = 1}, "2", "editors"));

    /* An active superuser holds every codename of the type: five for lab.experiment. */
    list = who((warden_subjects_request){.with_superusers = true, .attach_perms = true}, "2,4,su", "editors");
    if (list && list->user_count == 3 && CHECK(list->users[2].permission_count == 5))
        CHECK(strcmp(list->users[2].permissions[0], "add_experiment") == 0 &&
              strcmp(list->users[2].permissions[4], "view_experiment") == 0);
    warden_subject_list_free(list);

    harness_test("list subjects: bad requests are the server's errors, named");
    warden_subjects_request none = {0};
    list = (warden_subject_list *)&none; /* must be reset to NULL on failure */
    CHECK_CODE(warden_list_subjects(conn, &none, &list, &st), WARDEN_INVALID_ARGUMENT, &st);
    CHECK(list == NULL && strstr(st.message, "object") != NULL);
    warden_subjects_request unknown = {.object_type = "lab.nothing", .object_pk = "1"};
    CHECK_CODE(warden_list_subjects(conn, &unknown, &list, &st), WARDEN_NOT_FOUND, &st);
    CHECK(strstr(st.message, "lab.nothing") != NULL);
    CHECK_CODE(warden_list_subjects(conn, NULL, &list, &st), WARDEN_INVALID_ARGUMENT, &st);
    CHECK(st.local);
    warden_subject_list_free(NULL);
}

/* The codenames of lab.experiment, sorted: the bits of its masks. */
enum { ADD, CHANGE, DELETE, PUBLISH, VIEW };

static void test_batch_get_permissions(void) {
    harness_test("batch get permissions: masks per object, in request order; modes; errors");
    warden_status st;
    const char *pks[] = {"who", "nope", "who"};
    warden_permissions_request r = {.user = "4", .content_type = "lab.experiment", .pks = pks, .pk_count = 3,
                                    .accept_global_perms = WARDEN_FALSE};
    warden_permission_sets *sets = NULL;
    if (CHECK_CODE(warden_batch_get_permissions(conn, &r, &sets, &st), WARDEN_OK, &st)) {
        CHECK(sets->codename_count == 5 && sets->count == 3 && sets->mask_bytes == 1);
        CHECK(strcmp(sets->codenames[ADD], "add_experiment") == 0 && strcmp(sets->codenames[VIEW], "view_experiment") == 0);
        CHECK(warden_permission_sets_has(sets, 0, VIEW) && !warden_permission_sets_has(sets, 0, CHANGE));
        CHECK(!warden_permission_sets_has(sets, 1, VIEW) && warden_permission_sets_has(sets, 2, VIEW));
        CHECK(!warden_permission_sets_has(sets, 3, VIEW) && !warden_permission_sets_has(sets, 0, 5)); /* out of range */
        CHECK(sets->revision >= last_revision);
        warden_permission_sets_free(sets);
    }
    /* User 2 holds change_experiment on "who" through its group "editors" only. */
    const char *one[] = {"who"};
    warden_permissions_request two = {.user = "2", .content_type = "lab.experiment", .pks = one, .pk_count = 1,
                                      .accept_global_perms = WARDEN_FALSE};
    const warden_permission_mode modes[] = {WARDEN_MODE_BOTH, WARDEN_MODE_USER_ONLY, WARDEN_MODE_GROUPS_ONLY};
    const bool holds[] = {true, false, true};
    for (size_t i = 0; i < 3; i++) {
        two.mode = modes[i];
        if (CHECK_CODE(warden_batch_get_permissions(conn, &two, &sets, &st), WARDEN_OK, &st)) {
            CHECK(warden_permission_sets_has(sets, 0, CHANGE) == holds[i] && !warden_permission_sets_has(sets, 0, VIEW));
            warden_permission_sets_free(sets);
        }
    }
    two.mode = (warden_permission_mode)9;
    CHECK_CODE(warden_batch_get_permissions(conn, &two, &sets, &st), WARDEN_INVALID_ARGUMENT, &st);
    CHECK(sets == NULL && strstr(st.message, "mode") != NULL);
    two.mode = WARDEN_MODE_BOTH;
    two.content_type = "lab.nothing";
    CHECK_CODE(warden_batch_get_permissions(conn, &two, &sets, &st), WARDEN_NOT_FOUND, &st);
    CHECK(strstr(st.message, "lab.nothing") != NULL);
    two.group = "editors";
    CHECK_CODE(warden_batch_get_permissions(conn, &two, &sets, &st), WARDEN_INVALID_ARGUMENT, &st);
    CHECK(st.local);
    warden_permission_sets_free(NULL);
}

void test_against_server(void) {
    harness_test("start a real server; set-up writes: content types, users, a group, a member");
    if (!CHECK(server_start(&server))) return;
    conn = server_connect(&server, 10000);
    set_up();
    test_grant_check_revoke();
    test_errors();
    test_batch();
    test_list_objects();
    test_list_subjects();
    test_batch_get_permissions();
    warden_close(conn);
    conn = NULL;
    /* test_pipelining_and_bulk() uses the same server, then stops it. */
}

/* The pipelining, bulk and deadline tests (test_pipelining.c) on the same server, which they stop. */
void test_pipelining_and_bulk(void) {
    if (server.pid <= 0) return;
    test_pipelining_and_bulk_on(&server);
}
