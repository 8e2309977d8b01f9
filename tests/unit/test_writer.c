/*
 * The writer and the store: replacing and deleting keep the collection
 * statistics exact (equal to a fresh index of the same documents), posting
 * lists that span many blocks and batches, uncommitted work that vanishes,
 * the single-writer lock, and version checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dksearch.h"
#include "dks_int.h"
#include "test_util.h"

static const char *const words[] = {
    "velfærd", "sundhed", "skole", "kommune", "cykel", "borger", "klima", "vand",
    "ældre", "læge", "hospital", "bibliotek", "trafik", "energi", "natur", "kultur",
};
#define N_WORDS (sizeof words / sizeof words[0])

/* Document i: a deterministic mix of words, so every index built from the
 * same ids has the same statistics. */
static void make_body(unsigned i, unsigned version, char *out, size_t cap)
{
    size_t at = 0;
    unsigned x = i * 2654435761u + version * 40503u + 1;
    unsigned n = 3 + i % 9;
    for (unsigned k = 0; k < n && at + 40 < cap; k++) {
        x = x * 1103515245u + 12345u;
        at += (size_t)snprintf(out + at, cap - at, "%s ", words[(x >> 16) % N_WORDS]);
    }
    if (i % 7 == 0)
        at += (size_t)snprintf(out + at, cap - at, "sjælden%u", version);
    out[at] = '\0';
}

static int add_text(dks_writer *w, const char *id, const char *body)
{
    dks_document d = {.id = id, .id_len = strlen(id), .title = "Titel", .title_len = 5,
                      .body = body, .body_len = strlen(body)};
    return dks_writer_add(w, &d, NULL, NULL);
}

static int add_doc(dks_writer *w, unsigned i, unsigned version)
{
    char id[32], body[512];
    snprintf(id, sizeof id, "doc-%u", i);
    make_body(i, version, body, sizeof body);
    return add_text(w, id, body);
}

typedef struct fixture {
    char *dir;
    char db[4200];
    dks_index *idx;
} fixture;

static void open_fresh(fixture *f, const char *name)
{
    if (!f->dir)
        f->dir = test_tmpdir();
    snprintf(f->db, sizeof f->db, "%s/%s", f->dir, name);
    assert_int_equal(dks_index_open(f->db, DKS_OPEN_CREATE, &f->idx, NULL), DKS_OK);
}

static void close_fixture(fixture *f)
{
    dks_index_close(f->idx);
    f->idx = NULL;
}

/* Every term with its df and cf, in key order, as text. */
static char *dump_terms(dks_index *idx)
{
    dks_buf b = {0};
    dks_txn *t;
    dks_cursor *c;
    const void *k, *v;
    size_t kl, vl;
    assert_int_equal(dks_txn_begin(dks_index_store(idx), 0, &t), DKS_OK);
    assert_int_equal(dks_cursor_open(t, DKS_DB_TERMS, &c), DKS_OK);
    int rc = dks_cursor_first(c, &k, &kl, &v, &vl);
    while (rc == 0) {
        dks_term_stats st;
        assert_int_equal(dks_term_stats_get(t, k, kl, &st), DKS_OK);
        dks_buf_printf(&b, "%.*s %llu %llu\n", (int)kl, (const char *)k,
                       (unsigned long long)st.df, (unsigned long long)st.cf);
        rc = dks_cursor_next(c, &k, &kl, &v, &vl);
    }
    assert_int_equal(rc, 1);
    dks_cursor_close(c);
    dks_txn_abort(t);
    dks_buf_append(&b, "", 0);
    return (char *)b.data;
}

/* The terms of idx are still those dump_terms gave before (freed here). */
static void expect_terms(dks_index *idx, char *before)
{
    char *after = dump_terms(idx);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* The query's hits, every one counted, and (top not NULL) the best score. */
static uint64_t exact_hits(dks_index *idx, const char *q, double *top)
{
    dks_results *r;
    dks_search_options all = {.limit = 1000, .exact_total = 1};
    assert_int_equal(dks_search(idx, q, strlen(q), &all, &r, NULL), DKS_OK);
    uint64_t hits = dks_results_total(r);
    if (top)
        *top = dks_results_hit(r, 0)->score;
    dks_results_free(r);
    return hits;
}

static void same_scores(dks_index *a, dks_index *b, const char *q)
{
    dks_results *ra, *rb;
    dks_search_options opt = {.limit = 1000};
    dks_error_detail err = {0};
    if (dks_search(a, q, strlen(q), &opt, &ra, &err) != DKS_OK)
        fail_msg("updated index, query %s: %s", q, err.message);
    if (dks_search(b, q, strlen(q), &opt, &rb, &err) != DKS_OK)
        fail_msg("fresh index, query %s: %s", q, err.message);
    assert_int_equal(dks_results_total(ra), dks_results_total(rb));
    for (size_t i = 0; i < dks_results_count(ra); i++) {
        const dks_hit *x = dks_results_hit(ra, i), *y = dks_results_hit(rb, i);
        assert_true(fabs(x->score - y->score) <= 1e-9 * fabs(y->score));
    }
    dks_results_free(ra);
    dks_results_free(rb);
}

/* The same terms with the same counts, and the same scores for queries
 * of every kind. */
static void same_terms_and_scores(dks_index *a, dks_index *b)
{
    char *ta = dump_terms(a), *tb = dump_terms(b);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    const char *queries[] = {"velfærd", "sundhed skole", "klima OR vand OR energi",
                             "sjælden1", "sjælden0", "\"cykel borger\"", "titel"};
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++)
        same_scores(a, b, queries[q]);
}

