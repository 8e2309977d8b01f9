/*
 * match.c - evaluates a query tree as a tree of posting iterators and
 * keeps the best hits in a bounded heap.
 *
 * Every iterator is positioned on a document (or DKS_DOC_END) from the
 * moment it is built, and offers next(), skip_to(target) (first document
 * >= target) and score() for the current document.  A term iterator walks
 * the term's posting blocks (plist.c): skip_to() moves from block to block
 * reading only their headers, or seeks far ahead; a block's gaps are
 * decoded only when a document in it is needed, and its frequencies one
 * by one for the few documents of it that are scored, all at once when
 * more are (or positions are read); positions only for phrases.  AND
 * leapfrogs its operands from the rarest, OR merges them, NOT operands of
 * an AND reject candidates, PHRASE is an AND whose candidates must have
 * the terms at the right relative positions.
 *
 * Dynamic pruning.  Each iterator carries max_score, an upper bound of its
 * score.  Once the heap of best hits is full (and enough hits were counted
 * for the total to mean something), the matcher tells the tree the score a
 * document must beat through set_min(); from then on an iterator may pass
 * over documents that cannot beat it.  A term passes whole blocks whose
 * bound (from the block's largest frequency and shortest document) is too
 * low, without decoding them.  An OR runs MaxScore: its operands with the
 * smallest bounds, which together cannot beat the minimum, only add to the
 * score of documents the others propose, and are skipped to those
 * documents rather than walked.  AND hands each operand the minimum less
 * what the other operands can add at most, and passes over a document of
 * its lead whose score, with what the others' blocks at it allow, cannot
 * beat the minimum, before it moves them there.
 *
 * At the root, an OR of terms and an AND of words with a long lead are
 * matched a window of 2,048 documents at a time instead (bulk_iter,
 * and_bulk): fewer calls and comparisons per posting, the same hits and
 * scores.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

typedef struct iter iter;
typedef struct explanation explanation;

typedef struct iter_ops {
    int (*next)(iter *it);
    int (*skip_to)(iter *it, uint32_t target);
    int (*score)(iter *it, double *score);
    /* from now on, documents scoring min or less may be passed over */
    void (*set_min)(iter *it, double min);
    void (*free)(iter *it);
    /* adds the current document's score parts (see dks_match_explain) */
    int (*explain)(iter *it, explanation *e);
} iter_ops;

/* Score parts collected for one document. */
struct explanation {
    dks_score_part *parts;
    size_t n, cap;
};

static int explain_add(explanation *e, const dks_score_part *part, const char *term,
                       size_t term_len)
{
    int rc = dks_grow(&e->parts, e->n, &e->cap, sizeof *e->parts, 8);
    if (rc)
        return rc;
    char *copy = malloc(term_len + 1);
    if (!copy)
        return DKS_ENOMEM;
    memcpy(copy, term, term_len);
    copy[term_len] = '\0';
    e->parts[e->n] = *part;
    e->parts[e->n++].term = copy;
    return DKS_OK;
}

struct iter {
    const iter_ops *ops;
    uint32_t doc;        /* current document, DKS_DOC_END when exhausted */
    uint64_t cost;       /* documents it may visit, to order AND operands */
    double max_score;
};

/* What every iterator of one search shares. */
typedef struct match_ctx {
    dks_txn *txn;
    dks_meta meta;              /* the collection and its posting generations */
    dks_bm25 bm25;
    dks_length_reader lengths;
    dks_match_result *result;   /* for notes about the search */
    double title_extra;         /* what a title word adds: title weight - 1 */
    size_t expansions_left;     /* prefix terms the rest of the query may still search */
    uint32_t len_doc;           /* the document whose length is in len (DKS_DOC_END: none) */
    double len;
} match_ctx;

/* ---- term --------------------------------------------------------------- */

typedef struct term_iter {
    iter base;
    match_ctx *ctx;
    dks_plist list;
    unsigned char prefix[DKS_MAX_TERM_BYTES + 1];  /* term + 0x00 */
    size_t prefix_len;
    dks_block_header h;              /* the list's current block */
    int decoded, tfs_decoded;         /* docs, and tfs, hold the block's */
    uint32_t tfs_read;                /* frequencies read one by one */
    uint32_t i;                       /* index of the current doc in the block */
    uint32_t docs[DKS_BLOCK_DOCS], tfs[DKS_BLOCK_DOCS];
    uint64_t gap_at;                  /* of document pos_i: see dks_block_positions */
    uint32_t pos_i;
    /* Positions are read document by document for the first few asked of
     * a block, then all of its positions decoded at once (block_pos, doc
     * i's from pos_from[i]): a phrase of two frequent words asks for most
     * documents of the blocks it is in, a snippet for one. */
    uint32_t pos_read;
    int pos_decoded;
    uint32_t *block_pos;
    size_t block_pos_cap;
    uint32_t pos_from[DKS_BLOCK_DOCS];
    double idf;
    double weight;                    /* of this alternative of a query word */
    double min;                       /* blocks that cannot beat this are skipped */
    double block_bound;               /* the current block's, < 0 until asked (weight is set by then) */
    int sparse;                       /* an AND's bound takes its exact part (bound_at) */
} term_iter;

/* Takes the list's current block. */
static void term_take_block(term_iter *t)
{
    t->h = t->list.h;
    t->block_bound = -1;
    t->decoded = 0;
    t->tfs_decoded = 0;
    t->tfs_read = 0;
    t->pos_read = 0;
    t->pos_decoded = 0;
    t->i = 0;
}

static int term_decode(term_iter *t)
{
    if (t->decoded)
        return DKS_OK;
    int rc = dks_block_decode_docs(&t->h, t->docs);
    if (rc)
        return rc;
    t->decoded = 1;
    return DKS_OK;
}

/* Every frequency of the block, for positions (which follow from them). */
static int term_decode_tfs(term_iter *t)
{
    int rc = term_decode(t);
    if (rc || t->tfs_decoded)
        return rc;
    if ((rc = dks_block_decode_tfs(&t->h, t->tfs)))
        return rc;
    t->tfs_decoded = 1;
    t->gap_at = 0;
    t->pos_i = 0;
    return DKS_OK;
}

/* The current document's frequency.  An AND scores few documents of the
 * blocks it passes through, so their frequencies are read one by one; a
 * block that is scored more than that is decoded whole. */
#define TFS_READ_ALONE 4
static int term_tf(term_iter *t, uint32_t *tf)
{
    int rc = term_decode(t);
    if (rc)
        return rc;
    if (!t->tfs_decoded && t->tfs_read < TFS_READ_ALONE) {
        t->tfs_read++;
        return dks_block_tf(&t->h, t->i, tf);
    }
    if ((rc = term_decode_tfs(t)))
        return rc;
    *tf = t->tfs[t->i];
    return DKS_OK;
}

/* The most a document of the current block can score, worked out when
 * first asked (most blocks a search passes are never asked), then kept:
 * an AND asks for each document of its lead that a block of another
 * operand spans. */
static double bound_of_block(const term_iter *t, const dks_block_header *h)
{
    return t->weight * dks_bm25_bound(&t->ctx->bm25, t->idf, h->max_tf, h->min_len);
}

static double term_block_bound(term_iter *t)
{
    if (t->block_bound < 0)
        t->block_bound = bound_of_block(t, &t->h);
    return t->block_bound;
}

/* Can a document of the current block score above the minimum? */
static int term_block_competes(term_iter *t)
{
    if (t->min <= 0)
        return 1;
    return term_block_bound(t) * (1.0 + DKS_PRUNE_SLACK) > t->min;
}

/* Moves to the next block that can compete, or the first from target on
 * (target 0: the next); sets doc to DKS_DOC_END after the last. */
static int term_next_block(term_iter *t, uint32_t target)
{
    int rc = target ? dks_plist_seek(&t->list, target) : dks_plist_next(&t->list);
    while (rc == 0) {
        term_take_block(t);
        if (term_block_competes(t))
            break;
        rc = dks_plist_next(&t->list);
    }
    if (rc == 1) {
        t->base.doc = DKS_DOC_END;
        return DKS_OK;
    }
    if (rc)
        return rc;
    t->base.doc = t->h.first_doc;
    return DKS_OK;
}

static int term_next(iter *it)
{
    term_iter *t = (term_iter *)it;
    if (it->doc == DKS_DOC_END)
        return DKS_OK;
    int rc = term_decode(t);
    if (rc)
        return rc;
    if (t->i + 1 < t->h.n) {
        it->doc = t->docs[++t->i];
        return DKS_OK;
    }
    return term_next_block(t, 0);
}

static int term_skip_to(iter *it, uint32_t target)
{
    term_iter *t = (term_iter *)it;
    int rc;
    if (target == DKS_DOC_END) {
        it->doc = DKS_DOC_END;
        return DKS_OK;
    }
    if (t->h.last_doc < target && (rc = term_next_block(t, target)))
        return rc;
    if (it->doc >= target)
        return DKS_OK;
    if ((rc = term_decode(t)))
        return rc;
    uint32_t lo = t->i, hi = t->h.n - 1;  /* docs[hi] = last_doc >= target */
    /* an AND moves its operands in small steps: the next few documents
     * are looked at one by one, the rest is halved without branches (the
     * halves are a coin toss that a branch predictor would lose) */
    uint32_t near = hi - lo > 4 ? lo + 4 : hi;
    while (lo < near && t->docs[lo] < target)
        lo++;
    if (t->docs[lo] < target) {
        const uint32_t *base = t->docs + lo;
        for (uint32_t len = hi - lo + 1; len > 1;) {
            uint32_t half = len / 2;
            base = base[half] < target ? base + half : base;
            len -= half;
        }
        lo = (uint32_t)(base - t->docs) + (*base < target);
    }
    t->i = lo;
    it->doc = t->docs[lo];
    return DKS_OK;
}

/* A leaf's score (a term's, a phrase's) rounded down to a multiple of
 * 2^-32.  Sums of such parts below 2^21 are exact in a double, so a hit's
 * score does not depend on the order its parts are added in: the
 * document-at-a-time OR, MaxScore and the window-at-a-time OR (bulk_iter)
 * add them in different orders and give the same score.  Rounding down
 * keeps every bound an upper bound. */
static double quantized(double score)
{
    return (double)(int64_t)(score * 0x1p32) * 0x1p-32;
}

/* A term's part of a document's score. */
static double term_part(const term_iter *t, uint32_t tf, double len)
{
    return quantized(t->weight * dks_bm25_term(&t->ctx->bm25, t->idf, tf, len));
}

/* A document's length; the operands of a query score the same document
 * one after another, so the last one is kept. */
static int doc_length(match_ctx *ctx, uint32_t doc, double *len)
{
    if (doc == ctx->len_doc) {
        *len = ctx->len;
        return DKS_OK;
    }
    uint32_t l;
    int rc = dks_length_get(&ctx->lengths, doc, &l);
    if (rc)
        return rc;
    ctx->len_doc = doc;
    *len = ctx->len = l;
    return DKS_OK;
}

static int term_score(iter *it, double *score)
{
    term_iter *t = (term_iter *)it;
    double len;
    uint32_t tf;
    int rc = term_tf(t, &tf);
    if (!rc)
        rc = doc_length(t->ctx, it->doc, &len);
    if (rc)
        return rc;
    *score = term_part(t, tf, len);
    return DKS_OK;
}

#define POSITIONS_READ_ALONE 16

/* Every position of the current block, its frequencies decoded. */
static int term_decode_block_positions(term_iter *t)
{
    size_t total = 0;
    for (uint32_t i = 0; i < t->h.n; i++) {
        t->pos_from[i] = (uint32_t)total;
        total += t->tfs[i];
    }
    int rc = dks_reserve_u32(&t->block_pos, &t->block_pos_cap, total);
    if (!rc)
        rc = dks_block_decode_positions(&t->h, t->tfs, t->block_pos);
    t->pos_decoded = !rc;
    return rc;
}

/* The current document's positions, into a buffer that grows as needed;
 * none (*n = 0) for a key that records none. */
static int term_positions(term_iter *t, uint32_t **buf, size_t *cap, uint32_t *n)
{
    /* the position section first, so that decoding the frequencies checks
     * them against it */
    int rc = dks_block_parse_positions(&t->h);
    if (!rc)
        rc = term_decode_tfs(t);
    if (rc)
        return rc;
    *n = 0;
    if (t->h.positions_len == 0)
        return dks_key_has_positions((const char *)t->prefix, t->prefix_len - 1)
                   ? DKS_ECORRUPT : DKS_OK;
    uint32_t tf = t->tfs[t->i];
    if ((rc = dks_reserve_u32(buf, cap, tf)))
        return rc;
    if (!t->pos_decoded && ++t->pos_read > POSITIONS_READ_ALONE &&
        (rc = term_decode_block_positions(t)))
        return rc;
    *n = tf;
    if (t->pos_decoded) {
        memcpy(*buf, t->block_pos + t->pos_from[t->i], tf * sizeof **buf);
        return DKS_OK;
    }
    if (t->pos_i > t->i) {
        t->gap_at = 0;
        t->pos_i = 0;
    }
    for (; t->pos_i < t->i; t->pos_i++)
        t->gap_at += t->tfs[t->pos_i] - 1;
    return dks_block_positions(&t->h, t->i, t->gap_at, tf, *buf);
}

