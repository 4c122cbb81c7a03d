/*
 * warden.h: the C client of Warden, the authorization sidecar (docs/protocol.md).
 *
 * One connection to the server's Unix socket carries many requests at once. Every call below
 * is a blocking request/answer on that connection, except warden_submit_check() and
 * warden_poll_check(), which pipeline checks: many requests sent before their answers are read,
 * answers matched by request id in whatever order they come.
 *
 * Conventions
 * - Every function that talks to the server returns a warden_code: WARDEN_OK (0) on success,
 *   otherwise the failure's code, also written to *status (status may be NULL).
 * - Strings in and out are NUL-terminated UTF-8. Input strings and arrays are only read during
 *   the call: the library keeps no pointer to them.
 * - Ownership: every buffer the library returns belongs to the caller and has exactly one free
 *   function, named next to it. Each free function accepts NULL (or a zeroed struct) and does
 *   nothing then. On failure no result is returned and nothing needs freeing.
 * - Thread safety: the library has no global state. A warden_conn is NOT thread-safe: use it
 *   from one thread at a time (one connection per thread, or your own lock around each call).
 *   Different connections may be used from different threads at once. Results, once returned,
 *   are plain data owned by the caller, independent of the connection.
 * - Signals: the library never raises SIGPIPE (it writes with MSG_NOSIGNAL) and retries EINTR.
 */
#ifndef WARDEN_H
#define WARDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WARDEN_API __attribute__((visibility("default")))
#else
#define WARDEN_API
#endif

/* ---------------------------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------------------------- */

/** Status codes: gRPC's, as the server sends them in each frame's status byte. */
typedef enum warden_code {
    WARDEN_OK = 0,                  /**< Success. */
    WARDEN_CANCELLED = 1,           /**< The request was cancelled. */
    WARDEN_UNKNOWN = 2,             /**< A status byte this library does not know. */
    WARDEN_INVALID_ARGUMENT = 3,    /**< A field broke its rule; the message names it. */
    WARDEN_DEADLINE_EXCEEDED = 4,   /**< The deadline passed (server side, or no answer in time here). */
    WARDEN_NOT_FOUND = 5,           /**< A subject, permission or content type is not registered. */
    WARDEN_ALREADY_EXISTS = 6,      /**< PutUser with a username another user holds. */
    WARDEN_PERMISSION_DENIED = 7,   /**< The peer's role is too low, or a write refused for its actor. */
    WARDEN_RESOURCE_EXHAUSTED = 8,  /**< A server limit; here: a reply over the client's frame limit. */
    WARDEN_FAILED_PRECONDITION = 9, /**< The database cannot be used; here: nothing in flight to poll. */
    WARDEN_ABORTED = 10,            /**< Never sent. */
    WARDEN_OUT_OF_RANGE = 11,       /**< Watch revision pruned (see oldest_retained_revision). */
    WARDEN_UNIMPLEMENTED = 12,      /**< The method is not a Warden method. */
    WARDEN_INTERNAL = 13,           /**< Server: an internal failure; here: a malformed reply. */
    WARDEN_UNAVAILABLE = 14,        /**< Retry later; here: no connection, or the server went away. */
    WARDEN_DATA_LOSS = 15,          /**< Never sent. */
    WARDEN_UNAUTHENTICATED = 16     /**< Never sent. */
} warden_code;

/** Longest message kept in a warden_status, with its NUL; longer messages are cut. */
#define WARDEN_MESSAGE_SIZE 1024

/**
 * The outcome of a call. Plain data in the caller's storage: nothing to free.
 * When `local` is false, code and message are the server's, as it sent them. When `local` is
 * true, this library produced them: connecting failed, the server went away, no answer came
 * within the timeout, a reply was malformed or too large, or an argument was invalid.
 */
typedef struct warden_status {
    warden_code code;
    bool local;
    /** Only for OUT_OF_RANGE from a Watch: the oldest revision the changelog still holds. */
    uint64_t oldest_retained_revision;
    char message[WARDEN_MESSAGE_SIZE];
} warden_status;

