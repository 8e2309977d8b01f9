/*
 * complete.c - search as you type: the words the last word of a query may
 * become, those the index holds in the most documents first.
 *
 * The term dictionary holds stems, not words as written, and a stem is no
 * completion to show ("velfærdsallian").  So the candidates are the word
 * terms that begin with the typed prefix, found by one cursor range and
 * ranked by their document frequency; each is then shown as a word of the
 * Danish lexicon that has that stem, or for a compound the lexicon lacks
 * as the stem with the ending that leaves a lexicon word at its end, or
 * else (names, new words) as the stem itself, which for them is most
 * often the word.
 */
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

/* What a prefix may be, in bytes after normalising: a long prefix finds
 * little, and the walks below are bounded by it. */
#define COMPLETE_MAX_PREFIX 64
/* The dictionary keys walked for one prefix: a one-letter prefix begins
 * thousands of terms, and a completion must come back within a keystroke,
 * so past this many the ranking is among the first ones in byte order. */
#define COMPLETE_MAX_TERMS 1000
/* Lexicon words examined to show one stem as a word. */
#define COMPLETE_MAX_WORDS 8
#define COMPLETE_MAX 20

typedef struct dks_completion {
    char *text;     /* the query with its last word completed */
    char *word;     /* the completed word */
    uint64_t df;
} dks_completion;

struct dks_completions {
    char *prefix;
    dks_completion items[COMPLETE_MAX];
    size_t n;
    uint64_t took_us;
};

typedef struct candidate {
    char key[DKS_MAX_KEY_TERM_BYTES + 1];
    size_t len;
    uint64_t df;
} candidate;

/* Keeps the `max` candidates of most documents, best first. */
static void keep_best(candidate *best, size_t *n, size_t max, const void *key, size_t len,
                      uint64_t df)
{
    if (*n == max && df <= best[max - 1].df)
        return;
    size_t at = *n < max ? (*n)++ : max - 1;
    while (at > 0 && best[at - 1].df < df) {
        best[at] = best[at - 1];
        at--;
    }
    memcpy(best[at].key, key, len);
    best[at].len = len;
    best[at].df = df;
}

/* The word terms beginning with prefix that the index holds, best first. */
static int best_terms(dks_txn *t, const char *prefix, size_t len, candidate *best, size_t max,
                      size_t *n)
{
    dks_cursor *c;
    const void *k, *v;
    size_t kl, vl, walked = 0;
    int rc = dks_cursor_open(t, DKS_DB_TERMS, &c);
    if (rc)
        return rc;
    *n = 0;
    for (rc = dks_cursor_seek(c, prefix, len, &k, &kl, &v, &vl);
         rc == 0 && walked < COMPLETE_MAX_TERMS; rc = dks_cursor_next(c, &k, &kl, &v, &vl)) {
        if (kl < len || memcmp(k, prefix, len) != 0)
            break;
        walked++;
        dks_term_stats st;
        if (kl > DKS_MAX_KEY_TERM_BYTES || (rc = dks_term_stats_decode(v, vl, &st)))
            break;
        if (!dks_is_stopword(k, kl))
            keep_best(best, n, max, k, kl, st.df);
    }
    dks_cursor_close(c);
    return rc == 1 ? DKS_OK : rc;
}

/* Whether the lexicon word stems to the candidate's key. */
static int stems_to(dks_analyzer *an, const char *word, size_t len, const candidate *cand)
{
    const char *stem;
    size_t stem_len;
    return dks_analyzer_stem(an, word, len, &stem, &stem_len) == 0 && stem_len == cand->len &&
           memcmp(stem, cand->key, stem_len) == 0;
}

/* Whether a word ends in a lexicon word of at least four letters that is
 * not the whole word: the head of a compound. */
#define COMPOUND_HEAD_MIN 4
static int ends_in_word(const char *word, size_t len)
{
    for (size_t at = 2; at < len; at++)
        if (((unsigned char)word[at] & 0xC0) != 0x80 &&
            dks_utf8_chars(word + at, len - at) >= COMPOUND_HEAD_MIN &&
            dks_lexicon_find(word + at, len - at, NULL))
            return 1;
    return 0;
}

/* Spells the key with an ending, and with its last letter doubled again
 * if `doubled` (Snowball undoubles it: "klasse" -> "klas"), into word;
 * 1 and the first of them that begins with the prefix, stems back to the
 * key and is a lexicon word (or, with compounds, ends in one). */
