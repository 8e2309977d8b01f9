/*
 * postings.c - the posting block codec.
 *
 * A term's postings are a sequence of blocks, each stored under its own
 * LMDB key (see keys.c): term bytes, 0x00, first document id (4 bytes,
 * big-endian), so the blocks of a term are adjacent and in document order,
 * and a reader can seek to the block holding any document.
 *
 * Block value (header numbers are unsigned LEB128 varints):
 *
 *   n           documents in the block, 1..128
 *   last_delta  last document id - first document id
 *   max_tf      largest term frequency in the block
 *   min_len     shortest document length (tokens) in the block
 *   gap_bits    bits of each doc gap, 0..32
 *   doc gaps    n-1 numbers doc[i] - doc[i-1] - 1, gap_bits each
 *   tfs         n numbers tf - 1, each in as many bits as max_tf - 1 needs
 *   positions   the rest; empty for keys that record no positions
 *               (dks_key_has_positions), else:
 *     first_bits  u8, 0..32
 *     gap_bits    u8, 0..32
 *     firsts      n numbers, first_bits each: each document's first position
 *     gaps        sum(tf) - n numbers, gap_bits each: for each document in
 *                 turn, position - previous position - 1 for its others
 *
 * The header lets a reader skip a block (last doc) or bound its score
 * (max_tf, min_len) without decoding it, and a ranked query that needs no
 * positions never touches the position section.  Everything after the
 * header is bit-packed, least significant bit first, each section padded
 * to a whole byte: most frequencies are 1, and a block whose largest is 1
 * spends no bits on them at all.  Positions are packed too, first
 * positions apart from the gaps (they spread over the whole document,
 * gaps are short), and a document's positions are found without reading
 * the others': its first is number i, its gaps start after the tf - 1 of
 * the documents before it.
 *
 * Index bytes are untrusted: every decoder checks every length and
 * returns DKS_ECORRUPT rather than reading past the value.
 */
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

/* Bits that hold v. */
static unsigned bit_width(uint32_t v)
{
    return v ? 32u - (unsigned)__builtin_clz(v) : 0;
}

static size_t packed_bytes(uint32_t n, unsigned bits)
{
    return ((size_t)n * bits + 7) / 8;
}

/* Appends n numbers of `bits` bits each (every one fits), padded to a byte. */
static int pack(dks_buf *out, const uint32_t *v, size_t n, unsigned bits)
{
    size_t bytes = ((uint64_t)n * bits + 7) / 8;
    int rc = dks_buf_reserve(out, bytes);
    if (rc || bits == 0)
        return rc;
    unsigned char *o = out->data + out->len;
    uint64_t acc = 0;
    unsigned have = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint64_t)v[i] << have;
        have += bits;
        while (have >= 8) {
            *o++ = (unsigned char)acc;
            acc >>= 8;
            have -= 8;
        }
    }
    if (have)
        *o++ = (unsigned char)acc;
    out->len += bytes;
    return DKS_OK;
}

/* Reads n numbers of `bits` bits each from p (packed_bytes(n, bits) bytes,
 * which the caller has checked are there).  The section is copied into a
 * padded buffer first, so that every number is one unaligned 8-byte load
 * and a shift, without reading past the value in the map. */
