/*
 * plist.c - a term's posting blocks, across the index's generations.
 *
 * A writer's flush puts the postings of its batch into a generation of
 * their own: an empty database (a slot) filled in key order with
 * MDB_APPEND, so its pages are full and no page of an older generation is
 * copied.  The meta record lists the generations in document order; one
 * holds the documents from its first up to the next one's first, so a
 * term's blocks are those of each generation in turn, and the generation
 * of any document is found by a binary search.  The writer merges
 * generations now and then (writer.c), so there are few of them, and one
 * after a bulk load.
 *
 * A term whose postings are one short block keeps it in the terms
 * database instead (keys.c); when more postings come, the writer moves it
 * into the generation of the flush, which then holds documents from
 * before its first for that term.  So a generation bounds its blocks'
 * documents from above only.
 *
 * Readers walk blocks through this file: within a generation a cursor
 * steps from block to block, a skip far ahead seeks the B-tree instead,
 * and a skip past the generation goes straight to the one that holds the
 * target.  Blocks out of order, or past their generation's documents, are
 * DKS_ECORRUPT.
 */
#include <string.h>

#include "dks_int.h"

/* A skip_to steps over this many blocks with the cursor before it seeks
 * the B-tree: the next blocks are on the same page, a seek descends from
 * the root. */
#define STEPS_BEFORE_SEEK 4

/* One past the last document generation i may hold. */
static uint32_t generation_end(const dks_plist *p, unsigned i)
{
    return i + 1 < p->meta->n_gens ? p->meta->gen_first[i + 1] : p->meta->next_doc;
}

/* Reads the entry (k, v) as a block of the term; 1 if it is another
 * term's. */
static int load_block(dks_plist *p, const void *k, size_t kl, const void *v, size_t vl)
{
    size_t tl;
    uint32_t first;
    if (kl < p->prefix_len || memcmp(k, p->key, p->prefix_len) != 0)
        return 1;
    int rc = dks_postings_key_parse(k, kl, &tl, &first);
    if (!rc && tl + 1 != p->prefix_len)
        rc = DKS_ECORRUPT;
    if (!rc)
        rc = dks_block_parse_head(v, vl, first, &p->h);
    if (!rc && p->h.last_doc >= generation_end(p, p->gen))
        rc = DKS_ECORRUPT;  /* a block in the wrong generation */
    return rc;
}

static int cursor_of(dks_plist *p, unsigned gen, dks_cursor **out)
{
    if (!p->cur[gen]) {
        int rc = dks_cursor_open(p->txn, dks_db_postings(p->meta->gen_slot[gen]), &p->cur[gen]);
        if (rc)
            return rc;
    }
    *out = p->cur[gen];
    return DKS_OK;
}

/* The first block of generation gen (and on) that holds target or a later
 * document; 1 if no generation from gen on has one. */
static int seek_from(dks_plist *p, unsigned gen, uint32_t target)
{
    /* (a later generation may hold blocks of documents before its first:
     * the target holds there too) */
    for (; gen < p->meta->n_gens; gen++) {
        dks_cursor *c;
        const void *k, *v;
        size_t kl, vl;
        int rc = cursor_of(p, gen, &c);
        if (rc)
            return rc;
        p->gen = gen;
        /* the block that starts at or before target may hold it */
        unsigned char seek[sizeof p->key];
        size_t n = dks_postings_key(seek, (const char *)p->key, p->prefix_len - 1, target);
        rc = dks_cursor_seek(c, seek, n, &k, &kl, &v, &vl);
        if (rc == 0 && target > 0 && !(kl == n && memcmp(k, seek, n) == 0)) {
            rc = dks_cursor_prev(c, &k, &kl, &v, &vl);
            if (rc == 0 && load_block(p, k, kl, v, vl) == 0 && p->h.last_doc >= target)
                return DKS_OK;
            rc = rc == 1 ? dks_cursor_first(c, &k, &kl, &v, &vl)
                         : dks_cursor_next(c, &k, &kl, &v, &vl);
        } else if (rc == 1 && target > 0) {
            /* past every key of the database: its last block may hold target */
            rc = dks_cursor_last(c, &k, &kl, &v, &vl);
            if (rc == 0 && load_block(p, k, kl, v, vl) == 0 && p->h.last_doc >= target)
                return DKS_OK;
            continue;
        }
        if (rc == 0)
            rc = load_block(p, k, kl, v, vl);
        if (rc == 0 && p->h.last_doc >= target)
            return DKS_OK;
        if (rc != 1 && rc != 0)
            return rc;
        /* nothing of the term at or after target here: the next generation */
    }
    return 1;
}

int dks_plist_open(dks_plist *p, dks_txn *t, const dks_meta *meta, const char *term, size_t len,
                   const dks_term_stats *st)
{
    memset(p->cur, 0, sizeof p->cur);
    p->txn = t;
    p->meta = meta;
    p->is_inline = 0;
    if (len == 0 || len > DKS_MAX_KEY_TERM_BYTES + 1)
        return DKS_EINVAL;
    memcpy(p->key, term, len);
    p->key[len] = 0;
    p->prefix_len = len + 1;
    dks_term_stats own;
    if (!st) {
        int rc = dks_term_stats_get(t, term, len, &own);
        if (rc)
            return rc;
        st = &own;
    }
    if (st->inline_block) {
        p->is_inline = 1;
        int rc = dks_block_parse_head(st->inline_block, st->inline_len, st->inline_first,
                                      &p->h);
        if (!rc && (p->h.n != st->df || p->h.last_doc >= meta->next_doc))
            rc = DKS_ECORRUPT;
        return rc;
    }
    return seek_from(p, 0, 0);
}

int dks_plist_next(dks_plist *p)
{
    if (p->is_inline)
        return 1;
    uint32_t prev_last = p->h.last_doc;
    dks_cursor *c = p->cur[p->gen];
    const void *k, *v;
    size_t kl, vl;
    int rc = dks_cursor_next(c, &k, &kl, &v, &vl);
    if (rc == 0)
        rc = load_block(p, k, kl, v, vl);
    if (rc == 1)
        rc = seek_from(p, p->gen + 1, 0);
    /* Blocks of a term must follow each other in document order. */
    if (rc == 0 && p->h.first_doc <= prev_last)
        return DKS_ECORRUPT;
    return rc;
}

int dks_plist_seek(dks_plist *p, uint32_t target)
{
    int rc = DKS_OK;
    if (p->is_inline)
        return p->h.last_doc >= target ? DKS_OK : 1;
    for (int step = 0; p->h.last_doc < target; step++) {
        if (step == STEPS_BEFORE_SEEK || target >= generation_end(p, p->gen)) {
            int gen = dks_meta_generation_of(p->meta, target);
            if (gen < 0)
                return 1;
            /* never back to a generation before the current one */
            return seek_from(p, (unsigned)gen > p->gen ? (unsigned)gen : p->gen, target);
        }
        if ((rc = dks_plist_next(p)))
            return rc;
    }
    return rc;
}

void dks_plist_close(dks_plist *p)
{
    for (unsigned i = 0; i < DKS_GENERATIONS; i++) {
        dks_cursor_close(p->cur[i]);
        p->cur[i] = NULL;
    }
}
