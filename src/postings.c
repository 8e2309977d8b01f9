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
 *   doc gaps    patched: n-1 numbers doc[i] - doc[i-1] - 1
 *   tfs         n numbers tf - 1, each in as many bits as max_tf - 1 needs
 *   positions   the rest; empty for keys that record no positions
 *               (dks_key_has_positions), else:
 *     n_gaps      varint, sum(tf) - n; only if max_tf > 1
 *     firsts      patched: n numbers, each document's first position
 *     gaps        patched: n_gaps numbers, for each document in turn,
 *                 position - previous position - 1 for its others
 *
 * A patched section packs its numbers at one width, and the few that need
 * more (exceptions) keep their high bits apart, so that one large gap
 * does not widen all the others.  A section of no numbers has no bytes.
 *
 *   width       u8: the bits of every number's low part, 0..32, | 0x80
 *               when there are exceptions; then:
 *     n_exc       varint, 1..count
 *     high_bits   u8, 1..32 - width
 *     indexes     n_exc numbers, ascending, in the bits count - 1 needs
 *     highs       n_exc numbers of high_bits bits: number >> width
 *   lows        count numbers of `width` bits: number & (2^width - 1)
 *
 * The writer picks the width that makes the section shortest.  A gap
 * between documents of a frequent term is mostly small and now and then
 * large, and so is a gap between positions.
 *
 * The header lets a reader skip a block (last doc) or bound its score
 * (max_tf, min_len) without decoding it, and a ranked query that needs no
 * positions never touches the position section.  Everything after the
 * header is bit-packed, least significant bit first, each run of numbers
 * padded to a whole byte: most frequencies are 1, and a block whose
 * largest is 1 spends no bits on them at all.  First positions are apart
 * from the gaps (they spread over the whole document, gaps are short), and
 * a document's positions are found without reading the others': its first
 * is number i, its gaps start after the tf - 1 of the documents before it.
 *
 * Index bytes are untrusted: every decoder checks every length and
 * returns DKS_ECORRUPT rather than reading past the value.
 */
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

/* Bits that hold v. */
static unsigned bit_width(uint64_t v)
{
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0;
}

static uint64_t packed_bytes(uint64_t n, unsigned bits)
{
    return (n * bits + 7) / 8;
}

/* The low `bits` bits set (bits 0..32). */
static uint32_t low_mask(unsigned bits)
{
    return bits == 32 ? 0xffffffffu : (1u << bits) - 1;
}