/* The index's posting generations. */
static unsigned generations(dks_index *idx)
{
    dks_txn *t;
    dks_meta m;
    assert_int_equal(dks_txn_begin(dks_index_store(idx), 0, &t), DKS_OK);
    assert_int_equal(dks_meta_read(t, &m), DKS_OK);
    dks_txn_abort(t);
    return m.n_gens;
}

/* threads: for the updated index (the fresh one is built on one thread);
 * commit_every: a commit after every so many changes as well (0: none),
 * which makes a posting generation each time and merges them. */
static void updates_keep_statistics_exact(unsigned threads, unsigned commit_every)
{
    fixture updated = {0}, fresh = {0};
    dks_writer *w;
    const unsigned n = 700;

    /* Index all documents, then replace every third with a new version and
     * delete every fifth, in several commits. */
    open_fresh(&updated, "updated");
    assert_int_equal(dks_writer_open(updated.idx, &w, NULL), DKS_OK);
    assert_int_equal(dks_writer_set_threads(w, threads), DKS_OK);
    unsigned changes = 0;
#define CHANGED() \
    do { \
        if (commit_every && ++changes % commit_every == 0) \
            assert_int_equal(dks_writer_commit(w, NULL), DKS_OK); \
    } while (0)
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(add_doc(w, i, 0), DKS_OK);
        CHANGED();
    }
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    for (unsigned i = 0; i < n; i += 3) {
        assert_int_equal(add_doc(w, i, 1), DKS_OK);
        CHANGED();
    }
    /* Replace a document twice within one uncommitted batch. */
    assert_int_equal(add_doc(w, 3, 2), DKS_OK);
    assert_int_equal(add_doc(w, 3, 1), DKS_OK);
    for (unsigned i = 0; i < n; i += 5) {
        char id[32];
        int found;
        snprintf(id, sizeof id, "doc-%u", i);
        assert_int_equal(dks_writer_delete(w, id, strlen(id), &found, NULL), DKS_OK);
        assert_true(found);
        CHANGED();
    }
#undef CHANGED
    int found = 1;
    assert_int_equal(dks_writer_delete(w, "doc-0", 5, &found, NULL), DKS_OK);
    assert_false(found);  /* already deleted */
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_stats ws;
    dks_writer_stats_get(w, &ws);
    assert_int_equal(ws.added, n);
    assert_int_equal(ws.replaced, (n + 2) / 3 + 2);
    assert_int_equal(ws.deleted, (n + 4) / 5);
    if (commit_every) {
        /* many generations made, few left: merges keep their sizes geometric */
        assert_true(ws.merges > 0);
        assert_true(generations(updated.idx) <= 8);
    }
    dks_writer_close(w);

    /* A fresh index of the surviving documents, each in its last version. */
    fresh.dir = updated.dir;
    open_fresh(&fresh, "fresh");
    assert_int_equal(dks_writer_open(fresh.idx, &w, NULL), DKS_OK);
    for (unsigned i = 0; i < n; i++)
        if (i % 5 != 0)
            assert_int_equal(add_doc(w, i, i % 3 == 0 ? 1 : 0), DKS_OK);
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_close(w);

    dks_index_stats su, sf;
    assert_int_equal(dks_index_stats_get(updated.idx, &su), DKS_OK);
    assert_int_equal(dks_index_stats_get(fresh.idx, &sf), DKS_OK);
    assert_int_equal(su.documents, n - (n + 4) / 5);
    assert_int_equal(su.documents, sf.documents);
    assert_int_equal(su.tokens, sf.tokens);
    assert_int_equal(su.terms, sf.terms);
    same_terms_and_scores(updated.idx, fresh.idx);
    close_fixture(&fresh);
    close_fixture(&updated);
    test_rmrf(updated.dir);
    free(updated.dir);
}

static void test_updates_keep_statistics_exact(void **state)
{
    (void)state;
    updates_keep_statistics_exact(1, 0);
}

/* With analysis on a second thread, documents, replacements and deletions
 * still apply in the order given: the same index as on one thread. */
static void test_two_threads_build_the_same_index(void **state)
{
    (void)state;
    updates_keep_statistics_exact(2, 0);
}

/* A commit every few changes: a posting generation each time, more than
 * there are slots, merged as they come, with deletions reaching into every
 * one of them; the statistics and scores still equal a fresh index's. */
