/*
 * fuzz_analyze.c - the tokeniser and the whole Danish analysis chain on
 * arbitrary bytes (the input is the text).
 *
 * Beyond not crashing, it checks what callers rely on: tokens lie in the
 * text, in order, without overlap; every term has a surface in the text
 * and a position that never goes back; analysing a text again gives the
 * same terms, whether its words come from the word cache or not (deleting
 * a document re-analyses it); the dictionary ids dks_analyze_ids hands out
 * name the keys of those terms; snippets of the text are valid UTF-8 with
 * highlights inside them.
 */
#include "fuzz.h"

/* Words in each snippet: small, so that windows move over short inputs. */
#define SNIPPET_WORDS 6
/* Query keys the snippets look for, taken from the text's own terms. */
#define SNIPPET_KEYS 4

/* One term dictionary serves every input (a new one costs megabytes of
 * zeroed memory), started again when it holds this much. */
#define DICT_BYTES_MAX ((size_t)64 << 20)

static dks_analyzer *an;
static dks_termdict *dict;

typedef struct term_rec {
    dks_term_kind kind;
    size_t offset, surface_len, term_at, term_len;
    uint32_t position;
    int is_stopword;
} term_rec;

typedef struct term_list {
    const char *text;
    size_t len;
    term_rec *recs;
    size_t n, cap;
    dks_buf bytes;          /* the terms, one after another */
    uint32_t last_word_position;
    dks_termdict *dict;     /* dks_analyze_ids: where the ids point */
} term_list;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup(dks_analyzer_new(&an), "dks_analyzer_new");
    fuzz_setup(dks_termdict_new(&dict), "dks_termdict_new");
    return 0;
}

static int record(const dks_term *t, void *ctx)
{
    term_list *l = ctx;
    FUZZ_CHECK(t->term_len > 0 && t->term_len <= DKS_MAX_TERM_BYTES);
    FUZZ_CHECK((unsigned)t->kind <= DKS_TERM_FORM);
    FUZZ_CHECK(t->offset <= l->len && t->surface_len <= l->len - t->offset);
    FUZZ_CHECK(t->surface == l->text + t->offset);
    if (t->kind == DKS_TERM_WORD) {
        FUZZ_CHECK(l->n == 0 || t->position >= l->last_word_position);
        l->last_word_position = t->position;
    }
    int rc = dks_grow(&l->recs, l->n, &l->cap, sizeof *l->recs, 64);
    if (!rc)
        rc = dks_buf_append(&l->bytes, t->term, t->term_len);
    if (rc)
        return rc;
    l->recs[l->n++] = (term_rec){t->kind, t->offset, t->surface_len, l->bytes.len - t->term_len,
                                 t->term_len, t->position, t->is_stopword};
    return DKS_OK;
}

static int record_id(const dks_term *t, uint32_t id, void *ctx)
{
    term_list *l = ctx;
    char key[DKS_MAX_KEY_TERM_BYTES + 1];
    size_t kl = dks_term_key(t->kind, t->term, t->term_len, key);
    if (!kl) {
        FUZZ_CHECK(id == DKS_NO_TERM);
    } else {
        size_t dl;
        const char *dk = dks_termdict_key(l->dict, id, &dl);
        FUZZ_CHECK(dl == kl && memcmp(dk, key, kl) == 0);
    }
    return record(t, ctx);
}

static void list_free(term_list *l)
{
    free(l->recs);
    dks_buf_free(&l->bytes);
}

static int same_terms(const term_list *a, const term_list *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const term_rec *x = &a->recs[i], *y = &b->recs[i];
        if (x->kind != y->kind || x->offset != y->offset || x->surface_len != y->surface_len ||
            x->position != y->position || x->is_stopword != y->is_stopword ||
            x->term_len != y->term_len ||
            memcmp(a->bytes.data + x->term_at, b->bytes.data + y->term_at, x->term_len) != 0)
            return 0;
    }
    return 1;
}

static void check_snippet(const dks_snippet *s)
{
    FUZZ_CHECK(s->text.data && s->text.data[s->text.len] == '\0');
    FUZZ_CHECK(fuzz_valid_utf8((const char *)s->text.data, s->text.len));
    size_t at = 0;
    for (size_t i = 0; i < s->n_ranges; i++) {
        FUZZ_CHECK(s->ranges[i].start >= at && s->ranges[i].start < s->ranges[i].end);
        FUZZ_CHECK(s->ranges[i].end <= s->text.len);
        at = s->ranges[i].end;
    }
}

