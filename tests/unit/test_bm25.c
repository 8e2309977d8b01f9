/*
 * BM25 (k1 = 1.2, b = 0.75) on a three-document collection, through the
 * library's writer and dks_search(), against values computed by hand:
 *
 *   d1 "kat hund kat"          length 3
 *   d2 "hund fisk"             length 2
 *   d3 "fisk fugl fugl fugl"   length 4      N = 3, avgdl = 3
 *
 *   idf(df) = ln(1 + (N - df + 0.5) / (df + 0.5))
 *   idf(1) = ln(8/3) = 0.980829253,  idf(2) = ln(1.6) = 0.470003629
 *   score = idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * dl / 3))
 *
 *   kat  in d1: tf 2, dl 3 -> 0.980829253 * 4.4 / 3.2  = 1.348640223
 *   hund in d2: tf 1, dl 2 -> 0.470003629 * 2.2 / 1.9  = 0.544214729
 *   hund in d1: tf 1, dl 3 -> 0.470003629 * 2.2 / 2.2  = 0.470003629
 *   fugl in d3: tf 3, dl 4 -> 0.980829253 * 6.6 / 4.5  = 1.438549571
 *   hund AND fisk in d2: 2 * 0.544214729             = 1.088429457
 *     + proximity: the words side by side, 0.5 * min idf = 0.235001815
 *                                                          = 1.323431272
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "dksearch.h"
#include "dks_int.h"
#include "scratch_index.h"

static int setup(void **state)
{
    (void)state;
    return scratch_open() || scratch_add("d1", "kat hund kat") || scratch_add("d2", "hund fisk") ||
           scratch_add("d3", "fisk fugl fugl fugl") || scratch_commit();
}

/* Runs q and checks the ranked ids and scores (to 1e-9). */
static void expect(const char *q, size_t n, const char *const ids[], const double scores[])
{
    dks_results *r;
    dks_error_detail err = {0};
    assert_int_equal(dks_search(idx, q, strlen(q), NULL, &r, &err), DKS_OK);
    assert_int_equal(dks_results_total(r), n);
    assert_int_equal(dks_results_count(r), n);
    for (size_t i = 0; i < n; i++) {
        const dks_hit *h = dks_results_hit(r, i);
        assert_string_equal(h->id, ids[i]);
        if (fabs(h->score - scores[i]) > 1e-9)
            fail_msg("%s: hit %zu score %.12f, expected %.12f", q, i, h->score, scores[i]);
    }
    dks_results_free(r);
}

static void test_idf_and_term_score(void **state)
{
    (void)state;
    dks_bm25 m;
    dks_bm25_init(&m, 3, 9);
    assert_true(fabs(dks_bm25_idf(&m, 1) - 0.980829253) < 1e-9);
    assert_true(fabs(dks_bm25_idf(&m, 2) - 0.470003629) < 1e-9);
    /* A term in every document still scores above zero. */
    assert_true(dks_bm25_idf(&m, 3) > 0);
    double idf = dks_bm25_idf(&m, 1);
    assert_true(fabs(dks_bm25_term(&m, idf, 2, 3) - 1.348640223) < 1e-9);
    /* The block bound is never below a score it covers. */
    assert_true(dks_bm25_bound(&m, idf, 3, 2) >= dks_bm25_term(&m, idf, 2, 3));
}

static void test_single_terms(void **state)
{
    (void)state;
    expect("kat", 1, (const char *const[]){"d1"}, (const double[]){1.348640223});
    expect("fugl", 1, (const char *const[]){"d3"}, (const double[]){1.438549571});
    /* The shorter document wins at equal tf. */
    expect("hund", 2, (const char *const[]){"d2", "d1"},
           (const double[]){0.544214729, 0.470003629});
    /* Inflected query words are stemmed like the documents. */
    expect("katte", 1, (const char *const[]){"d1"}, (const double[]){1.348640223});
}

static void test_conjunction_sums_terms(void **state)
{
    (void)state;
    expect("hund fisk", 1, (const char *const[]){"d2"}, (const double[]){1.323431272});
    expect("hund OR fugl", 3, (const char *const[]){"d3", "d2", "d1"},
           (const double[]){1.438549571, 0.544214729, 0.470003629});
}

