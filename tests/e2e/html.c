/*
 * End-to-end tests of HTML input: the pages of tests/fixtures/html/
 * (UTF-8 and Latin-1, .html, .htm and .HTML, Danish and English) copied
 * into a temporary directory beside pages made here (binary, empty,
 * markup only, malformed) and a text file, indexed by walking the
 * directory.  Queries find what a reader reads on the pages and not their
 * scripts, styles, menus, banners and footers; titles come from <title>
 * or <h1>; --filter lang=... picks pages by their <html lang>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

/* (not every helper of e2e_util.h is used here) */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "e2e_util.h"

#define CYKLING "cykling.html"
#define AEBLEKAGE "opskrifter/aeblekage.htm"
#define REGNEARK "hjaelp/REGNEARK.HTML"
#define ENGLISH "english.html"
#define OEDELAGT "oedelagt.html"
#define NOTER "noter.txt"

static summary g_summary;
static char *g_index_err;

static int group_setup(void **state)
{
    (void)state;
    g_tmp = test_tmpdir();
    if (!g_tmp)
        return -1;
    snprintf(g_corpus, sizeof g_corpus, "%s/pages", g_tmp);
    snprintf(g_db, sizeof g_db, "%s/db", g_tmp);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -r '%s/tests/fixtures/html' '%s'", test_top(), g_corpus);
    if (system(cmd) != 0)
        return -1;
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10<html><p>billedtekst</p>";
    put_file(g_corpus, "billede.html", png, sizeof png - 1);
    put_string(g_corpus, "tom.htm", "");
    put_string(g_corpus, "kun-markup.html",
               "<html><head><title> </title><script>skjult()</script></head>"
               "<body><div> </div></body></html>");
    put_string(g_corpus, OEDELAGT,
               "<html lang=da><title>Brudstykker</title><p>uafsluttet <b>afsnit "
               "<div><table><td>tabelcelle<li>punktliste</p></b> &bogus; <<>");
    put_string(g_corpus, NOTER, "Noter\nEn tekstfil mellem siderne.\n");
    test_run r = test_tool("dksearch-index", "--db", g_db, g_corpus, NULL);
    int ok = r.status == 0 && parse_summary(r.out, &g_summary) == 0;
    if (!ok)
        fprintf(stderr, "indexing %s failed (exit %d):\n%s%s", g_corpus, r.status,
                r.out ? r.out : "", r.err ? r.err : "");
    g_index_out = r.out;
    g_index_err = r.err;
    r.out = r.err = NULL;
    test_run_free(&r);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    free(g_index_err);
    return group_teardown(state);
}

/* Runs a --json query with the options given before it (NULL-terminated). */
#define search_with(h, query, ...)                                                   \
    do {                                                                             \
        test_run r_ = test_tool("dksearch-query", "--db", g_db, "--json", __VA_ARGS__, \
                                (query), NULL);                                      \
        if (r_.status != 0 && r_.status != 1)                                        \
            fail_msg("query '%s' exited %d: %s", (query), r_.status, r_.err);        \
        check_json(r_.out, (query), (h));                                            \
        test_run_free(&r_);                                                          \
    } while (0)

static void test_directory_walk_reads_html(void **state)
{
    (void)state;
    /* four fixture pages, the malformed one and the text file; the binary,
     * empty and markup-only pages skipped, each named */
    assert_int_equal(g_summary.indexed, 6);
    assert_int_equal(g_summary.skipped, 3);
    assert_int_equal(g_summary.docs, 6);
    assert_contains(g_index_err, "billede.html:1: skipped: binary file");
    assert_contains(g_index_err, "tom.htm:1: skipped: empty file");
    assert_contains(g_index_err,
                    "kun-markup.html:1: skipped: no text (only markup and white space)");
    expect_check_ok(g_db);
}

static void test_body_words_are_found(void **state)
{
    (void)state;
    expect_set(g_db, "cykelsti", IDS(CYKLING));
    expect_set(g_db, "\"Dronning Louises Bro\"", IDS(CYKLING));
    expect_set(g_db, "havnebadet", IDS(CYKLING));    /* an image's alt text */
    expect_set(g_db, "cykelkortet", IDS(CYKLING));   /* a link's text */
    expect_set(g_db, "københavnere", IDS(CYKLING));  /* &oslash; */
    expect_set(g_db, "æblerne", IDS(AEBLEKAGE));     /* Latin-1 bytes */
    expect_set(g_db, "ribsgelé", IDS(AEBLEKAGE));    /* &eacute; in a Latin-1 page */
    expect_set(g_db, "celleformatet", IDS(REGNEARK));
    expect_set(g_db, "tabelcelle punktliste", IDS(OEDELAGT));
    expect_set(g_db, "tekstfil", IDS(NOTER));
    /* blocks are apart: the last word of one list item does not run into
     * the first of the next, "<li>...Bro</li><li>Cykelslangen</li>" */
    expect_set(g_db, "cykelslangen", IDS(CYKLING));
    expect_none(g_db, "brocykelslangen");
}

