/*
 * Tokeniser, normalisation and the Snowball part of the analysis chain:
 * what becomes a token, what becomes a term, and that hostile bytes never
 * crash or stop it.  The Danish stages are tested in test_danish.c.
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
#define ANALYZER_FEATURES DKS_ANALYSIS_SNOWBALL
#include "analyzer_fixture.h"

#define MAX_TERMS 64

typedef struct collected {
    size_t n;
    char term[MAX_TERMS][DKS_MAX_TERM_BYTES + 1];
    char surface[MAX_TERMS][64];
    uint32_t position[MAX_TERMS];
    size_t offset[MAX_TERMS];
    int stop[MAX_TERMS];
    size_t total;   /* counts terms beyond MAX_TERMS too */
} collected;

static int collect(const dks_term *t, void *ctx)
{
    collected *c = ctx;
    if (t->kind != DKS_TERM_WORD)
        return 0;
    c->total++;
    if (c->n == MAX_TERMS)
        return 0;
    memcpy(c->term[c->n], t->term, t->term_len);
    c->term[c->n][t->term_len] = '\0';
    size_t sl = t->surface_len < 63 ? t->surface_len : 63;
    memcpy(c->surface[c->n], t->surface, sl);
    c->surface[c->n][sl] = '\0';
    c->position[c->n] = t->position;
    c->offset[c->n] = t->offset;
    c->stop[c->n] = t->is_stopword;
    c->n++;
    return 0;
}

static collected *analyse_len(const char *text, size_t len)
{
    static collected c;
    memset(&c, 0, sizeof c);
    assert_int_equal(dks_analyze(an, text, len, 0, collect, &c), DKS_OK);
    return &c;
}

static collected *analyse(const char *text)
{
    return analyse_len(text, strlen(text));
}

/* Surfaces of the tokens, space-separated, for compact assertions. */
static const char *surfaces(const collected *c)
{
    static char out[4096];
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->n && at < sizeof out; i++)
        at += (size_t)snprintf(out + at, sizeof out - at, "%s%s", i ? " " : "", c->surface[i]);
    return out;
}

static void test_danish_letters_and_capitals(void **state)
{
    (void)state;
    collected *c = analyse("ÆBLER på Ærø, Øresund og ÅRHUS");
    assert_string_equal(surfaces(c), "ÆBLER på Ærø Øresund og ÅRHUS");
    /* Upper-case Æ Ø Å are lower-cased before stemming. */
    assert_string_equal(c->term[0], "æbl");
    assert_string_equal(c->term[2], "ærø");
    assert_string_equal(c->term[3], "øresund");
    assert_string_equal(c->term[5], "århus");
    for (size_t i = 0; i < c->n; i++)
        assert_int_equal(c->position[i], i);
}

static void test_decomposed_a_ring_equals_precomposed(void **state)
{
    (void)state;
    char pre[DKS_MAX_TERM_BYTES + 1], dec[DKS_MAX_TERM_BYTES + 1];
    collected *c = analyse("g\xC3\xA5rden");           /* gården, precomposed å */
    assert_int_equal(c->n, 1);
    snprintf(pre, sizeof pre, "%.60s", c->term[0]);
    c = analyse("ga\xCC\x8A" "rden");                  /* a + U+030A combining ring */
    assert_int_equal(c->n, 1);
    snprintf(dec, sizeof dec, "%.60s", c->term[0]);
    assert_string_equal(pre, dec);
    c = analyse("A\xCC\x8A" "RHUS");                   /* capital A + ring */
    assert_string_equal(c->term[0], "århus");
}

static void test_digits_and_mixed_tokens(void **state)
{
    (void)state;
    collected *c = analyse("L146 blev vedtaget 2022, kl. 14.30, for 1.000,50 kr. i 2022.");
    /* Danish numbers keep their separators; a period ending a sentence does not join. */
    assert_string_equal(surfaces(c), "L146 blev vedtaget 2022 kl 14.30 for 1.000,50 kr i 2022");
    assert_string_equal(c->term[0], "l146");
    assert_string_equal(c->term[3], "2022");
}

static void test_hyphens_split_words(void **state)
{
    (void)state;
    collected *c = analyse("offentlig-private e-mail 14-årig");
    assert_string_equal(surfaces(c), "offentlig private e mail 14 årig");
    /* Consecutive positions, so the query side can match them as a phrase. */
    assert_int_equal(c->position[0], 0);
    assert_int_equal(c->position[1], 1);
}

static void test_apostrophes(void **state)
{
    (void)state;
    /* Between letters the apostrophe joins and is dropped: Peter's = Peters. */
    collected *c = analyse("Peter's bog, Jens' cykel og Anne\xE2\x80\x99s hus");
    assert_string_equal(surfaces(c), "Peter's bog Jens cykel og Anne\xE2\x80\x99s hus");
    char peters[64];
    snprintf(peters, sizeof peters, "%.60s", c->term[0]);
    c = analyse("Peters");
    assert_string_equal(c->term[0], peters);
    c = analyse("'citat' ''");
    assert_string_equal(surfaces(c), "citat");
}

static void test_invalid_utf8_is_a_separator(void **state)
{
    (void)state;
    /* Lone continuation byte, overlong encoding, truncated sequence, 0xFF,
     * an encoded surrogate: each separates tokens, none ends the text. */
    const char text[] = "god\x80" "dag \xC0\xAF" "hej \xE2\x82 x\xFFy \xED\xA0\x80z slut";
    collected *c = analyse_len(text, sizeof text - 1);
    assert_string_equal(surfaces(c), "god dag hej x y z slut");
    /* A buffer that ends inside a multi-byte character. */
    c = analyse_len("velfærd", 5);  /* "velf" and the first byte of æ */
    assert_int_equal(c->n, 1);
    assert_string_equal(c->surface[0], "velf");
}

