/*
 * Stemmer conformance: every word of Snowball's Danish test vocabulary
 * (stemmer-data/danish-voc.txt) must come out of the project's analysis as
 * the stem in stemmer-data/danish-output.txt, through the per-word entry
 * point and, for every line that is one token, through the whole chain.
 * Also checks that the stop list compiled into the library is the data
 * file's.
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
#include "test_util.h"

static char *data_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/stemmer-data/%s", test_top(), name);
    return path;
}

/* Splits a file into lines in place; returns the count. */
static size_t split_lines(char *buf, char ***lines)
{
    size_t n = 0, cap = 1024;
    *lines = malloc(cap * sizeof **lines);
    for (char *p = buf; *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (n == cap)
            *lines = realloc(*lines, (cap *= 2) * sizeof **lines);
        (*lines)[n++] = p;
        if (!nl)
            break;
        p = nl + 1;
    }
    return n;
}

typedef struct one_term {
    int count;
    char term[DKS_MAX_TERM_BYTES + 1];
} one_term;

static int keep_term(const dks_term *t, void *ctx)
{
    one_term *o = ctx;
    if (t->kind != DKS_TERM_WORD)
        return 0;
    if (o->count++ == 0) {
        memcpy(o->term, t->term, t->term_len);
        o->term[t->term_len] = '\0';
    }
    return 0;
}

static void test_snowball_vocabulary(void **state)
{
    (void)state;
    char *voc = test_read_file(data_path("danish-voc.txt"), NULL);
    char *exp = test_read_file(data_path("danish-output.txt"), NULL);
    assert_non_null(voc);
    assert_non_null(exp);
    char **words, **stems;
    size_t n_words = split_lines(voc, &words), n_stems = split_lines(exp, &stems);
    assert_int_equal(n_words, n_stems);
    assert_true(n_words >= 23830);

    /* Plain Snowball: the Danish stages on top are tested in test_danish.c. */
    dks_analyzer *an;
    assert_int_equal(dks_analyzer_new_with(DKS_ANALYSIS_SNOWBALL, &an), DKS_OK);
    size_t word_ok = 0, chain_lines = 0, chain_ok = 0;
    for (size_t i = 0; i < n_words; i++) {
        const char *term;
        size_t len;
        assert_int_equal(dks_analyze_word(an, words[i], strlen(words[i]), &term, &len), DKS_OK);
        if (len == strlen(stems[i]) && memcmp(term, stems[i], len) == 0)
            word_ok++;
        else
            print_error("word %zu: %s -> %.*s, expected %s\n", i + 1, words[i], (int)len, term,
                        stems[i]);

        one_term o = {0};
        assert_int_equal(dks_analyze(an, words[i], strlen(words[i]), 0, keep_term, &o), DKS_OK);
        if (o.count == 1 && strlen(words[i]) > 0) {
            /* One token: the chain must agree with Snowball too. */
            dks_tokenizer tz;
            dks_token tok;
            dks_tokenizer_init(&tz, words[i], strlen(words[i]));
            if (dks_tokenizer_next(&tz, &tok) && tok.len == strlen(words[i])) {
                chain_lines++;
                chain_ok += strcmp(o.term, stems[i]) == 0;
            }
        }
    }
    dks_analyzer_free(an);
    print_message("stemmer conformance: %zu/%zu words (%.2f %%) through dks_analyze_word, "
                  "%zu/%zu one-token lines through the chain\n", word_ok, n_words,
                  100.0 * word_ok / n_words, chain_ok, chain_lines);
    assert_int_equal(word_ok, n_words);
    assert_int_equal(chain_ok, chain_lines);
    assert_true(chain_lines >= n_words - 1);  /* only the emoji line is not one token */
    free(words);
    free(stems);
    free(voc);
    free(exp);
}

static void test_stopwords_match_data_file(void **state)
{
    (void)state;
    char *buf = test_read_file(data_path("danish-stopwords.txt"), NULL);
    assert_non_null(buf);
    char **lines;
    size_t n = split_lines(buf, &lines), words = 0;
    for (size_t i = 0; i < n; i++) {
        if (!lines[i][0])
            continue;
        words++;
        if (!dks_is_stopword(lines[i], strlen(lines[i])))
            fail_msg("'%s' is in the stop list file but not in the library", lines[i]);
    }
    assert_int_equal(words, dks_stopword_count());
    assert_false(dks_is_stopword("velfærd", strlen("velfærd")));
    assert_false(dks_is_stopword("o", 1));      /* prefix of "og" */
    assert_false(dks_is_stopword("ogs", 3));    /* extension of "og" */
    assert_true(dks_is_stopword("også", strlen("også")));
    free(lines);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snowball_vocabulary),
        cmocka_unit_test(test_stopwords_match_data_file),
    };
    return cmocka_run_group_tests_name("stemmer", tests, NULL, NULL);
}
