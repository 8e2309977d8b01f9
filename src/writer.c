/*
 * writer.c - adds, replaces and deletes documents.
 *
 * The analyzer turns each document into (key id, position) pairs, ids of
 * the run's term dictionary (termdict.c).  The writer inverts them into a
 * stream per term in memory and, when the batch is flushed, writes the
 * streams in key order as blocks of a new posting generation (plist.c),
 * or, for a term whose postings stay one short block, into its
 * statistics.  Document records, ids, stored text and lengths go straight
 * into the open write transaction.  dks_writer_commit then merges
 * generations (settle_generations), and after a bulk load rewrites the
 * index without the pages the merges freed (maybe_compact).
 *
 * Each batch is one LMDB write transaction of bounded size (see the
 * memory budget below); a crash loses at most the batch in progress, never
 * the index.
 *
 * Deleting a document (also when a new one replaces it) re-analyses its
 * stored title and text to find its terms, removes it from each term's
 * block and lowers the term statistics, so document frequencies and
 * lengths always describe exactly the live documents.  That is why an
 * index refuses a writer of another analyzer version (index.c).
 *
 * After an error from the store the transaction is aborted and the writer
 * refuses further work: what was committed stays, the batch is lost.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dks_int.h"

/* A batch is committed when its documents reach a number (this, unless
 * dks_writer_set_commit_docs says less), or its text or the postings it
 * holds in memory their shares of the writer's memory budget
 * (dks_writer_set_memory): the text is stored in the batch's write
 * transaction, whose pages LMDB keeps in memory until the commit.  The
 * rest of the budget goes to the term dictionary, the word caches, and
 * the transactions of merges and compactions.
 *
 * Batches are as large as the budget allows because each costs a flush
 * that rewrites the statistics of every term it holds (most of them rare
 * ones, the same in every batch) and a generation the end merges: on the
 * 200 MiB benchmark corpus, batches of 20,000 documents and 32 MiB of
 * text took about a tenth longer to index, on one thread and on two,
 * than the ~57,000 documents that 85 MiB of text holds. */
#define DKS_BATCH_DOCS 100000
/* Before every write transaction the map is grown to leave this much
 * free, and twice the memory budget if that is more: a batch writes at
 * most its text and postings shares of the budget (and their B-tree
 * pages), a merge or compaction step an eighth of it, so no transaction
 * ever meets a full map (MDB_MAP_FULL) half way, however large the index
 * grows. */
#define DKS_BATCH_MAP_HEADROOM ((size_t)1 << 30)
#define DKS_DEFAULT_MEMORY ((size_t)512 << 20)
#define DKS_MIN_MEMORY ((size_t)64 << 20)
#define TEXT_SHARE 6        /* of the budget: 85 MiB of text for 512 MiB (compressed
                             * to about 35 MiB in the transaction) */
#define POSTINGS_SHARE 4    /* 128 MiB of postings */
#define MERGE_SHARE 8       /* 64 MiB written per merge transaction */
#define PIPELINE_SHARE 32   /* 16 MiB of documents waiting for analysis, or analysed
                             * and waiting for the writer (their terms about as much
                             * again) */
/* The dictionary that deleted documents are analysed with starts afresh
 * past this, so that deleting many documents does not hold all their
 * words. */
#define DELETE_DICT_BYTES ((size_t)16 << 20)

/* The batch's postings: a stream of varints per term in a pool of pages.
 * (local doc gap << 1 | 1) starts a document (the gap from the term's
 * previous document in the batch, counting local docs from 1), and
 * (position gap << 1) follows for each of its positions, the first from
 * 0.  A stream is a chain of slices that double in size, so a rare term
 * costs a few bytes and a common one few jumps; the 4 bytes after a
 * slice's data hold the pool offset of the next slice. */
#define POOL_PAGE_BITS 21            /* a huge page each (huge.c) */
#define POOL_PAGE ((uint32_t)1 << POOL_PAGE_BITS)
#define POOL_MAX_PAGES 2047          /* pool offsets are 32 bits */
#define SLICE_FIRST 16u
#define SLICE_MAX_LEVEL 8u           /* 16 << 8: 4 KiB */
#define SLICE_LINK 4u
#define STREAM_VALUE_BYTES 5u        /* a value is below 2^35 */

typedef struct term_state {
    uint32_t last;       /* local doc + 1 of the term's last document; 0: not in the batch */
    uint32_t pos;        /* its last position there */
    uint32_t head, tail, end;  /* stream: first byte, next byte, end of the slice's data */
    uint16_t level;      /* of the slice being written */
    uint16_t no_positions;  /* its key records none: each occurrence after the first is a 0 */
} term_state;

/* A document of the batch. */
typedef struct batch_doc {
    uint32_t len;        /* its length in tokens */
    uint32_t dead;       /* deleted again before the flush: its postings are left out */
} batch_doc;

/* A source from dks_writer_source_begin until its record is written:
 * once it has ended and the pipeline has added all its documents. */
typedef struct pending_source {
    struct pending_source *next;
    char path[DKS_MAX_SOURCE_BYTES];
    size_t path_len;
    dks_source_info info;
    dks_buf ids;           /* of its documents added, as the record lists them */
    uint64_t n_ids;
    uint64_t in_flight;    /* its documents in the pipeline */
    int ended;
} pending_source;

/* A stream read back: the bytes of its current slice, and of its end
 * where that lies in this slice.  The end is kept as a pool offset
 * (stop_at) too, since slices lie on different pages: each slice entered
 * finds stop from it. */
typedef struct stream_reader {
    const unsigned char *p, *end, *stop;  /* stop NULL: not in this slice */
    uint32_t stop_at, level;
} stream_reader;

struct dks_writer {
    dks_index *index;
    dks_store *store;
    dks_termdict *dict;    /* the keys of the documents added */
    dks_analyzer *an;      /* adds documents on this thread, into dict */
    dks_termdict *del_dict;  /* deleted documents are analysed into this... */
    dks_analyzer *del_an;    /* ...by this, on this thread */
    dks_lexicon lexicon;     /* a copy in huge pages, for every analyzer here */
    dks_txn *txn;
    dks_meta meta;
    int locked;            /* this writer holds the store's writer lock */
    int failed;

    /* the batch in memory */
    term_state *terms;     /* by key id */
    size_t terms_cap;
    uint32_t *batch_terms; /* ids with postings in the batch, in order of appearance */
    size_t n_batch_terms, batch_terms_cap;
    unsigned char **pages; /* the stream pool */
    size_t n_pages, pages_cap, live_pages;
    uint32_t page_used;    /* in the last live page */
    batch_doc *docs;       /* the batch's documents, by local doc (id - pending_from) */
    size_t n_docs, docs_cap;
    size_t memory;         /* the budget: see DKS_DEFAULT_MEMORY */
    size_t commit_docs;    /* documents in a batch at most */
    uint64_t merged_bytes; /* of the generations merged since the last compaction */
    uint64_t compacted_at; /* stats.bytes + deleted_bytes then */
    uint64_t deleted_bytes;  /* title and text of the documents deleted */
    size_t batch_bytes;    /* text added since the last commit */
    uint32_t pending_from; /* documents from this id on have postings in memory */

    dks_pipeline *pipeline;       /* with dks_writer_set_threads(w, 2) */
    dks_doc_terms terms_scratch;  /* a document analysed on this thread */
    dks_doc_terms deleted_terms;  /* a document analysed again to delete it */
    dks_text_encoder *enc;        /* made with the first document */
    dks_buf text;                 /* a text encoded */
    void *text_dict;              /* the index's text dictionary when the writer opened it */
    size_t text_dict_len;
    dks_text_reader *text_reader; /* for the texts of documents it deletes */
    dks_buf scratch;
    dks_buf fields;        /* the added document's fields, encoded */
    dks_block_data block;
    dks_block_data merge_in;      /* a source block of a merge, decoded */
    pending_source *sources, *sources_tail;  /* in the order they began */
    pending_source *open_source;  /* the one documents are added to now */
    dks_buf record;               /* a source record being written */
    dks_writer_stats stats;
};

static size_t map_headroom(const dks_writer *w)
{
    return w->memory * 2 > DKS_BATCH_MAP_HEADROOM ? w->memory * 2 : DKS_BATCH_MAP_HEADROOM;
}

/* ---- the in-memory batch ---------------------------------------------- */

static unsigned char *pool_at(const dks_writer *w, uint32_t at)
{
    return w->pages[at >> POOL_PAGE_BITS] + (at & (POOL_PAGE - 1));
}

/* `size` bytes of the pool, for a slice; pages are kept from batch to
 * batch. */
static int pool_alloc(dks_writer *w, uint32_t size, uint32_t *at)
{
    if (w->live_pages == 0 || w->page_used + size > POOL_PAGE) {
        if (w->live_pages == w->n_pages) {
            if (w->n_pages == POOL_MAX_PAGES)
                return DKS_ELIMIT;
            if (dks_grow(&w->pages, w->n_pages, &w->pages_cap, sizeof *w->pages, 16))
                return DKS_ENOMEM;
            if (!(w->pages[w->n_pages] = dks_huge_alloc(POOL_PAGE)))
                return DKS_ENOMEM;
            w->n_pages++;
        }
        w->live_pages++;
        w->page_used = 0;
    }
    *at = (uint32_t)(w->live_pages - 1) << POOL_PAGE_BITS | w->page_used;
    w->page_used += size;
    return DKS_OK;
}

static int stream_start(dks_writer *w, term_state *st)
{
    int rc = pool_alloc(w, SLICE_FIRST, &st->head);
    st->tail = st->head;
    st->end = st->head + SLICE_FIRST - SLICE_LINK;
    st->level = 0;
    return rc;
}

static int stream_put(dks_writer *w, term_state *st, uint64_t v)
{
    if (st->end - st->tail < STREAM_VALUE_BYTES) {
        if (st->level < SLICE_MAX_LEVEL)
            st->level++;
        uint32_t size = SLICE_FIRST << st->level, next;
        int rc = pool_alloc(w, size, &next);
        if (rc)
            return rc;
        memcpy(pool_at(w, st->end), &next, SLICE_LINK);
        st->tail = next;
        st->end = next + size - SLICE_LINK;
    }
    st->tail += (uint32_t)dks_varint_encode(pool_at(w, st->tail), v);
    return DKS_OK;
}

/* Moves r to the slice of pool bytes at..end. */
static void stream_enter(const dks_writer *w, stream_reader *r, uint32_t at, uint32_t end)
{
    r->p = pool_at(w, at);
    r->end = r->p + (end - at);
    r->stop = r->stop_at >= at && r->stop_at <= end ? r->p + (r->stop_at - at) : NULL;
}

