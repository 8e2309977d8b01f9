/*
 * writer.c - adds, replaces and deletes documents.
 *
 * Postings of new documents are inverted in memory (a hash table from
 * term to the documents, frequencies and positions of the current batch)
 * and merged into the posting blocks when the batch is flushed.  Because
 * document ids only grow, a flush appends to the last block of each term.
 * Document records, ids, stored text and lengths go straight into the open
 * write transaction.
 *
 * Each batch is one LMDB write transaction of bounded size (DKS_BATCH_*);
 * a crash loses at most the batch in progress, never the index.
 *
 * Deleting a document (also when a new one replaces it) re-analyses its
 * stored title and text to find its terms, removes it from each term's
 * block and lowers the term statistics, so document frequencies and
 * lengths always describe exactly the live documents.  That is why an
 * index refuses a writer of another analyzer version (index.c).
 *
 * After an error from the store the transaction is aborted and the writer
 * refuses further work: what was committed stays, the batch is lost.
 */
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

/* A batch is committed when its text or its documents reach these bounds,
 * which keep a write transaction well inside LMDB's dirty-page limit. */
#define DKS_BATCH_BYTES ((size_t)32 << 20)
#define DKS_BATCH_DOCS 20000
#define DKS_BATCH_MAP_HEADROOM ((size_t)1 << 30)

typedef struct pending_posting {
    uint32_t doc, tf, len;
    uint32_t pos_end;      /* end offset of the document's positions */
} pending_posting;

typedef struct pending_term {
    char *term;
    size_t len;
    pending_posting *postings;
    size_t n, cap;
    dks_buf positions;
    uint64_t cf;
} pending_term;

typedef struct occurrence {
    uint32_t term;        /* index into the writer's pending terms */
    uint32_t position;
} occurrence;

struct dks_writer {
    dks_index *index;
    dks_store *store;
    dks_analyzer *an;
    dks_txn *txn;
    dks_meta meta;
    int locked;            /* this writer holds the store's writer lock */
    int failed;

    pending_term *terms;
    size_t n_terms, terms_cap;
    uint32_t *slots;       /* hash table: term index + 1, 0 = empty */
    size_t n_slots;
    size_t batch_bytes;    /* text added since the last commit */
    uint32_t batch_docs;
    uint32_t pending_from; /* documents from this id on have postings in memory */

    occurrence *occ;       /* the current document's terms */
    size_t n_occ, occ_cap;
    /* grouping them by term (group_occurrences) */
    occurrence *occ_sorted;
    size_t occ_sorted_cap;
    uint32_t *group_stamp, *group_slot;  /* by term index: document seen last, its group */
    size_t group_cap;
    uint32_t doc_stamp;
    size_t *group_start;
    size_t group_start_cap;
    uint32_t *positions;   /* one term's positions in the current document */
    size_t positions_cap;
    uint32_t doc_tokens;
    int occ_error;

    dks_pipeline *pipeline;       /* with dks_writer_set_threads(w, 2) */
    dks_doc_terms terms_scratch;  /* a document analysed on this thread */
    dks_doc_terms deleted_terms;  /* a document analysed again to delete it */
    dks_text_writer *text;        /* made with the first batch */
    dks_text_reader *text_reader; /* for the texts of documents it deletes */
    dks_buf scratch;
    dks_buf fields;        /* the added document's fields, encoded */
    dks_block_data block;
    dks_writer_stats stats;
};

/* ---- the in-memory batch ---------------------------------------------- */

static int grow_slots(dks_writer *w)
{
    size_t n = w->n_slots ? w->n_slots * 2 : 4096;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return DKS_ENOMEM;
    for (size_t i = 0; i < w->n_terms; i++) {
        size_t s = dks_hash_bytes(w->terms[i].term, w->terms[i].len) & (n - 1);
        while (slots[s])
            s = (s + 1) & (n - 1);
        slots[s] = (uint32_t)i + 1;
    }
    free(w->slots);
    w->slots = slots;
    w->n_slots = n;
    return DKS_OK;
}

