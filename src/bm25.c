/*
 * bm25.c - Okapi BM25 (k1 = 1.2, b = 0.75) over the whole collection.
 *
 * idf uses the "+1" form, log(1 + (N - df + 0.5) / (df + 0.5)), which stays
 * positive for terms in more than half of the documents, so adding a
 * matching word never lowers a document's score.
 */
#include <math.h>

#include "dks_int.h"

double dks_bm25_idf(const dks_bm25 *m, uint64_t df)
{
    double n = (double)m->doc_count, d = (double)df;
    if (d > n)
        d = n;
    return log(1.0 + (n - d + 0.5) / (d + 0.5));
}

void dks_bm25_init(dks_bm25 *m, uint64_t doc_count, uint64_t total_len)
{
    m->doc_count = doc_count;
    m->avg_len = doc_count ? (double)total_len / (double)doc_count : 0;
    /* norm = 1 - b + b * length / avg_len, or 1 without documents */
    m->len_fixed = DKS_BM25_K1 * (m->avg_len > 0 ? 1.0 - DKS_BM25_B : 1.0);
    m->len_scale = m->avg_len > 0 ? DKS_BM25_K1 * DKS_BM25_B / m->avg_len : 0;
}

double dks_bm25_bound(const dks_bm25 *m, double idf, double max_tf, double min_len)
{
    return dks_bm25_term(m, idf, max_tf, min_len);
}