static stream_reader stream_open(const dks_writer *w, const term_state *st)
{
    stream_reader r = {.stop_at = st->tail};
    stream_enter(w, &r, st->head, st->head + SLICE_FIRST - SLICE_LINK);
    return r;
}

/* The next value of a stream the writer made (its own memory: trusted);
 * 0 at the end.  Inline: a flush reads every value of the batch. */
static inline int stream_get(const dks_writer *w, stream_reader *r, uint64_t *v)
{
    if (r->p == r->stop)
        return 0;
    if (r->end - r->p < STREAM_VALUE_BYTES) {  /* the writer moved on here */
        if (r->level < SLICE_MAX_LEVEL)
            r->level++;
        uint32_t next;
        memcpy(&next, r->end, SLICE_LINK);
        stream_enter(w, r, next, next + (SLICE_FIRST << r->level) - SLICE_LINK);
    }
    const unsigned char *p = r->p;
    uint64_t x = p[0] & 0x7f;
    unsigned n = 1;
    for (unsigned shift = 7; p[n - 1] & 0x80; shift += 7, n++)
        x |= (uint64_t)(p[n] & 0x7f) << shift;
    r->p = p + n;
    *v = x;
    return 1;
}

/* Gives back the stream pool's pages (reset_batch keeps them). */
static void free_pool(dks_writer *w)
{
    for (size_t i = 0; i < w->n_pages; i++)
        dks_huge_free(w->pages[i], POOL_PAGE);
    w->n_pages = 0;
}

/* Forgets the batch's postings, keeping the memory for the next. */
static void reset_batch(dks_writer *w)
{
    for (size_t i = 0; i < w->n_batch_terms; i++)
        memset(&w->terms[w->batch_terms[i]], 0, sizeof *w->terms);
    w->n_batch_terms = 0;
    w->live_pages = 0;
    w->page_used = 0;
    w->n_docs = 0;
}

/* Room for the state of key id `id`. */
static int terms_reserve(dks_writer *w, uint32_t id)
{
    if (id < w->terms_cap)
        return DKS_OK;
    size_t cap = w->terms_cap ? w->terms_cap : 1 << 16;
    while (cap <= id)
        cap *= 2;
    term_state *t = dks_huge_realloc(w->terms, w->terms_cap * sizeof *t, cap * sizeof *t);
    if (!t)
        return DKS_ENOMEM;
    w->terms = t;
    w->terms_cap = cap;
    return DKS_OK;
}

/* Orders a document's pairs by position.  The analyzer emits them almost
 * in order (field keys at position 0 after the title's words, and the
 * expansions of hyphenated and elliptical words a few words late), so an
 * insertion sort moves each pair a few places at most. */
static void sort_by_position(dks_term_pair *p, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        dks_term_pair x = p[i];
        size_t j = i;
        while (j > 0 && p[j - 1].position > x.position) {
            p[j] = p[j - 1];
            j--;
        }
        p[j] = x;
    }
}

/* How far ahead invert() fetches term states and stream tails: each pair
 * touches a random one of them, and waiting for memory one pair at a time
 * would cost more than all the rest of inverting. */
#define PREFETCH_STATES 16
#define PREFETCH_TAILS 8

/* Adds an analysed document's postings to the batch as local doc `local`. */
static int invert(dks_writer *w, dks_doc_terms *dt, uint32_t local)
{
    sort_by_position(dt->pairs, dt->n);
    int rc = dt->n ? terms_reserve(w, dt->max_id) : DKS_OK;
    for (size_t i = 0; i < dt->n && !rc; i++) {
        if (i + PREFETCH_STATES < dt->n)
            __builtin_prefetch(&w->terms[dt->pairs[i + PREFETCH_STATES].id]);
        if (i + PREFETCH_TAILS < dt->n) {
            const term_state *ahead = &w->terms[dt->pairs[i + PREFETCH_TAILS].id];
            if (ahead->last)
                __builtin_prefetch(pool_at(w, ahead->tail), 1);
        }
        uint32_t id = dt->pairs[i].id, pos = dt->pairs[i].position;
        term_state *st = &w->terms[id];
        if (st->last != local + 1) {
            if (st->last == 0) {
                size_t kl;
                const char *key = dks_termdict_key(w->dict, id, &kl);
                if ((rc = dks_grow(&w->batch_terms, w->n_batch_terms, &w->batch_terms_cap,
                                   sizeof *w->batch_terms, 4096)) ||
                    (rc = stream_start(w, st)))
                    break;
                st->no_positions = !dks_key_has_positions(key, kl);
                w->batch_terms[w->n_batch_terms++] = id;
            }
            rc = stream_put(w, st, (uint64_t)(local + 1 - st->last) << 1 | 1);
            if (!rc)
                rc = stream_put(w, st, st->no_positions ? 0 : (uint64_t)pos << 1);
            st->last = local + 1;
            st->pos = pos;
        } else if (pos != st->pos) {  /* equal: two terms of one token, one position */
            rc = stream_put(w, st, st->no_positions ? 0 : (uint64_t)(pos - st->pos) << 1);
            st->pos = pos;
        }
    }
    return rc;
}

/* Memory the batch holds, for the writer's bound. */
static size_t batch_memory(const dks_writer *w)
{
    return w->live_pages * (size_t)POOL_PAGE + w->terms_cap * sizeof *w->terms;
}

/* ---- writing a batch's postings as a generation ------------------------ */

/* Finds the block of `term` in database db that would hold `doc` (the
 * last block whose first document is <= doc).  Returns 1 if the term has
 * no such block. */
static int find_block(dks_writer *w, dks_db db, const char *term, size_t len, uint32_t doc,
                      dks_block_header *h)
{
    unsigned char key[DKS_MAX_TERM_BYTES + 5];
    size_t kl = dks_postings_key(key, term, len, doc);
    dks_cursor *c;
    const void *k, *v;
    size_t klen, vlen;
    int rc = dks_cursor_open(w->txn, db, &c);
    if (rc)
        return rc;
    rc = dks_cursor_seek(c, key, kl, &k, &klen, &v, &vlen);
    if (rc == 0 && !(klen == kl && memcmp(k, key, kl) == 0))
        rc = dks_cursor_prev(c, &k, &klen, &v, &vlen);
    else if (rc == 1)
        rc = dks_cursor_last(c, &k, &klen, &v, &vlen);
    if (rc == 0) {
        size_t tl;
        uint32_t first;
        rc = dks_postings_key_parse(k, klen, &tl, &first);
        if (rc == 0 && (tl != len || memcmp(k, term, len) != 0))
            rc = 1;
        if (rc == 0)
            rc = dks_block_parse(v, vlen, first, h);
    }
    dks_cursor_close(c);
    return rc;
}

/* Stores an encoded block of `term` whose first document is first;
 * append: it goes after every key of db (see dks_kv_append). */
static int put_encoded(dks_writer *w, dks_db db, const char *term, size_t len, uint32_t first,
                       const void *value, size_t value_len, int append)
{
    unsigned char key[DKS_MAX_TERM_BYTES + 5];
    size_t kl = dks_postings_key(key, term, len, first);
    return append ? dks_kv_append(w->txn, db, key, kl, value, value_len)
                  : dks_kv_put(w->txn, db, key, kl, value, value_len);
}

static int put_block(dks_writer *w, dks_db db, const char *term, size_t len,
                     dks_block_data *b, int append)
{
    int rc = dks_block_encode(b, &w->scratch);
    return rc ? rc : put_encoded(w, db, term, len, b->docs[0], w->scratch.data,
                                 w->scratch.len, append);
}

/* Where write_stream hands each block that fills: written at once, or
 * packed for the writer to write later (see flush_packer). */
typedef int (*block_sink)(void *ctx, dks_block_data *b);

/* Appends a term's stream to the block b (which may hold the term's
 * documents before), handing a full block to sink when a live document
 * follows it, so that the last block, with a document at least, stays in
 * b; documents deleted since they were added are left out.
 * Counts what it added.  Reads only what a flush leaves alone, so that
 * two threads can read streams at once. */
static int write_stream(const dks_writer *w, dks_block_data *b, const term_state *st,
                        block_sink sink, void *ctx, uint64_t *df, uint64_t *cf)
{
    *df = *cf = 0;
    stream_reader r = stream_open(w, st);
    uint64_t v;
    int more = stream_get(w, &r, &v), rc = DKS_OK;  /* the first document's gap */
    uint32_t local = 0;
    while (more && !rc) {
        local += (uint32_t)(v >> 1);
        int dead = w->docs[local - 1].dead;
        if (!dead && b->n == DKS_BLOCK_DOCS) {
            if ((rc = sink(ctx, b)))
                return rc;
            b->n = 0;
            b->pos_n = 0;
        }
        size_t mark = b->pos_n;
        uint32_t tf = 0, pos = 0;
        while ((more = stream_get(w, &r, &v)) && !(v & 1) && !rc) {
            /* the first position as it is, the others as gaps */
            pos = tf ? pos + (uint32_t)(v >> 1) : (uint32_t)(v >> 1);
            if (!st->no_positions && !(rc = dks_block_pos_reserve(b, 1)))
                b->pos[b->pos_n++] = pos;
            tf++;
        }
        if (dead) {
            b->pos_n = mark;
            continue;
        }
        b->docs[b->n] = w->pending_from + local - 1;
        b->tfs[b->n] = tf;
        b->lens[b->n] = w->docs[local - 1].len;
        b->n++;
        (*df)++;
        *cf += tf;
    }
    return rc;
}

/* A full block of a term, written at the end of its generation. */
typedef struct put_sink {
    dks_writer *w;
    dks_db db;
    const char *key;
    size_t len;
    int spilled;
} put_sink;

static int put_full_block(void *ctx, dks_block_data *b)
{
    put_sink *s = ctx;
    s->spilled = 1;
    return put_block(s->w, s->db, s->key, s->len, b, 1);
}

/* A term's statistics before the flush adds to them; *is_new if it has
 * none.  append: the term sorts above every term of the index. */
static int read_term_stats(dks_writer *w, const char *key, size_t len, int append,
                           dks_term_stats *stats, int *is_new)
{
    *stats = (dks_term_stats){0};
    int rc = append ? 1 : dks_term_stats_get(w->txn, key, len, stats);
    *is_new = rc == 1;
    return *is_new ? DKS_OK : rc;
}

/* Ends a term's flush once the blocks before its last are written: adds
 * the batch's df and cf to its statistics, and keeps the last block
 * (encoded in last, of first document `first`) there if it is short and
 * the term has no other, else writes it into generation db.  spilled: a
 * block went into db before. */
