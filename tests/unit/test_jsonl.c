/*
 * The JSON Lines parser against jansson: on hand-picked edge cases and on
 * a few hundred thousand generated and mutated lines, both must accept
 * the same lines, and for an object give the same members in the same
 * order with the same string and integer values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

/* Compares both parsers on one line; fails the test with the line shown. */
static void same_as_jansson(dks_json_object *o, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    int rc = dks_json_object_parse(o, line, len);
    if ((j != NULL) != (rc == DKS_OK)) {
        fprintf(stderr, "line (%zu bytes): %.*s\njansson: %s, jsonl: %s\n", len, (int)len, line,
                j ? "accepts" : jerr.text, rc == DKS_OK ? "accepts" : o->error);
        fail_msg("the parsers disagree on accepting the line");
    }
    if (!j)
        return;
    assert_int_equal(json_is_object(j), o->is_object);
    if (!o->is_object) {
        json_decref(j);
        return;
    }
    assert_int_equal(json_object_size(j), o->n);
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        const dks_json_member *m = &o->members[i++];
        assert_int_equal(strlen(key), m->key_len);
        assert_memory_equal(key, m->key, m->key_len);
        if (json_is_string(v)) {
            assert_int_equal(m->type, DKS_JSON_STRING);
            assert_int_equal(json_string_length(v), m->value_len);
            if (m->value_len)
                assert_memory_equal(json_string_value(v), m->value, m->value_len);
        } else if (json_is_integer(v)) {
            char text[32];
            snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            assert_int_equal(m->type, DKS_JSON_INTEGER);
            assert_int_equal(strlen(text), m->value_len);
            assert_memory_equal(text, m->value, m->value_len);
        } else {
            assert_int_equal(m->type, DKS_JSON_OTHER);
        }
    }
    json_decref(j);
}

static void check(dks_json_object *o, const char *line)
{
    same_as_jansson(o, line, strlen(line));
}

static void test_edge_cases(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{}", "[]", "{ }", " {\"a\":1} ", "{\"a\":1}x", "{\"a\":1,}", "{\"a\" 1}", "{,}",
        "{\"id\":\"x\",\"title\":\"T\",\"body\":\"B\"}",
        "{\"a\":\"\\u00e6\\u00f8\\u00e5\",\"b\":\"\\ud83d\\ude00\",\"c\":\"\\n\\t\\\"\\\\\\/\"}",
        "{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ude00\"}", "{\"a\":\"\\ud83d\\u0041\"}",
        "{\"a\":\"\\u0000x\"}", "{\"a\\u0000\":1}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":\"tab\there\"}", "{\"a\":\"\xc3\xa6\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe0\x80\xaf\"}", "{\"a\":\"\xc0\xaf\"}",
        "{\"a\":0}", "{\"a\":-0}", "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":1e5}", "{\"a\":1E+5}", "{\"a\":1e}", "{\"a\":-1.5e-3}", "{\"a\":1e999}",
        "{\"a\":-1e999}", "{\"a\":1e-999}", "{\"a\":9223372036854775807}",
        "{\"a\":9223372036854775808}", "{\"a\":-9223372036854775808}",
        "{\"a\":-9223372036854775809}", "{\"a\":12345678901234567890123}",
        "{\"a\":true,\"b\":false,\"c\":null}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":True}",
        "{\"a\":[1,2,{\"b\":[]}],\"c\":{}}", "{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":{\"b\"}}",
        "{\"a\":1,\"a\":\"two\",\"b\":3,\"a\":4}", "{\"id\":5,\"id\":\"x\"}",
        "\"just a string\"", "42", "true", "", "   ", "{", "}", "[", "{\"a\":", "{\"a\"",
        "{\"a\":\"unterminated", "\xef\xbb\xbf{}", "{\"\":\"empty key\"}",
        "{\"a\":\"\\uD83D\\uDE00\\uFFFF\"}", "{\"a\" : \"b\" , \"c\" : [ ] }",
    };
    dks_json_object o = {0};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        check(&o, lines[i]);
    dks_json_object_free(&o);
}

