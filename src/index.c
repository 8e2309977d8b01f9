/*
 * index.c - the dks_index handle: opens the store, checks the format and
 * analyzer versions, creates the metadata of a new index, and reports
 * collection statistics.  Searching (search.c) and writing (writer.c)
 * start from this handle.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "dks_int.h"

/* Making an analyzer (its stemmer, its buffers) costs about as much as
 * analysing a short query, so searches leave theirs to the next ones.
 * The spares are taken and given back by atomic exchange: searches on
 * many threads share them without a lock. */
#define SPARE_ANALYZERS 4

struct dks_index {
    dks_store *store;
    int mode;
    _Atomic(void *) text_dict;  /* made by the first search that needs it */
    _Atomic(dks_analyzer *) spare[SPARE_ANALYZERS];
    /* Every document's length, for the searches of the newest snapshot
     * they ran on; read once a second search runs on the same one (a
     * single search reads fewer lengths than making it does). */
    pthread_mutex_t lengths_lock;
    dks_length_table *lengths;      /* holds a reference; NULL: none yet */
    dks_snapshot lengths_asked;     /* of the last search that went without */
    /* A snapshot whose lengths database did not read as a table: its
     * searches go without one, as the first of each does, and meet the
     * damage only where they read the damaged chunk.  (Zero, as
     * lengths_asked starts, is no search's: a search needs a commit.) */
    dks_snapshot lengths_unreadable;
};

int dks_index_lengths_take(dks_index *index, dks_txn *t, const dks_length_table **out)
{
    *out = NULL;
    dks_snapshot at = dks_txn_snapshot(t);
    pthread_mutex_lock(&index->lengths_lock);
    dks_length_table *lt = index->lengths;
    int build = 0;
    if (lt && dks_snapshot_cmp(lt->snapshot, at) == 0) {
        lt->refs++;
        *out = lt;
    } else if (dks_snapshot_cmp(index->lengths_unreadable, at) == 0) {
        /* tried once: not again for every search */
    } else {
        build = dks_snapshot_cmp(index->lengths_asked, at) == 0;
        index->lengths_asked = at;
    }
    pthread_mutex_unlock(&index->lengths_lock);
    if (!build)
        return DKS_OK;
    /* (outside the lock: other searches go on meanwhile) */
    int rc = dks_length_table_build(t, &lt);
    if (rc == DKS_ECORRUPT) {
        pthread_mutex_lock(&index->lengths_lock);
        index->lengths_unreadable = at;
        pthread_mutex_unlock(&index->lengths_lock);
    }
    if (rc)
        return rc == DKS_ENOMEM || rc == DKS_ECORRUPT ? DKS_OK : rc;
    pthread_mutex_lock(&index->lengths_lock);
    dks_length_table *held = index->lengths;
    if (held && dks_snapshot_cmp(held->snapshot, at) == 0) {
        dks_length_table_free(lt);  /* another search made it first */
        lt = held;
        lt->refs++;
    } else if (!held || dks_snapshot_cmp(held->snapshot, at) < 0) {
        lt->refs = 2;               /* the index's and the caller's */
        index->lengths = lt;
        if (held && --held->refs == 0)
            dks_length_table_free(held);
    } else {
        lt->refs = 1;               /* the index keeps a newer one */
    }
    pthread_mutex_unlock(&index->lengths_lock);
    *out = lt;
    return DKS_OK;
}

void dks_index_lengths_give(dks_index *index, const dks_length_table *table)
{
    if (!table)
        return;
    dks_length_table *lt = (dks_length_table *)table;
    pthread_mutex_lock(&index->lengths_lock);
    int last = --lt->refs == 0;
    pthread_mutex_unlock(&index->lengths_lock);
    if (last)
        dks_length_table_free(lt);
}

int dks_index_analyzer_take(dks_index *index, unsigned features, dks_analyzer **out)
{
    for (size_t i = 0; i < SPARE_ANALYZERS; i++) {
        dks_analyzer *an = atomic_exchange(&index->spare[i], NULL);
        if (an && dks_analyzer_features(an) == features) {
            *out = an;
            return DKS_OK;
        }
        dks_analyzer_free(an);  /* made for other features: the index's changed */
    }
    return dks_analyzer_new_with(features, out);
}