static void term_set_min(iter *it, double min)
{
    ((term_iter *)it)->min = min;
}

static void term_free(iter *it)
{
    term_iter *t = (term_iter *)it;
    dks_plist_close(&t->list);
    free(t->block_pos);
    free(t);
}

static int term_explain(iter *it, explanation *e)
{
    term_iter *t = (term_iter *)it;
    static const char *const kinds[] = {"word", "part", "head", "lemma", "spelling", "word",
                                        "form", "title", "field"};
    double len;
    int rc = term_decode_tfs(t);
    if (!rc)
        rc = doc_length(t->ctx, it->doc, &len);
    if (rc)
        return rc;
    const dks_bm25 *m = &t->ctx->bm25;
    unsigned char first = t->prefix[0];
    int kind = first >= 1 && first <= 8 && first != 5 ? first : 0;
    if (t->weight == 0)
        return DKS_OK;  /* a filter restricts, it adds nothing */
    dks_score_part part = {
        .kind = kinds[kind],
        .weight = t->weight,
        .tf = t->tfs[t->i],
        .df = it->cost,
        .idf = t->idf,
        .length = len,
        .avg_length = m->avg_len,
        .norm = 1.0 - DKS_BM25_B + DKS_BM25_B * (m->avg_len > 0 ? len / m->avg_len : 1.0),
    };
    part.score = term_part(t, part.tf, len);
    return explain_add(e, &part, (const char *)t->prefix + (kind != 0),
                       t->prefix_len - 1 - (kind != 0));
}

static const iter_ops term_ops = {term_next,    term_skip_to, term_score,
                                  term_set_min, term_free,    term_explain};

static int empty_next(iter *it) { it->doc = DKS_DOC_END; return DKS_OK; }
static int empty_skip(iter *it, uint32_t target) { (void)target; return empty_next(it); }
static int empty_score(iter *it, double *s) { (void)it; *s = 0; return DKS_OK; }
/* for iterators that visit every document whatever the minimum */
static void ignore_min(iter *it, double min) { (void)it; (void)min; }
static void empty_free(iter *it) { free(it); }
static int empty_explain(iter *it, explanation *e) { (void)it; (void)e; return DKS_OK; }
static const iter_ops empty_ops = {empty_next, empty_skip,  empty_score,
                                   ignore_min, empty_free, empty_explain};

static int empty_new(iter **out)
{
    iter *it = calloc(1, sizeof *it);
    if (!it)
        return DKS_ENOMEM;
    it->ops = &empty_ops;
    it->doc = DKS_DOC_END;
    *out = it;
    return DKS_OK;
}

/* Opens an iterator over one dictionary key, its scores multiplied by
 * weight; a key not in the index gives an empty iterator. */
/* A term with at most one posting in this many document ids: a title
 * key, a head, a rare spelling.  Each of its blocks spans so many
 * documents that its bound would count for nearly every document an AND
 * checks, and a frequent word's title key bounds high; such a term is
 * moved to the document and scored instead, which costs little, as its
 * blocks are few. */
#define SPARSE_TERM_SPAN 8

static int term_new(match_ctx *ctx, const char *term, size_t len, double weight, iter **out,
                    double *idf)
{
    *out = NULL;
    *idf = 0;
    dks_term_stats st;
    if (len == 0 || len > DKS_MAX_KEY_TERM_BYTES + 1)
        return empty_new(out);  /* too long to have been indexed */
    if ((unsigned char)term[0] == DKS_KEY_TITLE) {
        weight *= ctx->title_extra;  /* --weight title=N */
        if (weight <= 0)
            return empty_new(out);
    }
    int rc = dks_term_stats_get(ctx->txn, term, len, &st);
    if (rc == 1)
        return empty_new(out);
    if (rc)
        return rc;
    term_iter *t = calloc(1, sizeof *t);
    if (!t)
        return DKS_ENOMEM;
    t->base.ops = &term_ops;
    t->base.cost = st.df;
    t->base.doc = 0;
    t->ctx = ctx;
    memcpy(t->prefix, term, len);
    t->prefix[len] = 0;
    t->prefix_len = len + 1;
    t->idf = *idf = dks_bm25_idf(&ctx->bm25, st.df);
    t->weight = weight;
    t->base.max_score = weight * t->idf * (DKS_BM25_K1 + 1.0);
    t->sparse = st.df * SPARSE_TERM_SPAN <= ctx->meta.next_doc;

    rc = dks_plist_open(&t->list, ctx->txn, &ctx->meta, term, len, &st);
    if (!rc)
        term_take_block(t);
    if (rc) {
        term_free(&t->base);
        /* The dictionary names a term that has no postings. */
        return rc == 1 ? DKS_ECORRUPT : rc;
    }
    t->base.doc = t->h.first_doc;
    *out = &t->base;
    return DKS_OK;
}

/* ---- AND, with NOT operands ------------------------------------------- */

typedef struct and_iter {
    iter base;
    iter **subs;        /* positive operands, rarest first */
    size_t n;
    iter **excluded;
    size_t n_excluded;
    double min;          /* documents that cannot score above it are passed over */
    uint32_t lead_doc;   /* the lead's document that lead_score is of */
    double lead_score;
    /* the bound check's record over its last sample, and how many lead
     * documents go unchecked before the next */
    unsigned checked, rejected, unchecked;
} and_iter;

/* The bound check pays where it rejects many lead documents.  Where most
 * compete, it costs more than it saves, so after a sample that rejected
 * fewer than a quarter it is left off for a while, then sampled again. */
#define AND_CHECK_SAMPLE 32
#define AND_CHECK_PAUSE 256

static int bound_at(iter *it, uint32_t doc, double *bound);

/* The lead's score at its document, kept for and_score. */
static int and_lead_score(and_iter *a, double *score)
{
    iter *lead = a->subs[0];
    if (a->lead_doc != lead->doc) {
        int rc = lead->ops->score(lead, &a->lead_score);
        if (rc)
            return rc;
        a->lead_doc = lead->doc;
    }
    *score = a->lead_score;
    return DKS_OK;
}

/* Whether the lead's document cannot score above the minimum, from the
 * lead's score and what the blocks of the others at it allow: then the
 * others need not be moved to it and decoded. */
static int and_cannot_beat(and_iter *a, uint32_t target, int *cannot)
{
    *cannot = 0;
    if (a->min <= 0)
        return DKS_OK;
    if (a->unchecked) {
        a->unchecked--;
        return DKS_OK;
    }
    double sum;
    int rc = and_lead_score(a, &sum);
    for (size_t i = 1; i < a->n && !rc; i++) {
        double b;
        rc = bound_at(a->subs[i], target, &b);
        sum += b;
    }
    *cannot = !rc && sum * (1.0 + DKS_PRUNE_SLACK) <= a->min;
    a->rejected += (unsigned)*cannot;
    if (++a->checked == AND_CHECK_SAMPLE) {
        if (a->rejected * 4 < a->checked)
            a->unchecked = AND_CHECK_PAUSE;
        a->checked = a->rejected = 0;
    }
    return rc;
}

/* From subs[0]'s document on, finds the next document all operands share
 * and no excluded operand has. */
static int and_align(and_iter *a)
{
    int rc;
    for (;;) {
        uint32_t target = a->subs[0]->doc;
        if (target == DKS_DOC_END) {
            a->base.doc = DKS_DOC_END;
            return DKS_OK;
        }
        int cannot;
        if ((rc = and_cannot_beat(a, target, &cannot)))
            return rc;
        if (cannot) {
            if ((rc = a->subs[0]->ops->next(a->subs[0])))
                return rc;
            continue;
        }
        size_t i;
        for (i = 1; i < a->n; i++) {
            if (a->subs[i]->doc < target &&
                (rc = a->subs[i]->ops->skip_to(a->subs[i], target)))
                return rc;
            if (a->subs[i]->doc != target)
                break;
        }
        if (i < a->n) {
            /* subs[i] is past target (or exhausted): the lead catches up */
            if ((rc = a->subs[0]->ops->skip_to(a->subs[0], a->subs[i]->doc)))
                return rc;
            continue;
        }
        int excluded = 0;
        for (size_t j = 0; j < a->n_excluded && !excluded; j++) {
            if ((rc = a->excluded[j]->ops->skip_to(a->excluded[j], target)))
                return rc;
            excluded = a->excluded[j]->doc == target;
        }
        if (!excluded) {
            a->base.doc = target;
            return DKS_OK;
        }
        if ((rc = a->subs[0]->ops->next(a->subs[0])))
            return rc;
    }
}

static int and_next(iter *it)
{
    and_iter *a = (and_iter *)it;
    if (it->doc == DKS_DOC_END)
        return DKS_OK;
    int rc = a->subs[0]->ops->next(a->subs[0]);
    return rc ? rc : and_align(a);
}

static int and_skip_to(iter *it, uint32_t target)
{
    and_iter *a = (and_iter *)it;
    if (it->doc >= target)
        return DKS_OK;
    int rc = a->subs[0]->ops->skip_to(a->subs[0], target);
    return rc ? rc : and_align(a);
}

static int and_score(iter *it, double *score)
{
    and_iter *a = (and_iter *)it;
    int rc = and_lead_score(a, score);
    for (size_t i = 1; i < a->n && !rc; i++) {
        double s;
        rc = a->subs[i]->ops->score(a->subs[i], &s);
        *score += s;
    }
    return rc;
}

/* An operand may pass over what cannot beat min less what the others add. */
static void and_set_min(iter *it, double min)
{
    and_iter *a = (and_iter *)it;
    a->min = min;
    for (size_t i = 0; i < a->n; i++) {
        double others = a->base.max_score - a->subs[i]->max_score;
        if (min - others > 0)
            a->subs[i]->ops->set_min(a->subs[i], min - others);
    }
}

static void free_iters(iter **its, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (its[i])
            its[i]->ops->free(its[i]);
    free(its);
}

static void and_free(iter *it)
{
    and_iter *a = (and_iter *)it;
    free_iters(a->subs, a->n);
    free_iters(a->excluded, a->n_excluded);
    free(a);
}

static int and_explain(iter *it, explanation *e)
{
    and_iter *a = (and_iter *)it;
    int rc = DKS_OK;
    for (size_t i = 0; i < a->n && !rc; i++)
        rc = a->subs[i]->ops->explain(a->subs[i], e);
    return rc;
}

static const iter_ops and_ops = {and_next,    and_skip_to, and_score,
                                 and_set_min, and_free,    and_explain};

static int cmp_cost(const void *x, const void *y)
{
    const iter *a = *(iter *const *)x, *b = *(iter *const *)y;
    return (a->cost > b->cost) - (a->cost < b->cost);
}

/* Takes ownership of subs and excluded (also on failure). */
static int and_new(iter **subs, size_t n, iter **excluded, size_t n_excluded, iter **out)
{
    and_iter *a = calloc(1, sizeof *a);
    if (!a) {
        free_iters(subs, n);
        free_iters(excluded, n_excluded);
        return DKS_ENOMEM;
    }
    qsort(subs, n, sizeof *subs, cmp_cost);
    a->base.ops = &and_ops;
    a->subs = subs;
    a->n = n;
    a->excluded = excluded;
    a->n_excluded = n_excluded;
    a->lead_doc = DKS_DOC_END;
    a->base.cost = subs[0]->cost;
    for (size_t i = 0; i < n; i++)
        a->base.max_score += subs[i]->max_score;
    int rc = and_align(a);
    if (rc) {
        and_free(&a->base);
        return rc;
    }
    *out = &a->base;
    return DKS_OK;
}

/* ---- OR ------------------------------------------------------------------ */

typedef struct or_iter {
    iter base;
    iter **subs;
    size_t n;
    /* With a minimum (MaxScore): by_bound lists the operands by max_score,
     * smallest first; the first n_lazy of them together cannot beat the
     * minimum, so a document only counts if one of the others has it, and
     * lazy_bound[i] is what by_bound[0..i] add at most. */
    double min;
    size_t *by_bound;
    size_t n_lazy;
    double *lazy_bound;
    double score;       /* the current document's, found while pruning */
} or_iter;

static void or_settle(or_iter *o)
{
    uint32_t doc = DKS_DOC_END;
    for (size_t i = 0; i < o->n; i++)
        if (o->subs[i]->doc < doc)
            doc = o->subs[i]->doc;
    o->base.doc = doc;
}

static iter *essential(const or_iter *o, size_t i) { return o->subs[o->by_bound[i]]; }

/* The most an operand may add to doc's score, known without decoding: 0
 * when it is past doc (it lacks it), for a term the bound of the block
 * that would hold doc (moved to, not decoded), for an OR (a word's
 * alternatives, as an AND's operand) its operands' together, else its
 * max_score. */
static const iter_ops or_ops;
static inline int term_bound_at(term_iter *t, uint32_t doc, double *bound)
{
    *bound = 0;
    if (t->base.doc > doc)
        return DKS_OK;
    if (t->h.last_doc < doc) {
        int rc = term_next_block(t, doc);
        if (rc || t->base.doc > doc)
            return rc;
    }
    *bound = term_block_bound(t);
    return DKS_OK;
}

/* A sparse term's exact part of doc's score: 0 if it lacks doc (or passes
 * over it, as it passes over blocks that cannot lift any document over
 * the minimum). */