static void test_many_commits_merge_generations(void **state)
{
    (void)state;
    updates_keep_statistics_exact(1, 7);
    updates_keep_statistics_exact(2, 23);
}

/* A bulk load of several batches, committed once: its generations are
 * merged into one and the index compacted.  On two threads the compaction
 * copies what the merge leaves alone while the merge runs; the index is
 * the one a single thread builds, as compact. */
static void bulk_load(fixture *f, const char *name, unsigned threads, dks_writer_stats *ws)
{
    dks_writer *w;
    open_fresh(f, name);
    assert_int_equal(dks_writer_open(f->idx, &w, NULL), DKS_OK);
    assert_int_equal(dks_writer_set_threads(w, threads), DKS_OK);
    assert_int_equal(dks_writer_set_commit_docs(w, 500), DKS_OK);
    for (unsigned i = 0; i < 3000; i++)
        assert_int_equal(add_doc(w, i, 0), DKS_OK);
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_stats_get(w, ws);
    dks_writer_close(w);
}

static void test_bulk_load_compacts_alike_on_two_threads(void **state)
{
    (void)state;
    fixture one = {0}, two = {0};
    dks_writer_stats s1, s2;
    bulk_load(&one, "one", 1, &s1);
    two.dir = one.dir;
    bulk_load(&two, "two", 2, &s2);
    assert_int_equal(s1.commits, 6);
    assert_int_equal(s2.commits, 6);
    assert_int_equal(s1.compactions, 1);
    assert_int_equal(s2.compactions, 1);
    assert_int_equal(generations(one.idx), 1);
    assert_int_equal(generations(two.idx), 1);
    uint64_t free1, free2;
    assert_int_equal(dks_store_free_bytes(dks_index_store(one.idx), &free1), DKS_OK);
    assert_int_equal(dks_store_free_bytes(dks_index_store(two.idx), &free2), DKS_OK);
    assert_true(free2 <= 16 * 4096);
    uint64_t size1 = dks_store_size(dks_index_store(one.idx));
    uint64_t size2 = dks_store_size(dks_index_store(two.idx));
    assert_true(size2 <= size1 + 16 * 4096 && size1 <= size2 + 16 * 4096);
    dks_index_stats st1, st2;
    assert_int_equal(dks_index_stats_get(one.idx, &st1), DKS_OK);
    assert_int_equal(dks_index_stats_get(two.idx, &st2), DKS_OK);
    assert_int_equal(st2.documents, 3000);
    assert_int_equal(st1.text_bytes, st2.text_bytes);
    assert_int_equal(st1.postings_bytes, st2.postings_bytes);
    same_terms_and_scores(one.idx, two.idx);
    close_fixture(&one);
    close_fixture(&two);
    test_rmrf(one.dir);
    free(one.dir);
}

/* Every entry of every database of a and b: the same keys and values, in
 * the same order. */
static void same_databases(dks_index *a, dks_index *b)
{
    dks_txn *ta, *tb;
    assert_int_equal(dks_txn_begin(dks_index_store(a), 0, &ta), DKS_OK);
    assert_int_equal(dks_txn_begin(dks_index_store(b), 0, &tb), DKS_OK);
    for (int db = 0; db < DKS_DB_COUNT; db++) {
        dks_cursor *ca, *cb;
        const void *ka, *kb, *va, *vb;
        size_t kla, klb, vla, vlb;
        assert_int_equal(dks_cursor_open(ta, (dks_db)db, &ca), DKS_OK);
        assert_int_equal(dks_cursor_open(tb, (dks_db)db, &cb), DKS_OK);
        int ra = dks_cursor_first(ca, &ka, &kla, &va, &vla);
        int rb = dks_cursor_first(cb, &kb, &klb, &vb, &vlb);
        while (ra == 0 && rb == 0) {
            assert_memory_equal(ka, kb, kla < klb ? kla : klb);
            assert_int_equal(kla, klb);
            assert_int_equal(vla, vlb);
            assert_memory_equal(va, vb, vla);
            ra = dks_cursor_next(ca, &ka, &kla, &va, &vla);
            rb = dks_cursor_next(cb, &kb, &klb, &vb, &vlb);
        }
        assert_int_equal(ra, 1);
        assert_int_equal(rb, 1);
        dks_cursor_close(ca);
        dks_cursor_close(cb);
    }
    dks_txn_abort(ta);
    dks_txn_abort(tb);
}

/* Document i of a vocabulary of thousands of made-up words, drawn with a
 * skew: a few in most documents, most in a handful. */
