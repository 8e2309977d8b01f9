/*
 * HTML pages: titles and their fallbacks, what is left out (scripts,
 * styles, navigation, hidden elements), <main>, entities, blocks on lines
 * of their own, alt text, the lang field, declared and undeclared
 * charsets, malformed, deeply nested, empty and binary input, and that
 * libxml2's error handlers of the caller are left as they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlerror.h>

#include "dks_int.h"

/* ---- helpers ---------------------------------------------------------------- */

typedef struct page {
    char title[600];
    char body[4096];
    char lang[80];
} page;

static const char *text_of(const dks_buf *b)
{
    return b->data ? (const char *)b->data : "";
}

/* Parses len bytes; the page's parts, cut to the buffers. */
static page *parse_len(const char *html, size_t len)
{
    static page p;
    dks_html_page hp;
    assert_int_equal(dks_html_parse(html, len, &hp), DKS_OK);
    snprintf(p.title, sizeof p.title, "%s", text_of(&hp.title));
    snprintf(p.body, sizeof p.body, "%s", text_of(&hp.body));
    snprintf(p.lang, sizeof p.lang, "%s", text_of(&hp.lang));
    dks_html_page_free(&hp);
    return &p;
}

static page *parse(const char *html)
{
    return parse_len(html, strlen(html));
}

#define assert_has(hay, needle)                                                           \
    do {                                                                                \
        if (!strstr((hay), (needle)))                                                   \
            fail_msg("expected \"%s\" in \"%s\"", (needle), (hay));                     \
    } while (0)
#define assert_lacks(hay, needle)                                                         \
    do {                                                                                \
        if (strstr((hay), (needle)))                                                    \
            fail_msg("did not expect \"%s\" in \"%s\"", (needle), (hay));               \
    } while (0)

/* What dks_parse_documents makes of a file. */
typedef struct seen {
    int docs, skips;
    char id[64], title[600], body[512], fields[128], reason[200];
    long line;
} seen;

static int on_doc(const dks_document *d, long line, void *ctx)
{
    seen *s = ctx;
    s->docs++;
    s->line = line;
    snprintf(s->id, sizeof s->id, "%.*s", (int)d->id_len, d->id);
    snprintf(s->title, sizeof s->title, "%.*s", (int)d->title_len, d->title ? d->title : "");
    snprintf(s->body, sizeof s->body, "%.*s", (int)d->body_len, d->body ? d->body : "");
    size_t at = 0;
    for (size_t f = 0; f < d->n_fields && at < sizeof s->fields; f++)
        at += (size_t)snprintf(s->fields + at, sizeof s->fields - at, "%.*s=%.*s;",
                               (int)d->fields[f].name_len, d->fields[f].name,
                               (int)d->fields[f].value_len, d->fields[f].value);
    return 0;
}

static void on_skip(long line, const char *reason, void *ctx)
{
    seen *s = ctx;
    s->skips++;
    s->line = line;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
}

static seen *read_file(const char *name, const char *data, size_t len)
{
    static seen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(dks_parse_documents(DKS_FORMAT_HTML, name, strlen(name), data, len, on_doc,
                                         on_skip, &s, NULL), DKS_OK);
    return &s;
}

/* ---- titles ------------------------------------------------------------------ */

static void test_title(void **state)
{
    (void)state;
    page *p = parse("<html><head><title>\n  Om   cykling\ti&nbsp;K\xc3\xb8" "benhavn  </title>"
                    "</head><body><h1>Overskrift</h1><p>Tekst.</p></body></html>");
    assert_string_equal(p->title, "Om cykling i København");
    assert_string_equal(p->body, "Overskrift\nTekst.");
}