static int term_part_at(term_iter *t, uint32_t doc, double *part)
{
    *part = 0;
    int rc = t->base.doc < doc ? term_skip_to(&t->base, doc) : DKS_OK;
    if (!rc && t->base.doc == doc)
        rc = term_score(&t->base, part);
    return rc;
}

static int bound_at(iter *it, uint32_t doc, double *bound)
{
    *bound = 0;
    if (it->doc > doc)
        return DKS_OK;
    if (it->ops == &term_ops)
        return term_bound_at((term_iter *)it, doc, bound);
    if (it->ops != &or_ops) {
        *bound = it->max_score;
        return DKS_OK;
    }
    /* a word's alternatives, asked for each lead document an AND checks:
     * its terms without a call each, the sparse ones exactly */
    const or_iter *o = (const or_iter *)it;
    for (size_t i = 0; i < o->n; i++) {
        iter *sub = o->subs[i];
        double b;
        int rc;
        if (sub->ops != &term_ops) {
            rc = bound_at(sub, doc, &b);
        } else {
            term_iter *t = (term_iter *)sub;
            rc = t->sparse ? term_part_at(t, doc, &b) : term_bound_at(t, doc, &b);
        }
        if (rc)
            return rc;
        *bound += b;
    }
    return DKS_OK;
}

/* Completes a document's score from the lazy operands by_bound[0..lazy),
 * largest first, for as long as it can still beat the minimum; *beats
 * says whether it does. */
static int complete_lazy(or_iter *o, size_t lazy, uint32_t doc, double *score, int *beats)
{
    size_t i = lazy;
    for (; i > 0; i--) {
        /* the lazy operands left, at their most */
        if ((*score + o->lazy_bound[i - 1]) * (1.0 + DKS_PRUNE_SLACK) <= o->min)
            break;
        /* this one as far as its block at doc allows (most often much
         * less than its maximum; 0 when its next block starts later),
         * the others below it at their most */
        iter *sub = o->subs[o->by_bound[i - 1]];
        double bound, part;
        int rc = bound_at(sub, doc, &bound);
        if (rc)
            return rc;
        double below = i > 1 ? o->lazy_bound[i - 2] : 0;
        if ((*score + bound + below) * (1.0 + DKS_PRUNE_SLACK) <= o->min)
            break;
        if (bound == 0)
            continue;  /* it lacks doc */
        if ((rc = sub->ops->skip_to(sub, doc)))
            return rc;
        if (sub->doc != doc)
            continue;
        if ((rc = sub->ops->score(sub, &part)))
            return rc;
        *score += part;
    }
    *beats = i == 0 && *score > o->min;
    return DKS_OK;
}

/* Pruning: from the operands' current documents on, finds the first
 * document an essential operand has whose score, completed from the lazy
 * ones, beats the minimum. */
static int or_find(or_iter *o)
{
    int rc;
    for (;;) {
        uint32_t doc = DKS_DOC_END;
        for (size_t i = o->n_lazy; i < o->n; i++)
            if (essential(o, i)->doc < doc)
                doc = essential(o, i)->doc;
        o->base.doc = doc;
        if (doc == DKS_DOC_END)
            return DKS_OK;
        double score = 0, part;
        for (size_t i = o->n_lazy; i < o->n; i++) {
            iter *sub = essential(o, i);
            if (sub->doc != doc)
                continue;
            if ((rc = sub->ops->score(sub, &part)))
                return rc;
            score += part;
        }
        int beats;
        if ((rc = complete_lazy(o, o->n_lazy, doc, &score, &beats)))
            return rc;
        if (beats) {
            o->score = score;
            return DKS_OK;
        }
        for (size_t j = o->n_lazy; j < o->n; j++)
            if (essential(o, j)->doc == doc && (rc = essential(o, j)->ops->next(essential(o, j))))
                return rc;
    }
}

/* Operand i (from lazy on) of those a move starts from: all of them in
 * their order while none is lazy, else the essential by their bounds. */
static iter *moving(const or_iter *o, size_t lazy, size_t i)
{
    return lazy ? essential(o, i) : o->subs[i];
}

/* The operands a move starts from: all, or with pruning the essential. */
static int or_move(or_iter *o, uint32_t target, int skip)
{
    size_t lazy = o->min > 0 ? o->n_lazy : 0;
    for (size_t i = lazy; i < o->n; i++) {
        iter *sub = moving(o, lazy, i);
        int rc = DKS_OK;
        if (skip && sub->doc < target)
            rc = sub->ops->skip_to(sub, target);
        else if (!skip && sub->doc == o->base.doc)
            rc = sub->ops->next(sub);
        if (rc)
            return rc;
    }
    if (o->min > 0)
        return or_find(o);
    or_settle(o);
    return DKS_OK;
}

static int or_next(iter *it)
{
    return it->doc == DKS_DOC_END ? DKS_OK : or_move((or_iter *)it, 0, 0);
}

static int or_skip_to(iter *it, uint32_t target)
{
    return it->doc >= target ? DKS_OK : or_move((or_iter *)it, target, 1);
}

static int or_score(iter *it, double *score)
{
    or_iter *o = (or_iter *)it;
    if (o->min > 0) {
        *score = o->score;
        return DKS_OK;
    }
    *score = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (o->subs[i]->doc != it->doc)
            continue;
        double s;
        int rc = o->subs[i]->ops->score(o->subs[i], &s);
        if (rc)
            return rc;
        *score += s;
    }
    return DKS_OK;
}

/* Orders operand indexes by their iterators' max_score (qsort has no
 * context, so the entries carry it). */
typedef struct bound_entry {
    double bound;
    size_t sub;
} bound_entry;

static int cmp_bound(const void *x, const void *y)
{
    const bound_entry *a = x, *b = y;
    if (a->bound != b->bound)
        return a->bound < b->bound ? -1 : 1;
    return (a->sub > b->sub) - (a->sub < b->sub);
}

static int or_prepare_pruning(or_iter *o)
{
    bound_entry *e = malloc(o->n * sizeof *e);
    o->by_bound = malloc(o->n * sizeof *o->by_bound);
    o->lazy_bound = malloc(o->n * sizeof *o->lazy_bound);
    if (!e || !o->by_bound || !o->lazy_bound) {
        /* none kept: the next try allocates them all again */
        free(e);
        free(o->by_bound);
        free(o->lazy_bound);
        o->by_bound = NULL;
        o->lazy_bound = NULL;
        return DKS_ENOMEM;
    }
    for (size_t i = 0; i < o->n; i++)
        e[i] = (bound_entry){o->subs[i]->max_score, i};
    qsort(e, o->n, sizeof *e, cmp_bound);
    double sum = 0;
    for (size_t i = 0; i < o->n; i++) {
        o->by_bound[i] = e[i].sub;
        sum += e[i].bound;
        o->lazy_bound[i] = sum;
    }
    free(e);
    return DKS_OK;
}

/* Called on a document the caller has scored and will move on from with
 * next(), so the score cached for it no longer matters. */
static void or_set_min(iter *it, double min)
{
    or_iter *o = (or_iter *)it;
    if (!o->by_bound && or_prepare_pruning(o))
        return;  /* pruning is an optimisation: go on without it */
    o->n_lazy = 0;
    while (o->n_lazy + 1 < o->n &&
           o->lazy_bound[o->n_lazy] * (1.0 + DKS_PRUNE_SLACK) <= min)
        o->n_lazy++;
    for (size_t i = 0; i < o->n; i++) {
        double others = o->base.max_score - o->subs[i]->max_score;
        if (min - others > 0)
            o->subs[i]->ops->set_min(o->subs[i], min - others);
    }
    o->min = min;
}

static void or_free(iter *it)
{
    or_iter *o = (or_iter *)it;
    free(o->by_bound);
    free(o->lazy_bound);
    free_iters(o->subs, o->n);
    free(o);
}

static int or_explain(iter *it, explanation *e)
{
    or_iter *o = (or_iter *)it;
    int rc = DKS_OK;
    for (size_t i = 0; i < o->n && !rc; i++)
        if (o->subs[i]->doc == it->doc)
            rc = o->subs[i]->ops->explain(o->subs[i], e);
    return rc;
}

static const iter_ops or_ops = {or_next,    or_skip_to, or_score,
                                or_set_min, or_free,    or_explain};

/* An OR's operand that is an OR itself gives its operands to the outer one:
 * the score is the same sum, and MaxScore then weighs each term on its own
 * instead of a whole word's alternatives at once. */
static int or_flatten(iter ***subs, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < *n; i++)
        total += (*subs)[i]->ops == &or_ops ? ((or_iter *)(*subs)[i])->n : 1;
    if (total == *n)
        return DKS_OK;
    iter **flat = malloc(total * sizeof *flat);
    if (!flat)
        return DKS_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        iter *sub = (*subs)[i];
        if (sub->ops != &or_ops) {
            flat[k++] = sub;
            continue;
        }
        or_iter *inner = (or_iter *)sub;
        memcpy(flat + k, inner->subs, inner->n * sizeof *flat);
        k += inner->n;
        inner->n = 0;  /* its operands are the outer OR's now */
        or_free(sub);
    }
    free(*subs);
    *subs = flat;
    *n = total;
    return DKS_OK;
}

static int or_new(iter **subs, size_t n, iter **out)
{
    int rc = or_flatten(&subs, &n);
    or_iter *o = rc ? NULL : calloc(1, sizeof *o);
    if (!o) {
        free_iters(subs, n);
        return DKS_ENOMEM;
    }
    o->base.ops = &or_ops;
    o->subs = subs;
    o->n = n;
    for (size_t i = 0; i < n; i++) {
        o->base.cost += subs[i]->cost;
        o->base.max_score += subs[i]->max_score;
    }
    or_settle(o);
    *out = &o->base;
    return DKS_OK;
}

/* An OR of what was found: nothing, one iterator as it is, or several.
 * Takes ownership of subs. */
static int or_of(iter **subs, size_t n, iter **out)
{
    if (n == 0) {
        free(subs);
        return empty_new(out);
    }
    if (n == 1) {
        *out = subs[0];
        free(subs);
        return DKS_OK;
    }
    return or_new(subs, n, out);
}

/* ---- OR at the root, a window at a time ------------------------------ */

/* An OR of terms at the root is scored a window of documents at a time:
 * each essential term adds its scores for the window's documents into an
 * array, a decoded block at a time, and only the documents found there
 * are completed from the lazy terms (as in or_find) and handed on.  Its
 * inner loop reads consecutive memory and makes no call per document,
 * where the document-at-a-time OR compares its operands at every one; the
 * parts' order does not change a score (quantized). */
#define WINDOW_DOCS 2048

/* What the window-at-a-time iterators (this one and and_bulk) share. */
typedef struct window {
    iter base;
    match_ctx *ctx;
    uint32_t lo, hi;      /* the window: documents lo .. hi - 1 */
    uint32_t next;        /* where in the window to look on from */
    double score;         /* the current document's */
    double acc[WINDOW_DOCS];
} window;

typedef struct bulk_iter {
    window w;
    or_iter *or;          /* the operands, their MaxScore split and bounds */
    size_t lazy;          /* operands by_bound[0..lazy) are not in acc */
    uint64_t seen[WINDOW_DOCS / 64];
} bulk_iter;

/* Adds a term's scores for the window's documents, and leaves it on its
 * first document after the window. */
static int bulk_add(bulk_iter *b, term_iter *t)
{
    while (t->base.doc < b->w.hi) {
        int rc = term_decode_tfs(t);
        if (rc)
            return rc;
        /* bounds in locals: the loop calls out when a length's chunk is
         * not at hand, and would read them all again after it */
        uint32_t i = t->i, n = t->h.n, lo = b->w.lo, hi = b->w.hi;
        dks_length_reader *lengths = &b->w.ctx->lengths;
        for (; i < n && t->docs[i] < hi; i++) {
            uint32_t len;
            if ((rc = dks_length_get(lengths, t->docs[i], &len)))
                return rc;
            uint32_t at = t->docs[i] - lo;
            b->w.acc[at] += term_part(t, t->tfs[i], len);
            b->seen[at / 64] |= (uint64_t)1 << (at % 64);
        }
        if (i < n) {
            t->i = i;
            t->base.doc = t->docs[i];
        } else if ((rc = term_next_block(t, 0))) {
            return rc;
        }
    }
    return DKS_OK;
}

/* The next window: from the first document an essential operand has, its
 * essential operands' scores. */
static int bulk_fill(bulk_iter *b)
{
    or_iter *o = b->or;
    b->lazy = o->min > 0 ? o->n_lazy : 0;
    uint32_t lo = DKS_DOC_END;
    for (size_t i = b->lazy; i < o->n; i++) {
        iter *sub = moving(o, b->lazy, i);
        if (sub->doc < lo)
            lo = sub->doc;
    }
    b->w.lo = lo;
    b->w.next = 0;
    if (lo == DKS_DOC_END)
        return DKS_OK;
    b->w.hi = lo < DKS_DOC_END - WINDOW_DOCS ? lo + WINDOW_DOCS : DKS_DOC_END;
    for (size_t i = b->lazy; i < o->n; i++) {
        iter *sub = moving(o, b->lazy, i);
        int rc = bulk_add(b, (term_iter *)sub);
        if (rc)
            return rc;
    }
    return DKS_OK;
}

