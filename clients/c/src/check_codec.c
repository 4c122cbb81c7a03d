/*
 * check_codec.c: CheckRequest and CheckResponse by hand, the hot path of pipelined checks.
 *
 * protobuf-c encodes and decodes any message from its descriptor; for the two messages every
 * check sends and receives, that generic walk and its allocations cost several times the rest
 * of the client's work per check. These functions write the same bytes protobuf-c writes (fields
 * in number order, proto3 defaults omitted, oneof members and submessages always written) and
 * read any valid encoding (fields in any order, unknown fields skipped). tests/test_codec.c
 * checks both against protobuf-c.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Wire types. */
enum { VARINT = 0, I64 = 1, LEN = 2, I32 = 5 };

static size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) v >>= 7, n++;
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v) {
    while (v >= 0x80) *p++ = (uint8_t)(v | 0x80), v >>= 7;
    *p++ = (uint8_t)v;
    return p;
}

/* A length-delimited field of `length` bytes: tag, length, body. */
static size_t field_size(size_t length) { return 1 + varint_size(length) + length; }

static uint8_t *put_string(uint8_t *p, unsigned field, const char *s, size_t length) {
    *p++ = (uint8_t)(field << 3 | LEN);
    p = put_varint(p, length);
    memcpy(p, s, length);
    return p + length;
}

static size_t len(const char *s) { return s ? strlen(s) : 0; }

/* The nested messages' body sizes. */
static size_t subject_size(const warden_check_request *r) {
    return r->user ? field_size(strlen(r->user)) : r->group ? field_size(strlen(r->group)) : 0;
}

static size_t object_size(const warden_check_request *r) {
    size_t type = len(r->object_type), pk = len(r->object_pk);
    return (type ? field_size(type) : 0) + (pk ? field_size(pk) : 0);
}

static bool has_object(const warden_check_request *r) { return r->object_type || r->object_pk; }

size_t check_encoded_size(const warden_check_request *r) {
    size_t size = 0;
    if (r->user || r->group) size += field_size(subject_size(r));
    if (len(r->permission)) size += field_size(strlen(r->permission));
    if (has_object(r)) size += field_size(object_size(r));
    if (len(r->content_type)) size += field_size(strlen(r->content_type));
    if (r->accept_global_perms != WARDEN_DEFAULT) size += 2;
    if (r->min_revision) size += 1 + varint_size(r->min_revision);
    return size;
}

void check_encode(const warden_check_request *r, uint8_t *p) {
    if (r->user || r->group) {
        *p++ = 1 << 3 | LEN;
        p = put_varint(p, subject_size(r));
        p = r->user ? put_string(p, 1, r->user, strlen(r->user)) : put_string(p, 2, r->group, strlen(r->group));
    }
    if (len(r->permission)) p = put_string(p, 2, r->permission, strlen(r->permission));
    if (has_object(r)) {
        *p++ = 3 << 3 | LEN;
        p = put_varint(p, object_size(r));
        if (len(r->object_type)) p = put_string(p, 1, r->object_type, strlen(r->object_type));
        if (len(r->object_pk)) p = put_string(p, 2, r->object_pk, strlen(r->object_pk));
    }
    if (len(r->content_type)) p = put_string(p, 4, r->content_type, strlen(r->content_type));
    if (r->accept_global_perms != WARDEN_DEFAULT) {
        *p++ = 5 << 3 | VARINT;
        *p++ = r->accept_global_perms == WARDEN_TRUE;
    }
    if (r->min_revision) {
        *p++ = 6 << 3 | VARINT;
        put_varint(p, r->min_revision);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                     */

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static bool get_varint(reader *r, uint64_t *v) {
    *v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p == r->end) return false;
        uint8_t byte = *r->p++;
        *v |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80)) return true;
    }
    return false;
}

/* Reads a field's tag; *length is set for LEN fields (checked against the input's end). */
static bool get_field(reader *r, unsigned *field, unsigned *type, const uint8_t **body, size_t *length) {
    uint64_t tag;
    if (!get_varint(r, &tag) || tag >> 3 == 0 || tag >> 3 > 0x1FFFFFFF) return false;
    *field = (unsigned)(tag >> 3);
    *type = (unsigned)(tag & 7);
    if (*type != LEN) return true;
    uint64_t n;
    if (!get_varint(r, &n) || n > (uint64_t)(r->end - r->p)) return false;
    *body = r->p;
    *length = (size_t)n;
    r->p += n;
    return true;
}

/* Skips the value of a field of wire type `type` that is not LEN (LEN was skipped by get_field). */
static bool skip(reader *r, unsigned type) {
    uint64_t ignored;
    size_t n = type == I64 ? 8 : type == I32 ? 4 : 0;
    if (type == VARINT) return get_varint(r, &ignored);
    if (type == LEN) return true;
    if (!n || (size_t)(r->end - r->p) < n) return false; /* groups (3, 4) and unknown types */
    r->p += n;
    return true;
}

static bool decode_decision(const uint8_t *p, size_t length, warden_decision *out) {
    reader r = {p, p + length};
    unsigned field, type;
    const uint8_t *body = NULL;
    size_t size = 0;
    while (r.p < r.end) {
        if (!get_field(&r, &field, &type, &body, &size)) return false;
        uint64_t v;
        if ((field == 1 || field == 2) && type == VARINT) {
            if (!get_varint(&r, &v)) return false;
            if (field == 1) out->allowed = v != 0;
            else out->reason = (warden_reason)(int32_t)v;
        } else if (field == 3 && type == LEN) {
            free(out->group);
            out->group = NULL;
            if (size) {
                if (!(out->group = malloc(size + 1))) return false;
                memcpy(out->group, body, size);
                out->group[size] = '\0';
            }
        } else if (!skip(&r, type)) {
            return false;
        }
    }
    return true;
}

bool check_decode(const uint8_t *p, size_t length, warden_check_result *out) {
    memset(out, 0, sizeof *out);
    reader r = {p, p + length};
    unsigned field, type;
    const uint8_t *body = NULL;
    size_t size = 0;
    while (r.p < r.end) {
        if (!get_field(&r, &field, &type, &body, &size)) goto malformed;
        if (field == 1 && type == LEN) {
            /* A repeated submessage field merges, as protobuf does. */
            if (!decode_decision(body, size, &out->decision)) goto malformed;
        } else if (field == 2 && type == VARINT) {
            if (!get_varint(&r, &out->revision)) goto malformed;
        } else if (!skip(&r, type)) {
            goto malformed;
        }
    }
    return true;
malformed:
    warden_check_result_clear(out);
    return false;
}
