/*
 * Queries that expand a word to several indexed words, through
 * dks_search: prefixes (word*) with their cap and note, search-as-you-type,
 * typos (word~) and the "Mente du ...?" suggestion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dksearch.h"
#include "dks_int.h"
#include "scratch_index.h"

static int setup(void **state)
{
    (void)state;
    if (scratch_open())
        return -1;
    /* 1,100 documents with a word of their own each (ord0 ... ord1099),
     * and a few real ones. */
    for (int i = 0; i < 1100; i++) {
        char id[32], body[64];
        snprintf(id, sizeof id, "o%d", i);
        snprintf(body, sizeof body, "tekst ord%d", i);
        if (scratch_add(id, body))
            return -1;
    }
    return scratch_add("tele", "Telemedicin og telefoner i kommunen.") ||
           scratch_add("velf", "Kommunerne indgår velfærdsalliancer med foreningerne.") ||
           scratch_add("anden", "Et helt andet emne om cykler.") ||
           scratch_add("former", "Sundhedsvæsnet under Himlen om somrene.") ||
           scratch_add("cykelsti", "Cykelstien langs havnen er ny, og stien er bred.") ||
           scratch_add("stier", "Stierne ved havnen fører til cykelstierne og cykelparkeringen.") ||
           scratch_commit();
}

static dks_results *search(const char *q, int typing)
{
    dks_results *r;
    /* these tests count hits: no pruning past 1,000 */
    dks_search_options opt = {.limit = 20, .as_you_type = typing, .exact_total = 1};
    dks_error_detail err = {0};
    if (dks_search(idx, q, strlen(q), &opt, &r, &err) != DKS_OK)
        fail_msg("'%s': %s", q, err.message);
    return r;
}

static void test_prefix_matches_words_beginning_with_it(void **state)
{
    (void)state;
    dks_results *r = search("tele*", 0);
    assert_int_equal(dks_results_total(r), 1);
    assert_string_equal(dks_results_hit(r, 0)->id, "tele");
    /* both words that begin with tele are marked */
    const dks_hit *h = dks_results_hit(r, 0);
    assert_int_equal(h->n_highlights, 2);
    assert_int_equal(dks_results_note_count(r), 0);
    dks_results_free(r);
    r = search("ord10*", 0);  /* ord10, ord100..ord109, ord1000..ord1099 */
    assert_int_equal(dks_results_total(r), 111);
    dks_results_free(r);
    r = search("xyz*", 0);
    assert_int_equal(dks_results_total(r), 0);
    dks_results_free(r);
    /* Words whose term is their lemma's (sundhedsvæsnet: sundhedsvæs,
     * Himlen: himmel, somrene: sommer, cykler: cykel) are found by the
     * prefix of what is written. */
    const char *forms[] = {"sundhedsvæsn*", "himl*", "somr*", "cykl*"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        r = search(forms[i], 0);
        if (dks_results_total(r) == 0)
            fail_msg("%s found nothing", forms[i]);
        dks_results_free(r);
    }
}

static void test_prefix_cap_gives_a_note(void **state)
{
    (void)state;
    dks_results *r = search("ord*", 0);
    /* 1,100 words begin with ord; the first 1,000 in dictionary order are searched */
    assert_int_equal(dks_results_total(r), DKS_MAX_PREFIX_TERMS);
    assert_int_equal(dks_results_note_count(r), 1);
    assert_non_null(strstr(dks_results_note(r, 0), "ord*"));
    assert_non_null(strstr(dks_results_note(r, 0), "1000"));
    char *json;
    assert_int_equal(dks_results_json(r, &json, NULL), DKS_OK);
    assert_non_null(strstr(json, "\"notes\":[\"ord*"));
    free(json);
    dks_results_free(r);
}

