/*
 * jsonl.c - parses one line of JSON Lines input into the members of its
 * object, for the reader of .jsonl files (input.c).
 *
 * A general JSON library builds a tree with an allocation per value; for
 * indexing that was a seventh of the time.  This parser allocates nothing
 * per value: a string without escapes points into the line itself, others
 * are decoded into one scratch buffer, and nested values are checked and
 * skipped.  It accepts exactly what jansson accepts with JSON_ALLOW_NUL
 * (the unit tests and the fuzzer compare the two on the same input):
 * RFC 8259 grammar, an object or array at the top, valid UTF-8, no raw
 * control characters in strings, paired surrogates, \u0000 in values but
 * not in keys, integers that fit 64 bits, reals that do not overflow, at
 * most 2048 levels of nesting.  A repeated key keeps its first place and
 * takes its last value, as in jansson.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

/* jansson's JSON_PARSER_MAX_DEPTH */
#define MAX_DEPTH 2048
/* Members are looked up by a scan while there are few, by a hash table
 * beyond this. */
#define SCAN_MEMBERS 16
/* A limit in a message, as the number it is. */
#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct parser {
    const unsigned char *start, *p, *end;
    dks_json_object *o;
    unsigned depth;
} parser;

static int fail(parser *ps, const char *what)
{
    snprintf(ps->o->error, sizeof ps->o->error, "%s at byte %zu", what,
             (size_t)(ps->p - ps->start));
    return DKS_EINPUT;
}

static void skip_space(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), 0 if invalid. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? c - '0'
                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                   : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
        if (d == 16)
            return 0;
        v = v << 4 | d;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(unsigned char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Plain string text: no quote, backslash, control character or byte of a
 * multi-byte character. */
static inline int plain_byte(unsigned char c)
{
    return c != '"' && c != '\\' && c >= 0x20 && c < 0x80;
}

/* The first byte from p on that is not plain_byte(), or end.  Eight bytes
 * at a time where the machine is little-endian: a text is mostly runs of
 * ASCII between its letters æ, ø and å, and a byte at a time this scan
 * was a twenty-fifth of indexing. */
static const unsigned char *plain_run(const unsigned char *p, const unsigned char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = ones * 0x80;
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
        /* plain_byte for eight at once: a byte's high bit says it is
         * 0x80 or more, below 0x20 (x less 0x20 borrows), a quote or a
         * backslash (0 after the xor).  A borrow can flag bytes above one
         * flagged rightly, never below it, so the lowest flag is the
         * first odd byte. */
        uint64_t odd = (x | ((x - ones * 0x20) & ~x) | ((quote - ones) & ~quote) |
                        ((backslash - ones) & ~backslash)) & highs;
        if (odd)
            return p + (__builtin_ctzll(odd) >> 3);
        p += 8;
    }
#endif
    while (p < end && plain_byte(*p))
        p++;
    return p;
}

/* A string at ps->p (the opening quote).  With out, sets *s and *len to
 * its decoded bytes: in the line when it has no escapes, else in the
 * scratch buffer (which parse() sized for the whole line, so it never
 * moves).  *has_nul says whether it decoded a \u0000. */