/* The first window position from *next on whose bit is set, moving
 * *next past it; 0 if none. */
static int next_bit(const uint64_t *bits, uint32_t *next, uint32_t *at)
{
    while (*next < WINDOW_DOCS) {
        size_t w = *next / 64;
        uint64_t left = bits[w] & (~(uint64_t)0 << (*next % 64));
        if (!left) {
            *next = (uint32_t)(w + 1) * 64;
            continue;
        }
        *at = (uint32_t)w * 64 + (uint32_t)__builtin_ctzll(left);
        *next = *at + 1;
        return 1;
    }
    return 0;
}

/* Hands on the next document of the window, or of the windows after it,
 * whose bit is set and that `take` takes (setting its score); `fill`
 * makes the next window, lo DKS_DOC_END after the last.  Inline, so that
 * each iterator's take is called directly. */
static inline int window_next(window *w, const uint64_t *bits,
                              int (*take)(window *, uint32_t at, int *taken),
                              int (*fill)(window *))
{
    for (;;) {
        if (w->lo == DKS_DOC_END) {
            w->base.doc = DKS_DOC_END;
            return DKS_OK;
        }
        uint32_t at;
        while (next_bit(bits, &w->next, &at)) {
            int taken, rc = take(w, at, &taken);
            if (rc)
                return rc;
            if (taken) {
                w->base.doc = w->lo + at;
                return DKS_OK;
            }
        }
        int rc = fill(w);
        if (rc)
            return rc;
    }
}

static int window_score(iter *it, double *score)
{
    *score = ((window *)it)->score;
    return DKS_OK;
}

/* A skip_to of a window-at-a-time iterator: it hands on every document
 * that can beat the minimum in turn, and few are passed over. */
static int skip_by_next(iter *it, uint32_t target)
{
    int rc = DKS_OK;
    while (!rc && it->doc < target)
        rc = it->ops->next(it);
    return rc;
}

/* Explanations walk a tree of their own (dks_match_explain). */
static int no_explain(iter *it, explanation *e)
{
    (void)it;
    (void)e;
    return DKS_EINVAL;
}

/* A document the essential terms found, completed from the lazy ones:
 * taken if it can beat the minimum.  Its entry is cleared for the next
 * window either way. */
static inline int bulk_take(window *w, uint32_t at, int *taken)
{
    bulk_iter *b = (bulk_iter *)w;
    b->seen[at / 64] &= ~((uint64_t)1 << (at % 64));
    double score = w->acc[at];
    w->acc[at] = 0;
    *taken = 1;
    int rc = b->or->min > 0 ? complete_lazy(b->or, b->lazy, w->lo + at, &score, taken) : DKS_OK;
    w->score = score;
    return rc;
}

static int bulk_fill_window(window *w)
{
    return bulk_fill((bulk_iter *)w);
}

/* Moves to the next document of the window (the next windows) that can
 * beat the minimum. */
static int bulk_next(iter *it)
{
    return window_next((window *)it, ((bulk_iter *)it)->seen, bulk_take, bulk_fill_window);
}

/* A new minimum applies to the documents still to come, and from the next
 * window on to which operands are lazy. */
static void bulk_set_min(iter *it, double min)
{
    or_set_min(&((bulk_iter *)it)->or->base, min);
}

static void bulk_free(iter *it)
{
    bulk_iter *b = (bulk_iter *)it;
    or_free(&b->or->base);
    free(b);
}

static const iter_ops bulk_ops = {bulk_next,    skip_by_next, window_score,
                                  bulk_set_min, bulk_free,    no_explain};

/* The current document, looked at again after a new minimum. */
static int bulk_recheck(bulk_iter *b)
{
    return b->w.score > b->or->min ? DKS_OK : bulk_next(&b->w.base);
}

/* Puts an OR of terms at the root under a bulk_iter, on its first
 * document; any other root stays as it is. */
static int bulk_of(match_ctx *ctx, iter **root)
{
    if ((*root)->ops != &or_ops)
        return DKS_OK;
    or_iter *o = (or_iter *)*root;
    for (size_t i = 0; i < o->n; i++)
        if (o->subs[i]->ops != &term_ops)
            return DKS_OK;
    bulk_iter *b = calloc(1, sizeof *b);
    if (!b)
        return DKS_ENOMEM;
    b->w.base.ops = &bulk_ops;
    b->w.base.cost = o->base.cost;
    b->w.base.max_score = o->base.max_score;
    b->w.ctx = ctx;
    b->or = o;
    *root = &b->w.base;
    int rc = bulk_fill(b);
    return rc ? rc : bulk_next(&b->w.base);
}

/* ---- AND at the root, a window at a time ----------------------------- */

/* An AND at the root of words (ORs of their alternatives' terms) and
 * terms is matched a window of documents at a time when its lead is not
 * rare: the lead's terms mark their documents in a bitmap, each further
 * operand's terms keep the marked documents they have too, NOT operands
 * unmark theirs, and only then are the documents left scored, from the
 * postings noted on the way (a block's header and a document's place in
 * it give its frequency: read one by one for a few documents of a block,
 * all at once for more).  A block with no marked document in its range
 * is passed over without decoding.
 * Document by document, each of thousands of lead documents costs a move
 * of every other term and the bounds or scores of every alternative;
 * here a posting costs a bit test.  The parts' order does not change a
 * score (quantized). */

/* A posting of a marked document: its block and its place there. */
typedef struct noted_posting {
    uint16_t at;        /* in the window */
    uint16_t i;         /* in the block */
    uint32_t block;     /* in and_bulk.blocks */
} noted_posting;

typedef struct noted_block {
    dks_block_header h;  /* points into the read transaction's map */
    term_iter *term;
} noted_block;

typedef struct and_bulk {
    window w;                 /* acc is not 0 only where have is set */
    and_iter *and;            /* owns the operands */
    term_iter **terms;        /* the operands' terms, operand by operand */
    size_t *ends;             /* operand k's: terms[ends[k - 1] .. ends[k]), from 0 for k = 0 */
    double min;               /* documents scoring no more are not handed on */
    uint64_t matched;         /* documents of every operand, so far */
    noted_block *blocks;      /* the window's */
    size_t n_blocks, blocks_cap;
    noted_posting *postings;
    size_t n_postings, postings_cap;
    uint64_t have[WINDOW_DOCS / 64];     /* every operand so far has them */
    uint64_t got[WINDOW_DOCS / 64];      /* the current operand has them too */
} and_bulk;

/* A lead of fewer documents, or other operands of more than this many
 * times the lead's postings, are leapfrogged: the others skip to the
 * lead's documents, passing over their blocks between unread, and the
 * lead's documents that cannot reach the page are passed over (see
 * and_cannot_beat).  Measured on the benchmark's two-word ANDs: every
 * query chosen so ran faster, the slowest ones by a third. */
#define AND_BULK_MIN_LEAD 512
#define AND_BULK_DENSITY 16

/* Whether a bit from..to (inclusive) of a window's bitmap is set. */
static int any_bit(const uint64_t *bits, uint32_t from, uint32_t to)
{
    size_t w = from / 64, last = to / 64;
    uint64_t head = ~(uint64_t)0 << (from % 64), tail = ~(uint64_t)0 >> (63 - to % 64);
    if (w == last)
        return (bits[w] & head & tail) != 0;
    if (bits[w] & head)
        return 1;
    for (w++; w < last; w++)
        if (bits[w])
            return 1;
    return (bits[last] & tail) != 0;
}

/* Marks in got the window's documents a term has, those marked in have
 * unless it is the lead's, and notes its postings of them.  Leaves the
 * term at or after the window's end, or behind it in a block that has
 * nothing marked (the next window moves it on). */
static int and_bulk_add(and_bulk *b, term_iter *t, int lead)
{
    int rc;
    if (t->base.doc < b->w.lo && t->h.last_doc < b->w.lo && (rc = term_next_block(t, b->w.lo)))
        return rc;
    while (t->base.doc < b->w.hi) {
        uint32_t from = t->base.doc > b->w.lo ? t->base.doc : b->w.lo;
        uint32_t to = t->h.last_doc < b->w.hi ? t->h.last_doc : b->w.hi - 1;
        if (!lead && !any_bit(b->have, from - b->w.lo, to - b->w.lo)) {
            if (t->h.last_doc >= b->w.hi)
                break;
            if ((rc = term_next_block(t, 0)))
                return rc;
            continue;
        }
        if ((rc = term_decode(t)))
            return rc;
        if ((rc = dks_grow(&b->blocks, b->n_blocks, &b->blocks_cap, sizeof *b->blocks, 16)))
            return rc;
        b->blocks[b->n_blocks] = (noted_block){t->h, t};
        /* Locals, and room for every posting left in the block made first:
         * a store of a noted posting might change any number of its type
         * in memory as far as the compiler knows, so the loop would read
         * its bounds again after each. */
        uint32_t i = t->i, n = t->h.n, lo = b->w.lo, hi = b->w.hi;
        const uint32_t *docs = t->docs;
        while (i < n && docs[i] < lo)
            i++;
        while (b->postings_cap - b->n_postings < n - i)
            if ((rc = dks_grow(&b->postings, b->postings_cap, &b->postings_cap,
                               sizeof *b->postings, 256)))
                return rc;
        noted_posting *out = b->postings + b->n_postings;
        uint32_t block = (uint32_t)b->n_blocks;
        for (; i < n && docs[i] < hi; i++) {
            uint32_t at = docs[i] - lo;
            uint64_t bit = (uint64_t)1 << (at % 64);
            if (!lead && !(b->have[at / 64] & bit))
                continue;
            *out++ = (noted_posting){(uint16_t)at, (uint16_t)i, block};
            b->got[at / 64] |= bit;
        }
        b->n_postings = (size_t)(out - b->postings);
        b->n_blocks++;
        if (i < n) {
            t->i = i;
            t->base.doc = t->docs[i];
        } else if ((rc = term_next_block(t, 0))) {
            return rc;
        }
    }
    return DKS_OK;
}

static int noted_marked(const and_bulk *b, const noted_posting *p)
{
    return (b->have[p->at / 64] >> (p->at % 64)) & 1;
}

/* Unmarks the documents left marked whose noted postings cannot lift
 * them over the minimum, each counted at its block's bound (the block's
 * largest frequency and shortest document), before a frequency or length
 * of theirs is read: a document of the words' long lists alone rarely
 * reaches a page that their title keys and heads fill.  They still count
 * as matched.  acc holds the bounds meanwhile, and 0 again after. */
static void and_bulk_drop_hopeless(and_bulk *b)
{
    if (b->min <= 0)
        return;
    for (size_t k = 0; k < b->n_postings;) {
        uint32_t block = b->postings[k].block;
        const noted_block *nb = &b->blocks[block];
        double bound = bound_of_block(nb->term, &nb->h);
        for (; k < b->n_postings && b->postings[k].block == block; k++)
            if (noted_marked(b, &b->postings[k]))
                b->w.acc[b->postings[k].at] += bound;
    }
    for (size_t w = 0; w < WINDOW_DOCS / 64; w++)
        for (uint64_t bits = b->have[w]; bits; bits &= bits - 1) {
            unsigned bit = (unsigned)__builtin_ctzll(bits);
            size_t at = w * 64 + bit;
            if (b->w.acc[at] * (1.0 + DKS_PRUNE_SLACK) <= b->min)
                b->have[w] &= ~((uint64_t)1 << bit);
            b->w.acc[at] = 0;
        }
}

/* Scores the documents left marked from the postings noted of them, a
 * block's at a time: its frequencies are read one by one for a few
 * documents, decoded all at once for more (as term_tf does). */
static int and_bulk_score_window(and_bulk *b)
{
    and_bulk_drop_hopeless(b);
    uint32_t tfs[DKS_BLOCK_DOCS];
    for (size_t k = 0; k < b->n_postings;) {
        const noted_block *nb = &b->blocks[b->postings[k].block];
        size_t end = k, marked = 0;
        for (; end < b->n_postings && b->postings[end].block == b->postings[k].block; end++)
            marked += (size_t)noted_marked(b, &b->postings[end]);
        int rc = marked > TFS_READ_ALONE ? dks_block_decode_tfs(&nb->h, tfs) : DKS_OK;
        for (; !rc && k < end; k++) {
            const noted_posting *p = &b->postings[k];
            if (!noted_marked(b, p))
                continue;
            uint32_t tf, len;
            if (marked > TFS_READ_ALONE)
                tf = tfs[p->i];
            else
                rc = dks_block_tf(&nb->h, p->i, &tf);
            if (!rc)
                rc = dks_length_get(&b->w.ctx->lengths, b->w.lo + p->at, &len);
            if (!rc)
                b->w.acc[p->at] += term_part(nb->term, tf, len);
        }
        if (rc)
            return rc;
    }
    return DKS_OK;
}

static int window_empty(const uint64_t *bits)
{
    for (size_t w = 0; w < WINDOW_DOCS / 64; w++)
        if (bits[w])
            return 0;
    return 1;
}

