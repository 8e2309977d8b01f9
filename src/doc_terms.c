/*
 * doc_terms.c - one document analysed into the flat list of (key id,
 * position) pairs the writer inverts: the title's terms (each word also
 * as a title key), one key for each field value at position 0, then the
 * body's terms after a gap.  Key ids are those of the term dictionary the
 * analyzer interns in (termdict.c).  It needs only an analyzer and its
 * dictionary, not the writer, so that the documents to come can be
 * analysed on another thread (pipeline.c) while the writer inverts the
 * one before.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

typedef struct sink {
    dks_doc_terms *out;
    dks_termdict *dict;
    int in_title;
    uint32_t end;     /* one past the last position so far */
} sink;

static int add_pair(sink *s, uint32_t id, uint32_t position)
{
    dks_doc_terms *dt = s->out;
    if (dt->n == dt->cap) {
        int rc = dks_grow(&dt->pairs, dt->n, &dt->cap, sizeof *dt->pairs, 512);
        if (rc)
            return rc;
    }
    dt->pairs[dt->n++] = (dks_term_pair){id, position};
    if (id > dt->max_id)
        dt->max_id = id;
    if (position >= s->end)
        s->end = position + 1;
    return DKS_OK;
}

static int add_key(sink *s, const char *key, size_t len, uint32_t position)
{
    uint32_t id;
    int rc = dks_termdict_intern(s->dict, key, len, &id);
    return rc ? rc : add_pair(s, id, position);
}

static int collect(const dks_term *t, uint32_t id, void *ctx)
{
    sink *s = ctx;
    if (t->kind == DKS_TERM_WORD)
        s->out->tokens++;
    if (id == DKS_NO_TERM)
        return DKS_OK;  /* too long to be a key: not indexed */
    int rc = add_pair(s, id, t->position);
    if (!rc && s->in_title && t->kind == DKS_TERM_WORD) {
        uint32_t title;
        rc = dks_termdict_title(s->dict, id, &title);
        if (!rc && title != DKS_NO_TERM)
            rc = add_pair(s, title, t->position);
    }
    return rc;
}

int dks_doc_terms_analyze(dks_analyzer *an, dks_termdict *dict, const char *title,
                          size_t title_len, const char *body, size_t body_len,
                          const unsigned char *fields, size_t fields_len,
                          uint32_t body_start_hint, dks_doc_terms *out)
{
    out->n = 0;
    out->max_id = 0;
    out->tokens = 0;
    sink s = {out, dict, 1, 0};
    int rc = dks_analyze_ids(an, title, title_len, 0, collect, &s);
    s.in_title = 0;
    if (rc)
        return rc;
    /* Each field value is one key at position 0, for filters and facets. */
    dks_field f;
    for (size_t i = 0; !rc && (rc = dks_fields_get(fields, fields_len, i, &f)) == 0; i++) {
        char key[DKS_MAX_KEY_TERM_BYTES + 2];
        size_t kl = dks_field_key(f.name, f.name_len, f.value, f.value_len, key);
        if (kl)
            rc = add_key(&s, key, kl, 0);
    }
    if (rc != 1)
        return rc;
    uint32_t start = body_start_hint;
    if (start == UINT32_MAX)
        start = out->n ? s.end + DKS_FIELD_GAP : 0;
    out->body_start = start;
    return dks_analyze_ids(an, body, body_len, start, collect, &s);
}

int dks_doc_prepare(dks_analyzer *an, dks_termdict *dict, const dks_document *doc,
                    dks_buf *fields, dks_doc_terms *out)
{
    fields->len = 0;
    int rc = dks_fields_encode(doc->fields, doc->n_fields, fields);
    return rc ? rc : dks_doc_terms_analyze(an, dict, doc->title ? doc->title : "",
                                           doc->title_len, doc->body ? doc->body : "",
                                           doc->body_len, fields->data, fields->len,
                                           UINT32_MAX, out);
}

void dks_doc_terms_free(dks_doc_terms *dt)
{
    free(dt->pairs);
    dt->pairs = NULL;
    dt->n = dt->cap = 0;
}

/* ---- a document copied for analysis on another thread ----------------- */

/* Appends n bytes (room reserved) and says where they start. */
static size_t copy_in(dks_buf *a, const void *p, size_t n)
{
    if (n)
        memcpy(a->data + a->len, p, n);
    a->len += n;
    return a->len - n;
}

int dks_job_set(dks_job *j, const dks_document *doc)
{
    dks_buf *a = &j->arena;
    a->len = 0;
    j->rc = DKS_OK;
    int rc = DKS_OK;
    while (!rc && j->fields_cap < doc->n_fields)
        rc = dks_grow(&j->fields, j->fields_cap, &j->fields_cap, sizeof *j->fields, 8);
    /* copy the bytes first and set the pointers after: the arena moves */
    size_t total = doc->id_len + doc->title_len + doc->body_len;
    for (size_t i = 0; i < doc->n_fields; i++)
        total += doc->fields[i].name_len + doc->fields[i].value_len;
    if (!rc)
        rc = dks_buf_reserve(a, total + 1);
    if (rc)
        return rc;
    size_t id = copy_in(a, doc->id, doc->id_len);
    size_t title = doc->title ? copy_in(a, doc->title, doc->title_len) : 0;
    size_t body = doc->body ? copy_in(a, doc->body, doc->body_len) : 0;
    for (size_t i = 0; i < doc->n_fields; i++) {
        j->fields[i] = doc->fields[i];
        j->fields[i].name = (const char *)(uintptr_t)copy_in(a, doc->fields[i].name,
                                                          doc->fields[i].name_len);
        j->fields[i].value = (const char *)(uintptr_t)copy_in(a, doc->fields[i].value,
                                                           doc->fields[i].value_len);
    }
    const char *base = (const char *)a->data;
    for (size_t i = 0; i < doc->n_fields; i++) {
        j->fields[i].name = base + (uintptr_t)j->fields[i].name;
        j->fields[i].value = base + (uintptr_t)j->fields[i].value;
    }
    j->doc = (dks_document){
        .id = base + id, .id_len = doc->id_len,
        .title = doc->title ? base + title : NULL, .title_len = doc->title ? doc->title_len : 0,
        .body = doc->body ? base + body : NULL, .body_len = doc->body ? doc->body_len : 0,
        .fields = j->fields, .n_fields = doc->n_fields,
    };
    return DKS_OK;
}

void dks_job_analyze(dks_job *j, dks_analyzer *an, dks_termdict *dict)
{
    j->rc = dks_doc_prepare(an, dict, &j->doc, &j->fields_encoded, &j->terms);
}

void dks_job_free(dks_job *j)
{
    dks_buf_free(&j->arena);
    dks_buf_free(&j->fields_encoded);
    dks_doc_terms_free(&j->terms);
    free(j->fields);
    *j = (dks_job){0};
}