static size_t varint_bytes(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

/* Writes numbers of a given width one after another into reserved bytes,
 * least significant bit first.  The bits gather in a 64-bit word and
 * leave it four bytes at a time: fewer than 32 wait, so a number of up to
 * 32 bits always fits. */
typedef struct bit_writer {
    unsigned char *o;
    uint64_t acc;
    unsigned have;
} bit_writer;

static inline void put_bits(bit_writer *w, uint32_t v, unsigned bits)
{
    w->acc |= (uint64_t)v << w->have;
    w->have += bits;
    if (w->have >= 32) {
        for (unsigned k = 0; k < 4; k++)  /* one store, where bytes are little-endian */
            w->o[k] = (unsigned char)(w->acc >> (8 * k));
        w->o += 4;
        w->acc >>= 32;
        w->have -= 32;
    }
}

/* Writes the bits still waiting and pads to a whole byte. */
static void end_bits(bit_writer *w)
{
    for (; w->have > 0; w->have = w->have > 8 ? w->have - 8 : 0) {
        *w->o++ = (unsigned char)w->acc;
        w->acc >>= 8;
    }
    w->acc = 0;
}

/* The first byte of a patched section: the width, and this bit when there
 * are exceptions. */
#define PATCHED 0x80

/* The section's length with low bits `bits` wide, `above` numbers wider
 * than that and `widest` the bits of the largest. */
static uint64_t patched_bytes(uint64_t n, unsigned bits, uint64_t above, unsigned widest)
{
    uint64_t len = 1 + packed_bytes(n, bits);
    if (above)
        len += varint_bytes(above) + 1 + packed_bytes(above, bit_width(n - 1)) +
               packed_bytes(above, widest - bits);
    return len;
}

/* Appends v[0..n) as a patched section, at the width that makes it
 * shortest; nothing when n is 0. */
static int pack_patched(dks_buf *out, const uint32_t *v, size_t n)
{
    if (n == 0)
        return DKS_OK;
    uint64_t count[33] = {0};
    unsigned widest = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned w = bit_width(v[i]);
        count[w]++;
        if (w > widest)
            widest = w;
    }
    unsigned bits = widest;
    uint64_t best = patched_bytes(n, widest, 0, widest), above = 0, n_exc = 0;
    for (unsigned b = widest; b-- > 0;) {
        above += count[b + 1];
        uint64_t len = patched_bytes(n, b, above, widest);
        if (len < best) {
            best = len;
            bits = b;
            n_exc = above;
        }
    }
    int rc = dks_buf_reserve(out, best);
    if (rc)
        return rc;
    bit_writer w = {out->data + out->len, 0, 0};
    *w.o++ = (unsigned char)(bits | (n_exc ? PATCHED : 0));
    if (n_exc) {
        w.o += dks_varint_encode(w.o, n_exc);
        unsigned index_bits = bit_width(n - 1), high_bits = widest - bits;
        *w.o++ = (unsigned char)high_bits;
        for (size_t i = 0; i < n; i++)
            if (v[i] >> bits)
                put_bits(&w, (uint32_t)i, index_bits);
        end_bits(&w);
        for (size_t i = 0; i < n; i++)
            if (v[i] >> bits)
                put_bits(&w, v[i] >> bits, high_bits);
        end_bits(&w);
    }
    uint32_t mask = low_mask(bits);
    if (bits)
        for (size_t i = 0; i < n; i++)
            put_bits(&w, v[i] & mask, bits);
    end_bits(&w);
    out->len += best;
    return DKS_OK;
}

/* The 8 bytes at p as a number, least significant byte first. */
static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t word;
    memcpy(&word, p, sizeof word);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    word = __builtin_bswap64(word);
#endif
    return word;
}

/* Eight numbers of B bits take B whole bytes: a group.  One function per
 * width turns every offset, shift and mask of a group into a constant,
 * so a number costs a load, a shift, a mask and a store, where a width
 * known only at run time costs twice that. */
#define UNPACK_GROUPS(B)                                                              \
    static void unpack_groups_##B(const unsigned char *p, uint32_t groups, uint32_t *out) \
    {                                                                                 \
        for (uint32_t g = 0; g < groups; g++, p += (B), out += 8) {                   \
            _Pragma("GCC unroll 8") for (unsigned k = 0; k < 8; k++)                  \
                out[k] = (uint32_t)((load_le64(p + k * (B) / 8) >> (k * (B) % 8)) &     \
                                    (((uint64_t)1 << (B)) - 1));                      \
        }                                                                             \
    }
UNPACK_GROUPS(1)  UNPACK_GROUPS(2)  UNPACK_GROUPS(3)  UNPACK_GROUPS(4)
UNPACK_GROUPS(5)  UNPACK_GROUPS(6)  UNPACK_GROUPS(7)  UNPACK_GROUPS(8)
UNPACK_GROUPS(9)  UNPACK_GROUPS(10) UNPACK_GROUPS(11) UNPACK_GROUPS(12)
UNPACK_GROUPS(13) UNPACK_GROUPS(14) UNPACK_GROUPS(15) UNPACK_GROUPS(16)
UNPACK_GROUPS(17) UNPACK_GROUPS(18) UNPACK_GROUPS(19) UNPACK_GROUPS(20)
UNPACK_GROUPS(21) UNPACK_GROUPS(22) UNPACK_GROUPS(23) UNPACK_GROUPS(24)
UNPACK_GROUPS(25) UNPACK_GROUPS(26) UNPACK_GROUPS(27) UNPACK_GROUPS(28)
UNPACK_GROUPS(29) UNPACK_GROUPS(30) UNPACK_GROUPS(31) UNPACK_GROUPS(32)