static int finish_term(dks_writer *w, dks_db db, const char *key, size_t len,
                       dks_term_stats *stats, int is_new, uint64_t df, uint64_t cf,
                       const unsigned char *last, size_t last_len, uint32_t first, int spilled,
                       int append, int *wrote)
{
    if (df == 0)
        return DKS_OK;  /* every document of the batch with it was deleted again */
    /* its blocks are in generations already: the new ones follow them */
    int in_generations = !is_new && !stats->inline_block;
    if (is_new)
        w->meta.term_count++;
    stats->df += df;
    stats->cf += cf;
    stats->inline_block = NULL;
    stats->inline_len = 0;
    *wrote |= spilled;
    if (last_len && !spilled && !in_generations && last_len <= DKS_INLINE_BLOCK_BYTES) {
        stats->inline_block = last;
        stats->inline_len = last_len;
        stats->inline_first = first;
    } else if (last_len) {
        int rc = put_encoded(w, db, key, len, first, last, last_len, 1);
        if (rc)
            return rc;
        *wrote = 1;
    }
    return dks_term_stats_put(w->txn, key, len, stats, append);
}

/* Writes a term's postings of the batch into generation db and its
 * statistics.  A term whose postings, with those it had, fit one short
 * block keeps them in its statistics (see DKS_INLINE_BLOCK_BYTES); a term
 * that outgrows that moves them into this generation.  append: the term
 * sorts above every term of the index.  *wrote: a block went into db.
 * stats, is_new: the term's statistics before, as read_term_stats gives
 * them. */
static int flush_term_with(dks_writer *w, dks_db db, const char *key, size_t len,
                           const term_state *st, dks_term_stats *stats, int is_new, int append,
                           int *wrote)
{
    dks_block_data *b = &w->block;
    b->n = 0;
    b->pos_n = 0;
    int rc;
    if (!is_new && stats->inline_block) {
        dks_block_header h;
        if ((rc = dks_block_parse(stats->inline_block, stats->inline_len, stats->inline_first,
                                  &h)) ||
            (rc = dks_block_load(&h, b)))
            return rc;
    }
    uint64_t df, cf;
    put_sink sink = {w, db, key, len, 0};
    if ((rc = write_stream(w, b, st, put_full_block, &sink, &df, &cf)))
        return rc;
    if (b->n && (rc = dks_block_encode(b, &w->scratch)))
        return rc;
    return finish_term(w, db, key, len, stats, is_new, df, cf, w->scratch.data,
                       b->n ? w->scratch.len : 0, b->n ? b->docs[0] : 0, sink.spilled, append,
                       wrote);
}

/* flush_term_with the term's statistics as they are. */
static int flush_term(dks_writer *w, dks_db db, const char *key, size_t len,
                      const term_state *st, int append, int *wrote)
{
    dks_term_stats stats;
    int is_new, rc = read_term_stats(w, key, len, append, &stats, &is_new);
    return rc ? rc : flush_term_with(w, db, key, len, st, &stats, is_new, append, wrote);
}

/* A batch term in the order of keys: the first bytes in one number, so
 * that most comparisons need no memcmp. */
typedef struct key_order {
    uint64_t prefix;      /* first 8 bytes, big-endian, zero-padded */
    const char *key;
    uint32_t len, id;
} key_order;

