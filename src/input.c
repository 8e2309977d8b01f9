/*
 * input.c - reads documents from the formats the indexer accepts:
 *
 *   .txt    one document; the title is the first non-empty line, the body
 *           is the text after it
 *   .jsonl  one JSON object a line: "id" (string or integer), "title",
 *           "body" (or "text"), and any further string fields, kept as
 *           named fields; parsed by jsonl.c
 *   .tsv    one document a line: id <TAB> text (a first line "id<TAB>text"
 *           is taken as a header)
 *   .html   one document (also .htm): title, text and language read by
 *           html.c
 *
 * A malformed record is reported through the skip callback and the rest
 * of the input is still read; only the caller's callback can stop a parse.
 * So is input that is not a document at all: a text or HTML file that is
 * binary data or holds no text, a line too long to hold a document.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dks_int.h"

/* Named fields per JSON document; more are ignored. */
#define DKS_MAX_FIELDS 64
/* A text file is told from binary data (an image, a PDF, a program) by
 * its first DKS_BINARY_PROBE bytes: binary when they hold a NUL byte (no
 * text has one but UTF-16 and UTF-32, which are not read), or when more
 * than one in DKS_BINARY_SHARE of them are control characters or bytes
 * that are not UTF-8.  Danish in Latin-1 has about one such byte in 40 (æ
 * ø å), compressed and image data more than one in two.  A share says
 * little of a few bytes: a probe shorter than DKS_BINARY_MIN_SHARE is
 * judged by NUL bytes alone. */
#define DKS_BINARY_PROBE 8192
#define DKS_BINARY_SHARE 4
#define DKS_BINARY_MIN_SHARE 256
/* A JSON Lines or TSV line longer than this is skipped unparsed: the
 * parser's scratch memory grows with the line, and the document in it
 * could only be refused (DKS_MAX_DOC_BYTES) unless much of the line is
 * JSON escapes (\u00e6 is six bytes for two) or members that are not
 * indexed, which twice the document limit leaves room for. */
#define DKS_MAX_LINE_BYTES (2 * DKS_MAX_DOC_BYTES)