static void test_title_falls_back_to_h1_then_first_line(void **state)
{
    (void)state;
    /* an empty <title>; the first h1 in the navigation is not read, an
     * empty one is passed over */
    page *p = parse("<title> </title><nav><h1>Menu</h1></nav><h1><img src=logo.png></h1>"
                    "<p>Indledning</p><h1>Cykelstier   i <em>byen</em><br>og på landet</h1>"
                    "<h1>Anden</h1>");
    assert_string_equal(p->title, "Cykelstier i byen og på landet");
    p = parse("<body><div>\n  Første linje af teksten  </div><p>Anden linje</p></body>");
    assert_string_equal(p->title, "Første linje af teksten");
    assert_string_equal(p->body, "Første linje af teksten\nAnden linje");
}

static void test_long_title_is_cut(void **state)
{
    (void)state;
    static char html[4000];
    strcpy(html, "<title>");
    while (strlen(html) < 3000)
        strcat(html, "æøå ");
    strcat(html, "</title><p>Brødtekst</p>");
    seen *s = read_file("lang.html", html, strlen(html));
    assert_int_equal(s->docs, 1);
    size_t n = strlen(s->title);
    assert_true(n > 400 && n <= DKS_MAX_TITLE_BYTES);
    assert_true(((unsigned char)s->title[n - 1] & 0xC0) != 0xC0);  /* not cut inside a letter */
    assert_string_equal(s->body, "Brødtekst");
}

/* ---- what is read, and what is not --------------------------------------------- */

static void test_scripts_styles_and_navigation_are_left_out(void **state)
{
    (void)state;
    page *p = parse(
        "<html><head><title>Side</title><style>p { farve: rød }</style>"
        "<script>var skriptord = 1;</script></head><body>"
        "<header><a href=/>Forsiden</a> <a href=/om>Om os</a></header>"
        "<nav><ul><li>Menupunkt</li></ul></nav>"
        "<div role=\"navigation\">Brødkrumme</div><div role=\"banner x\">Reklame</div>"
        "<aside>Sidebjælke</aside>"
        "<p>Cyklen er <script>skjult()</script>dansk.</p>"
        "<noscript>Slå javascript til</noscript><template><p>Skabelon</p></template>"
        "<svg><title>Ikon</title><text>Vektor</text></svg>"
        "<div aria-hidden=\"true\">Usynlig</div><p hidden>Gemt</p>"
        "<p hidden=\"until-found\">Fundbar</p><div aria-hidden=\"false\">Synlig</div>"
        "<article><header>Artikelhoved</header><p>Artikel</p><footer>Artikelfod</footer>"
        "<aside>Faktaboks</aside></article>"
        "<section><footer>Afsnitsfod</footer></section>"
        "<footer role=\"contentinfo\">Kontakt</footer><div role=contentinfo>Sidefod</div>"
        "<!-- Kommentar --></body></html>");
    assert_string_equal(p->title, "Side");
    static const char *const kept[] = {"Cyklen er dansk.", "Fundbar", "Synlig", "Artikelhoved",
                                       "Artikel", "Artikelfod", "Faktaboks", "Afsnitsfod", NULL};
    static const char *const left_out[] = {
        "farve", "skriptord", "skjult", "Forsiden", "Om os", "Menupunkt", "Brødkrumme",
        "Reklame", "Sidebjælke", "javascript", "Skabelon", "Ikon", "Vektor", "Usynlig", "Gemt",
        "Kontakt", "Sidefod", "Kommentar", NULL};
    for (size_t i = 0; kept[i]; i++)
        assert_has(p->body, kept[i]);
    for (size_t i = 0; left_out[i]; i++)
        assert_lacks(p->body, left_out[i]);
    /* words around a block left out do not run together */
    p = parse("<html><body><p>før<nav>menu</nav>efter abc<aside>x</aside>def "
              "a<div hidden>y</div>b</p></body></html>");
    assert_has(p->body, "før\nefter");
    assert_has(p->body, "abc\ndef");
    assert_has(p->body, "a\nb");
}

static void test_main_only(void **state)
{
    (void)state;
    page *p = parse("<body><div class=top>Toplinje</div><main><header>Hovedindhold</header>"
                    "<p>Selve <a href=x>teksten</a></p></main><div>Bundlinje</div></body>");
    assert_string_equal(p->body, "Hovedindhold\nSelve teksten");
    p = parse("<body><div>Uden for</div><div role=\"main\"><p>Indenfor</p></div></body>");
    assert_string_equal(p->body, "Indenfor");
}