/* Unmarks the documents an excluded operand has. */
static int and_bulk_exclude(and_bulk *b, iter *e)
{
    for (size_t w = 0; w < WINDOW_DOCS / 64; w++) {
        for (uint64_t bits = b->have[w]; bits; bits &= bits - 1) {
            uint32_t doc = b->w.lo + (uint32_t)w * 64 + (uint32_t)__builtin_ctzll(bits);
            int rc = e->doc < doc ? e->ops->skip_to(e, doc) : DKS_OK;
            if (rc)
                return rc;
            if (e->doc == doc)
                b->have[w] &= ~((uint64_t)1 << (doc - b->w.lo) % 64);
        }
    }
    return DKS_OK;
}

/* The next window that holds a document of every operand. */
static int and_bulk_fill(and_bulk *b)
{
    and_iter *a = b->and;
    for (;;) {
        for (size_t w = 0; w < WINDOW_DOCS / 64; w++)
            for (uint64_t bits = b->have[w]; bits; bits &= bits - 1)
                b->w.acc[w * 64 + (size_t)__builtin_ctzll(bits)] = 0;
        memset(b->have, 0, sizeof b->have);
        b->n_blocks = b->n_postings = 0;
        /* a document every operand has comes at or after each one's first */
        uint32_t lo = b->w.hi;
        for (size_t k = 0; k < a->n; k++) {
            uint32_t first = DKS_DOC_END;
            for (size_t j = k ? b->ends[k - 1] : 0; j < b->ends[k]; j++)
                if (b->terms[j]->base.doc < first)
                    first = b->terms[j]->base.doc;
            if (first > lo)
                lo = first;
        }
        b->w.lo = lo;
        b->w.next = 0;
        if (lo == DKS_DOC_END)
            return DKS_OK;
        b->w.hi = lo < DKS_DOC_END - WINDOW_DOCS ? lo + WINDOW_DOCS : DKS_DOC_END;
        int rc;
        for (size_t k = 0; k < a->n; k++) {
            memset(b->got, 0, sizeof b->got);
            for (size_t j = k ? b->ends[k - 1] : 0; j < b->ends[k]; j++)
                if ((rc = and_bulk_add(b, b->terms[j], k == 0)))
                    return rc;
            memcpy(b->have, b->got, sizeof b->got);
            if (window_empty(b->have))
                break;
        }
        for (size_t j = 0; j < a->n_excluded; j++)
            if ((rc = and_bulk_exclude(b, a->excluded[j])))
                return rc;
        uint64_t found = 0;
        for (size_t w = 0; w < WINDOW_DOCS / 64; w++)
            found += (uint64_t)__builtin_popcountll(b->have[w]);
        b->matched += found;
        if (found)
            return and_bulk_score_window(b);
    }
}

/* A document every operand has, taken if it scores above the minimum. */
static inline int and_bulk_take(window *w, uint32_t at, int *taken)
{
    double min = ((and_bulk *)w)->min;
    *taken = !(min > 0 && w->acc[at] <= min);
    w->score = w->acc[at];
    return DKS_OK;
}

static int and_bulk_fill_window(window *w)
{
    return and_bulk_fill((and_bulk *)w);
}

/* The next document of the window (of the next windows) above the
 * minimum. */
static int and_bulk_next(iter *it)
{
    return window_next((window *)it, ((and_bulk *)it)->have, and_bulk_take,
                       and_bulk_fill_window);
}

/* Called on a document the caller has scored and moves on from. */
static void and_bulk_set_min(iter *it, double min)
{
    ((and_bulk *)it)->min = min;
}

static void and_bulk_free(iter *it)
{
    and_bulk *b = (and_bulk *)it;
    free(b->terms);
    free(b->ends);
    free(b->blocks);
    free(b->postings);
    and_free(&b->and->base);
    free(b);
}

static const iter_ops and_bulk_ops = {and_bulk_next,    skip_by_next,  window_score,
                                      and_bulk_set_min, and_bulk_free, no_explain};

/* Puts an AND at the root of terms and words under an and_bulk, on its
 * first document, when its lead is not rare and the others not much
 * longer; any other root stays. */
static int and_bulk_of(match_ctx *ctx, iter **root)
{
    if ((*root)->ops != &and_ops)
        return DKS_OK;
    and_iter *a = (and_iter *)*root;
    uint64_t others = 0;
    for (size_t k = 1; k < a->n; k++)
        others += a->subs[k]->cost;
    if (a->n < 2 || a->subs[0]->cost < AND_BULK_MIN_LEAD ||
        others / AND_BULK_DENSITY > a->subs[0]->cost)
        return DKS_OK;
    size_t n_terms = 0;
    for (size_t k = 0; k < a->n; k++) {
        const iter *sub = a->subs[k];
        if (sub->ops == &term_ops) {
            n_terms++;
            continue;
        }
        if (sub->ops != &or_ops)
            return DKS_OK;
        const or_iter *o = (const or_iter *)sub;
        for (size_t j = 0; j < o->n; j++)
            if (o->subs[j]->ops != &term_ops)
                return DKS_OK;
        n_terms += o->n;
    }
    and_bulk *b = calloc(1, sizeof *b);
    term_iter **terms = malloc(n_terms * sizeof *terms);
    size_t *ends = malloc(a->n * sizeof *ends);
    if (!b || !terms || !ends) {
        free(b);
        free(terms);
        free(ends);
        return DKS_ENOMEM;
    }
    size_t t = 0;
    for (size_t k = 0; k < a->n; k++) {
        iter *sub = a->subs[k];
        if (sub->ops == &term_ops) {
            terms[t++] = (term_iter *)sub;
        } else {
            const or_iter *o = (const or_iter *)sub;
            for (size_t j = 0; j < o->n; j++)
                terms[t++] = (term_iter *)o->subs[j];
        }
        ends[k] = t;
    }
    b->w.base.ops = &and_bulk_ops;
    b->w.base.cost = a->base.cost;
    b->w.base.max_score = a->base.max_score;
    b->w.ctx = ctx;
    b->and = a;
    b->terms = terms;
    b->ends = ends;
    *root = &b->w.base;
    int rc = and_bulk_fill(b);
    return rc ? rc : and_bulk_next(&b->w.base);
}

/* ---- PHRASE -------------------------------------------------------------- */

typedef struct phrase_iter {
    iter base;
    match_ctx *ctx;
    term_iter **terms;
    uint32_t *offsets;
    uint32_t slop;       /* 0: exact; else the words within n - 1 + slop positions */
    size_t n;
    size_t lead;         /* the rarest term: the others are skipped to its documents */
    double idf;          /* sum of the terms' idf */
    uint32_t freq;       /* phrase occurrences in the current document */
    double min;          /* documents that cannot score above it are passed over */
    int merge;           /* two words of like frequency: terms_meet aligns them */
    uint32_t **pos;      /* per-term position buffers */
    size_t *pos_cap;
    uint32_t *pos_n;
} phrase_iter;

typedef struct tagged_pos {
    uint32_t pos;
    uint32_t group;   /* which distinct word of the phrase */
} tagged_pos;

static int cmp_tagged(const void *x, const void *y)
{
    const tagged_pos *a = x, *b = y;
    if (a->pos != b->pos)
        return (a->pos > b->pos) - (a->pos < b->pos);
    return (a->group > b->group) - (a->group < b->group);
}

/* "a b"~N: counts the windows of at most n - 1 + N positions that hold
 * every word of the phrase, a word the phrase repeats as often as it does
 * ("kommunerne kommunerne"~1 needs two).  A sweep over the merged
 * positions finds, for each right end, the shortest such window. */
static int sloppy_count(const phrase_iter *p, uint32_t *freq)
{
    size_t n = p->n, total = 0;
    uint32_t group[DKS_MAX_QUERY_TERMS], need[DKS_MAX_QUERY_TERMS] = {0},
             have[DKS_MAX_QUERY_TERMS] = {0}, groups = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k;  /* k < i: the same word as an earlier one */
        for (k = 0; k < i; k++)
            if (p->terms[k]->prefix_len == p->terms[i]->prefix_len &&
                memcmp(p->terms[k]->prefix, p->terms[i]->prefix, p->terms[i]->prefix_len) == 0)
                break;
        group[i] = k < i ? group[k] : groups++;
        need[group[i]]++;
        if (k == i)
            total += p->pos_n[i];
    }
    tagged_pos *all = malloc((total ? total : 1) * sizeof *all);
    if (!all)
        return DKS_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k;
        for (k = 0; k < i && group[k] != group[i]; k++)
            ;
        if (k < i)
            continue;  /* a repeated word's positions are listed once */
        for (uint32_t q = 0; q < p->pos_n[i]; q++)
            all[m++] = (tagged_pos){p->pos[i][q], group[i]};
    }
    qsort(all, m, sizeof *all, cmp_tagged);
    uint32_t span = (uint32_t)(n - 1) + p->slop, missing = groups, count = 0;
    size_t left = 0;
    for (size_t right = 0; right < m; right++) {
        if (++have[all[right].group] == need[all[right].group])
            missing--;
        /* shrink from the left while the window still holds everything */
        while (missing == 0 && have[all[left].group] > need[all[left].group])
            have[all[left++].group]--;
        if (missing == 0 && all[right].pos - all[left].pos <= span) {
            count++;
            /* start the next window after this one's first position */
            if (have[all[left].group]-- == need[all[left].group])
                missing++;
            left++;
        }
    }
    free(all);
    *freq = count;
    return DKS_OK;
}

/* Counts the places where every term stands at its offset from the first. */
static int phrase_count(phrase_iter *p, uint32_t *freq)
{
    int rc;
    for (size_t i = 0; i < p->n; i++)
        if ((rc = term_positions(p->terms[i], &p->pos[i], &p->pos_cap[i], &p->pos_n[i])))
            return rc;
    if (p->slop)
        return sloppy_count(p, freq);
    size_t at[DKS_MAX_QUERY_TERMS] = {0};
    uint32_t count = 0;
    for (uint32_t k = 0; k < p->pos_n[0]; k++) {
        uint64_t start = p->pos[0][k];
        int all = 1;
        for (size_t i = 1; i < p->n && all; i++) {
            uint64_t want = start + p->offsets[i];
            while (at[i] < p->pos_n[i] && p->pos[i][at[i]] < want)
                at[i]++;
            all = at[i] < p->pos_n[i] && p->pos[i][at[i]] == want;
        }
        count += all;
    }
    *freq = count;
    return DKS_OK;
}

/* Whether the current document, which has every word, cannot score above
 * the minimum whatever its positions: an exact phrase occurs at most as
 * often as its rarest word in the document.  Known from the frequencies
 * and the length, so the positions need not be read. */
static int phrase_cannot_beat(phrase_iter *p, int *cannot)
{
    *cannot = 0;
    if (p->min <= 0 || p->slop)
        return DKS_OK;
    uint32_t most = UINT32_MAX;
    for (size_t i = 0; i < p->n; i++) {
        uint32_t tf;
        int rc = term_tf(p->terms[i], &tf);
        if (rc)
            return rc;
        if (tf < most)
            most = tf;
    }
    double len;
    int rc = doc_length(p->ctx, p->terms[p->lead]->base.doc, &len);
    if (!rc)
        *cannot = dks_bm25_term(&p->ctx->bm25, p->idf, most, len) * (1.0 + DKS_PRUNE_SLACK) <=
                  p->min;
    return rc;
}

/* Moves a term to document i of its decoded block, or when i is past the
 * block's last, on to its next block. */
static int term_move_in_block(term_iter *t, uint32_t i)
{
    if (i == t->h.n)
        return term_next_block(t, 0);
    t->i = i;
    t->base.doc = t->docs[i];
    return DKS_OK;
}

/* Moves two terms to the next document both have (DKS_DOC_END for
 * both after the last).  Where their current blocks overlap, it merges
 * the decoded documents in one loop without a call per step: the two
 * words of most phrases are frequent, and leapfrogging with skip_to
 * costs a call and its block checks for every document passed.  Where
 * one word is far rarer, skip_to's search passes over more of the other's
 * block than a merge would step through, so the merge is for two words
 * of like frequency (up to PHRASE_MERGE_RATIO times the other's). */
#define PHRASE_MERGE_RATIO 4
static int terms_meet(term_iter *a, term_iter *b)
{
    int rc;
    for (;;) {
        uint32_t x = a->base.doc, y = b->base.doc;
        if (x == DKS_DOC_END || y == DKS_DOC_END) {
            a->base.doc = b->base.doc = DKS_DOC_END;
            return DKS_OK;
        }
        if (x == y)
            return DKS_OK;
        /* each in the block that may hold the other's document */
        if (x < y && a->h.last_doc < y) {
            if ((rc = term_next_block(a, y)))
                return rc;
            continue;
        }
        if (y < x && b->h.last_doc < x) {
            if ((rc = term_next_block(b, x)))
                return rc;
            continue;
        }
        if ((rc = term_decode(a)) || (rc = term_decode(b)))
            return rc;
        uint32_t i = a->i, j = b->i, na = a->h.n, nb = b->h.n;
        const uint32_t *da = a->docs, *db = b->docs;
        while (i < na && j < nb && da[i] != db[j]) {
            uint32_t u = da[i], v = db[j];
            i += u < v;
            j += v < u;
        }
        if ((rc = term_move_in_block(a, i)) || (rc = term_move_in_block(b, j)))
            return rc;
    }
}

