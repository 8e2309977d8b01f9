/*
 * The posting block codec and the integer codings under it: random round
 * trips, and damaged bytes that must give DKS_ECORRUPT, never a crash or a
 * read past the value (the sanitizer build checks the latter).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure reproduces */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static void test_varint_round_trip(void **state)
{
    (void)state;
    uint64_t values[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
                         UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        unsigned char buf[10];
        size_t n = dks_varint_encode(buf, values[i]);
        const unsigned char *p = buf;
        uint64_t v;
        assert_int_equal(dks_varint_decode(&p, buf + n, &v), DKS_OK);
        assert_true(v == values[i]);
        assert_ptr_equal(p, buf + n);
        /* Every truncation is detected. */
        for (size_t cut = 0; cut < n; cut++) {
            p = buf;
            assert_int_equal(dks_varint_decode(&p, buf + cut, &v), DKS_ECORRUPT);
        }
    }
    /* Eleven continuation bytes are not a 64-bit number. */
    unsigned char endless[11];
    memset(endless, 0xFF, sizeof endless);
    const unsigned char *p = endless;
    uint64_t v;
    assert_int_equal(dks_varint_decode(&p, endless + sizeof endless, &v), DKS_ECORRUPT);
    /* A value over 32 bits where 32 are expected. */
    unsigned char big[10];
    size_t n = dks_varint_encode(big, (uint64_t)UINT32_MAX + 5);
    p = big;
    uint32_t v32;
    assert_int_equal(dks_varint_decode32(&p, big + n, &v32), DKS_ECORRUPT);
}

/* A gap up to max; with skew, most are small and one in sixteen is any
 * size, as between the documents of a frequent word: the encoder then
 * packs the small ones narrow and patches the others. */
static uint32_t random_gap(uint32_t max, int skew)
{
    return 1 + (skew && rnd() % 16 ? rnd() % 4 : rnd() % max);
}

/* Fills a block with n random documents and positions. */
static void random_block(dks_block_data *b, uint32_t n, uint32_t first, uint32_t max_gap,
                         uint32_t max_tf, int skew, uint32_t positions[][16])
{
    b->n = n;
    b->pos_n = 0;
    uint32_t doc = first;
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            doc += random_gap(max_gap, skew);
        b->docs[i] = doc;
        /* skewed, most are 1 and a few any: patched frequencies */
        b->tfs[i] = skew && rnd() % 8 ? 1 : 1 + rnd() % max_tf;
        b->lens[i] = 5 + rnd() % 5000;
        uint32_t pos = rnd() % 1000;
        for (uint32_t j = 0; j < b->tfs[i]; j++) {
            positions[i][j] = pos;
            pos += random_gap(300, skew);
        }
        assert_int_equal(dks_block_pos_reserve(b, b->tfs[i]), DKS_OK);
        memcpy(b->pos + b->pos_n, positions[i], b->tfs[i] * sizeof *b->pos);
        b->pos_n += b->tfs[i];
    }
}

