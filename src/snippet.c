/*
 * snippet.c - picks the passage of a document that shows most of the
 * query's terms and marks them.
 *
 * Every surface form whose term matched is marked ("velfærdsalliancer" for
 * the query velfærdsalliance).  Where the matches stand comes from the
 * postings (dks_snippet_at_positions: only the tokeniser runs over the
 * text), or, for a query with a prefix, whose matched words the results do
 * not list, from analysing the stored text again with the index's own
 * chain (dks_snippet_make).  The window of `words` tokens with the most
 * distinct query terms (then the most matches, then the earliest) wins.
 * The snippet is one line of valid UTF-8 cut at word boundaries: runs of
 * white space and control characters become one space, invalid bytes
 * become U+FFFD, and an ellipsis marks text left out.  Highlights are byte
 * ranges in the snippet, so callers never parse markup.
 */
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

typedef struct snip_token {
    size_t offset, len;
    int match;    /* index of the matched query term, -1 if none */
} snip_token;

typedef struct snip_ctx {
    snip_token *toks;
    size_t n, cap;
    char *const *terms;
    const size_t *term_lens;
    size_t n_terms;
} snip_ctx;

/* Does the word begin with the prefix, as a term or as written? */
static int prefix_matches(const dks_term *t, const char *prefix, size_t len)
{
    if (t->term_len >= len && memcmp(t->term, prefix, len) == 0)
        return 1;
    char norm[DKS_MAX_TERM_BYTES];
    size_t n;
    return dks_normalize((const unsigned char *)t->surface, t->surface_len, norm, sizeof norm,
                         &n) == DKS_OK && n >= len && memcmp(norm, prefix, len) == 0;
}

/* Words start tokens; the extra terms of a word (its head, lemma, ...)
 * can make it a match too.  An expansion belongs to the token it starts at
 * ("klima-" for klimaministeren). */
static int add_token(const dks_term *t, void *ctx)
{
    snip_ctx *s = ctx;
    char key[DKS_MAX_KEY_TERM_BYTES + 1];
    size_t kl = dks_term_key(t->kind, t->term, t->term_len, key);
    int match = -1;
    for (size_t i = 0; kl && i < s->n_terms && match < 0; i++) {
        if (s->term_lens[i] == kl && memcmp(s->terms[i], key, kl) == 0)
            match = (int)i;
        else if (s->terms[i][0] == DKS_KEY_PREFIX && t->kind == DKS_TERM_WORD &&
                 prefix_matches(t, s->terms[i] + 1, s->term_lens[i] - 1))
            match = (int)i;
    }
    if (t->kind != DKS_TERM_WORD) {
        for (size_t i = s->n; match >= 0 && i-- > 0;) {
            if (s->toks[i].offset == t->offset) {
                if (s->toks[i].match < 0)
                    s->toks[i].match = match;
                break;
            }
        }
        return DKS_OK;
    }
    int rc = dks_grow(&s->toks, s->n, &s->cap, sizeof *s->toks, 256);
    if (rc)
        return rc;
    s->toks[s->n++] = (snip_token){t->offset, t->surface_len, match};
    return DKS_OK;
}

/* Finds the best window start; distinct terms count most, then matches. */
static size_t best_window(const snip_ctx *s, size_t words, size_t *counts)
{
    size_t best = 0, distinct = 0, matches = 0, best_d = 0, best_m = 0;
    for (size_t i = 0; i < s->n; i++) {
        int m = s->toks[i].match;
        if (m >= 0) {
            matches++;
            distinct += counts[m]++ == 0;
        }
        if (i >= words) {
            int out = s->toks[i - words].match;
            if (out >= 0) {
                matches--;
                distinct -= --counts[out] == 0;
            }
        }
        size_t start = i + 1 >= words ? i + 1 - words : 0;
        if (distinct > best_d || (distinct == best_d && matches > best_m)) {
            best = start;
            best_d = distinct;
            best_m = matches;
        }
    }
    return best;
}

/* Text between two words longer than this is shown as an ellipsis: it
 * is punctuation, junk or an over-long token, and snippets stay small. */
#define MAX_GAP_BYTES 80

/* Copies text between words: white space (of any script) and controls
 * collapse to one space, invalid bytes become U+FFFD. */
static int append_gap(dks_buf *b, const unsigned char *s, size_t len)
{
    if (len > MAX_GAP_BYTES)
        return dks_buf_append_str(b, " … ");
    int space = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t n = dks_utf8_decode(s + i, len - i, &cp);
        if (cp >= 0 && (cp < ' ' || cp == 0x7f || dks_char_class_of(cp) == DKS_CHAR_SPACE)) {
            space = 1;
            i += n;
            continue;
        }
        int rc = DKS_OK;
        if (space)
            rc = dks_buf_putc(b, ' ');
        space = 0;
        if (!rc)
            rc = dks_utf8_append_valid(b, s + i, n);
        if (rc)
            return rc;
        i += n;
    }
    return space ? dks_buf_putc(b, ' ') : DKS_OK;
}

static size_t trailing_punctuation(const char *text, size_t len, size_t end)
{
    size_t limit = end + 3;
    while (end < len && end < limit && strchr(".,;:!?)", text[end]) && text[end] != '\0')
        end++;
    return end;
}

