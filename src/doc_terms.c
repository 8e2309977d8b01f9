/*
 * doc_terms.c - one document analysed into the flat list of (key, position)
 * records the writer inverts: the title's terms (each word also as a title
 * key), one key for each field value at position 0, then the body's terms
 * after a gap.  It needs only an analyzer, not the writer, so that the
 * documents to come can be analysed on another thread (pipeline.c) while
 * the writer inverts the one before.
 *
 * A record is a 2-byte key length (host order), the key, and a 4-byte
 * position (host order); the list lives in one buffer, reused from
 * document to document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

typedef struct sink {
    dks_doc_terms *out;
    int in_title;
    uint32_t end;     /* one past the last position so far */
} sink;

static int add_record(sink *s, const char *key, size_t len, uint32_t position)
{
    uint16_t kl = (uint16_t)len;
    dks_buf *b = &s->out->records;
    int rc = dks_buf_reserve(b, sizeof kl + len + sizeof position);
    if (rc)
        return rc;
    memcpy(b->data + b->len, &kl, sizeof kl);
    memcpy(b->data + b->len + sizeof kl, key, len);
    memcpy(b->data + b->len + sizeof kl + len, &position, sizeof position);
    b->len += sizeof kl + len + sizeof position;
    if (position >= s->end)
        s->end = position + 1;
    return DKS_OK;
}

static int collect(const dks_term *t, void *ctx)
{
    sink *s = ctx;
    if (t->kind == DKS_TERM_WORD)
        s->out->tokens++;
    char key[DKS_MAX_KEY_TERM_BYTES + 1];
    size_t len = dks_term_key(t->kind, t->term, t->term_len, key);
    if (len == 0)
        return DKS_OK;  /* too long to be a key: not indexed */
    int rc = add_record(s, key, len, t->position);
    if (!rc && s->in_title && t->kind == DKS_TERM_WORD) {
        len = dks_title_key(t->term, t->term_len, key);
        if (len)
            rc = add_record(s, key, len, t->position);
    }
    return rc;
}

int dks_doc_terms_analyze(dks_analyzer *an, const char *title, size_t title_len,
                          const char *body, size_t body_len, const unsigned char *fields,
                          size_t fields_len, uint32_t body_start_hint, dks_doc_terms *out)
{
    out->records.len = 0;
    out->tokens = 0;
    sink s = {out, 1, 0};
    int rc = dks_analyze(an, title, title_len, 0, collect, &s);
    s.in_title = 0;
    if (rc)
        return rc;
    /* Each field value is one key at position 0, for filters and facets. */
    dks_field f;
    for (size_t i = 0; !rc && (rc = dks_fields_get(fields, fields_len, i, &f)) == 0; i++) {
        char key[DKS_MAX_KEY_TERM_BYTES + 2];
        size_t kl = dks_field_key(f.name, f.name_len, f.value, f.value_len, key);
        if (kl)
            rc = add_record(&s, key, kl, 0);
    }
    if (rc != 1)
        return rc;
    uint32_t start = body_start_hint;
    if (start == UINT32_MAX)
        start = out->records.len ? s.end + DKS_FIELD_GAP : 0;
    out->body_start = start;
    return dks_analyze(an, body, body_len, start, collect, &s);
}

int dks_doc_terms_next(const dks_doc_terms *dt, size_t *at, const char **key, size_t *len,
                       uint32_t *position)
{
    const unsigned char *p = dt->records.data + *at;
    if (*at >= dt->records.len)
        return 1;
    uint16_t kl;
    memcpy(&kl, p, sizeof kl);
    *key = (const char *)p + sizeof kl;
    *len = kl;
    memcpy(position, p + sizeof kl + kl, sizeof *position);
    *at += sizeof kl + kl + sizeof *position;
    return DKS_OK;
}

void dks_doc_terms_free(dks_doc_terms *dt)
{
    dks_buf_free(&dt->records);
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

void dks_job_analyze(dks_job *j, dks_analyzer *an)
{
    const dks_document *d = &j->doc;
    j->fields_encoded.len = 0;
    j->rc = dks_fields_encode(d->fields, d->n_fields, &j->fields_encoded);
    if (!j->rc)
        j->rc = dks_doc_terms_analyze(an, d->title ? d->title : "", d->title_len,
                                      d->body ? d->body : "", d->body_len,
                                      j->fields_encoded.data, j->fields_encoded.len,
                                      UINT32_MAX, &j->terms);
}

void dks_job_free(dks_job *j)
{
    dks_buf_free(&j->arena);
    dks_buf_free(&j->fields_encoded);
    dks_doc_terms_free(&j->terms);
    free(j->fields);
}
