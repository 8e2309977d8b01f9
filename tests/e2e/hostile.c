/*
 * End-to-end tests of the indexer on hostile input: invalid UTF-8 and NUL
 * bytes in every format, binary files, empty and blank files, lines and
 * files of 100 MiB, deeply nested and huge JSON, a million tiny
 * documents.  Each input is made here, at run time, in a temporary
 * directory.  Whatever the input, the run completes within bounded
 * memory; what is skipped is named on standard error and counted in the
 * summary, and the documents around it are indexed and found.
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

/* The sanitizer build runs the same programs several times slower; the
 * million-document case is scaled down there (to a tenth) to keep `make
 * asan` short, and its time bound is looser. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define MIB ((size_t)1 << 20)
/* What one indexer run may hold at its peak, whatever its input. */
#define MAX_RSS_MIB 1024
/* The limits the indexer reports (src/dks_int.h, src/input.c). */
#define DOC_LIMIT "the limit of 32 MiB"
#define LINE_LIMIT "the limit of 64 MiB"

static int group_setup(void **state)
{
    (void)state;
    g_tmp = test_tmpdir();
    return g_tmp ? 0 : -1;
}

/* ---- making inputs ------------------------------------------------------------ */

/* Bytes that look like compressed data, the same on every run. */
static void noise(unsigned char *out, size_t len, uint32_t seed, int with_nul)
{
    uint32_t x = seed;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (unsigned char)(x >> 24);
        if (!with_nul && out[i] == 0)
            out[i] = 0x9D;
    }
}

/* ---- running the indexer ------------------------------------------------------ */

/* Runs dksearch-index --db db ARGS... (NULL-terminated) with `input` on
 * standard input unless NULL; reports time and peak memory under
 * `label`, and fails when the run crashed or outgrew MAX_RSS_MIB. */
static test_run run_index(const char *label, const char *input, const char *db, ...)
{
    char path[4096], *argv[32];
    int n = 0;
    snprintf(path, sizeof path, "%s/dksearch-index", test_bin());
    argv[n++] = path;
    argv[n++] = "--db";
    argv[n++] = (char *)db;
    va_list ap;
    va_start(ap, db);
    const char *a;
    while (n < 31 && (a = va_arg(ap, const char *)))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    test_run r = test_exec(argv, input);
    fprintf(stderr, "hostile: %s: exit %d in %.2f s, peak RSS %ld MiB\n", label, r.status,
            r.seconds, r.max_rss_kib / 1024);
    if (r.status != 0 && r.status != 2)
        fail_msg("%s: the indexer exited %d: %s", label, r.status, r.err ? r.err : "");
    if (r.max_rss_kib > (long)MAX_RSS_MIB * 1024)
        fail_msg("%s: the indexer's peak RSS was %ld MiB", label, r.max_rss_kib / 1024);
    return r;
}

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay ? strstr(hay, needle) : NULL; p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The run's summary; every document it counts as skipped has its warning. */
static summary summary_of(const test_run *r)
{
    summary s;
    if (parse_summary(r->out, &s) != 0)
        fail_msg("unexpected indexer summary: %s", r->out ? r->out : "(none)");
    if (count_str(r->err, ": skipped: ") != s.skipped)
        fail_msg("%lu skipped, but %zu warnings: %s", s.skipped, count_str(r->err, ": skipped: "),
                 r->err);
    return s;
}

/* A run that read every input: exit 0, these counts. */
static void expect_counts(const test_run *r, unsigned long indexed, unsigned long skipped)
{
    if (r->status != 0)
        fail_msg("the indexer exited %d: %s", r->status, r->err);
    summary s = summary_of(r);
    if (s.indexed != indexed || s.skipped != skipped)
        fail_msg("indexed %lu and skipped %lu, expected %lu and %lu:\n%s", s.indexed, s.skipped,
                 indexed, skipped, r->err);
}