int dks_format_from_name(const char *name, dks_format *out)
{
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (dot && (!slash || dot > slash)) {
        if (strcasecmp(dot, ".txt") == 0 || strcasecmp(dot, ".text") == 0) {
            *out = DKS_FORMAT_TEXT;
            return DKS_OK;
        }
        if (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0) {
            *out = DKS_FORMAT_JSONL;
            return DKS_OK;
        }
        if (strcasecmp(dot, ".tsv") == 0) {
            *out = DKS_FORMAT_TSV;
            return DKS_OK;
        }
        if (strcasecmp(dot, ".html") == 0 || strcasecmp(dot, ".htm") == 0) {
            *out = DKS_FORMAT_HTML;
            return DKS_OK;
        }
    }
    return DKS_EINVAL;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Cuts a title at a UTF-8 character boundary within the limit. */
static size_t cut_title(const char *s, size_t len)
{
    if (len <= DKS_MAX_TITLE_BYTES)
        return len;
    size_t n = DKS_MAX_TITLE_BYTES;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* Why the start of data shows it is binary, or NULL for text. */
static const char *binary_reason(const char *data, size_t len)
{
    size_t probe = len < DKS_BINARY_PROBE ? len : DKS_BINARY_PROBE;
    if (memchr(data, '\0', probe))
        return "binary file (contains NUL bytes)";
    if (probe < DKS_BINARY_MIN_SHARE)
        return NULL;
    const unsigned char *s = (const unsigned char *)data;
    size_t odd = 0;
    for (size_t i = 0; i < probe;) {
        int32_t cp;
        i += dks_utf8_decode(s + i, probe - i, &cp);
        odd += cp < 0 || (cp < 0x20 && !is_blank((char)cp)) || cp == 0x7F;
    }
    return odd > probe / DKS_BINARY_SHARE
               ? "binary file (mostly control characters and bytes that are not UTF-8)"
               : NULL;
}

/* The reason for skipping a file or text larger than a document may be. */
static const char *too_large(const char *what, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s is larger than the limit of %zu MiB for a document", what,
             DKS_MAX_DOC_BYTES >> 20);
    return buf;
}

/* A file that is one document skipped as a whole. */
static int skip_whole(const char *reason, dks_skip_callback skip, void *ctx)
{
    if (skip)
        skip(1, reason, ctx);
    return DKS_OK;
}

static int parse_text(const char *name, size_t name_len, const char *data, size_t len,
                      dks_document_callback cb, dks_skip_callback skip, void *ctx)
{
    const char *reason = binary_reason(data, len);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    size_t i = 0;
    while (!reason && i < len && is_blank(data[i]))
        i++;
    char message[80];
    if (!reason && i == len) {
        reason = "no text (only white space)";
    } else if (!reason && len - i > DKS_MAX_DOC_BYTES) {
        /* (told before the first line is looked for in all of it) */
        reason = too_large("file", message, sizeof message);
    }
    if (reason)
        return skip_whole(reason, skip, ctx);
    const char *nl = memchr(data + i, '\n', len - i);
    size_t line_end = nl ? (size_t)(nl - data) : len;
    size_t title_end = line_end;
    while (title_end > i && is_blank(data[title_end - 1]))
        title_end--;
    dks_document doc = {.id = name, .id_len = name_len, .title = data + i};
    doc.title_len = cut_title(doc.title, title_end - i);
    if (doc.title_len < title_end - i) {
        /* An over-long first line stays searchable as body text. */
        doc.body = data + i;
        doc.body_len = len - i;
    } else {
        doc.body = data + line_end;
        doc.body_len = len - line_end;
    }
    return cb(&doc, 1, ctx);
}

/* A page's size is bounded like a text file's: the tree libxml2 builds
 * of it takes several times its bytes. */
static int parse_html(const char *name, size_t name_len, const char *data, size_t len,
                      dks_document_callback cb, dks_skip_callback skip, void *ctx)
{
    char message[80];
    const char *reason = binary_reason(data, len);
    if (!reason && len > DKS_MAX_DOC_BYTES)
        reason = too_large("file", message, sizeof message);
    if (reason)
        return skip_whole(reason, skip, ctx);
    dks_html_page page;
    int rc = dks_html_parse(data, len, &page);
    if (rc == DKS_ELIMIT)
        return skip_whole(too_large("text", message, sizeof message), skip, ctx);
    if (rc)
        return rc;
    if (page.title.len == 0 && page.body.len == 0) {
        rc = skip_whole("no text (only markup and white space)", skip, ctx);
    } else {
        dks_field lang = {"lang", 4, (const char *)page.lang.data, page.lang.len};
        dks_document doc = {
            .id = name, .id_len = name_len,
            .title = (const char *)page.title.data, .title_len = page.title.len,
            .body = (const char *)page.body.data, .body_len = page.body.len,
            .fields = &lang, .n_fields = page.lang.len > 0,
        };
        rc = cb(&doc, 1, ctx);
    }
    dks_html_page_free(&page);
    return rc;
}

typedef struct parse_state {
    dks_document_callback cb;
    dks_skip_callback skip;
    void *ctx;
    dks_json_object json;   /* reused from line to line */
} parse_state;

static void skipped(const parse_state *st, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void skipped(const parse_state *st, long line, const char *fmt, ...)
{
    if (!st->skip)
        return;
    char reason[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    st->skip(line, reason, st->ctx);
}

/* Calls fn for each line (without its newline or trailing \r) that is not
 * too long to hold a document. */
typedef int (*line_fn)(const char *line, size_t len, long number, parse_state *st);

static int for_each_line(const char *data, size_t len, line_fn fn, parse_state *st)
{
    long number = 0;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t line_len = end - i;
        if (line_len && data[i + line_len - 1] == '\r')
            line_len--;
        number++;
        if (line_len > DKS_MAX_LINE_BYTES) {
            skipped(st, number, "line is longer than the limit of %zu MiB for a line",
                    DKS_MAX_LINE_BYTES >> 20);
        } else {
            int rc = fn(data + i, line_len, number, st);
            if (rc)
                return rc;
        }
        i = end + 1;
    }
    return DKS_OK;
}

static int key_is(const dks_json_member *m, const char *name)
{
    return m->key_len == strlen(name) && memcmp(m->key, name, m->key_len) == 0;
}

static int json_line(const char *line, size_t len, long number, parse_state *st)
{
    size_t i = 0;
    while (i < len && is_blank(line[i]))
        i++;
    if (i == len)
        return DKS_OK;
    dks_json_object *o = &st->json;
    int rc = dks_json_object_parse(o, line + i, len - i);
    if (rc == DKS_EINPUT) {
        skipped(st, number, "invalid JSON: %s", o->error);
        return DKS_OK;
    }
    if (rc)
        return rc;
    if (!o->is_object) {
        skipped(st, number, "not a JSON object");
        return DKS_OK;
    }
    dks_document doc = {0};
    dks_field fields[DKS_MAX_FIELDS];
    for (size_t m = 0; m < o->n; m++) {
        const dks_json_member *mb = &o->members[m];
        if (key_is(mb, "id") && (mb->type == DKS_JSON_STRING || mb->type == DKS_JSON_INTEGER)) {
            doc.id = mb->value;
            doc.id_len = mb->value_len;
        }
    }
    if (!doc.id || doc.id_len == 0) {
        skipped(st, number, "no \"id\" (a string or an integer)");
        return DKS_OK;
    }
    for (size_t m = 0; m < o->n; m++) {
        const dks_json_member *mb = &o->members[m];
        if (mb->type != DKS_JSON_STRING || key_is(mb, "id"))
            continue;
        if (key_is(mb, "title")) {
            doc.title = mb->value;
            doc.title_len = mb->value_len;
        } else if (key_is(mb, "body") || (key_is(mb, "text") && !doc.body)) {
            /* "text" stands in for a missing "body" */
            doc.body = mb->value;
            doc.body_len = mb->value_len;
        } else if (doc.n_fields < DKS_MAX_FIELDS) {
            fields[doc.n_fields++] = (dks_field){mb->key, mb->key_len, mb->value, mb->value_len};
        }
    }
    doc.fields = fields;
    return st->cb(&doc, number, st->ctx);
}

static int tsv_line(const char *line, size_t len, long number, parse_state *st)
{
    size_t blank = 0;
    while (blank < len && is_blank(line[blank]))
        blank++;
    if (blank == len)
        return DKS_OK;  /* as in JSON Lines, a blank line is no record */
    if (number == 1 && len == 7 && strncasecmp(line, "id\ttext", 7) == 0)
        return DKS_OK;
    const char *tab = memchr(line, '\t', len);
    if (!tab) {
        skipped(st, number, "no tab between id and text");
        return DKS_OK;
    }
    size_t id_len = (size_t)(tab - line);
    while (id_len && is_blank(line[id_len - 1]))
        id_len--;
    if (id_len == 0) {
        skipped(st, number, "empty id");
        return DKS_OK;
    }
    dks_document doc = {
        .id = line, .id_len = id_len,
        .title = "", .title_len = 0,
        .body = tab + 1, .body_len = (size_t)(line + len - (tab + 1)),
    };
    return st->cb(&doc, number, st->ctx);
}

int dks_parse_documents(dks_format format, const char *name, size_t name_len, const char *data,
                        size_t len, dks_document_callback cb, dks_skip_callback skip, void *ctx,
                        dks_error_detail *err)
{
    parse_state st = {cb, skip, ctx, {0}};
    int rc;
    switch (format) {
    case DKS_FORMAT_TEXT:
        return parse_text(name, name_len, data, len, cb, skip, ctx);
    case DKS_FORMAT_JSONL:
        rc = for_each_line(data, len, json_line, &st);
        dks_json_object_free(&st.json);
        return rc;
    case DKS_FORMAT_TSV:
        return for_each_line(data, len, tsv_line, &st);
    case DKS_FORMAT_HTML:
        return parse_html(name, name_len, data, len, cb, skip, ctx);
    default:
        return dks_fail(err, DKS_EINVAL, -1, "unknown input format");
    }
}