static void test_explain_breaks_the_score_down(void **state)
{
    (void)state;
    dks_results *r;
    dks_search_options opt = {.explain = 1};
    assert_int_equal(dks_search(idx, "hund fisk", 9, &opt, &r, NULL), DKS_OK);
    const dks_hit *h = dks_results_hit(r, 0);
    assert_string_equal(h->id, "d2");
    assert_true(h->n_parts >= 2);
    double sum = 0;
    int hund = 0;
    for (size_t i = 0; i < h->n_parts; i++) {
        const dks_score_part *p = &h->parts[i];
        sum += p->score;
        if (strcmp(p->term, "hund") == 0 && strcmp(p->kind, "word") == 0) {
            hund = 1;
            assert_int_equal(p->tf, 1);
            assert_int_equal(p->df, 2);
            assert_true(fabs(p->idf - 0.470003629) < 1e-9);
            assert_true(fabs(p->length - 2) < 1e-9 && fabs(p->avg_length - 3) < 1e-9);
            assert_true(fabs(p->norm - 0.75) < 1e-9);
            assert_true(fabs(p->score - 0.544214729) < 1e-9);
        }
    }
    assert_true(hund);
    /* The parts add up to the hit's score, the proximity bonus included. */
    assert_true(fabs(sum - h->score) < 1e-9);
    dks_results_free(r);
    /* Without the option there are no parts. */
    assert_int_equal(dks_search(idx, "hund", 4, NULL, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_hit(r, 0)->n_parts, 0);
    dks_results_free(r);
}

/* Proximity: the same words, nearer or farther apart, in documents of one
 * length; and "..."~N phrases. */
static void test_proximity(void **state)
{
    (void)state;
    char *tmp = test_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/prox", tmp);
    dks_index *p;
    dks_writer *w;
    assert_int_equal(dks_index_open(path, DKS_OPEN_CREATE, &p, NULL), DKS_OK);
    assert_int_equal(dks_writer_open(p, &w, NULL), DKS_OK);
    const char *docs[][2] = {
        {"side", "den offentlige sektor a b c d e f g h i j k l m n o p q r"},
        {"near", "den offentlige og private sektor a b c d e f g h i j k l m n o p"},
        {"far", "den offentlige a b c d e f g h i j k l m n o p q r s t sektor"},
        {"none", "den private sektor a b c d e f g h i j k l m n o p q r s t u"},
        {"twice", "kommunerne samarbejder a b c d e f g h i j k l m n o p q r s"},
    };
    for (size_t i = 0; i < 5; i++) {
        dks_document d = {.id = docs[i][0], .id_len = strlen(docs[i][0]), .body = docs[i][1],
                          .body_len = strlen(docs[i][1])};
        assert_int_equal(dks_writer_add(w, &d, NULL, NULL), DKS_OK);
    }
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_close(w);
    dks_results *r;
    /* Equal BM25 (same tf, same length): closeness decides. */
    assert_int_equal(dks_search(p, "offentlige sektor", 17, NULL, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_total(r), 3);
    assert_string_equal(dks_results_hit(r, 0)->id, "side");
    assert_string_equal(dks_results_hit(r, 1)->id, "near");
    assert_string_equal(dks_results_hit(r, 2)->id, "far");
    dks_results_free(r);
    /* Within three more positions, in either order. */
    const char *q = "\"offentlige sektor\"~3";
    assert_int_equal(dks_search(p, q, strlen(q), NULL, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_total(r), 2);
    dks_results_free(r);
    q = "\"sektor offentlige\"~3";
    assert_int_equal(dks_search(p, q, strlen(q), NULL, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_total(r), 2);
    dks_results_free(r);
    q = "\"offentlige sektor\"";
    assert_int_equal(dks_search(p, q, strlen(q), NULL, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_total(r), 1);
    dks_results_free(r);
    /* A word the phrase repeats needs two places of its own. */
    q = "\"kommunerne kommunerne\"~2";
    assert_int_equal(dks_search(p, q, strlen(q), NULL, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_total(r), 0);
    dks_results_free(r);
    q = "\"offentlige sektor\"~101";
    dks_error_detail err = {0};
    assert_int_equal(dks_search(p, q, strlen(q), NULL, &r, &err), DKS_EQUERY);
    dks_index_close(p);
    test_rmrf(tmp);
    free(tmp);
}

/* Pages over a proximity-ranked query are disjoint and cover every hit,
 * beyond the rescored pool too, and explained parts add up everywhere. */
static void test_paging_with_proximity(void **state)
{
    (void)state;
    char *tmp = test_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/pages", tmp);
    dks_index *p;
    dks_writer *w;
    assert_int_equal(dks_index_open(path, DKS_OPEN_CREATE, &p, NULL), DKS_OK);
    assert_int_equal(dks_writer_open(p, &w, NULL), DKS_OK);
    const unsigned n = 260;
    for (unsigned i = 0; i < n; i++) {
        char id[16], body[512];
        size_t at = (size_t)snprintf(body, sizeof body, "alfa ");
        for (unsigned k = 0; k < (i * 7) % 40; k++)
            at += (size_t)snprintf(body + at, sizeof body - at, "x%u ", k);
        snprintf(body + at, sizeof body - at, "beta%s", i % 3 ? " gamma" : "");
        snprintf(id, sizeof id, "p%u", i);
        dks_document d = {.id = id, .id_len = strlen(id), .body = body, .body_len = strlen(body)};
        assert_int_equal(dks_writer_add(w, &d, NULL, NULL), DKS_OK);
    }
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_close(w);
    char seen[260] = {0};
    size_t shown = 0;
    for (size_t offset = 0; offset < n; offset += 10) {
        dks_results *r;
        dks_search_options opt = {.limit = 10, .offset = offset, .explain = 1};
        assert_int_equal(dks_search(p, "alfa beta", 9, &opt, &r, NULL), DKS_OK);
        assert_int_equal(dks_results_total(r), n);
        for (size_t i = 0; i < dks_results_count(r); i++) {
            const dks_hit *h = dks_results_hit(r, i);
            unsigned k = (unsigned)atoi(h->id + 1);
            if (seen[k]++)
                fail_msg("%s shown twice (page at %zu)", h->id, offset);
            shown++;
            double sum = 0;
            for (size_t j = 0; j < h->n_parts; j++)
                sum += h->parts[j].score;
            assert_true(fabs(sum - h->score) < 1e-9 * h->score);
        }
        dks_results_free(r);
    }
    assert_int_equal(shown, n);
    dks_index_close(p);
    test_rmrf(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idf_and_term_score),
        cmocka_unit_test(test_single_terms),
        cmocka_unit_test(test_conjunction_sums_terms),
        cmocka_unit_test(test_explain_breaks_the_score_down),
        cmocka_unit_test(test_proximity),
        cmocka_unit_test(test_paging_with_proximity),
    };
    return cmocka_run_group_tests_name("bm25", tests, setup, scratch_teardown);
}