/* Finds or adds a pending term; sets *index. */
static int intern(dks_writer *w, const char *term, size_t len, uint32_t *index)
{
    if (w->n_terms * 2 >= w->n_slots && grow_slots(w))
        return DKS_ENOMEM;
    size_t s = dks_hash_bytes(term, len) & (w->n_slots - 1);
    while (w->slots[s]) {
        pending_term *p = &w->terms[w->slots[s] - 1];
        if (p->len == len && memcmp(p->term, term, len) == 0) {
            *index = w->slots[s] - 1;
            return DKS_OK;
        }
        s = (s + 1) & (w->n_slots - 1);
    }
    if (dks_grow(&w->terms, w->n_terms, &w->terms_cap, sizeof *w->terms, 1024))
        return DKS_ENOMEM;
    pending_term *p = &w->terms[w->n_terms];
    memset(p, 0, sizeof *p);
    p->term = malloc(len + 1);
    if (!p->term)
        return DKS_ENOMEM;
    memcpy(p->term, term, len);
    p->term[len] = '\0';
    p->len = len;
    w->slots[s] = (uint32_t)w->n_terms + 1;
    *index = (uint32_t)w->n_terms++;
    return DKS_OK;
}

static void free_batch(dks_writer *w)
{
    for (size_t i = 0; i < w->n_terms; i++) {
        pending_term *p = &w->terms[i];
        free(p->term);
        free(p->postings);
        dks_buf_free(&p->positions);
    }
    free(w->terms);
    free(w->slots);
    w->terms = NULL;
    w->slots = NULL;
    w->n_terms = w->terms_cap = w->n_slots = 0;
}

/* The in-memory batch, set aside while a deletion uses the term table. */
typedef struct batch_state {
    pending_term *terms;
    size_t n_terms, terms_cap;
    uint32_t *slots;
    size_t n_slots;
} batch_state;

static void stash_batch(dks_writer *w, batch_state *s)
{
    *s = (batch_state){w->terms, w->n_terms, w->terms_cap, w->slots, w->n_slots};
    w->terms = NULL;
    w->slots = NULL;
    w->n_terms = w->terms_cap = w->n_slots = 0;
}

static void restore_batch(dks_writer *w, const batch_state *s)
{
    w->terms = s->terms;
    w->n_terms = s->n_terms;
    w->terms_cap = s->terms_cap;
    w->slots = s->slots;
    w->n_slots = s->n_slots;
}

static int pending_add_doc(pending_term *p, uint32_t doc, uint32_t len,
                           const uint32_t *positions, uint32_t tf)
{
    int rc = dks_grow(&p->postings, p->n, &p->cap, sizeof *p->postings, 4);
    if (!rc)
        rc = dks_positions_append(&p->positions, positions, tf);
    if (rc)
        return rc;
    if (p->positions.len > UINT32_MAX)
        return DKS_ELIMIT;
    p->postings[p->n++] = (pending_posting){doc, tf, len, (uint32_t)p->positions.len};
    p->cf += tf;
    return DKS_OK;
}

/* ---- analysing one document -------------------------------------------- */

static int add_occurrence(dks_writer *w, const char *key, size_t key_len, uint32_t position)
{
    uint32_t index;
    int rc = dks_grow(&w->occ, w->n_occ, &w->occ_cap, sizeof *w->occ, 1024);
    if (!rc)
        rc = intern(w, key, key_len, &index);
    if (rc)
        return rc;
    w->occ[w->n_occ].term = index;
    w->occ[w->n_occ].position = position;
    w->n_occ++;
    return DKS_OK;
}

/* Groups the document's occurrences by term (terms in order of first
 * appearance), each group's positions ascending.  A counting sort: the
 * analyser emits positions almost in order (only an elliptical compound's
 * expansion comes late), so each group needs at most a few moves, where
 * a comparison sort of the whole document cost a seventh of indexing. */