static int spell_with(dks_analyzer *an, const char *prefix, size_t len, const candidate *cand,
                      const char *const *endings, size_t n, int compounds, char *word,
                      size_t cap, size_t *word_len)
{
    for (int doubled = 0; doubled < 2; doubled++)
        for (size_t i = 0; i < n; i++) {
            size_t el = strlen(endings[i]), wl = cand->len + (size_t)doubled + el;
            if (wl >= cap || wl < len)
                continue;
            memcpy(word, cand->key, cand->len);
            word[cand->len] = cand->key[cand->len - 1];
            memcpy(word + cand->len + doubled, endings[i], el);
            if (memcmp(word, prefix, len) == 0 &&
                (compounds || dks_lexicon_find(word, wl, NULL)) &&
                stems_to(an, word, wl, cand) && (!compounds || ends_in_word(word, wl))) {
                *word_len = wl;
                return 1;
            }
        }
    return 0;
}

/* The word to show for a key: most stems are their word less an ending,
 * so the endings Snowball takes off are tried first, shortest first; then
 * for a compound the lexicon lacks ("celleområd") the ending that leaves a
 * lexicon word at its end ("område"); then the lexicon's words that begin
 * with the prefix, the shortest that stems to the key.  NULL (and the key
 * is shown) if there is none. */
static const char *word_of(dks_analyzer *an, const char *prefix, size_t len, const candidate *cand,
                           char *shown, size_t *word_len)
{
    static const char *const endings[] = {"", "e", "r", "n", "s", "t", "en", "er", "et", "ne",
                                          "de", "te", "ere", "ede", "ene", "ers", "ens", "ets",
                                          "erne", "ende", "else", "hed", "ing", "ning", "lig"};
    static const char *const compound_endings[] = {"", "e", "er", "en", "et"};
    if (cand->len == 0)
        return NULL;
    if (spell_with(an, prefix, len, cand, endings, sizeof endings / sizeof endings[0], 0, shown,
                   DKS_MAX_KEY_TERM_BYTES + 8, word_len) ||
        spell_with(an, prefix, len, cand, compound_endings,
                   sizeof compound_endings / sizeof compound_endings[0], 1, shown,
                   DKS_MAX_KEY_TERM_BYTES + 8, word_len))
        return shown;
    dks_lexicon_entry e;
    const char *found = NULL;
    size_t i = dks_lexicon_lower_bound(prefix, len);
    for (size_t seen = 0; seen < COMPLETE_MAX_WORDS && dks_lexicon_entry_at(i, &e); i++, seen++) {
        if (e.len < len || memcmp(e.word, prefix, len) != 0)
            break;
        if ((!found || e.len < *word_len) && stems_to(an, e.word, e.len, cand)) {
            found = e.word;
            *word_len = e.len;
        }
    }
    return found;
}

static int add_completion(dks_completions *out, const char *head, size_t head_len,
                          const char *word, size_t word_len, uint64_t df)
{
    for (size_t i = 0; i < out->n; i++)
        if (strlen(out->items[i].word) == word_len && memcmp(out->items[i].word, word, word_len) == 0)
            return DKS_OK;  /* two stems shown as one word */
    dks_completion *c = &out->items[out->n];
    c->word = malloc(word_len + 1);
    c->text = malloc(head_len + word_len + 1);
    if (!c->word || !c->text) {
        free(c->word);
        free(c->text);
        return DKS_ENOMEM;
    }
    memcpy(c->word, word, word_len);
    c->word[word_len] = 0;
    memcpy(c->text, head, head_len);
    memcpy(c->text + head_len, word, word_len);
    c->text[head_len + word_len] = 0;
    c->df = df;
    out->n++;
    return DKS_OK;
}

/* Where the last word of a query begins; len if the query ends in no word
 * (a space, an operator's quote or parenthesis). */
static size_t last_word_start(const char *q, size_t len)
{
    dks_tokenizer tz;
    dks_token tok;
    size_t start = len;
    dks_tokenizer_init(&tz, q, len);
    while (dks_tokenizer_next(&tz, &tok))
        start = tok.offset + tok.len == len ? tok.offset : len;
    return start;
}

