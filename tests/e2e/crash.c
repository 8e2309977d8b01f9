/*
 * crash.c - end-to-end tests of an index that outlives its indexer: the
 * indexer killed at random moments of a long run, and a disk that fills
 * up.  After each, the index must open, pass --check, answer as of its last
 * commit, and a new run must finish the job.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

/* The sanitizer build is several times slower: fewer kills there. */
#if defined(__SANITIZE_ADDRESS__)
#define KILLS 6
#else
#define KILLS 20
#endif
/* Some 5 MiB: batches of 2,000 documents, then merges and a
 * compaction, in about half a second. */
#define CORPUS_DOCS 12000

static char g_input[4400];   /* the corpus, JSON Lines */
static char g_changed[4400]; /* the same with every document changed */

static const char *const sentences[] = {
    "Kommunen vil bygge flere cykelstier langs havnen og ved skolerne.",
    "Regionen satser på telemedicin, så patienterne kan blive behandlet hjemme.",
    "Velfærdsalliancen samler kommuner, regioner og frivillige foreninger.",
    "Klimaplanen skal halvere udledningen af drivhusgasser inden 2030.",
    "Borgmesteren lover bedre busforbindelser til landsbyerne.",
    "Sygehuset får en ny afdeling for børn og unge med psykiske lidelser.",
    "Den offentlige sektor mangler sygeplejersker, lærere og pædagoger.",
    "Byrådet diskuterer, om biblioteket skal have længere åbningstider.",
};

/* A document a line: its number as a word of its own (nrN), a word all of
 * them share, and sentences that vary with the round. */
static void write_corpus(const char *path, int round)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < CORPUS_DOCS; i++) {
        fprintf(f, "{\"id\": \"doc%d\", \"title\": \"Dokument %d\", \"body\": \"nr%d fællesord "
                "runde%d.", i, i, i, round);
        for (int k = 0; k < 6; k++)
            fprintf(f, " %s", sentences[(i * 7 + k * 3 + round) % 8]);
        fprintf(f, "\"}\n");
    }
    fclose(f);
}

/* An exact count of what a query matches (-1 if there is no index). */
static long exact_total(const char *db, const char *query)
{
    test_run r = test_tool("dksearch-query", "--db", db, "--json", "--exact-total",
                           "--no-snippets", "--limit", "1", query, NULL);
    long total = -1;
    if (r.status == 0 || r.status == 1) {
        hits h = {0};
        check_json(r.out, query, &h);
        total = (long)h.total;
        hits_free(&h);
    } else if (!strstr(r.err ? r.err : "", "no index")) {
        fail_msg("query '%s' on %s exited %d: %s", query, db, r.status, r.err);
    }
    test_run_free(&r);
    return total;
}

static long stats_documents(const char *db)
{
    test_run r = test_tool("dksearch-query", "--db", db, "--stats", NULL);
    long n = -1;
    const char *d = r.status == 0 && r.out ? strstr(r.out, "\"documents\":") : NULL;
    if (d)
        n = strtol(d + 12, NULL, 10);
    test_run_free(&r);
    return n;
}

/* The index as a kill or an error left it: it opens and passes the check
 * (or was never created), counts agree with what the queries find, and
 * the documents of a bulk load are those of its first commits: a prefix
 * of the input. */
static long expect_consistent(const char *db, int bulk)
{
    char data[4400];
    snprintf(data, sizeof data, "%s/data.mdb", db);
    if (access(data, F_OK) != 0)
        return 0;  /* killed before the index existed */
    test_run r = test_tool("dksearch-index", "--db", db, "--check", NULL);
    if (r.status != 0 && !strstr(r.err ? r.err : "", "no index"))
        fail_msg("--check after a kill exited %d: %s%s", r.status, r.out, r.err);
    test_run_free(&r);
    long docs = stats_documents(db);
    if (docs < 0)
        return 0;  /* killed before the first commit made it an index */
    assert_int_equal(exact_total(db, "fællesord"), docs);
    if (bulk && docs > 0) {
        char first_missing[32], last_there[32];
        snprintf(last_there, sizeof last_there, "nr%ld", docs - 1);
        snprintf(first_missing, sizeof first_missing, "nr%ld", docs);
        assert_int_equal(exact_total(db, last_there), 1);
        assert_int_equal(exact_total(db, first_missing), 0);
    }
    return docs;
}