static int group_occurrences(dks_writer *w)
{
    size_t n_terms = w->n_terms;
    if (n_terms > w->group_cap) {
        size_t cap = w->group_cap ? w->group_cap : 1024;
        while (cap < n_terms)
            cap *= 2;
        uint32_t *stamp = realloc(w->group_stamp, cap * sizeof *stamp);
        if (stamp)
            w->group_stamp = stamp;
        uint32_t *slot = realloc(w->group_slot, cap * sizeof *slot);
        if (slot)
            w->group_slot = slot;
        if (!stamp || !slot)
            return DKS_ENOMEM;
        memset(stamp + w->group_cap, 0, (cap - w->group_cap) * sizeof *stamp);
        w->group_cap = cap;
    }
    if (++w->doc_stamp == 0) {  /* wrapped: no stale stamp may match */
        memset(w->group_stamp, 0, w->group_cap * sizeof *w->group_stamp);
        w->doc_stamp = 1;
    }
    /* (dks_grow doubles once a call: enough for arrays that grow by one) */
    int rc = DKS_OK;
    while (!rc && w->group_start_cap <= 2 * w->n_occ)
        rc = dks_grow(&w->group_start, w->group_start_cap, &w->group_start_cap,
                      sizeof *w->group_start, 512);
    while (!rc && w->occ_sorted_cap <= w->n_occ)
        rc = dks_grow(&w->occ_sorted, w->occ_sorted_cap, &w->occ_sorted_cap,
                      sizeof *w->occ_sorted, 1024);
    if (rc)
        return rc;
    /* each term's group, and each group's size */
    size_t n_slots = 0;
    for (size_t i = 0; i < w->n_occ; i++) {
        uint32_t t = w->occ[i].term;
        if (w->group_stamp[t] != w->doc_stamp) {
            w->group_stamp[t] = w->doc_stamp;
            w->group_slot[t] = (uint32_t)n_slots;
            w->group_start[n_slots++] = 0;
        }
        w->group_start[w->group_slot[t]]++;
    }
    /* group_start[k]: where group k begins; group_start[n_slots + k]: where
     * its next occurrence goes */
    size_t *begin = w->group_start, *next = w->group_start + n_slots, at = 0;
    for (size_t k = 0; k < n_slots; k++) {
        size_t size = begin[k];
        begin[k] = next[k] = at;
        at += size;
    }
    for (size_t i = 0; i < w->n_occ; i++) {
        occurrence o = w->occ[i];
        uint32_t k = w->group_slot[o.term];
        /* insertion into the group so far keeps its positions ascending */
        size_t j = next[k]++;
        size_t first = j;
        while (first > begin[k] && w->occ_sorted[first - 1].position > o.position)
            first--;
        memmove(&w->occ_sorted[first + 1], &w->occ_sorted[first], (j - first) * sizeof o);
        w->occ_sorted[first] = o;
    }
    occurrence *swap = w->occ;
    size_t swap_cap = w->occ_cap;
    w->occ = w->occ_sorted;
    w->occ_cap = w->occ_sorted_cap;
    w->occ_sorted = swap;
    w->occ_sorted_cap = swap_cap;
    return DKS_OK;
}

/* Interns a document's analysed terms into w->occ, grouped by term, each
 * group by position, and takes its length. */
static int load_terms(dks_writer *w, const dks_doc_terms *dt)
{
    w->n_occ = 0;
    w->doc_tokens = dt->tokens;
    size_t at = 0;
    const char *key;
    size_t len;
    uint32_t position;
    int rc;
    while ((rc = dks_doc_terms_next(dt, &at, &key, &len, &position)) == 0)
        if ((rc = add_occurrence(w, key, len, position)))
            return rc;
    return group_occurrences(w);
}

/* Analyses a stored document again (to delete it) into w->occ. */
static int analyze_document(dks_writer *w, const char *title, size_t title_len, const char *body,
                            size_t body_len, const unsigned char *fields, size_t fields_len,
                            uint32_t body_start)
{
    int rc = dks_doc_terms_analyze(w->an, title, title_len, body, body_len, fields, fields_len,
                                   body_start, &w->deleted_terms);
    return rc ? rc : load_terms(w, &w->deleted_terms);
}

/* Calls fn for each distinct term of the analysed document with its
 * sorted, distinct positions. */
typedef int (*term_group_fn)(dks_writer *w, uint32_t term, const uint32_t *positions,
                             uint32_t tf, void *ctx);

static int for_each_term(dks_writer *w, term_group_fn fn, void *ctx)
{
    int rc = DKS_OK;
    for (size_t i = 0; i < w->n_occ && !rc;) {
        uint32_t tf = 0;
        size_t j;
        for (j = i; j < w->n_occ && w->occ[j].term == w->occ[i].term; j++) {
            if (tf > 0 && w->positions[tf - 1] == w->occ[j].position)
                continue;  /* two terms of one token: one position */
            if ((rc = dks_grow(&w->positions, tf, &w->positions_cap, sizeof *w->positions, 256)))
                return rc;
            w->positions[tf++] = w->occ[j].position;
        }
        rc = fn(w, w->occ[i].term, w->positions, tf, ctx);
        i = j;
    }
    return rc;
}

/* ---- merging a batch into the posting blocks --------------------------- */

/* Finds the block of `term` that would hold `doc` (the last block whose
 * first document is <= doc).  Returns 1 if the term has no such block. */