/* From the lead term's document on, finds the next phrase match. */
static int phrase_align(phrase_iter *p)
{
    int rc;
    iter *lead = &p->terms[p->lead]->base;
    for (;;) {
        if (p->merge && (rc = terms_meet(p->terms[0], p->terms[1])))
            return rc;
        uint32_t target = lead->doc;
        if (target == DKS_DOC_END)
            break;
        size_t i;
        for (i = 0; i < p->n; i++) {
            if (i == p->lead)
                continue;
            if ((rc = term_skip_to(&p->terms[i]->base, target)))
                return rc;
            if (p->terms[i]->base.doc != target)
                break;
        }
        if (i < p->n) {
            if ((rc = term_skip_to(lead, p->terms[i]->base.doc)))
                return rc;
            continue;
        }
        int cannot;
        if ((rc = phrase_cannot_beat(p, &cannot)))
            return rc;
        if (!cannot) {
            if ((rc = phrase_count(p, &p->freq)))
                return rc;
            if (p->freq)
                break;
        }
        if ((rc = term_next(lead)))
            return rc;
    }
    p->base.doc = lead->doc;
    return DKS_OK;
}

static int phrase_next(iter *it)
{
    phrase_iter *p = (phrase_iter *)it;
    if (it->doc == DKS_DOC_END)
        return DKS_OK;
    int rc = term_next(&p->terms[p->lead]->base);
    return rc ? rc : phrase_align(p);
}

static int phrase_skip_to(iter *it, uint32_t target)
{
    phrase_iter *p = (phrase_iter *)it;
    if (it->doc >= target)
        return DKS_OK;
    int rc = term_skip_to(&p->terms[p->lead]->base, target);
    return rc ? rc : phrase_align(p);
}

/* The phrase's part of the current document's score. */
static double phrase_part(const phrase_iter *p, double len)
{
    return quantized(dks_bm25_term(&p->ctx->bm25, p->idf, p->freq, len));
}

static int phrase_score(iter *it, double *score)
{
    phrase_iter *p = (phrase_iter *)it;
    double len;
    int rc = doc_length(p->ctx, it->doc, &len);
    if (rc)
        return rc;
    *score = phrase_part(p, len);
    return DKS_OK;
}

static void phrase_free(iter *it)
{
    phrase_iter *p = (phrase_iter *)it;
    for (size_t i = 0; i < p->n; i++) {
        if (p->terms && p->terms[i])
            term_free(&p->terms[i]->base);
        if (p->pos)
            free(p->pos[i]);
    }
    free(p->terms);
    free(p->pos);
    free(p->pos_cap);
    free(p->pos_n);
    free(p);
}

static int phrase_explain(iter *it, explanation *e)
{
    phrase_iter *p = (phrase_iter *)it;
    double len;
    int rc = doc_length(p->ctx, it->doc, &len);
    if (rc)
        return rc;
    dks_buf words = {0};
    for (size_t i = 0; i < p->n && !rc; i++) {
        if (i)
            rc = dks_buf_putc(&words, ' ');
        if (!rc)
            rc = dks_buf_append(&words, p->terms[i]->prefix, p->terms[i]->prefix_len - 1);
    }
    const dks_bm25 *m = &p->ctx->bm25;
    dks_score_part part = {
        .kind = "phrase",
        .weight = 1.0,
        .tf = p->freq,
        .df = it->cost,
        .idf = p->idf,
        .length = len,
        .avg_length = m->avg_len,
        .norm = 1.0 - DKS_BM25_B + DKS_BM25_B * (m->avg_len > 0 ? len / m->avg_len : 1.0),
        .score = phrase_part(p, len),
    };
    if (!rc)
        rc = explain_add(e, &part, (const char *)words.data, words.len);
    dks_buf_free(&words);
    return rc;
}

static void phrase_set_min(iter *it, double min)
{
    ((phrase_iter *)it)->min = min;
}

static const iter_ops phrase_ops = {phrase_next,    phrase_skip_to, phrase_score,
                                    phrase_set_min, phrase_free,    phrase_explain};

static int phrase_new(match_ctx *ctx, const dks_qnode *q, iter **out)
{
    *out = NULL;
    phrase_iter *p = calloc(1, sizeof *p);
    if (!p)
        return DKS_ENOMEM;
    p->base.ops = &phrase_ops;
    p->ctx = ctx;
    p->n = q->n_terms;
    p->offsets = q->offsets;
    p->slop = q->slop;
    p->terms = calloc(p->n, sizeof *p->terms);
    p->pos = calloc(p->n, sizeof *p->pos);
    p->pos_cap = calloc(p->n, sizeof *p->pos_cap);
    p->pos_n = calloc(p->n, sizeof *p->pos_n);
    if (!p->terms || !p->pos || !p->pos_cap || !p->pos_n) {
        phrase_free(&p->base);
        return DKS_ENOMEM;
    }
    int rc = DKS_OK, missing = 0;
    for (size_t i = 0; i < p->n && !rc && !missing; i++) {
        iter *t;
        double idf;
        rc = term_new(ctx, q->terms[i], q->term_lens[i], 1.0, &t, &idf);
        if (rc)
            break;
        if (t->ops != &term_ops) {
            missing = 1;  /* a term not in the index: the phrase matches nothing */
            t->ops->free(t);
            break;
        }
        p->terms[i] = (term_iter *)t;
        p->idf += idf;
        if (i == 0 || t->cost < p->base.cost) {
            p->base.cost = t->cost;
            p->lead = i;
        }
    }
    if (rc || missing) {
        phrase_free(&p->base);
        return rc ? rc : empty_new(out);
    }
    p->base.max_score = p->idf * (DKS_BM25_K1 + 1.0);
    if (p->n == 2) {
        uint64_t a = p->terms[0]->base.cost, b = p->terms[1]->base.cost;
        p->merge = a <= b * PHRASE_MERGE_RATIO && b <= a * PHRASE_MERGE_RATIO;
    }
    if ((rc = phrase_align(p))) {
        phrase_free(&p->base);
        return rc;
    }
    *out = &p->base;
    return DKS_OK;
}

/* ---- building the tree --------------------------------------------------- */

/* Adds the iterators of a query word's alternatives (other spellings,
 * lemmas, compound parts) that occur in the index to subs. */
static int word_new(match_ctx *ctx, const dks_qnode *q, iter ***subs, size_t *n, size_t *cap)
{
    for (size_t i = 0; i < q->n_alts; i++) {
        iter *it;
        double idf;
        int rc = term_new(ctx, q->alts[i].key, q->alts[i].key_len, q->alts[i].weight, &it, &idf);
        if (rc)
            return rc;
        if (it->ops == &empty_ops) {
            it->ops->free(it);
            continue;
        }
        if ((rc = dks_grow(subs, *n, cap, sizeof **subs, 8))) {
            it->ops->free(it);
            return rc;
        }
        (*subs)[(*n)++] = it;
    }
    return DKS_OK;
}

/* A query word is an OR of its alternatives that occur in the index. */
static int word_or(match_ctx *ctx, const dks_qnode *q, iter **out)
{
    iter **subs = NULL;
    size_t n = 0, cap = 0;
    int rc = word_new(ctx, q, &subs, &n, &cap);
    if (rc) {
        free_iters(subs, n);
        return rc;
    }
    return or_of(subs, n, out);
}

static int add_string(char ***list, size_t *n, const char *s, size_t len);

/* A note for the reader of the results, formatted. */
__attribute__((format(printf, 2, 3)))
static int add_note(dks_match_result *r, const char *fmt, ...)
{
    dks_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    int rc = dks_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (!rc)
        rc = add_string(&r->notes, &r->n_notes, (const char *)b.data, b.len);
    dks_buf_free(&b);
    return rc;
}

static int add_string(char ***list, size_t *n, const char *s, size_t len)
{
    char **grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown)
        return DKS_ENOMEM;
    *list = grown;
    char *copy = malloc(len + 1);
    if (!copy)
        return DKS_ENOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';
    grown[(*n)++] = copy;
    return DKS_OK;
}

/* Appends an iterator over the dictionary key a cursor stands on; the key
 * is copied first, since the cursor's pointers do not outlive its next
 * move. */
static int append_term(match_ctx *ctx, const void *k, size_t kl, double weight, iter ***subs,
                       size_t *n, size_t *cap)
{
    char key[DKS_MAX_KEY_TERM_BYTES + 2];
    if (kl > sizeof key)
        return DKS_ECORRUPT;
    memcpy(key, k, kl);
    double idf;
    int rc = dks_grow(subs, *n, cap, sizeof **subs, 16);
    if (!rc && !(rc = term_new(ctx, key, kl, weight, &(*subs)[*n], &idf)))
        (*n)++;
    return rc;
}

/* telemed*: an OR of the words (term keys without a kind byte) that begin
 * with the prefix, read in order from the term dictionary, at most
 * DKS_MAX_PREFIX_TERMS of them. */
static int prefix_new(match_ctx *ctx, const dks_qnode *q, iter **out)
{
    dks_cursor *c;
    const void *k, *v;
    size_t kl, vl, n = 0, cap = 0;
    iter **subs = NULL;
    size_t limit = ctx->expansions_left < DKS_MAX_PREFIX_TERMS ? ctx->expansions_left
                                                               : DKS_MAX_PREFIX_TERMS;
    int rc = dks_cursor_open(ctx->txn, DKS_DB_TERMS, &c);
    if (rc)
        return rc;
    /* the words, then the written forms whose word is a lemma's
     * (kind byte 0x06: sundhedsvæsn* finds sundhedsvæsnet) */
    for (int range = 0; range < 2 && (rc == 0 || rc == 1); range++) {
        unsigned char start[DKS_MAX_TERM_BYTES + 2];
        size_t sl = 0;
        if (range)
            start[sl++] = 0x06;
        memcpy(start + sl, q->term, q->term_len);
        sl += q->term_len;
        rc = dks_cursor_seek(c, start, sl, &k, &kl, &v, &vl);
        while (rc == 0 && kl >= sl && memcmp(k, start, sl) == 0) {
            if (n == limit) {
                rc = limit == DKS_MAX_PREFIX_TERMS
                         ? add_note(ctx->result, "%.*s* matches more than %d words; only the "
                                    "first %d are searched", (int)q->term_len, q->term,
                                    DKS_MAX_PREFIX_TERMS, DKS_MAX_PREFIX_TERMS)
                         : add_note(ctx->result, "%.*s* is searched for its first %zu words "
                                    "only: the query's prefixes together search at most %d",
                                    (int)q->term_len, q->term, limit,
                                    DKS_MAX_QUERY_EXPANSIONS);
                range = 2;
                break;
            }
            if ((rc = append_term(ctx, k, kl, 1.0, &subs, &n, &cap)))
                break;
            rc = dks_cursor_next(c, &k, &kl, &v, &vl);
        }
    }
    dks_cursor_close(c);
    ctx->expansions_left -= n;
    /* the prefix's own stem, when the range did not already hold it */
    for (size_t i = 0; (rc == 0 || rc == 1) && i < q->n_alts; i++) {
        if (q->alts[i].key_len >= q->term_len &&
            memcmp(q->alts[i].key, q->term, q->term_len) == 0)
            continue;
        iter *it;
        double idf;
        rc = term_new(ctx, q->alts[i].key, q->alts[i].key_len, 1.0, &it, &idf);
        if (rc)
            break;
        if (it->ops == &empty_ops || (rc = dks_grow(&subs, n, &cap, sizeof *subs, 16))) {
            it->ops->free(it);
            continue;
        }
        subs[n++] = it;
    }
    if (rc != 0 && rc != 1) {
        free_iters(subs, n);
        return rc;
    }
    return or_of(subs, n, out);
}

static int build(match_ctx *ctx, const dks_qnode *q, iter **out);

/* A range filter (date>=2020-01-01): an OR, scoring nothing, of the
 * documents of every value of the field between the bounds. */
static int range_new(match_ctx *ctx, const dks_qnode *q, iter **out)
{
    /* alts[0]: the field's key prefix with the low bound; alts[1]: with
     * the high bound; q->term: the prefix alone (0x08 name 0x00) */
    dks_cursor *c;
    const void *k, *v;
    size_t kl, vl, n = 0, cap = 0;
    iter **subs = NULL;
    int rc = dks_cursor_open(ctx->txn, DKS_DB_TERMS, &c);
    if (rc)
        return rc;
    const dks_qalt *lo = &q->alts[0], *hi = &q->alts[1];
    rc = dks_cursor_seek(c, lo->key, lo->key_len, &k, &kl, &v, &vl);
    while (rc == 0 && kl >= q->term_len && memcmp(k, q->term, q->term_len) == 0) {
        if (hi->key_len > q->term_len) {
            size_t m = kl < hi->key_len ? kl : hi->key_len;
            int cmp = memcmp(k, hi->key, m);
            if (cmp > 0 || (cmp == 0 && kl > hi->key_len))
                break;
        }
        int exclusive_lo = lo->weight < 0 && kl == lo->key_len && memcmp(k, lo->key, kl) == 0;
        int exclusive_hi = hi->weight < 0 && kl == hi->key_len && memcmp(k, hi->key, kl) == 0;
        if (!exclusive_lo && !exclusive_hi) {
            if (n == DKS_MAX_RANGE_VALUES) {
                rc = add_note(ctx->result, "the filter on %.*s matches more than %d values; "
                              "only the first %d are used", (int)q->term_len - 2, q->term + 1,
                              DKS_MAX_RANGE_VALUES, DKS_MAX_RANGE_VALUES);
                break;
            }
            if ((rc = append_term(ctx, k, kl, 0.0, &subs, &n, &cap)))
                break;
        }
        rc = dks_cursor_next(c, &k, &kl, &v, &vl);
    }
    dks_cursor_close(c);
    if (rc != 0 && rc != 1) {
        free_iters(subs, n);
        return rc;
    }
    return or_of(subs, n, out);
}