static void test_entities_are_decoded(void **state)
{
    (void)state;
    page *p = parse("<title>R&oslash;dgr&oslash;d &amp; fl&#248;de</title>"
                    "<p>&aelig;&oslash;&aring; &AElig;&Oslash;&Aring; 1&#8211;2 &#x2014; "
                    "&lt;b&gt; &quot;citat&quot; &bogus; &amp;</p>");
    assert_string_equal(p->title, "Rødgrød & fløde");
    assert_string_equal(p->body, "æøå ÆØÅ 1–2 — <b> \"citat\" &bogus; &");
}

static void test_blocks_are_lines_and_inline_text_flows(void **state)
{
    (void)state;
    page *p = parse("<p>ord</p><p>andet</p>");
    assert_string_equal(p->body, "ord\nandet");
    p = parse("<div>en<div>to</div>tre</div><ul><li>fire<li>fem</ul>"
              "<table><tr><td>seks</td><td>syv</td></tr><tr><th>otte</th></tr></table>"
              "ni<br>ti<h2>elleve</h2>tolv<b>fed</b><i>kursiv</i> <span>tretten</span>"
              "<button>knap</button>fjorten");
    assert_string_equal(p->body, "en\nto\ntre\nfire\nfem\nseks\nsyv\notte\nni\nti\nelleve\n"
                                 "tolvfedkursiv tretten knap fjorten");
    /* white space collapses, but not line ends in <pre> */
    p = parse("<p>  mange \n\n  mellemrum\t her </p><pre>linje 1\nlinje   2\n\nlinje 3</pre>");
    assert_string_equal(p->body, "mange mellemrum her\nlinje 1\nlinje 2\nlinje 3");
}

static void test_links_and_alt_text(void **state)
{
    (void)state;
    page *p = parse("<p>Se<img src=kort.png alt=\"et kort over Århus\">her, og "
                    "<a href=\"https://example.dk/\">læs mere</a>.<img src=x.png></p>");
    assert_string_equal(p->body, "Se et kort over Århus her, og læs mere.");
}

static void test_lang_field(void **state)
{
    (void)state;
    const char *da = "<!DOCTYPE html><html lang=\"da\"><title>Hej</title><p>Dansk tekst</p>";
    seen *s = read_file("hjaelp/da.html", da, strlen(da));
    assert_int_equal(s->docs, 1);
    assert_int_equal(s->line, 1);
    assert_string_equal(s->id, "hjaelp/da.html");
    assert_string_equal(s->title, "Hej");
    assert_string_equal(s->body, "Dansk tekst");
    assert_string_equal(s->fields, "lang=da;");
    /* a page in another language is read all the same */
    const char *en = "<html lang=\" en-GB \"><p>English text</p></html>";
    s = read_file("en.html", en, strlen(en));
    assert_int_equal(s->docs, 1);
    assert_string_equal(s->fields, "lang=en-GB;");
    const char *none = "<html><p>Uden sprog</p></html>";
    s = read_file("uden.html", none, strlen(none));
    assert_int_equal(s->docs, 1);
    assert_string_equal(s->fields, "");
    /* only <html>'s lang counts; an absurd one is none */
    assert_string_equal(parse("<html><p lang=de>Deutsch</p></html>")->lang, "");
    static char longlang[200];
    snprintf(longlang, sizeof longlang, "<html lang=\"%0120d\"><p>x</p>", 0);
    assert_string_equal(parse(longlang)->lang, "");
}

/* ---- charsets -------------------------------------------------------------------- */

