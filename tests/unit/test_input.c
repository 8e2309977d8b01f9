/*
 * The input readers: formats by file name, titles of text files, JSON
 * Lines with fields and bad lines, TSV with and without a header, binary
 * and blank input.  (HTML pages: test_html.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dks_int.h"

typedef struct seen {
    int docs, skips;
    char id[8][64], title[8][128], body[8][256], fields[8][128];
    long line[8], skip_line[8];
    char reason[8][200];
} seen;

static int on_doc(const dks_document *d, long line, void *ctx)
{
    seen *s = ctx;
    int i = s->docs++;
    if (i >= 8)
        return 0;
    snprintf(s->id[i], sizeof s->id[i], "%.*s", (int)d->id_len, d->id);
    snprintf(s->title[i], sizeof s->title[i], "%.*s", (int)d->title_len,
             d->title ? d->title : "");
    snprintf(s->body[i], sizeof s->body[i], "%.*s", (int)d->body_len, d->body ? d->body : "");
    size_t at = 0;
    for (size_t f = 0; f < d->n_fields && at < sizeof s->fields[i]; f++)
        at += (size_t)snprintf(s->fields[i] + at, sizeof s->fields[i] - at, "%.*s=%.*s;",
                               (int)d->fields[f].name_len, d->fields[f].name,
                               (int)d->fields[f].value_len, d->fields[f].value);
    s->line[i] = line;
    return 0;
}

static void on_skip(long line, const char *reason, void *ctx)
{
    seen *s = ctx;
    int i = s->skips++;
    if (i < 8) {
        s->skip_line[i] = line;
        snprintf(s->reason[i], sizeof s->reason[i], "%s", reason);
    }
}

static seen *parse(dks_format f, const char *name, const char *data, size_t len)
{
    static seen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(dks_parse_documents(f, name, strlen(name), data, len, on_doc, on_skip, &s,
                                         NULL), DKS_OK);
    return &s;
}

static void test_formats_by_name(void **state)
{
    (void)state;
    dks_format f;
    assert_int_equal(dks_format_from_name("a/b.txt", &f), DKS_OK);
    assert_int_equal(f, DKS_FORMAT_TEXT);
    assert_int_equal(dks_format_from_name("DATA.JSONL", &f), DKS_OK);
    assert_int_equal(f, DKS_FORMAT_JSONL);
    assert_int_equal(dks_format_from_name("taler.tsv", &f), DKS_OK);
    assert_int_equal(f, DKS_FORMAT_TSV);
    static const char *const pages[] = {"hjaelp/side.html", "GAMMEL.HTM", "a.Html", NULL};
    for (size_t i = 0; pages[i]; i++) {
        f = DKS_FORMAT_TEXT;
        assert_int_equal(dks_format_from_name(pages[i], &f), DKS_OK);
        assert_int_equal(f, DKS_FORMAT_HTML);
    }
    assert_int_equal(dks_format_from_name("side.html.gz", &f), DKS_EINVAL);
    assert_int_equal(dks_format_from_name("billede.png", &f), DKS_EINVAL);
    assert_int_equal(dks_format_from_name("mappe.txt/README", &f), DKS_EINVAL);
}

static void test_text_title_is_first_nonempty_line(void **state)
{
    (void)state;
    const char *t = "\xEF\xBB\xBF\n\n  Endnu bedre samspil  \r\nFørste afsnit.\n\nAndet.\n";
    seen *s = parse(DKS_FORMAT_TEXT, "seeds/a.txt", t, strlen(t));
    assert_int_equal(s->docs, 1);
    assert_string_equal(s->id[0], "seeds/a.txt");
    assert_string_equal(s->title[0], "Endnu bedre samspil");
    assert_string_equal(s->body[0], "\nFørste afsnit.\n\nAndet.\n");
    /* One line only: title, empty body. */
    s = parse(DKS_FORMAT_TEXT, "x", "Kun en linje", 12);
    assert_string_equal(s->title[0], "Kun en linje");
    assert_string_equal(s->body[0], "");
}

