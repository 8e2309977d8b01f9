/*
 * stopwords.c - Snowball's Danish stop words.
 *
 * The list is generated at build time from stemmer-data/danish-stopwords.txt
 * (sorted bytewise), so the data file is the single source.  Stop words stay
 * in the index; the query side uses this to leave them out of ranking.
 */
#include <string.h>

#include "dks_int.h"

static const char *const stopwords[] = {
#include "stopwords.inc"
};

#define N_STOPWORDS (sizeof stopwords / sizeof stopwords[0])

size_t dks_stopword_count(void)
{
    return N_STOPWORDS;
}

int dks_is_stopword(const char *word, size_t len)
{
    size_t lo = 0, hi = N_STOPWORDS;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *s = stopwords[mid];
        size_t sl = strlen(s);
        int cmp = memcmp(word, s, len < sl ? len : sl);
        if (cmp == 0)
            cmp = (len > sl) - (len < sl);
        if (cmp == 0)
            return 1;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}
