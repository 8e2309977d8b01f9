/*
 * End-to-end tests of the Danish analysis stages: the real dksearch-index
 * and dksearch-query binaries on the fixture corpus in
 * tests/fixtures/danish (its README.md says what each document is for).
 * Every expected hit set and order below follows from those texts: the
 * corpus is small and each document uses its own vocabulary, so a query
 * matches exactly the documents a test names.
 *
 * The corpus is indexed once with every stage (group setup); the
 * comparison with plain Snowball indexes it again, with --analysis
 * snowball, in a directory of its own.
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

/* The .txt files under tests/fixtures/danish. */
#define CORPUS_DOCS 32

/* For queries whose full hit set legitimately includes more than the
 * documents a test is about (every "har" is a form of "have"): `first`
 * is the top hit and each of `also` is found below it. */
static void expect_first_of(const char *db, const char *query, const char *first,
                            const char *const *also)
{
    hits h = search_page(db, query, NULL, NULL);
    int ok = h.n > 0 && strcmp(h.id[0], first) == 0;
    for (size_t i = 0; ok && also[i]; i++)
        ok = find_id(&h, also[i]) > 0;
    if (!ok) {
        print_hits(query, &h);
        hits_free(&h);
        fail_msg("query '%s' should rank %s first, with the other listed documents below",
                 query, first);
    }
    hits_free(&h);
}

/* ---- group setup ---------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    /* --analysis all is the default; said explicitly since these tests
     * are about exactly those stages. */
    return index_fixture("danish", "all");
}

/* Document ids: paths relative to tests/fixtures/danish. */
#define ALLIANCE "compounds/alliance.txt"
#define VELFAERD "compounds/velfaerdsalliancer.txt"
#define PARTNERE "compounds/alliancepartnere.txt"
#define AKTOERER "compounds/aktoerer.txt"
#define PARTNERSKABER "hyphens/partnerskaber.txt"
#define EMAIL "hyphens/email.txt"
#define MINISTRE "ellipsis/ministre.txt"
#define JYLLAND "ellipsis/jylland.txt"
#define PLEJEHJEM "ellipsis/plejehjem.txt"
#define GRAENSEN "ellipsis/graensen.txt"
#define AARHUS "spelling/aarhus.txt"
#define AARHUS_AA "spelling/aarhus-gammel.txt"
#define AALBORG "spelling/aalborg.txt"
#define OEHLENSCHLAEGER "spelling/oehlenschlaeger.txt"
#define OENS "spelling/oens.txt"
#define OEENS "spelling/oeens.txt"
#define IDE "accents/ide.txt"
#define CAFE "accents/cafe.txt"
#define MALMOE "accents/malmoe.txt"
#define VAESENET "lemmas/sundhedsvaesenet.txt"
#define VAESEN "lemmas/sundhedsvaesen.txt"
#define GRUNDFORM "lemmas/grundform.txt"
#define BOEJET "lemmas/boejet.txt"
#define NUTID "lemmas/nutid.txt"
#define DATID "lemmas/datid.txt"
#define HAVET "merges/havet.txt"
#define HAVEN "merges/haven.txt"
#define STYR "merges/styr.txt"
#define STYRELSEN "merges/styrelsen.txt"
#define REGNSKAB "numbers/regnskab.txt"
#define LOVFORSLAG "numbers/lovforslag.txt"
#define EVENTYR "numbers/eventyr.txt"

/* ---- tests ------------------------------------------------------------------ */

static void test_corpus_summary(void **state)
{
    (void)state;
    summary s;
    assert_int_equal(parse_summary(g_index_out, &s), 0);
    assert_int_equal(s.indexed, CORPUS_DOCS);
    assert_int_equal(s.added, CORPUS_DOCS);
    assert_int_equal(s.skipped, 0);
    assert_int_equal(s.docs, CORPUS_DOCS);
}

/* -- compounds -- */

/* "alliance" itself beats the head of "velfærdsalliancer" (weight of a
 * head match), which beats the first part of "alliancepartnere": the two
 * compound documents are of the same length and say their word once. */
static void test_compound_head_ranking(void **state)
{
    (void)state;
    expect_ranked(g_db, "alliance", IDS(ALLIANCE, VELFAERD, PARTNERE));
}

static void test_compound_whole_word(void **state)
{
    (void)state;
    /* Singular query, plural compound in the text. */
    expect_set(g_db, "velfærdsalliance", IDS(VELFAERD));
}

static void test_compound_head_aktoer(void **state)
{
    (void)state;
    expect_set(g_db, "aktør", IDS(AKTOERER));
}

/* -- hyphens -- */