static int cmp_keys(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static int cmp_key_order(const void *a, const void *b)
{
    const key_order *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    return cmp_keys(x->key, x->len, y->key, y->len);
}

/* A slot no generation lists, emptied: a merge that was cut short may
 * have left blocks in it.  DKS_ELIMIT if every slot is listed. */
static int take_free_slot(dks_writer *w, unsigned *slot)
{
    unsigned used = 0;
    for (unsigned i = 0; i < w->meta.n_gens; i++)
        used |= 1u << w->meta.gen_slot[i];
    for (unsigned i = 0; i < DKS_GENERATIONS; i++)
        if (!(used & 1u << i)) {
            *slot = i;
            return dks_db_empty(w->txn, dks_db_postings(i));
        }
    return DKS_ELIMIT;
}

#define RELEASE_EVERY_TERMS 8192

/* In key order, the batch's terms lie anywhere in memory: a flush fetches
 * the states and first stream bytes of the terms a few ahead. */
#define FLUSH_PREFETCH_STATES 8
#define FLUSH_PREFETCH_STREAMS 4

static void prefetch_terms_after(const dks_writer *w, const key_order *order, size_t n,
                                 size_t i)
{
    if (i + FLUSH_PREFETCH_STATES < n)
        __builtin_prefetch(&w->terms[order[i + FLUSH_PREFETCH_STATES].id]);
    if (i + FLUSH_PREFETCH_STREAMS < n)
        __builtin_prefetch(pool_at(w, w->terms[order[i + FLUSH_PREFETCH_STREAMS].id].head));
}

/* ---- a flush's terms packed on two threads ---------------------------- */

/* On two threads, the analysis thread runs out of work a fraction of a
 * second into a flush (what was handed to it is analysed) and idles, while
 * the writer reads the batch's streams back and packs blocks, most of a
 * flush's time.  So a flush on two threads starts a helper that packs
 * terms in key order ahead of the writer.  The writer writes each term in
 * turn (the write transaction is its alone); when the next is not packed
 * yet, it packs the first term nobody has taken meanwhile, and waits only
 * for a term the helper is packing.  A term packed as if it had no
 * postings before, though its statistics hold a short block, is flushed
 * again by the writer (flush_term_with).  In the batches after the first that
 * is most terms, the rare ones, but each costs little: packing them
 * twice was faster on the 200 MiB benchmark corpus than leaving every
 * term below a block's worth of documents to the writer alone (5.3-5.6
 * against 5.5-6.0 s, four alternating runs), since in the first batch
 * and for the terms new to a batch the packing is not lost. */

/* Terms packed and not yet written, at most, and the bytes of their
 * blocks that the helper may add to them: its lead. */
#define PACK_AHEAD 1024
#define PACK_AHEAD_BYTES ((size_t)16 << 20)
/* A slot that held a term's larger blocks gives the memory back. */
#define PACK_KEEP_BYTES ((size_t)16 << 10)
/* Batches with fewer terms are flushed on the writer's thread alone. */
#define PACK_MIN_TERMS 4096

/* A term's blocks, packed: each a (first document, length) pair of
 * uint32_t before its bytes. */
typedef struct packed_term {
    dks_buf blocks;
    uint32_t n_blocks;   /* the last one what write_stream left in its block */
    uint64_t df, cf;
    int rc;
    atomic_size_t done;  /* index + 1 of the term packed here */
} packed_term;

typedef struct flush_packer {
    const dks_writer *w;
    const key_order *order;
    size_t n;
    atomic_size_t next;     /* the first term no one has taken */
    atomic_size_t written;  /* the terms the writer has written */
    atomic_size_t pending_bytes;  /* of the blocks packed and not yet written */
    atomic_int stop;
    packed_term slots[PACK_AHEAD];
    dks_block_data block;   /* the helper's */
    dks_buf scratch;
    pthread_t thread;
    int started;
} flush_packer;

/* The first term nobody has taken, taken; n if there is none, or if it
 * would lead the writer by more than PACK_AHEAD terms or PACK_AHEAD_BYTES
 * (a bound of the whole lead, not of the term taken). */
static size_t take_term(flush_packer *pk)
{
    if (atomic_load(&pk->pending_bytes) >= PACK_AHEAD_BYTES)
        return pk->n;
    size_t i = atomic_load(&pk->next);
    while (i < pk->n && i < atomic_load(&pk->written) + PACK_AHEAD)
        if (atomic_compare_exchange_weak(&pk->next, &i, i + 1))
            return i;
    return pk->n;
}

typedef struct pack_sink {
    packed_term *out;
    dks_buf *scratch;
} pack_sink;

static int pack_block(void *ctx, dks_block_data *b)
{
    pack_sink *s = ctx;
    int rc = dks_block_encode(b, s->scratch);
    uint32_t head[2] = {b->docs[0], (uint32_t)s->scratch->len};
    if (!rc)
        rc = dks_buf_append(&s->out->blocks, head, sizeof head);
    if (!rc)
        rc = dks_buf_append(&s->out->blocks, s->scratch->data, s->scratch->len);
    s->out->n_blocks++;
    return rc;
}

/* Packs term i into its slot, with a thread's own block and scratch. */
static void pack_term(flush_packer *pk, size_t i, dks_block_data *b, dks_buf *scratch)
{
    const dks_writer *w = pk->w;
    packed_term *pt = &pk->slots[i % PACK_AHEAD];
    prefetch_terms_after(w, pk->order, pk->n, i);
    pt->blocks.len = 0;
    pt->n_blocks = 0;
    b->n = 0;
    b->pos_n = 0;
    pack_sink sink = {pt, scratch};
    pt->rc = write_stream(w, b, &w->terms[pk->order[i].id], pack_block, &sink, &pt->df, &pt->cf);
    if (!pt->rc && b->n)
        pt->rc = pack_block(&sink, b);
    atomic_fetch_add(&pk->pending_bytes, pt->blocks.len);
    atomic_store_explicit(&pt->done, i + 1, memory_order_release);
}

static void *pack_ahead(void *arg)
{
    flush_packer *pk = arg;
    while (!atomic_load(&pk->stop) && atomic_load(&pk->next) < pk->n) {
        size_t i = take_term(pk);
        if (i < pk->n)
            pack_term(pk, i, &pk->block, &pk->scratch);
        else
            nanosleep(&(struct timespec){.tv_nsec = 20000}, NULL);  /* far enough ahead */
    }
    return NULL;
}

/* Writes a term the way flush_term would, from its packed blocks. */
static int write_packed(dks_writer *w, dks_db db, const key_order *o, packed_term *pt,
                        int append, int *wrote)
{
    dks_term_stats stats;
    int is_new, rc = read_term_stats(w, o->key, o->len, append, &stats, &is_new);
    if (rc)
        return rc;
    if (!is_new && stats.inline_block)
        return flush_term_with(w, db, o->key, o->len, &w->terms[o->id], &stats, is_new, append,
                               wrote);
    const unsigned char *p = pt->blocks.data;
    uint32_t head[2] = {0, 0};
    for (uint32_t k = 0; k < pt->n_blocks; k++) {
        memcpy(head, p, sizeof head);
        p += sizeof head;
        if (k + 1 < pt->n_blocks) {
            if ((rc = put_encoded(w, db, o->key, o->len, head[0], p, head[1], 1)))
                return rc;
            p += head[1];
        }
    }
    return finish_term(w, db, o->key, o->len, &stats, is_new, pt->df, pt->cf, p,
                       pt->n_blocks ? head[1] : 0, head[0], pt->n_blocks > 1, append, wrote);
}

/* NULL if there is no memory for it: the writer flushes alone. */
static flush_packer *packer_start(const dks_writer *w, const key_order *order, size_t n)
{
    flush_packer *pk = calloc(1, sizeof *pk);
    if (!pk)
        return NULL;
    pk->w = w;
    pk->order = order;
    pk->n = n;
    atomic_init(&pk->next, 0);
    atomic_init(&pk->written, 0);
    atomic_init(&pk->pending_bytes, 0);
    atomic_init(&pk->stop, 0);
    for (size_t i = 0; i < PACK_AHEAD; i++)
        atomic_init(&pk->slots[i].done, 0);
    /* without a helper, the writer packs every term itself */
    pk->started = pthread_create(&pk->thread, NULL, pack_ahead, pk) == 0;
    return pk;
}

static void packer_free(flush_packer *pk)
{
    if (!pk)
        return;
    atomic_store(&pk->stop, 1);
    if (pk->started)
        pthread_join(pk->thread, NULL);
    for (size_t i = 0; i < PACK_AHEAD; i++)
        dks_buf_free(&pk->slots[i].blocks);
    dks_block_data_free(&pk->block);
    dks_buf_free(&pk->scratch);
    free(pk);
}

/* Term i packed, by the helper or by this thread. */
static packed_term *packed(dks_writer *w, flush_packer *pk, size_t i)
{
    packed_term *pt = &pk->slots[i % PACK_AHEAD];
    while (atomic_load_explicit(&pt->done, memory_order_acquire) != i + 1) {
        size_t t = take_term(pk);
        if (t < pk->n)
            pack_term(pk, t, &w->block, &w->scratch);
        else
            sched_yield();  /* the helper is packing term i */
    }
    return pt;
}

/* Term i is written: its slot may be packed again. */
static void written(flush_packer *pk, size_t i)
{
    packed_term *pt = &pk->slots[i % PACK_AHEAD];
    atomic_fetch_sub(&pk->pending_bytes, pt->blocks.len);
    if (pt->blocks.cap > PACK_KEEP_BYTES)
        dks_buf_free(&pt->blocks);
    atomic_store(&pk->written, i + 1);
}

/* Writes the in-memory batch into the open transaction, as a generation of
 * its own. */
static int flush_postings(dks_writer *w)
{
    if (w->n_batch_terms == 0) {
        reset_batch(w);
        w->pending_from = w->meta.next_doc;
        return DKS_OK;
    }
    unsigned slot;
    int rc = take_free_slot(w, &slot);
    if (rc)
        return rc;
    dks_db db = dks_db_postings(slot);
    /* Key order lets the blocks be appended, and keeps the pages of the
     * terms database that the statistics change together. */
    key_order *order = malloc(w->n_batch_terms * sizeof *order);
    if (!order)
        return DKS_ENOMEM;
    for (size_t i = 0; i < w->n_batch_terms; i++) {
        key_order *o = &order[i];
        size_t len;
        o->id = w->batch_terms[i];
        o->key = dks_termdict_key(w->dict, o->id, &len);
        o->len = (uint32_t)len;
        o->prefix = 0;
        for (size_t k = 0; k < 8; k++)
            o->prefix = o->prefix << 8 | (k < len ? (unsigned char)o->key[k] : 0);
    }
    qsort(order, w->n_batch_terms, sizeof *order, cmp_key_order);
    /* The terms above the index's last one (all of them in a new index)
     * are appended to the terms database, and fill its pages. */
    const void *last;
    size_t last_len;
    char last_copy[DKS_MAX_KEY_TERM_BYTES + 2];  /* map pointers die with the first write */
    rc = dks_kv_last(w->txn, DKS_DB_TERMS, &last, &last_len);
    int append = rc == 1;
    if (rc == 0 && last_len > sizeof last_copy)
        rc = DKS_ECORRUPT;
    if (rc == 0)
        memcpy(last_copy, last, last_len);
    if (rc == 1 || rc == 0)
        rc = DKS_OK;
    int wrote = 0;
    flush_packer *pk = NULL;
    if (!rc && w->pipeline && w->n_batch_terms >= PACK_MIN_TERMS)
        pk = packer_start(w, order, w->n_batch_terms);
    for (size_t i = 0; i < w->n_batch_terms && !rc; i++) {
        const key_order *o = &order[i];
        if (!append && cmp_keys(o->key, o->len, last_copy, last_len) > 0)
            append = 1;
        if (pk) {
            packed_term *pt = packed(w, pk, i);
            rc = pt->rc ? pt->rc : write_packed(w, db, o, pt, append, &wrote);
            written(pk, i);
        } else {
            prefetch_terms_after(w, order, w->n_batch_terms, i);
            rc = flush_term(w, db, o->key, o->len, &w->terms[o->id], append, &wrote);
        }
        if (i % RELEASE_EVERY_TERMS == RELEASE_EVERY_TERMS - 1)
            dks_store_release_map(w->store);
    }
    packer_free(pk);  /* before the order it reads */
    free(order);
    if (!rc && wrote) {
        dks_meta *m = &w->meta;
        m->gen_slot[m->n_gens] = (uint8_t)slot;
        m->gen_first[m->n_gens] = m->n_gens ? w->pending_from : 0;
        m->n_gens++;
    }
    reset_batch(w);
    w->pending_from = w->meta.next_doc;
    return rc;
}

/* ---- merging generations ------------------------------------------------ */

/* A merge commits every memory / MERGE_SHARE bytes of blocks written, so
 * that its transaction's dirty pages stay a bounded amount of memory.
 * What it wrote is not listed in the meta record until the last commit,
 * so a merge cut short leaves the index as it was (and a slot that
 * take_free_slot empties). */

/* A merge lets go of the pages it has read every this many bytes. */
#define MERGE_RELEASE_BYTES ((size_t)8 << 20)

typedef struct merge_source {
    dks_cursor *cur;
    const unsigned char *k, *v;  /* the current entry; k NULL at the end */
    size_t kl, vl;
} merge_source;

static int source_step(merge_source *s, int first)
{
    const void *k, *v;
    int rc = first ? dks_cursor_first(s->cur, &k, &s->kl, &v, &s->vl)
                   : dks_cursor_next(s->cur, &k, &s->kl, &v, &s->vl);
    s->k = rc == 0 ? k : NULL;
    s->v = rc == 0 ? v : NULL;
    return rc == 1 ? DKS_OK : rc;
}

/* Moves a source to the first entry after every block of the term key. */
static int source_seek_past(merge_source *s, const char *term, size_t len)
{
    unsigned char key[DKS_MAX_TERM_BYTES + 5];
    size_t kl = dks_postings_key(key, term, len, UINT32_MAX);  /* no block starts there */
    const void *k, *v;
    int rc = dks_cursor_seek(s->cur, key, kl, &k, &s->kl, &v, &s->vl);
    s->k = rc == 0 ? k : NULL;
    s->v = rc == 0 ? v : NULL;
    return rc == 1 ? DKS_OK : rc;
}

/* The term of a source's entry; 0 at its end. */
static int source_term(const merge_source *s, const unsigned char **term, size_t *len)
{
    uint32_t first;
    if (!s->k)
        return 0;
    if (dks_postings_key_parse(s->k, s->kl, len, &first))
        return -1;
    *term = s->k;
    return 1;
}

/* Writes the merge's output block b, if it holds documents, at the end of
 * db, and empties it. */
static int put_waiting(dks_writer *w, dks_db db, const char *term, size_t len,
                       dks_block_data *b, size_t *written)
{
    if (b->n == 0)
        return DKS_OK;
    int rc = put_block(w, db, term, len, b, 1);
    *written += w->scratch.len;
    b->n = 0;
    b->pos_n = 0;
    return rc;
}

/* Appends one block (parsed as h) to the term's output block b, which is
 * written to db whenever it fills.  A full block goes over as it is,
 * after what waits in b as a short block of its own: decoding and
 * packing again every block after the first generation's last, short one
 * (the most of a term's blocks) made merges at the end of a bulk load
 * take longer than all its batches' flushes, for a few short blocks'
 * worth of size. */
static int merge_block(dks_writer *w, dks_db db, const char *term, size_t len,
                       dks_block_header *h, const unsigned char *v, size_t vl,
                       dks_block_data *b, size_t *written)
{
    int rc;
    if (h->n == DKS_BLOCK_DOCS) {
        if ((rc = put_waiting(w, db, term, len, b, written)))
            return rc;
        *written += vl;
        return put_encoded(w, db, term, len, h->first_doc, v, vl, 1);
    }
    dks_block_data *in = &w->merge_in;
    rc = dks_block_load(h, in);
    if (rc)
        return rc;
    if (b->n && in->docs[0] <= b->docs[b->n - 1])
        return DKS_ECORRUPT;  /* sources out of document order */
    const uint32_t *pos = in->pos;
    for (uint32_t i = 0; i < in->n; i++) {
        if (b->n == DKS_BLOCK_DOCS && (rc = put_waiting(w, db, term, len, b, written)))
            return rc;
        if (in->pos_n) {  /* else the key records no positions */
            if ((rc = dks_block_pos_reserve(b, in->tfs[i])))
                return rc;
            memcpy(b->pos + b->pos_n, pos, in->tfs[i] * sizeof *pos);
            b->pos_n += in->tfs[i];
            pos += in->tfs[i];
        }
        b->docs[b->n] = in->docs[i];
        b->tfs[b->n] = in->tfs[i];
        b->lens[b->n] = in->lens[i];  /* the block's shortest: a bound is all it needs */
        b->n++;
    }
    return DKS_OK;
}

/* Merges generations from .. to (indexes into the meta record, to > from)
 * into one, in a slot of its own; the caller holds no transaction. */
static int merge_generations(dks_writer *w, unsigned from, unsigned to)
{
    merge_source src[DKS_GENERATIONS] = {{0}};
    unsigned n = to - from + 1, slot = 0;
    dks_block_data *b = &w->block;
    char term[DKS_MAX_KEY_TERM_BYTES + 2];
    size_t term_len = 0, written = 0, read = 0, txn_bytes = w->memory / MERGE_SHARE;
    int rc = dks_store_reserve(w->store, map_headroom(w));
    if (!rc)
        rc = dks_txn_begin(w->store, 1, &w->txn);
    if (!rc && (rc = dks_meta_read(w->txn, &w->meta)) == 1)
        rc = DKS_ECORRUPT;
    if (!rc && (to >= w->meta.n_gens || from >= to))
        rc = DKS_EINVAL;
    if (!rc)
        rc = take_free_slot(w, &slot);
    dks_db out = dks_db_postings(slot);
    for (int resume = 0; !rc; resume = 1) {
        for (unsigned i = 0; i < n && !rc; i++) {
            rc = dks_cursor_open(w->txn, dks_db_postings(w->meta.gen_slot[from + i]), &src[i].cur);
            if (!rc)
                rc = resume ? source_seek_past(&src[i], term, term_len) : source_step(&src[i], 1);
        }
        /* term by term, in key order; each source in document order */
        while (!rc && written < txn_bytes) {
            const unsigned char *t = NULL, *st;
            size_t tl = 0, sl;
            for (unsigned i = 0; i < n && !rc; i++) {
                int has = source_term(&src[i], &st, &sl);
                if (has < 0)
                    rc = DKS_ECORRUPT;
                else if (has && (!t || cmp_keys((const char *)st, sl, (const char *)t, tl) < 0))
                    t = st, tl = sl;
            }
            if (rc || !t)
                break;
            memcpy(term, t, tl);  /* the entry goes away with the cursor's next step */
            term_len = tl;
            b->n = 0;
            b->pos_n = 0;
            for (unsigned i = 0; i < n && !rc; i++) {
                while (!rc && source_term(&src[i], &st, &sl) == 1 && sl == term_len &&
                       memcmp(st, term, sl) == 0) {
                    dks_block_header h;
                    size_t skip;
                    uint32_t first;
                    rc = dks_postings_key_parse(src[i].k, src[i].kl, &skip, &first);
                    if (!rc)
                        rc = dks_block_parse(src[i].v, src[i].vl, first, &h);
                    if (!rc)
                        rc = merge_block(w, out, term, term_len, &h, src[i].v, src[i].vl, b,
                                         &written);
                    read += src[i].vl;
                    if (read >= MERGE_RELEASE_BYTES) {
                        dks_store_release_map(w->store);  /* see flush_postings */
                        read = 0;
                    }
                    if (!rc)
                        rc = source_step(&src[i], 0);
                }
            }
            if (!rc)
                rc = put_waiting(w, out, term, term_len, b, &written);
        }
        int done = !rc && written < txn_bytes;
        for (unsigned i = 0; i < n; i++) {
            dks_cursor_close(src[i].cur);
            src[i].cur = NULL;
        }
        if (rc || done)
            break;
        /* a commit now and then: the merged generation is not listed yet */
        rc = dks_txn_commit(w->txn);
        w->txn = NULL;
        dks_store_release_map(w->store);
        written = 0;
        if (!rc)
            rc = dks_store_reserve(w->store, map_headroom(w));
        if (!rc)
            rc = dks_txn_begin(w->store, 1, &w->txn);
    }
    if (!rc) {
        /* list the merged generation instead of its sources, and empty them */
        dks_meta *m = &w->meta;
        for (unsigned i = from; i <= to && !rc; i++)
            rc = dks_db_empty(w->txn, dks_db_postings(m->gen_slot[i]));
        m->gen_slot[from] = (uint8_t)slot;
        memmove(m->gen_slot + from + 1, m->gen_slot + to + 1, m->n_gens - to - 1);
        memmove(m->gen_first + from + 1, m->gen_first + to + 1,
                (m->n_gens - to - 1) * sizeof *m->gen_first);
        m->n_gens -= to - from;
        if (!rc)
            rc = dks_meta_write(w->txn, m);
    }
    if (!rc) {
        rc = dks_txn_commit(w->txn);
        w->txn = NULL;
    }
    dks_txn_abort(w->txn);
    w->txn = NULL;
    dks_store_release_map(w->store);
    if (!rc)
        w->stats.merges++;
    return rc;
}

enum settle {
    SETTLE_GEOMETRIC,  /* as the sizes say */
    SETTLE_TWO,        /* at least the newest two */
    SETTLE_ALL,        /* into one */
};

/* Keeps the generations few and their sizes geometric, so that queries
 * look a term up in few databases and a merge rewrites each block
 * O(log n) times over the index's life: the newest generations are merged
 * together with every older one that is no more than twice their size.
 * SETTLE_TWO: merge at least the newest two (a flush needs two free
 * slots, one for its generation and one for the merge after);
 * SETTLE_ALL: all of them (at the end of a bulk load). */
static int settle_generations(dks_writer *w, enum settle how)
{
    dks_txn *t;
    dks_meta m;
    uint64_t size[DKS_GENERATIONS], total = 0;
    int rc = dks_txn_begin(w->store, 0, &t);
    if (rc)
        return rc;
    rc = dks_meta_read(t, &m);
    for (unsigned i = 0; rc == 0 && i < m.n_gens; i++)
        rc = dks_store_db_bytes(t, dks_db_postings(m.gen_slot[i]), &size[i]);
    dks_txn_abort(t);
    if (rc)
        return rc == 1 ? DKS_OK : rc;
    if (m.n_gens < 2)
        return DKS_OK;
    unsigned from = m.n_gens - 1;
    total = size[from];
    while (from > 0 && size[from - 1] <= 2 * total)
        total += size[--from];
    if (how == SETTLE_ALL)
        from = 0;
    else if (from == m.n_gens - 1 && how == SETTLE_TWO)
        from = m.n_gens / 2;
    if (from == m.n_gens - 1)
        return DKS_OK;
    rc = merge_generations(w, from, m.n_gens - 1);
    for (unsigned i = from; !rc && i < m.n_gens; i++)
        w->merged_bytes += size[i];
    return rc;
}

/* ---- deleting ---------------------------------------------------------- */

/* Removes document `doc`, in which the term of `key` occurs tf times,
 * from the term's block and statistics. */
static int remove_posting(dks_writer *w, const char *key, size_t len, uint32_t doc, uint32_t tf)
{
    dks_block_header h;
    dks_term_stats st;
    int rc = dks_term_stats_get(w->txn, key, len, &st);
    if (rc)
        return rc == 1 ? DKS_ECORRUPT : rc;  /* the document's term is not there */
    dks_db db = DKS_DB_POSTINGS;
    if (st.inline_block) {
        rc = dks_block_parse(st.inline_block, st.inline_len, st.inline_first, &h);
    } else {
        /* in the document's generation, or (moved from the statistics) a
         * later one */
        int gen = dks_meta_generation_of(&w->meta, doc);
        rc = gen < 0 ? DKS_ECORRUPT : 1;
        for (unsigned g = gen < 0 ? 0 : (unsigned)gen; rc == 1 && g < w->meta.n_gens; g++) {
            db = dks_db_postings(w->meta.gen_slot[g]);
            rc = find_block(w, db, key, len, doc, &h);
            if (rc == 0 && h.last_doc < doc)
                rc = 1;
        }
        if (rc == 1)
            return DKS_ECORRUPT;  /* the document's term has no postings for it */
    }
    if (rc)
        return rc;
    dks_block_data *b = &w->block;
    if ((rc = dks_block_load(&h, b)))
        return rc;
    uint32_t i = 0;
    while (i < b->n && b->docs[i] != doc)
        i++;
    if (i == b->n || b->tfs[i] != tf)
        return DKS_ECORRUPT;

    /* Cut the document's positions out (none if the key records none). */
    if (b->pos_n) {
        size_t at = 0;
        for (uint32_t j = 0; j < i; j++)
            at += b->tfs[j];
        memmove(b->pos + at, b->pos + at + tf, (b->pos_n - at - tf) * sizeof *b->pos);
        b->pos_n -= tf;
    }
    memmove(b->docs + i, b->docs + i + 1, (b->n - i - 1) * sizeof *b->docs);
    memmove(b->tfs + i, b->tfs + i + 1, (b->n - i - 1) * sizeof *b->tfs);
    memmove(b->lens + i, b->lens + i + 1, (b->n - i - 1) * sizeof *b->lens);
    b->n--;

    int was_inline = st.inline_block != NULL;
    if (was_inline && (st.df == 1) != (b->n == 0))
        return DKS_ECORRUPT;  /* statistics and postings disagree */
    if (was_inline && b->n) {
        if ((rc = dks_block_encode(b, &w->scratch)))
            return rc;
        st.inline_block = w->scratch.data;  /* fewer documents: still short */
        st.inline_len = w->scratch.len;
        st.inline_first = b->docs[0];
    }
    if (!was_inline && (i == 0 || b->n == 0)) {
        unsigned char pkey[DKS_MAX_TERM_BYTES + 5];
        size_t kl = dks_postings_key(pkey, key, len, doc);
        if ((rc = dks_kv_del(w->txn, db, pkey, kl)))
            return rc == 1 ? DKS_ECORRUPT : rc;
    }
    if (!was_inline && b->n && (rc = put_block(w, db, key, len, b, 0)))
        return rc;
    if (st.df == 1) {
        w->meta.term_count--;
        rc = dks_kv_del(w->txn, DKS_DB_TERMS, key, len);
        return rc == 1 ? DKS_ECORRUPT : rc;
    }
    if (st.cf < tf + st.df - 1)
        return DKS_ECORRUPT;
    st.df--;
    st.cf -= tf;
    return dks_term_stats_put(w->txn, key, len, &st, 0);
}

/* Analyses a stored document again into w->deleted_terms, with an
 * analyzer and dictionary of their own: the documents being added may be
 * interning in the writer's dictionary on another thread. */
static int analyze_deleted(dks_writer *w, const char *title, size_t title_len, const char *body,
                           size_t body_len, const unsigned char *fields, size_t fields_len,
                           uint32_t body_start)
{
    int rc = DKS_OK;
    if (w->del_dict && dks_termdict_bytes(w->del_dict) > DELETE_DICT_BYTES) {
        dks_analyzer_set_termdict(w->del_an, NULL);
        dks_termdict_free(w->del_dict);
        w->del_dict = NULL;
    }
    if (!w->del_an) {
        unsigned features;
        if ((rc = dks_index_analysis(w->index, &features)) ||
            (rc = dks_analyzer_new_with(features, &w->del_an)))
            return rc;
        dks_analyzer_set_lexicon(w->del_an, &w->lexicon);
    }
    if (!w->del_dict) {
        if ((rc = dks_termdict_new(&w->del_dict)))
            return rc;
        dks_analyzer_set_termdict(w->del_an, w->del_dict);
    }
    return dks_doc_terms_analyze(w->del_an, w->del_dict, title, title_len, body, body_len, fields,
                                 fields_len, body_start, &w->deleted_terms);
}

static int cmp_pairs(const void *a, const void *b)
{
    const dks_term_pair *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->position > y->position) - (x->position < y->position);
}