/** The code's name, e.g. "INVALID_ARGUMENT"; "UNKNOWN" for values outside 0..16. Static. */
WARDEN_API const char *warden_code_name(int code);

/* ---------------------------------------------------------------------------------------------
 * Connection
 * ------------------------------------------------------------------------------------------- */

/** A connection to one Warden server. Opaque; not thread-safe (see the top of this file). */
typedef struct warden_conn warden_conn;

/** Connection settings. Zero in any field means its default. */
typedef struct warden_options {
    /** How long connecting may take, in ms. Default 5000. */
    int connect_timeout_ms;
    /** Each call's deadline, in ms: sent to the server as the request's timeout_ms, and the
     *  longest this library waits to send it and read its answer. Default 5000; -1: none. */
    int timeout_ms;
    /** The largest reply frame accepted, as its length field (12 + body). Larger replies close
     *  the connection with RESOURCE_EXHAUSTED, before their body is read. Default 64 MiB. */
    uint32_t max_reply_frame;
    /** The largest request frame sent; a larger request fails locally with INVALID_ARGUMENT.
     *  Default 4 MiB, the server's default limit. Bulk streams split their chunks below it. */
    uint32_t max_request_frame;
} warden_options;

/**
 * Connects to the server's socket at `socket_path`. `options` may be NULL (defaults).
 * Returns a connection to free with warden_close(), or NULL with *status set (UNAVAILABLE with
 * the system's reason, DEADLINE_EXCEEDED, or INVALID_ARGUMENT for a bad path).
 */
WARDEN_API warden_conn *warden_connect(const char *socket_path, const warden_options *options,
                                       warden_status *status);

/** Closes the connection and frees it; pipelined checks still in flight are dropped. NULL: no-op. */
WARDEN_API void warden_close(warden_conn *conn);

/** Sets the deadline of the calls that follow, in ms (-1: none; 0: the default, 5000). */
WARDEN_API void warden_set_timeout(warden_conn *conn, int timeout_ms);

/**
 * Whether the connection can still carry requests. A connection fails for good, and every
 * later call returns UNAVAILABLE quoting the first failure, when: the server closes it or dies,
 * the server sends a connection-level error (a status on request id 0: its code and message are
 * returned), a reply is malformed (INTERNAL) or too large (RESOURCE_EXHAUSTED), or a request
 * could not be sent within its deadline. A call whose answer merely does not come in time
 * returns DEADLINE_EXCEEDED and leaves the connection usable: the late answer is discarded.
 * Open a new connection after a failure; the outcome of writes in flight then is unknown.
 */
WARDEN_API bool warden_is_open(const warden_conn *conn);

/* ---------------------------------------------------------------------------------------------
 * Decisions
 * ------------------------------------------------------------------------------------------- */

/** Why a decision came out as it did (docs/semantics.md); proto's warden.v1.Reason. */
typedef enum warden_reason {
    WARDEN_REASON_UNSPECIFIED = 0,
    WARDEN_UNKNOWN_USER = 1,       /**< The user (or group) is not registered. Deny. */
    WARDEN_INACTIVE_USER = 2,      /**< The user is inactive. Deny, even a superuser. */
    WARDEN_SUPERUSER = 3,          /**< An active superuser. Allow. */
    WARDEN_UNKNOWN_PERMISSION = 4, /**< The permission is not registered for the type. Deny. */
    WARDEN_OBJECT_GRANT_USER = 5,  /**< The user holds it on this object. Allow. */
    WARDEN_OBJECT_GRANT_GROUP = 6, /**< One of the user's groups holds it on this object. Allow. */
    WARDEN_MODEL_GRANT_USER = 7,   /**< The user holds it model-wide. Allow. */
    WARDEN_MODEL_GRANT_GROUP = 8,  /**< One of the user's groups holds it model-wide. Allow. */
    WARDEN_NO_GRANT = 9            /**< Nothing grants it. Deny. */
} warden_reason;

/** The reason's name, e.g. "OBJECT_GRANT_USER"; "REASON_UNSPECIFIED" if unknown. Static. */
WARDEN_API const char *warden_reason_name(int reason);

