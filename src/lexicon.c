/*
 * lexicon.c - lookups in the Danish lexicon compiled into the library.
 *
 * tools/mklexicon builds it at build time from Debian's Danish word list
 * (wdanish) and Hunspell dictionary (hunspell-da); src/lexicon_data.S links
 * the file in, so the analyzer needs no data files and no Hunspell at run
 * time.  Layout (little-endian):
 *
 *   "DKSL", le32 version (4), le32 n (words), le32 pool bytes
 *   n x le32   offset of each entry in the pool, entries sorted bytewise
 *   pool       per entry: word (lower case, NFC), 0x00, flags (1: a name,
 *              capitalised in the word list), head count and that many head
 *              lengths (bytes of the compound's last part in each of
 *              Hunspell's readings), lemma count (low 7 bits; the high bit
 *              says the word is a lemma itself), then each lemma
 *              NUL-terminated
 *   le32 slots (a power of two), then slots x (le32 pool offset + 1, 0
 *              empty; le32 FNV-1a hash of the word): a hash table with
 *              linear probing, for exact lookups without a search.  The
 *              hash beside the offset lets a probe skip other words without
 *              reading them from the pool: most lookups are misses.
 */
#include <string.h>

#include "dks_int.h"

extern const unsigned char dks_lexicon_start[];
extern const unsigned char dks_lexicon_end[];

size_t dks_lexicon_size(void)
{
    const unsigned char *p = dks_lexicon_start;
    if (dks_lexicon_end - p < 16 || memcmp(p, "DKSL", 4) != 0 || dks_get_le32(p + 4) != 4)
        return 0;
    size_t n = dks_get_le32(p + 8), pool = dks_get_le32(p + 12);
    const unsigned char *table = p + 16 + 4 * n + pool;
    if ((size_t)(dks_lexicon_end - p) < 16 + 4 * n + pool + 4)
        return 0;
    size_t slots = dks_get_le32(table);
    if (slots == 0 || (slots & (slots - 1)) || slots <= n ||
        (size_t)(dks_lexicon_end - table) < 4 + 8 * slots)
        return 0;
    return n;
}

/* Reads the entry at pool offset `at`; 0 if it runs past the data. */
static int read_entry(uint32_t at, dks_lexicon_entry *e)
{
    const unsigned char *base = dks_lexicon_start;
    size_t n = dks_get_le32(base + 8);
    const unsigned char *pool = base + 16 + 4 * n, *end = dks_lexicon_end;
    const unsigned char *p = pool + at;
    if (p >= end)
        return 0;
    const unsigned char *nul = memchr(p, 0, (size_t)(end - p));
    if (!nul || end - nul < 4 || nul[2] > DKS_LEXICON_HEADS || end - nul < 4 + nul[2])
        return 0;
    e->word = (const char *)p;
    e->len = (size_t)(nul - p);
    e->is_name = nul[1] & 1;
    e->n_heads = nul[2];
    for (size_t i = 0; i < e->n_heads; i++)
        e->heads[i] = nul[3 + i];
    const unsigned char *q = nul + 3 + e->n_heads;
    e->n_lemmas = q[0] & 0x7f;
    e->is_lemma = (q[0] & 0x80) != 0;
    e->lemmas = (const char *)q + 1;
    return 1;
}

/* Compares word[0..len) with the NUL-terminated entry word at p, reading
 * no further than the first difference (and never past end). */
static int compare_at(const char *word, size_t len, const unsigned char *p,
                      const unsigned char *end)
{
    for (size_t i = 0;; i++) {
        if (p + i >= end)
            return 1;
        unsigned char e = p[i];
        if (i == len)
            return e == 0 ? 0 : -1;
        if (e == 0)
            return 1;
        if ((unsigned char)word[i] != e)
            return (unsigned char)word[i] < e ? -1 : 1;
    }
}

int dks_lexicon_find(const char *word, size_t len, dks_lexicon_entry *out)
{
    size_t n = dks_lexicon_size();
    if (n == 0)
        return 0;
    const unsigned char *pool = dks_lexicon_start + 16 + 4 * n;
    const unsigned char *table = pool + dks_get_le32(dks_lexicon_start + 12);
    uint32_t mask = dks_get_le32(table) - 1, h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)word[i]) * 16777619u;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        const unsigned char *s = table + 4 + 8 * (size_t)i;
        uint32_t slot = dks_get_le32(s);
        if (slot == 0)
            return 0;
        if (dks_get_le32(s + 4) == h && compare_at(word, len, pool + slot - 1, dks_lexicon_end) == 0)
            return out ? read_entry(slot - 1, out) : 1;
    }
}

const char *dks_lexicon_lemma(const dks_lexicon_entry *e, size_t i, size_t *len)
{
    const char *p = e->lemmas;
    for (size_t k = 0; k < i; k++)
        p += strlen(p) + 1;
    *len = strlen(p);
    return p;
}

/* The first entry, in byte order, not below word[0..len): the start of
 * the words with that prefix (completions walk them in order). */
size_t dks_lexicon_lower_bound(const char *word, size_t len)
{
    size_t n = dks_lexicon_size(), lo = 0, hi = n;
    const unsigned char *offsets = dks_lexicon_start + 16, *pool = offsets + 4 * n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (compare_at(word, len, pool + dks_get_le32(offsets + 4 * mid), dks_lexicon_end) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint64_t dks_lexicon_touch(void)
{
    uint64_t sum = 0;
    for (const unsigned char *p = dks_lexicon_start; p < dks_lexicon_end; p += 4096)
        sum += *p;
    return sum;
}

int dks_lexicon_entry_at(size_t i, dks_lexicon_entry *out)
{
    size_t n = dks_lexicon_size();
    return i < n && read_entry(dks_get_le32(dks_lexicon_start + 16 + 4 * i), out);
}
