/*
 * Dynamic pruning never changes what a ranked search returns: on a
 * collection large enough for pruning to start, every query gives the same
 * hits in the same order with the same scores as an exhaustive search
 * (dks_search_options.exact_total), on every page; only the total becomes
 * a lower bound, and says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dksearch.h"
#include "scratch_index.h"

/* Words drawn with falling frequency: the first are in most documents, the
 * last in few, as in real text.  Compounds and inflected forms give the
 * query words alternatives (heads, lemmas), so words are ORs themselves. */
static const char *const words[] = {
    "kommune",   "borger",      "skole",      "cykel",      "cyklen",      "sundhed",
    "hospital",  "velfærd",     "klima",      "energi",     "skolebørn",   "cykelsti",
    "læge",      "lægerne",     "bibliotek",  "trafik",     "sundhedsvæsen", "ældre",
    "natur",     "kultur",      "vand",       "havn",       "telemedicin", "byråd",
    "budget",    "skat",        "bolig",      "boligerne",  "vej",         "velfærdsalliance",
};
#define N_WORDS (sizeof words / sizeof words[0])
#define N_DOCS 3000

static unsigned next_random(unsigned *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 8;
}

#define MAX_DOC_WORDS 125

/* The next document's words, as indexes into words[]; how many. */
static unsigned doc_words(unsigned *x, unsigned *w)
{
    unsigned n = 5 + next_random(x) % (MAX_DOC_WORDS - 5);  /* lengths vary, so norms do */
    for (unsigned k = 0; k < n; k++) {
        /* roughly Zipf: the minimum of two uniform draws, squared */
        unsigned a = next_random(x) % N_WORDS, b = next_random(x) % N_WORDS;
        w[k] = (a < b ? a : b) * (a < b ? a : b) / N_WORDS;
    }
    return n;
}

#define SEED 7

static int setup(void **state)
{
    (void)state;
    if (scratch_open())
        return -1;
    char body[4096], id[32];
    unsigned x = SEED, w[MAX_DOC_WORDS];
    for (unsigned i = 0; i < N_DOCS; i++) {
        size_t at = 0;
        unsigned n = doc_words(&x, w);
        for (unsigned k = 0; k < n; k++)
            at += (size_t)snprintf(body + at, sizeof body - at, "%s ", words[w[k]]);
        snprintf(id, sizeof id, "d%05u", i);
        if (scratch_add(id, body))
            return -1;
    }
    return scratch_commit();
}

static dks_results *search(const char *q, size_t offset, int exact)
{
    dks_results *r;
    dks_search_options opt = {.limit = 10, .offset = offset, .no_snippets = 1,
                              .exact_total = exact};
    dks_error_detail err = {0};
    if (dks_search(idx, q, strlen(q), &opt, &r, &err) != DKS_OK)
        fail_msg("'%s': %s", q, err.message);
    return r;
}

/* Pruned and exhaustive: the same page, hit by hit, score by score. */
static void expect_same_page(const char *q, size_t offset)
{
    dks_results *pruned = search(q, offset, 0), *all = search(q, offset, 1);
    assert_true(dks_results_total_exact(all));
    if (dks_results_count(pruned) != dks_results_count(all))
        fail_msg("'%s' from %zu: %zu hits pruned, %zu exhaustive", q, offset,
                 dks_results_count(pruned), dks_results_count(all));
    for (size_t i = 0; i < dks_results_count(all); i++) {
        const dks_hit *a = dks_results_hit(pruned, i), *b = dks_results_hit(all, i);
        if (strcmp(a->id, b->id) != 0 || a->score != b->score)
            fail_msg("'%s' from %zu, hit %zu: %s (%.17g) pruned, %s (%.17g) exhaustive", q,
                     offset, i + 1, a->id, a->score, b->id, b->score);
    }
    if (dks_results_total_exact(pruned))
        assert_int_equal(dks_results_total(pruned), dks_results_total(all));
    else
        assert_true(dks_results_total(pruned) >= 1000 &&
                    dks_results_total(pruned) <= dks_results_total(all));
    dks_results_free(pruned);
    dks_results_free(all);
}