/** The answer to one check. */
typedef struct warden_decision {
    bool allowed;
    warden_reason reason;
    /** The granting group, for OBJECT_GRANT_GROUP and MODEL_GRANT_GROUP; NULL otherwise.
     *  Owned by the struct that contains this decision: freed with that struct's free function. */
    char *group;
} warden_decision;

/** "Optional bool" for request fields whose absence means the server's setting. */
typedef enum warden_tristate { WARDEN_DEFAULT = 0, WARDEN_FALSE = 1, WARDEN_TRUE = 2 } warden_tristate;

/* ---------------------------------------------------------------------------------------------
 * Check
 * ------------------------------------------------------------------------------------------- */

/** A check: may this subject use this permission (on this object)? Zero-initialise, then set. */
typedef struct warden_check_request {
    /** The subject: a user id, or a group name. Set at most one; neither: the server's anonymous user. */
    const char *user;
    const char *group;
    /** "app_label.codename", or a bare codename resolved by the object's or content_type's type. */
    const char *permission;
    /** The object (both set) for an object-level check; both NULL: a model-level check. */
    const char *object_type; /**< "app_label.model" */
    const char *object_pk;
    /** An explicit content type, for a bare codename in a model-level check; NULL: none. */
    const char *content_type;
    /** Whether model grants imply object access; DEFAULT: the server's setting. */
    warden_tristate accept_global_perms;
    /** Do not answer from a state older than this revision (0: any). */
    uint64_t min_revision;
} warden_check_request;

/** A check's answer. decision.group is heap memory: free with warden_check_result_clear(). */
typedef struct warden_check_result {
    warden_decision decision;
    /** The revision the decision was evaluated at. */
    uint64_t revision;
} warden_check_result;

/** Frees what a warden_check_result holds and zeroes it. NULL or a zeroed struct: no-op. */
WARDEN_API void warden_check_result_clear(warden_check_result *result);

/** Check (method 1). On success fills *result (clear it with warden_check_result_clear()). */
WARDEN_API warden_code warden_check(warden_conn *conn, const warden_check_request *request,
                                    warden_check_result *result, warden_status *status);

/* ---------------------------------------------------------------------------------------------
 * Pipelined checks: submit many, then poll their answers in completion order.
 *
 *     uint32_t ticket;
 *     while (there are requests) {
 *         if (warden_in_flight(conn) >= 64) { poll one answer (below) }
 *         warden_submit_check(conn, &request, &ticket, &status);   // remember ticket → request
 *     }
 *     while (warden_in_flight(conn) > 0) {
 *         warden_check_completion done;
 *         if (warden_poll_check(conn, -1, &done, &status) != WARDEN_OK) break;   // connection failed
 *         ... done.ticket, done.status.code, done.result ...
 *         warden_check_result_clear(&done.result);
 *     }
 *
 * Submitted requests are buffered and sent in batches (at the latest when warden_poll_check()
 * waits, or by warden_flush()). Each request carries the connection's timeout as its deadline.
 * Blocking calls may be mixed in: answers to pipelined checks that arrive meanwhile are kept.
 * ------------------------------------------------------------------------------------------- */

/** One finished pipelined check. */
typedef struct warden_check_completion {
    /** The ticket warden_submit_check() gave (the request id). */
    uint32_t ticket;
    /** This request's own outcome: OK, or the server's error for it (e.g. INVALID_ARGUMENT). */
    warden_status status;
    /** Valid when status.code is OK; free with warden_check_result_clear() (zeroed otherwise). */
    warden_check_result result;
} warden_check_completion;

/** Queues a check; *ticket (may be NULL) identifies its completion. Fails only locally
 *  (a closed connection, an invalid or oversized request). */
WARDEN_API warden_code warden_submit_check(warden_conn *conn, const warden_check_request *request,
                                           uint32_t *ticket, warden_status *status);

/** Sends every queued request now, waiting up to the connection's timeout. */
WARDEN_API warden_code warden_flush(warden_conn *conn, warden_status *status);