static void test_binary_text_is_skipped(void **state)
{
    (void)state;
    const char bin[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    seen *s = parse(DKS_FORMAT_TEXT, "billede.txt", bin, sizeof bin - 1);
    assert_int_equal(s->docs, 0);
    assert_int_equal(s->skips, 1);
    assert_non_null(strstr(s->reason[0], "binary"));
}

/* Without a NUL byte, binary data is told by its share of control
 * characters and bytes that are not UTF-8; Danish in Latin-1 stays text. */
static void test_binary_by_share(void **state)
{
    (void)state;
    static char noise[1024], latin1[1024];
    uint32_t x = 7;
    for (size_t i = 0; i < sizeof noise; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (char)((x >> 16) | 1);  /* never 0 */
    }
    seen *s = parse(DKS_FORMAT_TEXT, "data.txt", noise, sizeof noise);
    assert_int_equal(s->docs, 0);
    assert_int_equal(s->skips, 1);
    assert_non_null(strstr(s->reason[0], "binary file (mostly control characters"));
    while (strlen(latin1) + 40 < sizeof latin1)
        strcat(latin1, "P\xe5 \xf8" "en gror gr\xf8nne \xe6" "bler. ");
    s = parse(DKS_FORMAT_TEXT, "latin1.txt", latin1, strlen(latin1));
    assert_int_equal(s->docs, 1);
    assert_int_equal(s->skips, 0);
    /* A few bytes say too little to call them binary. */
    s = parse(DKS_FORMAT_TEXT, "kort.txt", noise, 40);
    assert_int_equal(s->docs, 1);
}

static void test_blank_text_is_skipped(void **state)
{
    (void)state;
    static const char *const blank[] = {" \n\t\r\n \f\v", "\xef\xbb\xbf", "\xef\xbb\xbf \n", NULL};
    for (size_t i = 0; blank[i]; i++) {
        seen *s = parse(DKS_FORMAT_TEXT, "tom.txt", blank[i], strlen(blank[i]));
        assert_int_equal(s->docs, 0);
        assert_int_equal(s->skips, 1);
        assert_string_equal(s->reason[0], "no text (only white space)");
    }
}

static void test_very_long_first_line(void **state)
{
    (void)state;
    static char text[5000];
    for (size_t i = 0; i + 3 < sizeof text; i += 3)
        memcpy(text + i, "æ ", 3);  /* two-byte letters: the cut must not split one */
    seen *s = parse(DKS_FORMAT_TEXT, "lang.txt", text, strlen(text));
    assert_int_equal(s->docs, 1);
    assert_true(strlen(s->title[0]) < 128);
    /* The whole line stays searchable as body. */
    assert_int_equal(strncmp(s->body[0], "æ æ", 5), 0);
}

static void test_jsonl_documents_fields_and_bad_lines(void **state)
{
    (void)state;
    const char *j =
        "{\"id\":\"a\",\"title\":\"Første\",\"body\":\"Tekst om velfærd\",\"party\":\"S\","
        "\"date\":\"2022-01-05\",\"n\":5}\n"
        "\n"
        "{\"id\": 17, \"text\": \"Tal-id og text i stedet for body\"}\r\n"
        "{\"id\": \"b\", \"body\": \"afbrudt\"\n"
        "[1,2,3]\n"
        "{\"title\": \"uden id\"}\n"
        "{\"id\":\"c\",\"body\":\"nul\\u0000byte og \\u00e6\"}";
    seen *s = parse(DKS_FORMAT_JSONL, "-", j, strlen(j));
    assert_int_equal(s->docs, 3);
    assert_string_equal(s->id[0], "a");
    assert_string_equal(s->title[0], "Første");
    assert_string_equal(s->body[0], "Tekst om velfærd");
    assert_string_equal(s->fields[0], "party=S;date=2022-01-05;");
    assert_int_equal(s->line[0], 1);
    assert_string_equal(s->id[1], "17");
    assert_string_equal(s->body[1], "Tal-id og text i stedet for body");
    assert_int_equal(s->line[1], 3);
    assert_string_equal(s->id[2], "c");
    assert_int_equal(s->line[2], 7);
    assert_int_equal(s->skips, 3);
    assert_int_equal(s->skip_line[0], 4);
    assert_non_null(strstr(s->reason[0], "invalid JSON"));
    assert_int_equal(s->skip_line[1], 5);
    assert_non_null(strstr(s->reason[1], "not a JSON object"));
    assert_int_equal(s->skip_line[2], 6);
    assert_non_null(strstr(s->reason[2], "id"));
}

static void test_tsv(void **state)
{
    (void)state;
    const char *t = "id\ttext\n"
                    "tale-1\tFormand, jeg vil tale om velfærd.\r\n"
                    "uden tab\n"
                    "\tingen id\n"
                    "tale-2\tTekst\tmed\ttabulatorer\n"
                    " \t \n"  /* blank lines are no records */
                    "\n";
    seen *s = parse(DKS_FORMAT_TSV, "taler.tsv", t, strlen(t));
    assert_int_equal(s->docs, 2);
    assert_string_equal(s->id[0], "tale-1");
    assert_string_equal(s->body[0], "Formand, jeg vil tale om velfærd.");
    assert_int_equal(s->line[0], 2);
    assert_string_equal(s->body[1], "Tekst\tmed\ttabulatorer");
    assert_int_equal(s->skips, 2);
    assert_int_equal(s->skip_line[0], 3);
    assert_int_equal(s->skip_line[1], 4);
}

static int stop_after_one(const dks_document *d, long line, void *ctx)
{
    (void)d;
    (void)line;
    ++*(int *)ctx;
    return 42;
}

static void test_callback_can_stop(void **state)
{
    (void)state;
    const char *t = "a\tx\nb\ty\n";
    int calls = 0;
    assert_int_equal(dks_parse_documents(DKS_FORMAT_TSV, "t", 1, t, strlen(t), stop_after_one,
                                         NULL, &calls, NULL), 42);
    assert_int_equal(calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_by_name),
        cmocka_unit_test(test_text_title_is_first_nonempty_line),
        cmocka_unit_test(test_binary_text_is_skipped),
        cmocka_unit_test(test_binary_by_share),
        cmocka_unit_test(test_blank_text_is_skipped),
        cmocka_unit_test(test_very_long_first_line),
        cmocka_unit_test(test_jsonl_documents_fields_and_bad_lines),
        cmocka_unit_test(test_tsv),
        cmocka_unit_test(test_callback_can_stop),
    };
    return cmocka_run_group_tests_name("input", tests, NULL, NULL);
}