static void unpack(const unsigned char *p, uint32_t n, unsigned bits, uint32_t *out)
{
    if (bits == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    unsigned char buf[DKS_BLOCK_DOCS * 4 + 8];
    size_t bytes = packed_bytes(n, bits);
    memcpy(buf, p, bytes);
    memset(buf + bytes, 0, 8);
    uint64_t mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
    size_t bit = 0;
    for (uint32_t i = 0; i < n; i++, bit += bits) {
        uint64_t word;
        memcpy(&word, buf + (bit >> 3), sizeof word);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(word);  /* the stream is least significant byte first */
#endif
        out[i] = (uint32_t)((word >> (bit & 7)) & mask);
    }
}

int dks_block_parse(const unsigned char *val, size_t len, uint32_t first_doc,
                    dks_block_header *h)
{
    const unsigned char *p = val, *end = val + len;
    uint32_t last_delta, gap_bits;
    int rc;
    if ((rc = dks_varint_decode32(&p, end, &h->n)) ||
        (rc = dks_varint_decode32(&p, end, &last_delta)) ||
        (rc = dks_varint_decode32(&p, end, &h->max_tf)) ||
        (rc = dks_varint_decode32(&p, end, &h->min_len)) ||
        (rc = dks_varint_decode32(&p, end, &gap_bits)))
        return rc;
    /* (a larger max_tf would have readers allocate and walk positions that
     * cannot be there) */
    if (h->n == 0 || h->n > DKS_BLOCK_DOCS || h->max_tf == 0 || h->max_tf > DKS_MAX_TF ||
        gap_bits > 32)
        return DKS_ECORRUPT;
    /* the last document is below DKS_DOC_END (in 64 bits: a first document
     * of UINT32_MAX must not wrap the bound around) */
    if ((uint64_t)first_doc + last_delta >= UINT32_MAX || (h->n == 1) != (last_delta == 0))
        return DKS_ECORRUPT;
    if (last_delta < h->n - 1)
        return DKS_ECORRUPT;
    size_t docs_len = packed_bytes(h->n - 1, gap_bits);
    size_t tfs_len = packed_bytes(h->n, bit_width(h->max_tf - 1));
    if (docs_len > (size_t)(end - p) || tfs_len > (size_t)(end - p) - docs_len)
        return DKS_ECORRUPT;
    h->first_doc = first_doc;
    h->last_doc = first_doc + last_delta;
    h->gap_bits = gap_bits;
    h->docs = p;
    h->docs_len = docs_len;
    h->tfs = p + docs_len;
    h->tfs_len = tfs_len;
    h->positions = h->tfs + tfs_len;
    h->positions_len = (size_t)(end - h->positions);
    h->first_bits = h->pos_gap_bits = 0;
    h->firsts = h->pos_gaps = NULL;
    if (h->positions_len) {
        if (h->positions_len < 2 || h->positions[0] > 32 || h->positions[1] > 32)
            return DKS_ECORRUPT;
        h->first_bits = h->positions[0];
        h->pos_gap_bits = h->positions[1];
        if (packed_bytes(h->n, h->first_bits) > h->positions_len - 2)
            return DKS_ECORRUPT;
        h->firsts = h->positions + 2;
        h->pos_gaps = h->firsts + packed_bytes(h->n, h->first_bits);
    }
    return DKS_OK;
}

int dks_block_decode(const dks_block_header *h, uint32_t *docs, uint32_t *tfs)
{
    /* gaps into docs[1..], made absolute below */
    unpack(h->docs, h->n - 1, h->gap_bits, docs + 1);
    uint64_t doc = h->first_doc;
    docs[0] = h->first_doc;
    for (uint32_t i = 1; i < h->n; i++) {
        doc += (uint64_t)docs[i] + 1;
        if (doc > h->last_doc)
            return DKS_ECORRUPT;
        docs[i] = (uint32_t)doc;
    }
    if (doc != h->last_doc)
        return DKS_ECORRUPT;
    unpack(h->tfs, h->n, bit_width(h->max_tf - 1), tfs);
    uint64_t gaps = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        if (tfs[i] >= h->max_tf)
            return DKS_ECORRUPT;
        gaps += tfs[i];  /* tf - 1 gaps each */
        tfs[i]++;
    }
    /* the position section holds exactly the numbers the frequencies say */
    if (h->positions_len &&
        h->positions_len != 2 + packed_bytes(h->n, h->first_bits) +
                                (gaps * h->pos_gap_bits + 7) / 8)
        return DKS_ECORRUPT;
    return DKS_OK;
}

/* Number `index` of `bits` bits of a packed section whose bytes the
 * caller has checked. */
static uint32_t packed_at(const unsigned char *p, uint64_t index, unsigned bits)
{
    if (bits == 0)
        return 0;
    uint64_t bit = index * bits, acc = 0;
    size_t first = (size_t)(bit >> 3), last = (size_t)((bit + bits - 1) >> 3);
    for (size_t b = last + 1; b-- > first;)
        acc = acc << 8 | p[b];
    return (uint32_t)((acc >> (bit & 7)) & (bits == 32 ? 0xffffffffu : (1u << bits) - 1));
}

int dks_block_positions(const dks_block_header *h, uint32_t i, uint64_t gap_at, uint32_t tf,
                        uint32_t *out)
{
    if (!h->positions_len || i >= h->n)
        return DKS_ECORRUPT;
    uint64_t pos = packed_at(h->firsts, i, h->first_bits);
    /* each position is above the one before, so tf of them from the first
     * must fit below the limit: known before reading tf - 1 gaps */
    if (pos > DKS_MAX_POSITION || tf > DKS_MAX_POSITION + 1 - pos)
        return DKS_ECORRUPT;
    for (uint32_t k = 0; k < tf; k++) {
        if (k)
            pos += (uint64_t)packed_at(h->pos_gaps, gap_at + k - 1, h->pos_gap_bits) + 1;
        if (pos > DKS_MAX_POSITION)
            return DKS_ECORRUPT;
        out[k] = (uint32_t)pos;
    }
    return DKS_OK;
}