static void test_block_round_trip(void **state)
{
    (void)state;
    static uint32_t positions[DKS_BLOCK_DOCS][16];
    dks_block_data b = {0};
    dks_buf enc = {0};
    int patched_tfs = 0;
    for (int round = 0; round < 2000; round++) {
        uint32_t n = 1 + rnd() % DKS_BLOCK_DOCS;
        uint32_t max_gap = round % 3 == 0 ? 1 : round % 3 == 1 ? 100 : 1000000;
        uint32_t first = rnd() % 1000000;
        /* all frequencies 1 (packed in no bits at all) every fifth round */
        random_block(&b, n, first, max_gap, round % 5 ? 16 : 1, round % 2, positions);
        assert_int_equal(dks_block_encode(&b, &enc), DKS_OK);

        dks_block_header h;
        assert_int_equal(dks_block_parse(enc.data, enc.len, first, &h), DKS_OK);
        assert_int_equal(h.n, n);
        assert_int_equal(h.first_doc, b.docs[0]);
        assert_int_equal(h.last_doc, b.docs[n - 1]);
        uint32_t max_tf = 0, min_len = UINT32_MAX;
        for (uint32_t i = 0; i < n; i++) {
            max_tf = b.tfs[i] > max_tf ? b.tfs[i] : max_tf;
            min_len = b.lens[i] < min_len ? b.lens[i] : min_len;
        }
        assert_int_equal(h.max_tf, max_tf);
        assert_int_equal(h.min_len, min_len);
        patched_tfs += h.tfs.n_exc > 0;

        uint32_t docs[DKS_BLOCK_DOCS], tfs[DKS_BLOCK_DOCS];
        assert_int_equal(dks_block_decode(&h, docs, tfs), DKS_OK);
        assert_memory_equal(docs, b.docs, n * sizeof *docs);
        assert_memory_equal(tfs, b.tfs, n * sizeof *tfs);
        /* each frequency alone, as a search reads those of few documents */
        for (uint32_t i = 0; i < n; i++) {
            uint32_t tf;
            assert_int_equal(dks_block_tf(&h, i, &tf), DKS_OK);
            assert_int_equal(tf, b.tfs[i]);
        }
        uint32_t past;
        assert_int_equal(dks_block_tf(&h, n, &past), DKS_EINVAL);

        /* any document's positions, read without the others' (backwards) */
        uint64_t gap_at = 0;
        for (uint32_t i = 0; i < n; i++)
            gap_at += tfs[i] - 1;
        for (uint32_t i = n; i-- > 0;) {
            uint32_t got[16];
            gap_at -= tfs[i] - 1;
            assert_int_equal(dks_block_positions(&h, i, gap_at, tfs[i], got), DKS_OK);
            assert_memory_equal(got, positions[i], tfs[i] * sizeof *got);
        }
        /* every position of the block at once, as a phrase of frequent
         * words reads them */
        uint32_t all[DKS_BLOCK_DOCS * 16];
        assert_int_equal(dks_block_decode_positions(&h, tfs, all), DKS_OK);
        for (uint32_t i = 0, at = 0; i < n; at += tfs[i++])
            assert_memory_equal(all + at, positions[i], tfs[i] * sizeof *all);
        /* in two halves, as a search parses: documents and frequencies at
         * once, positions only once asked for, then the same */
        dks_block_header head;
        uint32_t got[16];
        assert_int_equal(dks_block_parse_head(enc.data, enc.len, first, &head), DKS_OK);
        assert_int_equal(dks_block_decode_docs(&head, docs), DKS_OK);
        assert_int_equal(dks_block_decode_tfs(&head, tfs), DKS_OK);
        assert_memory_equal(docs, b.docs, n * sizeof *docs);
        assert_memory_equal(tfs, b.tfs, n * sizeof *tfs);
        assert_false(head.positions_parsed);
        assert_int_equal(dks_block_positions(&head, 0, 0, tfs[0], got), DKS_OK);
        assert_true(head.positions_parsed);
        assert_memory_equal(got, positions[0], tfs[0] * sizeof *got);
        assert_int_equal(dks_block_parse_positions(&head), DKS_OK);
        /* a byte too many after the positions shows only in their half */
        assert_int_equal(dks_buf_putc(&enc, 0), DKS_OK);
        assert_int_equal(dks_block_parse_head(enc.data, enc.len, first, &head), DKS_OK);
        assert_int_equal(dks_block_decode_docs(&head, docs), DKS_OK);
        assert_int_equal(dks_block_positions(&head, 0, 0, tfs[0], got), DKS_ECORRUPT);
        assert_int_equal(dks_block_decode_positions(&head, tfs, all), DKS_ECORRUPT);
        assert_int_equal(dks_block_decode(&head, docs, tfs), DKS_ECORRUPT);
        assert_int_equal(dks_block_parse(enc.data, enc.len, first, &h), DKS_ECORRUPT);
        /* a block of a key without positions */
        b.pos_n = 0;
        assert_int_equal(dks_block_encode(&b, &enc), DKS_OK);
        assert_int_equal(dks_block_parse(enc.data, enc.len, first, &h), DKS_OK);
        assert_int_equal(h.positions_len, 0);
        assert_int_equal(dks_block_decode(&h, docs, tfs), DKS_OK);
    }
    assert_true(patched_tfs > 100);
    dks_buf_free(&enc);
    dks_block_data_free(&b);
}