void dks_index_analyzer_give(dks_index *index, dks_analyzer *an)
{
    if (!an)
        return;
    dks_analyzer_reset(an);
    for (size_t i = 0; i < SPARE_ANALYZERS; i++) {
        dks_analyzer *empty = NULL;
        if (atomic_compare_exchange_strong(&index->spare[i], &empty, an))
            return;
    }
    dks_analyzer_free(an);
}

_Atomic(void *) *dks_index_text_dict(dks_index *index)
{
    return &index->text_dict;
}

dks_store *dks_index_store(dks_index *index)
{
    return index->store;
}

int dks_index_writable(const dks_index *index)
{
    return index->mode & DKS_OPEN_WRITE;
}

/* Reads and checks the metadata; a new writable index gets fresh metadata. */
static int check_meta(dks_index *idx, const char *path, dks_error_detail *err)
{
    dks_txn *t;
    dks_meta m;
    int rc = dks_txn_begin(idx->store, 0, &t);
    if (rc)
        return dks_fail(err, rc, -1, "cannot read index %s: %s", path, dks_strerror(rc));
    rc = dks_meta_read(t, &m);
    /* Only an index that was never written to lacks the record: one
     * whose documents are there has lost it. */
    const void *doc_key;
    size_t doc_key_len;
    if (rc == 1 && dks_kv_last(t, DKS_DB_DOCS, &doc_key, &doc_key_len) != 1)
        rc = DKS_ECORRUPT;
    dks_txn_abort(t);
    if (rc == DKS_EVERSION)
        return dks_fail(err, rc, -1,
                        "index %s has format version %u; this dksearch reads version %u "
                        "(rebuild the index)", path, m.format_version, DKS_FORMAT_VERSION);
    if (rc == 1 && !(idx->mode & DKS_OPEN_WRITE))
        return dks_fail(err, DKS_ENOINDEX, -1, "no index at %s (nothing was indexed)", path);
    if (rc == 1) {
        dks_meta fresh = {
            .format_version = DKS_FORMAT_VERSION,
            .analyzer_version = DKS_ANALYZER_VERSION,
            .features = DKS_ANALYSIS_ALL,
        };
        if ((rc = dks_txn_begin(idx->store, 1, &t)))
            return dks_fail(err, rc, -1, "cannot write index %s: %s", path, dks_strerror(rc));
        if ((rc = dks_meta_write(t, &fresh))) {
            dks_txn_abort(t);
            return dks_fail(err, rc, -1, "cannot write index %s: %s", path, dks_strerror(rc));
        }
        rc = dks_txn_commit(t);
        return rc ? dks_fail(err, rc, -1, "cannot write index %s: %s", path, dks_strerror(rc))
                  : DKS_OK;
    }
    if (rc == DKS_ECORRUPT)
        return dks_fail(err, rc, -1, "the index at %s is corrupt (reading its meta record)", path);
    if (rc)
        return dks_fail(err, rc, -1, "cannot read index %s: %s", path, dks_strerror(rc));
    if (m.analyzer_version != DKS_ANALYZER_VERSION && (idx->mode & DKS_OPEN_WRITE))
        return dks_fail(err, DKS_EVERSION, -1,
                        "index %s was built with analyzer version %u, this dksearch has "
                        "version %u (rebuild the index)", path, m.analyzer_version,
                        DKS_ANALYZER_VERSION);
    return DKS_OK;
}

int dks_index_open(const char *path, int mode, dks_index **out, dks_error_detail *err)
{
    *out = NULL;
    if (!path || (mode != DKS_OPEN_READ && mode != DKS_OPEN_WRITE && mode != DKS_OPEN_CREATE))
        return dks_fail(err, DKS_EINVAL, -1, "invalid arguments to dks_index_open");
    dks_index *idx = calloc(1, sizeof *idx);
    if (!idx)
        return DKS_ENOMEM;
    pthread_mutex_init(&idx->lengths_lock, NULL);
    idx->mode = mode;
    int rc = dks_store_open(path, mode, &idx->store, err);
    if (!rc)
        rc = check_meta(idx, path, err);
    if (rc) {
        dks_index_close(idx);
        return rc;
    }
    *out = idx;
    return DKS_OK;
}

void dks_index_close(dks_index *index)
{
    if (!index)
        return;
    dks_store_close(index->store);
    dks_text_dict_free(atomic_load(&index->text_dict));
    for (size_t i = 0; i < SPARE_ANALYZERS; i++)
        dks_analyzer_free(atomic_load(&index->spare[i]));
    /* every search has given its reference back */
    dks_length_table_free(index->lengths);
    pthread_mutex_destroy(&index->lengths_lock);
    free(index);
}