static int string(parser *ps, const char **s, size_t *len, int *has_nul)
{
    const unsigned char *start = ++ps->p, *end = ps->end;
    unsigned char *out = NULL;  /* where decoded bytes go, once there is an escape */
    const unsigned char *p = start;
    *has_nul = 0;
    for (;;) {
        /* the plain run up to the next quote, backslash or odd byte */
        const unsigned char *run = p;
        p = plain_run(p, end);
        if (out) {
            memcpy(out, run, (size_t)(p - run));
            out += p - run;
        }
        if (p == end) {
            ps->p = p;
            return fail(ps, "unterminated string");
        }
        if (*p == '"')
            break;
        if (*p < 0x20) {
            ps->p = p;
            return fail(ps, "control character in string");
        }
        if (*p >= 0x80) {
            size_t n = utf8_sequence(p, end);
            if (!n) {
                ps->p = p;
                return fail(ps, "invalid UTF-8 in string");
            }
            if (out) {
                memcpy(out, p, n);
                out += n;
            }
            p += n;
            continue;
        }
        /* an escape */
        if (!out) {
            dks_buf *sb = &ps->o->scratch;
            out = sb->data + sb->len;
            memcpy(out, start, (size_t)(p - start));
            out += p - start;
        }
        if (end - p < 2) {
            ps->p = p;
            return fail(ps, "unterminated string");
        }
        unsigned char e = p[1];
        p += 2;
        switch (e) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '/': *out++ = '/'; break;
        case 'b': *out++ = '\b'; break;
        case 'f': *out++ = '\f'; break;
        case 'n': *out++ = '\n'; break;
        case 'r': *out++ = '\r'; break;
        case 't': *out++ = '\t'; break;
        case 'u': {
            unsigned cp, low;
            if (end - p < 4 || !hex4(p, &cp)) {
                ps->p = p;
                return fail(ps, "invalid \\u escape");
            }
            p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                ps->p = p;
                return fail(ps, "unpaired surrogate");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &low) ||
                    low < 0xDC00 || low > 0xDFFF) {
                    ps->p = p;
                    return fail(ps, "unpaired surrogate");
                }
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            if (cp == 0)
                *has_nul = 1;
            out += put_utf8(out, cp);
            break;
        }
        default:
            ps->p = p - 1;
            return fail(ps, "invalid escape");
        }
    }
    ps->p = p + 1;
    if (s) {
        if (out) {
            dks_buf *sb = &ps->o->scratch;
            *s = (const char *)sb->data + sb->len;
            *len = (size_t)(out - (sb->data + sb->len));
            sb->len += *len;
        } else {
            *s = (const char *)start;
            *len = (size_t)(p - start);
        }
    }
    /* (a skipped string decoded into the scratch buffer's free space) */
    return DKS_OK;
}

/* Moves p past one or more digits; 0 if there is none. */
static int digits(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *s = *p;
    while (*p < end && **p >= '0' && **p <= '9')
        (*p)++;
    return *p > s;
}

/* A number; sets *integer when it is one (no fraction, no exponent). */
static int number(parser *ps, int *integer)
{
    const unsigned char *start = ps->p, *p = ps->p, *end = ps->end;
    if (p < end && *p == '-')
        p++;
    const unsigned char *first = p;
    int ok = digits(&p, end) && !(*first == '0' && p - first > 1);  /* no leading zeros */
    *integer = 1;
    if (ok && p < end && *p == '.') {
        *integer = 0;
        p++;
        ok = digits(&p, end);
    }
    if (ok && p < end && (*p == 'e' || *p == 'E')) {
        *integer = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        ok = digits(&p, end);
    }
    if (!ok) {
        ps->p = p;
        return fail(ps, "invalid number");
    }
    ps->p = p;
    size_t n = (size_t)(p - start);
    if (*integer) {
        /* jansson keeps integers as 64-bit values and refuses larger */
        int negative = *start == '-';
        size_t digits = n - (size_t)negative;
        const char *limit = negative ? "9223372036854775808" : "9223372036854775807";
        if (digits > 19 || (digits == 19 && memcmp(start + negative, limit, 19) > 0)) {
            ps->p = start;
            return fail(ps, "integer too large");
        }
        return DKS_OK;
    }
    /* A real that overflows a double is refused, as jansson does: strtod
     * decides, on a copy with the locale's decimal point. */
    dks_buf *sb = &ps->o->scratch;
    char *copy = (char *)sb->data + sb->len;  /* n + 1 bytes fit: see parse() */
    memcpy(copy, start, n);
    copy[n] = '\0';
    const char *point = localeconv()->decimal_point;
    char *dot = memchr(copy, '.', n);
    if (dot && point && point[0] && !point[1])
        *dot = point[0];
    errno = 0;
    double v = strtod(copy, NULL);
    if (errno == ERANGE && isinf(v)) {
        ps->p = start;
        return fail(ps, "real number overflow");
    }
    return DKS_OK;
}

