/*
 * Stored text: every text comes back byte for byte (short, empty, binary,
 * before and after the index has trained its zstd dictionary, through the
 * writer's reader and through a fresh index handle), the dictionary makes
 * Danish text markedly smaller, and damaged values are DKS_ECORRUPT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dksearch.h"
#include "dks_int.h"
#include "test_util.h"

static const char *const sentences[] = {
    "Regeringen vil styrke det nære sundhedsvæsen og give kommunerne flere penge. ",
    "Borgerne skal have bedre adgang til telemedicin, når de bor langt fra hospitalet. ",
    "Velfærdsalliancen foreslår, at ældreplejen får et løft i de kommende år. ",
    "Skolebørn cykler i stigende grad til skole ad de nye cykelstier. ",
    "Klimaministeren fremlagde i dag en plan for energi og forsyning. ",
};
#define N_SENTENCES (sizeof sentences / sizeof sentences[0])

/* Document i's text: a few sentences in an order of its own. */
static size_t make_text(unsigned i, char *out, size_t cap)
{
    size_t at = 0;
    unsigned x = i * 2654435761u + 1;
    for (unsigned k = 0; k < 12; k++) {
        x = x * 1103515245u + 12345u;
        at += (size_t)snprintf(out + at, cap - at, "%s", sentences[(x >> 16) % N_SENTENCES]);
    }
    return at;
}

typedef struct fixture {
    char *dir;
    dks_index *idx;
} fixture;

static void open_fixture(fixture *f)
{
    char db[4200];
    assert_non_null(f->dir = test_tmpdir());
    snprintf(db, sizeof db, "%s/db", f->dir);
    assert_int_equal(dks_index_open(db, DKS_OPEN_CREATE, &f->idx, NULL), DKS_OK);
}

static void reopen(fixture *f)
{
    char db[4200];
    dks_index_close(f->idx);
    snprintf(db, sizeof db, "%s/db", f->dir);
    assert_int_equal(dks_index_open(db, DKS_OPEN_READ, &f->idx, NULL), DKS_OK);
}

static void close_fixture(fixture *f)
{
    dks_index_close(f->idx);
    test_rmrf(f->dir);
    free(f->dir);
}

static void expect_text(dks_text_reader *r, dks_txn *t, uint32_t doc, const void *want,
                        size_t want_len)
{
    const void *got;
    size_t len;
    assert_int_equal(dks_text_get(r, t, doc, &got, &len), DKS_OK);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, len);
}

/* Bytes stored for doc (codec byte included). */
static size_t stored_size(dks_txn *t, uint32_t doc)
{
    unsigned char key[4];
    const void *v;
    size_t vl;
    dks_put_be32(key, doc);
    assert_int_equal(dks_kv_get(t, DKS_DB_TEXT, key, sizeof key, &v, &vl), DKS_OK);
    return vl;
}

/* Encodes a text and stores it as the writer does, with the dictionary in
 * the same transaction when the encoder has just trained it. */
static void put_text(dks_text_encoder *e, dks_txn *t, uint32_t doc, const void *text,
                     size_t len, dks_buf *value, int *trained)
{
    assert_int_equal(dks_text_encode(e, text, len, value, trained), DKS_OK);
    size_t dict_len = 0;
    const void *dict = *trained ? dks_text_encoder_dict(e, &dict_len) : NULL;
    assert_int_equal(dks_text_put(t, doc, value->data, value->len, dict, dict_len), DKS_OK);
}