static void make_wordy_body(unsigned i, unsigned version, char *out, size_t cap)
{
    static const char *const syllables[] = {"ba", "ke", "li", "mo", "nu", "sa", "te", "vi",
                                            "ro", "du", "fa", "gi", "ho", "ja", "pe", "ly"};
    size_t at = 0;
    unsigned x = i * 2654435761u + version * 40503u + 7;
    for (unsigned k = 0; k < 60 && at + 24 < cap; k++) {
        x = x * 1103515245u + 12345u;
        double u = (double)(x >> 8) / (double)(1u << 24);
        unsigned rank = (unsigned)(u * u * u * 30000.0);
        at += (size_t)snprintf(out + at, cap - at, "ord");
        do {
            at += (size_t)snprintf(out + at, cap - at, "%s", syllables[rank % 16]);
            rank /= 16;
        } while (rank);
        out[at++] = ' ';
    }
    out[at] = '\0';
}

static void wordy_load(fixture *f, const char *name, unsigned threads)
{
    dks_writer *w;
    open_fresh(f, name);
    assert_int_equal(dks_writer_open(f->idx, &w, NULL), DKS_OK);
    assert_int_equal(dks_writer_set_threads(w, threads), DKS_OK);
    assert_int_equal(dks_writer_set_commit_docs(w, 600), DKS_OK);
    char id[32], body[1024];
    /* a word whose 129th document is replaced at once by one without it:
     * a full block, then only a deleted document */
    for (unsigned i = 0; i <= 129; i++) {
        unsigned doc = i < 129 ? i : 128;
        snprintf(id, sizeof id, "hest-%u", doc);
        make_wordy_body(doc, 5000 + i, body, sizeof body);
        if (i < 129)
            strcat(body, " østerhest");
        assert_int_equal(add_text(w, id, body), DKS_OK);
    }
    for (unsigned i = 0; i < 2400; i++) {
        /* every tenth document replaces one added a few before, in its batch */
        unsigned doc = i % 10 == 9 ? i - 3 : i;
        snprintf(id, sizeof id, "doc-%u", doc);
        make_wordy_body(doc, i, body, sizeof body);
        assert_int_equal(add_text(w, id, body), DKS_OK);
    }
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_close(w);
}

/* On two threads a flush of many terms packs them on a helper thread
 * ahead of the writer: batches of thousands of words, common ones over
 * many blocks, rare ones in their statistics and found again in later
 * batches, and documents replaced before their batch is flushed (also
 * right after a word's full block), make the index one thread makes,
 * byte for byte. */
static void test_two_threads_flush_many_terms_alike(void **state)
{
    (void)state;
    fixture one = {0}, two = {0};
    wordy_load(&one, "one", 1);
    two.dir = one.dir;
    wordy_load(&two, "two", 2);
    dks_index_stats st;
    assert_int_equal(dks_index_stats_get(two.idx, &st), DKS_OK);
    assert_int_equal(st.documents, 2400 - 240 + 129);
    assert_int_equal(exact_hits(two.idx, "østerhest", NULL), 128);
    assert_true(st.terms > 10000);
    same_databases(one.idx, two.idx);
    close_fixture(&one);
    close_fixture(&two);
    test_rmrf(one.dir);
    free(one.dir);
}

/* A compaction begun with a copy ahead (on its thread) and thrown away
 * leaves the index as it was and nothing beside it; begun again and
 * finished, the copy answers as the index did. */
static void test_compaction_begun_and_abandoned(void **state)
{
    (void)state;
    fixture f = {0};
    dks_writer *w;
    open_fresh(&f, "db");
    assert_int_equal(dks_writer_open(f.idx, &w, NULL), DKS_OK);
    for (unsigned i = 0; i < 2000; i++)
        assert_int_equal(add_doc(w, i, 0), DKS_OK);
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    char *before = dump_terms(f.idx);
    const char *q = "velfærd OR sjælden0";
    uint64_t hits = exact_hits(f.idx, q, NULL);
    dks_store *s = dks_index_store(f.idx);
    const uint32_t ahead = 1u << DKS_DB_TERMS | 1u << DKS_DB_DOCS | 1u << DKS_DB_TEXT;
    char leftover[4300];
    snprintf(leftover, sizeof leftover, "%s.compacting", f.db);
    dks_compaction *c;
    assert_int_equal(dks_store_compact_begin(s, ahead, &c), DKS_OK);
    dks_store_compact_abort(c);
    assert_int_equal(access(leftover, F_OK), -1);
    assert_int_equal(dks_store_compact_begin(s, ahead, &c), DKS_OK);
    assert_int_equal(dks_store_compact_finish(s, c), DKS_OK);
    assert_int_equal(access(leftover, F_OK), -1);
    expect_terms(f.idx, before);
    assert_int_equal(exact_hits(f.idx, q, NULL), hits);
    assert_int_equal(add_doc(w, 5000, 0), DKS_OK);  /* the writer goes on in the copy */
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_close(w);
    dks_index_stats st;
    assert_int_equal(dks_index_stats_get(f.idx, &st), DKS_OK);
    assert_int_equal(st.documents, 2001);
    close_fixture(&f);
    test_rmrf(f.dir);
    free(f.dir);
}

/* The map is grown before every write transaction: an index whose map is
 * far smaller than what is written to it never meets MDB_MAP_FULL. */
