/*
 * End-to-end tests: the real dksearch-index and dksearch-query binaries on
 * the fixture corpus in tests/fixtures/corpus (see its README.md for what
 * each document is designed to show).  Every expectation below about hit
 * sets, counts and order follows from those texts, so a change to the
 * corpus must come with a change here.
 *
 * The corpus is indexed once per run (group setup); tests that write to an
 * index build their own in a temporary directory, so the order of the
 * tests does not matter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "e2e_util.h"

/* 12 .txt files, 3 lines of extra.jsonl, 4 lines of taler.tsv. */
#define CORPUS_DOCS 19
/* the files they come from: .txt, .jsonl and .tsv */
#define CORPUS_FILES 14

/* ---- running queries ------------------------------------------------------ */

/* A --json query ranked by plain BM25: a title word counts like a body word. */
static hits search_plain_bm25(const char *query)
{
    hits h = {0};
    test_run r = test_tool("dksearch-query", "--db", g_db, "--json", "--weight", "title=1",
                           "--limit", "100", query, NULL);
    check_json(r.out, query, &h);
    test_run_free(&r);
    return h;
}

static hits search(const char *query)
{
    return search_page(g_db, query, NULL, NULL);
}

/* Two queries give the same hits: ids, order, scores, snippets, highlights. */
static void expect_same_hits(const char *db_a, const char *query_a, const char *db_b,
                             const char *query_b)
{
    hits a = search_page(db_a, query_a, NULL, NULL), b = search_page(db_b, query_b, NULL, NULL);
    assert_int_equal(a.total, b.total);
    if (!json_equal(json_object_get(a.root, "hits"), json_object_get(b.root, "hits"))) {
        print_hits(query_a, &a);
        print_hits(query_b, &b);
        fail_msg("'%s' and '%s' should give identical hits", query_a, query_b);
    }
    hits_free(&a);
    hits_free(&b);
}

/* ---- fixture helpers --------------------------------------------------------- */

/* Whole-word occurrences of word in s; bytes >= 0x80 count as letters, so
 * "Ærø" is not found inside "Ærøskøbing" nor "cykler" inside "Ladcykler". */
static int is_word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

static int is_whole_word(const char *s, size_t start, size_t end)
{
    return (start == 0 || !is_word_byte((unsigned char)s[start - 1])) &&
           !is_word_byte((unsigned char)s[end]);
}

static size_t count_word(const char *s, const char *word)
{
    size_t n = 0, wl = strlen(word);
    for (const char *p = strstr(s, word); p; p = strstr(p + 1, word))
        n += is_whole_word(s, (size_t)(p - s), (size_t)(p - s) + wl);
    return n;
}

/* Asserts every highlight of hit i is one of the allowed surface forms,
 * standing as a whole word, and that every such form in the snippet is
 * highlighted.  Returns the number of highlights. */
static size_t check_highlights(const hits *h, size_t i, const char *const *forms)
{
    const char *snip = h->snippet[i];
    json_t *hl = h->highlights[i];
    for (size_t j = 0; j < json_array_size(hl); j++) {
        size_t start = (size_t)json_integer_value(json_array_get(json_array_get(hl, j), 0));
        size_t end = (size_t)json_integer_value(json_array_get(json_array_get(hl, j), 1));
        int known = 0;
        for (size_t k = 0; forms[k] && !known; k++)
            known = strlen(forms[k]) == end - start &&
                    memcmp(snip + start, forms[k], end - start) == 0;
        if (!known || !is_whole_word(snip, start, end))
            fail_msg("highlight [%zu,%zu] of %s is \"%.*s\", not a matched word; snippet: %s",
                     start, end, h->id[i], (int)(end - start), snip + start, snip);
    }
    size_t expected = 0;
    for (size_t k = 0; forms[k]; k++)
        expected += count_word(snip, forms[k]);
    if (expected != json_array_size(hl))
        fail_msg("%s: %zu matched words in the snippet but %zu highlights: %s", h->id[i],
                 expected, json_array_size(hl), snip);
    return expected;
}

/* grep over the fixture corpus, to check the texts say what a test assumes. */
static char *grep_corpus(const char *word)
{
    char *argv[] = {"/bin/sh", "-c",
                    "cd \"$0\" && grep -rliw --include='*.txt' --include='*.jsonl' "
                    "--include='*.tsv' -- \"$1\" . | sort",
                    g_corpus, (char *)word, NULL};
    test_run r = test_exec(argv, NULL);
    char *out = r.out;
    r.out = NULL;
    test_run_free(&r);
    return out;
}

/* ---- group setup ------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    return index_fixture("corpus", NULL);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_corpus_summary(void **state)
{
    (void)state;
    summary s;
    assert_int_equal(parse_summary(g_index_out, &s), 0);
    assert_int_equal(s.indexed, CORPUS_DOCS);
    assert_int_equal(s.added, CORPUS_DOCS);
    assert_int_equal(s.replaced, 0);
    assert_int_equal(s.skipped, 0);
    assert_int_equal(s.docs, CORPUS_DOCS);
    assert_true(s.terms > 100);
    /* The summary names the index it wrote. */
    assert_contains(g_index_out, g_db);
}

/* --stats: the same counts as the summary, and how much of the index is
 * stored text. */
static void test_stats(void **state)
{
    (void)state;
    test_run r = test_tool("dksearch-query", "--db", g_db, "--stats", NULL);
    assert_int_equal(r.status, 0);
    unsigned long long docs, terms, tokens, size, text;
    assert_int_equal(sscanf(r.out, "{\"documents\":%llu,\"terms\":%llu,\"tokens\":%llu,"
                                   "\"size_bytes\":%llu,\"text_bytes\":%llu}",
                            &docs, &terms, &tokens, &size, &text), 5);
    summary s;
    assert_int_equal(parse_summary(g_index_out, &s), 0);
    assert_int_equal(docs, CORPUS_DOCS);
    assert_int_equal(terms, s.terms);
    assert_true(tokens > 20 * CORPUS_DOCS);  /* every document says something */
    assert_true(text > 0 && text < size);
    test_run_free(&r);
    /* an index that is not there */
    r = test_tool("dksearch-query", "--db", "/nonexistent/db", "--stats", NULL);
    assert_int_equal(r.status, 2);
    test_run_free(&r);
}

static void test_single_words(void **state)
{
    (void)state;
    expect_set(g_db, "telemedicin",
               IDS("sundhed/telemedicin.txt", "sundhed/sygehuse.txt", "tale-2"));
    expect_set(g_db, "borgmester", IDS("kommuner/budget.txt", "klima/aeroe.txt"));
    expect_set(g_db, "velfærd", IDS("velfaerd/sektorerne.txt", "parti-1"));
    expect_set(g_db, "klima",
               IDS("klima/aeroe.txt", "klima/aarhus.txt", "cykler/pendlere.txt"));
    expect_none(g_db, "xyzzyvolapyk");
}

static void test_stemmed_forms(void **state)
{
    (void)state;
    /* No text says "cyklerne": the two cycling texts come through the stem,
     * parti-2 through the first part of its compound "cykelstier". */
    char *files = grep_corpus("cyklerne");
    assert_non_null(files);
    assert_string_equal(files, "");
    free(files);
    expect_set(g_db, "cyklerne", IDS("cykler/hverdag.txt", "cykler/pendlere.txt", "parti-2"));
    expect_set(g_db, "Cyklen", IDS("cykler/hverdag.txt", "cykler/pendlere.txt", "parti-2"));
    hits c = search("cyklerne");
    assert_string_equal(c.id[2], "parti-2");  /* a part match ranks below the words */
    hits_free(&c);
    /* kommune, kommunen, kommuner, Kommunerne and Kommunernes are one term. */
    static const char *const kommune[] = {
        "kommuner/budget.txt", "kommuner/sammenlaegning.txt", "klima/aarhus.txt",
        "klima/aeroe.txt",     "skoler/folkeskolen.txt",      "velfaerd/aeldrepleje.txt",
        NULL};
    expect_set(g_db, "kommune", kommune);
    expect_set(g_db, "kommunernes", kommune);
    /* Definite forms: the texts only say "borgmesteren"/"Borgmesteren". */
    expect_same_hits(g_db, "borgmester", g_db, "borgmesteren");
}

