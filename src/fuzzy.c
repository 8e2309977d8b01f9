/*
 * fuzzy.c - finds the indexed words within a few edits of a word, for
 * typo-tolerant queries (telemedecin~) and "Mente du ...?" suggestions.
 *
 * The term dictionary is sorted, so it is walked like a trie: the
 * Levenshtein rows of a key's prefix are shared with the next key, and as
 * soon as every cell of a row is over the allowed distance, no key with
 * that prefix can match and the cursor jumps past all of them.  The cost
 * grows with the part of the dictionary close to the word, not with its
 * size.  Distances count code points, so æ, ø and å are single letters.
 */
#include <string.h>

#include "dks_int.h"

/* Words longer than this (code points) are not compared. */
#define MAX_FUZZY_CHARS 64

/* Decodes UTF-8 into code points; returns the count, or -1 if the text is
 * invalid or too long. */
static int decode(const unsigned char *s, size_t len, int32_t *out, size_t *ends)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (n == MAX_FUZZY_CHARS)
            return -1;
        int32_t cp;
        i += dks_utf8_decode(s + i, len - i, &cp);
        if (cp < 0)
            return -1;
        ends[n] = i;
        out[n++] = cp;
    }
    return (int)n;
}

static int row_min(const unsigned *row, size_t m)
{
    unsigned best = row[0];
    for (size_t j = 1; j <= m; j++)
        if (row[j] < best)
            best = row[j];
    return (int)best;
}

int dks_fuzzy_terms(dks_txn *t, const char *word, size_t len, unsigned max_edits,
                    int same_first_letter, dks_fuzzy_fn fn, void *ctx)
{
    int32_t pattern[MAX_FUZZY_CHARS], key_cps[MAX_FUZZY_CHARS];
    size_t pattern_ends[MAX_FUZZY_CHARS], key_ends[MAX_FUZZY_CHARS];
    int m = decode((const unsigned char *)word, len, pattern, pattern_ends);
    if (m <= 0)
        return DKS_OK;
    /* rows[i] is the Levenshtein row after the first i code points of the
     * current key; rows[0] compares the empty prefix. */
    static const size_t width = MAX_FUZZY_CHARS + 1;
    unsigned rows[(MAX_FUZZY_CHARS + 1) * (MAX_FUZZY_CHARS + 1)];
    for (int j = 0; j <= m; j++)
        rows[j] = (unsigned)j;
    int32_t prev[MAX_FUZZY_CHARS];
    int prev_n = 0;

    dks_cursor *c;
    int rc = dks_cursor_open(t, DKS_DB_TERMS, &c);
    if (rc)
        return rc;
    const void *k, *v;
    size_t kl, vl;
    /* Words start with a letter or digit; kind-prefixed keys sort before. */
    const char *start = "0";
    size_t start_len = 1, first = same_first_letter ? pattern_ends[0] : 0;
    if (same_first_letter) {
        start = word;
        start_len = first;
    }
    rc = dks_cursor_seek(c, start, start_len, &k, &kl, &v, &vl);
    unsigned char seek[DKS_MAX_KEY_TERM_BYTES + 2];
    while (rc == 0) {
        if (first && (kl < first || memcmp(k, word, first) != 0))
            break;  /* past the words with that first letter */
        int n = decode(k, kl, key_cps, key_ends);
        if (n < 0) {
            rc = dks_cursor_next(c, &k, &kl, &v, &vl);
            continue;
        }
        int shared = 0;
        while (shared < n && shared < prev_n && key_cps[shared] == prev[shared])
            shared++;
        int pruned_at = -1;
        for (int i = shared + 1; i <= n; i++) {
            unsigned *row = rows + (size_t)i * width, *up = row - width;
            row[0] = (unsigned)i;
            for (int j = 1; j <= m; j++) {
                unsigned best = up[j] + 1;
                if (row[j - 1] + 1 < best)
                    best = row[j - 1] + 1;
                unsigned diag = up[j - 1] + (key_cps[i - 1] != pattern[j - 1]);
                row[j] = diag < best ? diag : best;
            }
            if ((unsigned)row_min(row, (size_t)m) > max_edits) {
                pruned_at = i;
                break;
            }
        }
        memcpy(prev, key_cps, (size_t)n * sizeof *prev);
        prev_n = pruned_at > 0 ? pruned_at : n;
        if (pruned_at > 0) {
            /* No key beginning with these code points can match: jump past
             * them by incrementing the last byte of the prefix. */
            size_t bytes = key_ends[pruned_at - 1];
            if (bytes > sizeof seek - 1 || ((const unsigned char *)k)[bytes - 1] == 0xFF) {
                rc = dks_cursor_next(c, &k, &kl, &v, &vl);
                continue;
            }
            memcpy(seek, k, bytes);
            seek[bytes - 1]++;
            prev_n = pruned_at - 1;  /* the rows up to there stay valid */
            rc = dks_cursor_seek(c, seek, bytes, &k, &kl, &v, &vl);
            continue;
        }
        unsigned dist = rows[(size_t)n * width + (size_t)m];
        if (dist <= max_edits) {
            char term[DKS_MAX_KEY_TERM_BYTES + 1];
            size_t tl = kl < sizeof term ? kl : sizeof term - 1;
            memcpy(term, k, tl);
            if ((rc = fn(ctx, term, tl, dist)))
                break;
        }
        rc = dks_cursor_next(c, &k, &kl, &v, &vl);
    }
    dks_cursor_close(c);
    return rc == 1 ? DKS_OK : rc;
}

unsigned dks_fuzzy_max_edits(const char *word, size_t len)
{
    size_t chars = dks_utf8_chars(word, len);
    return chars >= 9 ? 2 : chars >= 5 ? 1 : 0;
}