static int find_block(dks_writer *w, const char *term, size_t len, uint32_t doc,
                      dks_block_header *h)
{
    unsigned char key[DKS_MAX_TERM_BYTES + 5];
    size_t kl = dks_postings_key(key, term, len, doc);
    dks_cursor *c;
    const void *k, *v;
    size_t klen, vlen;
    int rc = dks_cursor_open(w->txn, DKS_DB_POSTINGS, &c);
    if (rc)
        return rc;
    rc = dks_cursor_seek(c, key, kl, &k, &klen, &v, &vlen);
    if (rc == 0 && !(klen == kl && memcmp(k, key, kl) == 0))
        rc = dks_cursor_prev(c, &k, &klen, &v, &vlen);
    else if (rc == 1)
        rc = dks_cursor_last(c, &k, &klen, &v, &vlen);
    if (rc == 0) {
        size_t tl;
        uint32_t first;
        rc = dks_postings_key_parse(k, klen, &tl, &first);
        if (rc == 0 && (tl != len || memcmp(k, term, len) != 0))
            rc = 1;
        if (rc == 0)
            rc = dks_block_parse(v, vlen, first, h);
    }
    dks_cursor_close(c);
    return rc;
}

/* append: the term sorts above every term of the index, so its blocks go
 * after every block (see dks_kv_append) */
static int put_block(dks_writer *w, const char *term, size_t len, const dks_block_data *b,
                     int append)
{
    unsigned char key[DKS_MAX_TERM_BYTES + 5];
    size_t kl = dks_postings_key(key, term, len, b->docs[0]);
    int rc = dks_block_encode(b, &w->scratch);
    if (rc)
        return rc;
    return append ? dks_kv_append(w->txn, DKS_DB_POSTINGS, key, kl, w->scratch.data,
                                  w->scratch.len)
                  : dks_kv_put(w->txn, DKS_DB_POSTINGS, key, kl, w->scratch.data,
                               w->scratch.len);
}

static int merge_term(dks_writer *w, pending_term *p, int append)
{
    dks_term_stats st = {0, 0};
    int rc = append ? 1 : dks_term_stats_get(w->txn, p->term, p->len, &st);
    if (rc == 1)
        w->meta.term_count++;
    else if (rc)
        return rc;
    st.df += p->n;
    st.cf += p->cf;
    if ((rc = dks_term_stats_put(w->txn, p->term, p->len, &st, append)))
        return rc;

    /* The term's last block, if it has room, takes the first postings. */
    dks_block_data *b = &w->block;
    b->n = 0;
    b->positions.len = 0;
    dks_block_header h;
    rc = append ? 1 : find_block(w, p->term, p->len, UINT32_MAX - 1, &h);
    if (rc == 0 && h.n < DKS_BLOCK_DOCS) {
        if (h.last_doc >= p->postings[0].doc)
            return DKS_ECORRUPT;
        rc = dks_block_load(&h, b);
    } else if (rc == 1 || rc == 0) {
        rc = DKS_OK;
    }
    if (rc)
        return rc;

    uint32_t pos_start = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (b->n == DKS_BLOCK_DOCS) {
            if ((rc = put_block(w, p->term, p->len, b, append)))
                return rc;
            b->n = 0;
            b->positions.len = 0;
        }
        const pending_posting *pp = &p->postings[i];
        b->docs[b->n] = pp->doc;
        b->tfs[b->n] = pp->tf;
        b->lens[b->n] = pp->len;
        b->n++;
        if ((rc = dks_buf_append(&b->positions, p->positions.data + pos_start,
                                 pp->pos_end - pos_start)))
            return rc;
        pos_start = pp->pos_end;
    }
    return b->n ? put_block(w, p->term, p->len, b, append) : DKS_OK;
}