/* A NUL byte right after a number or a literal, which jansson's lexer
 * loses (and so accepts the line), and anywhere else, which it refuses. */
static void test_nul_bytes_between_tokens(void **state)
{
    (void)state;
#define LINE(s) {s, sizeof s - 1}
    static const struct {
        const char *text;
        size_t len;
    } lines[] = {
        LINE("[1\0, 2]"), LINE("[1.5\0]"), LINE("[-1e5\0]"), LINE("[true\0]"),
        LINE("{\"id\":12\0,\"a\":null\0,\"b\":false\0}"), LINE("{\"a\":[0\0]\0}"),
        LINE("[1\0\0]"), LINE("[\"a\"\0]"), LINE("[1 \0]"), LINE("[1,\0 2]"),
        LINE("{\"a\":\0 1}"), LINE("{\"a\":1}\0"), LINE("[1\0"), LINE("{\"a\":{}\0}"),
    };
#undef LINE
    dks_json_object o = {0};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        same_as_jansson(&o, lines[i].text, lines[i].len);
    dks_json_object_free(&o);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    dks_json_object o = {0};
    for (size_t depth = 2046; depth <= 2050; depth++) {
        /* {"a": then depth - 1 arrays */
        char *line = malloc(2 * depth + 16);
        size_t n = 0;
        n += (size_t)sprintf(line, "{\"a\":");
        for (size_t i = 1; i < depth; i++)
            line[n++] = '[';
        for (size_t i = 1; i < depth; i++)
            line[n++] = ']';
        line[n++] = '}';
        same_as_jansson(&o, line, n);
        free(line);
    }
    dks_json_object_free(&o);
}

/* ---- generated lines --------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static void put(dks_buf *b, const char *s)
{
    assert_int_equal(dks_buf_append_str(b, s), DKS_OK);
}

static void gen_string(dks_buf *b)
{
    static const char *const pieces[] = {
        "a", "velfærd", "Ærø", "x y", "\\n", "\\\"", "\\\\", "\\/", "\\u00e6", "\\u0000",
        "\\ud83d\\ude00", "\\uD800", "\\uDFFF", "\\t", "\\b", "\xc3\xa6", "\xe2\x80\x93",
        "\xf0\x9f\x98\x80", "\xff", "\xc3", "\x01", "id", "title", "body", "text", "\\q",
    };
    put(b, "\"");
    for (unsigned i = rnd(4); i > 0; i--)
        put(b, pieces[rnd(sizeof pieces / sizeof pieces[0])]);
    put(b, "\"");
}

static void gen_value(dks_buf *b, int depth)
{
    static const char *const scalars[] = {
        "0", "-0", "17", "-42", "3.25", "1e10", "-2.5E-3", "true", "false", "null",
        "9223372036854775807", "9223372036854775808", "1e400", "01", "1.", "-",
    };
    unsigned kind = rnd(depth > 3 ? 2 : 4);
    if (kind == 0) {
        gen_string(b);
    } else if (kind == 1) {
        put(b, scalars[rnd(sizeof scalars / sizeof scalars[0])]);
    } else {
        int object = kind == 2;
        put(b, object ? "{" : "[");
        for (unsigned i = rnd(4), first = 1; i > 0; i--, first = 0) {
            if (!first)
                put(b, rnd(20) ? "," : "");
            if (object) {
                gen_string(b);
                put(b, rnd(20) ? ":" : " ");
            }
            gen_value(b, depth + 1);
        }
        put(b, object ? "}" : "]");
    }
}

/* An object line, then now and then a byte changed, dropped or cut. */
static void gen_line(dks_buf *b)
{
    b->len = 0;
    put(b, rnd(30) ? "{" : "[");
    static const char *const keys[] = {"\"id\"", "\"title\"", "\"body\"", "\"text\"",
                                       "\"party\"", "\"a\\u00e6\""};
    for (unsigned i = rnd(6), first = 1; i > 0; i--, first = 0) {
        if (!first)
            put(b, ",");
        if (rnd(3))
            put(b, keys[rnd(sizeof keys / sizeof keys[0])]);
        else
            gen_string(b);
        put(b, rnd(2) ? ":" : " : ");
        gen_value(b, 1);
    }
    put(b, b->data[0] == '{' ? "}" : "]");
    unsigned mutate = rnd(4);
    if (mutate == 1 && b->len)
        b->data[rnd((unsigned)b->len)] = (unsigned char)rnd(256);
    else if (mutate == 2 && b->len)
        b->len = rnd((unsigned)b->len);
    else if (mutate == 3 && b->len > 1) {
        size_t at = rnd((unsigned)b->len);
        memmove(b->data + at, b->data + at + 1, b->len - at - 1);
        b->len--;
    }
}

