/*
 * The query parser: the tree it builds (precedence, phrases, exclusions,
 * stop words), and malformed queries that must be read sensibly or
 * refused with a message pointing at the problem, never crash or leak.
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
#include "analyzer_fixture.h"

/* Writes the tree as compact text: AND(a,OR(b,c)), "x y", -z. */
static void show(const dks_qnode *n, dks_buf *b)
{
    switch (n->type) {
    case DKS_Q_TERM:
        dks_buf_append(b, n->term, n->term_len);
        return;
    case DKS_Q_PHRASE:
        dks_buf_putc(b, '"');
        for (size_t i = 0; i < n->n_terms; i++) {
            if (i)
                dks_buf_printf(b, " +%u:", n->offsets[i]);
            dks_buf_append(b, n->terms[i], n->term_lens[i]);
        }
        dks_buf_putc(b, '"');
        return;
    case DKS_Q_NOT:
        dks_buf_putc(b, '-');
        show(n->children[0], b);
        return;
    default:
        dks_buf_append_str(b, n->type == DKS_Q_AND ? "AND(" : "OR(");
        for (size_t i = 0; i < n->n_children; i++) {
            if (i)
                dks_buf_putc(b, ',');
            show(n->children[i], b);
        }
        dks_buf_putc(b, ')');
    }
}

/* Parses q (dropping stop words) and compares its tree with want. */
static void tree(const char *q, const char *want)
{
    dks_qnode *root;
    dks_error_detail err = {0};
    int rc = dks_query_parse(an, NULL, 0, q, strlen(q), &root, &err);
    if (rc)
        fail_msg("'%s' did not parse: %s", q, err.message);
    dks_query_drop_stopwords(&root);
    dks_buf b = {0};
    show(root, &b);
    dks_buf_append(&b, "", 0);
    if (strcmp((char *)b.data, want) != 0)
        fail_msg("'%s' parsed as %s, expected %s", q, (char *)b.data, want);
    dks_buf_free(&b);
    dks_query_free(root);
}

static void test_words_are_analysed(void **state)
{
    (void)state;
    tree("velfærdsalliancer", "velfærdsallianc");
    /* the lexicon brings cyklerne to cykel's stem (Snowball alone: cykl) */
    tree("Cyklerne", "cykel");
    tree("ÆBLER", "æbl");
}

static void test_precedence(void **state)
{
    (void)state;
    tree("kat hund", "AND(kat,hund)");
    /* Juxtaposition binds loosest: a b OR c = a AND (b OR c). */
    tree("kat hund OR fisk", "AND(kat,OR(hund,fisk))");
    /* Explicit operators: AND before OR. */
    tree("kat AND hund OR fisk", "OR(AND(kat,hund),fisk)");
    tree("kat OR hund AND fisk", "OR(kat,AND(hund,fisk))");
    tree("(kat OR hund) fisk", "AND(OR(kat,hund),fisk)");
    tree("((kat))", "kat");
    tree("kat OR hund OR fisk", "OR(kat,hund,fisk)");
    /* Lower-case "or" is a word, not an operator. */
    tree("kat or hund", "AND(kat,or,hund)");
}

static void test_phrases_and_exclusions(void **state)
{
    (void)state;
    tree("\"offentlige sektor\"", "\"offent +1:sektor\"");
    /* A word that analysis splits is a phrase, or the joined word. */
    tree("offentlig-private", "OR(\"offent +1:privat\",offentligprivat)");
    tree("\"offentlig-private\"", "\"offent +1:privat\"");
    tree("kat -hund", "AND(kat,-hund)");
    tree("kat NOT hund", "AND(kat,-hund)");
    tree("kat -\"sort hund\"", "AND(kat,-\"sort +1:hund\")");
    tree("kat -(hund OR fisk)", "AND(kat,-OR(hund,fisk))");
    tree("kat --hund", "AND(kat,hund)");  /* double negation */
    /* A lone dash is punctuation, not an operator. */
    tree("kat - hund", "AND(kat,hund)");
    /* An unclosed quote runs to the end. */
    tree("kat \"sort hund", "AND(kat,\"sort +1:hund\")");
    tree("\"\" kat", "kat");
}

static void test_stop_words(void **state)
{
    (void)state;
    /* Left out of ranked matching beside content words... */
    tree("velfærd og sundhed", "AND(velfærd,sund)");
    tree("i kommunen", "kommun");
    /* ...kept in phrases, and when the query is nothing but stop words. */
    tree("\"i dag\"", "\"i +1:dag\"");
    tree("det er", "AND(det,er)");
    tree("og", "og");
    /* A stop word that is the only positive beside an exclusion stays,
     * so the exclusion is not lost with it. */
    tree("(og -kat) hus", "AND(AND(og,-kat),hus)");
}