static void test_hyphen_joined(void **state)
{
    (void)state;
    expect_set(g_db, "offentligprivate", IDS(PARTNERSKABER));
}

static void test_hyphen_parts(void **state)
{
    (void)state;
    expect_set(g_db, "offentlig", IDS(PARTNERSKABER));
    expect_set(g_db, "private", IDS(PARTNERSKABER));
    expect_set(g_db, "\"offentlig private\"", IDS(PARTNERSKABER));
    /* and as written */
    expect_set(g_db, "offentlig-private", IDS(PARTNERSKABER));
}

static void test_hyphen_email(void **state)
{
    (void)state;
    expect_set(g_db, "e-mail", IDS(EMAIL));
    expect_set(g_db, "email", IDS(EMAIL));
}

static void test_hyphen_age(void **state)
{
    (void)state;
    expect_set(g_db, "14-årig", IDS(EMAIL));
}

/* -- elliptical compounds -- */

static void test_ellipsis_energiministeren(void **state)
{
    (void)state;
    expect_set(g_db, "energiministeren", IDS(MINISTRE));
}

static void test_ellipsis_klimaministeren(void **state)
{
    (void)state;
    expect_set(g_db, "klimaministeren", IDS(MINISTRE));
}

static void test_ellipsis_sydjylland(void **state)
{
    (void)state;
    expect_set(g_db, "Sydjylland", IDS(JYLLAND));
}

static void test_ellipsis_socialministeren(void **state)
{
    (void)state;
    expect_set(g_db, "socialministeren", IDS(PLEJEHJEM));
}

static void test_ellipsis_indrejse(void **state)
{
    (void)state;
    expect_set(g_db, "indrejse", IDS(GRAENSEN));
}

/* The expansion stands at the truncated word, so the snippet marks the
 * word the reader sees: "energi" (not "klima", not the head). */
static void check_one_highlight(const char *query, const char *id, const char *word)
{
    hits h = search_page(g_db, query, NULL, NULL);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.id[0], id);
    json_t *hl = h.highlights[0];
    if (json_array_size(hl) != 1)
        fail_msg("'%s': expected one highlight, got %zu in: %s", query, json_array_size(hl),
                 h.snippet[0]);
    size_t start = (size_t)json_integer_value(json_array_get(json_array_get(hl, 0), 0));
    size_t end = (size_t)json_integer_value(json_array_get(json_array_get(hl, 0), 1));
    assert_true(end <= strlen(h.snippet[0]));
    if (end - start != strlen(word) || memcmp(h.snippet[0] + start, word, end - start) != 0)
        fail_msg("'%s': highlight [%zu,%zu] is \"%.*s\", expected \"%s\" in: %s", query, start,
                 end, (int)(end - start), h.snippet[0] + start, word, h.snippet[0]);
    hits_free(&h);
}

static void test_ellipsis_snippet_energi(void **state)
{
    (void)state;
    check_one_highlight("energiministeren", MINISTRE, "energi");
    check_one_highlight("klimaministeren", MINISTRE, "klima");
}

/* -- ASCII spellings of æ, ø, å -- */

static void test_ascii_velfaerdsalliance(void **state)
{
    (void)state;
    expect_set(g_db, "velfaerdsalliance", IDS(VELFAERD));
}

static void test_ascii_sundhedsvaesnet(void **state)
{
    (void)state;
    /* ae for æ and the dropped e at once. */
    expect_set(g_db, "sundhedsvaesnet", IDS(VAESENET, VAESEN));
}

static void test_ascii_aeldreminister(void **state)
{
    (void)state;
    expect_set(g_db, "aeldreminister", IDS(PLEJEHJEM));
}

/* The two Aarhus documents are the same sentence but for the spelling, so
 * only the weight of a folded spelling orders them. */
static void test_ascii_aarhus(void **state)
{
    (void)state;
    expect_ranked(g_db, "Aarhus", IDS(AARHUS, AARHUS_AA));
}

static void test_ascii_aarhus_reverse(void **state)
{
    (void)state;
    expect_ranked(g_db, "Århus", IDS(AARHUS_AA, AARHUS));
}

static void test_ascii_aalborg(void **state)
{
    (void)state;
    expect_set(g_db, "Aalborg", IDS(AALBORG));
}

/* "oe" in a name is not an ø: the names keep their own hits. */
static void test_ascii_names_kept(void **state)
{
    (void)state;
    expect_ranked(g_db, "Oehlenschlæger", IDS(OEHLENSCHLAEGER));
    /* "Oens" is not "Øens" (the island's): neither query finds the other. */
    expect_ranked(g_db, "Oens", IDS(OENS));
    expect_ranked(g_db, "Øens", IDS(OEENS));
}

