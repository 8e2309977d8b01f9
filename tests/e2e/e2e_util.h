/*
 * e2e_util.h - what the end-to-end test programs share: indexing their
 * fixture once for the group, writing input files, reading the indexer's
 * summary line, running --json queries and checking every promise of that
 * format, the hit sets and orders they must give, and id lists.
 */
#ifndef DKS_E2E_UTIL_H
#define DKS_E2E_UTIL_H

#include <jansson.h>
#include <string.h>

#include "../unit/test_util.h"

#define MAX_HITS 64
#define NO_IDS ((const char *const[]){NULL})

#define assert_contains(hay, needle)                                                   \
    do {                                                                               \
        const char *hay_ = (hay), *needle_ = (needle);                                 \
        if (!hay_ || !strstr(hay_, needle_))                                           \
            fail_msg("expected \"%s\" in %s, got: %s", needle_, #hay, hay_ ? hay_ : "(null)"); \
    } while (0)

/* Runs a tool that must refuse (exit status 2) with `says` in its message. */
#define expect_refused(says, ...)                                                      \
    do {                                                                               \
        test_run refused_ = test_tool(__VA_ARGS__, NULL);                              \
        assert_int_equal(refused_.status, 2);                                          \
        assert_contains(refused_.err, (says));                                         \
        test_run_free(&refused_);                                                      \
    } while (0)

typedef struct summary {
    unsigned long indexed, added, replaced, skipped, deleted, unchanged, docs, terms;
} summary;

/* The indexer's summary is one line; the counts are what the tests need. */
static inline int parse_summary(const char *out, summary *s)
{
    memset(s, 0, sizeof *s);
    if (!out || !*out || strchr(out, '\n') != out + strlen(out) - 1)
        return -1;
    if (sscanf(out, "indexed %lu documents (%lu new, %lu replaced, %lu skipped), %lu deleted, "
               "%lu files unchanged", &s->indexed, &s->added, &s->replaced, &s->skipped,
               &s->deleted, &s->unchanged) != 6)
        return -1;
    const char *h = strstr(out, " holds ");
    if (!h || sscanf(h, " holds %lu documents, %lu terms", &s->docs, &s->terms) != 2)
        return -1;
    return 0;
}

/* Indexes path1 (and path2 unless NULL) into db, with `input` (unless NULL)
 * as standard input for "-"; asserts a clean run and returns its summary. */
static inline summary index_ok(const char *input, const char *db, const char *path1,
                        const char *path2)
{
    test_run r = input ? test_tool_stdin(input, "dksearch-index", "--db", db, path1, path2, NULL)
                       : test_tool("dksearch-index", "--db", db, path1, path2, NULL);
    if (r.status != 0)
        fail_msg("dksearch-index %s exited %d: %s", path1, r.status, r.err);
    summary s;
    if (parse_summary(r.out, &s) != 0)
        fail_msg("unexpected indexer summary: %s", r.out);
    test_run_free(&r);
    return s;
}

typedef struct hits {
    int status;
    json_t *root;
    json_int_t total;
    size_t n;
    const char *id[MAX_HITS];
    const char *title[MAX_HITS];
    const char *snippet[MAX_HITS];
    json_t *highlights[MAX_HITS];
    double score[MAX_HITS];
} hits;

static inline void hits_free(hits *h)
{
    json_decref(h->root);
    h->root = NULL;
}

/* Checks everything the --json format promises and fills h from it;
 * `ranked`: hits must come best first (not with --sort). */
static inline void check_json_as(const char *out, const char *query, hits *h, int ranked)
{
    size_t len = out ? strlen(out) : 0;
    if (len == 0 || strchr(out, '\n') != out + len - 1)
        fail_msg("--json must print exactly one line, got: %s", out ? out : "(nothing)");
    json_error_t e;
    h->root = json_loads(out, 0, &e);
    if (!h->root)
        fail_msg("invalid JSON (%s, column %d): %s", e.text, e.column, out);
    assert_true(json_is_object(h->root));
    json_t *q = json_object_get(h->root, "query"), *total = json_object_get(h->root, "total"),
           *took = json_object_get(h->root, "took_us"), *arr = json_object_get(h->root, "hits");
    assert_true(json_is_string(q));
    assert_string_equal(json_string_value(q), query);
    assert_true(json_is_integer(total));
    assert_true(json_is_integer(took));
    assert_true(json_integer_value(took) >= 0);
    assert_true(json_is_array(arr));
    h->total = json_integer_value(total);
    h->n = json_array_size(arr);
    assert_true(h->total >= 0);
    assert_true((json_int_t)h->n <= h->total);
    assert_true(h->n <= MAX_HITS);
    for (size_t i = 0; i < h->n; i++) {
        json_t *hit = json_array_get(arr, i);
        assert_true(json_is_object(hit));
        json_t *id = json_object_get(hit, "id"), *title = json_object_get(hit, "title"),
               *score = json_object_get(hit, "score"), *snip = json_object_get(hit, "snippet"),
               *hl = json_object_get(hit, "highlights");
        assert_true(json_is_string(id) && json_string_length(id) > 0);
        assert_true(json_is_string(title));
        assert_true(json_is_number(score));
        assert_true(json_is_string(snip));
        assert_true(json_is_array(hl));
        h->id[i] = json_string_value(id);
        h->title[i] = json_string_value(title);
        h->snippet[i] = json_string_value(snip);
        h->score[i] = json_number_value(score);
        h->highlights[i] = hl;
        /* BM25 with the "+1" idf is positive for every word that
         * matched (a query of filters alone scores 0), and hits come best
         * first. */
        assert_true(h->score[i] >= 0);
        if (ranked && i > 0 && h->score[i] > h->score[i - 1])
            fail_msg("hit %zu (%s, %g) scores above hit %zu (%g)", i, h->id[i], h->score[i],
                     i - 1, h->score[i - 1]);
        size_t snip_len = json_string_length(snip), prev_end = 0;
        for (size_t j = 0; j < json_array_size(hl); j++) {
            json_t *range = json_array_get(hl, j);
            assert_true(json_is_array(range) && json_array_size(range) == 2);
            json_t *s = json_array_get(range, 0), *en = json_array_get(range, 1);
            assert_true(json_is_integer(s) && json_is_integer(en));
            json_int_t start = json_integer_value(s), end = json_integer_value(en);
            if (start < (json_int_t)prev_end || start >= end || end > (json_int_t)snip_len)
                fail_msg("bad highlight [%lld,%lld] in a %zu-byte snippet of %s",
                         (long long)start, (long long)end, snip_len, h->id[i]);
            prev_end = (size_t)end;
        }
    }
}

static inline void check_json(const char *out, const char *query, hits *h)
{
    check_json_as(out, query, h, 1);
}

static inline size_t count_ids(const char *const *ids)
{
    size_t n = 0;
    while (ids[n])
        n++;
    return n;
}

static inline void print_hits(const char *query, const hits *h)
{
    fprintf(stderr, "query '%s': total %lld\n", query, (long long)h->total);
    for (size_t i = 0; i < h->n; i++)
        fprintf(stderr, "  %zu. %s (%g)\n", i + 1, h->id[i], h->score[i]);
}

#define IDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- the group's fixture index ---------------------------------------------- */

/* Each test program indexes one fixture directory once, for all its tests. */
static char *g_tmp;           /* removed by the group teardown */
static char g_db[4200];       /* the fixture's index */
static char g_corpus[4200];   /* the fixture directory */
static char *g_index_out;     /* what indexing it printed */

/* A directory of its own for a test that writes, inside the group's
 * temporary directory: the group teardown removes it even after a failed
 * assertion skipped the rest of the test. */
static inline void test_dir(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", g_tmp, name);
    if (mkdir(out, 0700) != 0)
        fail_msg("cannot create %s", out);
}

/* Writes a file of the test's making into dir. */
static inline void put_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (test_write_file(path, data, len) != 0)
        fail_msg("cannot write %s", path);
}

