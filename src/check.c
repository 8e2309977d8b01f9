/*
 * check.c - the integrity check behind `dksearch-index --check`.
 *
 * Walks every database of the index in one read transaction, so it sees
 * one committed state however the writer goes on, and cross-checks what
 * the databases say of each other: every document has its record, id,
 * length and text, and nothing names a document that does not exist; every
 * term's blocks decode, name live documents in order, respect their own
 * bounds (which pruning trusts) and add up to the term's df and cf; the
 * collection statistics in `meta` are the sums of what is stored; and no
 * listed generation holds a block that no term reaches.  The first
 * inconsistency ends the walk with DKS_ECORRUPT and says where.
 *
 * The search path validates each value it reads; this file is for what a
 * reader cannot see from one value: counts that disagree, orphans, gaps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

typedef struct checker {
    dks_txn *txn;
    dks_meta meta;
    dks_length_reader lengths;
    dks_text_reader *texts;
    uint64_t total_len;        /* of the documents seen */
    unsigned char *live;       /* a bit per document id below meta.next_doc */
    uint64_t blocks_reached[DKS_GENERATIONS];
    dks_index_check_report report;
    dks_error_detail *err;
    uint32_t docs[DKS_BLOCK_DOCS], tfs[DKS_BLOCK_DOCS];
    uint32_t *pos;
    size_t pos_cap;
} checker;

static int is_live(const checker *c, uint32_t doc)
{
    return doc < c->meta.next_doc && (c->live[doc / 8] >> (doc % 8) & 1);
}

/* A term key as a person reads it: the kind byte shown as a number. */
static void describe_key(const unsigned char *key, size_t len, char *out, size_t cap)
{
    unsigned char kind = len ? key[0] : 0;
    if (kind >= 0x01 && kind <= 0x08)
        snprintf(out, cap, "term \\x%02x%.*s", kind, (int)(len - 1 > 200 ? 200 : len - 1),
                 (const char *)key + 1);
    else
        snprintf(out, cap, "term %.*s", (int)(len > 200 ? 200 : len), (const char *)key);
}

#define corrupt(c, ...) dks_fail((c)->err, DKS_ECORRUPT, -1, __VA_ARGS__)

/* Calls visit for every entry of db in key order; the first non-zero
 * return ends the walk and is returned. */
typedef int (*visit_fn)(checker *c, const void *k, size_t kl, const void *v, size_t vl);

typedef struct walking {
    checker *c;
    visit_fn visit;
    uint64_t n;
} walking;

static int visit_counted(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
    walking *w = arg;
    w->n++;
    return w->visit ? w->visit(w->c, k, kl, v, vl) : DKS_OK;
}

static int walk(checker *c, dks_db db, visit_fn visit, uint64_t *entries)
{
    walking w = {c, visit, 0};
    int rc = dks_db_walk(c->txn, db, visit_counted, &w);
    if (entries)
        *entries = w.n;
    return rc;
}

/* A document record that decodes, with the id, length and text it needs. */
static int visit_doc(checker *c, const void *k, size_t kl, const void *v, size_t vl)
{
    dks_doc_record rec;
    uint32_t doc, length;
    const void *id_val, *text;
    size_t id_vl, text_len;
    if (kl != 4 || (doc = dks_get_be32(k)) >= c->meta.next_doc)
        return corrupt(c, "a document record has a key outside the document ids");
    if (dks_doc_record_decode(v, vl, &rec) != 0)
        return corrupt(c, "the record of document %u does not decode", doc);
    int rc = dks_kv_get(c->txn, DKS_DB_IDS, rec.id, rec.id_len, &id_val, &id_vl);
    if (rc == 1 || (rc == 0 && (id_vl != 4 || dks_get_be32(id_val) != doc)))
        return corrupt(c, "document %.*s (%u) is not found by its id", (int)rec.id_len, rec.id,
                       doc);
    if (rc)
        return rc;
    rc = dks_length_get(&c->lengths, doc, &length);
    if (rc == DKS_ECORRUPT || (rc == 0 && length != rec.length))
        return corrupt(c, "document %.*s has length %u in its record, %u in the lengths",
                       (int)rec.id_len, rec.id, rec.length, rc ? 0 : length);
    if (rc)
        return rc;
    if ((rc = dks_text_get(c->texts, c->txn, doc, &text, &text_len)))
        return rc == DKS_ECORRUPT ? corrupt(c, "the text of document %.*s is missing or does "
                                            "not decode", (int)rec.id_len, rec.id)
                                  : rc;
    c->live[doc / 8] |= (unsigned char)(1u << (doc % 8));
    c->report.documents++;
    c->total_len += rec.length;
    return DKS_OK;
}