static void test_charsets(void **state)
{
    (void)state;
    /* Latin-1, declared by <meta charset> and by http-equiv */
    page *p = parse("<html><head><meta charset=\"iso-8859-1\"><title>Bl\xe5" "b\xe6r</title>"
                    "</head><body><p>\xe6\xf8\xe5 \xc6\xd8\xc5</p></body></html>");
    assert_string_equal(p->title, "Blåbær");
    assert_string_equal(p->body, "æøå ÆØÅ");
    p = parse("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\">"
              "<p>gr\xf8" "d</p>");
    assert_string_equal(p->body, "grød");
    /* undeclared: UTF-8 (libxml2 alone would take Latin-1) */
    p = parse("<p>blåbærgrød</p>");
    assert_string_equal(p->body, "blåbærgrød");
    /* UTF-8 declared after text that needs it */
    p = parse("<html><head><title>Æblegrød</title><meta charset=utf-8></head><p>ø</p>");
    assert_string_equal(p->title, "Æblegrød");
    /* windows-1252 with a byte it leaves undefined: read as Latin-1 to the end */
    p = parse("<meta charset=\"windows-1252\"><p>f\xf8r \x81 efter \xe6" "ble</p>");
    assert_has(p->body, "før");
    assert_has(p->body, "efter æble");
    /* an XML declaration counts as a declaration */
    p = parse("<?xml version=\"1.0\" encoding=\"utf-8\"?><html><p>på</p></html>");
    assert_string_equal(p->body, "på");
}

static int generic_calls, structured_calls;

static void count_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
    generic_calls++;
}

static void count_structured(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
    structured_calls++;
}

/* The caller's libxml2 handlers hear nothing of a page's errors and are
 * the same after the parse. */
static void test_caller_handlers_untouched(void **state)
{
    (void)state;
    int ctx_a, ctx_b;
    static const char *const pages[] = {
        "<meta charset=windows-1252><p>\x81\x8d</p>", "<p>uafsluttet <b><i>tekst",
        "<<<>>>&&&#xFFFFFFFF;<p <a href=\"", NULL};
    for (int structured = 0; structured < 2; structured++) {
        xmlSetGenericErrorFunc(&ctx_a, count_generic);
        xmlSetStructuredErrorFunc(&ctx_b, structured ? count_structured : NULL);
        for (size_t i = 0; pages[i]; i++)
            parse(pages[i]);
        assert_int_equal(generic_calls, 0);
        assert_int_equal(structured_calls, 0);
        assert_ptr_equal(xmlGenericError, count_generic);
        assert_ptr_equal(xmlGenericErrorContext, &ctx_a);
        assert_ptr_equal(xmlStructuredError, structured ? count_structured : NULL);
        assert_ptr_equal(xmlStructuredErrorContext, &ctx_b);
    }
    xmlSetGenericErrorFunc(NULL, NULL);
    xmlSetStructuredErrorFunc(NULL, NULL);
}

/* ---- hostile input ----------------------------------------------------------------- */

static void test_malformed_markup(void **state)
{
    (void)state;
    page *p = parse("<p>en <b>to <i>tre</p> fire</b> <div>fem <span>seks");
    assert_string_equal(p->body, "en to tre\nfire\nfem seks");
    p = parse("<<>> & </td></tr></table> syv <p <a href=x>otte</a> </dl><!-- ni");
    assert_has(p->body, "syv");
    assert_has(p->body, "otte");
    assert_lacks(p->body, "ni");
    /* an attribute's quote that is never closed takes the rest, as in a browser */
    p = parse("<p>ti <a href=\"x>elleve</a> tolv");
    assert_string_equal(p->body, "ti");
    static const char *const junk[] = {"<", "&", "<!", "<?", "</", "<!--", "<![CDATA[", "<script>",
                                       "<title>", "<html lang=", "<p\x01\x02>", "\xef\xbb\xbf<p>",
                                       "<meta charset=", "<meta charset=utf-16>x", NULL};
    for (size_t i = 0; junk[i]; i++)
        parse(junk[i]);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    enum { DEPTH = 100000 };
    size_t cap = DEPTH * 11 + 100, n = 0;
    char *html = malloc(cap);
    assert_non_null(html);
    n += (size_t)snprintf(html, cap, "<html><body><p>Overfladen</p>");
    for (int i = 0; i < DEPTH; i++)
        n += (size_t)snprintf(html + n, cap - n, "<div>");
    n += (size_t)snprintf(html + n, cap - n, "bunden");
    for (int i = 0; i < DEPTH; i++)
        n += (size_t)snprintf(html + n, cap - n, "</div>");
    /* libxml2 stops building at its depth limit: the text above it stays */
    page *p = parse_len(html, n);
    assert_string_equal(p->title, "Overfladen");
    assert_has(p->body, "Overfladen");
    seen *s = read_file("dyb.html", html, n);
    assert_int_equal(s->docs, 1);
    free(html);
}