static inline void put_string(const char *dir, const char *name, const char *s)
{
    put_file(dir, name, s, strlen(s));
}

/* Writes `unit` over and over, `bytes` in all (the last one cut short). */
static inline void put_repeated(FILE *f, const char *unit, size_t bytes)
{
    static char block[1 << 16];
    size_t ul = strlen(unit);
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = unit[i % ul];
    size_t period = sizeof block / ul * ul;  /* whole units, so that blocks join up */
    for (size_t left = bytes; left > 0;) {
        size_t n = left < period ? left : period;
        assert_int_equal(fwrite(block, 1, n, f), n);
        left -= n;
    }
}

/* A file of `head`, `unit` repeated to `bytes` bytes, then `tail`. */
static inline void put_big(const char *path, const char *head, const char *unit, size_t bytes,
                    const char *tail)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s", path);
    fputs(head, f);
    put_repeated(f, unit, bytes);
    fputs(tail, f);
    assert_int_equal(fclose(f), 0);
}

/* Indexes tests/fixtures/FIXTURE (with --analysis ANALYSIS unless NULL)
 * into a new temporary directory.  Only a failed run stops the group; wrong
 * counts are for the tests to report. */
static inline int index_fixture(const char *fixture, const char *analysis)
{
    snprintf(g_corpus, sizeof g_corpus, "%s/tests/fixtures/%s", test_top(), fixture);
    g_tmp = test_tmpdir();
    if (!g_tmp)
        return -1;
    snprintf(g_db, sizeof g_db, "%s/db", g_tmp);
    test_run r = analysis ? test_tool("dksearch-index", "--analysis", analysis, "--db", g_db,
                                      g_corpus, NULL)
                          : test_tool("dksearch-index", "--db", g_db, g_corpus, NULL);
    summary s;
    int ok = r.status == 0 && parse_summary(r.out, &s) == 0;
    if (!ok)
        fprintf(stderr, "indexing %s failed (exit %d):\n%s%s", g_corpus, r.status,
                r.out ? r.out : "", r.err ? r.err : "");
    g_index_out = r.out;
    r.out = NULL;
    test_run_free(&r);
    return ok ? 0 : -1;
}