/* Cuts the snippet from the tokens, each marked with the query term it
 * matched or -1; counts has room for one counter per query term. */
static int render(const snip_ctx *tokens, size_t *counts, const char *text, size_t len,
                  size_t words, dks_snippet *out)
{
    const snip_ctx s = *tokens;
    int rc = dks_buf_append(&out->text, "", 0);
    if (rc || s.n == 0)
        return rc;
    if (words == 0)
        words = 1;

    size_t first = best_window(&s, words, counts);
    size_t last = first + words < s.n ? first + words : s.n;  /* exclusive */
    /* Centre the matches in the window, so they come with context. */
    size_t lo = last, hi = first;
    for (size_t i = first; i < last; i++)
        if (s.toks[i].match >= 0) {
            lo = i < lo ? i : lo;
            hi = i;
        }
    if (lo < last) {
        size_t slack = words - (hi - lo + 1);
        first = lo > slack / 2 ? lo - slack / 2 : 0;
        last = first + words < s.n ? first + words : s.n;
        if (last - first < words && s.n >= words)
            first = s.n - words;
    }
    size_t n_matches = 0;
    for (size_t i = first; i < last; i++)
        n_matches += s.toks[i].match >= 0;
    if (n_matches && !(out->ranges = calloc(n_matches, sizeof *out->ranges)))
        return DKS_ENOMEM;
    if (first > 0 && (rc = dks_buf_append_str(&out->text, "… ")))
        return rc;
    for (size_t i = first; i < last; i++) {
        const snip_token *t = &s.toks[i];
        if (i > first) {
            size_t gap_from = s.toks[i - 1].offset + s.toks[i - 1].len;
            if ((rc = append_gap(&out->text, (const unsigned char *)text + gap_from,
                                 t->offset - gap_from)))
                return rc;
        }
        size_t start = out->text.len;
        if ((rc = dks_utf8_append_valid(&out->text, (const unsigned char *)text + t->offset,
                                        t->len)))
            return rc;
        if (t->match >= 0)
            out->ranges[out->n_ranges++] = (dks_highlight){start, out->text.len};
    }
    size_t end = s.toks[last - 1].offset + s.toks[last - 1].len;
    size_t punct = trailing_punctuation(text, len, end);
    if ((rc = dks_buf_append(&out->text, text + end, punct - end)))
        return rc;
    if (last < s.n)
        rc = dks_buf_append_str(&out->text, " …");
    return rc;
}

/* Renders the snippet unless rc already says the tokens failed, and
 * releases the tokens; on failure *out is released too. */
static int finish(snip_ctx *s, int rc, const char *text, size_t len, size_t words,
                  dks_snippet *out)
{
    size_t *counts = NULL;
    if (!rc && !(counts = calloc(s->n_terms ? s->n_terms : 1, sizeof *counts)))
        rc = DKS_ENOMEM;
    if (!rc)
        rc = render(s, counts, text, len, words, out);
    free(counts);
    free(s->toks);
    if (rc)
        dks_snippet_free(out);
    return rc;
}

int dks_snippet_make(dks_analyzer *an, const char *text, size_t len, char *const *terms,
                     const size_t *term_lens, size_t n_terms, size_t words, dks_snippet *out)
{
    memset(out, 0, sizeof *out);
    snip_ctx s = {.terms = terms, .term_lens = term_lens, .n_terms = n_terms};
    return finish(&s, dks_analyze(an, text, len, 0, add_token, &s), text, len, words, out);
}

static int cmp_position_match(const void *a, const void *b)
{
    const dks_position_match *x = a, *y = b;
    if (x->position != y->position)
        return (x->position > y->position) - (x->position < y->position);
    return (x->term > y->term) - (x->term < y->term);
}

int dks_snippet_at_positions(const char *text, size_t len, uint32_t first_position,
                             dks_position_match *matches, size_t n_matches, size_t n_terms,
                             size_t words, dks_snippet *out)
{
    memset(out, 0, sizeof *out);
    snip_ctx s = {.n_terms = n_terms};
    if (n_matches)
        qsort(matches, n_matches, sizeof *matches, cmp_position_match);
    /* Positions are the tokeniser's count, as dks_analyze assigns them;
     * an over-long token takes a position but is no word. */
    dks_tokenizer tz;
    dks_token tok;
    dks_tokenizer_init(&tz, text, len);
    uint32_t position = first_position;
    size_t m = 0;
    int rc = DKS_OK;
    while (!rc && dks_tokenizer_next(&tz, &tok)) {
        uint32_t at = position;
        if (position < DKS_MAX_POSITION)
            position++;
        while (m < n_matches && matches[m].position < at)
            m++;
        if (tok.len > DKS_MAX_TOKEN_BYTES)
            continue;
        int match = m < n_matches && matches[m].position == at ? (int)matches[m].term : -1;
        if (!(rc = dks_grow(&s.toks, s.n, &s.cap, sizeof *s.toks, 256)))
            s.toks[s.n++] = (snip_token){tok.offset, tok.len, match};
    }
    return finish(&s, rc, text, len, words, out);
}

void dks_snippet_free(dks_snippet *s)
{
    dks_buf_free(&s->text);
    free(s->ranges);
    s->ranges = NULL;
    s->n_ranges = 0;
}