/* Takes the document analysed into w->deleted_terms out of the postings
 * of each of its terms. */
static int remove_postings(dks_writer *w, uint32_t doc)
{
    dks_doc_terms *dt = &w->deleted_terms;
    qsort(dt->pairs, dt->n, sizeof *dt->pairs, cmp_pairs);
    int rc = DKS_OK;
    for (size_t i = 0; i < dt->n && !rc;) {
        uint32_t tf = 1;
        size_t j = i + 1;
        for (; j < dt->n && dt->pairs[j].id == dt->pairs[i].id; j++)
            tf += dt->pairs[j].position != dt->pairs[j - 1].position;
        size_t len;
        const char *key = dks_termdict_key(w->del_dict, dt->pairs[i].id, &len);
        rc = remove_posting(w, key, len, doc, tf);
        i = j;
    }
    return rc;
}

/* Takes a committed document out of the postings of each of its terms,
 * found by analysing its stored title and text again. */
static int remove_from_postings(dks_writer *w, uint32_t doc, const dks_doc_record *rec)
{
    const void *v;
    size_t vl;
    /* Copies: map pointers do not survive the writes of the removal. */
    char *title = malloc(rec->title_len + 1), *body = NULL;
    unsigned char *fields = malloc(rec->fields_len + 1);
    size_t title_len = rec->title_len, fields_len = rec->fields_len;
    uint32_t length = rec->length, body_start = rec->body_start;
    int rc = title && fields ? DKS_OK : DKS_ENOMEM;
    if (!rc) {
        memcpy(title, rec->title, title_len);
        memcpy(fields, rec->fields, fields_len);
        rc = dks_text_get(w->text_reader, w->txn, doc, &v, &vl);
    }
    if (!rc && !(body = malloc(vl + 1)))
        rc = DKS_ENOMEM;
    if (!rc) {
        memcpy(body, v, vl);
        /* its blocks are rewritten in the batch's transaction: as much as
         * adding it wrote, roughly */
        w->batch_bytes += title_len + vl;
        w->deleted_bytes += title_len + vl;
        rc = analyze_deleted(w, title, title_len, body, vl, fields, fields_len, body_start);
    }
    if (!rc && w->deleted_terms.tokens != length)
        rc = DKS_ECORRUPT;
    if (!rc)
        rc = remove_postings(w, doc);
    free(fields);
    free(body);
    free(title);
    return rc;
}