static inline int group_teardown(void **state)
{
    (void)state;
    if (g_tmp)
        test_rmrf(g_tmp);
    free(g_tmp);
    free(g_index_out);
    return 0;
}

/* ---- queries and what they must find ---------------------------------------- */

/* Runs a --json query; limit and offset may be NULL. */
static inline hits search_page(const char *db, const char *query, const char *limit, const char *offset)
{
    hits h = {0};
    test_run r = test_tool("dksearch-query", "--db", db, "--json", "--limit",
                           limit ? limit : "100", "--offset", offset ? offset : "0", query, NULL);
    h.status = r.status;
    if (r.status != 0 && r.status != 1)
        fail_msg("query '%s' exited %d: %s", query, r.status, r.err);
    check_json(r.out, query, &h);
    /* grep's convention: 0 exactly when something matched. */
    assert_int_equal(h.status, h.total > 0 ? 0 : 1);
    test_run_free(&r);
    return h;
}

/* dksearch-index --check passes on db. */
static inline void expect_check_ok(const char *db)
{
    test_run r = test_tool("dksearch-index", "--db", db, "--check", NULL);
    if (r.status != 0)
        fail_msg("--check of %s exited %d: %s%s", db, r.status, r.out, r.err);
    assert_contains(r.out, "is consistent");
    test_run_free(&r);
}

/* How many documents a query matches. */
static inline json_int_t total_of(const char *db, const char *query)
{
    hits h = search_page(db, query, "1", NULL);
    json_int_t t = h.total;
    hits_free(&h);
    return t;
}

static inline int find_id(const hits *h, const char *id)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->id[i], id) == 0)
            return (int)i;
    return -1;
}

static inline int has_id(const hits *h, const char *id)
{
    return find_id(h, id) >= 0;
}

/* The query matches exactly these documents, in any order. */
static inline void expect_set(const char *db, const char *query, const char *const *ids)
{
    hits h = search_page(db, query, NULL, NULL);
    size_t n = count_ids(ids);
    int ok = h.total == (json_int_t)n && h.n == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = has_id(&h, ids[i]);
    if (!ok) {
        print_hits(query, &h);
        fail_msg("query '%s' should match exactly %zu listed documents", query, n);
    }
    hits_free(&h);
}

/* The query matches exactly these documents, in this order. */
static inline void expect_ranked(const char *db, const char *query, const char *const *ids)
{
    hits h = search_page(db, query, NULL, NULL);
    size_t n = count_ids(ids);
    int ok = h.total == (json_int_t)n && h.n == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = strcmp(h.id[i], ids[i]) == 0;
    if (!ok) {
        print_hits(query, &h);
        fail_msg("query '%s' should rank exactly %zu listed documents in order", query, n);
    }
    hits_free(&h);
}

static inline void expect_none(const char *db, const char *query)
{
    expect_set(db, query, (const char *const[]){NULL});
}

#endif