/**
 * Waits up to timeout_ms (-1: no limit; 0: do not wait) for one pipelined check to finish and
 * moves it into *completion. Returns OK when *completion was filled (look at its own status),
 * DEADLINE_EXCEEDED (local) when none finished in time (the connection stays usable),
 * FAILED_PRECONDITION (local) when none is in flight, or the connection's failure, after which
 * every pipelined check still in flight is dropped (warden_in_flight() is then 0).
 */
WARDEN_API warden_code warden_poll_check(warden_conn *conn, int timeout_ms,
                                         warden_check_completion *completion, warden_status *status);

/** Pipelined checks submitted and not yet returned by warden_poll_check(). */
WARDEN_API size_t warden_in_flight(const warden_conn *conn);

/* ---------------------------------------------------------------------------------------------
 * BatchCheck
 * ------------------------------------------------------------------------------------------- */

/** One item's answer: a decision, or the item's own error. */
typedef struct warden_batch_item {
    /** OK: `decision` holds. Otherwise this item's error (usually INVALID_ARGUMENT or NOT_FOUND). */
    warden_code code;
    /** The item's error message; NULL when code is OK. */
    char *message;
    warden_decision decision;
} warden_batch_item;

/** A BatchCheck's answers, in the order of the request's items. Free with warden_batch_result_free(). */
typedef struct warden_batch_result {
    size_t count;
    warden_batch_item *items;
    /** The one revision every item was evaluated at. */
    uint64_t revision;
} warden_batch_result;

WARDEN_API void warden_batch_result_free(warden_batch_result *result);

/**
 * BatchCheck (method 2): `count` checks at one revision (at most the server's limit, 10,000 by
 * default). Each request's min_revision is ignored; `min_revision` applies to the whole batch.
 * One bad item never fails the others. On success *result is a new warden_batch_result.
 */
WARDEN_API warden_code warden_batch_check(warden_conn *conn, const warden_check_request *requests,
                                          size_t count, uint64_t min_revision,
                                          warden_batch_result **result, warden_status *status);

/* ---------------------------------------------------------------------------------------------
 * ListObjects, one page at a time
 * ------------------------------------------------------------------------------------------- */

/** guardian's get_objects_for_user / get_objects_for_group. Zero-initialise, then set. */
typedef struct warden_list_request {
    /** The subject: a user id or a group name (at most one; neither: the anonymous user). */
    const char *user;
    const char *group;
    /** Permissions, all required (any one with any_perm). None: any permission of content_type. */
    const char *const *permissions;
    size_t permission_count;
    /** The content type; NULL: derived from the permissions. */
    const char *content_type;
    bool any_perm;
    warden_tristate use_groups;          /**< DEFAULT: true */
    warden_tristate with_superuser;      /**< DEFAULT: true */
    warden_tristate accept_global_perms; /**< DEFAULT: the server's setting */
    /** Objects per page, 1..100000; 0: the server's default (1000). */
    uint32_t page_size;
    /** The cursor: the previous page's next_page_token; NULL or "": the first page. */
    const char *page_token;
    /** Pass the previous page's revision here so that every page is read at least that fresh. */
    uint64_t min_revision;
} warden_list_request;

/** One page. Free with warden_list_page_free(): it frees every pk and the token too. */
typedef struct warden_list_page {
    /** Every object of the type qualifies (pks is then empty); unrestricted_reason says why. */
    bool unrestricted;
    warden_decision unrestricted_reason;
    size_t count;
    char **pks;
    /** The cursor for the next page; NULL on the last page. */
    char *next_page_token;
    uint64_t revision;
    /** The content type listed, "app_label.model": the request's, or the one its permissions
     * name; says which type an unrestricted page covers. "" from a server that predates it.
     * Never NULL. Added last, so the fields before it keep their offsets. */
    char *content_type;
} warden_list_page;

WARDEN_API void warden_list_page_free(warden_list_page *page);

/** ListObjects (method 3): one page. Loop while (*page)->next_page_token is not NULL. */
WARDEN_API warden_code warden_list_objects(warden_conn *conn, const warden_list_request *request,
                                           warden_list_page **page, warden_status *status);