/* Gaps of every width from 1 to 32 bits, in blocks of every count up to
 * 17 and around the multiples of 8 (the decoder reads whole groups of
 * eight numbers apart from the rest), as far as the document ids allow. */
static void test_every_width_round_trips(void **state)
{
    (void)state;
    static const uint32_t counts[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,   10,  11, 12,
                                      13, 14, 15, 16, 17, 63, 64, 65, 127, 128};
    dks_block_data b = {0};
    dks_buf enc = {0};
    int decoded = 0;
    for (unsigned width = 1; width <= 32; width++) {
        uint64_t top = (uint64_t)1 << (width - 1);
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            uint32_t n = counts[c];
            if ((uint64_t)(n - 1) * (2 * top) > UINT32_MAX)
                break;
            b.n = n;
            b.pos_n = 0;
            uint64_t doc = 0;
            for (uint32_t i = 0; i < n; i++) {
                /* doc - previous - 1 is width bits wide */
                if (i)
                    doc += 1 + (top | (rnd() & (top - 1)));
                b.docs[i] = (uint32_t)doc;
                b.tfs[i] = 1 + rnd() % 3;
                b.lens[i] = 10;
            }
            assert_int_equal(dks_block_encode(&b, &enc), DKS_OK);
            dks_block_header h;
            assert_int_equal(dks_block_parse(enc.data, enc.len, b.docs[0], &h), DKS_OK);
            uint32_t docs[DKS_BLOCK_DOCS], tfs[DKS_BLOCK_DOCS];
            assert_int_equal(dks_block_decode(&h, docs, tfs), DKS_OK);
            assert_memory_equal(docs, b.docs, n * sizeof *docs);
            assert_memory_equal(tfs, b.tfs, n * sizeof *tfs);
            decoded++;
        }
    }
    assert_true(decoded > 400);
    dks_buf_free(&enc);
    dks_block_data_free(&b);
}

static void test_encode_rejects_unsorted_docs(void **state)
{
    (void)state;
    dks_block_data b = {.n = 2, .docs = {5, 5}, .tfs = {1, 1}, .lens = {3, 3}};
    dks_buf enc = {0};
    assert_int_equal(dks_block_encode(&b, &enc), DKS_EINVAL);
    b.docs[1] = 6;
    b.tfs[1] = 0;
    assert_int_equal(dks_block_encode(&b, &enc), DKS_EINVAL);
    dks_buf_free(&enc);
}

/* Parses and decodes a possibly damaged block, each document's positions
 * alone and then all at once; returns the first error.  Where both ways
 * read the positions, they read the same. */
static int decode_all(const unsigned char *val, size_t len, uint32_t first)
{
    dks_block_header h;
    static uint32_t docs[DKS_BLOCK_DOCS], tfs[DKS_BLOCK_DOCS], pos[DKS_BLOCK_DOCS * 4096],
        all[DKS_BLOCK_DOCS * 4096];
    int rc = dks_block_parse(val, len, first, &h);
    if (!rc)
        rc = dks_block_decode(&h, docs, tfs);
    uint64_t gap_at = 0, at = 0;
    for (uint32_t i = 0; !rc && i < h.n; i++) {
        if (tfs[i] > 4096)
            return DKS_ECORRUPT;
        rc = dks_block_positions(&h, i, gap_at, tfs[i], pos + at);
        gap_at += tfs[i] - 1;
        at += tfs[i];
    }
    if (rc || !h.positions_len)
        return rc;
    /* all at once also checks the exceptions' order, which alone it does not */
    if ((rc = dks_block_decode_positions(&h, tfs, all)) == DKS_OK)
        assert_memory_equal(all, pos, at * sizeof *all);
    return rc;
}