static void fuzz_tokenizer(const char *text, size_t len)
{
    dks_tokenizer tz;
    dks_token tok;
    size_t end = 0;
    dks_tokenizer_init(&tz, text, len);
    while (dks_tokenizer_next(&tz, &tok)) {
        FUZZ_CHECK(tok.len > 0 && tok.offset >= end && tok.offset + tok.len <= len);
        end = tok.offset + tok.len;
        for (size_t i = 0; tok.ascii && i < tok.len; i++)
            FUZZ_CHECK((unsigned char)text[tok.offset + i] < 0x80);
        /* a token is valid UTF-8, so normalising it can only overflow */
        char norm[DKS_MAX_TERM_BYTES];
        size_t nl;
        int rc = dks_normalize((const unsigned char *)text + tok.offset, tok.len, norm,
                               sizeof norm, &nl);
        FUZZ_CHECK_RC(rc, DKS_ELIMIT);
        FUZZ_CHECK(rc || nl <= sizeof norm);
        const char *term;
        size_t tl;
        rc = dks_analyze_word(an, text + tok.offset, tok.len, &term, &tl);
        FUZZ_CHECK_RC(rc, DKS_ELIMIT);
        FUZZ_CHECK(rc || tl <= DKS_MAX_TERM_BYTES);
    }
}

/* Snippets looking for the first few keys of the text's own words, and a
 * prefix of its first word, found by analysis and from positions. */
static void fuzz_snippets(const char *text, size_t len, const term_list *l)
{
    char keys[SNIPPET_KEYS + 1][DKS_MAX_KEY_TERM_BYTES + 1];
    char *key_ptrs[SNIPPET_KEYS + 1];
    size_t key_lens[SNIPPET_KEYS + 1], n_keys = 0;
    dks_position_match *matches = calloc(l->n + 1, sizeof *matches);
    size_t n_matches = 0;
    FUZZ_CHECK(matches);
    for (size_t i = 0; i < l->n; i++) {
        const term_rec *r = &l->recs[i];
        char key[DKS_MAX_KEY_TERM_BYTES + 1];
        size_t kl = dks_term_key(r->kind, (const char *)l->bytes.data + r->term_at,
                                 r->term_len, key);
        size_t k = 0;
        while (k < n_keys && !(key_lens[k] == kl && memcmp(keys[k], key, kl) == 0))
            k++;
        if (kl && k == n_keys && n_keys < SNIPPET_KEYS) {
            memcpy(keys[k], key, kl);
            key_lens[k] = kl;
            key_ptrs[k] = keys[k];
            n_keys++;
        }
        if (k < n_keys && r->kind == DKS_TERM_WORD)
            matches[n_matches++] = (dks_position_match){r->position, (uint32_t)k};
    }
    if (l->n && l->recs[0].kind == DKS_TERM_WORD) {
        keys[n_keys][0] = DKS_KEY_PREFIX;
        key_lens[n_keys] = 1 + (l->recs[0].term_len < 2 ? l->recs[0].term_len : 2);
        memcpy(keys[n_keys] + 1, l->bytes.data, key_lens[n_keys] - 1);
        key_ptrs[n_keys] = keys[n_keys];
        n_keys++;
    }
    dks_snippet s;
    int rc = dks_snippet_make(an, text, len, key_ptrs, key_lens, n_keys, SNIPPET_WORDS, &s);
    FUZZ_CHECK_RC(rc, DKS_ELIMIT);
    if (!rc)
        check_snippet(&s);
    dks_snippet_free(&s);
    rc = dks_snippet_at_positions(text, len, 0, matches, n_matches, n_keys, SNIPPET_WORDS, &s);
    FUZZ_CHECK_RC(rc, DKS_ELIMIT);
    if (!rc)
        check_snippet(&s);
    dks_snippet_free(&s);
    free(matches);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    fuzz_tokenizer(text, size);

    /* Once from an empty word cache (setting the dictionary empties it),
     * once from the full one, once with the ids the cache kept. */
    if (dks_termdict_bytes(dict) > DICT_BYTES_MAX) {
        dks_termdict_free(dict);
        fuzz_setup(dks_termdict_new(&dict), "dks_termdict_new");
    }
    dks_analyzer_set_termdict(an, dict);
    term_list fresh = {.text = text, .len = size, .dict = dict}, cached = fresh, ids = fresh;
    int rc = dks_analyze(an, text, size, 0, record, &fresh);
    FUZZ_CHECK_RC(rc, DKS_ELIMIT);
    int rc2 = dks_analyze(an, text, size, 0, record, &cached);
    FUZZ_CHECK(rc2 == rc);
    FUZZ_CHECK(rc || same_terms(&fresh, &cached));
    rc2 = dks_analyze_ids(an, text, size, 0, record_id, &ids);
    FUZZ_CHECK(rc2 == rc);
    FUZZ_CHECK(rc || same_terms(&fresh, &ids));
    if (!rc)
        fuzz_snippets(text, size, &fresh);

    /* the whole input as one word: invalid UTF-8 is refused here */
    const char *term;
    size_t tl;
    FUZZ_CHECK_RC(dks_analyze_word(an, text, size, &term, &tl), DKS_ELIMIT, DKS_EINVAL);
    list_free(&fresh);
    list_free(&cached);
    list_free(&ids);
    return 0;
}
