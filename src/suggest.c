/*
 * suggest.c - "Mente du ...?": when a query finds nothing, proposes the
 * query with each unknown word replaced by the closest word the index
 * holds (fewest edits, then the most documents, never a stop word),
 * written as it stands in a document.  Only words with the same first
 * letter are considered: typos there are rare, and the walk then covers a
 * small part of the dictionary, so a query that finds nothing stays fast.
 */
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

/* Suggestions consider words up to two edits away, one for a word of at
 * most four letters (where two edits reach almost any short word). */
#define SUGGEST_MAX_EDITS 2
#define SHORT_WORD_LETTERS 4
/* The best few candidates are kept: the very best may be a stop word,
 * which is no suggestion, since ranked matching leaves stop words out. */
#define SUGGEST_CANDIDATES 8

typedef struct candidate {
    char term[DKS_MAX_KEY_TERM_BYTES + 1];
    size_t len;
    unsigned edits;
    uint64_t df;
} candidate;

typedef struct closest {
    dks_txn *txn;
    candidate best[SUGGEST_CANDIDATES];  /* fewest edits first, then most documents */
    size_t n;
} closest;

static int better(unsigned edits, uint64_t df, const candidate *than)
{
    return edits < than->edits || (edits == than->edits && df > than->df);
}

static int consider(void *ctx, const char *term, size_t len, unsigned edits)
{
    closest *c = ctx;
    dks_term_stats st;
    if (edits == 0 || len > DKS_MAX_KEY_TERM_BYTES ||
        dks_term_stats_get(c->txn, term, len, &st) != 0)
        return DKS_OK;
    size_t at = c->n;
    while (at > 0 && better(edits, st.df, &c->best[at - 1]))
        at--;
    if (at == SUGGEST_CANDIDATES)
        return DKS_OK;
    size_t keep = c->n < SUGGEST_CANDIDATES ? c->n : SUGGEST_CANDIDATES - 1;
    memmove(&c->best[at + 1], &c->best[at], (keep - at) * sizeof c->best[0]);
    candidate *slot = &c->best[at];
    memcpy(slot->term, term, len);
    slot->len = len;
    slot->edits = edits;
    slot->df = st.df;
    if (c->n < SUGGEST_CANDIDATES)
        c->n++;
    return DKS_OK;
}

typedef struct find_surface {
    const char *term;
    size_t len;
    char *out;
    size_t cap, out_len;
} find_surface;

static int match_surface(const dks_term *t, void *ctx)
{
    find_surface *f = ctx;
    if (t->kind != DKS_TERM_WORD || t->term_len != f->len || memcmp(t->term, f->term, f->len))
        return 0;
    size_t n;
    if (dks_normalize((const unsigned char *)t->surface, t->surface_len, f->out, f->cap, &n))
        return 0;
    f->out_len = n;
    return 1;  /* found: stop */
}

/* A written form of a word term: the first document that holds it is
 * analysed again until the word turns up. */
static int surface_of(dks_txn *t, dks_analyzer *an, dks_text_reader *tr, const char *term,
                      size_t len, char *out, size_t cap, size_t *out_len)
{
    const void *text;
    size_t tl;
    *out_len = 0;
    dks_meta meta;
    dks_plist list;
    int rc = dks_meta_read(t, &meta);
    if (rc)
        return rc == 1 ? DKS_OK : rc;
    rc = dks_plist_open(&list, t, &meta, term, len, NULL);
    uint32_t first = rc == 0 ? list.h.first_doc : 0;
    dks_plist_close(&list);
    if (rc)
        return rc == 1 ? DKS_OK : rc;
    dks_doc_record r;
    if ((rc = dks_doc_get(t, first, &r)) || (rc = dks_text_get(tr, t, first, &text, &tl)))
        return rc;
    find_surface f = {term, len, out, cap, 0};
    rc = dks_analyze(an, r.title, r.title_len, 0, match_surface, &f);
    if (rc == 0)
        rc = dks_analyze(an, text, tl, 0, match_surface, &f);
    *out_len = f.out_len;
    return rc == 1 || rc == 0 ? DKS_OK : rc;
}

/* The words of a plain query (one word, or words joined by AND). */
static size_t plain_words(const dks_qnode *root, const dks_qnode **words, size_t cap)
{
    if (root->type == DKS_Q_TERM) {
        words[0] = root;
        return 1;
    }
    if (root->type != DKS_Q_AND)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < root->n_children; i++) {
        if (root->children[i]->type != DKS_Q_TERM || n == cap)
            return 0;
        words[n++] = root->children[i];
    }
    return n;
}

int dks_suggest(dks_txn *t, dks_analyzer *an, dks_text_reader *tr, const dks_qnode *root,
                const char *query, size_t query_len, char **out)
{
    *out = NULL;
    const dks_qnode *words[DKS_MAX_QUERY_TERMS];
    size_t n = root ? plain_words(root, words, DKS_MAX_QUERY_TERMS) : 0;
    if (n == 0)
        return DKS_OK;
    dks_buf b = {0};
    size_t copied = 0, changed = 0;
    int rc = DKS_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        const dks_qnode *w = words[i];
        dks_term_stats st;
        if (w->source_offset < 0 || !w->source_len || !w->n_alts ||
            dks_term_stats_get(t, w->alts[0].key, w->alts[0].key_len, &st) == 0)
            continue;  /* the word is in the index */
        closest *c = calloc(1, sizeof *c);
        if (!c) {
            rc = DKS_ENOMEM;
            break;
        }
        c->txn = t;
        unsigned max_edits =
            dks_utf8_chars(query + w->source_offset, w->source_len) <= SHORT_WORD_LETTERS
                ? 1 : SUGGEST_MAX_EDITS;
        rc = dks_fuzzy_terms(t, w->term, w->term_len, max_edits, 1, consider, c);
        char surface[DKS_MAX_TERM_BYTES];
        size_t sl = 0;
        for (size_t k = 0; !rc && k < c->n; k++) {
            rc = surface_of(t, an, tr, c->best[k].term, c->best[k].len, surface,
                            sizeof surface, &sl);
            if (sl && !dks_is_stopword(surface, sl))
                break;
            sl = 0;
        }
        free(c);
        if (rc || sl == 0)
            continue;
        size_t at = (size_t)w->source_offset;
        if ((rc = dks_buf_append(&b, query + copied, at - copied)) ||
            (rc = dks_buf_append(&b, surface, sl)))
            break;
        copied = at + w->source_len;
        changed++;
    }
    if (!rc && changed)
        rc = dks_buf_append(&b, query + copied, query_len - copied);
    if (rc || !changed) {
        dks_buf_free(&b);
        return rc;
    }
    *out = (char *)b.data;
    return DKS_OK;
}
