/*
 * updates.c - end-to-end tests of a living index: re-indexing only what
 * changed, deletes, exact statistics after any sequence of updates,
 * bounded growth, a second writer, and readers while a writer commits.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

static void write_text(const char *dir, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void write_text(const char *dir, const char *name, const char *fmt, ...)
{
    char path[4400], text[65536];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof text);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (test_write_file(path, text, (size_t)n) != 0)
        fail_msg("cannot write %s", path);
}

/* A file's modification time set apart from its content. */
static void set_mtime(const char *dir, const char *name, time_t when)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct timespec ts[2] = {{when, 0}, {when, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* ---- re-indexing what changed -------------------------------------------- */

static void test_only_changed_files(void **state)
{
    (void)state;
    char dir[1024], db[1100];
    test_dir("changed", dir, sizeof dir);
    snprintf(db, sizeof db, "%s.db", dir);
    write_text(dir, "a.txt", "Cykelstier\nKommunen bygger cykelstier langs havnen.\n");
    write_text(dir, "b.txt", "Skoler\nSkolerne får nye lærere til efteråret.\n");
    write_text(dir, "c.txt", "Klima\nKlimaplanen skal halvere udledningen.\n");
    write_text(dir, "d.jsonl",
               "{\"id\": \"j1\", \"body\": \"Telemedicin hjælper patienter i hjemmet.\"}\n"
               "{\"id\": \"j2\", \"body\": \"Velfærdsalliancen samler kommuner og regioner.\"}\n"
               "{\"id\": \"j3\", \"body\": \"Havnebadet åbner til sommer.\"}\n");
    summary s = index_ok(NULL, db, dir, NULL);
    assert_int_equal(s.added, 6);
    assert_int_equal(s.docs, 6);

    /* nothing changed: nothing is read */
    s = index_ok(NULL, db, dir, NULL);
    assert_int_equal(s.indexed, 0);
    assert_int_equal(s.unchanged, 4);

    /* one file's content changes (its size too) */
    write_text(dir, "b.txt", "Skoler\nSkolerne får nye lærere og nye lokaler til efteråret.\n");
    s = index_ok(NULL, db, dir, NULL);
    assert_int_equal(s.indexed, 1);
    assert_int_equal(s.replaced, 1);
    assert_int_equal(s.unchanged, 3);
    expect_ranked(db, "lokaler", IDS("b.txt"));

    /* same size, other content, other time: the hash tells */
    write_text(dir, "c.txt", "Klima\nKlimaplanen skal fordoble udledningen.\n");
    write_text(dir, "c.txt", "Klima\nKlimaplanen skal halvere affaldsmængden.\n");
    set_mtime(dir, "c.txt", 1700000000);
    s = index_ok(NULL, db, dir, NULL);
    assert_int_equal(s.replaced, 1);
    assert_int_equal(total_of(db, "affaldsmængden"), 1);
    assert_int_equal(total_of(db, "udledningen"), 0);

    /* a new time, the same content: not read again */
    set_mtime(dir, "a.txt", 1600000000);
    s = index_ok(NULL, db, dir, NULL);
    assert_int_equal(s.indexed, 0);
    assert_int_equal(s.unchanged, 4);
    /* ...and the new time is recorded: the next run does not hash it either */
    s = index_ok(NULL, db, dir, NULL);
    assert_int_equal(s.unchanged, 4);
    /* the same for a JSON Lines file, whose hash was taken as it was parsed */
    set_mtime(dir, "d.jsonl", 1600000000);
    s = index_ok(NULL, db, dir, NULL);
    assert_int_equal(s.indexed, 0);
    assert_int_equal(s.unchanged, 4);

    /* a JSON Lines file loses a document and changes another: the lost one
     * is deleted, and an id that moved to another file (read before it)
     * stays */
    write_text(dir, "d.jsonl",
               "{\"id\": \"j1\", \"body\": \"Telemedicin hjælper patienter i hjemmet og på plejehjem.\"}\n");
    write_text(dir, "0.jsonl",
               "{\"id\": \"j2\", \"body\": \"Velfærdsalliancen samler kommuner, regioner og foreninger.\"}\n");
    s = index_ok(NULL, db, dir, NULL);
    assert_int_equal(s.replaced, 2);
    assert_int_equal(s.deleted, 1);
    assert_int_equal(s.docs, 5);
    assert_int_equal(total_of(db, "havnebadet"), 0);
    assert_int_equal(total_of(db, "velfærdsalliancen"), 1);
    assert_int_equal(total_of(db, "foreninger"), 1);

    /* a file disappears: kept until --delete-missing says so */
    char gone[1200];
    snprintf(gone, sizeof gone, "%s/a.txt", dir);
    assert_int_equal(unlink(gone), 0);
    s = index_ok(NULL, db, dir, NULL);
    assert_int_equal(s.deleted, 0);
    assert_int_equal(total_of(db, "cykelstier"), 1);
    s = index_ok(NULL, db, "--delete-missing", dir);
    assert_int_equal(s.deleted, 1);
    assert_int_equal(s.docs, 4);
    assert_int_equal(total_of(db, "cykelstier"), 0);

    /* --reindex reads everything again */
    s = index_ok(NULL, db, "--reindex", dir);
    assert_int_equal(s.replaced, 4);
    assert_int_equal(s.docs, 4);
    expect_check_ok(db);
}

static void test_delete_ids(void **state)
{
    (void)state;
    char dir[1024], db[1100];
    test_dir("delete", dir, sizeof dir);
    snprintf(db, sizeof db, "%s.db", dir);
    index_ok("{\"id\": \"x1\", \"body\": \"Sygehuset i Aarhus udvider.\"}\n"
             "{\"id\": \"x2\", \"body\": \"Sygehuset i Odense udvider også.\"}\n"
             "{\"id\": \"x3\", \"body\": \"Borgmesteren besøger sygehuset.\"}\n",
             db, "-", NULL);
    assert_int_equal(total_of(db, "sygehuset"), 3);
    test_run r = test_tool("dksearch-index", "--db", db, "--delete", "x1", "x3", NULL);
    assert_int_equal(r.status, 0);
    summary s;
    assert_int_equal(parse_summary(r.out, &s), 0);
    assert_int_equal(s.deleted, 2);
    assert_int_equal(s.docs, 1);
    test_run_free(&r);
    expect_set(db, "sygehuset", IDS("x2"));
    /* an id the index does not hold: said, and exit 1 */
    r = test_tool("dksearch-index", "--db", db, "--delete", "x2", "nope", NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "no document with id nope");
    test_run_free(&r);
    expect_none(db, "sygehuset");
    expect_check_ok(db);
    /* a document without words stays whole when its neighbours go: it
     * still has its length, and its field still finds it */
    index_ok("{\"id\": \"tom\", \"body\": \"...\", \"party\": \"V\"}\n"
             "{\"id\": \"ord\", \"body\": \"ord\", \"party\": \"V\"}\n", db, "-", NULL);
    r = test_tool("dksearch-index", "--db", db, "--delete", "ord", NULL);
    assert_int_equal(r.status, 0);
    test_run_free(&r);
    expect_check_ok(db);
    expect_set(db, "party:V", IDS("tom"));
    expect_refused("--delete takes the ids", "dksearch-index", "--db", db, "--delete");
    expect_refused("--check takes no input", "dksearch-index", "--db", db, "--check", dir);
}

/* ---- exact statistics after updates ---------------------------------------- */

/* Scores of every hit of a query, by id. */
static void expect_same_scores(const char *db_a, const char *db_b, const char *query)
{
    hits a = search_page(db_a, query, NULL, NULL), b = search_page(db_b, query, NULL, NULL);
    if (a.total != b.total || a.n != b.n) {
        print_hits(query, &a);
        print_hits(query, &b);
        fail_msg("'%s' finds %lld after updates, %lld in a fresh index", query,
                 (long long)a.total, (long long)b.total);
    }
    for (size_t i = 0; i < a.n; i++) {
        int j = find_id(&b, a.id[i]);
        if (j < 0)
            fail_msg("'%s': %s is found after updates only", query, a.id[i]);
        double x = a.score[i], y = b.score[(size_t)j];
        if (fabs(x - y) > 1e-9 * fabs(y))
            fail_msg("'%s': %s scores %.12g after updates, %.12g in a fresh index", query,
                     a.id[i], x, y);
    }
    hits_free(&a);
    hits_free(&b);
}

static void copy_fixture(const char *name, const char *to)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -r '%s/tests/fixtures/%s/.' '%s'", test_top(), name, to);
    assert_int_equal(system(cmd), 0);
}

static void test_scores_equal_fresh_index(void **state)
{
    (void)state;
    char dir[1024], db[1100], fresh[1100], path[1200];
    test_dir("scores", dir, sizeof dir);
    snprintf(db, sizeof db, "%s.db", dir);
    snprintf(fresh, sizeof fresh, "%s.fresh", dir);
    copy_fixture("corpus", dir);
    index_ok(NULL, db, dir, NULL);
    expect_same_scores(db, g_db, "kommunerne OR klima");

    /* a sequence of updates: files change, go and come, ids are replaced
     * and deleted from standard input and by name */
    snprintf(path, sizeof path, "%s/klima", dir);
    write_text(path, "ny.txt", "Klimaloven\nKlimaloven forpligter kommunerne og regionerne "
               "til at halvere udledningen af drivhusgasser.\n");
    index_ok(NULL, db, dir, NULL);
    const char *extra = "{\"id\": \"s1\", \"title\": \"Sundhed\", \"body\": \"Telemedicin og "
                        "sundhedsvæsenet i kommunerne.\"}\n"
                        "{\"id\": \"s2\", \"body\": \"Borgmesteren taler om klima og cykler.\"}\n";
    index_ok(extra, db, "-", NULL);
    index_ok("{\"id\": \"s3\", \"body\": \"Et dokument der slettes igen om klima.\"}\n", db, "-",
             NULL);
    test_run r = test_tool("dksearch-index", "--db", db, "--delete", "s3", NULL);
    assert_int_equal(r.status, 0);
    test_run_free(&r);
    write_text(path, "ny.txt", "Klimaloven\nKlimaloven forpligter kommunerne til at halvere "
               "udledningen, siger borgmesteren.\n");
    index_ok(NULL, db, dir, NULL);
    snprintf(path, sizeof path, "%s/skoler", dir);
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "rm -r '%s'", path);
    assert_int_equal(system(cmd), 0);
    index_ok(NULL, db, "--delete-missing", dir);
    index_ok(extra, db, "-", NULL);  /* the same again: replaced */
    expect_check_ok(db);

    /* a fresh index of what is left */
    index_ok(NULL, fresh, dir, NULL);
    index_ok(extra, fresh, "-", NULL);
    test_run a = test_tool("dksearch-query", "--db", db, "--stats", NULL),
             b = test_tool("dksearch-query", "--db", fresh, "--stats", NULL);
    json_t *ja = json_loads(a.out, 0, NULL), *jb = json_loads(b.out, 0, NULL);
    assert_non_null(ja);
    assert_non_null(jb);
    static const char *const same[] = {"documents", "terms", "tokens"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        assert_int_equal(json_integer_value(json_object_get(ja, same[i])),
                         json_integer_value(json_object_get(jb, same[i])));
    json_decref(ja);
    json_decref(jb);
    test_run_free(&a);
    test_run_free(&b);
    static const char *const queries[] = {
        "klima", "kommunerne", "borgmesteren", "telemedicin OR sundhedsvæsenet",
        "\"halvere udledningen\"", "cykler", "skole", "klima*", "kommune -borgmester", NULL};
    for (size_t i = 0; queries[i]; i++)
        expect_same_scores(db, fresh, queries[i]);
}

/* ---- bounded growth ---------------------------------------------------------- */

static long long dir_bytes(const char *db)
{
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", db);
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* 1,000 documents, every one of which changes in every round. */
static void write_round(const char *file, int round)
{
    static const char *const words[] = {"kommunen", "regionen", "borgerne", "skolen",
                                        "sygehuset", "cykelstien", "havnen", "klimaet"};
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    for (int i = 0; i < 1000; i++)
        fprintf(f, "{\"id\": \"d%d\", \"body\": \"Runde %d: %s og %s taler om %s i dag, "
                "nummer %d af tusind.\"}\n", i, round, words[(i + round) % 8],
                words[(i * 3 + round) % 8], words[(i * 5 + round * 7) % 8], i);
    fclose(f);
}

static void test_growth_bounded(void **state)
{
    (void)state;
    char dir[1024], db[1100], fresh[1100], file[1200];
    test_dir("growth", dir, sizeof dir);
    snprintf(db, sizeof db, "%s.db", dir);
    snprintf(fresh, sizeof fresh, "%s.fresh", dir);
    snprintf(file, sizeof file, "%s/docs.jsonl", dir);
    const int rounds = 20;
    for (int round = 0; round <= rounds; round++) {
        write_round(file, round);
        summary s = index_ok(NULL, db, file, NULL);
        assert_int_equal(s.docs, 1000);
        assert_int_equal(s.replaced, round ? 1000 : 0);
    }
    expect_check_ok(db);
    index_ok(NULL, fresh, file, NULL);
    long long updated = dir_bytes(db), new_size = dir_bytes(fresh);
    fprintf(stderr, "1,000 documents updated %d times: %lld bytes, fresh index %lld\n", rounds,
            updated, new_size);
    assert_true(updated <= 2 * new_size);
    test_run r = test_tool("dksearch-index", "--db", db, "--compact", NULL);
    assert_int_equal(r.status, 0);
    test_run_free(&r);
    long long compacted = dir_bytes(db);
    fprintf(stderr, "after --compact: %lld bytes\n", compacted);
    assert_true(compacted <= new_size + new_size / 4);
    expect_check_ok(db);
    expect_same_scores(db, fresh, "17 OR 170 OR 171 OR havnen 999");
    assert_int_equal(total_of(db, "runde"), 1000);
}

/* ---- one writer at a time ---------------------------------------------------- */

/* Whether someone holds the index's writer lock. */
static int writer_lock_held(const char *db)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/writer.lock", db);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (!held)
        flock(fd, LOCK_UN);
    close(fd);
    return held;
}

static void test_second_writer_refused(void **state)
{
    (void)state;
    char dir[1024], db[1100], bin[4200];
    test_dir("twowriters", dir, sizeof dir);
    snprintf(db, sizeof db, "%s.db", dir);
    index_ok("{\"id\": \"a\", \"body\": \"Første dokument om havnen.\"}\n", db, "-", NULL);
    /* the first writer waits for its standard input, holding the lock */
    int in[2];
    assert_int_equal(pipe(in), 0);
    snprintf(bin, sizeof bin, "%s/dksearch-index", test_bin());
    pid_t first = fork();
    if (first == 0) {
        dup2(in[0], 0);
        close(in[1]);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(bin, bin, "--db", db, "--quiet", "-", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    for (int i = 0; i < 1000 && !writer_lock_held(db); i++)
        usleep(10000);
    assert_true(writer_lock_held(db));
    expect_refused("another dksearch-index is writing", "dksearch-index", "--db", db,
                   "--delete", "a");
    /* readers are not held up by the writer */
    assert_int_equal(total_of(db, "havnen"), 1);
    static const char doc[] = "{\"id\": \"b\", \"body\": \"Andet dokument om havnen.\"}\n";
    assert_int_equal(write(in[1], doc, sizeof doc - 1), (ssize_t)(sizeof doc - 1));
    close(in[1]);
    int st;
    assert_int_equal(waitpid(first, &st, 0), first);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(total_of(db, "havnen"), 2);
    expect_check_ok(db);
}

/* ---- readers while the writer commits -------------------------------------- */

#define BATCHES 24
#define BATCH_DOCS 40
#define READERS 3

/* A reader's loop: every answer must show whole batches. */
static int reader_loop(const char *db, const char *stop, unsigned seed)
{
    unsigned long queries = 0, bad = 0;
    char word[32];
    while (access(stop, F_OK) != 0) {
        int batch = (int)(rand_r(&seed) % BATCHES);
        int whole = rand_r(&seed) % 4 == 0;
        snprintf(word, sizeof word, "zq%d", batch);
        test_run r = test_tool("dksearch-query", "--db", db, "--json", "--exact-total",
                               "--no-snippets", "--limit", "1", whole ? "fællesord" : word, NULL);
        const char *t = r.out ? strstr(r.out, "\"total\":") : NULL;
        long total = t ? strtol(t + 8, NULL, 10) : -1;
        if ((r.status != 0 && r.status != 1) || total < 0 || total % BATCH_DOCS != 0 ||
            (!whole && total != 0 && total != BATCH_DOCS)) {
            fprintf(stderr, "reader: '%s' gave %ld (exit %d): %s%s\n", whole ? "fællesord" : word,
                    total, r.status, r.out ? r.out : "", r.err ? r.err : "");
            bad++;
        }
        queries++;
        test_run_free(&r);
    }
    fprintf(stderr, "reader %d: %lu queries, %lu inconsistent\n", (int)getpid(), queries, bad);
    return bad || queries == 0 ? 1 : 0;
}

static void test_readers_see_whole_batches(void **state)
{
    (void)state;
    char dir[1024], db[1100], stop[1200];
    test_dir("concurrent", dir, sizeof dir);
    snprintf(db, sizeof db, "%s.db", dir);
    snprintf(stop, sizeof stop, "%s/stop", dir);
    index_ok("{\"id\": \"seed\", \"body\": \"Et dokument før alle andre.\"}\n", db, "-", NULL);
    pid_t readers[READERS];
    for (int i = 0; i < READERS; i++)
        if ((readers[i] = fork()) == 0)
            _exit(reader_loop(db, stop, (unsigned)i * 7919u + 1));
    /* Each run adds a batch whose documents all hold its word, and deletes
     * the batch before the one before: one commit each; every third batch
     * the index is rewritten and exchanged under the readers (--compact). */
    char input[BATCH_DOCS * 200];
    for (int b = 0; b < BATCHES; b++) {
        size_t n = 0;
        for (int d = 0; d < BATCH_DOCS; d++)
            n += (size_t)snprintf(input + n, sizeof input - n,
                                  "{\"id\": \"b%d-%d\", \"body\": \"zq%d fællesord om "
                                  "kommunen og havnen, dokument %d.\"}\n", b, d, b, d);
        index_ok(input, db, "-", NULL);
        if (b >= 2) {
            char *argv[BATCH_DOCS + 8], ids[BATCH_DOCS][32], path[4200];
            int k = 0;
            snprintf(path, sizeof path, "%s/dksearch-index", test_bin());
            argv[k++] = path;
            argv[k++] = "--db";
            argv[k++] = db;
            argv[k++] = "--delete";
            for (int d = 0; d < BATCH_DOCS; d++) {
                snprintf(ids[d], sizeof ids[d], "b%d-%d", b - 2, d);
                argv[k++] = ids[d];
            }
            argv[k] = NULL;
            test_run r = test_exec(argv, NULL);
            assert_int_equal(r.status, 0);
            test_run_free(&r);
        }
        if (b % 3 == 2) {
            test_run r = test_tool("dksearch-index", "--db", db, "--compact", NULL);
            assert_int_equal(r.status, 0);
            test_run_free(&r);
        }
    }
    int fd = open(stop, O_CREAT | O_WRONLY, 0600);
    close(fd);
    int failed = 0;
    for (int i = 0; i < READERS; i++) {
        int st;
        waitpid(readers[i], &st, 0);
        failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    assert_false(failed);
    assert_int_equal(total_of(db, "fællesord"), 2 * BATCH_DOCS);
    expect_check_ok(db);
}

/* The fixture corpus indexed once, as the group's baseline. */
static int group_setup(void **state)
{
    (void)state;
    return index_fixture("corpus", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_changed_files),
        cmocka_unit_test(test_delete_ids),
        cmocka_unit_test(test_scores_equal_fresh_index),
        cmocka_unit_test(test_growth_bounded),
        cmocka_unit_test(test_second_writer_refused),
        cmocka_unit_test(test_readers_see_whole_batches),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