static void test_and(void **state)
{
    (void)state;
    /* klima: 3 documents, kommune: 6; both: only the two about places. */
    expect_set(g_db, "klima kommune", IDS("klima/aarhus.txt", "klima/aeroe.txt"));
    expect_set(g_db, "kommune klima", IDS("klima/aarhus.txt", "klima/aeroe.txt"));
    expect_same_hits(g_db, "klima kommune", g_db, "klima AND kommune");
    expect_set(g_db, "telemedicin øresund", IDS("sundhed/sygehuse.txt"));
    expect_none(g_db, "telemedicin borgmester");
}

/* Sums the "proximity" parts of a hit's --explain breakdown. */
static double proximity_bonus(json_t *hit)
{
    json_t *parts = json_object_get(hit, "explain");
    double bonus = 0;
    for (size_t i = 0; i < json_array_size(parts); i++) {
        json_t *part = json_array_get(parts, i);
        if (strcmp(json_string_value(json_object_get(part, "kind")), "proximity") == 0)
            bonus += json_number_value(json_object_get(part, "score"));
    }
    return bonus;
}

static void test_or(void **state)
{
    (void)state;
    /* Disjoint operands: the totals add up. */
    expect_set(g_db, "borgmester OR cyklerne",
               IDS("kommuner/budget.txt", "klima/aeroe.txt", "cykler/hverdag.txt",
                   "cykler/pendlere.txt", "parti-2"));
    /* Overlapping operands (aeroe has both words) count once, and the
     * document with both ranks first with the sum of both scores (and a
     * bonus for the words' closeness, which --explain shows apart), with
     * title words counted like body words. */
    hits both = search_plain_bm25("klima OR borgmester"), k = search_plain_bm25("klima"),
         b = search_plain_bm25("borgmester");
    assert_int_equal(both.total, 4);
    assert_string_equal(both.id[0], "klima/aeroe.txt");
    assert_true(has_id(&both, "kommuner/budget.txt"));
    assert_true(has_id(&both, "klima/aarhus.txt"));
    assert_true(has_id(&both, "cykler/pendlere.txt"));
    double sum = 0;
    for (size_t i = 0; i < k.n; i++)
        if (strcmp(k.id[i], "klima/aeroe.txt") == 0)
            sum += k.score[i];
    for (size_t i = 0; i < b.n; i++)
        if (strcmp(b.id[i], "klima/aeroe.txt") == 0)
            sum += b.score[i];
    test_run x = test_tool("dksearch-query", "--db", g_db, "--json", "--explain", "--limit", "1",
                           "--weight", "title=1", "klima OR borgmester", NULL);
    json_t *root = json_loads(x.out, 0, NULL);
    double bonus = proximity_bonus(json_array_get(json_object_get(root, "hits"), 0));
    json_decref(root);
    test_run_free(&x);
    assert_true(fabs(both.score[0] - sum - bonus) < 1e-6 * sum);
    hits_free(&both);
    hits_free(&k);
    hits_free(&b);
}

static void test_exclusion(void **state)
{
    (void)state;
    /* borgmester is in exactly two of the six kommune documents. */
    static const char *const rest[] = {"kommuner/sammenlaegning.txt", "klima/aarhus.txt",
                                       "skoler/folkeskolen.txt", "velfaerd/aeldrepleje.txt",
                                       NULL};
    expect_set(g_db, "kommune -borgmester", rest);
    expect_set(g_db, "kommune NOT borgmester", rest);
    expect_set(g_db, "-borgmester kommune", rest);
    /* Excluding a word no hit has changes nothing. */
    expect_same_hits(g_db, "telemedicin", g_db, "telemedicin -borgmester");
    /* Excluding through a stemmed form excludes the same documents. */
    expect_set(g_db, "klima -cyklen", IDS("klima/aeroe.txt", "klima/aarhus.txt"));
}

static void test_phrase(void **state)
{
    (void)state;
    /* "den offentlige sektor" stands in one text; the other has all three
     * words apart ("den private sektor ... offentlige ansatte"). */
    expect_set(g_db, "\"den offentlige sektor\"", IDS("velfaerd/sektorerne.txt"));
    expect_set(g_db, "den offentlige sektor",
               IDS("velfaerd/sektorerne.txt", "velfaerd/aeldrepleje.txt"));
    expect_set(g_db, "\"offentlige sektor\"", IDS("velfaerd/sektorerne.txt"));
    expect_set(g_db, "\"den private sektor\"", IDS("velfaerd/aeldrepleje.txt"));
    /* Order matters in a phrase. */
    expect_none(g_db, "\"sektor offentlige\"");
    /* The title ends with "hjemmet" and the body starts with "Telemedicin",
     * but a phrase never joins title and body. */
    expect_set(g_db, "hjemmet telemedicin", IDS("sundhed/telemedicin.txt"));
    expect_none(g_db, "\"hjemmet telemedicin\"");
    /* Phrases match on stems too: the text says "Den offentlige sektor". */
    expect_set(g_db, "\"offentlig sektorer\"", IDS("velfaerd/sektorerne.txt"));
}

static void test_ranking(void **state)
{
    (void)state;
    /* tf 5 in a short text, tf 1 in a short speech, tf 1 in a long text. */
    expect_ranked(g_db, "telemedicin",
                  IDS("sundhed/telemedicin.txt", "tale-2", "sundhed/sygehuse.txt"));
    hits h = search("telemedicin");
    assert_true(h.score[0] > h.score[1] && h.score[1] > h.score[2]);
    hits_free(&h);
    /* The one document with all three words outranks those with two (by
     * BM25 alone: a title word may weigh more than a third word). */
    hits c = search_plain_bm25("klima kommune OR borgmester");
    assert_string_equal(c.id[0], "klima/aeroe.txt");
    hits_free(&c);
}

/* Exact BM25 (k1 = 1.2, b = 0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5)))
 * on a collection small enough to compute by hand. */
static double bm25(double tf, double len, double avg, double n, double df)
{
    double idf = log(1.0 + (n - df + 0.5) / (df + 0.5));
    return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len / avg));
}