static void test_map_grows_before_it_fills(void **state)
{
    (void)state;
    fixture f = {0};
    dks_writer *w;
    open_fresh(&f, "db");
    dks_store *store = dks_index_store(f.idx);
    assert_int_equal(dks_store_set_map_size(store, 256 << 10), DKS_OK);
    assert_true(dks_store_map_size(store) < (1 << 20));
    assert_int_equal(dks_writer_open(f.idx, &w, NULL), DKS_OK);
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned i = 0; i < 2000; i++)
            assert_int_equal(add_doc(w, i, round), DKS_OK);
        assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
        /* and again: shrunk between runs of the writer */
        assert_int_equal(dks_store_set_map_size(store, 256 << 10), DKS_OK);
    }
    dks_writer_close(w);
    dks_index_stats st;
    assert_int_equal(dks_index_stats_get(f.idx, &st), DKS_OK);
    assert_int_equal(st.documents, 2000);
    assert_true(st.size_bytes > (256 << 10));
    close_fixture(&f);
    test_rmrf(f.dir);
    free(f.dir);
}

/* A compaction rewrites the index without free pages and exchanges it for
 * the directory: the same answers, a smaller file, and the writer lock
 * moves with it. */
static void test_compaction_keeps_the_index(void **state)
{
    (void)state;
    fixture f = {0};
    dks_writer *w;
    open_fresh(&f, "db");
    assert_int_equal(dks_writer_open(f.idx, &w, NULL), DKS_OK);
    for (unsigned round = 0; round < 6; round++) {
        for (unsigned i = 0; i < 400; i++)
            assert_int_equal(add_doc(w, i, round), DKS_OK);  /* replaced every round */
        assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    }
    /* a few replacements: free pages, too few for the writer to compact */
    for (unsigned i = 0; i < 40; i++)
        assert_int_equal(add_doc(w, i, 7), DKS_OK);
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    char *before = dump_terms(f.idx);
    double top_before;
    uint64_t hits_before = exact_hits(f.idx, "velfærd OR klima", &top_before);
    uint64_t free_before, free_after, size_before = dks_store_size(dks_index_store(f.idx));
    assert_int_equal(dks_store_free_bytes(dks_index_store(f.idx), &free_before), DKS_OK);
    assert_true(free_before > 0);

    assert_int_equal(dks_store_compact(dks_index_store(f.idx)), DKS_OK);
    assert_int_equal(dks_store_free_bytes(dks_index_store(f.idx), &free_after), DKS_OK);
    assert_true(free_after <= 16 * 4096);  /* what the copy's own commits left */
    assert_true(free_after < free_before);
    /* (the writer's commits compact too, when a round of updates leaves
     * enough free: the file cannot have grown) */
    assert_true(dks_store_size(dks_index_store(f.idx)) <= size_before);
    expect_terms(f.idx, before);
    double top_after;
    assert_int_equal(exact_hits(f.idx, "velfærd OR klima", &top_after), hits_before);
    assert_true(top_after == top_before);
    /* still this writer's: a second one is refused, and this one goes on */
    dks_index *other;
    dks_writer *w2;
    assert_int_equal(dks_index_open(f.db, DKS_OPEN_WRITE, &other, NULL), DKS_OK);
    assert_int_equal(dks_writer_open(other, &w2, NULL), DKS_ELOCKED);
    dks_index_close(other);
    assert_int_equal(add_doc(w, 1000, 0), DKS_OK);
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_close(w);
    dks_index_stats st;
    assert_int_equal(dks_index_stats_get(f.idx, &st), DKS_OK);
    assert_int_equal(st.documents, 401);
    /* what a compaction cut short leaves beside the index, the next writer
     * removes */
    char leftover[4300], file[4400];
    snprintf(leftover, sizeof leftover, "%s.compacting", f.db);
    snprintf(file, sizeof file, "%s/data.mdb", leftover);
    assert_int_equal(mkdir(leftover, 0777), 0);
    FILE *junk = fopen(file, "w");
    assert_non_null(junk);
    fclose(junk);
    assert_int_equal(dks_writer_open(f.idx, &w, NULL), DKS_OK);
    dks_writer_close(w);
    assert_int_equal(access(leftover, F_OK), -1);
    close_fixture(&f);
    test_rmrf(f.dir);
    free(f.dir);
}