int dks_complete(dks_index *index, const char *query, size_t len, size_t max,
                 dks_completions **out, dks_error_detail *err)
{
    *out = NULL;
    if (!query || len > DKS_MAX_QUERY_BYTES)
        return dks_fail(err, DKS_ELIMIT, -1, "the query is longer than %d bytes",
                        DKS_MAX_QUERY_BYTES);
    uint64_t started = dks_clock_us();
    if (max == 0 || max > COMPLETE_MAX)
        max = max ? COMPLETE_MAX : 8;
    dks_completions *c = calloc(1, sizeof *c);
    if (!c)
        return DKS_ENOMEM;
    size_t start = last_word_start(query, len);
    char prefix[COMPLETE_MAX_PREFIX * 3];
    size_t prefix_len = 0;
    int rc = DKS_OK;
    if (start < len && len - start <= COMPLETE_MAX_PREFIX &&
        dks_normalize((const unsigned char *)query + start, len - start, prefix, sizeof prefix,
                      &prefix_len) != 0)
        prefix_len = 0;  /* no word a completion could begin with */
    if (!(c->prefix = malloc(prefix_len + 1))) {
        free(c);
        return DKS_ENOMEM;
    }
    memcpy(c->prefix, prefix, prefix_len);
    c->prefix[prefix_len] = 0;

    dks_txn *t = NULL;
    dks_analyzer *an = NULL;
    candidate *best = NULL;
    size_t n = 0;
    unsigned features;
    if (prefix_len > 0) {
        rc = dks_index_analysis(index, &features);
        if (!rc)
            rc = dks_index_analyzer_take(index, features, &an);
        if (!rc && !(best = malloc((max + 2) * sizeof *best)))
            rc = DKS_ENOMEM;
        if (!rc)
            rc = dks_txn_begin(dks_index_store(index), 0, &t);
        /* a few more than asked for: two stems may show as one word */
        if (!rc)
            rc = best_terms(t, prefix, prefix_len, best, max + 2, &n);
    }
    for (size_t i = 0; !rc && i < n && c->n < max; i++) {
        size_t word_len = 0;
        char shown[DKS_MAX_KEY_TERM_BYTES + 8];
        const char *word = word_of(an, prefix, prefix_len, &best[i], shown, &word_len);
        rc = word ? add_completion(c, query, start, word, word_len, best[i].df)
                  : add_completion(c, query, start, best[i].key, best[i].len, best[i].df);
    }
    dks_txn_abort(t);
    dks_index_analyzer_give(index, an);
    free(best);
    if (rc) {
        dks_completions_free(c);
        return dks_fail(err, rc, -1, "cannot complete the query: %s", dks_strerror(rc));
    }
    c->took_us = dks_clock_us() - started;
    *out = c;
    return DKS_OK;
}

size_t dks_completions_count(const dks_completions *c)
{
    return c->n;
}

const char *dks_completions_text(const dks_completions *c, size_t i, uint64_t *df)
{
    if (i >= c->n)
        return NULL;
    if (df)
        *df = c->items[i].df;
    return c->items[i].text;
}

int dks_completions_json(const dks_completions *c, char **json, size_t *len)
{
    dks_buf b = {0};
    int rc = dks_buf_append_str(&b, "{\"prefix\":");
    if (!rc)
        rc = dks_json_string(&b, c->prefix, strlen(c->prefix));
    if (!rc)
        rc = dks_buf_printf(&b, ",\"took_us\":%llu,\"completions\":[",
                            (unsigned long long)c->took_us);
    for (size_t i = 0; !rc && i < c->n; i++) {
        rc = dks_buf_append_str(&b, i ? ",{\"text\":" : "{\"text\":");
        if (!rc)
            rc = dks_json_string(&b, c->items[i].text, strlen(c->items[i].text));
        if (!rc)
            rc = dks_buf_append_str(&b, ",\"word\":");
        if (!rc)
            rc = dks_json_string(&b, c->items[i].word, strlen(c->items[i].word));
        if (!rc)
            rc = dks_buf_printf(&b, ",\"df\":%llu}", (unsigned long long)c->items[i].df);
    }
    if (!rc)
        rc = dks_buf_append_str(&b, "]}");
    if (!rc)
        rc = dks_buf_putc(&b, 0);
    if (rc) {
        dks_buf_free(&b);
        *json = NULL;
        *len = 0;
        return rc;
    }
    *json = (char *)b.data;
    *len = b.len - 1;
    return DKS_OK;
}

void dks_completions_free(dks_completions *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->items[i].text);
        free(c->items[i].word);
    }
    free(c->prefix);
    free(c);
}
