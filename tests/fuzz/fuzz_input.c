/*
 * fuzz_input.c - the input readers on arbitrary bytes: dks_parse_documents
 * for text, JSON Lines, TSV and HTML (the first byte picks the format,
 * modulo 4, the rest is the file), and for JSON Lines also the line parser
 * against jansson, which must agree on every line (as
 * tests/unit/test_jsonl.c checks on generated lines).
 *
 * Checked beyond not crashing: every document has an id, every span it
 * points to can be read, lines are counted upwards, skipped records say
 * why, and the parse itself never fails (bad records are skipped).
 */
#include "fuzz.h"

#include <jansson.h>

static const dks_format formats[] = {DKS_FORMAT_TEXT, DKS_FORMAT_JSONL, DKS_FORMAT_TSV,
                                     DKS_FORMAT_HTML};

typedef struct seen {
    long last_line;
    long lines;         /* in the input, an upper bound of any line number */
} seen;

/* Reads a span the library handed out (the sanitizer checks the bytes). */
static void touch(const char *s, size_t len)
{
    FUZZ_CHECK(s != NULL || len == 0);
    if (len)
        (void)dks_hash_bytes(s, len);
}

static int on_document(const dks_document *doc, long line, void *ctx)
{
    seen *st = ctx;
    FUZZ_CHECK(line > st->last_line && line <= st->lines);  /* a document a line, upwards */
    st->last_line = line;
    FUZZ_CHECK(doc->id && doc->id_len > 0);
    touch(doc->id, doc->id_len);
    touch(doc->title, doc->title_len);
    touch(doc->body, doc->body_len);
    FUZZ_CHECK(doc->fields || doc->n_fields == 0);
    for (size_t i = 0; i < doc->n_fields; i++) {
        touch(doc->fields[i].name, doc->fields[i].name_len);
        touch(doc->fields[i].value, doc->fields[i].value_len);
    }
    return 0;
}

static void on_skip(long line, const char *reason, void *ctx)
{
    seen *st = ctx;
    FUZZ_CHECK(line >= 1 && line <= st->lines);
    FUZZ_CHECK(reason && reason[0] != '\0');
}

/* The line parser and jansson: the same verdict, and for an object the
 * same members in the same order with the same string and integer values. */
static void same_as_jansson(dks_json_object *o, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    int rc = dks_json_object_parse(o, line, len);
    FUZZ_CHECK_RC(rc, DKS_EINPUT);
    /* (an object past the member limit is refused on purpose) */
    if (j && json_is_object(j) && json_object_size(j) > DKS_MAX_JSON_MEMBERS) {
        FUZZ_CHECK(rc == DKS_EINPUT);
        json_decref(j);
        return;
    }
    if ((j != NULL) != (rc == DKS_OK))
        fprintf(stderr, "line (%zu bytes): jansson: %s, jsonl: %s\n", len,
                j ? "accepts" : jerr.text, rc == DKS_OK ? "accepts" : o->error);
    FUZZ_CHECK((j != NULL) == (rc == DKS_OK));
    FUZZ_CHECK(rc == DKS_OK || o->error[0] != '\0');
    if (!j)
        return;
    FUZZ_CHECK(json_is_object(j) == o->is_object);
    if (o->is_object) {
        FUZZ_CHECK(json_object_size(j) == o->n);
        size_t i = 0;
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            const dks_json_member *m = &o->members[i++];
            FUZZ_CHECK(strlen(key) == m->key_len && memcmp(key, m->key, m->key_len) == 0);
            if (json_is_string(v)) {
                FUZZ_CHECK(m->type == DKS_JSON_STRING && json_string_length(v) == m->value_len);
                FUZZ_CHECK(!m->value_len || memcmp(json_string_value(v), m->value, m->value_len) == 0);
            } else if (json_is_integer(v)) {
                char text[32];
                int tl = snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                FUZZ_CHECK(m->type == DKS_JSON_INTEGER && (size_t)tl == m->value_len);
                FUZZ_CHECK(memcmp(text, m->value, m->value_len) == 0);
            } else {
                FUZZ_CHECK(m->type == DKS_JSON_OTHER);
            }
        }
    }
    json_decref(j);
}

static void compare_lines(const char *data, size_t len)
{
    dks_json_object o = {0};
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len;
        same_as_jansson(&o, data + i, end - i);
        i = end + 1;
    }
    dks_json_object_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    dks_format format = formats[data[0] % 4];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    seen st = {0, 1};
    for (size_t i = 0; i < len; i++)
        st.lines += text[i] == '\n';
    dks_error_detail err = {0};
    int rc = dks_parse_documents(format, "fuzz.txt", 8, text, len, on_document, on_skip, &st,
                                 &err);
    FUZZ_CHECK(rc == DKS_OK);
    if (format == DKS_FORMAT_JSONL)
        compare_lines(text, len);
    return 0;
}
