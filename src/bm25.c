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

double dks_bm25_term(const dks_bm25 *m, double idf, double tf, double doc_len)
{
    double norm = 1.0 - DKS_BM25_B + DKS_BM25_B * (m->avg_len > 0 ? doc_len / m->avg_len : 1.0);
    return idf * tf * (DKS_BM25_K1 + 1.0) / (tf + DKS_BM25_K1 * norm);
}

double dks_bm25_bound(const dks_bm25 *m, double idf, double max_tf, double min_len)
{
    return dks_bm25_term(m, idf, max_tf, min_len);
}