static void test_long_posting_lists_across_blocks(void **state)
{
    (void)state;
    fixture f = {0};
    dks_writer *w;
    open_fresh(&f, "db");
    assert_int_equal(dks_writer_open(f.idx, &w, NULL), DKS_OK);
    /* 1000 documents say "fælles"; every 97th also says "sjælden".  Commit
     * in between, so the lists are appended to across batches. */
    for (unsigned i = 0; i < 1000; i++) {
        char id[32], body[64];
        snprintf(id, sizeof id, "n%u", i);
        snprintf(body, sizeof body, "fælles tekst%s", i % 97 == 0 ? " sjælden" : "");
        dks_document d = {.id = id, .id_len = strlen(id), .body = body, .body_len = strlen(body)};
        assert_int_equal(dks_writer_add(w, &d, NULL, NULL), DKS_OK);
        if (i % 300 == 299)
            assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    }
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_close(w);

    dks_results *r;
    dks_search_options opt = {.limit = 100};
    assert_int_equal(dks_search(f.idx, "fælles", 6, &opt, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_total(r), 1000);
    dks_results_free(r);
    /* The rare term leads the AND and skips through the frequent one's blocks. */
    const char *q = "fælles sjælden";
    assert_int_equal(dks_search(f.idx, q, strlen(q), &opt, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_total(r), 11);  /* 0, 97, ..., 970 */
    dks_results_free(r);
    q = "\"fælles tekst\" -sjælden";
    assert_int_equal(dks_search(f.idx, q, strlen(q), &opt, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_total(r), 989);
    dks_results_free(r);
    close_fixture(&f);
    test_rmrf(f.dir);
    free(f.dir);
}

/* The independent count: every (key, position) the analyser emits for a
 * body, as the writer should count it (one position once per key). */
typedef struct key_count {
    char key[DKS_MAX_KEY_TERM_BYTES + 1];
    size_t len;
    uint32_t positions[64];
    size_t n;
    unsigned long long df, cf;
} key_count;

typedef struct counter {
    key_count keys[256];
    size_t n;
} counter;

static int count_term(const dks_term *t, void *ctx)
{
    counter *c = ctx;
    char key[DKS_MAX_KEY_TERM_BYTES + 1];
    size_t len = dks_term_key(t->kind, t->term, t->term_len, key);
    size_t i = 0;
    while (i < c->n && !(c->keys[i].len == len && memcmp(c->keys[i].key, key, len) == 0))
        i++;
    if (i == c->n) {
        assert_true(c->n < 256);
        memcpy(c->keys[i].key, key, len);
        c->keys[c->n++].len = len;
    }
    key_count *k = &c->keys[i];
    for (size_t j = 0; j < k->n; j++)
        if (k->positions[j] == t->position)
            return 0;
    assert_true(k->n < 64);
    k->positions[k->n++] = t->position;
    return 0;
}

/* Bodies whose terms come out of position order (an elliptical compound's
 * expansion is emitted when its last part is read) and repeat, document
 * after document: the writer's df and cf of every key equal a count made
 * straight from the analyser. */
static void test_term_counts_equal_the_analysers(void **state)
{
    (void)state;
    static const char *const parts[] = {
        "klima-, energi- og forsyningsministeren ", "sundhedsvæsenet ", "cyklen cykel ",
        "Syd- og Sønderjylland ", "skolebørnene ", "velfærd velfærd velfærd ",
        "social- og ældreministeren ", "kommunerne ",
    };
    fixture f = {0};
    dks_writer *w;
    dks_analyzer *an;
    counter *total = calloc(1, sizeof *total);
    assert_non_null(total);
    assert_int_equal(dks_analyzer_new(&an), DKS_OK);
    open_fresh(&f, "db");
    assert_int_equal(dks_writer_open(f.idx, &w, NULL), DKS_OK);
    unsigned x = 5;
    for (unsigned i = 0; i < 400; i++) {
        char id[32], body[1024] = "";
        size_t at = 0;
        for (unsigned k = 0; k < 3 + i % 7; k++) {
            x = x * 1103515245u + 12345u;
            at += (size_t)snprintf(body + at, sizeof body - at, "%s",
                                   parts[(x >> 16) % (sizeof parts / sizeof parts[0])]);
        }
        snprintf(id, sizeof id, "c%u", i);
        dks_document d = {.id = id, .id_len = strlen(id), .body = body, .body_len = at};
        assert_int_equal(dks_writer_add(w, &d, NULL, NULL), DKS_OK);
        counter *doc = calloc(1, sizeof *doc);
        assert_non_null(doc);
        assert_int_equal(dks_analyze(an, body, at, 0, count_term, doc), DKS_OK);
        for (size_t k = 0; k < doc->n; k++) {
            key_count *dk = &doc->keys[k];
            size_t j = 0;
            while (j < total->n && !(total->keys[j].len == dk->len &&
                                     memcmp(total->keys[j].key, dk->key, dk->len) == 0))
                j++;
            if (j == total->n) {
                assert_true(total->n < 256);
                memset(&total->keys[j], 0, sizeof total->keys[j]);
                total->n++;
                memcpy(total->keys[j].key, dk->key, dk->len);
                total->keys[j].len = dk->len;
            }
            total->keys[j].df++;
            total->keys[j].cf += dk->n;
        }
        free(doc);
    }
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_close(w);
    dks_analyzer_free(an);

    dks_txn *t;
    assert_int_equal(dks_txn_begin(dks_index_store(f.idx), 0, &t), DKS_OK);
    for (size_t j = 0; j < total->n; j++) {
        dks_term_stats st;
        assert_int_equal(dks_term_stats_get(t, total->keys[j].key, total->keys[j].len, &st),
                         DKS_OK);
        if (st.df != total->keys[j].df || st.cf != total->keys[j].cf)
            fail_msg("key %.*s: df %llu cf %llu in the index, %llu %llu counted",
                     (int)total->keys[j].len, total->keys[j].key, (unsigned long long)st.df,
                     (unsigned long long)st.cf, total->keys[j].df, total->keys[j].cf);
    }
    dks_txn_abort(t);
    free(total);
    close_fixture(&f);
    test_rmrf(f.dir);
    free(f.dir);
}

static void test_uncommitted_work_is_discarded(void **state)
{
    (void)state;
    fixture f = {0};
    dks_writer *w;
    open_fresh(&f, "db");
    assert_int_equal(dks_writer_open(f.idx, &w, NULL), DKS_OK);
    assert_int_equal(add_doc(w, 1, 0), DKS_OK);
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    assert_int_equal(add_doc(w, 2, 0), DKS_OK);
    assert_int_equal(add_doc(w, 1, 1), DKS_OK);
    dks_writer_close(w);  /* no commit: the batch is dropped */
    dks_index_stats st;
    assert_int_equal(dks_index_stats_get(f.idx, &st), DKS_OK);
    assert_int_equal(st.documents, 1);
    close_fixture(&f);
    test_rmrf(f.dir);
    free(f.dir);
}

static void test_bad_documents_are_refused_alone(void **state)
{
    (void)state;
    fixture f = {0};
    dks_writer *w;
    dks_error_detail err = {0};
    open_fresh(&f, "db");
    assert_int_equal(dks_writer_open(f.idx, &w, NULL), DKS_OK);
    dks_document empty = {.id = "", .body = "tekst", .body_len = 5};
    assert_int_equal(dks_writer_add(w, &empty, NULL, &err), DKS_EINPUT);
    assert_non_null(strstr(err.message, "empty id"));
    char long_id[DKS_MAX_ID_BYTES + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    dks_document lng = {.id = long_id, .id_len = strlen(long_id), .body = "a", .body_len = 1};
    dks_error_clear(&err);
    assert_int_equal(dks_writer_add(w, &lng, NULL, &err), DKS_ELIMIT);
    assert_non_null(strstr(err.message, "longer"));
    /* Over DKS_MAX_DOC_BYTES, in the body or with the fields. */
    char *big = calloc(1, DKS_MAX_DOC_BYTES + 1);
    assert_non_null(big);
    dks_document huge = {.id = "stor", .id_len = 4, .body = big, .body_len = DKS_MAX_DOC_BYTES + 1};
    dks_error_clear(&err);
    assert_int_equal(dks_writer_add(w, &huge, NULL, &err), DKS_ELIMIT);
    assert_non_null(strstr(err.message, "larger than the limit of 32 MiB"));
    dks_field field = {"note", 4, big, DKS_MAX_DOC_BYTES / 2};
    huge = (dks_document){.id = "felt", .id_len = 4, .body = big,
                          .body_len = DKS_MAX_DOC_BYTES / 2, .fields = &field, .n_fields = 1};
    assert_int_equal(dks_writer_add(w, &huge, NULL, &err), DKS_ELIMIT);
    free(big);
    /* The writer goes on. */
    assert_int_equal(add_doc(w, 5, 0), DKS_OK);
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_close(w);
    close_fixture(&f);
    test_rmrf(f.dir);
    free(f.dir);
}

static void test_one_writer_at_a_time(void **state)
{
    (void)state;
    fixture f = {0};
    dks_writer *w1, *w2;
    dks_index *second;
    dks_error_detail err = {0};
    open_fresh(&f, "db");
    assert_int_equal(dks_writer_open(f.idx, &w1, NULL), DKS_OK);
    assert_int_equal(dks_index_open(f.db, DKS_OPEN_WRITE, &second, NULL), DKS_OK);
    assert_int_equal(dks_writer_open(second, &w2, &err), DKS_ELOCKED);
    assert_null(w2);
    assert_non_null(strstr(err.message, "another"));
    dks_writer_close(w1);
    /* Free again once the first writer is gone. */
    assert_int_equal(dks_writer_open(second, &w2, NULL), DKS_OK);
    dks_writer_close(w2);
    dks_index_close(second);
    close_fixture(&f);
    test_rmrf(f.dir);
    free(f.dir);
}

static void test_versions_and_missing_index(void **state)
{
    (void)state;
    fixture f = {0};
    dks_index *idx;
    dks_error_detail err = {0};
    f.dir = test_tmpdir();
    snprintf(f.db, sizeof f.db, "%s/none", f.dir);
    assert_int_equal(dks_index_open(f.db, DKS_OPEN_READ, &idx, &err), DKS_ENOINDEX);
    assert_null(idx);

    open_fresh(&f, "db");
    dks_txn *t;
    dks_meta m;
    assert_int_equal(dks_txn_begin(dks_index_store(f.idx), 1, &t), DKS_OK);
    assert_int_equal(dks_meta_read(t, &m), DKS_OK);
    m.format_version = DKS_FORMAT_VERSION + 1;
    assert_int_equal(dks_meta_write(t, &m), DKS_OK);
    assert_int_equal(dks_txn_commit(t), DKS_OK);
    close_fixture(&f);
    dks_error_clear(&err);
    assert_int_equal(dks_index_open(f.db, DKS_OPEN_READ, &idx, &err), DKS_EVERSION);
    assert_non_null(strstr(err.message, "format version"));
    test_rmrf(f.dir);
    free(f.dir);
}

static void test_replacing_commits_in_batches(void **state)
{
    (void)state;
    fixture f = {0};
    dks_writer *w;
    open_fresh(&f, "db");
    assert_int_equal(dks_writer_open(f.idx, &w, NULL), DKS_OK);
    assert_int_equal(dks_writer_set_commit_docs(w, 0), DKS_EINVAL);
    assert_int_equal(dks_writer_set_commit_docs(w, 2000), DKS_OK);
    /* More documents than one batch holds, then all of them again: the
     * replacements must commit in batches too, not pile up in one. */
    const unsigned n = 5000;
    for (int round = 0; round < 2; round++)
        for (unsigned i = 0; i < n; i++) {
            char id[32];
            snprintf(id, sizeof id, "r%u", i);
            dks_document d = {.id = id, .id_len = strlen(id), .body = round ? "ny" : "gammel",
                              .body_len = round ? 2 : 6};
            assert_int_equal(dks_writer_add(w, &d, NULL, NULL), DKS_OK);
        }
    dks_writer_stats st;
    dks_writer_stats_get(w, &st);
    assert_int_equal(st.replaced, n);
    assert_int_equal(st.commits, 2 * n / 2000);  /* a batch each 2,000 documents */
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    dks_writer_close(w);
    dks_results *r;
    dks_search_options count_all = {.exact_total = 1};
    assert_int_equal(dks_search(f.idx, "ny", 2, &count_all, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_total(r), n);
    dks_results_free(r);
    close_fixture(&f);
    test_rmrf(f.dir);
    free(f.dir);
}

static void test_terms_too_long_for_a_key_are_skipped(void **state)
{
    (void)state;
    fixture f = {0};
    dks_writer *w;
    open_fresh(&f, "db");
    assert_int_equal(dks_writer_open(f.idx, &w, NULL), DKS_OK);
    /* U+0587 is two bytes but folds to four: a token under the byte limit
     * becomes a term over LMDB's key size.  The term is left out; the
     * document and the rest of the batch are kept. */
    char body[600] = "hus ";
    size_t at = strlen(body);
    for (int i = 0; i < 127; i++, at += 2)
        memcpy(body + at, "\xD6\x87", 2);
    body[at] = '\0';
    dks_document d = {.id = "lang", .id_len = 4, .body = body, .body_len = at};
    dks_document ok = {.id = "ok", .id_len = 2, .body = "hus", .body_len = 3};
    assert_int_equal(dks_writer_add(w, &ok, NULL, NULL), DKS_OK);
    assert_int_equal(dks_writer_add(w, &d, NULL, NULL), DKS_OK);
    assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    assert_int_equal(dks_writer_failed(w), 0);
    dks_writer_close(w);
    dks_results *r;
    assert_int_equal(dks_search(f.idx, "hus", 3, NULL, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_total(r), 2);
    dks_results_free(r);
    /* Searching for the long word itself finds nothing, without an error. */
    assert_int_equal(dks_search(f.idx, body + 4, at - 4, NULL, &r, NULL), DKS_OK);
    assert_int_equal(dks_results_total(r), 0);
    dks_results_free(r);
    close_fixture(&f);
    test_rmrf(f.dir);
    free(f.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_updates_keep_statistics_exact),
        cmocka_unit_test(test_long_posting_lists_across_blocks),
        cmocka_unit_test(test_two_threads_build_the_same_index),
        cmocka_unit_test(test_bulk_load_compacts_alike_on_two_threads),
        cmocka_unit_test(test_two_threads_flush_many_terms_alike),
        cmocka_unit_test(test_many_commits_merge_generations),
        cmocka_unit_test(test_map_grows_before_it_fills),
        cmocka_unit_test(test_compaction_keeps_the_index),
        cmocka_unit_test(test_compaction_begun_and_abandoned),
        cmocka_unit_test(test_term_counts_equal_the_analysers),
        cmocka_unit_test(test_uncommitted_work_is_discarded),
        cmocka_unit_test(test_bad_documents_are_refused_alone),
        cmocka_unit_test(test_one_writer_at_a_time),
        cmocka_unit_test(test_versions_and_missing_index),
        cmocka_unit_test(test_replacing_commits_in_batches),
        cmocka_unit_test(test_terms_too_long_for_a_key_are_skipped),
    };
    return cmocka_run_group_tests_name("writer", tests, NULL, NULL);
}