/** Who can reach one object (docs/semantics.md, ListSubjects): guardian's get_users_with_perms
 * and get_groups_with_perms. Strings are only read during the call. */
typedef struct warden_subjects_request {
    /** The object: its content type ("lab.experiment") and pk (both required). */
    const char *object_type;
    const char *object_pk;
    /** Keep only subjects holding at least one of these (codenames of the object's type, or
     * "app_label.codename"); none: any permission. */
    const char *const *permissions;
    size_t permission_count;
    bool with_superusers;                /**< list every active superuser too, with every codename */
    warden_tristate with_group_users;    /**< DEFAULT: true (count what users hold through groups) */
    bool attach_perms;                   /**< fill each subject's permissions */
    warden_tristate accept_global_perms; /**< DEFAULT: the server's setting */
    uint64_t min_revision;
} warden_subjects_request;

/** A subject with access: a user id or a group name, and with attach_perms its sorted codenames
 * on the object (else none). */
typedef struct warden_subject_access {
    char *name;
    size_t permission_count;
    char **permissions;
} warden_subject_access;

/** The answer. Free with warden_subject_list_free(): it frees every name and codename too. */
typedef struct warden_subject_list {
    size_t user_count;
    warden_subject_access *users;  /**< in object order of their ids (canonical integers first) */
    size_t group_count;
    warden_subject_access *groups; /**< by name, in byte order */
    uint64_t revision;
} warden_subject_list;

WARDEN_API void warden_subject_list_free(warden_subject_list *list);

/** ListSubjects (method 4): the users and groups that can reach one object. */
WARDEN_API warden_code warden_list_subjects(warden_conn *conn, const warden_subjects_request *request,
                                            warden_subject_list **list, warden_status *status);

/** Which grants BatchGetPermissions counts (docs/semantics.md, GetPermissions). */
typedef enum warden_permission_mode {
    WARDEN_MODE_BOTH = 0,       /**< the subject's own and its groups' (guardian's get_perms) */
    WARDEN_MODE_USER_ONLY = 1,  /**< the user's own grants only (get_user_perms) */
    WARDEN_MODE_GROUPS_ONLY = 2 /**< through the user's groups only (get_group_perms) */
} warden_permission_mode;

/** The codenames one subject holds on each of some objects of one type (guardian's
 * ObjectPermissionChecker.prefetch_perms; one pk is GetPermissions). Strings are only read
 * during the call. */
typedef struct warden_permissions_request {
    /** The subject: a user id or a group name (at most one; neither: the anonymous user). */
    const char *user;
    const char *group;
    /** The objects' content type and pks: 1..the server's max batch size (10,000); a pk may repeat. */
    const char *content_type;
    const char *const *pks;
    size_t pk_count;
    warden_permission_mode mode;
    warden_tristate accept_global_perms; /**< DEFAULT: the server's setting */
    uint64_t min_revision;
} warden_permissions_request;

/** The answer: the type's codenames, sorted, and one bit mask per requested pk, in request
 * order. Test with warden_permission_sets_has(). Free with warden_permission_sets_free(). */
typedef struct warden_permission_sets {
    size_t codename_count;
    char **codenames;
    size_t count;      /**< objects: the request's pk_count */
    size_t mask_bytes; /**< bytes per object: (codename_count + 7) / 8 */
    uint8_t *masks;    /**< count * mask_bytes; bit i of object k: codenames[i] is held */
    uint64_t revision;
} warden_permission_sets;

/** Whether the subject holds codenames[codename] on the request's object number `object`
 * (false when either is out of range). */
WARDEN_API bool warden_permission_sets_has(const warden_permission_sets *sets, size_t object, size_t codename);
WARDEN_API void warden_permission_sets_free(warden_permission_sets *sets);

/** BatchGetPermissions (method 6): for one subject, the codenames it holds on each object. */
WARDEN_API warden_code warden_batch_get_permissions(warden_conn *conn, const warden_permissions_request *request,
                                                    warden_permission_sets **sets, warden_status *status);

