/*
 * test_codec.c: the hand-written Check codec (src/check_codec.c) agrees with protobuf-c.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t seed = 0x9E3779B97F4A7C15u;

static uint64_t next_random(void) { /* splitmix64 */
    uint64_t z = (seed += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* NULL, "", or a random string of up to 300 bytes (long enough for two-byte lengths). */
static const char *random_text(char *buffer, bool may_be_null) {
    uint64_t kind = next_random() % 4;
    if (kind == 0 && may_be_null) return NULL;
    if (kind == 1) return "";
    size_t n = 1 + next_random() % (kind == 2 ? 20 : 300);
    for (size_t i = 0; i < n; i++) buffer[i] = (char)('a' + next_random() % 26);
    buffer[n] = '\0';
    return buffer;
}

static char *text(const char *s) { return (char *)(s ? s : ""); }

/* What protobuf-c writes for the request (the mapping reads.c uses for BatchCheck items). */
static size_t reference_encoding(const warden_check_request *r, uint8_t *out) {
    Warden__V1__CheckRequest m = WARDEN__V1__CHECK_REQUEST__INIT;
    Warden__V1__Subject subject = WARDEN__V1__SUBJECT__INIT;
    Warden__V1__ObjectRef object = WARDEN__V1__OBJECT_REF__INIT;
    if (r->user) subject.kind_case = WARDEN__V1__SUBJECT__KIND_USER, subject.user = (char *)r->user;
    if (r->group) subject.kind_case = WARDEN__V1__SUBJECT__KIND_GROUP, subject.group = (char *)r->group;
    if (r->user || r->group) m.subject = &subject;
    m.permission = text(r->permission);
    if (r->object_type || r->object_pk) {
        object.content_type = text(r->object_type);
        object.pk = text(r->object_pk);
        m.object = &object;
    }
    m.content_type = text(r->content_type);
    if (r->accept_global_perms != WARDEN_DEFAULT) {
        m._accept_global_perms_case = WARDEN__V1__CHECK_REQUEST___ACCEPT_GLOBAL_PERMS_ACCEPT_GLOBAL_PERMS;
        m.accept_global_perms = r->accept_global_perms == WARDEN_TRUE;
    }
    m.min_revision = r->min_revision;
    return warden__v1__check_request__pack(&m, out);
}

static void test_encoding(void) {
    harness_test("check codec: 20,000 random CheckRequests encode to protobuf-c's bytes");
    static char a[301], b[301], c[301], d[301], e[301];
    static uint8_t mine[2048], theirs[2048];
    int same = 0;
    for (int i = 0; i < 20000; i++) {
        warden_check_request r = {0};
        uint64_t who = next_random() % 3;
        if (who == 1) r.user = random_text(a, false);
        if (who == 2) r.group = random_text(a, false);
        r.permission = random_text(b, true);
        r.object_type = random_text(c, true);
        r.object_pk = random_text(d, true);
        r.content_type = random_text(e, true);
        r.accept_global_perms = (warden_tristate)(next_random() % 3);
        uint64_t revision = next_random();
        r.min_revision = next_random() % 2 ? 0 : revision >> (next_random() % 64);
        size_t size = check_encoded_size(&r);
        check_encode(&r, mine);
        size_t expected = reference_encoding(&r, theirs);
        same += size == expected && memcmp(mine, theirs, size) == 0;
    }
    CHECK(same == 20000);
}

static void test_decoding(void) {
    harness_test("check codec: random CheckResponses, unknown fields, every truncation, bad wire types");
    static char group[301];
    static uint8_t bytes[2048];
    int agree = 0, rounds = 5000;
    for (int i = 0; i < rounds; i++) {
        Warden__V1__CheckResponse m = WARDEN__V1__CHECK_RESPONSE__INIT;
        Warden__V1__Decision decision = WARDEN__V1__DECISION__INIT;
        bool with_decision = next_random() % 4 != 0;
        if (with_decision) {
            decision.allowed = next_random() % 2;
            decision.reason = (Warden__V1__Reason)(next_random() % 10);
            decision.group = text(random_text(group, false));
            m.decision = &decision;
        }
        m.revision = next_random() >> (next_random() % 64);
        size_t size = warden__v1__check_response__pack(&m, bytes);
        /* Fields this client does not know come after: a varint, a fixed64, a string, a fixed32. */
        if (next_random() % 2) {
            static const uint8_t unknown[] = {0x78, 0x96, 0x01, 0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8,
                                              0x8A, 0x01, 0x02, 'h', 'i', 0x95, 0x01, 9, 9, 9, 9};
            memcpy(bytes + size, unknown, sizeof unknown);
            size += sizeof unknown;
        }
        warden_check_result r;
        if (!check_decode(bytes, size, &r)) continue;
        bool group_ok = with_decision && decision.group[0] ? r.decision.group && strcmp(r.decision.group, decision.group) == 0
                                                           : r.decision.group == NULL;
        agree += r.revision == m.revision && group_ok &&
                 r.decision.allowed == (with_decision && decision.allowed) &&
                 (int)r.decision.reason == (with_decision ? (int)decision.reason : 0);
        warden_check_result_clear(&r);
        /* Every prefix decodes or is refused, without reading past its end (ASan, valgrind). */
        for (size_t cut = 0; cut < size; cut++) {
            uint8_t *prefix = malloc(cut ? cut : 1);
            memcpy(prefix, bytes, cut);
            if (check_decode(prefix, cut, &r)) warden_check_result_clear(&r);
            free(prefix);
        }
    }
    CHECK(agree == rounds);
    warden_check_result r;
    static const uint8_t group_wire_type[] = {0x0B, 0x0C};        /* field 1, start group */
    static const uint8_t long_length[] = {0x0A, 0x05, 0x08, 0x01}; /* a decision of 5 bytes, 2 given */
    static const uint8_t long_varint[] = {0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    static const uint8_t field_zero[] = {0x00, 0x01};
    CHECK(!check_decode(group_wire_type, sizeof group_wire_type, &r));
    CHECK(!check_decode(long_length, sizeof long_length, &r));
    CHECK(!check_decode(long_varint, sizeof long_varint, &r));
    CHECK(!check_decode(field_zero, sizeof field_zero, &r));
    CHECK(check_decode(NULL, 0, &r) && r.revision == 0 && r.decision.group == NULL);
}

void test_codec(void) {
    test_encoding();
    test_decoding();
}