/* The metadata as of the last commit. */
static int read_meta(dks_index *index, dks_meta *m)
{
    dks_txn *t;
    int rc = dks_txn_begin(index->store, 0, &t);
    if (rc)
        return rc;
    rc = dks_meta_read(t, m);
    dks_txn_abort(t);
    return rc == 1 ? DKS_ENOINDEX : rc;
}

int dks_index_analysis(dks_index *index, unsigned *features)
{
    dks_meta m;
    int rc = read_meta(index, &m);
    if (!rc)
        *features = m.features;
    return rc;
}

int dks_index_set_analysis(dks_index *index, unsigned features)
{
    if (!(index->mode & DKS_OPEN_WRITE) || (features & ~(unsigned)DKS_ANALYSIS_ALL))
        return DKS_EINVAL;
    dks_txn *t;
    dks_meta m;
    int rc = dks_txn_begin(index->store, 1, &t);
    if (rc)
        return rc;
    rc = dks_meta_read(t, &m);
    if (rc == 1)
        rc = DKS_ECORRUPT;
    if (!rc && m.features != features) {
        /* Documents analysed one way cannot be searched the other way. */
        if (m.next_doc > 0)
            rc = DKS_EINVAL;
        else {
            m.features = features;
            rc = dks_meta_write(t, &m);
        }
    }
    if (rc) {
        dks_txn_abort(t);
        return rc;
    }
    return dks_txn_commit(t);
}

int dks_index_stats_get(dks_index *index, dks_index_stats *out)
{
    dks_meta m;
    int rc = read_meta(index, &m);
    if (rc)
        return rc;
    out->documents = m.doc_count;
    out->terms = m.term_count;
    out->tokens = m.total_len;
    out->size_bytes = dks_store_size(index->store);
    dks_txn *t;
    if ((rc = dks_txn_begin(index->store, 0, &t)))
        return rc;
    uint64_t docs = 0, ids = 0;
    out->postings_bytes = 0;
    rc = dks_store_db_bytes(t, DKS_DB_TEXT, &out->text_bytes);
    if (!rc)
        rc = dks_store_db_bytes(t, DKS_DB_DOCS, &docs);
    if (!rc)
        rc = dks_store_db_bytes(t, DKS_DB_IDS, &ids);
    if (!rc)
        rc = dks_store_db_bytes(t, DKS_DB_TERMS, &out->terms_bytes);
    for (unsigned i = 0; !rc && i < m.n_gens; i++) {
        uint64_t b;
        if (!(rc = dks_store_db_bytes(t, dks_db_postings(m.gen_slot[i]), &b)))
            out->postings_bytes += b;
    }
    out->store_bytes = out->text_bytes + docs + ids;
    dks_txn_abort(t);
    return rc;
}

int dks_index_replaced(dks_index *index)
{
    return dks_store_replaced(index->store);
}

/* Reads an entry, so that its pages are mapped: summed into *arg. */
static int touch_entry(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
    uint64_t *sum = arg;
    *sum += kl + vl + (kl ? *(const unsigned char *)k : 0) +
            (vl ? ((const unsigned char *)v)[vl - 1] : 0);
    return DKS_OK;
}

/* Reads every entry of a database as of t. */
static int touch_db(dks_txn *t, dks_db db, uint64_t *sum)
{
    return dks_db_walk(t, db, touch_entry, sum);
}

int dks_index_warm(dks_index *index, dks_error_detail *err)
{
    dks_txn *t;
    dks_text_reader *r = NULL;
    /* summed and kept, so that the reads are not left out as unused */
    volatile uint64_t kept;
    uint64_t sum = 0;
    int rc = dks_txn_begin(index->store, 0, &t);
    if (!rc)
        rc = touch_db(t, DKS_DB_TERMS, &sum);
    if (!rc)
        rc = touch_db(t, DKS_DB_LENGTHS, &sum);
    if (!rc)
        rc = dks_text_reader_new(index, &r);
    if (!rc)
        rc = dks_text_reader_prepare(r, t);
    dks_text_reader_free(r);
    if (t)
        dks_txn_abort(t);
    kept = sum + dks_lexicon_touch();
    (void)kept;
    return rc ? dks_fail(err, rc, -1, "cannot read the index: %s", dks_strerror(rc)) : DKS_OK;
}

int dks_index_commit_id(dks_index *index, uint64_t *out)
{
    return dks_store_last_commit(index->store, out);
}