static void (*const unpack_groups[33])(const unsigned char *, uint32_t, uint32_t *) = {
    NULL,              unpack_groups_1,  unpack_groups_2,  unpack_groups_3,  unpack_groups_4,
    unpack_groups_5,   unpack_groups_6,  unpack_groups_7,  unpack_groups_8,  unpack_groups_9,
    unpack_groups_10,  unpack_groups_11, unpack_groups_12, unpack_groups_13, unpack_groups_14,
    unpack_groups_15,  unpack_groups_16, unpack_groups_17, unpack_groups_18, unpack_groups_19,
    unpack_groups_20,  unpack_groups_21, unpack_groups_22, unpack_groups_23, unpack_groups_24,
    unpack_groups_25,  unpack_groups_26, unpack_groups_27, unpack_groups_28, unpack_groups_29,
    unpack_groups_30,  unpack_groups_31, unpack_groups_32,
};

/* Reads n (at most DKS_BLOCK_DOCS) numbers of `bits` bits each from p
 * (packed_bytes(n, bits) bytes, which the caller has checked are there).
 * The section is copied into a padded buffer first, so that every number
 * is one unaligned 8-byte load and a shift, without reading past the
 * value in the map: whole groups of eight by the width's own function,
 * the rest one by one. */
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
    uint32_t whole = n / 8 * 8;
    unpack_groups[bits](buf, n / 8, out);
    uint64_t mask = low_mask(bits);
    size_t bit = (size_t)whole * bits;
    for (uint32_t i = whole; i < n; i++, bit += bits)
        out[i] = (uint32_t)((load_le64(buf + (bit >> 3)) >> (bit & 7)) & mask);
}

/* Number `index` of `bits` bits of a packed run whose bytes the caller
 * has checked. */
static uint32_t packed_at(const unsigned char *p, uint64_t index, unsigned bits)
{
    if (bits == 0)
        return 0;
    uint64_t bit = index * bits, acc = 0;
    size_t first = (size_t)(bit >> 3), last = (size_t)((bit + bits - 1) >> 3);
    for (size_t b = last + 1; b-- > first;)
        acc = acc << 8 | p[b];
    return (uint32_t)(acc >> (bit & 7)) & low_mask(bits);
}

/* Reads the patched section of n numbers at *p, up to end, and moves *p
 * past it. */
static int parse_patched(const unsigned char **p, const unsigned char *end, uint64_t n,
                         dks_packed *s)
{
    memset(s, 0, sizeof *s);
    if (n == 0)
        return DKS_OK;
    if (*p >= end || n > UINT32_MAX)
        return DKS_ECORRUPT;
    unsigned first = *(*p)++;
    s->bits = first & ~PATCHED;
    s->n = n;
    s->index_bits = bit_width(n - 1);
    if (s->bits > 32)
        return DKS_ECORRUPT;
    if (first & PATCHED) {
        if (dks_varint_decode(p, end, &s->n_exc) || s->n_exc == 0 || s->n_exc > n ||
            *p >= end)
            return DKS_ECORRUPT;
        uint64_t n_exc = s->n_exc;
        s->high_bits = *(*p)++;
        if (s->high_bits == 0 || s->bits + s->high_bits > 32)
            return DKS_ECORRUPT;
        uint64_t index_len = packed_bytes(n_exc, s->index_bits);
        uint64_t high_len = packed_bytes(n_exc, s->high_bits);
        if (index_len > (uint64_t)(end - *p) || high_len > (uint64_t)(end - *p) - index_len)
            return DKS_ECORRUPT;
        s->index = *p;
        s->high = *p + index_len;
        *p += index_len + high_len;
    }
    uint64_t low_len = packed_bytes(n, s->bits);
    if (low_len > (uint64_t)(end - *p))
        return DKS_ECORRUPT;
    s->low = *p;
    *p += low_len;
    return DKS_OK;
}