static void test_prefix_combines_with_words(void **state)
{
    (void)state;
    dks_results *r = search("kommune* velf*", 0);
    assert_int_equal(dks_results_total(r), 1);
    assert_string_equal(dks_results_hit(r, 0)->id, "velf");
    dks_results_free(r);
    r = search("tekst -ord1*", 0);  /* excludes ord1, ord10.., ord100.., ord1000.. */
    assert_int_equal(dks_results_total(r), 1100 - 1 - 10 - 100 - 100);
    dks_results_free(r);
}

static void test_as_you_type_keeps_results(void **state)
{
    (void)state;
    /* Each step of typing "velfærdsalliancer" still finds the document. */
    const char *steps[] = {"velf", "velfærd", "velfærdsal", "velfærdsalli", "velfærdsallian",
                           "velfærdsalliancer"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        dks_results *r = search(steps[i], 1);
        if (dks_results_total(r) != 1 || strcmp(dks_results_hit(r, 0)->id, "velf") != 0)
            fail_msg("typing '%s' lost the document", steps[i]);
        dks_results_free(r);
    }
    /* Without it, a half word finds nothing; only the last word is a prefix. */
    dks_results *r = search("velfærdsal", 0);
    assert_int_equal(dks_results_total(r), 0);
    dks_results_free(r);
    r = search("velf kommunerne", 1);
    assert_int_equal(dks_results_total(r), 0);  /* "velf" is complete: no such word */
    dks_results_free(r);
    r = search("kommunerne velf", 1);
    assert_int_equal(dks_results_total(r), 1);
    dks_results_free(r);
}

static void test_malformed_prefixes(void **state)
{
    (void)state;
    dks_results *r;
    dks_error_detail err = {0};
    const char *bad[] = {"-*", "é-*", "e-mail*"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dks_error_clear(&err);
        int rc = dks_search(idx, bad[i], strlen(bad[i]), NULL, &r, &err);
        if (rc == DKS_OK) {
            dks_results_free(r);
            continue;  /* read as plain words: also fine */
        }
        assert_int_equal(rc, DKS_EQUERY);
        assert_true(err.message[0] != '\0');
    }
    /* A lone star is no prefix: the query has no words. */
    dks_error_clear(&err);
    assert_int_equal(dks_search(idx, "*", 1, NULL, &r, &err), DKS_EQUERY);
}

static void test_typos(void **state)
{
    (void)state;
    /* One edit allowed for 5-8 letters, two for longer words. */
    /* kommunnen is one edit from kommun, the term of kommunen and kommunerne */
    const struct {
        const char *q;
        unsigned long long hits;
    } found[] = {{"telemedecin~", 1}, {"telemediciin~", 1}, {"tlemedicn~", 1},
                 {"kommunnen~", 2}, {"velfærdsaliancer~", 1}, {"vælfærdsalliancer~", 1}};
    for (size_t i = 0; i < sizeof found / sizeof found[0]; i++) {
        dks_results *r = search(found[i].q, 0);
        if (dks_results_total(r) != found[i].hits)
            fail_msg("%s: %llu hits", found[i].q, (unsigned long long)dks_results_total(r));
        dks_results_free(r);
    }
    /* three edits; a word that is not one (the ~ inside); four letters
     * allow no edit; nothing near */
    const char *missed[] = {"tlmedicn~", "komunnen~x", "bilx~", "zzzzz~"};
    for (size_t i = 0; i < sizeof missed / sizeof missed[0]; i++) {
        dks_results *r = search(missed[i], 0);
        if (dks_results_total(r) != 0)
            fail_msg("%s: %llu hits", missed[i], (unsigned long long)dks_results_total(r));
        dks_results_free(r);
    }
    /* The word as typed ranks above its neighbours: "tekst" is in 1,100
     * documents, and tekst~ finds exactly those. */
    dks_results *r = search("tekst~", 0);
    assert_int_equal(dks_results_total(r), 1100);
    dks_results_free(r);
    /* A lone ~ is no word. */
    dks_error_detail err = {0};
    assert_int_equal(dks_search(idx, "~", 1, NULL, &r, &err), DKS_EQUERY);
}