/* Standard error names `where` (a file and line) as skipped for `why`. */
static void expect_skip(const test_run *r, const char *where, const char *why)
{
    char line[9000];
    snprintf(line, sizeof line, "%s: skipped: %s", where, why);
    assert_contains(r->err, line);
}

/* The same, for a file of dir. */
static void expect_skip_in(const test_run *r, const char *dir, const char *where,
                           const char *why)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, where);
    expect_skip(r, path, why);
}

/* ---- what queries find --------------------------------------------------------- */

typedef struct finds {
    const char *query;
    const char *ids[4];  /* it matches exactly these, in any order (none: nothing) */
} finds;

/* Runs the queries in one --batch process (a process each would be most
 * of this program's time under the sanitizers) and checks each answer. */
static void expect_finds(const char *db, const finds *f, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(f[i].query) + 1;
    char *input = malloc(len), *at = input;
    assert_non_null(input);
    for (size_t i = 0; i < n; i++)
        at += sprintf(at, "%s\n", f[i].query);
    test_run r = test_tool_stdin(input, "dksearch-query", "--db", db, "--limit", "100",
                                 "--batch", "-", NULL);
    free(input);
    if (r.status != 0)
        fail_msg("dksearch-query --batch exited %d: %s", r.status, r.err);
    const char *line = r.out;
    for (size_t i = 0; i < n; i++) {
        const char *nl = line ? strchr(line, '\n') : NULL;
        if (!nl)
            fail_msg("no answer to '%s' from --batch", f[i].query);
        char *one = strndup(line, (size_t)(nl - line) + 1);
        assert_non_null(one);
        hits h = {0};
        check_json(one, f[i].query, &h);
        size_t want = count_ids(f[i].ids);
        int ok = h.total == (json_int_t)want && h.n == want;
        for (size_t k = 0; ok && k < want; k++)
            ok = has_id(&h, f[i].ids[k]);
        if (!ok) {
            print_hits(f[i].query, &h);
            fail_msg("query '%s' should match exactly %zu listed documents", f[i].query, want);
        }
        hits_free(&h);
        free(one);
        line = nl + 1;
    }
    test_run_free(&r);
}

/* ---- invalid UTF-8 and NUL bytes ---------------------------------------------- */

/* Text files with broken UTF-8 are indexed as text: invalid bytes separate
 * words, and the valid words around them are found.  A NUL byte near the
 * start says binary; one further in is a separator like any other. */
static void test_text_invalid_utf8(void **state)
{
    (void)state;
    char dir[1024], db[1100];
    test_dir("utf8", dir, sizeof dir);
    snprintf(db, sizeof db, "%s.db", dir);
    put_string(dir, "overlong.txt",
               "Overlong\nagurk\xc0\xaf" "agurk \xe0\x80\xaf\xf0\x80\x80\xaf banan\n");
    put_string(dir, "continuation.txt", "Continuation\n\x80\xbf bønne \x80" "bønne\xbf\n");
    put_string(dir, "surrogate.txt", "Surrogat\ncitron\xed\xa0\x80 \xed\xbf\xbf" "citron\n");
    put_string(dir, "truncated.txt", "Afkortet\ndild\xe6 \xe6\x97 dild \xf0\x9f\x98");
    put_string(dir, "bytes.txt", "\xff\xfe endivie \xfe\xff\n");
    /* Danish in Latin-1: æ ø å are bytes that are not UTF-8, but text. */
    char latin1[2048] = "";
    for (int i = 0; i < 30; i++)
        strcat(latin1, "Kartofler og guler\xf8" "dder gror p\xe5 marken ved \xe5" "en. ");
    put_string(dir, "latin1.txt", latin1);
    size_t late_len = 9000;
    char *late = malloc(late_len + 16);
    assert_non_null(late);
    memset(late, ' ', late_len);
    memcpy(late, "Sent nul\nhvede", 14);
    memcpy(late + late_len, "\0 rug\n", 6);  /* the NUL lies past the 8 KiB probed */
    put_file(dir, "late-nul.txt", late, late_len + 6);
    free(late);
    put_file(dir, "nul.txt", "Nul\nhavre\0byg\n", 14);

    test_run r = run_index("text with invalid UTF-8", NULL, db, dir, NULL);
    expect_counts(&r, 7, 1);
    expect_skip_in(&r, dir, "nul.txt:1", "binary file (contains NUL bytes)");
    test_run_free(&r);
    /* (every hit's snippet and title came back as valid JSON: check_json) */
    const finds found[] = {
        {"agurk", {"overlong.txt"}},
        {"banan", {"overlong.txt"}},
        {"bønne", {"continuation.txt"}},
        {"citron", {"surrogate.txt"}},
        {"dild", {"truncated.txt"}},
        {"endivie", {"bytes.txt"}},
        {"kartofler", {"latin1.txt"}},
        {"hvede", {"late-nul.txt"}},
        {"rug", {"late-nul.txt"}},
        {"havre", {NULL}},
    };
    expect_finds(db, found, sizeof found / sizeof *found);
}