static int delete_doc(dks_writer *w, uint32_t doc)
{
    unsigned char key[4];
    const void *v;
    size_t vl;
    dks_doc_record rec;
    dks_put_be32(key, doc);
    int rc = dks_kv_get(w->txn, DKS_DB_DOCS, key, sizeof key, &v, &vl);
    if (!rc)
        rc = dks_doc_record_decode(v, vl, &rec);
    if (rc)
        return rc == 1 ? DKS_ECORRUPT : rc;
    uint32_t length = rec.length;
    char id[DKS_MAX_ID_BYTES];
    size_t id_len = rec.id_len;
    if (id_len > sizeof id)
        return DKS_ECORRUPT;
    memcpy(id, rec.id, id_len);
    if (doc >= w->pending_from)
        w->docs[doc - w->pending_from].dead = 1;  /* its postings are in memory: never written */
    else if ((rc = remove_from_postings(w, doc, &rec)))
        return rc;
    if ((rc = dks_kv_del(w->txn, DKS_DB_DOCS, key, sizeof key)) ||
        (rc = dks_kv_del(w->txn, DKS_DB_TEXT, key, sizeof key)) ||
        (rc = dks_kv_del(w->txn, DKS_DB_IDS, id, id_len)) ||
        (rc = dks_length_set(w->txn, doc, 0)))
        return rc == 1 ? DKS_ECORRUPT : rc;
    w->meta.doc_count--;
    w->meta.total_len -= length;
    return DKS_OK;
}

/* ---- the public interface ---------------------------------------------- */

static int begin_batch(dks_writer *w)
{
    if (w->txn)
        return DKS_OK;
    for (int settled = 0;; settled = 1) {
        /* Far more than one batch can write, so the map never fills mid-batch. */
        int rc = dks_store_reserve(w->store, map_headroom(w));
        if (!rc)
            rc = dks_txn_begin(w->store, 1, &w->txn);
        if (rc)
            return rc;
        rc = dks_meta_read(w->txn, &w->meta);
        w->pending_from = w->meta.next_doc;
        if (rc)
            return rc == 1 ? DKS_ECORRUPT : rc;
        /* the batch's flush takes a slot, and a merge after it another */
        if (DKS_GENERATIONS - w->meta.n_gens >= 2 || settled)
            break;
        dks_txn_abort(w->txn);
        w->txn = NULL;
        if ((rc = settle_generations(w, SETTLE_TWO)))
            return rc;
    }
    int rc;
    if (!w->text_reader && (rc = dks_text_reader_new(NULL, &w->text_reader)))
        return rc;
    return DKS_OK;
}

/* A store error leaves the transaction unusable: drop the batch. */
static int fail_store(dks_writer *w, int rc, dks_error_detail *err, const char *what)
{
    dks_txn_abort(w->txn);
    w->txn = NULL;
    reset_batch(w);
    w->batch_bytes = 0;
    w->failed = rc;
    return dks_fail(err, rc, -1, "%s: %s", what, dks_strerror(rc));
}

/* A copy of the index's text dictionary, for the encoders: they may run
 * on another thread, outside any transaction. */
static int read_text_dict(dks_writer *w)
{
    dks_txn *t;
    const void *dict;
    size_t len;
    int rc = dks_txn_begin(w->store, 0, &t);
    if (rc)
        return rc;
    rc = dks_text_dict_get(t, &dict, &len);
    if (rc == 0 && !(w->text_dict = malloc(len)))
        rc = DKS_ENOMEM;
    if (rc == 0) {
        memcpy(w->text_dict, dict, len);
        w->text_dict_len = len;
    }
    dks_txn_abort(t);
    return rc == 1 ? DKS_OK : rc;
}

int dks_writer_open(dks_index *index, dks_writer **out, dks_error_detail *err)
{
    *out = NULL;
    if (!dks_index_writable(index))
        return dks_fail(err, DKS_EINVAL, -1, "index was opened read-only");
    dks_writer *w = calloc(1, sizeof *w);
    if (!w)
        return DKS_ENOMEM;
    w->index = index;
    w->store = dks_index_store(index);
    w->memory = DKS_DEFAULT_MEMORY;
    w->commit_docs = DKS_BATCH_DOCS;
    unsigned features;
    int rc = dks_index_analysis(index, &features);
    if (!rc)
        rc = dks_analyzer_new_with(features, &w->an);
    if (!rc && !(rc = dks_termdict_new(&w->dict)))
        dks_analyzer_set_termdict(w->an, w->dict);
    if (!rc) {
        dks_lexicon_open(&w->lexicon, features != 0);
        dks_analyzer_set_lexicon(w->an, &w->lexicon);
    }
    if (rc) {
        dks_writer_close(w);
        return dks_fail(err, rc, -1, "%s", dks_strerror(rc));
    }
    rc = dks_store_lock_writer(w->store);
    if (rc) {
        dks_writer_close(w);
        return dks_fail(err, rc, -1, "%s", rc == DKS_ELOCKED
                        ? "another dksearch-index is writing to this index"
                        : dks_strerror(rc));
    }
    w->locked = 1;
    if ((rc = read_text_dict(w))) {
        dks_writer_close(w);
        return dks_fail(err, rc, -1, "cannot read the text dictionary: %s", dks_strerror(rc));
    }
    *out = w;
    return DKS_OK;
}

static int drain(dks_writer *w, dks_error_detail *err);
static int finish_sources(dks_writer *w, dks_error_detail *err);

/* Commits the batch as it stands (without waiting for the pipeline). */
static int commit_batch(dks_writer *w, dks_error_detail *err)
{
    if (w->failed)
        return dks_fail(err, w->failed, -1, "writer stopped after an earlier error");
    if (!w->txn)
        return DKS_OK;
    int rc = flush_postings(w);
    if (!rc)
        rc = dks_meta_write(w->txn, &w->meta);
    if (rc)
        return fail_store(w, rc, err, "cannot write batch");
    rc = dks_txn_commit(w->txn);
    w->txn = NULL;
    w->batch_bytes = 0;
    if (rc) {
        w->failed = rc;
        return dks_fail(err, rc, -1, "cannot commit batch: %s", dks_strerror(rc));
    }
    w->stats.commits++;
    dks_store_release_map(w->store);
    return DKS_OK;
}

static int commit_if_full(dks_writer *w, dks_error_detail *err)
{
    if (w->batch_bytes >= w->memory / TEXT_SHARE || w->n_docs >= w->commit_docs ||
        batch_memory(w) >= w->memory / POSTINGS_SHARE)
        return commit_batch(w, err);
    return DKS_OK;
}

/* Merges leave the pages of their sources free, and batches that insert
 * terms into the dictionary leave its pages half full; a batch that
 * replaces documents needs their old pages until it commits.  A writer
 * reuses free pages, but the file keeps them.  After a commit that follows
 * adding and deleting more than a quarter of the file since the last
 * rewrite (a bulk load, a round of updates) and finds more than a tenth
 * of it free, the index is rewritten compact: its size stays within a few
 * tenths of a fresh index's however often its documents change, and the
 * rewrites cost at most a few times what was written. */
static int wrote_much(const dks_writer *w)
{
    uint64_t written = w->stats.bytes + w->deleted_bytes - w->compacted_at + w->merged_bytes;
    return written * 4 >= dks_store_size(w->store);
}

/* The databases a merge of generations leaves as they are: a compaction
 * after the merge can copy them while it runs. */
#define UNTOUCHED_BY_MERGES                                                                \
    (1u << DKS_DB_TERMS | 1u << DKS_DB_DOCS | 1u << DKS_DB_IDS | 1u << DKS_DB_TEXT |     \
     1u << DKS_DB_LENGTHS | 1u << DKS_DB_SOURCES)

/* *early: a compaction begun before the merge, or NULL; taken if used. */
static int maybe_compact(dks_writer *w, dks_compaction **early)
{
    uint64_t free_bytes, size = dks_store_size(w->store);
    if (!wrote_much(w))
        return DKS_OK;
    int rc = dks_store_free_bytes(w->store, &free_bytes);
    if (rc || free_bytes * 10 < size)
        return rc;
    /* A compaction that fails (a full disk, a file system without
     * RENAME_EXCHANGE) leaves the index as committed: it only saves
     * space, so the commit still succeeds. */
    dks_compaction *c = *early;
    *early = NULL;
    if ((c ? dks_store_compact_finish(w->store, c) : dks_store_compact(w->store)) == DKS_OK) {
        w->stats.compactions++;
        w->compacted_at = w->stats.bytes + w->deleted_bytes;
        w->merged_bytes = 0;
    }
    return DKS_OK;
}