static int cmp_pending(const void *a, const void *b)
{
    const pending_term *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->term, y->term, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

#define RELEASE_EVERY_TERMS 8192

/* Writes the in-memory batch into the open transaction. */
static int flush_postings(dks_writer *w)
{
    if (w->n_terms == 0)
        return DKS_OK;
    /* Key order keeps B-tree pages local; the hash table is rebuilt below. */
    qsort(w->terms, w->n_terms, sizeof *w->terms, cmp_pending);
    /* The terms above the index's last one (all of them in a new index)
     * are appended, and fill their pages. */
    const void *last;
    char last_copy[DKS_MAX_TERM_BYTES + 1];  /* map pointers die with the first write */
    pending_term last_term = {.term = last_copy};
    int rc = dks_kv_last(w->txn, DKS_DB_TERMS, &last, &last_term.len);
    int append = rc == 1;
    if (rc == 0 && last_term.len > sizeof last_copy)
        rc = DKS_ECORRUPT;
    if (rc > 1 || rc < 0)
        return rc;
    if (!append)
        memcpy(last_copy, last, last_term.len);
    rc = DKS_OK;
    for (size_t i = 0; i < w->n_terms && !rc; i++) {
        if (!w->terms[i].n)
            continue;
        if (!append && cmp_pending(&w->terms[i], &last_term) > 0)
            append = 1;
        rc = merge_term(w, &w->terms[i], append);
        /* Merging reads the last block of every term: let go of the pages
         * read so far now and then, or a large index's flush holds most
         * of its postings in memory (see dks_store_release_map). */
        if (i % RELEASE_EVERY_TERMS == RELEASE_EVERY_TERMS - 1)
            dks_store_release_map(w->store);
    }
    free_batch(w);
    w->pending_from = w->meta.next_doc;
    return rc;
}

/* ---- deleting ---------------------------------------------------------- */

static int remove_posting(dks_writer *w, uint32_t term, const uint32_t *positions, uint32_t tf,
                          void *ctx)
{
    (void)positions;
    uint32_t doc = *(const uint32_t *)ctx;
    const pending_term *p = &w->terms[term];
    dks_block_header h;
    int rc = find_block(w, p->term, p->len, doc, &h);
    if (rc == 1)
        return DKS_ECORRUPT;  /* the document's term has no postings */
    if (rc)
        return rc;
    dks_block_data *b = &w->block;
    if ((rc = dks_block_load(&h, b)))
        return rc;
    uint32_t i = 0;
    while (i < b->n && b->docs[i] != doc)
        i++;
    if (i == b->n || b->tfs[i] != tf)
        return DKS_ECORRUPT;

    /* Cut the document's positions out of the position section. */
    const unsigned char *s = b->positions.data, *end = s + b->positions.len;
    for (uint32_t j = 0; j < i && !rc; j++)
        rc = dks_positions_skip(&s, end, b->tfs[j]);
    const unsigned char *cut = s;
    if (!rc)
        rc = dks_positions_skip(&s, end, tf);
    if (rc)
        return rc;
    size_t cut_at = (size_t)(cut - b->positions.data), cut_len = (size_t)(s - cut);
    memmove(b->positions.data + cut_at, s, (size_t)(end - s));
    b->positions.len -= cut_len;
    memmove(b->docs + i, b->docs + i + 1, (b->n - i - 1) * sizeof *b->docs);
    memmove(b->tfs + i, b->tfs + i + 1, (b->n - i - 1) * sizeof *b->tfs);
    memmove(b->lens + i, b->lens + i + 1, (b->n - i - 1) * sizeof *b->lens);
    b->n--;

    if (i == 0 || b->n == 0) {
        unsigned char key[DKS_MAX_TERM_BYTES + 5];
        size_t kl = dks_postings_key(key, p->term, p->len, doc);
        if ((rc = dks_kv_del(w->txn, DKS_DB_POSTINGS, key, kl)))
            return rc == 1 ? DKS_ECORRUPT : rc;
    }
    if (b->n && (rc = put_block(w, p->term, p->len, b, 0)))
        return rc;

    dks_term_stats st;
    rc = dks_term_stats_get(w->txn, p->term, p->len, &st);
    if (rc)
        return rc == 1 ? DKS_ECORRUPT : rc;
    if (st.df == 1) {
        w->meta.term_count--;
        rc = dks_kv_del(w->txn, DKS_DB_TERMS, p->term, p->len);
        return rc == 1 ? DKS_ECORRUPT : rc;
    }
    if (st.cf < tf + st.df - 1)
        return DKS_ECORRUPT;
    st.df--;
    st.cf -= tf;
    return dks_term_stats_put(w->txn, p->term, p->len, &st, 0);
}

static int delete_doc(dks_writer *w, uint32_t doc)
{
    unsigned char key[4];
    const void *v;
    size_t vl;
    dks_doc_record rec;
    dks_put_be32(key, doc);

    /* The document's postings may still be in memory. */
    int rc = doc >= w->pending_from ? flush_postings(w) : DKS_OK;
    if (rc)
        return rc;
    rc = dks_kv_get(w->txn, DKS_DB_DOCS, key, sizeof key, &v, &vl);
    if (!rc)
        rc = dks_doc_record_decode(v, vl, &rec);
    if (rc)
        return rc == 1 ? DKS_ECORRUPT : rc;
    /* Copies: map pointers do not survive the writes below. */
    char *id = malloc(rec.id_len + 1), *title = malloc(rec.title_len + 1), *body = NULL;
    unsigned char *fields = malloc(rec.fields_len + 1);
    size_t body_len = 0, fields_len = rec.fields_len;
    uint32_t length = rec.length, body_start = rec.body_start;
    if (!id || !title || !fields) {
        rc = DKS_ENOMEM;
        goto free_copies;
    }
    memcpy(id, rec.id, rec.id_len);
    memcpy(title, rec.title, rec.title_len);
    memcpy(fields, rec.fields, rec.fields_len);
    size_t id_len = rec.id_len, title_len = rec.title_len;
    rc = dks_text_get(w->text_reader, w->txn, doc, &v, &vl);
    if (rc)
        goto free_copies;
    body = malloc(vl + 1);
    if (!body) {
        rc = DKS_ENOMEM;
        goto free_copies;
    }
    memcpy(body, v, vl);
    body_len = vl;

    /* The terms interned below are a scratch list, not postings: keep the
     * batch's own out of their way. */
    batch_state saved;
    stash_batch(w, &saved);
    if ((rc = analyze_document(w, title, title_len, body, body_len, fields, fields_len,
                               body_start)))
        goto free_batch_terms;
    if (w->doc_tokens != length) {
        rc = DKS_ECORRUPT;
        goto free_batch_terms;
    }
    rc = for_each_term(w, remove_posting, &doc);
    if (!rc) {
        if ((rc = dks_kv_del(w->txn, DKS_DB_DOCS, key, sizeof key)) ||
            (rc = dks_kv_del(w->txn, DKS_DB_TEXT, key, sizeof key)) ||
            (rc = dks_kv_del(w->txn, DKS_DB_IDS, id, id_len)) ||
            (rc = dks_length_set(w->txn, doc, 0)))
            rc = rc == 1 ? DKS_ECORRUPT : rc;
    }
    if (!rc) {
        w->meta.doc_count--;
        w->meta.total_len -= length;
    }
free_batch_terms:
    free_batch(w);
    restore_batch(w, &saved);
free_copies:
    free(fields);
    free(body);
    free(title);
    free(id);
    return rc == 1 ? DKS_ECORRUPT : rc;
}

/* ---- the public interface ---------------------------------------------- */

static int begin_batch(dks_writer *w)
{
    if (w->txn)
        return DKS_OK;
    /* Far more than one batch can write, so the map never fills mid-batch. */
    int rc = dks_store_reserve(w->store, DKS_BATCH_MAP_HEADROOM);
    if (!rc)
        rc = dks_txn_begin(w->store, 1, &w->txn);
    if (rc)
        return rc;
    rc = dks_meta_read(w->txn, &w->meta);
    w->pending_from = w->meta.next_doc;
    if (rc)
        return rc == 1 ? DKS_ECORRUPT : rc;
    if (!w->text && (rc = dks_text_writer_new(w->txn, &w->text)))
        return rc;
    if (!w->text_reader && (rc = dks_text_reader_new(NULL, &w->text_reader)))
        return rc;
    return DKS_OK;
}

/* A store error leaves the transaction unusable: drop the batch. */
static int fail_store(dks_writer *w, int rc, dks_error_detail *err, const char *what)
{
    dks_txn_abort(w->txn);
    w->txn = NULL;
    free_batch(w);
    w->batch_bytes = 0;
    w->batch_docs = 0;
    w->failed = rc;
    return dks_fail(err, rc, -1, "%s: %s", what, dks_strerror(rc));
}

int dks_writer_open(dks_index *index, dks_writer **out, dks_error_detail *err)
{
    *out = NULL;
    if (!dks_index_writable(index))
        return dks_fail(err, DKS_EINVAL, -1, "index was opened read-only");
    dks_writer *w = calloc(1, sizeof *w);
    if (!w)
        return DKS_ENOMEM;
    w->index = index;
    w->store = dks_index_store(index);
    unsigned features;
    int rc = dks_index_analysis(index, &features);
    if (!rc)
        rc = dks_analyzer_new_with(features, &w->an);
    if (rc) {
        dks_writer_close(w);
        return dks_fail(err, rc, -1, "%s", dks_strerror(rc));
    }
    rc = dks_store_lock_writer(w->store);
    if (rc) {
        dks_writer_close(w);
        return dks_fail(err, rc, -1, "%s", rc == DKS_ELOCKED
                        ? "another dksearch-index is writing to this index"
                        : dks_strerror(rc));
    }
    w->locked = 1;
    *out = w;
    return DKS_OK;
}

static int drain(dks_writer *w, dks_error_detail *err);

/* Commits the batch as it stands (without waiting for the pipeline). */
static int commit_batch(dks_writer *w, dks_error_detail *err)
{
    if (w->failed)
        return dks_fail(err, w->failed, -1, "writer stopped after an earlier error");
    if (!w->txn)
        return DKS_OK;
    int rc = flush_postings(w);
    if (!rc)
        rc = dks_meta_write(w->txn, &w->meta);
    if (rc)
        return fail_store(w, rc, err, "cannot write batch");
    rc = dks_txn_commit(w->txn);
    w->txn = NULL;
    w->batch_bytes = 0;
    w->batch_docs = 0;
    if (rc) {
        w->failed = rc;
        return dks_fail(err, rc, -1, "cannot commit batch: %s", dks_strerror(rc));
    }
    w->stats.commits++;
    dks_store_release_map(w->store);
    return DKS_OK;
}

int dks_writer_commit(dks_writer *w, dks_error_detail *err)
{
    int rc = drain(w, err);
    return rc ? rc : commit_batch(w, err);
}

/* Looks up an external id; *doc is valid when 0 is returned, 1 if absent. */
static int lookup_id(dks_writer *w, const char *id, size_t len, uint32_t *doc)
{
    const void *v;
    size_t vl;
    int rc = dks_kv_get(w->txn, DKS_DB_IDS, id, len, &v, &vl);
    if (rc)
        return rc;
    if (vl != 4)
        return DKS_ECORRUPT;
    *doc = dks_get_be32(v);
    return DKS_OK;
}

static int add_term_postings(dks_writer *w, uint32_t term, const uint32_t *positions,
                             uint32_t tf, void *ctx)
{
    const uint32_t *doc_and_len = ctx;
    return pending_add_doc(&w->terms[term], doc_and_len[0], doc_and_len[1], positions, tf);
}

/* Adds an analysed document to the batch: replaces the document with its
 * id, inverts its terms, stores its record and text, and commits when the
 * batch is full. */
static int add_analysed(dks_writer *w, const dks_document *doc, const dks_doc_terms *terms,
                        int *replaced, dks_error_detail *err)
{
    int rc = begin_batch(w);
    if (rc)
        return fail_store(w, rc, err, "cannot start a write transaction");
    uint32_t old;
    int was_replaced = 0;
    rc = lookup_id(w, doc->id, doc->id_len, &old);
    if (rc == 0) {
        if ((rc = delete_doc(w, old)))
            return fail_store(w, rc, err, "cannot replace document");
        was_replaced = 1;
    } else if (rc != 1) {
        return fail_store(w, rc, err, "cannot look up document id");
    }
    if (w->meta.next_doc >= DKS_DOC_END - 1)
        return fail_store(w, DKS_ELIMIT, err, "index holds the maximum number of documents");

    uint32_t id = w->meta.next_doc;
    rc = load_terms(w, terms);
    uint32_t doc_and_len[2] = {id, w->doc_tokens};
    if (!rc)
        rc = for_each_term(w, add_term_postings, doc_and_len);
    unsigned char key[4];
    dks_put_be32(key, id);
    if (!rc)
        rc = dks_doc_record_encode(doc, w->doc_tokens, terms->body_start, &w->scratch);
    if (!rc)
        rc = dks_kv_append(w->txn, DKS_DB_DOCS, key, sizeof key, w->scratch.data,
                           w->scratch.len);  /* ids only grow */
    if (!rc)
        rc = dks_kv_put(w->txn, DKS_DB_IDS, doc->id, doc->id_len, key, sizeof key);
    if (!rc)
        rc = dks_text_put(w->text, w->txn, id, doc->body ? doc->body : "", doc->body_len);
    if (!rc)
        rc = dks_length_set(w->txn, id, w->doc_tokens);
    if (rc)
        return fail_store(w, rc, err, "cannot add document");

    if (replaced)
        *replaced = was_replaced;
    if (was_replaced)
        w->stats.replaced++;
    else
        w->stats.added++;
    w->meta.next_doc++;
    w->meta.doc_count++;
    w->meta.total_len += w->doc_tokens;
    w->stats.tokens += w->doc_tokens;
    w->stats.bytes += doc->title_len + doc->body_len;
    w->batch_bytes += doc->title_len + doc->body_len;
    w->batch_docs++;
    if (w->batch_bytes >= DKS_BATCH_BYTES || w->batch_docs >= DKS_BATCH_DOCS)
        return commit_batch(w, err);
    return DKS_OK;
}

/* Adds the oldest document the pipeline has analysed. */
static int add_from_pipeline(dks_writer *w, dks_job *j, dks_error_detail *err)
{
    int rc = j->rc ? dks_fail(err, j->rc, -1, "document %.*s: %s", (int)j->doc.id_len,
                              j->doc.id, dks_strerror(j->rc))
                   : add_analysed(w, &j->doc, &j->terms, NULL, err);
    dks_pipeline_release(w->pipeline);
    return rc;
}

/* Adds every document still in the pipeline, in order. */
static int drain(dks_writer *w, dks_error_detail *err)
{
    dks_job *j;
    int rc = DKS_OK;
    while (!rc && w->pipeline && (j = dks_pipeline_take(w->pipeline, 1)))
        rc = add_from_pipeline(w, j, err);
    return rc;
}

int dks_writer_set_threads(dks_writer *w, unsigned threads)
{
    if (threads <= 1 || w->pipeline)
        return DKS_OK;
    unsigned features;
    int rc = dks_index_analysis(w->index, &features);
    return rc ? rc : dks_pipeline_new(features, &w->pipeline);
}

int dks_writer_add(dks_writer *w, const dks_document *doc, int *replaced, dks_error_detail *err)
{
    if (replaced)
        *replaced = 0;
    if (w->failed)
        return dks_fail(err, w->failed, -1, "writer stopped after an earlier error");
    if (!doc->id || doc->id_len == 0)
        return dks_fail(err, DKS_EINPUT, -1, "document has an empty id");
    if (doc->id_len > DKS_MAX_ID_BYTES)
        return dks_fail(err, DKS_ELIMIT, -1, "document id is longer than %d bytes",
                        DKS_MAX_ID_BYTES);
    if (memchr(doc->id, '\0', doc->id_len))
        return dks_fail(err, DKS_EINPUT, -1, "document id contains a NUL byte");
    if (doc->body_len > UINT32_MAX || doc->title_len > UINT32_MAX)
        return dks_fail(err, DKS_ELIMIT, -1, "document is larger than 4 GiB");

    if (!w->pipeline) {
        w->fields.len = 0;
        int rc = dks_fields_encode(doc->fields, doc->n_fields, &w->fields);
        if (!rc)
            rc = dks_doc_terms_analyze(w->an, doc->title ? doc->title : "", doc->title_len,
                                       doc->body ? doc->body : "", doc->body_len,
                                       w->fields.data, w->fields.len, UINT32_MAX,
                                       &w->terms_scratch);
        if (rc)
            return fail_store(w, rc, err, "cannot analyse document");
        return add_analysed(w, doc, &w->terms_scratch, replaced, err);
    }
    /* Make room, hand the document over, and add what is analysed. */
    dks_job *j;
    int rc = DKS_OK;
    while (!rc && dks_pipeline_full(w->pipeline))
        rc = add_from_pipeline(w, dks_pipeline_take(w->pipeline, 1), err);
    if (!rc && (rc = dks_pipeline_submit(w->pipeline, doc)))
        return fail_store(w, rc, err, "cannot queue document");
    while (!rc && (j = dks_pipeline_take(w->pipeline, 0)))
        rc = add_from_pipeline(w, j, err);
    return rc;
}

int dks_writer_delete(dks_writer *w, const char *id, size_t id_len, int *found,
                      dks_error_detail *err)
{
    *found = 0;
    if (w->failed)
        return dks_fail(err, w->failed, -1, "writer stopped after an earlier error");
    int rc = drain(w, err);  /* the documents given before go first */
    if (rc)
        return rc;
    if ((rc = begin_batch(w)))
        return fail_store(w, rc, err, "cannot start a write transaction");
    uint32_t doc;
    rc = lookup_id(w, id, id_len, &doc);
    if (rc == 1)
        return DKS_OK;
    if (!rc)
        rc = delete_doc(w, doc);
    if (rc)
        return fail_store(w, rc, err, "cannot delete document");
    *found = 1;
    w->stats.deleted++;
    return DKS_OK;
}

int dks_writer_failed(const dks_writer *w)
{
    return w->failed;
}

void dks_writer_stats_get(const dks_writer *w, dks_writer_stats *out)
{
    *out = w->stats;
}

void dks_writer_close(dks_writer *w)
{
    if (!w)
        return;
    dks_pipeline_free(w->pipeline);  /* what it holds was never committed */
    dks_txn_abort(w->txn);
    free_batch(w);
    dks_doc_terms_free(&w->terms_scratch);
    dks_doc_terms_free(&w->deleted_terms);
    free(w->occ);
    free(w->occ_sorted);
    free(w->group_stamp);
    free(w->group_slot);
    free(w->group_start);
    free(w->positions);
    dks_text_writer_free(w->text);
    dks_text_reader_free(w->text_reader);
    dks_buf_free(&w->scratch);
    dks_buf_free(&w->fields);
    dks_buf_free(&w->block.positions);
    dks_analyzer_free(w->an);
    if (w->locked)
        dks_store_unlock_writer(w->store);
    free(w);
}