/* A JSON Lines line with invalid UTF-8 or a raw NUL byte is invalid JSON
 * and skipped (as jansson would); a TSV line is text, indexed with its bad
 * bytes as separators, unless its id has a NUL byte.  The lines around
 * bad ones are indexed. */
static void test_lines_invalid_utf8(void **state)
{
    (void)state;
    char dir[1024], db[1100], jsonl[1100], tsv[1100];
    test_dir("lines", dir, sizeof dir);
    snprintf(db, sizeof db, "%s.db", dir);
    static const char j[] =
        "{\"id\":\"j1\",\"body\":\"æble først\"}\n"
        "{\"id\":\"j2\",\"body\":\"overlong \xc0\xaf\"}\n"
        "{\"id\":\"j3\",\"body\":\"lone \x80 continuation\"}\n"
        "{\"id\":\"j4\",\"body\":\"surrogate \xed\xa0\x80\"}\n"
        "{\"id\":\"j5\",\"body\":\"truncated \xe6\x97\"}\n"
        "{\"id\":\"j6\",\"body\":\"raw nul \0 byte\"}\n"
        "{\"id\":\"j7\",\"body\":\"escaped nul \\u0000 pære\"}\n"
        "{\"id\":\"j8\",\"body\":\"lone surrogate escape \\ud800\"}\n"
        "{\"id\":\"j9\xff\",\"body\":\"bad id\"}\n"
        "{\"k\xc0\xaf\":\"x\",\"id\":\"j10\",\"body\":\"bad key\"}\n"
        "{\"id\":\"j11\",\"body\":\"blomme sidst\"}\n"
        "{\"id\":\"j12\",\"body\":\"halv \xe6";  /* and no newline */
    put_file(dir, "lines.jsonl", j, sizeof j - 1);
    static const char t[] = "t1\tkirsebær først\n"
                            "t2\toverlong \xc0\xaf mirabel\n"
                            "t3\tnul \0nektarin\n"
                            "t\0x\tnul i id\n"
                            "t5\xff\tugyldigt id oliven\n"
                            "   \n"
                            "t7\tpeberrod sidst\n";
    put_file(dir, "lines.tsv", t, sizeof t - 1);
    snprintf(jsonl, sizeof jsonl, "%s/lines.jsonl", dir);
    snprintf(tsv, sizeof tsv, "%s/lines.tsv", dir);

    test_run r = run_index("lines with invalid UTF-8", NULL, db, jsonl, tsv, NULL);
    expect_counts(&r, 3 + 5, 9 + 1);
    static const int bad[] = {2, 3, 4, 5, 6, 8, 9, 10, 12};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char where[1200];
        snprintf(where, sizeof where, "%s:%d", jsonl, bad[i]);
        expect_skip(&r, where, "invalid JSON");
    }
    char where[1200];
    snprintf(where, sizeof where, "%s:4", tsv);
    expect_skip(&r, where, "document id contains a NUL byte");
    test_run_free(&r);
    const finds found[] = {
        {"æble", {"j1"}},
        {"pære", {"j7"}},
        {"blomme", {"j11"}},
        {"først", {"j1", "t1"}},
        {"continuation", {NULL}},
        {"mirabel", {"t2"}},
        {"nektarin", {"t3"}},
        /* an id's invalid byte is shown as U+FFFD */
        {"oliven", {"t5\xef\xbf\xbd"}},
        {"sidst", {"j11", "t7"}},
    };
    expect_finds(db, found, sizeof found / sizeof *found);
}

