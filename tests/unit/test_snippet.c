/*
 * Snippets: the best window, every surface form of a matched term marked,
 * one line of valid UTF-8 cut at word boundaries, and highlight ranges
 * that point exactly at the marked words.
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

/* Makes a snippet for the query words (analysed like a query). */
static void snippet(const char *text, const char *words, size_t n_words, dks_snippet *out)
{
    char *terms[8] = {0};
    size_t lens[8] = {0}, n = 0;
    for (const char *w = words; *w && n < 8;) {
        size_t wl = strcspn(w, " ");
        const char *t;
        size_t tl;
        assert_int_equal(dks_analyze_word(an, w, wl, &t, &tl), DKS_OK);
        w += wl + (w[wl] == ' ');
        terms[n] = strndup(t, tl);
        lens[n++] = tl;
    }
    assert_int_equal(dks_snippet_make(an, text, strlen(text), terms, lens, n, n_words, out),
                     DKS_OK);
    for (size_t i = 0; i < n; i++)
        free(terms[i]);
}

/* The snippet with [ ] around each highlight. */
static const char *marked(const dks_snippet *s)
{
    static char out[2048];
    size_t at = 0, from = 0;
    for (size_t i = 0; i < s->n_ranges; i++) {
        at += (size_t)snprintf(out + at, sizeof out - at, "%.*s[%.*s]",
                               (int)(s->ranges[i].start - from), s->text.data + from,
                               (int)(s->ranges[i].end - s->ranges[i].start),
                               s->text.data + s->ranges[i].start);
        from = s->ranges[i].end;
    }
    snprintf(out + at, sizeof out - at, "%s", s->text.data + from);
    return out;
}

static void test_marks_every_form_of_a_term(void **state)
{
    (void)state;
    dks_snippet s;
    snippet("Velfærdsalliancer er nye. En velfærdsalliance kræver ledelse.", "velfærdsalliance",
            30, &s);
    assert_string_equal(marked(&s),
                        "[Velfærdsalliancer] er nye. En [velfærdsalliance] kræver ledelse.");
    dks_snippet_free(&s);
}

static void test_window_with_most_distinct_terms(void **state)
{
    (void)state;
    dks_snippet s;
    const char *text = "kat kat kat kat en to tre fire fem seks syv otte ni ti elleve tolv "
                       "tretten fjorten hund fisk slut";
    snippet(text, "hund fisk kat", 4, &s);
    /* Two distinct terms beat three matches of one. */
    assert_string_equal(marked(&s), "… fjorten [hund] [fisk] slut");
    dks_snippet_free(&s);
    snippet(text, "kat", 3, &s);
    assert_string_equal(marked(&s), "[kat] [kat] [kat] …");
    dks_snippet_free(&s);
}

static void test_one_line_valid_utf8(void **state)
{
    (void)state;
    dks_snippet s;
    const char text[] = "Linje\n\n\tmed\xC2\xA0hul og \xFF\xFE skrald, telemedicin\r\nslut.";
    snippet(text, "telemedicin", 30, &s);
    assert_string_equal(marked(&s),
                        "Linje med hul og \xEF\xBF\xBD\xEF\xBF\xBD skrald, [telemedicin] slut.");
    dks_snippet_free(&s);
}

static void test_no_match_gives_the_beginning(void **state)
{
    (void)state;
    dks_snippet s;
    snippet("en to tre fire fem seks", "hund", 3, &s);
    assert_string_equal(marked(&s), "en to tre …");
    assert_int_equal(s.n_ranges, 0);
    dks_snippet_free(&s);
    snippet("", "hund", 3, &s);
    assert_string_equal((char *)s.text.data, "");
    dks_snippet_free(&s);
}

static void test_long_gaps_are_cut(void **state)
{
    (void)state;
    static char text[20000];
    size_t at = (size_t)snprintf(text, sizeof text, "hus ");
    memset(text + at, '=', 10000);
    at += 10000;
    snprintf(text + at, sizeof text - at, " bil");
    dks_snippet s;
    snippet(text, "hus bil", 30, &s);
    /* The junk between the words is not copied into the snippet. */
    assert_string_equal(marked(&s), "[hus] … [bil]");
    dks_snippet_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marks_every_form_of_a_term),
        cmocka_unit_test(test_window_with_most_distinct_terms),
        cmocka_unit_test(test_one_line_valid_utf8),
        cmocka_unit_test(test_no_match_gives_the_beginning),
        cmocka_unit_test(test_long_gaps_are_cut),
    };
    return cmocka_run_group_tests_name("snippet", tests, analyzer_setup, analyzer_teardown);
}