/* A name the lexicon does not know: its ASCII spelling is checked against
 * the index's own words, so "Oestergaard" finds Østergård, while a word
 * neither knows is left alone. */
static void test_ascii_index_vocabulary(void **state)
{
    (void)state;
    char tmp[1024], db[4200];
    test_dir("vocabulary", tmp, sizeof tmp);
    snprintf(db, sizeof db, "%s/db", tmp);
    test_run r = test_tool_stdin(
        "{\"id\":\"n1\",\"title\":\"Besøg\",\"body\":\"Familien Østergård i Åkirkeby\"}\n"
        "{\"id\":\"n2\",\"title\":\"Andet\",\"body\":\"Familien Jensen i Rønne\"}\n",
        "dksearch-index", "--db", db, "-", NULL);
    assert_int_equal(r.status, 0);
    test_run_free(&r);
    expect_set(db, "Oestergaard", IDS("n1"));
    expect_set(db, "Aakirkeby", IDS("n1"));
    expect_set(db, "Roenne", IDS("n2"));
    expect_none(db, "Oesterby");
}

/* -- accents -- */

static void test_accent_ide(void **state)
{
    (void)state;
    expect_set(g_db, "ide", IDS(IDE));
    expect_set(g_db, "idé", IDS(IDE));
}

static void test_accent_cafe(void **state)
{
    (void)state;
    expect_set(g_db, "cafe", IDS(CAFE));
    expect_set(g_db, "café", IDS(CAFE));
}

/* --analyze shows Swedish ö and ä folded to the Danish letters ø and æ
 * (not stripped to o and a, so "Malmo" is not a spelling of Malmö). */
static void test_accent_analyze_swedish(void **state)
{
    (void)state;
    test_run r = test_tool("dksearch-query", "--analyze", "Malmö Växjö", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "0\tMalmö\tmalmö\n");
    assert_contains(r.out, "0\tMalmö\tmalmø\tspelling\n");
    assert_contains(r.out, "1\tVäxjö\tvæxjø\tspelling\n");
    test_run_free(&r);
}

static void test_accent_malmoe(void **state)
{
    (void)state;
    expect_set(g_db, "Malmø", IDS(MALMOE));
    expect_set(g_db, "Malmö", IDS(MALMOE));
    expect_set(g_db, "Gøteborg", IDS(MALMOE));
}

/* -- stemming corrections (lemmas) -- */

static void test_lemma_sundhedsvaesnet(void **state)
{
    (void)state;
    expect_set(g_db, "sundhedsvæsnet", IDS(VAESENET, VAESEN));
    expect_set(g_db, "sundhedsvæsenet", IDS(VAESENET, VAESEN));
    expect_set(g_db, "sundhedsvæsen", IDS(VAESENET, VAESEN));
}

/* grundform.txt has the first form of each pair, boejet.txt the second,
 * and no other document has either: each query finds both. */
static void check_pair(const char *a, const char *b)
{
    expect_set(g_db, a, IDS(GRUNDFORM, BOEJET));
    expect_set(g_db, b, IDS(GRUNDFORM, BOEJET));
}

static void test_lemma_cykel(void **state)
{
    (void)state;
    check_pair("cykel", "cyklen");
}

static void test_lemma_regel(void **state)
{
    (void)state;
    check_pair("regel", "regler");
}

static void test_lemma_eksempel(void **state)
{
    (void)state;
    check_pair("eksempel", "eksempler");
}

static void test_lemma_himmel(void **state)
{
    (void)state;
    check_pair("himmel", "himlen");
}

static void test_lemma_sommer(void **state)
{
    (void)state;
    check_pair("sommer", "somre");
}

static void test_lemma_middel(void **state)
{
    (void)state;
    check_pair("middel", "midler");
}

/* Irregular verbs: nutid.txt has the infinitives, datid.txt the past
 * tense; the document with the exact form ranks first. */
static void check_ranked_pair(const char *a, const char *doc_a, const char *b,
                              const char *doc_b)
{
    expect_ranked(g_db, a, IDS(doc_a, doc_b));
    expect_ranked(g_db, b, IDS(doc_b, doc_a));
}

static void test_irregular_sige(void **state)
{
    (void)state;
    check_ranked_pair("sagde", DATID, "sige", NUTID);
}

static void test_irregular_faa(void **state)
{
    (void)state;
    check_ranked_pair("fik", DATID, "få", NUTID);
}

static void test_irregular_gaa(void **state)
{
    (void)state;
    check_ranked_pair("gik", DATID, "gå", NUTID);
}