/* ---- binary files ------------------------------------------------------------- */

/* Images, PDFs, compressed files and programs are skipped as binary, on
 * the command line (where an unknown extension is read as text) and as
 * .txt files in a directory; none of their bytes become terms. */
static void test_binary_files(void **state)
{
    (void)state;
    char dir[1024], direct[1100], tree[1100], db[1100], alone[1100];
    test_dir("binary", dir, sizeof dir);
    snprintf(direct, sizeof direct, "%s/direct", dir);
    snprintf(tree, sizeof tree, "%s/tree", dir);
    snprintf(db, sizeof db, "%s/db", dir);
    snprintf(alone, sizeof alone, "%s/alone.db", dir);
    assert_int_equal(mkdir(direct, 0700), 0);
    assert_int_equal(mkdir(tree, 0700), 0);

    static unsigned char png[2048], pdf[8192], gz[3000];
    static const char png_head[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0@\0\0\0@\b\x02\0\0\0";
    memcpy(png, png_head, sizeof png_head - 1);
    noise(png + sizeof png_head - 1, sizeof png - (sizeof png_head - 1), 1, 1);
    /* A PDF whose stream happens to have no NUL byte in the part probed:
     * told by its share of control bytes and bytes that are not UTF-8. */
    static const char pdf_head[] = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
                                   "<< /Length 8000 /Filter /FlateDecode >>\nstream\n";
    memcpy(pdf, pdf_head, sizeof pdf_head - 1);
    noise(pdf + sizeof pdf_head - 1, sizeof pdf - (sizeof pdf_head - 1), 2, 0);
    memcpy(gz, "\x1f\x8b\x08\0\0\0\0\0\0\x03", 10);
    noise(gz + 10, sizeof gz - 10, 3, 1);
    size_t elf_len = 0;
    char *elf = test_read_file("/bin/true", &elf_len);
    assert_non_null(elf);
    static const char *const names[] = {"billede.png", "dokument.pdf", "arkiv.gz", "true"};
    const void *data[] = {png, pdf, gz, elf};
    const size_t len[] = {sizeof png, sizeof pdf, sizeof gz, elf_len};
    char paths[4][1200];
    for (int i = 0; i < 4; i++) {
        char txt[64];
        put_file(direct, names[i], data[i], len[i]);
        snprintf(txt, sizeof txt, "%s.txt", names[i]);
        put_file(tree, txt, data[i], len[i]);
        snprintf(paths[i], sizeof paths[i], "%s/%s", direct, names[i]);
    }
    free(elf);
    put_string(tree, "tekst.txt", "En tekst\nSolsikker i haven.\n");

    test_run r = run_index("binary files", NULL, db, paths[0], paths[1], paths[2], paths[3],
                           tree, NULL);
    expect_counts(&r, 1, 8);
    for (int i = 0; i < 4; i++) {
        char where[1300];
        snprintf(where, sizeof where, "%s/%s:1", direct, names[i]);
        expect_skip(&r, where, "binary file");
        snprintf(where, sizeof where, "%s.txt:1", names[i]);
        expect_skip_in(&r, tree, where, "binary file");
    }
    char pdf_where[1300];
    snprintf(pdf_where, sizeof pdf_where, "%s/%s:1", direct, names[1]);
    expect_skip(&r, pdf_where, "binary file (mostly control characters");
    summary s = summary_of(&r);
    test_run_free(&r);
    expect_set(db, "solsikker", IDS("tekst.txt"));
    /* The terms are the text file's alone. */
    char text[1200];
    snprintf(text, sizeof text, "%s/tekst.txt", tree);
    r = run_index("the text file alone", NULL, alone, text, NULL);
    expect_counts(&r, 1, 0);
    assert_int_equal(summary_of(&r).terms, s.terms);
    test_run_free(&r);
}

/* ---- empty and unreadable files ----------------------------------------------- */

/* Files without text are skipped with a warning; blank lines in JSON
 * Lines and TSV are no records. */
static void test_empty_and_blank(void **state)
{
    (void)state;
    char dir[1024], db[1100];
    test_dir("blank", dir, sizeof dir);
    snprintf(db, sizeof db, "%s.db", dir);
    put_string(dir, "empty.txt", "");
    put_string(dir, "blank.txt", " \n\t\r\n  \f\n");
    put_string(dir, "bom.txt", "\xef\xbb\xbf\n  \n");
    put_string(dir, "empty.jsonl", "");
    put_string(dir, "blank.jsonl", "\n  \n\t\r\n");
    put_string(dir, "blank.tsv", "\n  \n\t\n \t \n");
    put_string(dir, "tekst.txt", "Titel\nNoget tekst.\n");
    test_run r = run_index("empty and blank files", NULL, db, dir, NULL);
    expect_counts(&r, 1, 4);
    expect_skip_in(&r, dir, "empty.txt:1", "empty file");
    expect_skip_in(&r, dir, "empty.jsonl:1", "empty file");
    expect_skip_in(&r, dir, "blank.txt:1", "no text (only white space)");
    expect_skip_in(&r, dir, "bom.txt:1", "no text (only white space)");
    test_run_free(&r);
    expect_set(db, "tekst", IDS("tekst.txt"));
}

/* A file or directory that cannot be read makes the exit status 2; the
 * rest is indexed.  (Root reads everything, so this needs another user.) */
static void test_unreadable(void **state)
{
    (void)state;
    if (geteuid() == 0) {
        fprintf(stderr, "hostile: running as root, who can read any file: not tested\n");
        skip();
    }
    char dir[1024], db[1100], secret[1100], locked[1100];
    test_dir("unreadable", dir, sizeof dir);
    snprintf(db, sizeof db, "%s.db", dir);
    snprintf(secret, sizeof secret, "%s/hemmelig.txt", dir);
    snprintf(locked, sizeof locked, "%s/laast", dir);
    put_string(dir, "aaben.txt", "Åben\nEn tekst alle kan læse.\n");
    put_string(dir, "hemmelig.txt", "Hemmelig\nHemmeligheder.\n");
    assert_int_equal(mkdir(locked, 0700), 0);
    put_string(locked, "inde.txt", "Inde\nIndelukket.\n");
    assert_int_equal(chmod(secret, 0), 0);
    assert_int_equal(chmod(locked, 0), 0);
    test_run r = run_index("unreadable files", NULL, db, dir, NULL);
    chmod(locked, 0700);  /* so that the teardown can remove it */
    assert_int_equal(r.status, 2);
    assert_contains(r.err, secret);
    assert_contains(r.err, locked);
    assert_contains(r.err, "Permission denied");
    summary s = summary_of(&r);
    assert_int_equal(s.indexed, 1);
    test_run_free(&r);
    expect_set(db, "læse", IDS("aaben.txt"));
}

/* ---- over-long input ------------------------------------------------------------- */

/* Indexes `path` (with `input` for "-"), which holds one record too large
 * at `line`: it is skipped for `why`, the `kept` others are indexed.  The
 * file is removed after, not to fill the disk. */
static void expect_one_skipped(const char *label, const char *input, const char *db,
                               const char *path, unsigned long kept, int line, const char *why)
{
    test_run r = run_index(label, input, db, path, NULL);
    expect_counts(&r, kept, 1);
    char where[1200];
    snprintf(where, sizeof where, "%s:%d", path, line);
    expect_skip(&r, where, why);
    test_run_free(&r);
    if (!input)
        unlink(path);
}

/* 100 MiB in one line of JSON Lines or TSV, from a file or standard input,
 * or in one text file without a newline or as one token: each is skipped
 * with a warning naming the limit, the lines around it are indexed, and
 * memory stays bounded.  Below the limits, an 8 MiB document and an 8 MiB
 * token are indexed (the token not as a term). */
static void test_huge_lines(void **state)
{
    (void)state;
    char dir[1024], db[1100], path[1100];
    test_dir("huge", dir, sizeof dir);
    snprintf(db, sizeof db, "%s/db", dir);
    const size_t huge = 100 * MIB;
    static const char too_long[] = "line is longer than " LINE_LIMIT " for a line",
                      too_large[] = "file is larger than " DOC_LIMIT " for a document";

    snprintf(path, sizeof path, "%s/stor.jsonl", dir);
    put_big(path, "{\"id\":\"jf\",\"body\":\"jsonforan\"}\n{\"id\":\"stor\",\"body\":\"", "ord ",
            huge, "\"}\n{\"id\":\"jb\",\"body\":\"jsonbagved\"}\n");
    expect_one_skipped("JSON Lines, a 100 MiB line", NULL, db, path, 2, 2, too_long);

    snprintf(path, sizeof path, "%s/stor.tsv", dir);
    put_big(path, "tf\ttsvforan\nstor-tsv\t", "ord ", huge, "\ntb\ttsvbagved\n");
    expect_one_skipped("TSV, a 100 MiB line", NULL, db, path, 2, 2, too_long);

    snprintf(path, sizeof path, "%s/ord.txt", dir);
    put_big(path, "Titel ", "ord ", huge, "");
    expect_one_skipped("text, 100 MiB without a newline", NULL, db, path, 0, 1, too_large);

    snprintf(path, sizeof path, "%s/token.txt", dir);
    put_big(path, "Titel\n", "a", huge, "");
    expect_one_skipped("text, a 100 MiB token", NULL, db, path, 0, 1, too_large);

    /* standard input is read a line at a time, however long the line */
    static const char head[] = "{\"id\":\"sf\",\"body\":\"stdinforan\"}\n{\"id\":\"x\",\"body\":\"";
    static const char tail[] = "\"}\n{\"id\":\"sb\",\"body\":\"stdinbagved\"}\n";
    char *input = malloc(sizeof head + huge + sizeof tail);
    assert_non_null(input);
    memcpy(input, head, sizeof head - 1);
    memset(input + sizeof head - 1, 'o', huge);
    memcpy(input + sizeof head - 1 + huge, tail, sizeof tail);
    expect_one_skipped("standard input, a 100 MiB line", input, db, "-", 2, 2, too_long);
    free(input);

    snprintf(path, sizeof path, "%s/mellem.jsonl", dir);
    put_big(path, "{\"id\":\"mellem\",\"body\":\"", "ord ", 8 * MIB, "slutord\"}\n");
    test_run r = run_index("JSON Lines, an 8 MiB document", NULL, db, path, NULL);
    expect_counts(&r, 1, 0);
    test_run_free(&r);

    snprintf(path, sizeof path, "%s/langt-ord.txt", dir);
    put_big(path, "Et langt token\ntokenforan ", "b", 8 * MIB, " tokenbagved\n");
    r = run_index("text, an 8 MiB token", NULL, db, path, NULL);
    expect_counts(&r, 1, 0);
    summary s = summary_of(&r);
    test_run_free(&r);

    const finds found[] = {
        {"jsonforan", {"jf"}},
        {"jsonbagved", {"jb"}},
        {"tsvforan", {"tf"}},
        {"tsvbagved", {"tb"}},
        {"stdinforan", {"sf"}},
        {"stdinbagved", {"sb"}},
        {"slutord", {"mellem"}},
        /* (a text file named on the command line has its path for id) */
        {"tokenforan", {path}},
        {"tokenbagved", {path}},
        /* the skipped documents left nothing behind */
        {"ord", {"mellem"}},
    };
    expect_finds(db, found, sizeof found / sizeof *found);
    assert_int_equal(s.docs, 8);
}

/* ---- hostile JSON ---------------------------------------------------------------- */

/* Deep nesting, a 50 MiB field, many members, huge numbers, duplicate
 * keys and a 10 MiB id: each line is skipped with a warning that says
 * why, or indexed, and the run goes on with the next line. */
static void test_hostile_json(void **state)
{
    (void)state;
    char dir[1024], db[1100], path[1100];
    test_dir("json", dir, sizeof dir);
    snprintf(db, sizeof db, "%s.db", dir);
    snprintf(path, sizeof path, "%s/fjendtlig.jsonl", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{\"id\":\"a1\",\"body\":\"appelsin\"}\n", f);                    /* 1 */
    put_repeated(f, "[", 100000);                                            /* 2 */
    fputs("\n{\"id\":\"deep\",\"body\":\"dyb\",\"x\":", f);                 /* 3 */
    put_repeated(f, "[", 100000);
    put_repeated(f, "]", 100000);
    fputs("}\n{\"id\":\"ok-deep\",\"body\":\"banan\",\"x\":", f);           /* 4 */
    put_repeated(f, "[", 2000);
    put_repeated(f, "]", 2000);
    fputs("}\n{\"id\":\"f50\",\"body\":\"citron\",\"note\":\"", f);         /* 5 */
    put_repeated(f, "x", 50 * MIB);
    fputs("\"}\n{\"id\":\"many\",\"body\":\"dadel\"", f);                   /* 6 */
    for (int i = 0; i < 100000; i++)
        fprintf(f, ",\"f%d\":\"v\"", i);
    fputs("}\n{\"id\":\"fields\",\"body\":\"figen\"", f);                   /* 7 */
    for (int i = 0; i < 4000; i++)
        fprintf(f, ",\"f%d\":\"v%d\"", i, i);
    fputs("}\n{\"id\":\"int\",\"body\":\"grape\",\"n\":", f);               /* 8 */
    put_repeated(f, "9", 1000);
    fputs("}\n{\"id\":\"real\",\"body\":\"hyld\",\"n\":1e999999}\n", f);    /* 9 */
    fputs("{\"id\":\"small\",\"body\":\"ingefær\",\"n\":1e-999999}\n", f);  /* 10 */
    fputs("{\"id\":\"dup\",\"body\":\"jordbær\",\"body\":\"kiwi\",\"id\":\"dup2\"}\n", f); /* 11 */
    fputs("{\"id\":\"", f);                                                  /* 12 */
    put_repeated(f, "i", 10 * MIB);
    fputs("\",\"body\":\"lime\"}\n", f);
    fputs("{\"id\":\"a3\",\"body\":\"nektarin\"}\n", f);                    /* 13 */
    assert_int_equal(fclose(f), 0);

    test_run r = run_index("hostile JSON", NULL, db, path, NULL);
    expect_counts(&r, 6, 7);
    static const struct {
        int line;
        const char *why;
    } skips[] = {
        {2, "invalid JSON: nested more than 2048 levels deep"},
        {3, "invalid JSON: nested more than 2048 levels deep"},
        {5, "document is larger than " DOC_LIMIT},
        {6, "invalid JSON: more than 4096 members"},
        {8, "invalid JSON: integer too large"},
        {9, "invalid JSON: real number overflow"},
        {12, "document id is longer than 500 bytes"},
    };
    for (size_t i = 0; i < sizeof skips / sizeof *skips; i++) {
        char where[1200];
        snprintf(where, sizeof where, "%s:%d", path, skips[i].line);
        expect_skip(&r, where, skips[i].why);
    }
    test_run_free(&r);
    const finds found[] = {
        {"appelsin", {"a1"}},
        {"banan", {"ok-deep"}},
        {"figen", {"fields"}},
        {"ingefær", {"small"}},
        /* A repeated key takes its last value, as in jansson. */
        {"kiwi", {"dup2"}},
        {"jordbær", {NULL}},
        {"nektarin", {"a3"}},
        /* nothing of the skipped lines */
        {"dyb OR citron OR dadel OR grape OR hyld OR lime", {NULL}},
    };
    expect_finds(db, found, sizeof found / sizeof *found);
}

/* ---- a million documents ------------------------------------------------------- */

#define MANY_DOCS (UNDER_ASAN ? 100000u : 1000000u)
/* Generous: a regression that is quadratic in the documents takes hours. */
#define MANY_SECONDS (UNDER_ASAN ? 300.0 : 120.0)

/* The body of document i of n: "ord", with a word of its own for the
 * first, the middle and the last. */
static const char *many_body(unsigned i, unsigned n)
{
    return i == 1 ? "ord alfa" : i == n / 2 ? "ord midte" : i == n ? "ord omega" : "ord";
}

/* All n documents have "ord"; the first, middle and last their words. */
static void expect_all(const char *db, const char *prefix, unsigned n)
{
    char first[32], middle[32], last[32];
    test_run q = test_tool("dksearch-query", "--db", db, "--json", "--exact-total", "--limit",
                           "1", "--no-snippets", "ord", NULL);
    hits h = {0};
    check_json(q.out, "ord", &h);
    assert_int_equal(h.total, n);
    hits_free(&h);
    test_run_free(&q);
    snprintf(first, sizeof first, "%s1", prefix);
    snprintf(middle, sizeof middle, "%s%u", prefix, n / 2);
    snprintf(last, sizeof last, "%s%u", prefix, n);
    const finds found[] = {{"alfa", {first}}, {"midte", {middle}}, {"omega", {last}}};
    expect_finds(db, found, sizeof found / sizeof *found);
}

static void test_million_documents(void **state)
{
    (void)state;
    char dir[1024], db[1100], path[1100], label[64];
    test_dir("many", dir, sizeof dir);
    const unsigned n = MANY_DOCS;
    for (int tsv = 0; tsv < 2; tsv++) {
        snprintf(path, sizeof path, "%s/mange.%s", dir, tsv ? "tsv" : "jsonl");
        snprintf(db, sizeof db, "%s/%s.db", dir, tsv ? "tsv" : "jsonl");
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        for (unsigned i = 1; i <= n; i++) {
            if (tsv)
                fprintf(f, "t%u\t%s\n", i, many_body(i, n));
            else
                fprintf(f, "{\"id\":\"d%u\",\"body\":\"%s\"}\n", i, many_body(i, n));
        }
        assert_int_equal(fclose(f), 0);
        snprintf(label, sizeof label, "%u tiny documents, %s", n, tsv ? "TSV" : "JSON Lines");
        test_run r = run_index(label, NULL, db, path, NULL);
        expect_counts(&r, n, 0);
        summary s = summary_of(&r);
        assert_int_equal(s.added, n);
        assert_int_equal(s.docs, n);
        if (r.seconds > MANY_SECONDS)
            fail_msg("%s took %.1f s", label, r.seconds);
        test_run_free(&r);
        expect_all(db, tsv ? "t" : "d", n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_invalid_utf8),
        cmocka_unit_test(test_lines_invalid_utf8),
        cmocka_unit_test(test_binary_files),
        cmocka_unit_test(test_empty_and_blank),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_huge_lines),
        cmocka_unit_test(test_hostile_json),
        cmocka_unit_test(test_million_documents),
    };
    return cmocka_run_group_tests_name("hostile", tests, group_setup, group_teardown);
}
