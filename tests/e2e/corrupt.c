/*
 * End-to-end test of damaged indexes: a damaged index file gives an answer
 * or an error that says what is wrong, never a crash or a hang.
 *
 * The group setup indexes the fixture corpus (tests/fixtures/corpus), then
 * CORPUS_COPIES copies of it (so that its common words have posting blocks
 * of their own and the B-trees branch pages), then the Danish fixture: three
 * runs, with replaced documents.  Each of CASES copies of that index has
 * its data.mdb damaged at a place a fixed seed picks: one byte flipped, a
 * run of bytes flipped, a 4 KiB page overwritten with random bytes or with
 * zeros, or the file cut at a page boundary or inside a page.  On each copy
 * dksearch-query runs a --batch of terms, phrases, prefixes, OR, NOT,
 * typos, fields and a word it must suggest for (with snippets, facets and
 * explanations, or as-you-type, counting every hit and sorted by id), and
 * on every other copy a text search or --stats.  Every run must end within
 * RUN_SECONDS with status 0, 1 or 2, print valid JSON where it answers in
 * JSON, and when it fails say why on standard error.  Every
 * APPEND_EVERY-th round of damage is also given to dksearch-index to add
 * to and replace in, which must work or refuse the same way, and searched
 * again.  (The sanitizer build runs this too: a run is a process, so their
 * number is what the test costs.)
 *
 * DKS_CORRUPT_SEED=N in the environment damages other places.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

#include "e2e_util.h"

#define CASES 200
#define SEED 2
/* A run still going after this long is in an endless loop. */
#define RUN_SECONDS 10
/* Copies of the fixture corpus in the index: enough for its common words
 * to outgrow the blocks the term dictionary holds itself. */
#define CORPUS_COPIES 24
#define PAGE 4096
#define APPEND_EVERY 6
#define LEAK_CHECK_EVERY 8

/* The queries of the --batch run: each kind of query the parser knows,
 * and one that finds nothing, so that a suggestion is looked for. */
static const char batch_queries[] =
    "telemedicin\n"
    "\"offentlige sektor\"\n"
    "\"i dag\"~2\n"
    "telemed*\n"
    "klima OR borgmester\n"
    "velfærd -sundhed\n"
    "(kommune OR klima) AND borgmester\n"
    "telemedecin~\n"
    "title:telemedicin\n"
    "party:Socialdemokratiet\n"
    "energiministeren velfærdsalliancer\n"
    "borgmster\n";

/* Added to the copies of every APPEND_EVERY-th round: a new document and
 * one that replaces a document of the index (its postings are deleted). */
static const char append_docs[] =
    "{\"id\": \"ny-1\", \"title\": \"Nyt om telemedicin\", \"body\": \"Kommunen udbreder "
    "telemedicin og velfærdsteknologi i den offentlige sektor.\"}\n"
    "{\"id\": \"parti-1\", \"title\": \"Tryghed\", \"body\": \"Ældreplejen får flere "
    "faste medarbejdere.\", \"party\": \"Socialdemokratiet\"}\n";

static unsigned char *g_index;   /* the undamaged data.mdb */
static size_t g_index_len;
static char g_queries[4200], g_append[4200];