static void test_scripts_styles_and_chrome_are_not(void **state)
{
    (void)state;
    static const char *const chrome[] = {
        "skriptord", "scriptet", "farve",       /* script and style */
        "menupunkt", "nyheder", "forside",      /* header and nav */
        "brødkrumme", "trafik",                 /* role="navigation" */
        "sidefod", "ophavsret", "mormors",      /* footers */
        "opskrifter",                           /* the page's header */
        "spring",                               /* aria-hidden */
        "billedtekst", "skjult", NULL};         /* skipped pages */
    for (size_t i = 0; chrome[i]; i++)
        expect_none(g_db, chrome[i]);
}

static void test_titles(void **state)
{
    (void)state;
    static const struct {
        const char *query, *id, *title;
    } cases[] = {
        {"cykelsti", CYKLING, "Cykling i København"},       /* <title> over two lines */
        {"æblekage", AEBLEKAGE, "Æblekage med flødeskum"},  /* entities in a Latin-1 page */
        {"celleformatet", REGNEARK, "Regneark og celler"},  /* no <title>: the <h1> */
        {"bicycle", ENGLISH, "Cycling in Copenhagen"},
        {"tabelcelle", OEDELAGT, "Brudstykker"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        hits h = search_page(g_db, cases[i].query, NULL, NULL);
        assert_int_equal(h.n, 1);
        assert_string_equal(h.id[0], cases[i].id);
        assert_string_equal(h.title[0], cases[i].title);
        hits_free(&h);
    }
    /* title words are searchable as titles */
    expect_set(g_db, "title:regneark", IDS(REGNEARK));
}

static void test_filter_by_lang(void **state)
{
    (void)state;
    hits h = {0};
    /* an English page is indexed, and a filter on lang tells it apart */
    search_with(&h, "380", "--filter", "lang=da");
    assert_int_equal(h.total, 1);
    assert_string_equal(h.id[0], CYKLING);
    hits_free(&h);
    search_with(&h, "380", "--filter", "lang=en");
    assert_int_equal(h.total, 1);
    assert_string_equal(h.id[0], ENGLISH);
    hits_free(&h);
    search_with(&h, "bicycle", "--filter", "lang=da");
    assert_int_equal(h.total, 0);
    hits_free(&h);
    /* pages, not the text file, have the field */
    search_with(&h, "lang:da", "--limit", "10");
    assert_int_equal(h.total, 4);
    assert_true(has_id(&h, CYKLING) && has_id(&h, AEBLEKAGE) && has_id(&h, REGNEARK) &&
                has_id(&h, OEDELAGT));
    hits_free(&h);
}

static void test_reindex_changed_page(void **state)
{
    (void)state;
    summary s = index_ok(NULL, g_db, g_corpus, NULL);
    assert_int_equal(s.indexed, 0);
    assert_true(s.unchanged >= 6);
    put_string(g_corpus, ENGLISH,
               "<html lang=\"en\"><title>Harbour baths</title>"
               "<nav>Home</nav><p>Swimming in the harbour in summer.</p></html>");
    s = index_ok(NULL, g_db, g_corpus, NULL);
    assert_int_equal(s.indexed, 1);
    assert_int_equal(s.replaced, 1);
    expect_set(g_db, "harbour", IDS(ENGLISH));
    expect_none(g_db, "bicycle");
    expect_none(g_db, "home");
    expect_check_ok(g_db);
}

/* A page larger than the chunks JSON Lines are read in is still one
 * document, read whole. */
static void test_large_page_is_one_document(void **state)
{
    (void)state;
    char dir[4300], db[4400], path[4400];
    test_dir("stor", dir, sizeof dir);
    snprintf(db, sizeof db, "%s/db", dir);
    snprintf(path, sizeof path, "%s/stor.html", dir);
    put_big(path, "<html lang=da><title>Stor side</title><p>begyndelsesord</p>\n",
            "<p>fyld af <b>almindelig</b> tekst\n", (size_t)10 << 20,
            "<p>slutningsord</p></html>\n");
    summary s = index_ok(NULL, db, dir, NULL);
    assert_int_equal(s.indexed, 1);
    assert_int_equal(s.docs, 1);
    expect_set(db, "begyndelsesord slutningsord", IDS("stor.html"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directory_walk_reads_html),
        cmocka_unit_test(test_body_words_are_found),
        cmocka_unit_test(test_scripts_styles_and_chrome_are_not),
        cmocka_unit_test(test_titles),
        cmocka_unit_test(test_filter_by_lang),
        cmocka_unit_test(test_large_page_is_one_document),
        /* last: it changes the pages */
        cmocka_unit_test(test_reindex_changed_page),
    };
    return cmocka_run_group_tests_name("html", tests, group_setup, teardown);
}