/* ---------------------------------------------------------------------------------------------
 * Writes (an admin peer uid/gid is needed; `actor` may be NULL: no actor, docs/protocol.md §8)
 * ------------------------------------------------------------------------------------------- */

/** A permission held by a subject: model-level (pk NULL) or on one object. */
typedef struct warden_grant_spec {
    const char *user;  /**< the subject: a user id ... */
    const char *group; /**< ... or a group name (exactly one) */
    /** "app_label.codename", or a bare codename with content_type. */
    const char *permission;
    /** The permission's content type; NULL: derived from the permission. */
    const char *content_type;
    /** The object's pk; NULL: a model-level grant. */
    const char *pk;
} warden_grant_spec;

/** The reply of every single write. Plain data. */
typedef struct warden_write_result {
    /** The revision the write committed at; the current one when it changed nothing. */
    uint64_t revision;
    /** Whether the permission state changed. */
    bool changed;
} warden_write_result;

/** The reply of a bulk stream. Plain data. */
typedef struct warden_bulk_result {
    uint64_t revision;  /**< the summary event's revision (the current one if nothing changed) */
    uint64_t count;     /**< rows changed */
    uint64_t requested; /**< rows asked for */
} warden_bulk_result;

/** Grant (method 16), idempotent. `result` may be NULL. */
WARDEN_API warden_code warden_grant(warden_conn *conn, const warden_grant_spec *grant, const char *actor,
                                    warden_write_result *result, warden_status *status);

/** Revoke (method 17), idempotent. `result` may be NULL. */
WARDEN_API warden_code warden_revoke(warden_conn *conn, const warden_grant_spec *grant, const char *actor,
                                     warden_write_result *result, warden_status *status);

/**
 * BulkGrant (method 18): `count` grants as one client stream, in chunks of at most
 * `chunk_grants` grants (0: 10,000) and about 1 MiB each, all on one request id, END_STREAM on
 * the last. The server commits them in one transaction after the last chunk. The deadline runs
 * for the whole upload and commit: raise the timeout (warden_set_timeout) for large streams.
 * If the server refuses the stream early, the rest is not sent. `result` may be NULL.
 */
WARDEN_API warden_code warden_bulk_grant(warden_conn *conn, const warden_grant_spec *grants, size_t count,
                                         size_t chunk_grants, const char *actor,
                                         warden_bulk_result *result, warden_status *status);

/** BulkRevoke (method 19): as warden_bulk_grant(), revoking. */
WARDEN_API warden_code warden_bulk_revoke(warden_conn *conn, const warden_grant_spec *grants, size_t count,
                                          size_t chunk_grants, const char *actor,
                                          warden_bulk_result *result, warden_status *status);

/* Set-up writes, enough to provision a server from C. `result` may be NULL in each. */

/** RegisterContentType (method 26): "app_label.model" with the default codenames (add_, change_,
 *  delete_, view_<model>) unless `no_defaults`, plus `custom_count` custom codenames. */
WARDEN_API warden_code warden_register_content_type(warden_conn *conn, const char *content_type,
                                                    const char *const *custom, size_t custom_count,
                                                    bool no_defaults, const char *actor,
                                                    warden_write_result *result, warden_status *status);

/** PutUser (method 20): creates or replaces a user. `username` may be NULL. */
WARDEN_API warden_code warden_put_user(warden_conn *conn, const char *id, const char *username,
                                       bool is_active, bool is_superuser, const char *actor,
                                       warden_write_result *result, warden_status *status);

/** PutGroup (method 22). */
WARDEN_API warden_code warden_put_group(warden_conn *conn, const char *name, const char *actor,
                                        warden_write_result *result, warden_status *status);

/** AddMember (method 24): puts user `user` in group `group`. */
WARDEN_API warden_code warden_add_member(warden_conn *conn, const char *user, const char *group,
                                         const char *actor, warden_write_result *result,
                                         warden_status *status);

/** Health (method 48): OK when the server answers SERVING; *revision (may be NULL) is its revision. */
WARDEN_API warden_code warden_health(warden_conn *conn, uint64_t *revision, warden_status *status);

#ifdef __cplusplus
}
#endif

#endif /* WARDEN_H */