static void test_bm25_scores(void **state)
{
    (void)state;
    char tmp[1024], db[4200];
    test_dir("bm25", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    summary s = index_ok("{\"id\": \"a\", \"body\": \"sol sol sol regn\"}\n"
                         "{\"id\": \"b\", \"body\": \"sol regn regn regn regn regn regn regn\"}\n"
                         "{\"id\": \"c\", \"title\": \"Sne\", \"body\": \"og hagl\"}\n",
                         db, "-", NULL);
    assert_int_equal(s.docs, 3);
    const double avg = (4 + 8 + 3) / 3.0;
    hits sol = search_page(db, "sol", NULL, NULL);
    assert_int_equal(sol.total, 2);
    assert_string_equal(sol.id[0], "a");
    assert_string_equal(sol.id[1], "b");
    double want_a = bm25(3, 4, avg, 3, 2), want_b = bm25(1, 8, avg, 3, 2);
    if (fabs(sol.score[0] - want_a) > 1e-8 || fabs(sol.score[1] - want_b) > 1e-8)
        fail_msg("sol: scores %.10g, %.10g; BM25 gives %.10g, %.10g", sol.score[0],
                 sol.score[1], want_a, want_b);
    hits_free(&sol);
    /* A title word counts twice: as a word of the document, and again as a
     * word of the title (the same tf, df and length here). */
    hits sne = search_page(db, "sne", NULL, NULL);
    assert_int_equal(sne.total, 1);
    assert_true(fabs(sne.score[0] - 2 * bm25(1, 3, avg, 3, 1)) < 1e-8);
    hits_free(&sne);
}

static void test_stopword_phrase(void **state)
{
    (void)state;
    /* "i dag" stands in two texts; "dag" alone also in "hver dag". */
    expect_set(g_db, "\"i dag\"", IDS("kommuner/budget.txt", "skoler/folkeskolen.txt"));
    expect_set(g_db, "dag",
               IDS("kommuner/budget.txt", "skoler/folkeskolen.txt", "cykler/hverdag.txt"));
    /* Unquoted, the stop word "i" is left out. */
    expect_same_hits(g_db, "i dag", g_db, "dag");
}

static void test_stopword_only_query(void **state)
{
    (void)state;
    /* Only the two speeches say "jeg". */
    char *files = grep_corpus("jeg");
    assert_non_null(files);
    assert_string_equal(files, "./taler.tsv\n");
    free(files);
    expect_set(g_db, "jeg", IDS("tale-1", "tale-2"));
    expect_set(g_db, "Jeg", IDS("tale-1", "tale-2"));
    /* 16 of the 19 documents have "og". */
    hits og = search("og");
    assert_int_equal(og.total, 16);
    hits_free(&og);
}

static void test_stopword_beside_content(void **state)
{
    (void)state;
    /* Of the three telemedicin documents only tale-2 says "jeg"; were the
     * stop word required, one hit would be left. */
    expect_same_hits(g_db, "telemedicin", g_db, "telemedicin jeg");
    expect_same_hits(g_db, "telemedicin", g_db, "jeg telemedicin");
    expect_same_hits(g_db, "klima", g_db, "klima og i");
}

static void test_danish_letters(void **state)
{
    (void)state;
    expect_set(g_db, "ærø", IDS("klima/aeroe.txt"));
    expect_same_hits(g_db, "ærø", g_db, "ÆRØ");
    expect_same_hits(g_db, "ærø", g_db, "Ærø");
    expect_set(g_db, "ærøskøbing", IDS("klima/aeroe.txt"));
    expect_set(g_db, "øresund", IDS("sundhed/sygehuse.txt"));
    expect_set(g_db, "århus", IDS("klima/aarhus.txt"));
    expect_set(g_db, "ældreplejen", IDS("velfaerd/aeldrepleje.txt", "parti-1"));
    /* å as a + COMBINING RING ABOVE (U+030A) is the same letter. */
    expect_same_hits(g_db, "århus", g_db, "a\xcc\x8arhus");
    expect_same_hits(g_db, "århus", g_db, "A\xcc\x8aRHUS");
    hits h = search("ærø");
    /* The highlights are "Ærø" and the compound that begins with it. */
    check_highlights(&h, 0, IDS("Ærø", "Ærøskøbing"));
    assert_true(json_array_size(h.highlights[0]) >= 1);
    hits_free(&h);
}

static void test_json_output(void **state)
{
    (void)state;
    hits h = search("cyklerne");
    assert_int_equal(h.total, 3);
    assert_int_equal(h.n, 3);
    assert_string_equal(h.id[0], "cykler/hverdag.txt");
    assert_string_equal(h.title[0], "Hverdag på to hjul");
    assert_string_equal(h.title[1], "Supercykelstier til pendlerne");
    /* Snippets are one line of the body, without markup. */
    for (size_t i = 0; i < h.n; i++) {
        assert_null(strchr(h.snippet[i], '\n'));
        assert_null(strchr(h.snippet[i], '['));
        /* Compounds match through their head (Ladcykler) or first part
         * (cykelstierne, cykelstier). */
        assert_true(check_highlights(&h, i, IDS("cykler", "cyklen", "Cyklen", "Ladcykler",
                                                 "cykelstierne", "cykelstier")) >= 1);
    }
    hits_free(&h);
    /* Highlights of a stemmed query cover the forms in the text. */
    hits k = search("kommunerne");
    for (size_t i = 0; i < k.n; i++)
        check_highlights(&k, i, IDS("kommune", "kommunen", "kommuner", "Kommunen", "Kommunerne"));
    hits_free(&k);
    /* The query is echoed as given, escapes and all. */
    hits q = search("\"den offentlige sektor\"");
    assert_int_equal(q.total, 1);
    hits_free(&q);
    /* No hits is still a complete object, with exit status 1. */
    hits none = search("xyzzyvolapyk");
    assert_int_equal(none.status, 1);
    assert_int_equal(none.total, 0);
    assert_int_equal(none.n, 0);
    hits_free(&none);
}

static void test_text_output(void **state)
{
    (void)state;
    test_run r = test_tool("dksearch-query", "--db", g_db, "telemedicin", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    /* Not a terminal: brackets, never escape sequences. */
    assert_null(strchr(r.out, '\033'));
    assert_true(strncmp(r.out, "1. sundhed/telemedicin.txt  (", 29) == 0);
    assert_contains(r.out, "\n   Telemedicin i hjemmet\n");
    assert_contains(r.out, "\n2. tale-2  (");
    assert_contains(r.out, "\n3. sundhed/sygehuse.txt  (");
    assert_contains(r.out, "\n1-3 of 3 hits (");
    assert_contains(r.out, "[telemedicin]");
    /* Every bracketed word is a matched one. */
    size_t marked = 0;
    for (const char *p = strchr(r.out, '['); p; p = strchr(p + 1, '[')) {
        const char *end = strchr(p, ']');
        assert_non_null(end);
        size_t n = (size_t)(end - p - 1);
        if (!(n == 11 && (strncmp(p + 1, "telemedicin", 11) == 0 ||
                          strncmp(p + 1, "Telemedicin", 11) == 0)))
            fail_msg("marked \"%.*s\" in: %s", (int)n, p + 1, r.out);
        marked++;
    }
    /* Every hit's snippet shows its match. */
    assert_true(marked >= 3);
    test_run_free(&r);

    r = test_tool("dksearch-query", "--db", g_db, "xyzzyvolapyk", NULL);
    assert_int_equal(r.status, 1);
    assert_true(strncmp(r.out, "No documents match", 18) == 0);
    test_run_free(&r);
}

static void test_exit_codes(void **state)
{
    (void)state;
    test_run r = test_tool("dksearch-query", "--db", g_db, "velfærd", NULL);
    assert_int_equal(r.status, 0);
    test_run_free(&r);
    r = test_tool("dksearch-query", "--db", g_db, "--json", "velfærd", "-velfærd", NULL);
    assert_int_equal(r.status, 1);
    test_run_free(&r);
    r = test_tool("dksearch-query", "--db", g_db, "(velfærd", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    test_run_free(&r);
    r = test_tool("dksearch-query", "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "usage:");
    test_run_free(&r);
}

static void test_error_missing_index(void **state)
{
    (void)state;
    char path[4300];
    snprintf(path, sizeof path, "%s/findes-ikke", g_tmp);
    test_run r = test_tool("dksearch-query", "--db", path, "velfærd", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    assert_contains(r.err, "no index at");
    assert_contains(r.err, path);
    test_run_free(&r);
    /* A reader must not leave an empty index behind. */
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
}

static void test_error_empty_query(void **state)
{
    (void)state;
    static const char *const empty[] = {"", "   ", NULL};
    for (size_t i = 0; empty[i]; i++) {
        test_run r = test_tool("dksearch-query", "--db", g_db, empty[i], NULL);
        assert_int_equal(r.status, 2);
        assert_string_equal(r.out, "");
        assert_contains(r.err, "no query given");
        test_run_free(&r);
    }
    expect_refused("no query given", "dksearch-query", "--db", g_db);
    /* Punctuation only: parsed, but nothing to search for. */
    expect_refused("no words to search for", "dksearch-query", "--db", g_db, "!!! ...");
}

static void test_error_broken_query(void **state)
{
    (void)state;
    static const struct {
        const char *query, *message;
    } cases[] = {
        {"(velfærd", "'(' is never closed (at character 1)"},
        {"skole)", "')' has no matching '(' (at character 6)"},
        {"velfærd)", "')' has no matching '(' (at character 8)"},
        {"OR", "'OR' needs a word before and after it (at character 1)"},
        {"skole OR", "'OR' needs a word before and after it (at character 7)"},
        {"-velfærd", "only excludes words"},
        {"velfærd OR -skole", "cannot exclude a word inside OR"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_run r = test_tool("dksearch-query", "--db", g_db, cases[i].query, NULL);
        if (r.status != 2 || !strstr(r.err, cases[i].message))
            fail_msg("query '%s': exit %d, stderr: %s", cases[i].query, r.status, r.err);
        assert_string_equal(r.out, "");
        /* The query is shown again with a caret under the problem. */
        if (strstr(cases[i].message, "character")) {
            assert_contains(r.err, cases[i].query);
            assert_contains(r.err, "^\n");
        }
        test_run_free(&r);
    }
    /* The caret counts characters, so it stands under the ')' after æ. */
    test_run c = test_tool("dksearch-query", "--db", g_db, "velfærd)", NULL);
    assert_contains(c.err, "\n  velfærd)\n         ^\n");
    test_run_free(&c);
    /* The JSON mode reports errors the same way, not as JSON. */
    test_run r = test_tool("dksearch-query", "--db", g_db, "--json", "(velfærd", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    assert_contains(r.err, "never closed");
    test_run_free(&r);
}

static void test_error_unknown_option(void **state)
{
    (void)state;
    static const char *const tools[] = {"dksearch-query", "dksearch-index"};
    for (size_t i = 0; i < 2; i++) {
        test_run r = test_tool(tools[i], "--db", g_db, "--frobnicate", "velfærd", NULL);
        assert_int_equal(r.status, 2);
        assert_string_equal(r.out, "");
        assert_contains(r.err, "unknown option --frobnicate");
        assert_contains(r.err, "usage:");
        test_run_free(&r);
    }
    expect_refused("--limit takes 1 to 10000", "dksearch-query",
                   "--db", g_db, "--limit", "ti", "velfærd");
    /* Zero hits per page is no page at all. */
    expect_refused("--limit takes 1 to 10000", "dksearch-query",
                   "--db", g_db, "--limit", "0", "velfærd");
    expect_refused("--offset takes 0 to 10000", "dksearch-query",
                   "--db", g_db, "--offset", "-3", "velfærd");
    expect_refused("--offset needs a value", "dksearch-query", "--db", g_db, "velfærd", "--offset");
    /* A batch holds at least one document. */
    expect_refused("--commit-every takes 1 to 100000", "dksearch-index", "--db", g_db,
                   "--commit-every", "0", g_corpus);
}

static void test_index_missing_file(void **state)
{
    (void)state;
    char tmp[1024], db[4200], missing[4200], tsv[4300];
    test_dir("missing-file", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    snprintf(missing, sizeof missing, "%s/findes-ikke.txt", tmp);
    snprintf(tsv, sizeof tsv, "%s/taler.tsv", g_corpus);
    test_run r = test_tool("dksearch-index", "--db", db, tsv, missing, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, missing);
    assert_contains(r.err, "No such file");
    /* What could be read was still committed. */
    summary s;
    assert_int_equal(parse_summary(r.out, &s), 0);
    assert_int_equal(s.docs, 4);
    test_run_free(&r);
    expect_set(db, "finansloven", IDS("tale-3"));

    expect_refused("no input given", "dksearch-index", "--db", db);
}

/* Input larger than the indexer's 8 MiB chunk, from a file and from
 * standard input: every document arrives, and a bad record past the first
 * chunk is named by its true line number. */
static void test_large_input_in_chunks(void **state)
{
    (void)state;
    char tmp[1024], db[4200], path[4200];
    test_dir("chunks", tmp, sizeof tmp);
    snprintf(path, sizeof path, "%s/stor.jsonl", tmp);
    const unsigned n = 3000, bad = 2900;
    size_t cap = (size_t)12 << 20, len = 0;
    char *input = malloc(cap), filler[3001];
    assert_non_null(input);
    memset(filler, 'a', sizeof filler - 1);
    filler[sizeof filler - 1] = '\0';
    for (unsigned i = 1; i <= n; i++)
        len += (size_t)(i == bad ? snprintf(input + len, cap - len, "{\"id\": \"broken\"\n")
                                 : snprintf(input + len, cap - len,
                                            "{\"id\": \"d%u\", \"body\": \"ord%u stykke %s\"}\n",
                                            i, i, filler));
    assert_true(len > (size_t)8 << 20 && len < cap);  /* more than one chunk */
    assert_int_equal(test_write_file(path, input, len), 0);
    for (int from_stdin = 0; from_stdin < 2; from_stdin++) {
        snprintf(db, sizeof db, "%s/db%d", tmp, from_stdin);
        test_run r = from_stdin ? test_tool_stdin(input, "dksearch-index", "--db", db, "-", NULL)
                                : test_tool("dksearch-index", "--db", db, path, NULL);
        assert_int_equal(r.status, 0);
        char where[4300];
        snprintf(where, sizeof where, "%s:%u: skipped", from_stdin ? "-" : path, bad);
        assert_contains(r.err, where);
        summary s;
        assert_int_equal(parse_summary(r.out, &s), 0);
        assert_int_equal(s.docs, n - 1);
        assert_int_equal(s.skipped, 1);
        test_run_free(&r);
        expect_set(db, "ord2999", IDS("d2999"));
        expect_set(db, "ord3000", IDS("d3000"));
        expect_set(db, "ord1", IDS("d1"));
    }
    free(input);
}

static void test_reindex_replaces(void **state)
{
    (void)state;
    char tmp[1024], db[4200], fresh[4200], first[4200], second[4200];
    test_dir("replace", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    snprintf(fresh, sizeof fresh, "%s/fresh", tmp);
    snprintf(first, sizeof first, "%s/x1.jsonl", tmp);
    snprintf(second, sizeof second, "%s/x2.jsonl", tmp);
    /* Version 1 and 2 of one document have no content word in common. */
    static const char v1[] = "{\"id\": \"x\", \"title\": \"Første udgave\", "
                             "\"body\": \"Her står ordet abrikostræ.\"}\n";
    static const char v2[] = "{\"id\": \"x\", \"title\": \"Anden udgave\", "
                             "\"body\": \"Nu står her ordet blommetræ.\"}\n";
    assert_int_equal(test_write_file(first, v1, strlen(v1)), 0);
    assert_int_equal(test_write_file(second, v2, strlen(v2)), 0);

    summary s = index_ok(NULL, db, g_corpus, NULL);
    assert_int_equal(s.docs, CORPUS_DOCS);
    s = index_ok(NULL, db, first, NULL);
    assert_int_equal(s.added, 1);
    assert_int_equal(s.replaced, 0);
    assert_int_equal(s.docs, CORPUS_DOCS + 1);
    expect_set(db, "abrikostræ", IDS("x"));

    s = index_ok(v2, db, "-", NULL);
    assert_int_equal(s.added, 0);
    assert_int_equal(s.replaced, 1);
    assert_int_equal(s.docs, CORPUS_DOCS + 1);
    expect_none(db, "abrikostræ");
    expect_set(db, "blommetræ", IDS("x"));
    hits h = search_page(db, "udgave", NULL, NULL);
    assert_int_equal(h.total, 1);
    assert_string_equal(h.title[0], "Anden udgave");
    hits_free(&h);

    /* The replaced version leaves no trace in the statistics: the index
     * equals one built from the final documents, terms and scores alike. */
    summary f = index_ok(NULL, fresh, g_corpus, second);
    assert_int_equal(f.docs, s.docs);
    assert_int_equal(f.terms, s.terms);
    expect_same_hits(db, "blommetræ", fresh, "blommetræ");
    expect_same_hits(db, "telemedicin", fresh, "telemedicin");
    expect_same_hits(db, "og", fresh, "og");
}

static void test_directory_ids(void **state)
{
    (void)state;
    char tmp[1024], db[4200], arg[4300];
    test_dir("dirids", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    /* A directory named with trailing slashes gives the same ids as without,
     * so indexing it both ways replaces instead of duplicating. */
    snprintf(arg, sizeof arg, "%s//", g_corpus);
    summary a = index_ok(NULL, db, arg, NULL);
    summary b = index_ok(NULL, db, "--reindex", g_corpus);
    assert_int_equal(a.docs, CORPUS_DOCS);
    assert_int_equal(b.replaced, CORPUS_DOCS);
    assert_int_equal(b.docs, CORPUS_DOCS);
    /* and a file is the same source however its directory is spelled */
    summary c = index_ok(NULL, db, g_corpus, NULL);
    assert_int_equal(c.indexed, 0);
    assert_int_equal(c.unchanged, CORPUS_FILES);
    hits h = search_page(db, "cyklerne", NULL, NULL);
    for (size_t i = 0; i < h.n; i++)
        if (h.id[i][0] == '/')
            fail_msg("id %s starts with a slash", h.id[i]);
    hits_free(&h);
}

static void test_symlink_loop(void **state)
{
    (void)state;
    char tmp[1024], dir[2048], file[2100], link[2100], db[2100];
    test_dir("loop", tmp, sizeof tmp);
    snprintf(dir, sizeof dir, "%s/s/d", tmp);
    snprintf(file, sizeof file, "%s/a.txt", dir);
    snprintf(link, sizeof link, "%s/loop", dir);
    snprintf(db, sizeof db, "%s/db", tmp);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    const char *text = "Titel\nEn tekst om ost.\n";
    assert_int_equal(test_write_file(file, text, strlen(text)), 0);
    assert_int_equal(symlink("..", link), 0);
    /* The loop dir/loop -> dir/.. -> dir is walked once, the file indexed once. */
    test_run r = test_tool("dksearch-index", "--db", db, dir, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "indexed 1 documents");
    test_run_free(&r);
    hits h = search_page(db, "ost", NULL, NULL);
    assert_int_equal(h.total, 1);
    assert_string_equal(h.id[0], "a.txt");
    hits_free(&h);
}

static void test_reindex_corpus_same(void **state)
{
    (void)state;
    char tmp[1024], db[4200];
    test_dir("reindex", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    summary a = index_ok(NULL, db, g_corpus, NULL);
    summary b = index_ok(NULL, db, "--reindex", g_corpus);
    assert_int_equal(b.indexed, CORPUS_DOCS);
    assert_int_equal(b.added, 0);
    assert_int_equal(b.replaced, CORPUS_DOCS);
    assert_int_equal(b.docs, a.docs);
    assert_int_equal(b.terms, a.terms);
    static const char *const queries[] = {
        "telemedicin", "og", "kommune -borgmester", "\"den offentlige sektor\"",
        "klima OR borgmester", "cyklerne", "\"i dag\"", NULL};
    for (size_t i = 0; queries[i]; i++)
        expect_same_hits(g_db, queries[i], db, queries[i]);
}

static void test_tsv_and_jsonl(void **state)
{
    (void)state;
    hits h = search("finansloven");
    assert_int_equal(h.total, 1);
    assert_string_equal(h.id[0], "tale-3");
    assert_string_equal(h.title[0], "");  /* .tsv lines have no title */
    hits_free(&h);
    h = search("vejafgift");
    assert_int_equal(h.total, 1);
    assert_string_equal(h.id[0], "parti-2");
    assert_string_equal(h.title[0], "Grønne veje");
    hits_free(&h);
    /* A .jsonl title is searchable. */
    expect_set(g_db, "tryghed", IDS("parti-1"));
    /* The header line "id<TAB>text" of taler.tsv is not a document. */
    expect_none(g_db, "text");
}

static void test_bad_json_lines(void **state)
{
    (void)state;
    char tmp[1024], db[4200], path[4200];
    test_dir("bad-json", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    snprintf(path, sizeof path, "%s/blandet.jsonl", tmp);
    static const char data[] = "{\"id\": \"god-1\", \"body\": \"Solsikker i haven.\"}\n"
                               "{\"id\": \"skidt\", body: ikke json}\n"
                               "{\"title\": \"Uden id\", \"body\": \"Solsikker.\"}\n"
                               "{\"id\": 7, \"text\": \"Solsikker på marken.\"}\n";
    assert_int_equal(test_write_file(path, data, strlen(data)), 0);
    test_run r = test_tool("dksearch-index", "--db", db, path, NULL);
    assert_int_equal(r.status, 0);
    /* Each warning names the file and line. */
    char where[4300];
    snprintf(where, sizeof where, "%s:2: skipped: invalid JSON", path);
    assert_contains(r.err, where);
    snprintf(where, sizeof where, "%s:3: skipped: no \"id\"", path);
    assert_contains(r.err, where);
    summary s;
    assert_int_equal(parse_summary(r.out, &s), 0);
    assert_int_equal(s.added, 2);
    assert_int_equal(s.skipped, 2);
    assert_int_equal(s.docs, 2);
    test_run_free(&r);
    /* Integer ids become strings; "text" stands in for "body". */
    expect_set(db, "solsikker", IDS("god-1", "7"));
}

static void test_analyze(void **state)
{
    (void)state;
    test_run r = test_tool("dksearch-query", "--analyze", "Æblerne på Øen", NULL);
    assert_int_equal(r.status, 0);
    /* Øen is a form of ø (island): its main term is the lemma's stem, and
     * its own stem is kept as a "form" for prefixes (øen*). */
    assert_string_equal(r.out,
                        "0\tÆblerne\tæbl\n1\tpå\tpå\n2\tØen\tø\n2\tØen\tøen\tform\n");
    test_run_free(&r);
    /* The surface stays as written, the term is composed and lower case. */
    r = test_tool("dksearch-query", "--analyze", "A\xcc\x8aRHUS", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "0\tA\xcc\x8aRHUS\tårhus\n");
    test_run_free(&r);
    /* No index is needed, and no text is an error. */
    expect_refused("--analyze needs a text", "dksearch-query",
                   "--db", "/nonexistent", "--analyze", "");
}

static void test_seed_article(void **state)
{
    (void)state;
    char tmp[1024], db[4200], seeds[4200];
    test_dir("seeds", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    snprintf(seeds, sizeof seeds, "%s/seeds", test_top());
    summary s = index_ok(NULL, db, seeds, NULL);
    assert_true(s.docs >= 1);
    static const char *const queries[] = {"velfærdsalliance", "telemedicin", NULL};
    for (size_t i = 0; queries[i]; i++) {
        hits h = search_page(db, queries[i], NULL, NULL);
        assert_true(h.total >= 1);
        assert_true(has_id(&h, "velfaerdsalliancer.txt"));
        hits_free(&h);
    }
    /* The snippet marks the inflected forms of the compound. */
    hits h = search_page(db, "velfærdsalliance", NULL, NULL);
    json_t *hl = h.highlights[0];
    assert_true(json_array_size(hl) >= 1);
    size_t start = (size_t)json_integer_value(json_array_get(json_array_get(hl, 0), 0));
    assert_true(strncmp(h.snippet[0] + start, "velfærdsallian", 15) == 0 ||
                strncmp(h.snippet[0] + start, "Velfærdsallian", 15) == 0);
    hits_free(&h);
}

static void test_prefix_and_typing(void **state)
{
    (void)state;
    /* telemed* finds what telemedicin finds, in the text output too. */
    hits pre = search("telemed*"), word = search("telemedicin");
    assert_int_equal(pre.total, word.total);
    for (size_t i = 0; i < word.n; i++)
        assert_true(has_id(&pre, word.id[i]));
    hits_free(&pre);
    hits_free(&word);
    test_run r = test_tool("dksearch-query", "--db", g_db, "telemed*", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "[Telemedicin]");
    test_run_free(&r);
    /* A typo: nothing, but a suggestion; with ~ the typo finds the word. */
    r = test_tool("dksearch-query", "--db", g_db, "telemedecin", NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.out, "Mente du: telemedicin?");
    test_run_free(&r);
    /* ... unless asked for none (the benchmark compares without) */
    r = test_tool("dksearch-query", "--db", g_db, "--json", "--no-suggestion", "telemedecin",
                  NULL);
    assert_int_equal(r.status, 1);
    assert_null(strstr(r.out, "\"suggestion\""));
    test_run_free(&r);
    /* Each unknown word of a plain query is replaced, in its written form. */
    r = test_tool("dksearch-query", "--db", g_db, "--json", "kommunen borgmestr", NULL);
    assert_contains(r.out, "\"suggestion\":\"kommunen borgmesteren\"");
    test_run_free(&r);
    /* Suggestions keep the first letter: "pelemedicin" is one edit from
     * telemedicin, but gets nothing, while the typo ~ operator finds it. */
    r = test_tool("dksearch-query", "--db", g_db, "--json", "pelemedicin", NULL);
    assert_int_equal(r.status, 1);
    assert_null(strstr(r.out, "\"suggestion\""));
    test_run_free(&r);
    expect_ranked(g_db, "pelemedicin~",
                  IDS("sundhed/telemedicin.txt", "tale-2", "sundhed/sygehuse.txt"));
    /* A stop word is never suggested: "og" is one edit from "ogg", but ranked
     * matching leaves it out, so there is nothing to offer. */
    r = test_tool("dksearch-query", "--db", g_db, "--json", "ogg", NULL);
    assert_int_equal(r.status, 1);
    assert_null(strstr(r.out, "\"suggestion\""));
    test_run_free(&r);
    hits typo = search("telemedecin~"), right = search("telemedicin");
    assert_int_equal(typo.total, right.total);
    for (size_t i = 0; i < right.n; i++)
        assert_true(has_id(&typo, right.id[i]));
    hits_free(&typo);
    hits_free(&right);
    /* The seed article stays found while "velfærdsalliance" is typed. */
    char tmp[1024], db[4200], seeds[4200];
    test_dir("typing", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    snprintf(seeds, sizeof seeds, "%s/seeds", test_top());
    index_ok(NULL, db, seeds, NULL);
    static const char *const typed[] = {"velfærdsal", "velfærdsalli", "velfærdsallian", NULL};
    for (size_t i = 0; typed[i]; i++) {
        r = test_tool("dksearch-query", "--db", db, "--as-you-type", "--json", typed[i], NULL);
        if (r.status != 0 || !strstr(r.out, "velfaerdsalliancer.txt"))
            fail_msg("typing '%s': exit %d, %s", typed[i], r.status, r.out);
        test_run_free(&r);
        /* without --as-you-type a half word is no word */
        r = test_tool("dksearch-query", "--db", db, typed[i], NULL);
        assert_int_equal(r.status, 1);
        test_run_free(&r);
    }
}

/* Writes one JSON Lines document per prefix, each holding 12^3 = 1,728
 * different words: the prefix and three consonants. */
static char *prefix_documents(const char *const *prefixes)
{
    static const char consonants[] = "bcdfghjklmnp";
    size_t cap = 64 * 1024 * 8, at = 0;  /* up to 8 prefixes of 1,728 short words */
    char *docs = malloc(cap);
    assert_non_null(docs);
    for (size_t p = 0; prefixes[p]; p++) {
        at += (size_t)snprintf(docs + at, cap - at, "{\"id\":\"%s\",\"body\":\"", prefixes[p]);
        for (int i = 0; i < 12 * 12 * 12; i++)
            at += (size_t)snprintf(docs + at, cap - at, "%s%c%c%c ", prefixes[p],
                                   consonants[i / 144], consonants[i / 12 % 12],
                                   consonants[i % 12]);
        at += (size_t)snprintf(docs + at, cap - at, "\"}\n");
        assert_true(at < cap);
    }
    return docs;
}

static void test_prefix_caps(void **state)
{
    (void)state;
    char tmp[1024], db[4200];
    test_dir("caps", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    char *docs = prefix_documents(IDS("qa", "qe", "qi", "qo", "qu"));
    index_ok(docs, db, "-", NULL);
    free(docs);
    /* One prefix: the first 1,000 words are searched, and the output says so. */
    test_run r = test_tool("dksearch-query", "--db", db, "qa*", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "Note: qa* matches more than 1000 words; only the first 1000 are "
                           "searched.\n");
    test_run_free(&r);
    /* Five of them: together at most 4,000 words, and the last one is told. */
    r = test_tool("dksearch-query", "--db", db, "--json", "qa* OR qe* OR qi* OR qo* OR qu*",
                  NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "\"total\":4,");
    assert_contains(r.out, "\"qo* matches more than 1000 words; only the first 1000 are "
                           "searched\"");
    assert_contains(r.out, "\"qu* is searched for its first 0 words only: the query's "
                           "prefixes together search at most 4000\"");
    test_run_free(&r);
    /* Below the cap nothing is noted. */
    r = test_tool("dksearch-query", "--db", db, "--json", "qabb*", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "\"total\":1,\"total_exact\":true,\"took_us\":");
    assert_contains(r.out, "\"notes\":[]");
    test_run_free(&r);
}

static void test_sort(void **state)
{
    (void)state;
    /* --sort id: ids in byte order, every hit kept, paged like by score */
    test_run r = test_tool("dksearch-query", "--db", g_db, "--json", "--sort", "id", "--limit",
                           "100", "og", NULL);
    hits all = {0};
    check_json_as(r.out, "og", &all, 0);
    test_run_free(&r);
    assert_true(all.n > 5);
    for (size_t i = 1; i < all.n; i++)
        if (strcmp(all.id[i - 1], all.id[i]) >= 0)
            fail_msg("--sort id: %s before %s", all.id[i - 1], all.id[i]);
    r = test_tool("dksearch-query", "--db", g_db, "--json", "--sort", "id", "--limit", "3",
                  "--offset", "2", "og", NULL);
    hits page = {0};
    check_json_as(r.out, "og", &page, 0);
    test_run_free(&r);
    assert_int_equal(page.total, all.total);
    for (size_t i = 0; i < page.n; i++)
        assert_string_equal(page.id[i], all.id[2 + i]);
    hits_free(&page);
    hits_free(&all);
    /* --sort -party: documents with the field first, the field descending */
    r = test_tool("dksearch-query", "--db", g_db, "--json", "--sort", "-party", "--limit", "3",
                  "vi OR og", NULL);
    hits p = {0};
    check_json_as(r.out, "vi OR og", &p, 0);
    test_run_free(&r);
    /* Venstre > Socialdemokratiet > Radikale Venstre */
    assert_string_equal(p.id[0], "parti-3");
    assert_string_equal(p.id[1], "parti-1");
    assert_string_equal(p.id[2], "parti-2");
    hits_free(&p);
}

static void test_fields_filters_facets(void **state)
{
    (void)state;
    /* title: searches titles only; the telemedicine text has it in its title */
    expect_set(g_db, "title:telemedicin", IDS("sundhed/telemedicin.txt"));
    /* a stored field filters, case aside, and scores nothing by itself */
    expect_set(g_db, "party:venstre", IDS("parti-3"));
    expect_set(g_db, "party:\"Radikale Venstre\"", IDS("parti-2"));
    expect_set(g_db, "party:Venstre OR party:Socialdemokratiet", IDS("parti-3", "parti-1"));
    /* a title word weighs more, and --weight title=1 takes that away */
    hits two = search("telemedicin");
    test_run r = test_tool("dksearch-query", "--db", g_db, "--json", "--weight", "title=1",
                           "telemedicin", NULL);
    hits one = {0};
    check_json(r.out, "telemedicin", &one);
    test_run_free(&r);
    assert_string_equal(two.id[0], "sundhed/telemedicin.txt");
    size_t k;
    for (k = 0; k < one.n && strcmp(one.id[k], "sundhed/telemedicin.txt") != 0; k++)
        ;
    assert_true(k < one.n && one.score[k] < two.score[0]);
    hits_free(&two);
    hits_free(&one);
    /* facets count the hits per value */
    r = test_tool("dksearch-query", "--db", g_db, "--json", "--facet", "party", "vi OR og", NULL);
    assert_contains(r.out, "\"facets\":{\"party\":[");
    assert_contains(r.out, "{\"value\":\"Venstre\",\"count\":1}");
    test_run_free(&r);
    r = test_tool("dksearch-query", "--db", g_db, "--facet", "party", "vi OR og", NULL);
    assert_contains(r.out, "party:");
    test_run_free(&r);

    /* filters on dates, in an index of their own */
    char tmp[1024], db[4200];
    test_dir("dates", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    index_ok("{\"id\":\"a\",\"body\":\"møde\",\"date\":\"2019-05-01\",\"party\":\"S\"}\n"
             "{\"id\":\"b\",\"body\":\"møde\",\"date\":\"2020-01-01\",\"party\":\"V\"}\n"
             "{\"id\":\"c\",\"body\":\"møde\",\"date\":\"2021-06-30\",\"party\":\"S\"}\n",
             db, "-", NULL);
    const struct {
        const char *filter;
        const char *const *ids;
    } cases[] = {
        {"date>=2020-01-01", IDS("b", "c")}, {"date>2020-01-01", IDS("c")},
        {"date<2021", IDS("a", "b")},        {"date<=2020-01-01", IDS("a", "b")},
        {"party=S", IDS("a", "c")},          {"date>2030", NO_IDS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = test_tool("dksearch-query", "--db", db, "--json", "--filter", cases[i].filter, "møde",
                      NULL);
        hits h = {0};
        check_json(r.out, "møde", &h);
        if ((size_t)h.total != count_ids(cases[i].ids))
            fail_msg("--filter %s: %lld hits", cases[i].filter, (long long)h.total);
        for (size_t j = 0; cases[i].ids[j]; j++)
            assert_true(has_id(&h, cases[i].ids[j]));
        hits_free(&h);
        test_run_free(&r);
    }
    /* filters do not change scores */
    hits plain = search_page(db, "møde", NULL, NULL);
    r = test_tool("dksearch-query", "--db", db, "--json", "--filter", "party=S", "møde", NULL);
    hits filtered = {0};
    check_json(r.out, "møde", &filtered);
    test_run_free(&r);
    for (size_t i = 0; i < filtered.n; i++)
        for (size_t j = 0; j < plain.n; j++)
            if (strcmp(filtered.id[i], plain.id[j]) == 0)
                assert_true(fabs(filtered.score[i] - plain.score[j]) < 1e-9);
    hits_free(&plain);
    hits_free(&filtered);
    expect_refused("filter 'date'", "dksearch-query", "--db", db, "--filter", "date", "møde");
}

static void test_proximity(void **state)
{
    (void)state;
    /* aeldrepleje has "sektor" eight positions before "offentlige", seven
     * words between them; sektorerne has "offentlige sektor" side by side. */
    expect_set(g_db, "\"offentlige sektor\"~3", IDS("velfaerd/sektorerne.txt"));
    expect_set(g_db, "\"offentlige sektor\"~6", IDS("velfaerd/sektorerne.txt"));
    expect_ranked(g_db, "\"offentlige sektor\"~7",
                  IDS("velfaerd/sektorerne.txt", "velfaerd/aeldrepleje.txt"));
    /* A sloppy phrase takes its words in any order. */
    expect_ranked(g_db, "\"sektor offentlige\"~7",
                  IDS("velfaerd/sektorerne.txt", "velfaerd/aeldrepleje.txt"));
    expect_none(g_db, "\"sektor offentlige\"");
    /* ~0 is the exact phrase. */
    expect_same_hits(g_db, "\"den offentlige sektor\"~0", g_db, "\"den offentlige sektor\"");

    /* Two texts of the same length with the same words once each: BM25
     * alone cannot tell them apart, so the closeness of the words decides.
     * The close one has the later id, so id order cannot be what ranks it. */
    char tmp[1024], db[4200];
    test_dir("proximity", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    index_ok("{\"id\":\"a-apart\",\"body\":\"Offentlig drift blev drøftet i udvalget, og senere "
             "på mødet kom talen ind på nye velfærdsalliancer.\"}\n"
             "{\"id\":\"b-close\",\"body\":\"Udvalget drøftede i går og i dag offentlig-private "
             "velfærdsalliancer, og senere kom talen på drift.\"}\n",
             db, "-", NULL);
    expect_ranked(db, "offentlig velfærdsalliance", IDS("b-close", "a-apart"));
    test_run r = test_tool("dksearch-query", "--db", db, "--json", "--explain",
                           "offentlig velfærdsalliance", NULL);
    json_t *root = json_loads(r.out, 0, NULL);
    assert_non_null(root);
    json_t *hits_json = json_object_get(root, "hits");
    double close_bonus = proximity_bonus(json_array_get(hits_json, 0));
    double apart_bonus = proximity_bonus(json_array_get(hits_json, 1));
    assert_true(close_bonus > 0);
    assert_true(close_bonus > apart_bonus);
    json_decref(root);
    test_run_free(&r);
    /* The bonus never outweighs a word that is missing: with OR, a text
     * with both words, however far apart, beats one with a single word. */
    index_ok("{\"id\":\"c-one\",\"body\":\"offentlig offentlig offentlig\"}\n", db, "-", NULL);
    hits h = search_page(db, "offentlig OR velfærdsalliance", NULL, NULL);
    assert_int_equal(h.total, 3);
    assert_string_equal(h.id[2], "c-one");
    hits_free(&h);

    /* --snippet-words bounds the snippet and keeps the match in it. */
    r = test_tool("dksearch-query", "--db", g_db, "--snippet-words", "5", "\"offentlige sektor\"",
                  NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "   Den [offentlige] [sektor] står for …\n");
    test_run_free(&r);
    r = test_tool("dksearch-query", "--db", g_db, "--snippet-words", "0", "sektor", NULL);
    assert_int_not_equal(r.status, 0);
    assert_contains(r.err, "--snippet-words");
    test_run_free(&r);
}

/* Each part of a hit's --explain is BM25 recomputed from the part's own
 * figures, and the parts add up to the hit's score. */
static void check_explained(const char *query, const char *const *kinds)
{
    test_run r = test_tool("dksearch-query", "--db", g_db, "--json", "--explain", "--limit",
                           "100", query, NULL);
    assert_int_equal(r.status, 0);
    json_t *root = json_loads(r.out, 0, NULL);
    assert_non_null(root);
    json_t *hits_json = json_object_get(root, "hits");
    assert_true(json_array_size(hits_json) > 0);
    int seen[8] = {0};
    for (size_t i = 0; i < json_array_size(hits_json); i++) {
        json_t *hit = json_array_get(hits_json, i), *parts = json_object_get(hit, "explain");
        double sum = 0;
        assert_true(json_array_size(parts) > 0);
        for (size_t j = 0; j < json_array_size(parts); j++) {
            json_t *p = json_array_get(parts, j);
            const char *kind = json_string_value(json_object_get(p, "kind"));
            double score = json_number_value(json_object_get(p, "score"));
            sum += score;
            for (size_t k = 0; kinds[k]; k++)
                seen[k] |= strcmp(kind, kinds[k]) == 0;
            if (strcmp(kind, "proximity") == 0)
                continue;
            double tf = json_number_value(json_object_get(p, "tf"));
            double df = json_number_value(json_object_get(p, "df"));
            double idf = json_number_value(json_object_get(p, "idf"));
            double len = json_number_value(json_object_get(p, "length"));
            double avg = json_number_value(json_object_get(p, "avg_length"));
            double norm = json_number_value(json_object_get(p, "norm"));
            double weight = json_number_value(json_object_get(p, "weight"));
            assert_true(tf >= 1 && df >= 1 && df <= CORPUS_DOCS && weight > 0);
            /* a phrase weighs as much as its words together: its idf is theirs summed */
            if (strcmp(kind, "phrase") != 0)
                assert_true(fabs(idf - log(1 + (CORPUS_DOCS - df + 0.5) / (df + 0.5))) < 1e-4);
            assert_true(fabs(norm - (0.25 + 0.75 * len / avg)) < 1e-4);
            double expect = weight * idf * tf * 2.2 / (tf + 1.2 * norm);
            if (fabs(score - expect) > 1e-3 * expect)
                fail_msg("%s: %s part of %s scores %g, BM25 of its figures is %g", query, kind,
                         json_string_value(json_object_get(hit, "id")), score, expect);
        }
        double total = json_number_value(json_object_get(hit, "score"));
        if (fabs(sum - total) > 1e-6 * total)
            fail_msg("%s: parts add up to %g, the hit scores %g", query, sum, total);
    }
    for (size_t k = 0; kinds[k]; k++)
        if (!seen[k])
            fail_msg("%s: no %s part in any hit", query, kinds[k]);
    json_decref(root);
    test_run_free(&r);
}

static void test_explain(void **state)
{
    (void)state;
    check_explained("telemedicin", IDS("word", "title"));
    check_explained("klima OR borgmester", IDS("word", "proximity"));
    check_explained("firma", IDS("word", "head"));
    check_explained("\"den offentlige sektor\"", IDS("phrase"));
    check_explained("telemed*", IDS("word"));
    /* The text form names every figure. */
    test_run r = test_tool("dksearch-query", "--db", g_db, "--explain", "--limit", "1",
                           "telemedicin", NULL);
    assert_contains(r.out, "  word telemedicin: tf 5, df 3, idf ");
    assert_contains(r.out, "  title telemedicin: tf 1, df 1, idf ");
    assert_contains(r.out, "(norm ");
    test_run_free(&r);
    /* More than 64 words is refused, with the place it happens. */
    char many[1024];
    size_t at = 0;
    for (int i = 0; i < 65; i++)
        at += (size_t)snprintf(many + at, sizeof many - at, "ord%d ", i);
    expect_refused("more than 64 words", "dksearch-query", "--db", g_db, many);
}

static void test_batch(void **state)
{
    (void)state;
    /* One JSON object a line, each the same as the single query's, a broken
     * query among them reported in its line without stopping the rest. */
    test_run r = test_tool_stdin("telemedicin\n\n(sektor OR)\n  \nsektor OR borgmester\r\n",
                                 "dksearch-query", "--db", g_db, "--batch", "-", NULL);
    assert_int_equal(r.status, 2);
    /* three lines, each kept with its newline; blank queries are skipped */
    char *line[3];
    const char *at = r.out;
    for (int i = 0; i < 3; i++) {
        const char *end = strchr(at, '\n');
        assert_non_null(end);
        line[i] = strndup(at, (size_t)(end + 1 - at));
        at = end + 1;
    }
    assert_string_equal(at, "");
    hits h = {0}, single = search("telemedicin");
    check_json(line[0], "telemedicin", &h);
    assert_int_equal(h.total, single.total);
    for (size_t i = 0; i < h.n; i++)
        assert_string_equal(h.id[i], single.id[i]);
    hits_free(&h);
    hits_free(&single);
    json_t *err = json_loads(line[1], 0, NULL);
    assert_non_null(err);
    assert_string_equal(json_string_value(json_object_get(err, "query")), "(sektor OR)");
    assert_non_null(strstr(json_string_value(json_object_get(err, "error")), "needs a word"));
    assert_int_equal(json_integer_value(json_object_get(err, "position")), 8);
    json_decref(err);
    h = (hits){0};
    check_json(line[2], "sektor OR borgmester", &h);
    assert_true(h.total > 0);
    hits_free(&h);
    for (int i = 0; i < 3; i++)
        free(line[i]);
    test_run_free(&r);

    /* All good: exit 0, even when a query finds nothing. */
    r = test_tool_stdin("velfærd\nzzzqqq\n", "dksearch-query", "--db", g_db, "--batch", "-",
                        "--limit", "1", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "\"query\":\"zzzqqq\",\"total\":0");
    test_run_free(&r);
    expect_refused("cannot read /nonexistent/queries", "dksearch-query",
                   "--db", g_db, "--batch", "/nonexistent/queries");
    expect_refused("give no query words", "dksearch-query",
                   "--db", g_db, "--batch", "-", "velfærd");
}

static void test_no_snippets(void **state)
{
    (void)state;
    /* --no-snippets: the same hits, scores and order, and no text of them */
    hits full = search("kommune OR klima");
    test_run r = test_tool("dksearch-query", "--db", g_db, "--json", "--no-snippets",
                           "--limit", "100", "kommune OR klima", NULL);
    hits bare = {0};
    check_json(r.out, "kommune OR klima", &bare);
    test_run_free(&r);
    assert_int_equal(bare.total, full.total);
    assert_int_equal(bare.n, full.n);
    for (size_t i = 0; i < bare.n; i++) {
        assert_string_equal(bare.id[i], full.id[i]);
        assert_true(bare.score[i] == full.score[i]);
        assert_string_equal(bare.snippet[i], "");
        assert_int_equal(json_array_size(bare.highlights[i]), 0);
    }
    hits_free(&full);
    hits_free(&bare);
}

/* --count N: pruning starts once N hits are counted; the first page is the
 * same as with every hit counted, and the total says it is a lower bound. */
static void test_count_limit(void **state)
{
    (void)state;
    const char *q = "kommune OR klima OR borger";
    test_run r = test_tool("dksearch-query", "--db", g_db, "--json", "--exact-total",
                           "--limit", "3", q, NULL);
    hits all = {0}, counted = {0};
    check_json(r.out, q, &all);
    test_run_free(&r);
    assert_true(all.total > 3);
    r = test_tool("dksearch-query", "--db", g_db, "--json", "--count", "3", "--limit", "3", q,
                  NULL);
    check_json(r.out, q, &counted);
    assert_contains(r.out, "\"total_exact\":false");
    test_run_free(&r);
    assert_true(counted.total >= 3 && counted.total <= all.total);
    assert_int_equal(counted.n, all.n);
    for (size_t i = 0; i < all.n; i++) {
        assert_string_equal(counted.id[i], all.id[i]);
        assert_true(counted.score[i] == all.score[i]);
    }
    hits_free(&all);
    hits_free(&counted);
    r = test_tool("dksearch-query", "--db", g_db, "--count", "0", q, NULL);
    assert_int_equal(r.status, 2);
    test_run_free(&r);
}

static void test_paging(void **state)
{
    (void)state;
    hits all = search("og");
    assert_int_equal(all.total, 16);
    assert_int_equal(all.n, 16);
    size_t seen = 0;
    for (int page = 0; page < 4; page++) {
        char offset[16];
        snprintf(offset, sizeof offset, "%d", page * 5);
        hits p = search_page(g_db, "og", "5", offset);
        assert_int_equal(p.total, 16);
        assert_int_equal(p.n, page < 3 ? 5 : 1);
        /* Each page is the next slice of the full ranking: disjoint pages
         * whose union is the whole list. */
        for (size_t i = 0; i < p.n; i++) {
            assert_string_equal(p.id[i], all.id[seen]);
            for (size_t j = 0; j < seen; j++)
                assert_string_not_equal(p.id[i], all.id[j]);
            seen++;
        }
        hits_free(&p);
    }
    assert_int_equal(seen, all.n);
    hits_free(&all);
    hits beyond = search_page(g_db, "og", "5", "16");
    assert_int_equal(beyond.total, 16);
    assert_int_equal(beyond.n, 0);
    assert_int_equal(beyond.status, 0);
    hits_free(&beyond);
    test_run r = test_tool("dksearch-query", "--db", g_db, "--limit", "3", "--offset", "3", "og",
                           NULL);
    assert_int_equal(r.status, 0);
    assert_true(strncmp(r.out, "4. ", 3) == 0);
    assert_contains(r.out, "\n4-6 of 16 hits (");
    test_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_summary),
        cmocka_unit_test(test_single_words),
        cmocka_unit_test(test_stemmed_forms),
        cmocka_unit_test(test_and),
        cmocka_unit_test(test_or),
        cmocka_unit_test(test_exclusion),
        cmocka_unit_test(test_phrase),
        cmocka_unit_test(test_ranking),
        cmocka_unit_test(test_bm25_scores),
        cmocka_unit_test(test_stopword_phrase),
        cmocka_unit_test(test_stopword_only_query),
        cmocka_unit_test(test_stopword_beside_content),
        cmocka_unit_test(test_danish_letters),
        cmocka_unit_test(test_json_output),
        cmocka_unit_test(test_text_output),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_error_missing_index),
        cmocka_unit_test(test_error_empty_query),
        cmocka_unit_test(test_error_broken_query),
        cmocka_unit_test(test_error_unknown_option),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_index_missing_file),
        cmocka_unit_test(test_large_input_in_chunks),
        cmocka_unit_test(test_reindex_replaces),
        cmocka_unit_test(test_reindex_corpus_same),
        cmocka_unit_test(test_directory_ids),
        cmocka_unit_test(test_symlink_loop),
        cmocka_unit_test(test_tsv_and_jsonl),
        cmocka_unit_test(test_bad_json_lines),
        cmocka_unit_test(test_analyze),
        cmocka_unit_test(test_seed_article),
        cmocka_unit_test(test_proximity),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_no_snippets),
        cmocka_unit_test(test_count_limit),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_prefix_and_typing),
        cmocka_unit_test(test_prefix_caps),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_fields_filters_facets),
    };
    return cmocka_run_group_tests_name("e2e", tests, group_setup, group_teardown);
}