int dks_block_encode(dks_block_data *b, dks_buf *out)
{
    uint32_t min_len = UINT32_MAX, max_tf = 0, max_gap = 0;
    uint32_t gaps[DKS_BLOCK_DOCS], tfs[DKS_BLOCK_DOCS];
    uint64_t total_tf = 0;
    if (b->n == 0 || b->n > DKS_BLOCK_DOCS)
        return DKS_EINVAL;
    for (uint32_t i = 0; i < b->n; i++) {
        if (i > 0) {
            if (b->docs[i] <= b->docs[i - 1])
                return DKS_EINVAL;
            gaps[i - 1] = b->docs[i] - b->docs[i - 1] - 1;
            if (gaps[i - 1] > max_gap)
                max_gap = gaps[i - 1];
        }
        if (b->tfs[i] == 0)
            return DKS_EINVAL;
        tfs[i] = b->tfs[i] - 1;
        total_tf += b->tfs[i];
        if (b->tfs[i] > max_tf)
            max_tf = b->tfs[i];
        if (b->lens[i] < min_len)
            min_len = b->lens[i];
    }
    if (b->pos_n && b->pos_n != total_tf)
        return DKS_EINVAL;
    unsigned gap_bits = bit_width(max_gap);
    out->len = 0;
    int rc;
    if ((rc = dks_buf_put_varint(out, b->n)) ||
        (rc = dks_buf_put_varint(out, b->docs[b->n - 1] - b->docs[0])) ||
        (rc = dks_buf_put_varint(out, max_tf)) ||
        (rc = dks_buf_put_varint(out, min_len)) ||
        (rc = dks_buf_put_varint(out, gap_bits)) ||
        (rc = pack(out, gaps, b->n - 1, gap_bits)) ||
        (rc = pack(out, tfs, b->n, bit_width(max_tf - 1))))
        return rc;
    if (!b->pos_n)
        return DKS_OK;
    /* the first positions and the gaps, each packed at the width of its
     * largest */
    size_t n_gaps = b->pos_n - b->n;
    while (b->gaps_cap < n_gaps)
        if ((rc = dks_grow(&b->gaps, b->gaps_cap, &b->gaps_cap, sizeof *b->gaps, 1024)))
            return rc;
    uint32_t firsts[DKS_BLOCK_DOCS], max_first = 0, max_pos_gap = 0;
    size_t at = 0, g = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        firsts[i] = b->pos[at];
        if (firsts[i] > max_first)
            max_first = firsts[i];
        for (uint32_t k = 1; k < b->tfs[i]; k++, g++) {
            if (b->pos[at + k] <= b->pos[at + k - 1])
                return DKS_EINVAL;
            b->gaps[g] = b->pos[at + k] - b->pos[at + k - 1] - 1;
            if (b->gaps[g] > max_pos_gap)
                max_pos_gap = b->gaps[g];
        }
        at += b->tfs[i];
    }
    unsigned char widths[2] = {(unsigned char)bit_width(max_first),
                               (unsigned char)bit_width(max_pos_gap)};
    if ((rc = dks_buf_append(out, widths, 2)) || (rc = pack(out, firsts, b->n, widths[0])) ||
        (rc = pack(out, b->gaps, n_gaps, widths[1])))
        return rc;
    return DKS_OK;
}

int dks_block_pos_reserve(dks_block_data *b, size_t extra)
{
    int rc = DKS_OK;
    while (!rc && b->pos_cap - b->pos_n < extra)
        rc = dks_grow(&b->pos, b->pos_cap, &b->pos_cap, sizeof *b->pos, 1024);
    return rc;
}

void dks_block_data_free(dks_block_data *b)
{
    free(b->pos);
    free(b->gaps);
    b->pos = b->gaps = NULL;
    b->pos_n = b->pos_cap = b->gaps_cap = 0;
}

int dks_block_load(const dks_block_header *h, dks_block_data *b)
{
    int rc = dks_block_decode(h, b->docs, b->tfs);
    if (rc)
        return rc;
    b->n = h->n;
    b->pos_n = 0;
    uint64_t gap_at = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        b->lens[i] = h->min_len;
        if (!h->positions_len)
            continue;
        if ((rc = dks_block_pos_reserve(b, b->tfs[i])) ||
            (rc = dks_block_positions(h, i, gap_at, b->tfs[i], b->pos + b->pos_n)))
            return rc;
        b->pos_n += b->tfs[i];
        gap_at += b->tfs[i] - 1;
    }
    return DKS_OK;
}
