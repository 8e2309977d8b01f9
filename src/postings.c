/*
 * postings.c - the posting block codec.
 *
 * A term's postings are a sequence of blocks, each stored under its own
 * LMDB key (see keys.c): term bytes, 0x00, first document id (4 bytes,
 * big-endian), so the blocks of a term are adjacent and in document order,
 * and a reader can seek to the block holding any document.
 *
 * Block value, format version 1 (every number an unsigned LEB128 varint):
 *
 *   n           documents in the block, 1..128
 *   last_delta  last document id - first document id
 *   max_tf      largest term frequency in the block
 *   min_len     shortest document length (tokens) in the block
 *   docs_len    bytes of the doc-gap section
 *   tfs_len     bytes of the term-frequency section
 *   doc gaps    n-1 varints: doc[i] - doc[i-1], each >= 1
 *   tfs         n varints, each 1..max_tf
 *   positions   the rest: per document in order, tf varints: the first
 *               position, then the gaps to the next (each >= 1)
 *
 * The header lets a reader skip a block (last doc) or bound its score
 * (max_tf, min_len) without decoding it, and a ranked query that needs no
 * positions never touches the position section.
 *
 * Index bytes are untrusted: every decoder checks every length and
 * returns DKS_ECORRUPT rather than reading past the value.
 */
#include <string.h>

#include "dks_int.h"

int dks_block_parse(const unsigned char *val, size_t len, uint32_t first_doc,
                    dks_block_header *h)
{
    const unsigned char *p = val, *end = val + len;
    uint32_t last_delta, docs_len, tfs_len;
    int rc;
    if ((rc = dks_varint_decode32(&p, end, &h->n)) ||
        (rc = dks_varint_decode32(&p, end, &last_delta)) ||
        (rc = dks_varint_decode32(&p, end, &h->max_tf)) ||
        (rc = dks_varint_decode32(&p, end, &h->min_len)) ||
        (rc = dks_varint_decode32(&p, end, &docs_len)) ||
        (rc = dks_varint_decode32(&p, end, &tfs_len)))
        return rc;
    if (h->n == 0 || h->n > DKS_BLOCK_DOCS || h->max_tf == 0)
        return DKS_ECORRUPT;
    if (last_delta > UINT32_MAX - 1 - first_doc || (h->n == 1) != (last_delta == 0))
        return DKS_ECORRUPT;
    if (last_delta < h->n - 1)
        return DKS_ECORRUPT;
    if (docs_len > (size_t)(end - p) || tfs_len > (size_t)(end - p) - docs_len)
        return DKS_ECORRUPT;
    h->first_doc = first_doc;
    h->last_doc = first_doc + last_delta;
    h->docs = p;
    h->docs_len = docs_len;
    h->tfs = p + docs_len;
    h->tfs_len = tfs_len;
    h->positions = h->tfs + tfs_len;
    h->positions_len = (size_t)(end - h->positions);
    return DKS_OK;
}

int dks_block_decode(const dks_block_header *h, uint32_t *docs, uint32_t *tfs)
{
    const unsigned char *p = h->docs, *end = h->docs + h->docs_len;
    uint32_t doc = h->first_doc;
    docs[0] = doc;
    for (uint32_t i = 1; i < h->n; i++) {
        uint32_t gap;
        int rc = dks_varint_decode32(&p, end, &gap);
        if (rc)
            return rc;
        if (gap == 0 || gap > h->last_doc - doc)
            return DKS_ECORRUPT;
        doc += gap;
        docs[i] = doc;
    }
    if (p != end || doc != h->last_doc)
        return DKS_ECORRUPT;

    p = h->tfs;
    end = h->tfs + h->tfs_len;
    for (uint32_t i = 0; i < h->n; i++) {
        int rc = dks_varint_decode32(&p, end, &tfs[i]);
        if (rc)
            return rc;
        if (tfs[i] == 0 || tfs[i] > h->max_tf)
            return DKS_ECORRUPT;
    }
    return p == end ? DKS_OK : DKS_ECORRUPT;
}

int dks_block_encode(const dks_block_data *b, dks_buf *out)
{
    uint32_t min_len = UINT32_MAX;
    unsigned char gaps[DKS_BLOCK_DOCS * 5], tfs[DKS_BLOCK_DOCS * 5];
    size_t gl = 0, tl = 0;
    uint32_t max_tf = 0;
    if (b->n == 0 || b->n > DKS_BLOCK_DOCS)
        return DKS_EINVAL;
    for (uint32_t i = 0; i < b->n; i++) {
        if (i > 0) {
            if (b->docs[i] <= b->docs[i - 1])
                return DKS_EINVAL;
            gl += dks_varint_encode(gaps + gl, b->docs[i] - b->docs[i - 1]);
        }
        if (b->tfs[i] == 0)
            return DKS_EINVAL;
        tl += dks_varint_encode(tfs + tl, b->tfs[i]);
        if (b->tfs[i] > max_tf)
            max_tf = b->tfs[i];
        if (b->lens[i] < min_len)
            min_len = b->lens[i];
    }
    out->len = 0;
    int rc;
    if ((rc = dks_buf_put_varint(out, b->n)) ||
        (rc = dks_buf_put_varint(out, b->docs[b->n - 1] - b->docs[0])) ||
        (rc = dks_buf_put_varint(out, max_tf)) ||
        (rc = dks_buf_put_varint(out, min_len)) ||
        (rc = dks_buf_put_varint(out, gl)) ||
        (rc = dks_buf_put_varint(out, tl)) ||
        (rc = dks_buf_append(out, gaps, gl)) ||
        (rc = dks_buf_append(out, tfs, tl)) ||
        (rc = dks_buf_append(out, b->positions.data, b->positions.len)))
        return rc;
    return DKS_OK;
}

int dks_block_load(const dks_block_header *h, dks_block_data *b)
{
    int rc = dks_block_decode(h, b->docs, b->tfs);
    if (rc)
        return rc;
    b->n = h->n;
    for (uint32_t i = 0; i < h->n; i++)
        b->lens[i] = h->min_len;
    b->positions.len = 0;
    return dks_buf_append(&b->positions, h->positions, h->positions_len);
}

int dks_positions_append(dks_buf *section, const uint32_t *positions, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = i == 0 ? positions[0] : positions[i] - positions[i - 1];
        int rc = dks_buf_put_varint(section, v);
        if (rc)
            return rc;
    }
    return DKS_OK;
}

int dks_positions_read(const unsigned char **p, const unsigned char *end, uint32_t tf,
                       uint32_t *out)
{
    uint32_t pos = 0;
    for (uint32_t i = 0; i < tf; i++) {
        uint32_t v;
        int rc = dks_varint_decode32(p, end, &v);
        if (rc)
            return rc;
        if (i > 0 && (v == 0 || v > DKS_MAX_POSITION - pos))
            return DKS_ECORRUPT;
        pos = i == 0 ? v : pos + v;
        if (pos > DKS_MAX_POSITION)
            return DKS_ECORRUPT;
        out[i] = pos;
    }
    return DKS_OK;
}

int dks_positions_skip(const unsigned char **p, const unsigned char *end, uint32_t tf)
{
    const unsigned char *s = *p;
    for (uint32_t i = 0; i < tf; i++) {
        do {
            if (s >= end)
                return DKS_ECORRUPT;
        } while (*s++ & 0x80);
    }
    *p = s;
    return DKS_OK;
}