static void test_irregular_staa(void **state)
{
    (void)state;
    check_ranked_pair("stod", DATID, "stå", NUTID);
}

/* "have" and "havde" are stop words and share their lemma with "har" (in
 * three other documents) and with "haven" (the garden), so the full hit
 * set is larger; what matters is that each form finds the other and the
 * exact form ranks first. */
static void test_irregular_have(void **state)
{
    (void)state;
    expect_first_of(g_db, "have", NUTID, IDS(DATID));
}

/* havde keeps its own stem, with "have" as its lemma, so the text that
 * says "havde" ranks above texts that say "har" or "Haven" (the garden,
 * whose stem is the kept-apart "have"). */
static void test_irregular_havde(void **state)
{
    (void)state;
    expect_first_of(g_db, "havde", DATID, IDS(NUTID));
}

static void test_irregular_regler(void **state)
{
    (void)state;
    /* Also a stemming correction; here from the plural side. */
    expect_set(g_db, "regler", IDS(BOEJET, GRUNDFORM));
}

/* Table forms (umlaut plurals): grundform.txt has the singular, boejet.txt
 * the plural. */
static void test_table_bog(void **state)
{
    (void)state;
    check_ranked_pair("bog", GRUNDFORM, "bøger", BOEJET);
}

static void test_table_mand(void **state)
{
    (void)state;
    check_ranked_pair("mand", GRUNDFORM, "mænd", BOEJET);
}

static void test_table_barn(void **state)
{
    (void)state;
    check_ranked_pair("barn", GRUNDFORM, "børn", BOEJET);
}

static void test_table_tand(void **state)
{
    (void)state;
    check_ranked_pair("tand", GRUNDFORM, "tænder", BOEJET);
}

/* -- harmful merges kept apart -- */

/* Snowball stems havet (the sea) and haven (the garden) alike; "hav" is
 * also the imperative of "have", so the query reaches the garden and the
 * verb forms through that lemma, but the sea comes first. */
static void test_merge_hav(void **state)
{
    (void)state;
    expect_first_of(g_db, "hav", HAVET, IDS(HAVEN));
}

static void test_merge_styr(void **state)
{
    (void)state;
    expect_ranked(g_db, "styr", IDS(STYR));
    expect_ranked(g_db, "styrelsen", IDS(STYRELSEN));
}

/* -- numbers and abbreviations -- */

static void test_number_decimal(void **state)
{
    (void)state;
    expect_set(g_db, "1.000,50", IDS(REGNSKAB));
    /* one token: its first half is not a word of its own */
    expect_none(g_db, "1.000");
}

static void test_number_year(void **state)
{
    (void)state;
    expect_set(g_db, "2022", IDS(REGNSKAB));
}

static void test_number_time(void **state)
{
    (void)state;
    expect_set(g_db, "14.30", IDS(REGNSKAB));
    /* "14" is only the "14" of "14-årig", not a part of "14.30". */
    expect_set(g_db, "14", IDS(EMAIL));
    expect_none(g_db, "30");
}

static void test_number_paragraph(void **state)
{
    (void)state;
    expect_set(g_db, "\"§ 12\"", IDS(LOVFORSLAG));
    expect_none(g_db, "\"§ 3\"");
}

static void test_number_bill(void **state)
{
    (void)state;
    expect_set(g_db, "l146", IDS(LOVFORSLAG));
    expect_set(g_db, "\"L 146\"", IDS(LOVFORSLAG));
    expect_none(g_db, "l12");
}

static void test_number_stk(void **state)
{
    (void)state;
    expect_set(g_db, "\"stk. 3\"", IDS(LOVFORSLAG));
    expect_none(g_db, "\"stk. 12\"");
}

static void test_abbreviation_hc(void **state)
{
    (void)state;
    expect_set(g_db, "H.C.", IDS(EVENTYR));
    expect_set(g_db, "\"H.C. Andersen\"", IDS(EVENTYR));
}

/* -- the same corpus with plain Snowball -- */