static void test_generated_lines(void **state)
{
    (void)state;
    dks_json_object o = {0};
    dks_buf b = {0};
    int accepted = 0;
    for (int i = 0; i < 200000; i++) {
        gen_line(&b);
        same_as_jansson(&o, (const char *)b.data, b.len);
        accepted += dks_json_object_parse(&o, (const char *)b.data, b.len) == DKS_OK;
    }
    /* the generator must make both kinds, or the comparison proves little */
    assert_true(accepted > 20000 && accepted < 180000);
    dks_buf_free(&b);
    dks_json_object_free(&o);
}

/* Strings are scanned eight bytes at a time: every kind of byte that ends
 * a plain run, at every place in runs of every length up to 40, with the
 * line ending right after the string or going on. */
static void test_odd_bytes_at_every_offset(void **state)
{
    (void)state;
    static const char *const odd[] = {"\"", "\\n", "\\\"", "\x01", "\x1f", "\x7f",
                                      "\xc3\xa6", "\xe2\x80\x93", "\xff", "\xc3", " "};
    dks_json_object o = {0};
    dks_buf b = {0};
    for (unsigned len = 0; len <= 40; len++)
        for (unsigned at = 0; at <= len; at++)
            for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++)
                for (int tail = 0; tail < 2; tail++) {
                    b.len = 0;
                    put(&b, "{\"body\":\"");
                    for (unsigned i = 0; i < len; i++)
                        put(&b, i == at ? odd[k] : (i % 3 ? "a" : "Z"));
                    put(&b, tail ? "\",\"id\":\"x\"}" : "\"}");
                    same_as_jansson(&o, (const char *)b.data, b.len);
                }
    dks_buf_free(&b);
    dks_json_object_free(&o);
}

static void test_many_members(void **state)
{
    (void)state;
    dks_json_object o = {0};
    dks_buf b = {0};
    put(&b, "{");
    for (int i = 0; i < 3000; i++) {
        char m[64];
        snprintf(m, sizeof m, "%s\"k%d\":%d", i ? "," : "", i % 2000, i);
        put(&b, m);
    }
    put(&b, "}");
    same_as_jansson(&o, (const char *)b.data, b.len);  /* 2000 keys, 1000 repeated */
    assert_int_equal(o.n, 2000);
    /* Past the bound, a line is refused rather than held. */
    b.len = 0;
    put(&b, "{");
    for (int i = 0; i <= DKS_MAX_JSON_MEMBERS; i++) {
        char m[64];
        snprintf(m, sizeof m, "%s\"k%d\":1", i ? "," : "", i);
        put(&b, m);
    }
    put(&b, "}");
    assert_int_equal(dks_json_object_parse(&o, (const char *)b.data, b.len), DKS_EINPUT);
    assert_non_null(strstr(o.error, "more than 4096 members"));
    dks_buf_free(&b);
    dks_json_object_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_nul_bytes_between_tokens),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_generated_lines),
        cmocka_unit_test(test_odd_bytes_at_every_offset),
        cmocka_unit_test(test_many_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