/* An id, a text: each belongs to a live document (the live ones were found
 * to have theirs). */
static int visit_id(checker *c, const void *k, size_t kl, const void *v, size_t vl)
{
    (void)k;
    (void)kl;
    if (vl != 4 || !is_live(c, dks_get_be32(v)))
        return corrupt(c, "an id is stored for a document that does not exist");
    return DKS_OK;
}

static int visit_text(checker *c, const void *k, size_t kl, const void *v, size_t vl)
{
    (void)v;
    (void)vl;
    if (kl != 4 || !is_live(c, dks_get_be32(k)))
        return corrupt(c, "a text is stored for a document that does not exist");
    return DKS_OK;
}

/* A chunk of lengths: every non-zero length is a live document's. */
static int visit_lengths(checker *c, const void *k, size_t kl, const void *v, size_t vl)
{
    if (kl != 4 || vl != DKS_LENGTH_CHUNK * 4)
        return corrupt(c, "a chunk of document lengths is malformed");
    uint32_t base = dks_get_be32(k) * DKS_LENGTH_CHUNK;
    const unsigned char *p = v;
    for (uint32_t j = 0; j < DKS_LENGTH_CHUNK; j++)
        if ((p[4 * j] | p[4 * j + 1] | p[4 * j + 2] | p[4 * j + 3]) && !is_live(c, base + j))
            return corrupt(c, "a length is stored for document %u, which does not exist",
                           base + j);
    return DKS_OK;
}

/* A source record decodes, and so does its list of ids. */
static int visit_source(checker *c, const void *k, size_t kl, const void *v, size_t vl)
{
    dks_source_record rec;
    if (dks_source_record_decode(v, vl, &rec) != 0)
        return corrupt(c, "the record of source %.*s does not decode", (int)kl, (const char *)k);
    const unsigned char *p = rec.ids, *end = p + rec.ids_len;
    const char *id;
    size_t len;
    uint64_t n = 0;
    int rc;
    while ((rc = dks_source_ids_next(&p, end, &id, &len)) == 0)
        n++;
    if (rc != 1 || n != rec.n_ids)
        return corrupt(c, "the ids of source %.*s do not decode", (int)kl, (const char *)k);
    c->report.sources++;
    return DKS_OK;
}

/* The documents, then whatever else names documents. */
static int check_docs(checker *c)
{
    uint64_t ids, texts;
    int rc = walk(c, DKS_DB_DOCS, visit_doc, NULL);
    if (rc)
        return rc;
    if (c->report.documents != c->meta.doc_count)
        return corrupt(c, "the index says it holds %llu documents, it has records of %llu",
                       (unsigned long long)c->meta.doc_count,
                       (unsigned long long)c->report.documents);
    if (c->total_len != c->meta.total_len)
        return corrupt(c, "the documents' lengths add up to %llu, the index says %llu",
                       (unsigned long long)c->total_len, (unsigned long long)c->meta.total_len);
    if ((rc = walk(c, DKS_DB_IDS, visit_id, &ids)) || (rc = walk(c, DKS_DB_TEXT, visit_text, &texts)) ||
        (rc = walk(c, DKS_DB_LENGTHS, visit_lengths, NULL)) ||
        (rc = walk(c, DKS_DB_SOURCES, visit_source, NULL)))
        return rc;
    if (ids != c->report.documents || texts != c->report.documents)
        return corrupt(c, "%llu documents have %llu ids and %llu texts",
                       (unsigned long long)c->report.documents, (unsigned long long)ids,
                       (unsigned long long)texts);
    return DKS_OK;
}

/* One block of a term: its documents are live, later than the ones
 * before, within their bounds, and their positions decode. */
static int check_block(checker *c, dks_block_header *h, const char *what, int positions,
                       int64_t *last_doc, uint64_t *df, uint64_t *cf)
{
    if (dks_block_decode(h, c->docs, c->tfs) != 0 || dks_block_check_positions(h) != 0)
        return corrupt(c, "a block of %s does not decode", what);
    if ((int64_t)h->first_doc <= *last_doc)
        return corrupt(c, "the blocks of %s are out of document order", what);
    uint64_t gap_at = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        uint32_t doc = c->docs[i], tf = c->tfs[i], length;
        if (!is_live(c, doc))
            return corrupt(c, "%s has a posting of document %u, which does not exist", what, doc);
        if (dks_length_get(&c->lengths, doc, &length) != 0)
            return corrupt(c, "%s has a posting of document %u, which has no length", what,
                           doc);
        if (length < h->min_len)
            return corrupt(c, "a block of %s says its shortest document has %u tokens, "
                           "document %u has %u", what, h->min_len, doc, length);
        if (positions) {
            int rc = dks_reserve_u32(&c->pos, &c->pos_cap, tf);
            if (rc)
                return rc;
            if (dks_block_positions(h, i, gap_at, tf, c->pos) != 0)
                return corrupt(c, "the positions of document %u in %s do not decode", doc, what);
            gap_at += tf - 1;
        }
        *cf += tf;
    }
    *df += h->n;
    *last_doc = h->last_doc;
    c->report.postings += h->n;
    return DKS_OK;
}

