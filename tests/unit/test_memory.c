/*
 * Memory for the indexer's large tables (huge.c) and the lexicon copied
 * into it: blocks of every size are zeroed, keep their contents when they
 * grow or shrink across the line between malloc and huge pages, and the
 * copied lexicon answers exactly as the linked one, word for word and
 * analysis for analysis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

static const size_t sizes[] = {0, 1, 4095, 4096, (1 << 20) - 1, 1 << 20, (2 << 20) + 17,
                               (5 << 20) + 3};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Byte i of a test pattern. */
static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 131 + 7);
}

static void fill(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern(i);
}

static int holds_pattern(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(i))
            return 0;
    return 1;
}

static void test_blocks_are_zeroed_and_writable(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SIZES; i++) {
        unsigned char *p = dks_huge_alloc(sizes[i]);
        assert_non_null(p);
        assert_true(all_zero(p, sizes[i]));
        fill(p, sizes[i]);
        assert_true(holds_pattern(p, sizes[i]));
        dks_huge_free(p, sizes[i]);
    }
    dks_huge_free(NULL, 1 << 20);
}

/* Every size to every other: the common part kept, what is added zeroed
 * (also after a shrink within the same mapping, and growing back). */
static void test_realloc_keeps_contents_across_kinds(void **state)
{
    (void)state;
    for (size_t a = 0; a < N_SIZES; a++)
        for (size_t b = 0; b < N_SIZES; b++) {
            size_t from = sizes[a], to = sizes[b];
            unsigned char *p = dks_huge_alloc(from);
            assert_non_null(p);
            fill(p, from);
            unsigned char *q = dks_huge_realloc(p, from, to);
            assert_non_null(q);
            size_t kept = from < to ? from : to;
            assert_true(holds_pattern(q, kept));
            assert_true(all_zero(q + kept, to - kept));
            unsigned char *r = dks_huge_realloc(q, to, from);
            assert_non_null(r);
            assert_true(holds_pattern(r, kept));
            assert_true(all_zero(r + kept, from - kept));
            dks_huge_free(r, from);
        }
    unsigned char *fresh = dks_huge_realloc(NULL, 0, 3 << 20);
    assert_non_null(fresh);
    assert_true(all_zero(fresh, 3 << 20));
    dks_huge_free(fresh, 3 << 20);
}

static void same_entry(const dks_lexicon_entry *a, const dks_lexicon_entry *b)
{
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->word, b->word, a->len);
    assert_int_equal(a->n_heads, b->n_heads);
    for (size_t h = 0; h < a->n_heads; h++)
        assert_int_equal(a->heads[h], b->heads[h]);
    assert_int_equal(a->is_name, b->is_name);
    assert_int_equal(a->is_lemma, b->is_lemma);
    assert_int_equal(a->n_lemmas, b->n_lemmas);
    for (size_t l = 0; l < a->n_lemmas; l++) {
        size_t la, lb;
        const char *x = dks_lexicon_lemma(a, l, &la), *y = dks_lexicon_lemma(b, l, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(x, y, la);
    }
}

/* Every word of the lexicon is found in the copy with the same entry,
 * and words it lacks are missing from both. */
static void test_copied_lexicon_answers_as_the_linked(void **state)
{
    (void)state;
    dks_lexicon linked, copy;
    dks_lexicon_open(&linked, 0);
    dks_lexicon_open(&copy, 1);
    assert_true(linked.n > 100000);
    assert_int_equal(copy.n, linked.n);
    assert_null(linked.copy);
    assert_non_null(copy.copy);
    assert_ptr_not_equal(copy.start, linked.start);
    for (size_t i = 0; i < linked.n; i++) {
        dks_lexicon_entry e, in_linked, in_copy;
        assert_true(dks_lexicon_entry_at(i, &e));
        assert_true(dks_lexicon_find_in(&linked, e.word, e.len, &in_linked));
        assert_true(dks_lexicon_find_in(&copy, e.word, e.len, &in_copy));
        same_entry(&in_linked, &in_copy);
        assert_ptr_not_equal(in_copy.word, in_linked.word);
    }
    const char *absent[] = {"xqzvw", "velfærdsalliancen", "", "telemedicinskeste"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        size_t n = strlen(absent[i]);
        assert_int_equal(dks_lexicon_find_in(&copy, absent[i], n, NULL),
                         dks_lexicon_find(absent[i], n, NULL));
    }
    dks_lexicon_close(&copy);
    assert_null(copy.copy);
    assert_int_equal(copy.n, 0);
    dks_lexicon_close(&linked);
}

/* Every term of a text, kind and position, as one line each. */
static int append_term(const dks_term *t, void *ctx)
{
    dks_buf *b = ctx;
    return dks_buf_printf(b, "%d %u %.*s\n", (int)t->kind, (unsigned)t->position,
                          (int)t->term_len, t->term);
}

static char *analysis_of(dks_analyzer *an, const char *text)
{
    dks_buf b = {0};
    assert_int_equal(dks_analyze(an, text, strlen(text), 0, append_term, &b), DKS_OK);
    assert_int_equal(dks_buf_append(&b, "", 0), DKS_OK);
    return (char *)b.data;
}

/* Compound parts and heads, lemmas and spellings come out the same. */
static void test_analysis_with_the_copy_is_the_same(void **state)
{
    (void)state;
    static const char text[] =
        "Velfærdsalliancen vil have telemedicin i kommunerne. Cykelstierne langs "
        "havnen, grundejerforeningernes møder og sygeplejerskernes arbejdsforhold; "
        "hundeopdragelse, dampskibsforbindelse, solcelleanlæg og forsyningsministeren, "
        "gik, gået, bedste, aeble og Aarhus.";
    dks_analyzer *plain, *copied;
    dks_lexicon copy;
    assert_int_equal(dks_analyzer_new(&plain), DKS_OK);
    assert_int_equal(dks_analyzer_new(&copied), DKS_OK);
    dks_lexicon_open(&copy, 1);
    dks_analyzer_set_lexicon(copied, &copy);
    char *a = analysis_of(plain, text), *b = analysis_of(copied, text);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "allianc"));  /* a compound's head did come out */
    free(a);
    free(b);
    dks_analyzer_free(copied);
    dks_analyzer_free(plain);
    dks_lexicon_close(&copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_are_zeroed_and_writable),
        cmocka_unit_test(test_realloc_keeps_contents_across_kinds),
        cmocka_unit_test(test_copied_lexicon_answers_as_the_linked),
        cmocka_unit_test(test_analysis_with_the_copy_is_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