static int build_children(match_ctx *ctx, const dks_qnode *q, int negated, iter ***out,
                          size_t *n)
{
    *out = NULL;
    *n = 0;
    iter **its = calloc(q->n_children ? q->n_children : 1, sizeof *its);
    if (!its)
        return DKS_ENOMEM;
    for (size_t i = 0; i < q->n_children; i++) {
        const dks_qnode *c = q->children[i];
        if ((c->type == DKS_Q_NOT) != negated)
            continue;
        int rc = build(ctx, negated ? c->children[0] : c, &its[*n]);
        if (rc) {
            free_iters(its, *n);
            *n = 0;
            return rc;
        }
        (*n)++;
    }
    *out = its;
    return DKS_OK;
}

/* Words found near a typo, before the closest are chosen. */
typedef struct near_words {
    char *terms[4 * DKS_MAX_FUZZY_TERMS];
    size_t lens[4 * DKS_MAX_FUZZY_TERMS];
    unsigned edits[4 * DKS_MAX_FUZZY_TERMS];
    size_t n;
} near_words;

static int keep_near(void *ctx, const char *term, size_t len, unsigned edits)
{
    near_words *nw = ctx;
    if (edits == 0)
        return DKS_OK;  /* the word itself is searched as a word */
    size_t slot = nw->n;
    if (nw->n == sizeof nw->terms / sizeof nw->terms[0]) {
        /* full: replace a farther word, if there is one */
        for (slot = 0; slot < nw->n && nw->edits[slot] <= edits; slot++)
            ;
        if (slot == nw->n)
            return DKS_OK;
        free(nw->terms[slot]);
    } else {
        nw->n++;
    }
    char *copy = malloc(len);
    if (!copy) {
        nw->terms[slot] = NULL;
        nw->lens[slot] = 0;
        return DKS_ENOMEM;
    }
    memcpy(copy, term, len);
    nw->terms[slot] = copy;
    nw->lens[slot] = len;
    nw->edits[slot] = edits;
    return DKS_OK;
}

static int add_highlight(dks_match_result *r, const char *term, size_t len);

/* telemedecin~: the word with its alternatives, or any word within the
 * allowed edits; a word an edit away counts 0.8, two edits 0.6, so the
 * word as typed, when it exists, ranks first. */
static int fuzzy_new(match_ctx *ctx, const dks_qnode *q, iter **out)
{
    near_words nw = {.n = 0};
    int rc =
        dks_fuzzy_terms(ctx->txn, q->term, q->term_len, q->max_edits, 0, keep_near, &nw);
    iter **subs = NULL;
    size_t n = 0, cap = 0, found = 0;
    if (!rc)
        rc = word_new(ctx, q, &subs, &n, &cap);
    /* the closest DKS_MAX_FUZZY_TERMS, fewest edits first */
    for (unsigned edits = 1; !rc && edits <= q->max_edits; edits++) {
        for (size_t i = 0; !rc && i < nw.n && found < DKS_MAX_FUZZY_TERMS; i++) {
            if (nw.edits[i] != edits || !nw.terms[i])
                continue;
            iter *it;
            double idf;
            rc = term_new(ctx, nw.terms[i], nw.lens[i], 1.0 - 0.2 * edits, &it, &idf);
            if (rc)
                break;
            if (it->ops == &empty_ops) {
                it->ops->free(it);
                continue;
            }
            if ((rc = dks_grow(&subs, n, &cap, sizeof *subs, 8))) {
                it->ops->free(it);
                break;
            }
            subs[n++] = it;
            found++;
            rc = add_highlight(ctx->result, nw.terms[i], nw.lens[i]);
        }
    }
    for (size_t i = 0; i < nw.n; i++)
        free(nw.terms[i]);
    if (rc) {
        free_iters(subs, n);
        return rc;
    }
    return or_of(subs, n, out);
}

static int build(match_ctx *ctx, const dks_qnode *q, iter **out)
{
    iter **subs, **excluded;
    size_t n, n_excluded;
    double idf;
    int rc;
    switch (q->type) {
    case DKS_Q_TERM:
        if (q->n_alts <= 1)
            return term_new(ctx, q->n_alts ? q->alts[0].key : q->term,
                            q->n_alts ? q->alts[0].key_len : q->term_len, 1.0, out, &idf);
        return word_or(ctx, q, out);
    case DKS_Q_PHRASE:
        return phrase_new(ctx, q, out);
    case DKS_Q_PREFIX:
        return prefix_new(ctx, q, out);
    case DKS_Q_FUZZY:
        return fuzzy_new(ctx, q, out);
    case DKS_Q_FILTER:
        return term_new(ctx, q->alts[0].key, q->alts[0].key_len, 0.0, out, &idf);
    case DKS_Q_RANGE:
        return range_new(ctx, q, out);
    case DKS_Q_OR:
        if ((rc = build_children(ctx, q, 0, &subs, &n)))
            return rc;
        return or_new(subs, n, out);
    case DKS_Q_AND:
        if ((rc = build_children(ctx, q, 0, &subs, &n)))
            return rc;
        if ((rc = build_children(ctx, q, 1, &excluded, &n_excluded))) {
            free_iters(subs, n);
            return rc;
        }
        if (n == 0) {  /* the parser guarantees a positive operand */
            free_iters(subs, n);
            free_iters(excluded, n_excluded);
            return DKS_EINVAL;
        }
        return and_new(subs, n, excluded, n_excluded, out);
    case DKS_Q_NOT:
    default:
        return DKS_EINVAL;
    }
}

/* ---- top-k --------------------------------------------------------------- */

/* Is a a worse hit than b?  Lower score, or equal score and later doc. */
static int worse(const dks_hit_ref *a, const dks_hit_ref *b)
{
    return a->score < b->score || (a->score == b->score && a->doc > b->doc);
}

static void sift_down(dks_hit_ref *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m]))
            m = l;
        if (r < n && worse(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        dks_hit_ref tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

static void sift_up(dks_hit_ref *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!worse(&h[i], &h[parent]))
            return;
        dks_hit_ref tmp = h[i];
        h[i] = h[parent];
        h[parent] = tmp;
        i = parent;
    }
}

static int cmp_hits(const void *x, const void *y)
{
    const dks_hit_ref *a = x, *b = y;
    return worse(a, b) ? 1 : worse(b, a) ? -1 : 0;
}

/* ---- highlight terms ------------------------------------------------------ */

static int add_highlight(dks_match_result *r, const char *term, size_t len)
{
    for (size_t i = 0; i < r->n_terms; i++)
        if (r->term_lens[i] == len && memcmp(r->terms[i], term, len) == 0)
            return DKS_OK;
    char **terms = realloc(r->terms, (r->n_terms + 1) * sizeof *terms);
    if (!terms)
        return DKS_ENOMEM;
    r->terms = terms;
    size_t *lens = realloc(r->term_lens, (r->n_terms + 1) * sizeof *lens);
    if (!lens)
        return DKS_ENOMEM;
    r->term_lens = lens;
    char *copy = malloc(len + 1);
    if (!copy)
        return DKS_ENOMEM;
    memcpy(copy, term, len);
    copy[len] = '\0';
    r->terms[r->n_terms] = copy;
    r->term_lens[r->n_terms++] = len;
    return DKS_OK;
}

static int collect_highlights(dks_match_result *r, const dks_qnode *q)
{
    int rc = DKS_OK;
    switch (q->type) {
    case DKS_Q_TERM:
    case DKS_Q_FUZZY:
        for (size_t i = 0; i < q->n_alts && !rc; i++)
            rc = add_highlight(r, q->alts[i].key, q->alts[i].key_len);
        return q->n_alts ? rc : add_highlight(r, q->term, q->term_len);
    case DKS_Q_PHRASE:
        for (size_t i = 0; i < q->n_terms && !rc; i++)
            rc = add_highlight(r, q->terms[i], q->term_lens[i]);
        return rc;
    case DKS_Q_PREFIX: {
        char key[DKS_MAX_TERM_BYTES + 1];
        key[0] = DKS_KEY_PREFIX;
        memcpy(key + 1, q->term, q->term_len);
        rc = add_highlight(r, key, q->term_len + 1);
        for (size_t i = 0; i < q->n_alts && !rc; i++)
            rc = add_highlight(r, q->alts[i].key, q->alts[i].key_len);
        return rc;
    }
    case DKS_Q_NOT:
    case DKS_Q_FILTER:
    case DKS_Q_RANGE:
        return DKS_OK;
    default:
        for (size_t i = 0; i < q->n_children && !rc; i++)
            rc = collect_highlights(r, q->children[i]);
        return rc;
    }
}

void dks_match_result_free(dks_match_result *r)
{
    free(r->hits);
    for (size_t i = 0; i < r->n_terms; i++)
        free(r->terms[i]);
    for (size_t i = 0; i < r->n_notes; i++)
        free(r->notes[i]);
    free(r->notes);
    free(r->terms);
    free(r->term_lens);
    memset(r, 0, sizeof *r);
}

/* ---- proximity --------------------------------------------------------- */

/* The bonus of two words side by side, as a share of the rarer word's idf;
 * it falls with the distance between them. */
#define PROXIMITY_WEIGHT 0.5

/* The words of a query that count for proximity: the TERM operands of a
 * top-level AND or OR, in query order. */
static size_t proximity_words(const dks_qnode *root, const dks_qnode **out, size_t cap)
{
    if (root->type != DKS_Q_AND && root->type != DKS_Q_OR)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < root->n_children && n < cap; i++)
        if (root->children[i]->type == DKS_Q_TERM && root->children[i]->n_alts)
            out[n++] = root->children[i];
    return n;
}

/* The smallest distance between a position of one list and of the other. */
static uint32_t min_gap(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
    uint32_t best = UINT32_MAX, i = 0, j = 0;
    while (i < na && j < nb) {
        uint32_t d = a[i] > b[j] ? a[i] - b[j] : b[j] - a[i];
        if (d < best)
            best = d;
        if (a[i] < b[j])
            i++;
        else
            j++;
    }
    return best;
}

typedef struct proximity {
    size_t n;
    term_iter *it[DKS_MAX_QUERY_TERMS];   /* NULL: the word is not in the index */
    uint32_t *pos[DKS_MAX_QUERY_TERMS];
    size_t cap[DKS_MAX_QUERY_TERMS];
    uint32_t npos[DKS_MAX_QUERY_TERMS];
} proximity;

static void proximity_free(proximity *px)
{
    for (size_t i = 0; i < px->n; i++) {
        if (px->it[i])
            term_free(&px->it[i]->base);
        free(px->pos[i]);
    }
}

static int proximity_open(match_ctx *ctx, const dks_qnode *root, proximity *px)
{
    const dks_qnode *words[DKS_MAX_QUERY_TERMS];
    memset(px, 0, sizeof *px);
    px->n = proximity_words(root, words, DKS_MAX_QUERY_TERMS);
    for (size_t i = 0; i < px->n; i++) {
        iter *it;
        double idf;
        int rc = term_new(ctx, words[i]->alts[0].key, words[i]->alts[0].key_len, 1.0, &it, &idf);
        if (rc)
            return rc;
        if (it->ops == &term_ops)
            px->it[i] = (term_iter *)it;
        else
            it->ops->free(it);
    }
    return DKS_OK;
}

/* The bonus of document doc (documents must come in increasing order). */
static int proximity_bonus(proximity *px, uint32_t doc, double *bonus)
{
    *bonus = 0;
    for (size_t i = 0; i < px->n; i++) {
        px->npos[i] = 0;
        if (!px->it[i])
            continue;
        int rc = term_skip_to(&px->it[i]->base, doc);
        if (!rc && px->it[i]->base.doc == doc)
            rc = term_positions(px->it[i], &px->pos[i], &px->cap[i], &px->npos[i]);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i + 1 < px->n; i++) {
        if (!px->npos[i] || !px->npos[i + 1])
            continue;
        uint32_t gap = min_gap(px->pos[i], px->npos[i], px->pos[i + 1], px->npos[i + 1]);
        if (gap == 0)
            continue;  /* one word twice in the query */
        double idf = px->it[i]->idf < px->it[i + 1]->idf ? px->it[i]->idf : px->it[i + 1]->idf;
        *bonus += PROXIMITY_WEIGHT * idf / gap;
    }
    return DKS_OK;
}

/* The largest bonus any document can get: every pair of neighbouring
 * query words side by side. */
static double proximity_max(const proximity *px)
{
    double max = 0;
    for (size_t i = 0; i + 1 < px->n; i++) {
        if (!px->it[i] || !px->it[i + 1])
            continue;
        double idf = px->it[i]->idf < px->it[i + 1]->idf ? px->it[i]->idf : px->it[i + 1]->idf;
        max += PROXIMITY_WEIGHT * idf;
    }
    return max;
}

