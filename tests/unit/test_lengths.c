/*
 * The table of every document's length that searches share
 * (length_table.c, dks_index_lengths_take): it holds what the lengths
 * database holds, document for document, including the documents it has
 * no length for; the index makes it on the second search of a snapshot,
 * makes a new one after a commit, and a table still held across a commit
 * keeps its own snapshot's lengths.  Searches give the same hits and
 * scores with it as without.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dksearch.h"
#include "dks_int.h"
#include "scratch_index.h"

/* Three chunks of lengths, the last one partly filled. */
#define N_DOCS (2 * DKS_LENGTH_CHUNK + 40)

static void add_docs(size_t from, size_t to, const char *extra)
{
    for (size_t i = from; i < to; i++) {
        char id[32], body[4096];
        snprintf(id, sizeof id, "d%zu", i);
        size_t at = 0;
        /* lengths 1 .. 60, a different one for neighbouring documents */
        for (size_t w = 0; w < 1 + (i * 7) % 60; w++)
            at += (size_t)snprintf(body + at, sizeof body - at, "%s ", w % 3 ? "kommune" : "skole");
        snprintf(body + at, sizeof body - at, "%s", extra);
        assert_int_equal(scratch_add(id, body), DKS_OK);
    }
}

static int setup(void **state)
{
    (void)state;
    if (scratch_open())
        return -1;
    add_docs(0, N_DOCS, "");
    return scratch_commit();
}

static dks_txn *begin(void)
{
    dks_txn *t;
    assert_int_equal(dks_txn_begin(dks_index_store(idx), 0, &t), DKS_OK);
    return t;
}

/* Every document's length as the table gives it equals what the chunks
 * give, and a document past the last has none either way. */
static void assert_same_lengths(dks_txn *t, const dks_length_table *lt, uint32_t upto)
{
    dks_length_reader chunks = {.txn = t}, table = {.txn = t, .table = lt};
    for (uint32_t doc = 0; doc < upto; doc++) {
        uint32_t a = 0, b = 0;
        int ra = dks_length_get(&chunks, doc, &a), rb = dks_length_get(&table, doc, &b);
        assert_int_equal(ra, rb);
        if (ra == DKS_OK)
            assert_int_equal(a, b);
    }
    dks_length_reader_close(&chunks);
    dks_length_reader_close(&table);
}

static void test_table_holds_the_databases_lengths(void **state)
{
    (void)state;
    dks_txn *t = begin();
    dks_length_table *lt;
    assert_int_equal(dks_length_table_build(t, &lt), DKS_OK);
    assert_true(lt->n >= N_DOCS);
    uint32_t len;
    dks_length_reader r = {.txn = t, .table = lt};
    /* d0 has one word, d1 eight */
    assert_int_equal(dks_length_get(&r, 0, &len), DKS_OK);
    assert_int_equal(len, 1);
    assert_int_equal(dks_length_get(&r, 1, &len), DKS_OK);
    assert_int_equal(len, 8);
    /* far past the documents: no length, as a posting naming it is corrupt */
    assert_int_equal(dks_length_get(&r, 10 * N_DOCS, &len), DKS_ECORRUPT);
    assert_same_lengths(t, lt, lt->n + DKS_LENGTH_CHUNK);
    dks_length_table_free(lt);
    dks_txn_abort(t);
}

static void test_index_shares_a_table_from_the_second_search(void **state)
{
    (void)state;
    dks_txn *t1 = begin(), *t2 = begin(), *t3 = begin();
    const dks_length_table *a, *b, *c;
    /* one search alone does not pay for the table... */
    assert_int_equal(dks_index_lengths_take(idx, t1, &a), DKS_OK);
    assert_null(a);
    /* ...the second on the same snapshot makes it, the next shares it */
    assert_int_equal(dks_index_lengths_take(idx, t2, &b), DKS_OK);
    assert_non_null(b);
    assert_int_equal(dks_index_lengths_take(idx, t3, &c), DKS_OK);
    assert_ptr_equal(b, c);
    dks_index_lengths_give(idx, a);
    dks_index_lengths_give(idx, c);
    dks_txn_abort(t1);
    dks_txn_abort(t3);
    dks_txn_abort(t2);  /* (the writer below grows the map: no reader may wait on it) */
    uint32_t *before = malloc(b->n * sizeof *before);
    assert_non_null(before);
    memcpy(before, b->len, b->n * sizeof *before);

    /* a commit: documents added and one changed */
    assert_int_equal(dks_writer_open(idx, &scratch_writer, NULL), DKS_OK);
    add_docs(N_DOCS, N_DOCS + 3, "");
    dks_document d1 = {.id = "d1", .id_len = 2, .title = "", .body = "kort", .body_len = 4};
    assert_int_equal(dks_writer_add(scratch_writer, &d1, NULL, NULL), DKS_OK);
    assert_int_equal(scratch_commit(), DKS_OK);

    dks_txn *u1 = begin(), *u2 = begin();
    const dks_length_table *old = NULL, *fresh;
    assert_int_equal(dks_index_lengths_take(idx, u1, &old), DKS_OK);
    assert_null(old);  /* a new snapshot starts without */
    assert_int_equal(dks_index_lengths_take(idx, u2, &fresh), DKS_OK);
    assert_non_null(fresh);
    assert_ptr_not_equal(fresh, b);
    assert_same_lengths(u2, fresh, fresh->n);
    assert_int_equal(fresh->len[N_DOCS], 1 + (N_DOCS * 7) % 60);
    /* the table held since before the commit still has its own lengths */
    assert_memory_equal(before, b->len, b->n * sizeof *before);
    assert_int_equal(b->len[N_DOCS], 0);
    free(before);
    dks_index_lengths_give(idx, b);
    dks_index_lengths_give(idx, fresh);
    dks_txn_abort(u1);
    dks_txn_abort(u2);
}