static void test_damaged_blocks_are_detected(void **state)
{
    (void)state;
    static uint32_t positions[DKS_BLOCK_DOCS][16];
    dks_block_data b = {0};
    dks_buf enc = {0};
    random_block(&b, 100, 1000, 5000, 16, 1, positions);
    assert_int_equal(dks_block_encode(&b, &enc), DKS_OK);
    assert_int_equal(decode_all(enc.data, enc.len, 1000), DKS_OK);

    /* Every truncation is an error: the frequencies say how long the
     * position section is. */
    for (size_t cut = 0; cut < enc.len; cut++) {
        unsigned char *copy = malloc(cut ? cut : 1);
        memcpy(copy, enc.data, cut);
        assert_int_equal(decode_all(copy, cut, 1000), DKS_ECORRUPT);
        free(copy);
    }
    /* Random byte flips: an error or a clean decode, never a crash. */
    size_t errors = 0;
    for (int round = 0; round < 20000; round++) {
        unsigned char *copy = malloc(enc.len);
        memcpy(copy, enc.data, enc.len);
        for (int k = 0; k < 1 + round % 4; k++)
            copy[rnd() % enc.len] ^= (unsigned char)(1 + rnd() % 255);
        errors += decode_all(copy, enc.len, 1000) != DKS_OK;
        free(copy);
    }
    assert_true(errors > 0);
    /* A first document near the top of the id space cannot overflow, nor
     * one at its very top (where the header's bound once wrapped around:
     * a last document below the first). */
    assert_int_equal(decode_all(enc.data, enc.len, UINT32_MAX - 10), DKS_ECORRUPT);
    dks_block_header h;
    assert_int_equal(dks_block_parse(enc.data, enc.len, UINT32_MAX, &h), DKS_ECORRUPT);
    dks_buf_free(&enc);
    dks_block_data_free(&b);
}

/* Frequencies that claim more positions than a document can have: known
 * from the header, before a reader allocates or walks them.  With zero-bit
 * gaps such a block is a few bytes whatever it claims. */
static void test_impossible_frequencies_are_corrupt(void **state)
{
    (void)state;
    /* one document, tf 2^31: more occurrences than a document has bytes,
     * refused from the header */
    static const unsigned char too_many[] = {
        1, 0, 0x80, 0x80, 0x80, 0x80, 0x08, 1,  /* n, last, max_tf 2^31, min_len (no gaps) */
        31, 0xff, 0xff, 0xff, 0x7f,             /* tf - 1 in 31 bits */
        0xfe, 0xff, 0xff, 0xff, 0x07,           /* 2^31 - 1 position gaps */
        0, 0};                                  /* first in 0 bits, gaps in 0 bits */
    dks_block_header h;
    uint32_t docs[DKS_BLOCK_DOCS], tfs[DKS_BLOCK_DOCS];
    assert_int_equal(dks_block_parse(too_many, sizeof too_many, 7, &h), DKS_ECORRUPT);
    /* tf 2^24 is possible, but not from a first position near the limit */
    static const unsigned char past_limit[] = {
        1, 0, 0x80, 0x80, 0x80, 0x08, 1,  /* max_tf 2^24 */
        24, 0xff, 0xff, 0xff,             /* tf - 1 in 24 bits */
        0xff, 0xff, 0xff, 0x07,           /* 2^24 - 1 position gaps */
        30, 0xf5, 0xff, 0xff, 0x3f,       /* first in 30 bits: 2^30 - 11 */
        0};                               /* gaps in 0 bits */
    assert_int_equal(dks_block_parse(past_limit, sizeof past_limit, 7, &h), DKS_OK);
    assert_int_equal(dks_block_decode(&h, docs, tfs), DKS_OK);
    assert_int_equal(tfs[0], (uint32_t)1 << 24);
    uint32_t pos[1];
    assert_int_equal(dks_block_positions(&h, 0, 0, tfs[0], pos), DKS_ECORRUPT);
    /* a frequency above the header's largest, read alone or with the rest */
    static const unsigned char above_max[] = {
        2, 1, 2, 1,  /* n 2, last 1, max_tf 2, min_len 1 */
        0,           /* the one gap in 0 bits */
        2, 0x0c};    /* tf - 1 in 2 bits: 0 and 3 */
    assert_int_equal(dks_block_parse(above_max, sizeof above_max, 7, &h), DKS_OK);
    uint32_t tf;
    assert_int_equal(dks_block_tf(&h, 0, &tf), DKS_OK);
    assert_int_equal(tf, 1);
    assert_int_equal(dks_block_tf(&h, 1, &tf), DKS_ECORRUPT);
    assert_int_equal(dks_block_decode(&h, docs, tfs), DKS_ECORRUPT);
}