void dks_score_parts_free(dks_score_part *parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)parts[i].term);
    free(parts);
}

static int match_ctx_init(dks_txn *t, const dks_length_table *lengths,
                          dks_match_result *result, double title_weight, match_ctx *ctx)
{
    dks_meta meta;
    *ctx = (match_ctx){.txn = t};  /* nothing to release yet, whatever happens */
    int rc = dks_meta_read(t, &meta);
    if (rc)
        return rc == 1 ? DKS_ENOINDEX : rc;
    *ctx = (match_ctx){
        .txn = t,
        .meta = meta,
        .lengths = {.txn = t, .table = lengths},
        .result = result,
        .title_extra = title_weight - 1.0,
        .expansions_left = DKS_MAX_QUERY_EXPANSIONS,
        .len_doc = DKS_DOC_END,
    };
    dks_bm25_init(&ctx->bm25, meta.doc_count, meta.total_len);
    return DKS_OK;
}

int dks_match_explain(dks_txn *t, const dks_length_table *lengths, const dks_qnode *root,
                      const dks_hit_ref *hit, double title_weight, dks_score_part **parts,
                      size_t *n)
{
    uint32_t doc = hit->doc;
    *parts = NULL;
    *n = 0;
    dks_match_result scratch = {0};
    match_ctx ctx;
    iter *it = NULL;
    explanation e = {0};
    int rc = match_ctx_init(t, lengths, &scratch, title_weight, &ctx);
    if (!rc)
        rc = build(&ctx, root, &it);
    if (!rc)
        rc = it->ops->skip_to(it, doc);
    if (!rc && it->doc == doc)
        rc = it->ops->explain(it, &e);
    if (it)
        it->ops->free(it);
    dks_length_reader_close(&ctx.lengths);
    /* the bonus the hit was given, if it was in the rescored pool */
    if (!rc && hit->bonus > 0) {
        dks_score_part part = {.kind = "proximity", .weight = PROXIMITY_WEIGHT,
                               .score = hit->bonus};
        rc = explain_add(&e, &part, "", 0);
    }
    dks_match_result_free(&scratch);
    if (rc) {
        dks_score_parts_free(e.parts, e.n);
        return rc;
    }
    *parts = e.parts;
    *n = e.n;
    return DKS_OK;
}

/* ---- a first threshold --------------------------------------------------- */

/* The lists read for a first threshold: at most this many terms, of at
 * most this many documents each and in all; more would cost what the
 * threshold saves. */
#define PRIME_TERMS 4
#define PRIME_MAX_DF 512
#define PRIME_MAX_POSTINGS 2048
/* A query that visits fewer documents than this is over before a first
 * threshold would pay for itself. */
#define PRIME_MIN_COST 16384

/* The keep-th best score the terms alone give a document (0 if fewer
 * documents have any), read from lists of their own merged by document
 * into a heap like the hits'. */
static int kth_score(match_ctx *ctx, const term_iter *const *terms, size_t n, size_t keep,
                     double *kth)
{
    *kth = 0;
    iter *its[PRIME_TERMS] = {0};
    dks_hit_ref *best = calloc(keep, sizeof *best);
    int rc = best ? DKS_OK : DKS_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        double idf;
        const term_iter *t = terms[i];
        rc = term_new(ctx, (const char *)t->prefix, t->prefix_len - 1, 1.0, &its[i], &idf);
        if (!rc)
            ((term_iter *)its[i])->weight = t->weight;  /* a title key's was set already */
    }
    size_t have = 0;
    while (!rc) {
        uint32_t doc = DKS_DOC_END;
        for (size_t i = 0; i < n; i++)
            if (its[i]->doc < doc)
                doc = its[i]->doc;
        if (doc == DKS_DOC_END)
            break;
        /* a lower bound of the document's score: the parts these terms give */
        dks_hit_ref h = {.doc = doc};
        for (size_t i = 0; i < n && !rc; i++) {
            double part = 0;
            if (its[i]->doc != doc)
                continue;
            if (!(rc = its[i]->ops->score(its[i], &part)))
                rc = its[i]->ops->next(its[i]);
            h.score += part;
        }
        if (rc)
            break;
        if (have < keep) {
            best[have] = h;
            sift_up(best, have++);
        } else if (worse(&best[0], &h)) {
            best[0] = h;
            sift_down(best, have, 0);
        }
    }
    if (!rc && have == keep)
        *kth = best[0].score;
    free(best);
    for (size_t i = 0; i < n; i++)
        if (its[i])
            its[i]->ops->free(its[i]);
    return rc;
}

/* A lower bound of the keep-th best score, for an OR at the root: every
 * document of its terms is a hit, scored at least what those terms give
 * it, so the keep-th best that a few short terms give together bounds the
 * keep-th best hit.  Pruning can start from there instead of from the
 * first keep documents in id order, which for a word whose rare
 * alternatives (a title word, a compound's head) decide the ranking are
 * far from the best. */
static int first_threshold(match_ctx *ctx, iter *root, size_t keep, double *theta)
{
    *theta = 0;
    if (root->ops != &or_ops || root->cost < PRIME_MIN_COST)
        return DKS_OK;
    const or_iter *o = (const or_iter *)root;
    /* the short terms with the most to give, as many as the budget allows */
    const term_iter *chosen[PRIME_TERMS];
    size_t n_chosen = 0;
    uint64_t postings = 0;
    while (n_chosen < PRIME_TERMS) {
        const term_iter *best = NULL;
        for (size_t i = 0; i < o->n; i++) {
            const iter *sub = o->subs[i];
            int taken = 0;
            for (size_t k = 0; k < n_chosen; k++)
                taken |= &chosen[k]->base == sub;
            if (sub->ops == &term_ops && !taken && sub->cost <= PRIME_MAX_DF &&
                postings + sub->cost <= PRIME_MAX_POSTINGS &&
                (!best || sub->max_score > best->base.max_score))
                best = (const term_iter *)sub;
        }
        if (!best)
            break;
        postings += best->base.cost;
        chosen[n_chosen++] = best;
    }
    return postings >= keep ? kth_score(ctx, chosen, n_chosen, keep, theta) : DKS_OK;
}

int dks_match_run(dks_txn *t, const dks_length_table *lengths, const dks_qnode *root,
                  size_t keep, double title_weight, uint64_t exact_total,
                  dks_match_result *out)
{
    memset(out, 0, sizeof *out);
    match_ctx ctx;
    proximity px = {0};
    iter *it = NULL;
    int rc = match_ctx_init(t, lengths, out, title_weight, &ctx);
    if (rc)
        return rc;
    if ((rc = collect_highlights(out, root)) || (rc = build(&ctx, root, &it)) ||
        (rc = proximity_open(&ctx, root, &px)))
        goto fail;
    /* With several words, a hit's score is its BM25 plus a bonus for how
     * close the words stand.  The bonus needs positions, so it is worked
     * out only for a document whose BM25 plus the largest bonus could
     * still enter the heap; the heap then holds the best by the whole
     * score, the same whichever page is asked for. */
    double bonus_max = proximity_max(&px);
    size_t n = 0, cap = 0;
    double min = 0;  /* what a document's BM25 must beat to enter the full heap */
    out->total_exact = 1;
    /* Pruning from the first document on, when the count need not be
     * exact beyond a page: ties with the bound are still looked at (the
     * earlier document wins them), and a document's proximity bonus may
     * lift it over the bound. */
    double theta = 0;
    if (keep && exact_total <= keep && it->doc != DKS_DOC_END &&
        (rc = first_threshold(&ctx, it, keep, &theta)))
        goto fail;
    if ((rc = bulk_of(&ctx, &it)) || (rc = and_bulk_of(&ctx, &it)))
        goto fail;
    if (theta * (1.0 - DKS_PRUNE_SLACK) - bonus_max > 0) {
        min = theta * (1.0 - DKS_PRUNE_SLACK) - bonus_max;
        it->ops->set_min(it, min);
        /* the document it stands on is looked at again with the bound */
        if (it->ops == &bulk_ops && (rc = bulk_recheck((bulk_iter *)it)))
            goto fail;
        if (it->ops == &or_ops && (rc = or_find((or_iter *)it)))
            goto fail;
        out->total_exact = 0;
    }
    while (it->doc != DKS_DOC_END) {
        dks_hit_ref h = {.doc = it->doc};
        if ((rc = it->ops->score(it, &h.score)))
            break;
        /* Once pruning starts, the documents that still come are only
         * those that might enter the heap: the count stops there. */
        out->total += out->total_exact;
        int full = n == keep;
        if (!keep || (full && h.score + bonus_max <= out->hits[0].score)) {
            /* a later document that ties loses: it cannot enter */
        } else {
            if (bonus_max > 0 && (rc = proximity_bonus(&px, h.doc, &h.bonus)))
                break;
            h.score += h.bonus;
            if (!full) {
                /* grows as hits come, so that keeping every hit costs only
                 * what the query matches */
                if ((rc = dks_grow(&out->hits, n, &cap, sizeof *out->hits, 64)))
                    break;
                out->hits[n] = h;
                sift_up(out->hits, n++);
            } else if (worse(&out->hits[0], &h)) {
                out->hits[0] = h;
                sift_down(out->hits, n, 0);
            }
        }
        if (n == keep && keep && (!out->total_exact || out->total >= exact_total) &&
            out->hits[0].score - bonus_max > min) {
            min = out->hits[0].score - bonus_max;
            it->ops->set_min(it, min);
            out->total_exact = 0;
        }
        if ((rc = it->ops->next(it)))
            break;
    }
    if (rc)
        goto fail;
    if (it->ops == &and_bulk_ops) {
        /* the windows pass over no document of the AND: the count is whole */
        out->total = ((and_bulk *)it)->matched;
        out->total_exact = 1;
    }
    it->ops->free(it);
    proximity_free(&px);
    dks_length_reader_close(&ctx.lengths);
    if (n)
        qsort(out->hits, n, sizeof *out->hits, cmp_hits);
    out->n_hits = n;
    if (out->total < n)
        out->total = n;  /* pruning from the start counted none */
    return DKS_OK;
fail:
    if (it)
        it->ops->free(it);
    proximity_free(&px);
    dks_length_reader_close(&ctx.lengths);
    dks_match_result_free(out);
    return rc;
}

/* ---- where the matched terms stand in a page of hits ------------------- */

static int cmp_doc_matches(const void *a, const void *b)
{
    uint32_t x = (*(dks_doc_matches *const *)a)->doc, y = (*(dks_doc_matches *const *)b)->doc;
    return (x > y) - (x < y);
}

static int add_match(dks_doc_matches *d, uint32_t position, uint32_t term)
{
    int rc = dks_grow(&d->matches, d->n, &d->cap, sizeof *d->matches, 16);
    if (!rc)
        d->matches[d->n++] = (dks_position_match){position, term};
    return rc;
}

/* Whether a matched key stands somewhere in a document's text: a
 * prefix's words are not listed (see dks_snippet_make), title words and
 * fields stand outside it.  The others are placed from their positions,
 * or, for the kinds that record none, by analysing the text (unplaced). */
static int key_in_text(const char *key, size_t len)
{
    unsigned char kind = len ? (unsigned char)key[0] : 0;
    return len && kind != DKS_KEY_PREFIX && kind != DKS_KEY_TITLE && kind != DKS_KEY_FIELD;
}

int dks_match_positions(dks_txn *t, char *const *keys, const size_t *lens, size_t n_keys,
                        dks_doc_matches *docs, size_t n_docs)
{
    if (n_docs == 0)
        return DKS_OK;
    /* One pass over each term's postings: the documents in id order. */
    dks_doc_matches **order = malloc(n_docs * sizeof *order);
    if (!order)
        return DKS_ENOMEM;
    for (size_t i = 0; i < n_docs; i++)
        order[i] = &docs[i];
    qsort(order, n_docs, sizeof *order, cmp_doc_matches);
    dks_match_result scratch = {0};
    match_ctx ctx;
    uint32_t *buf = NULL, n_pos;
    size_t cap = 0;
    /* (positions score nothing: no lengths are read) */
    int rc = match_ctx_init(t, NULL, &scratch, 2.0, &ctx);
    for (size_t k = 0; !rc && k < n_keys; k++) {
        iter *it;
        double idf;
        if (!key_in_text(keys[k], lens[k]))
            continue;
        if ((rc = term_new(&ctx, keys[k], lens[k], 1.0, &it, &idf)))
            break;
        for (size_t i = 0; !rc && it->ops != &empty_ops && i < n_docs; i++) {
            rc = it->ops->skip_to(it, order[i]->doc);
            if (rc || it->doc != order[i]->doc)
                continue;
            rc = term_positions((term_iter *)it, &buf, &cap, &n_pos);
            for (uint32_t p = 0; !rc && p < n_pos; p++)
                rc = add_match(order[i], buf[p], (uint32_t)k);
            if (!rc && n_pos == 0)
                order[i]->unplaced = 1;
        }
        it->ops->free(it);
    }
    free(buf);
    free(order);
    dks_length_reader_close(&ctx.lengths);
    dks_match_result_free(&scratch);
    return rc;
}