/* Documents deleted a whole chunk at a time leave no chunk: the table says
 * they have no length, as the database does. */
static void test_deleted_chunk_has_no_lengths(void **state)
{
    (void)state;
    assert_int_equal(dks_writer_open(idx, &scratch_writer, NULL), DKS_OK);
    for (size_t i = 0; i < DKS_LENGTH_CHUNK; i++) {
        char id[32];
        snprintf(id, sizeof id, "d%zu", i);
        assert_int_equal(dks_writer_delete(scratch_writer, id, strlen(id), NULL, NULL), DKS_OK);
    }
    assert_int_equal(scratch_commit(), DKS_OK);
    dks_txn *t = begin();
    dks_length_table *lt;
    assert_int_equal(dks_length_table_build(t, &lt), DKS_OK);
    uint32_t len;
    dks_length_reader r = {.txn = t, .table = lt};
    assert_int_equal(dks_length_get(&r, 5, &len), DKS_ECORRUPT);
    assert_same_lengths(t, lt, lt->n);
    dks_length_table_free(lt);
    dks_txn_abort(t);
}

/* The first search reads the chunks, the later ones the table: the same
 * hits, scores and totals. */
static void test_search_same_with_table(void **state)
{
    (void)state;
    const char *queries[] = {"kommune", "skole kommune", "skole OR kommune", "\"kommune skole\""};
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
        dks_results *first, *again;
        dks_search_options opt = {.limit = 50, .exact_total = 1, .no_snippets = 1};
        assert_int_equal(dks_search(idx, queries[q], strlen(queries[q]), &opt, &first, NULL),
                         DKS_OK);
        for (int pass = 0; pass < 2; pass++) {
            assert_int_equal(dks_search(idx, queries[q], strlen(queries[q]), &opt, &again, NULL),
                             DKS_OK);
            assert_int_equal(dks_results_total(first), dks_results_total(again));
            assert_true(dks_results_count(first) > 0);
            assert_int_equal(dks_results_count(first), dks_results_count(again));
            for (size_t i = 0; i < dks_results_count(first); i++) {
                const dks_hit *x = dks_results_hit(first, i), *y = dks_results_hit(again, i);
                assert_string_equal(x->id, y->id);
                assert_true(x->score == y->score);
            }
            dks_results_free(again);
        }
        dks_results_free(first);
    }
}

/* A lengths database that does not read as a table (a chunk of the wrong
 * size): the table is tried once for the snapshot, not for every search;
 * searches go on without it, and the damage shows as DKS_ECORRUPT only to
 * a search that scores a document of the damaged chunk. */
static void test_unreadable_lengths_are_tried_once(void **state)
{
    (void)state;
    /* forty documents after the others, in the last chunk */
    assert_int_equal(dks_writer_open(idx, &scratch_writer, NULL), DKS_OK);
    add_docs(N_DOCS + 3, N_DOCS + 43, "tredje");
    assert_int_equal(scratch_commit(), DKS_OK);
    dks_txn *w;
    assert_int_equal(dks_txn_begin(dks_index_store(idx), 1, &w), DKS_OK);
    unsigned char key[4];
    dks_put_be32(key, 1);
    const unsigned char short_chunk[8] = {1, 0, 0, 0, 1, 0, 0, 0};
    assert_int_equal(dks_kv_put(w, DKS_DB_LENGTHS, key, sizeof key, short_chunk,
                                sizeof short_chunk),
                     DKS_OK);
    assert_int_equal(dks_txn_commit(w), DKS_OK);

    dks_txn *t[3] = {begin(), begin(), begin()};
    for (size_t i = 0; i < 3; i++) {
        const dks_length_table *lt = (const dks_length_table *)1;
        assert_int_equal(dks_index_lengths_take(idx, t[i], &lt), DKS_OK);
        assert_null(lt);
    }
    for (size_t i = 0; i < 3; i++)
        dks_txn_abort(t[i]);
    /* a word of the last chunk's documents only, then one of every chunk */
    const char *last = "tredje", *all = "kommune";
    dks_search_options opt = {.limit = 10, .exact_total = 1, .no_snippets = 1};
    dks_results *r;
    for (int pass = 0; pass < 3; pass++) {
        assert_int_equal(dks_search(idx, last, strlen(last), &opt, &r, NULL), DKS_OK);
        assert_int_equal(dks_results_total(r), 40);
        dks_results_free(r);
        dks_error_detail err = {0};
        assert_int_equal(dks_search(idx, all, strlen(all), &opt, &r, &err), DKS_ECORRUPT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_holds_the_databases_lengths),
        cmocka_unit_test(test_index_shares_a_table_from_the_second_search),
        cmocka_unit_test(test_search_same_with_table),
        cmocka_unit_test(test_deleted_chunk_has_no_lengths),
        cmocka_unit_test(test_unreadable_lengths_are_tried_once),
    };
    return cmocka_run_group_tests(tests, setup, scratch_teardown);
}