/* Whether the exceptions' indexes ascend and stay below the count. */
static int exceptions_valid(const dks_packed *s)
{
    uint64_t prev = 0;
    for (uint64_t j = 0; j < s->n_exc; j++) {
        uint64_t at = packed_at(s->index, j, s->index_bits);
        if (at >= s->n || (j > 0 && at <= prev))
            return 0;
        prev = at;
    }
    return 1;
}

/* Patches count exceptions (their places at[], high bits high[]) into
 * the numbers of a section of n, checking that the places ascend from
 * *lowest and stay below n; *lowest then is one past the last. */
static inline int patch_exceptions(const uint32_t *at, const uint32_t *high, uint32_t count,
                                   uint64_t n, unsigned bits, uint64_t *lowest, uint32_t *out)
{
    uint64_t from = *lowest;
    for (uint32_t j = 0; j < count; j++) {
        if (at[j] < from || at[j] >= n)
            return DKS_ECORRUPT;
        from = (uint64_t)at[j] + 1;
        out[at[j]] |= high[j] << bits;
    }
    *lowest = from;
    return DKS_OK;
}

/* Every number of a section of at most DKS_BLOCK_DOCS (a block's). */
static int unpack_patched(const dks_packed *s, uint32_t *out)
{
    if (s->n > DKS_BLOCK_DOCS)
        return DKS_ECORRUPT;
    unpack(s->low, (uint32_t)s->n, s->bits, out);
    if (!s->n_exc)
        return DKS_OK;
    uint32_t at[DKS_BLOCK_DOCS], high[DKS_BLOCK_DOCS];
    unpack(s->index, (uint32_t)s->n_exc, s->index_bits, at);
    unpack(s->high, (uint32_t)s->n_exc, s->high_bits, high);
    uint64_t lowest = 0;
    return patch_exceptions(at, high, (uint32_t)s->n_exc, s->n, s->bits, &lowest, out);
}

/* Every number of a patched section of any length (a block's position
 * gaps): as unpack_patched, DKS_BLOCK_DOCS numbers at a time (a run of
 * that many numbers of B bits is 16 B bytes, so each starts on a byte). */
static int unpack_patched_any(const dks_packed *s, uint32_t *out)
{
    for (uint64_t done = 0; done < s->n; done += DKS_BLOCK_DOCS) {
        uint64_t left = s->n - done;
        unpack(s->low + done / 8 * s->bits,
               left < DKS_BLOCK_DOCS ? (uint32_t)left : DKS_BLOCK_DOCS, s->bits, out + done);
    }
    uint32_t at[DKS_BLOCK_DOCS], high[DKS_BLOCK_DOCS];
    uint64_t lowest = 0;
    for (uint64_t done = 0; done < s->n_exc; done += DKS_BLOCK_DOCS) {
        uint64_t left = s->n_exc - done;
        uint32_t count = left < DKS_BLOCK_DOCS ? (uint32_t)left : DKS_BLOCK_DOCS;
        unpack(s->index + done / 8 * s->index_bits, count, s->index_bits, at);
        unpack(s->high + done / 8 * s->high_bits, count, s->high_bits, high);
        int rc = patch_exceptions(at, high, count, s->n, s->bits, &lowest, out);
        if (rc)
            return rc;
    }
    return DKS_OK;
}