int dks_writer_commit(dks_writer *w, dks_error_detail *err)
{
    int rc = drain(w, err);
    if (!rc)
        rc = commit_batch(w, err);
    /* The end of a unit of work: the generations it made are merged as
     * settle_generations decides, and all into one after as much work as
     * would compact the index (a bulk load: few large batches need not
     * have geometric sizes).  Before such a merge and compaction, what
     * held the batches is given back: they would otherwise come on top of
     * it (on the 1 GiB benchmark corpus, the peak of the run). */
    int much = !rc && wrote_much(w);
    dks_compaction *early = NULL;
    if (much) {
        free_pool(w);  /* the batch was flushed: no stream is live */
        if (w->pipeline) {
            dks_pipeline_trim(w->pipeline);
            /* Such a merge is almost always followed by a compaction.
             * With two threads the analysis's core is idle now: it copies
             * what the merge leaves alone meanwhile (or nothing, if
             * this fails: the compaction then copies it all after).  The
             * copy must not take the disk space the merge needs (a
             * compaction that finds no room fails alone, after the
             * merge), so it starts early only with room for both. */
            uint64_t size = dks_store_size(w->store);
            if (!dks_store_disk_room(w->store, 2 * size + ((uint64_t)64 << 20)) ||
                dks_store_compact_begin(w->store, UNTOUCHED_BY_MERGES, &early) != DKS_OK)
                early = NULL;
        }
    }
    if (!rc && !(rc = settle_generations(w, much ? SETTLE_ALL : SETTLE_GEOMETRIC)))
        rc = maybe_compact(w, &early);
    dks_store_compact_abort(early);  /* not needed after all */
    if (rc) {
        w->failed = rc;
        return dks_fail(err, rc, -1, "cannot merge posting generations: %s", dks_strerror(rc));
    }
    return rc;
}

/* Looks up an external id; *doc is valid when 0 is returned, 1 if absent. */
static int lookup_id(dks_writer *w, const char *id, size_t len, uint32_t *doc)
{
    const void *v;
    size_t vl;
    int rc = dks_kv_get(w->txn, DKS_DB_IDS, id, len, &v, &vl);
    if (rc)
        return rc;
    if (vl != 4)
        return DKS_ECORRUPT;
    *doc = dks_get_be32(v);
    return DKS_OK;
}

/* Compresses and stores a document's text, and the text dictionary in the
 * batch of the text that made the encoder train it. */
static int store_text(dks_writer *w, uint32_t id, const dks_document *doc)
{
    int trained, rc = DKS_OK;
    if (!w->enc && (rc = dks_text_encoder_new(w->text_dict, w->text_dict_len, &w->enc)))
        return rc;
    if ((rc = dks_text_encode(w->enc, doc->body ? doc->body : "", doc->body_len, &w->text,
                              &trained)))
        return rc;
    size_t dict_len = 0;
    const void *dict = trained ? dks_text_encoder_dict(w->enc, &dict_len) : NULL;
    return dks_text_put(w->txn, id, w->text.data, w->text.len, dict, dict_len);
}

/* Adds an analysed document to the batch: replaces the document with its
 * id, inverts its terms, stores its record and text, and commits when the
 * batch is full. */
static int add_analysed(dks_writer *w, const dks_document *doc, pending_source *src,
                        dks_doc_terms *terms, int *replaced, dks_error_detail *err)
{
    int rc = begin_batch(w);
    if (rc)
        return fail_store(w, rc, err, "cannot start a write transaction");
    uint32_t old;
    int was_replaced = 0;
    rc = lookup_id(w, doc->id, doc->id_len, &old);
    if (rc == 0) {
        if ((rc = delete_doc(w, old)))
            return fail_store(w, rc, err, "cannot replace document");
        was_replaced = 1;
    } else if (rc != 1) {
        return fail_store(w, rc, err, "cannot look up document id");
    }
    if (w->meta.next_doc >= DKS_DOC_END - 1)
        return fail_store(w, DKS_ELIMIT, err, "index holds the maximum number of documents");

    uint32_t id = w->meta.next_doc, tokens = terms->tokens;
    rc = dks_grow(&w->docs, w->n_docs, &w->docs_cap, sizeof *w->docs, 1024);
    if (!rc) {
        w->docs[w->n_docs++] = (batch_doc){tokens, 0};
        rc = invert(w, terms, id - w->pending_from);
    }
    unsigned char key[4];
    dks_put_be32(key, id);
    if (!rc)
        rc = dks_doc_record_encode(doc, src ? src->path : NULL, src ? src->path_len : 0, tokens,
                                   terms->body_start, &w->scratch);
    if (!rc)
        rc = dks_kv_append(w->txn, DKS_DB_DOCS, key, sizeof key, w->scratch.data,
                           w->scratch.len);  /* ids only grow */
    if (!rc)
        rc = dks_kv_put(w->txn, DKS_DB_IDS, doc->id, doc->id_len, key, sizeof key);
    if (!rc)
        rc = store_text(w, id, doc);
    if (!rc)
        rc = dks_length_set(w->txn, id, tokens);
    if (rc)
        return fail_store(w, rc, err, "cannot add document");
    if (src && ((rc = dks_buf_put_varint(&src->ids, doc->id_len)) ||
                (rc = dks_buf_append(&src->ids, doc->id, doc->id_len))))
        return fail_store(w, rc, err, "cannot note the document of its source");
    if (src)
        src->n_ids++;

    if (replaced)
        *replaced = was_replaced;
    if (was_replaced)
        w->stats.replaced++;
    else
        w->stats.added++;
    w->meta.next_doc++;
    w->meta.doc_count++;
    w->meta.total_len += tokens;
    w->stats.tokens += tokens;
    w->stats.bytes += doc->title_len + doc->body_len;
    w->batch_bytes += doc->title_len + doc->body_len;
    return commit_if_full(w, err);
}

/* Adds the oldest document the pipeline has analysed. */
static int add_from_pipeline(dks_writer *w, dks_job *j, dks_error_detail *err)
{
    pending_source *src = j->tag;
    int rc = j->rc ? dks_fail(err, j->rc, -1, "document %.*s: %s", (int)j->doc.id_len,
                              j->doc.id, dks_strerror(j->rc))
                   : add_analysed(w, &j->doc, src, &j->terms, NULL, err);
    dks_pipeline_release(w->pipeline);
    if (src)
        src->in_flight--;
    /* a bad document is the caller's to report; its source still ends */
    int src_rc = w->failed ? DKS_OK : finish_sources(w, err);
    return rc ? rc : src_rc;
}

/* Adds every document still in the pipeline, in order. */
static int drain(dks_writer *w, dks_error_detail *err)
{
    dks_job *j;
    int rc = DKS_OK;
    while (!rc && w->pipeline && (j = dks_pipeline_take(w->pipeline, 1)))
        rc = add_from_pipeline(w, j, err);
    return rc;
}

int dks_writer_set_memory(dks_writer *w, size_t bytes)
{
    if (bytes < DKS_MIN_MEMORY)
        return DKS_EINVAL;
    w->memory = bytes;
    return DKS_OK;
}

int dks_writer_set_commit_docs(dks_writer *w, size_t docs)
{
    if (docs == 0)
        return DKS_EINVAL;
    w->commit_docs = docs < DKS_BATCH_DOCS ? docs : DKS_BATCH_DOCS;
    return DKS_OK;
}

int dks_writer_set_threads(dks_writer *w, unsigned threads)
{
    if (threads <= 1 || w->pipeline)
        return DKS_OK;
    unsigned features;
    int rc = dks_index_analysis(w->index, &features);
    return rc ? rc : dks_pipeline_new(features, w->dict, &w->lexicon, &w->pipeline);
}

/* Whether title, body and fields together exceed DKS_MAX_DOC_BYTES
 * (counted so that no sum can overflow). */
static int too_large(const dks_document *doc)
{
    size_t left = DKS_MAX_DOC_BYTES;
    if (doc->title_len > left || doc->body_len > left - doc->title_len)
        return 1;
    left -= doc->title_len + doc->body_len;
    for (size_t i = 0; i < doc->n_fields; i++) {
        const dks_field *f = &doc->fields[i];
        if (f->name_len > left || f->value_len > left - f->name_len)
            return 1;
        left -= f->name_len + f->value_len;
    }
    return 0;
}

int dks_writer_add(dks_writer *w, const dks_document *doc, int *replaced, dks_error_detail *err)
{
    if (replaced)
        *replaced = 0;
    if (w->failed)
        return dks_fail(err, w->failed, -1, "writer stopped after an earlier error");
    if (!doc->id || doc->id_len == 0)
        return dks_fail(err, DKS_EINPUT, -1, "document has an empty id");
    if (doc->id_len > DKS_MAX_ID_BYTES)
        return dks_fail(err, DKS_ELIMIT, -1, "document id is longer than %d bytes",
                        DKS_MAX_ID_BYTES);
    if (memchr(doc->id, '\0', doc->id_len))
        return dks_fail(err, DKS_EINPUT, -1, "document id contains a NUL byte");
    if (too_large(doc))
        return dks_fail(err, DKS_ELIMIT, -1, "document is larger than the limit of %zu MiB",
                        DKS_MAX_DOC_BYTES >> 20);

    if (!w->pipeline) {
        int rc = dks_doc_prepare(w->an, w->dict, doc, &w->fields, &w->terms_scratch);
        if (rc)
            return fail_store(w, rc, err, "cannot analyse document");
        return add_analysed(w, doc, w->open_source, &w->terms_scratch, replaced, err);
    }
    /* Make room and hand the document over.  Documents are taken back only
     * to make room, so the worker always has the whole ring to analyse:
     * taking every one it had finished left it idle until the writer was
     * through them, after every flush. */
    int rc = DKS_OK;
    while (!rc && dks_pipeline_full(w->pipeline, w->memory / PIPELINE_SHARE))
        rc = add_from_pipeline(w, dks_pipeline_take(w->pipeline, 1), err);
    if (!rc && (rc = dks_pipeline_submit(w->pipeline, doc, w->open_source)))
        return fail_store(w, rc, err, "cannot queue document");
    if (!rc && w->open_source)
        w->open_source->in_flight++;
    return rc;
}

int dks_writer_delete(dks_writer *w, const char *id, size_t id_len, int *found,
                      dks_error_detail *err)
{
    int scratch;
    if (!found)
        found = &scratch;  /* the caller does not ask */
    *found = 0;
    if (w->failed)
        return dks_fail(err, w->failed, -1, "writer stopped after an earlier error");
    int rc = drain(w, err);  /* the documents given before go first */
    if (rc)
        return rc;
    if ((rc = begin_batch(w)))
        return fail_store(w, rc, err, "cannot start a write transaction");
    uint32_t doc;
    rc = lookup_id(w, id, id_len, &doc);
    if (rc == 1)
        return DKS_OK;
    if (!rc)
        rc = delete_doc(w, doc);
    if (rc)
        return fail_store(w, rc, err, "cannot delete document");
    *found = 1;
    w->stats.deleted++;
    return commit_if_full(w, err);
}

