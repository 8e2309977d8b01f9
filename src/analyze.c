/*
 * analyze.c - the analysis chain: tokenise -> normalise -> mark stop words
 * -> Snowball Danish stem.  Used identically for documents (writer.c,
 * snippet.c) and queries (query.c).  This is the only file that calls
 * libstemmer.
 *
 * Each token yields one DKS_TERM_WORD at its position; stages that add
 * further terms at the same position (compound parts, spellings) plug in
 * after the stemmer and use the same callback.
 */
#include <stdlib.h>

#include <libstemmer.h>

#include "dks_int.h"

struct dks_analyzer {
    struct sb_stemmer *stemmer;
    char norm[DKS_MAX_TERM_BYTES];
};

int dks_analyzer_new(dks_analyzer **out)
{
    *out = NULL;
    dks_analyzer *an = calloc(1, sizeof *an);
    if (!an)
        return DKS_ENOMEM;
    an->stemmer = sb_stemmer_new("danish", "UTF_8");
    if (!an->stemmer) {
        free(an);
        return DKS_ESTEMMER;
    }
    *out = an;
    return DKS_OK;
}

void dks_analyzer_free(dks_analyzer *an)
{
    if (!an)
        return;
    sb_stemmer_delete(an->stemmer);
    free(an);
}

/* Stems the normalised word in an->norm[0..len). */
static int stem(dks_analyzer *an, size_t len, const char **term, size_t *term_len)
{
    const sb_symbol *s = sb_stemmer_stem(an->stemmer, (const sb_symbol *)an->norm, (int)len);
    if (!s)
        return DKS_ENOMEM;
    *term = (const char *)s;
    *term_len = (size_t)sb_stemmer_length(an->stemmer);
    return DKS_OK;
}

int dks_analyze_word(dks_analyzer *an, const char *word, size_t len, const char **term,
                     size_t *term_len)
{
    *term = NULL;
    *term_len = 0;
    if (len > DKS_MAX_TOKEN_BYTES)
        return DKS_ELIMIT;
    size_t n;
    int rc = dks_normalize((const unsigned char *)word, len, an->norm, sizeof an->norm, &n);
    if (rc)
        return rc;
    return stem(an, n, term, term_len);
}

int dks_analyze(dks_analyzer *an, const char *text, size_t len, uint32_t first_position,
                dks_term_callback cb, void *ctx)
{
    dks_tokenizer tz;
    dks_token tok;
    uint32_t position = first_position;
    dks_tokenizer_init(&tz, text, len);
    while (dks_tokenizer_next(&tz, &tok)) {
        uint32_t here = position;
        if (position < DKS_MAX_POSITION)
            position++;
        /* Over-long tokens still take a position, so a phrase cannot
         * match across them. */
        if (tok.len > DKS_MAX_TOKEN_BYTES)
            continue;
        size_t n;
        int rc = dks_normalize((const unsigned char *)text + tok.offset, tok.len, an->norm,
                               sizeof an->norm, &n);
        if (rc == DKS_ELIMIT || (rc == DKS_OK && n == 0))
            continue;
        if (rc)
            return rc;
        dks_term t = {
            .surface = text + tok.offset,
            .surface_len = tok.len,
            .offset = tok.offset,
            .position = here,
            .kind = DKS_TERM_WORD,
            .is_stopword = dks_is_stopword(an->norm, n),
        };
        rc = stem(an, n, &t.term, &t.term_len);
        if (rc)
            return rc;
        rc = cb(&t, ctx);
        if (rc)
            return rc;
    }
    return DKS_OK;
}