static pid_t start_indexer(const char *db, const char *input, const char *extra)
{
    char bin[4200];
    snprintf(bin, sizeof bin, "%s/dksearch-index", test_bin());
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        char *argv[] = {bin, "--db", (char *)db, "--memory", "64", "--commit-every", "2000",
                        "--quiet",
                        (char *)(extra ? extra : input), (char *)(extra ? input : NULL), NULL};
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run_to_end(const char *db, const char *input, const char *extra)
{
    int st;
    pid_t pid = start_indexer(db, input, extra);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("indexing %s into %s did not finish (status %d)", input, db, st);
}

static void test_killed_at_random_moments(void **state)
{
    (void)state;
    char dir[1024], db[1100], full[1100], cmd[2400];
    test_dir("kills", dir, sizeof dir);
    snprintf(db, sizeof db, "%s/db", dir);
    snprintf(full, sizeof full, "%s/full", dir);
    /* how long a whole run takes, to kill within it; the index it makes
     * is where the runs that change every document start */
    double t0 = seconds_now();
    run_to_end(full, g_input, "--reindex");
    double whole = seconds_now() - t0;
    assert_int_equal(expect_consistent(full, 1), CORPUS_DOCS);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", full, db);

    unsigned seed = 20261201;
    int survived = 0, mid_run = 0;
    for (int k = 0; k < KILLS; k++) {
        /* even kills interrupt a bulk load into a new index, odd ones a
         * run that changes every document of a full one */
        int bulk = k % 2 == 0;
        const char *input = bulk ? g_input : g_changed;
        if (!bulk)
            assert_int_equal(system(cmd), 0);
        double delay = whole * (double)(rand_r(&seed) % 1000) / 1000.0;
        pid_t pid = start_indexer(db, input, "--reindex");
        usleep((useconds_t)(delay * 1e6));
        int st;
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        mid_run += WIFSIGNALED(st);
        long docs = expect_consistent(db, bulk);
        if (!bulk) {
            /* all of the documents, old or new: replacing is never half done */
            assert_int_equal(docs, CORPUS_DOCS);
            long changed = exact_total(db, "runde1"), old = exact_total(db, "runde0");
            assert_int_equal(changed + old, CORPUS_DOCS);
        }
        /* and the next run finishes the job */
        run_to_end(db, input, NULL);
        assert_int_equal(expect_consistent(db, bulk), CORPUS_DOCS);
        assert_int_equal(exact_total(db, bulk ? "runde0" : "runde1"), CORPUS_DOCS);
        survived++;
        test_rmrf(db);
    }
    fprintf(stderr, "%d kills survived (%d of them mid-run; a whole run takes %.2f s)\n",
            survived, mid_run, whole);
    assert_true(mid_run >= KILLS / 2);
}

/* ---- a disk that fills up ----------------------------------------------------- */

static char g_mount[1024];  /* a file system the test mounted, to unmount */

static int unmount_test_fs(void **state)
{
    (void)state;
    if (g_mount[0]) {
        umount2(g_mount, MNT_DETACH);
        g_mount[0] = 0;
    }
    return 0;
}

static void test_full_disk(void **state)
{
    (void)state;
    char dir[1024], db[1100];
    test_dir("full", dir, sizeof dir);
    snprintf(db, sizeof db, "%s/db", dir);
    /* A real small file system where there is one to be had (as root),
     * else a limit on the size of the files the indexer may write. */
    int mounted = mount("dksearch-test", dir, "tmpfs", 0, "size=6m") == 0;
    if (mounted)
        snprintf(g_mount, sizeof g_mount, "%s", dir);
    if (!mounted)
        fprintf(stderr, "no tmpfs for the test (%s): a file size limit instead\n",
                strerror(errno));
    char bin[4200];
    snprintf(bin, sizeof bin, "%s/dksearch-index", test_bin());
    int errfd[2];
    assert_int_equal(pipe(errfd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        if (!mounted) {
            struct rlimit lim = {6 << 20, 6 << 20};
            signal(SIGXFSZ, SIG_IGN);  /* writes past it fail with EFBIG instead */
            setrlimit(RLIMIT_FSIZE, &lim);
        }
        close(errfd[0]);
        dup2(errfd[1], 2);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(bin, bin, "--db", db, "--memory", "64", "--commit-every", "2000", g_input,
              (char *)NULL);
        _exit(127);
    }
    close(errfd[1]);
    char err[8192];
    size_t n = 0;
    ssize_t got;
    while ((got = read(errfd[0], err + n, sizeof err - 1 - n)) > 0)
        n += (size_t)got;
    err[n] = 0;
    close(errfd[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    fprintf(stderr, "the full disk said: %s", err);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    if (!strstr(err, "No space left on device") && !strstr(err, "File too large"))
        fail_msg("a full disk should be named as such: %s", err);
    assert_contains(err, "keeps what was committed");
    long docs = expect_consistent(db, 1);
    fprintf(stderr, "%ld of %d documents were committed before the disk filled\n", docs,
            CORPUS_DOCS);
    assert_true(docs < CORPUS_DOCS);
    /* room again: the run finishes */
    if (mounted)
        assert_int_equal(mount("dksearch-test", dir, "tmpfs", MS_REMOUNT, "size=256m"), 0);
    run_to_end(db, g_input, NULL);
    assert_int_equal(expect_consistent(db, 1), CORPUS_DOCS);
    if (mounted) {
        test_rmrf(db);
        unmount_test_fs(NULL);
    }
}

static int group_setup(void **state)
{
    (void)state;
    if (index_fixture("corpus", NULL) != 0)
        return -1;
    snprintf(g_input, sizeof g_input, "%s/corpus.jsonl", g_tmp);
    snprintf(g_changed, sizeof g_changed, "%s/changed.jsonl", g_tmp);
    write_corpus(g_input, 0);
    write_corpus(g_changed, 1);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_at_random_moments),
        cmocka_unit_test_teardown(test_full_disk, unmount_test_fs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