static void test_empty_and_blank_pages_are_skipped(void **state)
{
    (void)state;
    static const char *const blank[] = {"", "   \n\t", "<html><head><title> </title></head>"
                                        "<body> <div>\n</div> <script>x()</script></body></html>",
                                        "<!-- kun en kommentar -->", NULL};
    for (size_t i = 0; blank[i]; i++) {
        seen *s = read_file("tom.html", blank[i], strlen(blank[i]));
        assert_int_equal(s->docs, 0);
        assert_int_equal(s->skips, 1);
        assert_int_equal(s->line, 1);
        assert_string_equal(s->reason, "no text (only markup and white space)");
    }
}

static void test_binary_and_huge_files_are_skipped(void **state)
{
    (void)state;
    const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR<html><p>tekst</p>";
    seen *s = read_file("billede.html", png, sizeof png - 1);
    assert_int_equal(s->docs, 0);
    assert_int_equal(s->skips, 1);
    assert_has(s->reason, "binary file");
    size_t len = DKS_MAX_DOC_BYTES + 1;
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, 'a', len);
    memcpy(big, "<p>", 3);
    s = read_file("stor.html", big, len);
    assert_int_equal(s->docs, 0);
    assert_int_equal(s->skips, 1);
    assert_string_equal(s->reason, "file is larger than the limit of 32 MiB for a document");
    free(big);
}

/* ---- threads ------------------------------------------------------------------------- */

static void *parse_many(void *arg)
{
    (void)arg;
    const char *html = "<html lang=da><meta charset=iso-8859-1><title>Tr\xe5" "d</title>"
                       "<nav>menu</nav><p>f\xf8rste</p><p>anden &amp; tredje</p>";
    for (int i = 0; i < 300; i++) {
        dks_html_page hp;
        if (dks_html_parse(html, strlen(html), &hp) != DKS_OK)
            return "failed";
        int ok = strcmp(text_of(&hp.title), "Tråd") == 0 &&
                 strcmp(text_of(&hp.body), "første\nanden & tredje") == 0 &&
                 strcmp(text_of(&hp.lang), "da") == 0;
        dks_html_page_free(&hp);
        if (!ok)
            return "wrong page";
    }
    return NULL;
}

static void test_pages_on_several_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, parse_many, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *res;
        assert_int_equal(pthread_join(t[i], &res), 0);
        if (res)
            fail_msg("thread %d: %s", i, (const char *)res);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_title),
        cmocka_unit_test(test_title_falls_back_to_h1_then_first_line),
        cmocka_unit_test(test_long_title_is_cut),
        cmocka_unit_test(test_scripts_styles_and_navigation_are_left_out),
        cmocka_unit_test(test_main_only),
        cmocka_unit_test(test_entities_are_decoded),
        cmocka_unit_test(test_blocks_are_lines_and_inline_text_flows),
        cmocka_unit_test(test_links_and_alt_text),
        cmocka_unit_test(test_lang_field),
        cmocka_unit_test(test_charsets),
        cmocka_unit_test(test_caller_handlers_untouched),
        cmocka_unit_test(test_malformed_markup),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_empty_and_blank_pages_are_skipped),
        cmocka_unit_test(test_binary_and_huge_files_are_skipped),
        cmocka_unit_test(test_pages_on_several_threads),
    };
    return cmocka_run_group_tests_name("html", tests, NULL, NULL);
}