/* jansson reads one byte past a number or a literal and puts it back, and
 * a NUL byte put back is lost (its stream buffer takes it for its own
 * end): it accepts [1\0] and {"a":true\0}, though not ["a"\0] or [1 \0].
 * That byte is skipped here too, for the same verdict on every line. */
static void skip_lost_nul(parser *ps)
{
    if (ps->p < ps->end && *ps->p == '\0')
        ps->p++;
}

static int literal(parser *ps, const char *word, size_t n)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "invalid token");
    ps->p += n;
    skip_lost_nul(ps);
    return DKS_OK;
}

static int value(parser *ps);

/* A member's key and the colon after it (key NULL: checked only). */
static int member_key(parser *ps, const char **key, size_t *len)
{
    int nul, rc;
    if (ps->p == ps->end || *ps->p != '"')
        return fail(ps, "string or '}' expected");
    if ((rc = string(ps, key, len, &nul)))
        return rc;
    if (nul)
        return fail(ps, "NUL byte in object key");
    skip_space(ps);
    if (ps->p == ps->end || *ps->p != ':')
        return fail(ps, "':' expected");
    ps->p++;
    skip_space(ps);
    return DKS_OK;
}

/* After an item of a container that ends with `close`: 1 when a comma
 * says another follows, 0 at the end (past `close`), -1 on an error. */
static int next_item(parser *ps, unsigned char close)
{
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        skip_space(ps);
        return 1;
    }
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    fail(ps, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
    return -1;
}

/* An object or array at ps->p, checked and skipped. */
static int container(parser *ps)
{
    unsigned char close = *ps->p == '{' ? '}' : ']';
    if (++ps->depth > MAX_DEPTH)
        return fail(ps, "nested more than " STR(MAX_DEPTH) " levels deep");
    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return DKS_OK;
    }
    for (;;) {
        int rc;
        if (close == '}' && (rc = member_key(ps, NULL, NULL)))
            return rc;
        if ((rc = value(ps)))
            return rc;
        if ((rc = next_item(ps, close)) != 1) {
            ps->depth -= rc == 0;
            return rc < 0 ? DKS_EINPUT : DKS_OK;
        }
    }
}

/* Any value, checked and skipped. */
static int value(parser *ps)
{
    if (ps->p == ps->end)
        return fail(ps, "value expected");
    int nul, integer;
    switch (*ps->p) {
    case '"': return string(ps, NULL, NULL, &nul);
    case '{': case '[': return container(ps);
    case 't': return literal(ps, "true", 4);
    case 'f': return literal(ps, "false", 5);
    case 'n': return literal(ps, "null", 4);
    default: break;
    }
    int rc = number(ps, &integer);
    if (!rc)
        skip_lost_nul(ps);
    return rc;
}

static size_t key_hash(const char *key, size_t len)
{
    return (size_t)dks_hash_bytes(key, len);
}

/* The member of a key, or NULL. */
static dks_json_member *find_member(dks_json_object *o, const char *key, size_t len)
{
    if (o->n <= SCAN_MEMBERS) {
        for (size_t i = 0; i < o->n; i++)
            if (o->members[i].key_len == len && memcmp(o->members[i].key, key, len) == 0)
                return &o->members[i];
        return NULL;
    }
    size_t mask = o->n_slots - 1;
    for (size_t s = key_hash(key, len) & mask; o->slots[s]; s = (s + 1) & mask) {
        dks_json_member *m = &o->members[o->slots[s] - 1];
        if (m->key_len == len && memcmp(m->key, key, len) == 0)
            return m;
    }
    return NULL;
}

static void slot_member(dks_json_object *o, size_t i)
{
    size_t mask = o->n_slots - 1, s = key_hash(o->members[i].key, o->members[i].key_len) & mask;
    while (o->slots[s])
        s = (s + 1) & mask;
    o->slots[s] = (uint32_t)i + 1;
}