static void test_nul_bytes_and_controls(void **state)
{
    (void)state;
    const char text[] = "før\0efter\x01\x1f" "igen";
    collected *c = analyse_len(text, sizeof text - 1);
    assert_string_equal(surfaces(c), "før efter igen");
}

static void test_empty_and_separator_only(void **state)
{
    (void)state;
    assert_int_equal(analyse("")->n, 0);
    assert_int_equal(analyse_len("ignored", 0)->n, 0);
    assert_int_equal(analyse(" \t\n – !!! ... «»")->n, 0);
}

static void test_offsets_point_at_surfaces(void **state)
{
    (void)state;
    const char *text = "  Både æbler\xC2\xA0og pærer.";
    collected *c = analyse(text);
    assert_int_equal(c->n, 4);
    for (size_t i = 0; i < c->n; i++)
        assert_memory_equal(text + c->offset[i], c->surface[i], strlen(c->surface[i]));
    /* The no-break space (U+00A0) separates words. */
    assert_string_equal(c->surface[2], "og");
}

static void test_one_mib_token_is_skipped_but_counted(void **state)
{
    (void)state;
    size_t big = 1 << 20;
    char *text = malloc(big + 32);
    assert_non_null(text);
    size_t head = strlen("før ");
    memcpy(text, "før ", head);
    memset(text + head, 'a', big);
    memcpy(text + head + big, " efter", 7);
    collected *c = analyse_len(text, head + big + 6);
    free(text);
    /* The giant token makes no term but takes a position, so "før efter"
     * is not a phrase across it. */
    assert_int_equal(c->n, 2);
    assert_string_equal(c->surface[0], "før");
    assert_string_equal(c->surface[1], "efter");
    assert_int_equal(c->position[1], 2);
}

static void test_longest_allowed_token_is_kept(void **state)
{
    (void)state;
    char word[DKS_MAX_TOKEN_BYTES + 1];
    memset(word, 'b', DKS_MAX_TOKEN_BYTES);
    word[DKS_MAX_TOKEN_BYTES] = '\0';
    assert_int_equal(analyse(word)->total, 1);
    /* Multi-byte letters up to the limit: å is two bytes. */
    char aa[DKS_MAX_TOKEN_BYTES + 1];
    for (size_t i = 0; i + 1 < DKS_MAX_TOKEN_BYTES; i += 2)
        memcpy(aa + i, "\xC3\xA5", 2);
    aa[DKS_MAX_TOKEN_BYTES] = '\0';
    assert_int_equal(analyse(aa)->total, 1);
}

static void test_many_tokens_get_increasing_positions(void **state)
{
    (void)state;
    size_t words = 200000;
    char *text = malloc(words * 2 + 1);
    assert_non_null(text);
    for (size_t i = 0; i < words; i++)
        memcpy(text + 2 * i, "a ", 2);
    text[words * 2] = '\0';
    collected *c = analyse(text);
    free(text);
    assert_int_equal(c->total, words);
}

static void test_stop_words_are_marked_not_removed(void **state)
{
    (void)state;
    collected *c = analyse("I dag er det OG ikke i morgen");
    assert_string_equal(surfaces(c), "I dag er det OG ikke i morgen");
    int expect[] = {1, 0, 1, 1, 1, 1, 1, 0};
    for (size_t i = 0; i < c->n; i++)
        assert_int_equal(c->stop[i], expect[i]);
    assert_int_equal(dks_stopword_count(), 94);
}

static void test_other_scripts_and_accents(void **state)
{
    (void)state;
    collected *c = analyse("Café Ĳssel Ωmega Straße naïve");
    assert_int_equal(c->n, 5);
    assert_string_equal(c->term[0], "café");
    /* Case folding: ß is ss, Ω is ω. */
    char strasse[64];
    snprintf(strasse, sizeof strasse, "%.60s", c->term[3]);
    assert_memory_equal(c->term[2], "\xCF\x89", 2);
    c = analyse("STRASSE");
    assert_string_equal(c->term[0], strasse);
}

static void test_emoji_and_symbols_separate(void **state)
{
    (void)state;
    collected *c = analyse("😘aa😘 §12 50% 3+4=7 a/b");
    /* The section sign is a token of its own, so "§ 12" can be searched. */
    assert_string_equal(surfaces(c), "aa § 12 50 3 4 7 a b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_danish_letters_and_capitals),
        cmocka_unit_test(test_decomposed_a_ring_equals_precomposed),
        cmocka_unit_test(test_digits_and_mixed_tokens),
        cmocka_unit_test(test_hyphens_split_words),
        cmocka_unit_test(test_apostrophes),
        cmocka_unit_test(test_invalid_utf8_is_a_separator),
        cmocka_unit_test(test_nul_bytes_and_controls),
        cmocka_unit_test(test_empty_and_separator_only),
        cmocka_unit_test(test_offsets_point_at_surfaces),
        cmocka_unit_test(test_one_mib_token_is_skipped_but_counted),
        cmocka_unit_test(test_longest_allowed_token_is_kept),
        cmocka_unit_test(test_many_tokens_get_increasing_positions),
        cmocka_unit_test(test_stop_words_are_marked_not_removed),
        cmocka_unit_test(test_other_scripts_and_accents),
        cmocka_unit_test(test_emoji_and_symbols_separate),
    };
    return cmocka_run_group_tests_name("tokenize", tests, analyzer_setup, analyzer_teardown);
}