static void test_broken_queries_are_refused_with_a_position(void **state)
{
    (void)state;
    struct {
        const char *q;
        long position;      /* 0-based byte the message points at */
        const char *says;
    } cases[] = {
        {"(velfærd", 0, "never closed"},
        {"velfærd)", 8, "no matching"},  /* byte offsets: æ is two bytes */
        {"OR", 0, "needs a word"},
        {"kat OR", 4, "needs a word"},
        {"OR kat", 0, "needs a word"},
        {"kat AND", 4, "needs a word"},
        {"kat OR OR hund", 4, "needs a word"},
        {"AND", 0, "needs a word"},
        {"-velfærd", 0, "only excludes"},
        {"NOT velfærd", 0, "only excludes"},
        {"kat OR -hund", 7, "inside OR"},
        {"()", -1, "no words"},
        {"kat ()", -1, ""},  /* empty parentheses are ignored */
        {"kat NOT", 4, "needs a word"},
        {"NOT", 0, "needs a word"},
        {"(kat OR)", 5, "needs a word"},
        {"((((kat)))", 0, "never closed"},
        {"kat))", 3, "no matching"},
        {"!!!", -1, "no words"},
        {"   ", -1, "no words"},
        {"\"\"", -1, "no words"},
        {"–", -1, "no words"},
        {"\xff\xfe", -1, "no words"},
        {"-(kat)", 0, "only excludes"},
        {"kat -", -1, ""},  /* a trailing dash is punctuation: parses */
        {"title:", 0, "needs a value"},
        {"party:", 0, "needs a value"},
        {"kat party:", 4, "needs a value"},
        {"~", -1, "no words"},
        {"*", -1, "no words"},
        {"\"kat hund\"~101", 1, "at most 100"},
        {"kat AND (hund", 8, "never closed"},
        {"AND OR", 0, "needs a word"},
        {")))", 0, "no matching"},
        {"(((", 2, "never closed"},
        {"kat OR NOT", 7, "needs a word"},
        {"-kat -hund", 0, "only excludes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dks_qnode *root = NULL;
        dks_error_detail err = {0};
        int rc = dks_query_parse(an, NULL, 0, cases[i].q, strlen(cases[i].q), &root, &err);
        if (cases[i].says[0] == '\0') {
            assert_int_equal(rc, DKS_OK);
            dks_query_free(root);
            continue;
        }
        if (rc != DKS_EQUERY)
            fail_msg("'%s' was accepted", cases[i].q);
        assert_null(root);
        if (!strstr(err.message, cases[i].says) || err.position != cases[i].position)
            fail_msg("'%s': message '%s' at %ld, expected '%s' at %ld", cases[i].q, err.message,
                     err.position, cases[i].says, cases[i].position);
    }
}

static void test_limits(void **state)
{
    (void)state;
    char q[DKS_MAX_QUERY_BYTES + 10];
    dks_qnode *root;
    dks_error_detail err = {0};
    /* 65 words */
    size_t at = 0;
    for (int i = 0; i < DKS_MAX_QUERY_TERMS + 1; i++)
        at += (size_t)snprintf(q + at, sizeof q - at, "ord%d ", i);
    assert_int_equal(dks_query_parse(an, NULL, 0, q, at, &root, &err), DKS_EQUERY);
    assert_non_null(strstr(err.message, "more than 64 words"));
    /* 64 words are fine */
    at = 0;
    for (int i = 0; i < DKS_MAX_QUERY_TERMS; i++)
        at += (size_t)snprintf(q + at, sizeof q - at, "ord%d ", i);
    assert_int_equal(dks_query_parse(an, NULL, 0, q, at, &root, NULL), DKS_OK);
    dks_query_free(root);
    /* Deep nesting */
    dks_error_clear(&err);
    memset(q, '(', 40);
    memcpy(q + 40, "kat", 3);
    memset(q + 43, ')', 40);
    assert_int_equal(dks_query_parse(an, NULL, 0, q, 83, &root, &err), DKS_EQUERY);
    assert_non_null(strstr(err.message, "deeply"));
    /* Too long, and NUL bytes */
    memset(q, 'a', sizeof q);
    assert_int_equal(dks_query_parse(an, NULL, 0, q, DKS_MAX_QUERY_BYTES + 1, &root, NULL), DKS_EQUERY);
    assert_int_equal(dks_query_parse(an, NULL, 0, "kat\0hund", 8, &root, NULL), DKS_EQUERY);
}

static uint64_t rng = 88172645463325252ull;

static void test_random_queries_never_crash(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "kat", "hund", " ", " ", "OR", "AND", "NOT", "-", "(", ")", "\"", "æ", "\xff",
        "velfærd", "i", "og", "--", "\t", "a\xcc\x8a", "*", "~", ":", "é",
    };
    const size_t n_pieces = sizeof pieces / sizeof pieces[0];
    size_t accepted = 0;
    for (int round = 0; round < 20000; round++) {
        char q[256];
        size_t at = 0;
        int n = 1 + round % 12;
        for (int k = 0; k < n; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            const char *p = pieces[rng % n_pieces];
            size_t pl = strlen(p);
            if (at + pl + 1 >= sizeof q)
                break;
            memcpy(q + at, p, pl);
            at += pl;
        }
        dks_qnode *root = NULL;
        dks_error_detail err = {0};
        int rc = dks_query_parse(an, NULL, 0, q, at, &root, &err);
        if (rc == DKS_OK) {
            accepted++;
            assert_non_null(root);
            dks_query_drop_stopwords(&root);
            dks_query_free(root);
        } else {
            assert_int_equal(rc, DKS_EQUERY);
            assert_true(err.message[0] != '\0');
            assert_null(root);
        }
    }
    assert_true(accepted > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_are_analysed),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_phrases_and_exclusions),
        cmocka_unit_test(test_stop_words),
        cmocka_unit_test(test_broken_queries_are_refused_with_a_position),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_random_queries_never_crash),
    };
    return cmocka_run_group_tests_name("query", tests, analyzer_setup, analyzer_teardown);
}