static void test_frequent_word_prunes_and_says_so(void **state)
{
    (void)state;
    dks_results *r = search("kommune", 0, 0);
    assert_false(dks_results_total_exact(r));
    assert_int_equal(dks_results_total(r), 1000);
    assert_int_equal(dks_results_count(r), 10);
    dks_results_free(r);
    r = search("kommune", 0, 1);
    assert_true(dks_results_total_exact(r));
    assert_true(dks_results_total(r) > 2000);
    dks_results_free(r);
    /* a rare word is counted exactly either way */
    r = search("velfærdsalliance", 0, 0);
    assert_true(dks_results_total_exact(r));
    dks_results_free(r);
}

static void test_pruned_pages_equal_exhaustive_ones(void **state)
{
    (void)state;
    const char *queries[] = {
        "kommune",
        "cykel",
        "skole",
        "kommune OR borger OR skole",
        "kommune OR telemedicin OR velfærdsalliance",
        "sundhed OR cykel",
        "kommune borger",
        "skole cykel",
        "kommune borger skole",
        "kommune -borger",
        "\"kommune borger\"",
        /* two words of like frequency, merged block by block */
        "\"skole cykel\"",
        "\"borger kommune\"",
        /* a frequent and a rare word: leapfrogged */
        "\"kommune telemedicin\"",
        "\"kommune borger\" OR skole",
        /* a rare word's documents, bounded exactly by the frequent word's
         * sparse alternatives (its compound heads and parts) */
        "telemedicin kommune",
        "cykelsti skole",
        "velfærdsalliance sundhed",
        "(kommune OR skole) borger",
        "bo*",
        "sk* OR kommune",
        "title:kommune OR kommune",
    };
    size_t offsets[] = {0, 10, 40};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        for (size_t j = 0; j < sizeof offsets / sizeof offsets[0]; j++)
            expect_same_page(queries[i], offsets[j]);
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The ids of every hit, in id order. */
static size_t hit_ids(const char *q, char (*ids)[8])
{
    dks_results *r;
    dks_search_options opt = {.limit = N_DOCS, .no_snippets = 1, .exact_total = 1};
    if (dks_search(idx, q, strlen(q), &opt, &r, NULL) != DKS_OK)
        fail_msg("'%s' failed", q);
    size_t n = dks_results_count(r);
    assert_int_equal(dks_results_total(r), n);
    for (size_t i = 0; i < n; i++)
        snprintf(ids[i], sizeof ids[i], "%s", dks_results_hit(r, i)->id);
    dks_results_free(r);
    qsort(ids, n, sizeof *ids, cmp_ids);
    return n;
}

/* The query finds exactly expected[0..n) (in id order), more than ten. */
static void expect_hits(const char *q, char (*expected)[8], size_t n)
{
    static char found[N_DOCS][8];
    size_t n_found = hit_ids(q, found);
    assert_true(n > 10);
    if (n_found != n)
        fail_msg("'%s': %zu hits, %zu expected", q, n_found, n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(found[i], expected[i]) != 0)
            fail_msg("'%s': %s found, %s expected", q, found[i], expected[i]);
}

/* Keeps the ids of set[0..n) that are (or with keep 0: are not) among
 * other[0..n_other); both in id order. */
static size_t filter_ids(char (*set)[8], size_t n, char (*other)[8], size_t n_other, int keep)
{
    size_t kept = 0;
    for (size_t i = 0, j = 0; i < n; i++) {
        while (j < n_other && strcmp(other[j], set[i]) < 0)
            j++;
        if ((j < n_other && strcmp(other[j], set[i]) == 0) == keep)
            memmove(set[kept++], set[i], sizeof set[i]);
    }
    return kept;
}

/* An AND of frequent words is matched a window of documents at a time:
 * it finds exactly the documents each of its words finds (and not those
 * its NOT word finds), and counts them exactly. */
static void test_and_of_frequent_words_finds_what_each_word_finds(void **state)
{
    (void)state;
    static char expected[N_DOCS][8], word[N_DOCS][8];
    const struct {
        const char *query, *words[3], *not;
    } cases[] = {
        {"kommune borger", {"kommune", "borger"}, NULL},
        {"skole cykel", {"skole", "cykel"}, NULL},
        {"kommune borger skole", {"kommune", "borger", "skole"}, NULL},
        {"kommune skole -borger", {"kommune", "skole"}, "borger"},
        {"(kommune OR skole) borger", {"kommune OR skole", "borger"}, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = hit_ids(cases[c].words[0], expected);
        for (size_t w = 1; w < 3 && cases[c].words[w]; w++) {
            size_t nw = hit_ids(cases[c].words[w], word);
            assert_true(nw >= 512);  /* long enough to be matched so */
            n = filter_ids(expected, n, word, nw, 1);
        }
        if (cases[c].not) {
            size_t nw = hit_ids(cases[c].not, word);
            n = filter_ids(expected, n, word, nw, 0);
        }
        expect_hits(cases[c].query, expected, n);
        /* the windows see every document of the AND, so even a page of
         * ten counts them all */
        dks_results *page = search(cases[c].query, 0, 0);
        assert_true(dks_results_total_exact(page));
        assert_int_equal(dks_results_total(page), n);
        dks_results_free(page);
    }
}

static unsigned word_index(const char *word)
{
    for (unsigned i = 0; i < N_WORDS; i++)
        if (strcmp(words[i], word) == 0)
            return i;
    fail_msg("'%s' is not among the collection's words", word);
    return 0;
}

/* A phrase of two words finds exactly the documents where the second
 * follows the first, whether its words are aligned by merging their
 * blocks (words of like frequency) or by leapfrogging (vej is in a
 * tenth of the documents kommune is in).  The words chosen have stems no
 * other word of the collection shares. */
static void test_two_word_phrases_find_every_document_with_them(void **state)
{
    (void)state;
    static char expected[N_DOCS][8];
    const char *pairs[][2] = {
        {"kommune", "borger"}, {"borger", "kommune"}, {"skole", "sundhed"},
        {"kommune", "hospital"}, {"kommune", "vej"}, {"vej", "kommune"},
    };
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        unsigned first = word_index(pairs[p][0]), second = word_index(pairs[p][1]);
        unsigned x = SEED, w[MAX_DOC_WORDS];
        size_t n = 0;
        for (unsigned i = 0; i < N_DOCS; i++) {
            unsigned len = doc_words(&x, w);
            for (unsigned k = 0; k + 1 < len; k++)
                if (w[k] == first && w[k + 1] == second) {
                    snprintf(expected[n++], sizeof expected[0], "d%05u", i);
                    break;
                }
        }
        char q[64];
        snprintf(q, sizeof q, "\"%s %s\"", pairs[p][0], pairs[p][1]);
        expect_hits(q, expected, n);
        expect_same_page(q, 0);
    }
}

/* An OR of terms at the root is scored a window at a time, and so is an
 * AND of frequent words; an explanation walks the terms one document at
 * a time: a hit's parts, added up in the explanation's order, give its
 * score exactly. */
static void test_scores_are_their_parts_exactly(void **state)
{
    (void)state;
    const char *queries[] = {"kommune", "cyklen", "kommune OR borger OR skole",
                             "sk* OR kommune", "title:kommune OR kommune OR telemedicin",
                             "kommune borger", "skole cykel", "kommune skole -borger"};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        for (int exact = 0; exact <= 1; exact++)
            for (size_t offset = 0; offset <= 40; offset += 40) {
                dks_results *r;
                dks_search_options opt = {.limit = 10, .offset = offset, .no_snippets = 1,
                                          .exact_total = exact, .explain = 1};
                assert_int_equal(dks_search(idx, queries[i], strlen(queries[i]), &opt, &r, NULL),
                                 DKS_OK);
                assert_int_equal(dks_results_count(r), 10);
                for (size_t k = 0; k < dks_results_count(r); k++) {
                    const dks_hit *h = dks_results_hit(r, k);
                    double sum = 0;
                    for (size_t j = 0; j < h->n_parts; j++)
                        sum += h->parts[j].score;
                    if (sum != h->score)
                        fail_msg("'%s' hit %s: parts %.17g, score %.17g", queries[i], h->id,
                                 sum, h->score);
                }
                dks_results_free(r);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frequent_word_prunes_and_says_so),
        cmocka_unit_test(test_pruned_pages_equal_exhaustive_ones),
        cmocka_unit_test(test_and_of_frequent_words_finds_what_each_word_finds),
        cmocka_unit_test(test_two_word_phrases_find_every_document_with_them),
        cmocka_unit_test(test_scores_are_their_parts_exactly),
    };
    return cmocka_run_group_tests_name("pruning", tests, setup, scratch_teardown);
}