static void test_suggestions(void **state)
{
    (void)state;
    dks_results *r = search("telemedecin", 0);
    assert_int_equal(dks_results_total(r), 0);
    assert_non_null(dks_results_suggestion(r));
    assert_string_equal(dks_results_suggestion(r), "telemedicin");
    char *json;
    assert_int_equal(dks_results_json(r, &json, NULL), DKS_OK);
    assert_non_null(strstr(json, "\"suggestion\":\"telemedicin\""));
    free(json);
    dks_results_free(r);
    /* Known words stay; only the unknown one is replaced, in place. */
    r = search("kommunen telemedecin", 0);
    assert_string_equal(dks_results_suggestion(r), "kommunen telemedicin");
    dks_results_free(r);
    /* Nothing near: no suggestion.  Hits: no suggestion either. */
    r = search("qqqqqqqq", 0);
    assert_null(dks_results_suggestion(r));
    dks_results_free(r);
    r = search("telemedicin", 0);
    assert_null(dks_results_suggestion(r));
    dks_results_free(r);
}

/* One hit's snippet and highlights as text, to compare. */
static void describe_hits(const dks_results *r, char *out, size_t cap)
{
    size_t at = 0;
    for (size_t i = 0; i < dks_results_count(r) && at < cap; i++) {
        const dks_hit *h = dks_results_hit(r, i);
        at += (size_t)snprintf(out + at, cap - at, "%s: %s", h->id, h->snippet);
        for (size_t k = 0; k < h->n_highlights && at < cap; k++)
            at += (size_t)snprintf(out + at, cap - at, " [%zu,%zu]", h->highlights[k].start,
                                   h->highlights[k].end);
        if (at < cap)
            at += (size_t)snprintf(out + at, cap - at, "\n");
    }
}

/* Snippets analyse their texts with compound splitting only for words
 * that may hold a part the query names, and an index's analyzers keep
 * those words from search to search while the query parts are the same.
 * Searches in any order on one index give the highlights that each gives
 * on an index handle of its own. */
static void test_snippets_alike_whatever_searches_came_before(void **state)
{
    (void)state;
    const char *queries[] = {"havnen", "cykelsti", "havnen", "sti", "cykelsti",
                             "cykel", "havnen", "sti"};
    char db[4200];
    snprintf(db, sizeof db, "%s/db", scratch_dir);
    static char shared[8192], fresh[8192];
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        dks_results *r = search(queries[i], 0);
        assert_true(dks_results_count(r) > 0);
        describe_hits(r, shared, sizeof shared);
        dks_results_free(r);
        dks_index *own;
        assert_int_equal(dks_index_open(db, 0, &own, NULL), DKS_OK);
        dks_search_options opt = {.limit = 20, .exact_total = 1};
        assert_int_equal(dks_search(own, queries[i], strlen(queries[i]), &opt, &r, NULL),
                         DKS_OK);
        describe_hits(r, fresh, sizeof fresh);
        dks_results_free(r);
        dks_index_close(own);
        if (strcmp(shared, fresh) != 0)
            fail_msg("'%s' after other searches:\n%s\non its own:\n%s", queries[i], shared,
                     fresh);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_matches_words_beginning_with_it),
        cmocka_unit_test(test_prefix_cap_gives_a_note),
        cmocka_unit_test(test_prefix_combines_with_words),
        cmocka_unit_test(test_as_you_type_keeps_results),
        cmocka_unit_test(test_malformed_prefixes),
        cmocka_unit_test(test_typos),
        cmocka_unit_test(test_suggestions),
        cmocka_unit_test(test_snippets_alike_whatever_searches_came_before),
    };
    return cmocka_run_group_tests_name("expansion", tests, setup, scratch_teardown);
}