static void test_snowball_comparison(void **state)
{
    (void)state;
    char db[4300];
    test_dir("snowball", db, sizeof db);
    test_run r = test_tool("dksearch-index", "--analysis", "snowball", "--db", db, g_corpus,
                           NULL);
    summary s;
    if (r.status != 0 || parse_summary(r.out, &s) != 0)
        fail_msg("indexing with --analysis snowball failed (exit %d): %s%s", r.status,
                 r.out ? r.out : "", r.err ? r.err : "");
    assert_int_equal(s.docs, CORPUS_DOCS);
    test_run_free(&r);

    /* The index works: words as written are found. */
    expect_set(db, "alliance", IDS(ALLIANCE));
    expect_set(db, "velfærdsalliance", IDS(VELFAERD));
    expect_set(db, "Århus", IDS(AARHUS_AA));
    expect_set(db, "sagde", IDS(DATID));

    /* compounds */
    expect_none(db, "aktør");
    expect_none(db, "offentligprivate");
    expect_none(db, "email");
    /* ellipsis */
    expect_none(db, "energiministeren");
    expect_none(db, "klimaministeren");
    expect_none(db, "Sydjylland");
    expect_none(db, "socialministeren");
    expect_none(db, "indrejse");
    /* spellings and accents */
    expect_none(db, "velfaerdsalliance");
    expect_none(db, "aeldreminister");
    expect_none(db, "Aalborg");
    expect_set(db, "Aarhus", IDS(AARHUS));
    expect_none(db, "ide");
    expect_none(db, "cafe");
    expect_none(db, "Malmø");
    /* lemmas */
    expect_none(db, "sundhedsvæsnet");
    expect_set(db, "bøger", IDS(BOEJET));

    /* Snowball merges the sea and the garden: equal scores. */
    hits h = search_page(db, "hav", NULL, NULL);
    int sea = find_id(&h, HAVET), garden = find_id(&h, HAVEN);
    assert_true(sea >= 0 && garden >= 0);
    assert_true(fabs(h.score[sea] - h.score[garden]) < 1e-9);
    hits_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_summary),
        cmocka_unit_test(test_compound_head_ranking),
        cmocka_unit_test(test_compound_whole_word),
        cmocka_unit_test(test_compound_head_aktoer),
        cmocka_unit_test(test_hyphen_joined),
        cmocka_unit_test(test_hyphen_parts),
        cmocka_unit_test(test_hyphen_email),
        cmocka_unit_test(test_hyphen_age),
        cmocka_unit_test(test_ellipsis_energiministeren),
        cmocka_unit_test(test_ellipsis_klimaministeren),
        cmocka_unit_test(test_ellipsis_sydjylland),
        cmocka_unit_test(test_ellipsis_socialministeren),
        cmocka_unit_test(test_ellipsis_indrejse),
        cmocka_unit_test(test_ellipsis_snippet_energi),
        cmocka_unit_test(test_ascii_velfaerdsalliance),
        cmocka_unit_test(test_ascii_sundhedsvaesnet),
        cmocka_unit_test(test_ascii_aeldreminister),
        cmocka_unit_test(test_ascii_aarhus),
        cmocka_unit_test(test_ascii_aarhus_reverse),
        cmocka_unit_test(test_ascii_aalborg),
        cmocka_unit_test(test_ascii_names_kept),
        cmocka_unit_test(test_ascii_index_vocabulary),
        cmocka_unit_test(test_accent_ide),
        cmocka_unit_test(test_accent_cafe),
        cmocka_unit_test(test_accent_analyze_swedish),
        cmocka_unit_test(test_accent_malmoe),
        cmocka_unit_test(test_lemma_sundhedsvaesnet),
        cmocka_unit_test(test_lemma_cykel),
        cmocka_unit_test(test_lemma_regel),
        cmocka_unit_test(test_lemma_eksempel),
        cmocka_unit_test(test_lemma_himmel),
        cmocka_unit_test(test_lemma_sommer),
        cmocka_unit_test(test_lemma_middel),
        cmocka_unit_test(test_irregular_sige),
        cmocka_unit_test(test_irregular_faa),
        cmocka_unit_test(test_irregular_gaa),
        cmocka_unit_test(test_irregular_staa),
        cmocka_unit_test(test_irregular_have),
        cmocka_unit_test(test_irregular_havde),
        cmocka_unit_test(test_irregular_regler),
        cmocka_unit_test(test_table_bog),
        cmocka_unit_test(test_table_mand),
        cmocka_unit_test(test_table_barn),
        cmocka_unit_test(test_table_tand),
        cmocka_unit_test(test_merge_hav),
        cmocka_unit_test(test_merge_styr),
        cmocka_unit_test(test_number_decimal),
        cmocka_unit_test(test_number_year),
        cmocka_unit_test(test_number_time),
        cmocka_unit_test(test_number_paragraph),
        cmocka_unit_test(test_number_bill),
        cmocka_unit_test(test_number_stk),
        cmocka_unit_test(test_abbreviation_hc),
        cmocka_unit_test(test_snowball_comparison),
    };
    return cmocka_run_group_tests_name("danish", tests, group_setup, group_teardown);
}