/* splitmix64: the same places on every machine */
static uint64_t g_rng = SEED;
static uint64_t next_random(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t random_below(size_t n)
{
    return n ? (size_t)(next_random() % n) : 0;
}

static unsigned char random_nonzero_byte(void)
{
    return (unsigned char)(1 + next_random() % 255);
}

/* ---- group setup ------------------------------------------------------------ */

static int run_indexer(const char *input)
{
    test_run r = test_tool("dksearch-index", "--quiet", "--db", g_db, input, NULL);
    int ok = r.status == 0;
    if (!ok)
        fprintf(stderr, "indexing %s failed (exit %d): %s\n", input, r.status, r.err);
    test_run_free(&r);
    return ok ? 0 : -1;
}

/* Three runs: the fixture corpus, CORPUS_COPIES copies of it (whose .txt
 * ids are new and whose .jsonl and .tsv ids replace), the Danish
 * fixture. */
static int group_setup(void **state)
{
    (void)state;
    const char *seed = getenv("DKS_CORRUPT_SEED");
    if (seed && *seed)
        g_rng = strtoull(seed, NULL, 0);
    if (index_fixture("corpus", NULL) != 0)
        return -1;
    char copies[4300], danish[4200], data[4300];
    snprintf(copies, sizeof copies, "%s/copies", g_tmp);
    if (mkdir(copies, 0700) != 0)
        return -1;
    for (int i = 0; i < CORPUS_COPIES; i++) {
        char cmd[9000];
        snprintf(cmd, sizeof cmd, "cp -R '%s' '%s/copy%02d'", g_corpus, copies, i);
        if (system(cmd) != 0)
            return -1;
    }
    snprintf(danish, sizeof danish, "%s/tests/fixtures/danish", test_top());
    if (run_indexer(copies) != 0 || run_indexer(danish) != 0)
        return -1;
    snprintf(data, sizeof data, "%s/data.mdb", g_db);
    if (!(g_index = (unsigned char *)test_read_file(data, &g_index_len)) ||
        g_index_len < 4 * PAGE)
        return -1;
    snprintf(g_queries, sizeof g_queries, "%s/queries.txt", g_tmp);
    snprintf(g_append, sizeof g_append, "%s/append.jsonl", g_tmp);
    if (test_write_file(g_queries, batch_queries, sizeof batch_queries - 1) != 0 ||
        test_write_file(g_append, append_docs, sizeof append_docs - 1) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    free(g_index);
    return group_teardown(state);
}

/* ---- damage ----------------------------------------------------------------- */

enum damage {
    FLIP_BYTE,
    FLIP_RUN,
    RANDOM_PAGE,
    ZERO_PAGE,
    CUT_AT_PAGE,
    CUT_IN_PAGE,
    N_DAMAGES
};

static const char *const damage_names[N_DAMAGES] = {
    "byte flipped", "run of bytes flipped", "page of random bytes", "page of zeros",
    "cut at a page boundary", "cut inside a page",
};

/* Damages a copy of the index in data (g_index_len bytes); returns the
 * length to keep and describes what it did in what. */
static size_t damage(enum damage kind, unsigned char *data, char *what, size_t cap)
{
    size_t len = g_index_len, pages = len / PAGE;
    size_t at, n, page = random_below(pages);
    switch (kind) {
    case FLIP_BYTE:
        at = random_below(len);
        data[at] ^= random_nonzero_byte();
        snprintf(what, cap, "byte %zu (page %zu) flipped", at, at / PAGE);
        return len;
    case FLIP_RUN:
        n = 2 + random_below(63);
        at = random_below(len - n);
        for (size_t i = 0; i < n; i++)
            data[at + i] ^= random_nonzero_byte();
        snprintf(what, cap, "bytes %zu..%zu (page %zu) flipped", at, at + n - 1, at / PAGE);
        return len;
    case RANDOM_PAGE:
    case ZERO_PAGE:
        for (size_t i = 0; i < PAGE; i++)
            data[page * PAGE + i] = kind == ZERO_PAGE ? 0 : (unsigned char)next_random();
        snprintf(what, cap, "page %zu of %zu overwritten with %s", page, pages,
                 kind == ZERO_PAGE ? "zeros" : "random bytes");
        return len;
    case CUT_AT_PAGE:
        snprintf(what, cap, "cut after %zu of %zu pages", page, pages);
        return page * PAGE;
    default:
        at = page * PAGE + 1 + random_below(PAGE - 1);
        snprintf(what, cap, "cut at byte %zu (inside page %zu of %zu)", at, page, pages);
        return at;
    }
}

/* ---- runs and what they must give -------------------------------------------- */

enum outcome { ANSWERED, CORRUPT, OTHER_ERROR, N_OUTCOMES };

typedef struct tally {
    int cases[N_OUTCOMES];  /* by the worst outcome of a case's runs */
    int runs[N_OUTCOMES];
    int by_handler;         /* corrupt runs the programs' SIGBUS/SIGSEGV/SIGABRT handler ended */
    int failures;           /* runs that crashed, hung or said nothing */
} tally;

/* Whether each line of out is a JSON object (for --json, --batch, --stats). */
static int json_lines(const char *out)
{
    int ok = out && *out;
    for (const char *at = out; ok && *at;) {
        const char *end = strchr(at, '\n');
        if (!end)
            return 0;
        json_error_t e;
        json_t *v = json_loadb(at, (size_t)(end - at), 0, &e);
        ok = json_is_object(v);
        json_decref(v);
        at = end + 1;
    }
    return ok;
}

/* Judges one run: counts its outcome, or reports a failure and counts it. */
static enum outcome judge(tally *t, const char *case_what, const char *run_what,
                          const test_run *r, int prints_json)
{
    const char *err = r->err ? r->err : "";
    const char *problem = NULL;
    char hung[80];
    snprintf(hung, sizeof hung, "still running after %d s: an endless loop", RUN_SECONDS);
    if (r->status == 128 + SIGALRM)
        problem = hung;
    else if (r->status < 0 || r->status > 2)
        problem = "ended with a signal or an unknown status";
    else if (strstr(err, "Sanitizer") || strstr(err, "runtime error"))
        problem = "a sanitizer found an error";
    else if (r->status == 2 && strspn(err, " \t\r\n") == strlen(err))
        problem = "failed without a message";
    else if (r->status != 2 && prints_json && !json_lines(r->out))
        problem = "answered with invalid JSON";
    if (problem) {
        fprintf(stderr, "FAILED: %s, %s: exit %d: %s\n  stdout: %.300s\n  stderr: %.2000s\n",
                case_what, run_what, r->status, problem, r->out ? r->out : "", err);
        t->failures++;
        return OTHER_ERROR;
    }
    enum outcome o = r->status != 2 ? ANSWERED : strstr(err, "corrupt") ? CORRUPT : OTHER_ERROR;
    if (o == OTHER_ERROR)
        fprintf(stderr, "note: %s, %s: %s", case_what, run_what, err);
    /* the handlers' messages (query/main.c, indexer/main.c) */
    t->by_handler += o == CORRUPT && (strstr(err, "is corrupt (a read") ||
                                      strstr(err, "is corrupt (LMDB stopped"));
    t->runs[o]++;
    return o;
}

static enum outcome worse(enum outcome a, enum outcome b)
{
    /* a corruption error says the most; another error more than an answer */
    return a == CORRUPT || b == CORRUPT ? CORRUPT : a > b ? a : b;
}

/* Runs the --batch of queries on the damaged index at db (with the
 * options of ranked pages or those of typing and sorting, by turns) and,
 * if `more`, a text search or --stats (by turns); the worst outcome. */
static enum outcome run_queries(tally *t, const char *db, const char *what, int turn, int more)
{
    test_run r = turn % 2 == 0
                     ? test_tool_within(RUN_SECONDS, "dksearch-query", "--db", db, "--limit",
                                        "5", "--facet", "party", "--explain", "--batch",
                                        g_queries, NULL)
                     : test_tool_within(RUN_SECONDS, "dksearch-query", "--db", db,
                                        "--as-you-type", "--exact-total", "--sort", "id",
                                        "--no-suggestion", "--batch", g_queries, NULL);
    enum outcome o = judge(t, what, "--batch", &r, 1);
    test_run_free(&r);
    if (!more)
        return o;
    if (turn % 3 != 2) {
        r = test_tool_within(RUN_SECONDS, "dksearch-query", "--db", db, "--limit", "40",
                             "kommune OR klima OR cykl*", NULL);
        o = worse(o, judge(t, what, "text search with snippets", &r, 0));
    } else {
        r = test_tool_within(RUN_SECONDS, "dksearch-query", "--db", db, "--stats", NULL);
        o = worse(o, judge(t, what, "--stats", &r, 1));
    }
    test_run_free(&r);
    return o;
}

/* Adds to the damaged index, then reads it again. */
static enum outcome run_append(tally *t, const char *db, const char *what)
{
    test_run r = test_tool_within(RUN_SECONDS, "dksearch-index", "--quiet", "--db", db,
                                  g_append, NULL);
    enum outcome o = judge(t, what, "dksearch-index adding to it", &r, 0);
    test_run_free(&r);
    r = test_tool_within(RUN_SECONDS, "dksearch-query", "--db", db, "--json", "telemedicin",
                         NULL);
    o = worse(o, judge(t, what, "a --json search after adding", &r, 1));
    test_run_free(&r);
    return o;
}

/* The damage below is measured against an index that answers as it
 * should. */
static void test_undamaged(void **state)
{
    (void)state;
    expect_ranked(g_db, "vejafgift", IDS("parti-2"));  /* replaced by each copy */
    expect_none(g_db, "borgmster");
}

/* LeakSanitizer's check at exit takes most of the time of a sanitizer
 * build's run of a program.  What leaks on a damaged index leaks on an
 * error path that any round of damage takes, so the check runs in every
 * LEAK_CHECK_EVERY-th round only (ASAN_OPTIONS, which the programs read;
 * other builds ignore it). */
static void check_leaks(int on)
{
    static char *given, without[4200];
    static int saved;
    if (!saved) {
        const char *opts = getenv("ASAN_OPTIONS");
        given = opts ? strdup(opts) : NULL;
        snprintf(without, sizeof without, "%s%sdetect_leaks=0", given ? given : "",
                 given && *given ? ":" : "");
        saved = 1;
    }
    if (on && !given)
        unsetenv("ASAN_OPTIONS");
    else
        setenv("ASAN_OPTIONS", on ? given : without, 1);
}

static void test_damaged_copies(void **state)
{
    (void)state;
    tally t = {0};
    int by_damage[N_DAMAGES][N_OUTCOMES] = {{0}};
    unsigned char *copy = malloc(g_index_len);
    assert_non_null(copy);
    for (int i = 0; i < CASES; i++) {
        /* a round: each kind of damage once */
        int round = i / N_DAMAGES;
        enum damage kind = (enum damage)(i % N_DAMAGES);
        char dir[4096], data[4200], what[200], desc[300];
        memcpy(copy, g_index, g_index_len);
        size_t len = damage(kind, copy, what, sizeof what);
        snprintf(desc, sizeof desc, "case %d (%s)", i, what);
        test_dir("case", dir, sizeof dir);
        snprintf(data, sizeof data, "%s/data.mdb", dir);
        if (test_write_file(data, copy, len) != 0)
            fail_msg("cannot write %s", data);
        check_leaks(round % LEAK_CHECK_EVERY == 0);
        /* half the copies get a second search, each kind of damage both
         * kinds of it in turn */
        enum outcome o = run_queries(&t, dir, desc, round, (kind + round) % 2 == 0);
        if (round % APPEND_EVERY == 0)
            o = worse(o, run_append(&t, dir, desc));
        t.cases[o]++;
        by_damage[kind][o]++;
        test_rmrf(dir);
    }
    check_leaks(1);
    free(copy);
    fprintf(stderr, "%d damaged copies of a %zu-byte index: %d answered every query, %d gave "
            "a corruption error, %d another error; of %d runs, %d answered, %d said the index "
            "is corrupt (%d of them from a fault handler), %d gave another error\n", CASES,
            g_index_len, t.cases[ANSWERED], t.cases[CORRUPT], t.cases[OTHER_ERROR],
            t.runs[ANSWERED] + t.runs[CORRUPT] + t.runs[OTHER_ERROR] + t.failures,
            t.runs[ANSWERED], t.runs[CORRUPT], t.by_handler, t.runs[OTHER_ERROR]);
    for (int k = 0; k < N_DAMAGES; k++)
        fprintf(stderr, "  %-24s %3d answered, %3d corrupt, %3d other error\n",
                damage_names[k], by_damage[k][ANSWERED], by_damage[k][CORRUPT],
                by_damage[k][OTHER_ERROR]);
    if (t.failures)
        fail_msg("%d runs on damaged indexes crashed, hung or failed without a message",
                 t.failures);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_undamaged),
        cmocka_unit_test(test_damaged_copies),
    };
    return cmocka_run_group_tests(tests, group_setup, teardown);
}