/* One large gap among small ones is patched: the others stay narrow. */
static void test_large_gaps_are_patched(void **state)
{
    (void)state;
    dks_block_data b = {0};
    dks_buf enc = {0};
    b.n = DKS_BLOCK_DOCS;
    for (uint32_t i = 0; i < b.n; i++) {
        b.docs[i] = i + (i >= 64 ? 1000000 : 0);
        b.tfs[i] = 1;
        b.lens[i] = 10;
    }
    assert_int_equal(dks_block_encode(&b, &enc), DKS_OK);
    /* at the widest gap's 20 bits the gaps alone would take 318 bytes */
    assert_true(enc.len < 24);
    dks_block_header h;
    uint32_t docs[DKS_BLOCK_DOCS], tfs[DKS_BLOCK_DOCS];
    assert_int_equal(dks_block_parse(enc.data, enc.len, 0, &h), DKS_OK);
    assert_int_equal(dks_block_decode(&h, docs, tfs), DKS_OK);
    assert_memory_equal(docs, b.docs, sizeof docs);
    dks_buf_free(&enc);

    /* Three documents from 10, the gaps 5 and 5 as two exceptions of a
     * 0-bit section (their high bits 4 wide); then the same with the
     * exceptions' indexes out of order. */
    static const unsigned char patched[] = {3, 12, 1, 5, 0x80, 2, 4, 0x02, 0x55};
    assert_int_equal(dks_block_parse(patched, sizeof patched, 10, &h), DKS_OK);
    assert_int_equal(dks_block_decode(&h, docs, tfs), DKS_OK);
    assert_int_equal(docs[1], 16);
    assert_int_equal(docs[2], 22);
    static const unsigned char disordered[] = {3, 12, 1, 5, 0x80, 2, 4, 0x01, 0x55};
    assert_int_equal(dks_block_parse(disordered, sizeof disordered, 10, &h), DKS_OK);
    assert_int_equal(dks_block_decode(&h, docs, tfs), DKS_ECORRUPT);
}

static void test_posting_keys(void **state)
{
    (void)state;
    unsigned char key[64];
    size_t kl = dks_postings_key(key, "velfærd", strlen("velfærd"), 0x01020304);
    size_t tl;
    uint32_t first;
    assert_int_equal(dks_postings_key_parse(key, kl, &tl, &first), DKS_OK);
    assert_int_equal(tl, strlen("velfærd"));
    assert_int_equal(first, 0x01020304);
    /* Keys of one term sort by document: big-endian ids compare bytewise. */
    unsigned char a[64], b2[64];
    size_t al = dks_postings_key(a, "sol", 3, 255), bl = dks_postings_key(b2, "sol", 3, 256);
    assert_true(memcmp(a, b2, al < bl ? al : bl) < 0);
    assert_int_equal(dks_postings_key_parse(key, 4, &tl, &first), DKS_ECORRUPT);
    key[kl - 5] = 'x';
    assert_int_equal(dks_postings_key_parse(key, kl, &tl, &first), DKS_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_round_trip),
        cmocka_unit_test(test_block_round_trip),
        cmocka_unit_test(test_every_width_round_trips),
        cmocka_unit_test(test_encode_rejects_unsorted_docs),
        cmocka_unit_test(test_damaged_blocks_are_detected),
        cmocka_unit_test(test_impossible_frequencies_are_corrupt),
        cmocka_unit_test(test_large_gaps_are_patched),
        cmocka_unit_test(test_posting_keys),
    };
    return cmocka_run_group_tests_name("postings", tests, NULL, NULL);
}