/* The first exception at or after number i (n_exc if none). */
static uint64_t exception_from(const dks_packed *s, uint64_t i)
{
    uint64_t lo = 0, hi = s->n_exc;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (packed_at(s->index, mid, s->index_bits) < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Reads numbers of a section in ascending order from a start, with the
 * next exception at hand. */
typedef struct patched_reader {
    const dks_packed *s;
    uint64_t exc;       /* the next exception */
    uint64_t exc_at;    /* its index; UINT64_MAX when none is left */
} patched_reader;

static void exception_load(patched_reader *r)
{
    r->exc_at = r->exc < r->s->n_exc ? packed_at(r->s->index, r->exc, r->s->index_bits)
                                     : UINT64_MAX;
}

static void patched_start(patched_reader *r, const dks_packed *s, uint64_t from)
{
    r->s = s;
    r->exc = exception_from(s, from);
    exception_load(r);
}

/* Number i, at or after the one read before. */
static uint32_t patched_next(patched_reader *r, uint64_t i)
{
    uint32_t v = packed_at(r->s->low, i, r->s->bits);
    if (i == r->exc_at) {
        v |= packed_at(r->s->high, r->exc++, r->s->high_bits) << r->s->bits;
        exception_load(r);
    }
    return v;
}

int dks_block_parse_head(const unsigned char *val, size_t len, uint32_t first_doc,
                         dks_block_header *h)
{
    const unsigned char *p = val, *end = val + len;
    uint32_t last_delta;
    int rc;
    if ((rc = dks_varint_decode32(&p, end, &h->n)) ||
        (rc = dks_varint_decode32(&p, end, &last_delta)) ||
        (rc = dks_varint_decode32(&p, end, &h->max_tf)) ||
        (rc = dks_varint_decode32(&p, end, &h->min_len)))
        return rc;
    /* (a larger max_tf would have readers allocate and walk positions that
     * cannot be there) */
    if (h->n == 0 || h->n > DKS_BLOCK_DOCS || h->max_tf == 0 || h->max_tf > DKS_MAX_TF)
        return DKS_ECORRUPT;
    /* the last document is below DKS_DOC_END (in 64 bits: a first document
     * of UINT32_MAX must not wrap the bound around) */
    if ((uint64_t)first_doc + last_delta >= UINT32_MAX || (h->n == 1) != (last_delta == 0))
        return DKS_ECORRUPT;
    if (last_delta < h->n - 1)
        return DKS_ECORRUPT;
    if ((rc = parse_patched(&p, end, h->n - 1, &h->gaps)))
        return rc;
    /* with every frequency 1 there are none to store */
    if ((rc = parse_patched(&p, end, h->max_tf > 1 ? h->n : 0, &h->tfs)))
        return rc;
    h->first_doc = first_doc;
    h->last_doc = first_doc + last_delta;
    h->positions = p;
    h->positions_len = (size_t)(end - h->positions);
    h->positions_parsed = 0;
    return DKS_OK;
}

int dks_block_parse_positions(dks_block_header *h)
{
    if (h->positions_parsed)
        return DKS_OK;
    h->n_pos_gaps = 0;
    if (h->positions_len) {
        const unsigned char *p = h->positions, *end = h->positions + h->positions_len;
        int rc;
        /* with every frequency 1 there are no gaps, and no count of them */
        if (h->max_tf > 1 && ((rc = dks_varint_decode(&p, end, &h->n_pos_gaps)) ||
                              h->n_pos_gaps == 0 ||
                              h->n_pos_gaps > (uint64_t)h->n * (h->max_tf - 1)))
            return DKS_ECORRUPT;
        /* the two sections fill the rest of the value */
        if ((rc = parse_patched(&p, end, h->n, &h->firsts)) ||
            (rc = parse_patched(&p, end, h->n_pos_gaps, &h->pos_gaps)))
            return rc;
        if (p != end)
            return DKS_ECORRUPT;
    }
    h->positions_parsed = 1;
    return DKS_OK;
}

int dks_block_parse(const unsigned char *val, size_t len, uint32_t first_doc,
                    dks_block_header *h)
{
    int rc = dks_block_parse_head(val, len, first_doc, h);
    return rc ? rc : dks_block_parse_positions(h);
}

int dks_block_decode_docs(const dks_block_header *h, uint32_t *docs)
{
    /* gaps into docs[1..], made absolute below */
    if (unpack_patched(&h->gaps, docs + 1))
        return DKS_ECORRUPT;
    /* the sum only grows, and 127 gaps of 32 bits cannot carry a 64-bit
     * one over: the last document alone says whether any went past */
    uint64_t doc = h->first_doc;
    docs[0] = h->first_doc;
    /* n is a local: h->n, read through a pointer, might change with every
     * store to docs as far as the compiler knows, and be read again */
    uint32_t n = h->n;
    _Pragma("GCC unroll 8") for (uint32_t i = 1; i < n; i++) {
        doc += (uint64_t)docs[i] + 1;
        docs[i] = (uint32_t)doc;
    }
    return doc == h->last_doc ? DKS_OK : DKS_ECORRUPT;
}

int dks_block_decode_tfs(const dks_block_header *h, uint32_t *tfs)
{
    uint32_t n = h->n;  /* a local, as in dks_block_decode_docs */
    if (h->max_tf == 1) {
        for (uint32_t i = 0; i < n; i++)
            tfs[i] = 1;
        return DKS_OK;  /* and no gaps between positions */
    }
    if (unpack_patched(&h->tfs, tfs))
        return DKS_ECORRUPT;
    uint64_t gaps = 0;
    uint32_t most = 0;
    _Pragma("GCC unroll 8") for (uint32_t i = 0; i < n; i++) {
        most = tfs[i] > most ? tfs[i] : most;
        gaps += tfs[i];  /* tf - 1 gaps each */
        tfs[i]++;
    }
    if (most >= h->max_tf)
        return DKS_ECORRUPT;
    /* the position section holds exactly the numbers the frequencies say
     * (known once its header is parsed) */
    if (h->positions_parsed && h->positions_len && h->n_pos_gaps != gaps)
        return DKS_ECORRUPT;
    return DKS_OK;
}

int dks_block_decode(dks_block_header *h, uint32_t *docs, uint32_t *tfs)
{
    int rc = dks_block_parse_positions(h);  /* for the frequencies' check */
    if (!rc)
        rc = dks_block_decode_docs(h, docs);
    return rc ? rc : dks_block_decode_tfs(h, tfs);
}

int dks_block_tf(const dks_block_header *h, uint32_t i, uint32_t *tf)
{
    if (i >= h->n)
        return DKS_EINVAL;
    if (h->max_tf == 1) {
        *tf = 1;
        return DKS_OK;
    }
    patched_reader r;
    patched_start(&r, &h->tfs, i);
    uint32_t v = patched_next(&r, i);
    if (v >= h->max_tf)
        return DKS_ECORRUPT;
    *tf = v + 1;
    return DKS_OK;
}

int dks_block_check_positions(dks_block_header *h)
{
    int rc = dks_block_parse_positions(h);
    if (rc)
        return rc;
    return !h->positions_len || (exceptions_valid(&h->firsts) && exceptions_valid(&h->pos_gaps))
               ? DKS_OK
               : DKS_ECORRUPT;
}

int dks_block_positions(dks_block_header *h, uint32_t i, uint64_t gap_at, uint32_t tf,
                        uint32_t *out)
{
    int rc = h->positions_parsed ? DKS_OK : dks_block_parse_positions(h);  /* once a block */
    if (rc)
        return rc;
    if (!h->positions_len || i >= h->n)
        return DKS_ECORRUPT;
    patched_reader r;
    patched_start(&r, &h->firsts, i);
    uint64_t pos = patched_next(&r, i);
    /* each position is above the one before, so tf of them from the first
     * must fit below the limit: known before reading tf - 1 gaps */
    if (pos > DKS_MAX_POSITION || tf > DKS_MAX_POSITION + 1 - pos ||
        (tf > 0 && gap_at + tf - 1 > h->n_pos_gaps))
        return DKS_ECORRUPT;
    if (tf > 1)
        patched_start(&r, &h->pos_gaps, gap_at);
    for (uint32_t k = 0; k < tf; k++) {
        if (k)
            pos += (uint64_t)patched_next(&r, gap_at + k - 1) + 1;
        if (pos > DKS_MAX_POSITION)
            return DKS_ECORRUPT;
        out[k] = (uint32_t)pos;
    }
    return DKS_OK;
}

int dks_block_decode_positions(dks_block_header *h, const uint32_t *tfs, uint32_t *out)
{
    int rc = h->positions_parsed ? DKS_OK : dks_block_parse_positions(h);
    if (rc)
        return rc;
    uint32_t n = h->n;
    uint64_t n_gaps = 0;
    for (uint32_t i = 0; i < n; i++)
        n_gaps += tfs[i] - 1;
    if (!h->positions_len || n_gaps != h->n_pos_gaps)
        return DKS_ECORRUPT;
    uint32_t firsts[DKS_BLOCK_DOCS];
    /* the gaps go after the first n places: document i's positions then
     * take the places of its gaps shifted down by n - i, each written
     * after the gap it replaces was read */
    if (unpack_patched(&h->firsts, firsts) ||
        unpack_patched_any(&h->pos_gaps, out + n))
        return DKS_ECORRUPT;
    uint64_t gap = n;
    size_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t pos = firsts[i];
        for (uint32_t k = 0; k < tfs[i]; k++) {
            if (k)
                pos += (uint64_t)out[gap++] + 1;
            if (pos > DKS_MAX_POSITION)
                return DKS_ECORRUPT;
            out[at++] = (uint32_t)pos;
        }
    }
    return DKS_OK;
}

int dks_block_encode(dks_block_data *b, dks_buf *out)
{
    uint32_t min_len = UINT32_MAX, max_tf = 0;
    uint32_t gaps[DKS_BLOCK_DOCS], tfs[DKS_BLOCK_DOCS];
    uint64_t total_tf = 0;
    if (b->n == 0 || b->n > DKS_BLOCK_DOCS)
        return DKS_EINVAL;
    for (uint32_t i = 0; i < b->n; i++) {
        if (i > 0) {
            if (b->docs[i] <= b->docs[i - 1])
                return DKS_EINVAL;
            gaps[i - 1] = b->docs[i] - b->docs[i - 1] - 1;
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
    out->len = 0;
    int rc;
    if ((rc = dks_buf_put_varint(out, b->n)) ||
        (rc = dks_buf_put_varint(out, b->docs[b->n - 1] - b->docs[0])) ||
        (rc = dks_buf_put_varint(out, max_tf)) ||
        (rc = dks_buf_put_varint(out, min_len)) ||
        (rc = pack_patched(out, gaps, b->n - 1)) ||
        (rc = pack_patched(out, tfs, max_tf > 1 ? b->n : 0)))
        return rc;
    if (!b->pos_n)
        return DKS_OK;
    size_t n_gaps = b->pos_n - b->n;
    while (b->gaps_cap < n_gaps)
        if ((rc = dks_grow(&b->gaps, b->gaps_cap, &b->gaps_cap, sizeof *b->gaps, 1024)))
            return rc;
    uint32_t firsts[DKS_BLOCK_DOCS];
    size_t at = 0, g = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        firsts[i] = b->pos[at];
        for (uint32_t k = 1; k < b->tfs[i]; k++, g++) {
            if (b->pos[at + k] <= b->pos[at + k - 1])
                return DKS_EINVAL;
            b->gaps[g] = b->pos[at + k] - b->pos[at + k - 1] - 1;
        }
        at += b->tfs[i];
    }
    if ((max_tf > 1 && (rc = dks_buf_put_varint(out, n_gaps))) ||
        (rc = pack_patched(out, firsts, b->n)) || (rc = pack_patched(out, b->gaps, n_gaps)))
        return rc;
    return DKS_OK;
}

int dks_block_pos_grow(dks_block_data *b, size_t extra)
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

int dks_block_load(dks_block_header *h, dks_block_data *b)
{
    int rc = dks_block_decode(h, b->docs, b->tfs);
    if (!rc)
        rc = dks_block_check_positions(h);
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