/* Files a new member; the hash table takes over from the scan past
 * SCAN_MEMBERS members. */
static int add_member(parser *ps, const dks_json_member *m)
{
    dks_json_object *o = ps->o;
    if (o->n == DKS_MAX_JSON_MEMBERS)
        return fail(ps, "more than " STR(DKS_MAX_JSON_MEMBERS) " members");
    int rc = dks_grow(&o->members, o->n, &o->cap, sizeof *o->members, 32);
    if (rc)
        return rc;
    o->members[o->n++] = *m;
    if (o->n <= SCAN_MEMBERS)
        return DKS_OK;
    if (o->n * 2 > o->n_slots) {
        size_t n = o->n_slots ? o->n_slots * 2 : 64;
        uint32_t *slots = calloc(n, sizeof *slots);
        if (!slots)
            return DKS_ENOMEM;
        free(o->slots);
        o->slots = slots;
        o->n_slots = n;
        for (size_t i = 0; i < o->n; i++)
            slot_member(o, i);
    } else {
        slot_member(o, o->n - 1);
    }
    return DKS_OK;
}

/* The top-level object's members. */
static int members(parser *ps)
{
    ps->depth = 1;
    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return DKS_OK;
    }
    for (;;) {
        dks_json_member m = {0};
        int rc, nul;
        if ((rc = member_key(ps, &m.key, &m.key_len)))
            return rc;
        const unsigned char *at = ps->p;
        if (at < ps->end && *at == '"') {
            m.type = DKS_JSON_STRING;
            rc = string(ps, &m.value, &m.value_len, &nul);
        } else if (at < ps->end && (*at == '-' || (*at >= '0' && *at <= '9'))) {
            int integer;
            rc = number(ps, &integer);
            m.type = integer ? DKS_JSON_INTEGER : DKS_JSON_OTHER;
            m.value = (const char *)at;
            m.value_len = (size_t)(ps->p - at);
            if (m.value_len == 2 && memcmp(at, "-0", 2) == 0)
                m.value = "0", m.value_len = 1;  /* as a 64-bit integer prints */
            if (!rc)
                skip_lost_nul(ps);
        } else {
            m.type = DKS_JSON_OTHER;
            rc = value(ps);
        }
        if (rc)
            return rc;
        dks_json_member *old = find_member(ps->o, m.key, m.key_len);
        if (old) {
            old->type = m.type;
            old->value = m.value;
            old->value_len = m.value_len;
        } else if ((rc = add_member(ps, &m))) {
            return rc;
        }
        if ((rc = next_item(ps, '}')) != 1)
            return rc < 0 ? DKS_EINPUT : DKS_OK;
    }
}

int dks_json_object_parse(dks_json_object *o, const char *text, size_t len)
{
    o->n = 0;
    o->is_object = 0;
    o->error[0] = '\0';
    if (o->slots)
        memset(o->slots, 0, o->n_slots * sizeof *o->slots);
    /* Decoded strings are never longer than their JSON, and a number's
     * copy is its length plus a NUL: one reservation for the whole line
     * keeps every pointer into the scratch buffer valid. */
    o->scratch.len = 0;
    int rc = dks_buf_reserve(&o->scratch, len + 1);
    if (rc)
        return rc;
    parser ps = {(const unsigned char *)text, (const unsigned char *)text,
                 (const unsigned char *)text + len, o, 0};
    skip_space(&ps);
    if (ps.p == ps.end || (*ps.p != '{' && *ps.p != '['))
        return fail(&ps, "'{' or '[' expected");
    if (*ps.p == '{') {
        o->is_object = 1;
        rc = members(&ps);
    } else {
        rc = container(&ps);
    }
    if (rc)
        return rc;
    skip_space(&ps);
    if (ps.p != ps.end)
        return fail(&ps, "end of line expected");
    return DKS_OK;
}

void dks_json_object_free(dks_json_object *o)
{
    free(o->members);
    free(o->slots);
    dks_buf_free(&o->scratch);
    memset(o, 0, sizeof *o);
}