/* One term: its statistics, and every block of it in every generation. */
static int check_term(checker *c, const unsigned char *key, size_t kl, const void *v, size_t vl)
{
    char what[256];
    describe_key(key, kl, what, sizeof what);
    dks_term_stats st;
    if (kl == 0 || kl > DKS_MAX_KEY_TERM_BYTES + 1)
        return corrupt(c, "the dictionary holds a malformed key (%s)", what);
    if (dks_term_stats_decode(v, vl, &st) != 0)
        return corrupt(c, "the statistics of %s do not decode", what);
    dks_plist p;
    int rc = dks_plist_open(&p, c->txn, &c->meta, (const char *)key, kl, &st);
    int positions = dks_key_has_positions((const char *)key, kl);
    int64_t last_doc = -1;
    uint64_t df = 0, cf = 0;
    while (rc == 0) {
        if ((rc = check_block(c, &p.h, what, positions, &last_doc, &df, &cf)))
            break;
        if (!p.is_inline)
            c->blocks_reached[p.gen]++;
        rc = dks_plist_next(&p);
    }
    dks_plist_close(&p);
    if (rc == DKS_ECORRUPT)
        return corrupt(c, "the postings of %s are damaged", what);
    if (rc != 1)
        return rc;
    if (df != st.df || cf != st.cf)
        return corrupt(c, "%s has df %llu and cf %llu in the dictionary, %llu and %llu in its "
                       "postings", what, (unsigned long long)st.df, (unsigned long long)st.cf,
                       (unsigned long long)df, (unsigned long long)cf);
    c->report.terms++;
    return DKS_OK;
}

static int visit_term(checker *c, const void *k, size_t kl, const void *v, size_t vl)
{
    return check_term(c, k, kl, v, vl);
}

static int check_terms(checker *c)
{
    int rc = walk(c, DKS_DB_TERMS, visit_term, NULL);
    if (rc)
        return rc;
    if (c->report.terms != c->meta.term_count)
        return corrupt(c, "the index says it holds %llu terms, its dictionary has %llu",
                       (unsigned long long)c->meta.term_count,
                       (unsigned long long)c->report.terms);
    return DKS_OK;
}

/* A block in a listed generation that no term reached belongs to no term
 * of the dictionary (or to a term whose one block is inline). */
static int check_generations(checker *c)
{
    for (unsigned g = 0; g < c->meta.n_gens; g++) {
        uint64_t n;
        int rc = walk(c, dks_db_postings(c->meta.gen_slot[g]), NULL, &n);
        if (rc)
            return rc;
        if (n != c->blocks_reached[g])
            return corrupt(c, "posting generation %u holds %llu blocks, its terms reach %llu", g,
                           (unsigned long long)n, (unsigned long long)c->blocks_reached[g]);
        c->report.blocks += n;
    }
    return DKS_OK;
}

int dks_index_check(dks_index *index, dks_index_check_report *out, dks_error_detail *err)
{
    memset(out, 0, sizeof *out);
    checker c = {.err = err};
    int rc = dks_txn_begin(dks_index_store(index), 0, &c.txn);
    if (rc)
        return dks_fail(err, rc, -1, "cannot read the index: %s", dks_strerror(rc));
    c.lengths.txn = c.txn;
    rc = dks_meta_read(c.txn, &c.meta);
    if (rc == 1 || rc == DKS_ECORRUPT)
        rc = corrupt(&c, "the index's meta record is missing or damaged");
    if (!rc && !(c.live = calloc((size_t)c.meta.next_doc / 8 + 1, 1)))
        rc = DKS_ENOMEM;
    if (!rc)
        rc = dks_text_reader_new(index, &c.texts);
    if (!rc)
        rc = check_docs(&c);
    if (!rc)
        rc = check_terms(&c);
    if (!rc)
        rc = check_generations(&c);
    if (!rc)
        *out = c.report;
    else if (rc != DKS_ECORRUPT)
        dks_fail(err, rc, -1, "cannot check the index: %s", dks_strerror(rc));
    dks_text_reader_free(c.texts);
    free(c.pos);
    free(c.live);
    dks_length_reader_close(&c.lengths);
    dks_txn_abort(c.txn);
    return rc;
}
