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

/* The layout's parts in bytes at start..end; 0 if it does not hold. */
static int lexicon_layout(const unsigned char *p, const unsigned char *end, dks_lexicon *lx)
{
    *lx = (dks_lexicon){0};
    if (end - p < 16 || memcmp(p, "DKSL", 4) != 0 || dks_get_le32(p + 4) != 4)
        return 0;
    size_t n = dks_get_le32(p + 8), pool = dks_get_le32(p + 12);
    const unsigned char *table = p + 16 + 4 * n + pool;
    if ((size_t)(end - p) < 16 + 4 * n + pool + 4)
        return 0;
    size_t slots = dks_get_le32(table);
    if (slots == 0 || (slots & (slots - 1)) || slots <= n ||
        (size_t)(end - table) < 4 + 8 * slots)
        return 0;
    *lx = (dks_lexicon){.start = p, .end = end, .pool = p + 16 + 4 * n, .slots = table + 4,
                        .mask = (uint32_t)(slots - 1), .n = n};
    return 1;
}

static dks_lexicon linked(void)
{
    dks_lexicon lx;
    lexicon_layout(dks_lexicon_start, dks_lexicon_end, &lx);
    return lx;
}

size_t dks_lexicon_size(void)
{
    return linked().n;
}

void dks_lexicon_open(dks_lexicon *lx, int huge)
{
    *lx = linked();
    size_t bytes = (size_t)(lx->end - lx->start);
    unsigned char *copy = huge && lx->n ? dks_huge_alloc(bytes) : NULL;
    if (!copy)
        return;  /* the linked bytes serve as well, only slower */
    memcpy(copy, lx->start, bytes);
    lexicon_layout(copy, copy + bytes, lx);
    lx->copy = copy;
}

void dks_lexicon_close(dks_lexicon *lx)
{
    if (lx->copy)
        dks_huge_free(lx->copy, (size_t)(lx->end - lx->start));
    *lx = (dks_lexicon){0};
}

/* Reads the entry at pool offset `at`; 0 if it runs past the data. */
static int read_entry(const dks_lexicon *lx, uint32_t at, dks_lexicon_entry *e)
{
    const unsigned char *p = lx->pool + at, *end = lx->end;
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

int dks_lexicon_find_in(const dks_lexicon *lx, const char *word, size_t len,
                        dks_lexicon_entry *out)
{
    if (lx->n == 0)
        return 0;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)word[i]) * 16777619u;
    for (uint32_t i = h & lx->mask;; i = (i + 1) & lx->mask) {
        const unsigned char *s = lx->slots + 8 * (size_t)i;
        uint32_t slot = dks_get_le32(s);
        if (slot == 0)
            return 0;
        if (dks_get_le32(s + 4) == h && compare_at(word, len, lx->pool + slot - 1, lx->end) == 0)
            return out ? read_entry(lx, slot - 1, out) : 1;
    }
}

int dks_lexicon_find(const char *word, size_t len, dks_lexicon_entry *out)
{
    dks_lexicon lx = linked();
    return dks_lexicon_find_in(&lx, word, len, out);
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
    dks_lexicon lx = linked();
    size_t lo = 0, hi = lx.n;
    const unsigned char *offsets = lx.start + 16;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (compare_at(word, len, lx.pool + dks_get_le32(offsets + 4 * mid), lx.end) > 0)
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
    dks_lexicon lx = linked();
    return i < lx.n && read_entry(&lx, dks_get_le32(lx.start + 16 + 4 * i), out);
}