/* ---- sources (sources.c) ----------------------------------------------- */

typedef struct id_ref {
    const char *id;
    size_t len;
} id_ref;

static int cmp_id_refs(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int c = memcmp(x->id, y->id, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* A source's record, its id list copied (map pointers do not survive the
 * deletes that follow); 1 if it has none. */
static int read_source(dks_writer *w, const char *path, size_t len, dks_buf *ids,
                       uint64_t *n_ids)
{
    dks_source_record rec;
    int rc = dks_source_record_get(w->txn, path, len, &rec);
    if (rc)
        return rc;
    *n_ids = rec.n_ids;
    ids->len = 0;
    return dks_buf_append(ids, rec.ids, rec.ids_len);
}

/* Deletes the documents of a record's id list that still name the source
 * as theirs, but for those in keep (sorted): an id another source gave
 * since is that source's document now. */
static int delete_own(dks_writer *w, const char *path, size_t len, const dks_buf *ids,
                      const id_ref *keep, size_t n_keep, uint64_t *deleted)
{
    const unsigned char *p = ids->data, *end = p + ids->len;
    id_ref id;
    int rc;
    while ((rc = dks_source_ids_next(&p, end, &id.id, &id.len)) == 0) {
        if (n_keep && bsearch(&id, keep, n_keep, sizeof *keep, cmp_id_refs))
            continue;
        uint32_t doc;
        dks_doc_record rec;
        if (!w->txn && (rc = begin_batch(w)))
            break;
        if ((rc = lookup_id(w, id.id, id.len, &doc)) == 1)
            continue;  /* deleted since */
        if (!rc)
            rc = dks_doc_get(w->txn, doc, &rec);
        if (rc)
            break;
        if (rec.source_len != len || memcmp(rec.source, path, len) != 0)
            continue;
        if ((rc = delete_doc(w, doc)))
            break;
        (*deleted)++;
        w->stats.deleted++;
        if ((rc = commit_if_full(w, NULL)))
            break;
    }
    return rc == 1 ? DKS_OK : rc;
}

/* Writes the record of a source whose documents are all added, after
 * deleting those it gave before and not now. */
static int finish_source(dks_writer *w, pending_source *src)
{
    int rc = begin_batch(w);
    if (rc)
        return rc;
    dks_buf old = {0};
    id_ref *keep = NULL;
    uint64_t deleted = 0, n_old;
    rc = read_source(w, src->path, src->path_len, &old, &n_old);
    if (rc == 0 && src->n_ids && !(keep = malloc(src->n_ids * sizeof *keep)))
        rc = DKS_ENOMEM;
    if (rc == 0) {
        const unsigned char *p = src->ids.data, *end = p + src->ids.len;
        size_t n = 0;
        while (n < src->n_ids && dks_source_ids_next(&p, end, &keep[n].id, &keep[n].len) == 0)
            n++;
        qsort(keep, n, sizeof *keep, cmp_id_refs);
        rc = delete_own(w, src->path, src->path_len, &old, keep, n, &deleted);
    } else if (rc == 1) {
        rc = DKS_OK;  /* a new source */
    }
    if (!rc && !w->txn)
        rc = begin_batch(w);
    if (!rc)
        rc = dks_source_record_put(w->txn, src->path, src->path_len, &src->info, &src->ids,
                                   src->n_ids, &w->record);
    free(keep);
    dks_buf_free(&old);
    return rc;
}

/* Finishes the sources at the front of the queue that are complete: in
 * the order they began, so that a later source's documents are never
 * deleted as an earlier one's. */
static int finish_sources(dks_writer *w, dks_error_detail *err)
{
    while (w->sources && w->sources->ended && w->sources->in_flight == 0) {
        pending_source *src = w->sources;
        int rc = finish_source(w, src);
        w->sources = src->next;
        if (!w->sources)
            w->sources_tail = NULL;
        dks_buf_free(&src->ids);
        free(src);
        if (rc)
            return w->failed ? dks_fail(err, w->failed, -1, "cannot record a source: %s",
                                        dks_strerror(w->failed))
                             : fail_store(w, rc, err, "cannot record a source");
    }
    return DKS_OK;
}

static int check_source_path(const char *path, size_t len, dks_error_detail *err)
{
    if (!path || len == 0 || len > DKS_MAX_SOURCE_BYTES || memchr(path, 0, len))
        return dks_fail(err, DKS_EINVAL, -1, "a source's path is 1 to %d bytes without NUL",
                        DKS_MAX_SOURCE_BYTES);
    return DKS_OK;
}

int dks_writer_source_begin(dks_writer *w, const char *path, size_t len, dks_error_detail *err)
{
    if (w->failed)
        return dks_fail(err, w->failed, -1, "writer stopped after an earlier error");
    if (w->open_source)
        return dks_fail(err, DKS_EINVAL, -1, "a source is already open");
    int rc = check_source_path(path, len, err);
    if (rc)
        return rc;
    pending_source *src = calloc(1, sizeof *src);
    if (!src)
        return dks_fail(err, DKS_ENOMEM, -1, "%s", dks_strerror(DKS_ENOMEM));
    memcpy(src->path, path, len);
    src->path_len = len;
    if (w->sources_tail)
        w->sources_tail->next = src;
    else
        w->sources = src;
    w->sources_tail = src;
    w->open_source = src;
    return DKS_OK;
}

int dks_writer_source_end(dks_writer *w, const dks_source_info *info, dks_error_detail *err)
{
    pending_source *src = w->open_source;
    if (!src)
        return dks_fail(err, DKS_EINVAL, -1, "no source is open");
    src->info = *info;
    src->ended = 1;
    w->open_source = NULL;
    if (w->failed)
        return dks_fail(err, w->failed, -1, "writer stopped after an earlier error");
    return finish_sources(w, err);
}

/* What every operation on a recorded source checks first; then the
 * batch's transaction is open. */
static int begin_source_op(dks_writer *w, const char *path, size_t len, int drain_first,
                           dks_error_detail *err)
{
    if (w->failed)
        return dks_fail(err, w->failed, -1, "writer stopped after an earlier error");
    int rc = check_source_path(path, len, err);
    if (!rc && drain_first)
        rc = drain(w, err);  /* the documents given before go first */
    if (rc)
        return rc;
    if ((rc = begin_batch(w)))
        return fail_store(w, rc, err, "cannot start a write transaction");
    return DKS_OK;
}

int dks_writer_source_touch(dks_writer *w, const char *path, size_t len,
                            const dks_source_info *info, dks_error_detail *err)
{
    int rc = begin_source_op(w, path, len, 0, err);
    if (rc)
        return rc;
    dks_buf ids = {0};
    uint64_t n_ids;
    rc = read_source(w, path, len, &ids, &n_ids);
    if (rc == 0)
        rc = dks_source_record_put(w->txn, path, len, info, &ids, n_ids, &w->record);
    dks_buf_free(&ids);
    if (rc == 1)
        return DKS_OK;  /* never indexed: nothing to keep */
    return rc ? fail_store(w, rc, err, "cannot record a source") : DKS_OK;
}

int dks_writer_source_delete(dks_writer *w, const char *path, size_t len, uint64_t *deleted,
                             dks_error_detail *err)
{
    uint64_t n = 0, n_ids;
    if (deleted)
        *deleted = 0;
    int rc = begin_source_op(w, path, len, 1, err);
    if (rc)
        return rc;
    dks_buf ids = {0};
    rc = read_source(w, path, len, &ids, &n_ids);
    if (rc == 0)
        rc = delete_own(w, path, len, &ids, NULL, 0, &n);
    if (rc == 0 && !w->txn)
        rc = begin_batch(w);
    if (rc == 0)
        rc = dks_kv_del(w->txn, DKS_DB_SOURCES, path, len);
    dks_buf_free(&ids);
    if (deleted)
        *deleted = n;
    if (rc == 1)
        return DKS_OK;  /* no such source */
    return rc ? fail_store(w, rc, err, "cannot delete a source") : commit_if_full(w, err);
}

int dks_writer_compact(dks_writer *w, dks_error_detail *err)
{
    int rc = dks_writer_commit(w, err);
    if (rc)
        return rc;
    dks_txn *t;
    dks_meta m;
    if ((rc = dks_txn_begin(w->store, 0, &t)))
        return dks_fail(err, rc, -1, "cannot read the index: %s", dks_strerror(rc));
    rc = dks_meta_read(t, &m);
    dks_txn_abort(t);
    if (rc == 1)
        return DKS_OK;  /* nothing indexed yet */
    if (!rc && m.n_gens > 1)
        rc = merge_generations(w, 0, m.n_gens - 1);
    if (rc) {
        w->failed = rc;
        return dks_fail(err, rc, -1, "cannot merge posting generations: %s", dks_strerror(rc));
    }
    if ((rc = dks_store_compact(w->store)))
        return dks_fail(err, rc, -1, "cannot rewrite the index compact (it stays as it was): %s",
                        dks_strerror(rc));
    w->stats.compactions++;
    w->compacted_at = w->stats.bytes + w->deleted_bytes;
    w->merged_bytes = 0;
    return DKS_OK;
}

int dks_writer_failed(const dks_writer *w)
{
    return w->failed;
}

void dks_writer_stats_get(const dks_writer *w, dks_writer_stats *out)
{
    *out = w->stats;
}

void dks_writer_close(dks_writer *w)
{
    if (!w)
        return;
    dks_pipeline_free(w->pipeline);  /* what it holds was never committed */
    while (w->sources) {
        pending_source *next = w->sources->next;
        dks_buf_free(&w->sources->ids);
        free(w->sources);
        w->sources = next;
    }
    dks_buf_free(&w->record);
    dks_txn_abort(w->txn);
    free_pool(w);
    free(w->pages);
    dks_huge_free(w->terms, w->terms_cap * sizeof *w->terms);
    free(w->batch_terms);
    free(w->docs);
    dks_doc_terms_free(&w->terms_scratch);
    dks_doc_terms_free(&w->deleted_terms);
    dks_text_encoder_free(w->enc);
    free(w->text_dict);
    dks_text_reader_free(w->text_reader);
    dks_buf_free(&w->scratch);
    dks_buf_free(&w->text);
    dks_buf_free(&w->fields);
    dks_block_data_free(&w->block);
    dks_block_data_free(&w->merge_in);
    dks_analyzer_free(w->an);
    dks_analyzer_free(w->del_an);
    dks_termdict_free(w->del_dict);
    dks_termdict_free(w->dict);  /* after the pipeline, whose worker interned in it */
    dks_lexicon_close(&w->lexicon);  /* after every analyzer that reads it */
    if (w->locked)
        dks_store_unlock_writer(w->store);
    free(w);
}