static void test_texts_come_back_as_given(void **state)
{
    (void)state;
    fixture f = {0};
    open_fixture(&f);
    static const unsigned char binary[] = {0, 1, 2, 0xff, 0xfe, 0, 'a', 0xc3, 0x28, 0, 0, 0,
                                           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                           0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
    char text[4096];
    size_t len = make_text(1, text, sizeof text);
    dks_txn *t;
    dks_text_encoder *w;
    dks_buf value = {0};
    int trained;
    dks_text_reader *r;
    assert_int_equal(dks_txn_begin(dks_index_store(f.idx), 1, &t), DKS_OK);
    assert_int_equal(dks_text_encoder_new(NULL, 0, &w), DKS_OK);
    put_text(w, t, 1, "", 0, &value, &trained);
    put_text(w, t, 2, "kort", 4, &value, &trained);
    put_text(w, t, 3, binary, sizeof binary, &value, &trained);
    put_text(w, t, 4, text, len, &value, &trained);
    /* the writer reads its own batch */
    assert_int_equal(dks_text_reader_new(NULL, &r), DKS_OK);
    expect_text(r, t, 4, text, len);
    expect_text(r, t, 3, binary, sizeof binary);
    dks_text_reader_free(r);
    assert_true(stored_size(t, 4) < len);  /* compressed */
    assert_int_equal(stored_size(t, 2), 5);  /* as it is */
    dks_text_encoder_free(w);
    dks_buf_free(&value);
    assert_int_equal(dks_txn_commit(t), DKS_OK);

    reopen(&f);
    assert_int_equal(dks_txn_begin(dks_index_store(f.idx), 0, &t), DKS_OK);
    assert_int_equal(dks_text_reader_new(f.idx, &r), DKS_OK);
    expect_text(r, t, 1, "", 0);
    expect_text(r, t, 2, "kort", 4);
    expect_text(r, t, 3, binary, sizeof binary);
    expect_text(r, t, 4, text, len);
    const void *got;
    size_t got_len;
    assert_int_equal(dks_text_get(r, t, 5, &got, &got_len), DKS_ECORRUPT);  /* no such text */
    dks_text_reader_free(r);
    dks_txn_abort(t);
    close_fixture(&f);
}

/* Enough text for the dictionary: the texts before it and after it all
 * read back, and the texts after it are much smaller. */
static void test_dictionary_is_trained_and_pays_off(void **state)
{
    (void)state;
    fixture f = {0};
    open_fixture(&f);
    char text[4096];
    dks_txn *t;
    dks_text_encoder *w;
    dks_buf value = {0};
    int trained;
    assert_int_equal(dks_txn_begin(dks_index_store(f.idx), 1, &t), DKS_OK);
    assert_int_equal(dks_text_encoder_new(NULL, 0, &w), DKS_OK);
    size_t total = 0;
    uint32_t n = 0;
    int trainings = 0;
    while (total < ((size_t)6 << 20)) {
        size_t len = make_text(n, text, sizeof text);
        put_text(w, t, n, text, len, &value, &trained);
        trainings += trained;
        total += len;
        n++;
    }
    assert_int_equal(trainings, 1);  /* once, and never again */
    const void *dict;
    size_t dict_len;
    assert_int_equal(dks_kv_get(t, DKS_DB_META, "text-dictionary", 15, &dict, &dict_len),
                     DKS_OK);
    size_t first = stored_size(t, 0), last = stored_size(t, n - 1);
    size_t first_len = make_text(0, text, sizeof text), last_len = make_text(n - 1, text,
                                                                              sizeof text);
    /* with the dictionary, a text takes under a third of the bytes it
     * takes without */
    assert_true((double)last / last_len < (double)first / first_len / 3);
    dks_text_encoder_free(w);
    dks_buf_free(&value);
    assert_int_equal(dks_txn_commit(t), DKS_OK);

    reopen(&f);
    dks_text_reader *r;
    assert_int_equal(dks_txn_begin(dks_index_store(f.idx), 0, &t), DKS_OK);
    assert_int_equal(dks_text_reader_new(f.idx, &r), DKS_OK);
    for (uint32_t i = 0; i < n; i += 97) {
        size_t len = make_text(i, text, sizeof text);
        expect_text(r, t, i, text, len);
    }
    dks_text_reader_free(r);
    dks_txn_abort(t);
    close_fixture(&f);
}

static void test_damaged_values_are_corrupt(void **state)
{
    (void)state;
    fixture f = {0};
    open_fixture(&f);
    char text[4096];
    size_t len = make_text(3, text, sizeof text);
    dks_txn *t;
    dks_text_encoder *w;
    dks_buf value = {0};
    int trained;
    dks_text_reader *r;
    assert_int_equal(dks_txn_begin(dks_index_store(f.idx), 1, &t), DKS_OK);
    assert_int_equal(dks_text_encoder_new(NULL, 0, &w), DKS_OK);
    put_text(w, t, 1, text, len, &value, &trained);
    assert_int_equal(dks_text_reader_new(NULL, &r), DKS_OK);
    unsigned char key[4], frame[8192];
    const void *v, *got;
    size_t vl, got_len;
    dks_put_be32(key, 1);
    assert_int_equal(dks_kv_get(t, DKS_DB_TEXT, key, 4, &v, &vl), DKS_OK);
    assert_true(vl < sizeof frame);
    memcpy(frame, v, vl);
    /* cut short, anywhere */
    for (size_t cut = 0; cut < vl; cut += 7)
        assert_int_equal(dks_text_decode(r, t, frame, cut, &got, &got_len), DKS_ECORRUPT);
    /* an unknown codec */
    unsigned char codec = frame[0];
    frame[0] = 9;
    assert_int_equal(dks_text_decode(r, t, frame, vl, &got, &got_len), DKS_ECORRUPT);
    /* a frame made with a dictionary the index does not have */
    frame[0] = 2;
    assert_int_equal(dks_text_decode(r, t, frame, vl, &got, &got_len), DKS_ECORRUPT);
    /* a flipped byte anywhere in the frame: the frame's checksum, its
     * size or zstd's own checks catch it, or it fell on bits that do not
     * matter; never other text */
    frame[0] = codec;
    size_t caught = 0;
    for (size_t i = 1; i < vl; i++) {
        frame[i] ^= 0x55;
        int rc = dks_text_decode(r, t, frame, vl, &got, &got_len);
        if (rc == DKS_OK && (got_len != len || memcmp(got, text, len) != 0))
            fail_msg("a flip at byte %zu of %zu gave other text", i, vl);
        caught += rc == DKS_ECORRUPT;
        frame[i] ^= 0x55;
    }
    assert_true(caught > vl * 9 / 10);
    /* a frame header that claims more text than any stored text (3 GiB,
     * single segment, one empty raw block): damage, not a size limit */
    static const unsigned char huge[] = {1, 0x28, 0xB5, 0x2F, 0xFD, 0xA0, 0x00, 0x00,
                                         0x00, 0xC0, 0x01, 0x00, 0x00};
    assert_int_equal(dks_text_decode(r, t, huge, sizeof huge, &got, &got_len), DKS_ECORRUPT);
    dks_text_reader_free(r);
    dks_text_encoder_free(w);
    dks_buf_free(&value);
    dks_txn_abort(t);
    close_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_texts_come_back_as_given),
        cmocka_unit_test(test_dictionary_is_trained_and_pays_off),
        cmocka_unit_test(test_damaged_values_are_corrupt),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
