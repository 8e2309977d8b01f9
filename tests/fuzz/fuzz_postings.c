/*
 * fuzz_postings.c - the decoders of index bytes on arbitrary bytes: posting
 * blocks above all, and the other records a damaged index could hand a
 * reader.  Each must accept the bytes or return DKS_ECORRUPT (or say the
 * record is absent), never crash or read past the value.
 *
 * Input: the first byte picks the decoder, the rest is its value:
 *   0  a posting block (after a be32 first document): parse, decode, every
 *      document's positions (one by one and all at once), load; a block
 *      that decodes is encoded again and must decode to the same postings
 *   1  term statistics, with an inline block decoded as in 0
 *   2  a document record and its stored fields
 *   3  the meta record, and the generation of a few documents
 *   4  a stored text (u8 dictionary length n, n bytes of dictionary, the
 *      value): raw, zstd, zstd with the dictionary
 *   5  a posting key, and varints
 *   6  a chunk of document lengths
 *   7  a term's posting list across generations: a u8 generation count, a
 *      be32 next document, then blocks as (u8 generation, be32 first
 *      document, u8 length, block), walked and sought through plist.c
 * Records that the readers take from the store are put in a write
 * transaction of a scratch store, read back through the real reader, and
 * the transaction is aborted.
 */
#include "fuzz.h"

#define MODES 8
/* Positions of a block the harness reads.  A block may claim up to
 * DKS_MAX_POSITION + 1 positions a document in a few bytes (zero-bit gaps:
 * one word repeated), which a reader must then produce; that costs time
 * and memory in proportion, not a bug, so larger blocks are decoded only
 * as far as their frequencies. */
#define MAX_POSITIONS ((uint64_t)1 << 16)

static dks_store *store;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* removed at once: the open store keeps its files */
    char dir[4096];
    fuzz_tmpdir(dir, sizeof dir, "postings");
    fuzz_setup(dks_store_open(dir, DKS_OPEN_CREATE, &store, NULL), "dks_store_open");
    fuzz_rmrf(dir);
    return 0;
}

/* ---- blocks ------------------------------------------------------------ */

/* Every document's positions of a decoded block, into b->pos (as
 * dks_block_load does, but through the reader's own calls). */
static int read_positions(dks_block_header *h, const uint32_t *tfs, dks_block_data *b)
{
    uint64_t gap_at = 0;
    b->pos_n = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        int rc = dks_block_pos_reserve(b, tfs[i]);
        if (!rc)
            rc = dks_block_positions(h, i, gap_at, tfs[i], b->pos + b->pos_n);
        if (rc)
            return rc;
        for (uint32_t k = 1; k < tfs[i]; k++)
            FUZZ_CHECK(b->pos[b->pos_n + k] > b->pos[b->pos_n + k - 1]);
        b->pos_n += tfs[i];
        gap_at += tfs[i] - 1;
    }
    return DKS_OK;
}

/* A block value: must be refused as corrupt, or decode to postings that
 * hold together and survive encoding again. */
static void fuzz_block(const unsigned char *val, size_t len, uint32_t first_doc)
{
    dks_block_header h;
    int rc = dks_block_parse(val, len, first_doc, &h);
    FUZZ_CHECK_RC(rc, DKS_ECORRUPT);
    /* parsed in the two halves a search uses, the same verdict */
    dks_block_header halves;
    int halves_rc = dks_block_parse_head(val, len, first_doc, &halves);
    FUZZ_CHECK_RC(halves_rc, DKS_ECORRUPT);
    if (!halves_rc)
        FUZZ_CHECK_RC(halves_rc = dks_block_parse_positions(&halves), DKS_ECORRUPT);
    FUZZ_CHECK((halves_rc == 0) == (rc == 0));
    if (rc)
        return;
    FUZZ_CHECK(h.n >= 1 && h.n <= DKS_BLOCK_DOCS && h.first_doc == first_doc);
    FUZZ_CHECK(h.last_doc >= h.first_doc && h.max_tf >= 1);
    uint32_t docs[DKS_BLOCK_DOCS], tfs[DKS_BLOCK_DOCS], alone[DKS_BLOCK_DOCS];
    /* a frequency read alone is refused, or within the header's bound */
    for (uint32_t i = 0; i < h.n; i++) {
        rc = dks_block_tf(&h, i, &alone[i]);
        FUZZ_CHECK_RC(rc, DKS_ECORRUPT);
        FUZZ_CHECK(rc || (alone[i] >= 1 && alone[i] <= h.max_tf));
    }
    rc = dks_block_decode(&h, docs, tfs);
    FUZZ_CHECK_RC(rc, DKS_ECORRUPT);
    if (rc)
        return;
    /* and where the whole block decodes, it is the decoded one */
    for (uint32_t i = 0; i < h.n; i++)
        FUZZ_CHECK(dks_block_tf(&h, i, &alone[i]) == DKS_OK && alone[i] == tfs[i]);
    FUZZ_CHECK(docs[0] == h.first_doc && docs[h.n - 1] == h.last_doc);
    for (uint32_t i = 0; i < h.n; i++) {
        FUZZ_CHECK(i == 0 || docs[i] > docs[i - 1]);
        FUZZ_CHECK(tfs[i] >= 1 && tfs[i] <= h.max_tf);
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < h.n; i++)
        total += tfs[i];
    if (total > MAX_POSITIONS)
        return;
    dks_block_data read = {0}, loaded = {0}, again = {0};
    if (h.positions_len) {
        rc = read_positions(&h, tfs, &read);
        FUZZ_CHECK_RC(rc, DKS_ECORRUPT);
        /* a search reads positions past exceptions out of order (wrong
         * numbers, no crash); loading, for checks and merges, refuses them */
        int order_rc = dks_block_check_positions(&h);
        FUZZ_CHECK_RC(order_rc, DKS_ECORRUPT);
        if (!rc)
            rc = order_rc;
        /* all at once, as a phrase reads a block's: the same verdict as
         * the two together, and the same positions */
        uint32_t *all = malloc((total ? total : 1) * sizeof *all);
        fuzz_setup(all ? DKS_OK : DKS_ENOMEM, "malloc");
        int all_rc = dks_block_decode_positions(&h, tfs, all);
        FUZZ_CHECK_RC(all_rc, DKS_ECORRUPT);
        FUZZ_CHECK(all_rc == rc);
        FUZZ_CHECK(all_rc || memcmp(all, read.pos, total * sizeof *all) == 0);
        free(all);
    }
    int load_rc = dks_block_load(&h, &loaded);
    FUZZ_CHECK(load_rc == rc);
    if (!rc) {
        FUZZ_CHECK(loaded.n == h.n && loaded.pos_n == read.pos_n);
        FUZZ_CHECK(memcmp(loaded.docs, docs, h.n * sizeof *docs) == 0);
        FUZZ_CHECK(memcmp(loaded.tfs, tfs, h.n * sizeof *tfs) == 0);
        FUZZ_CHECK(!read.pos_n || memcmp(loaded.pos, read.pos, read.pos_n * sizeof *read.pos) == 0);
        /* what was read is a valid block: encoded again, the same postings */
        dks_buf out = {0};
        FUZZ_CHECK(dks_block_encode(&loaded, &out) == DKS_OK);
        dks_block_header h2;
        FUZZ_CHECK(dks_block_parse(out.data, out.len, first_doc, &h2) == DKS_OK);
        FUZZ_CHECK(h2.n == h.n && h2.last_doc == h.last_doc && h2.min_len == h.min_len);
        FUZZ_CHECK(dks_block_load(&h2, &again) == DKS_OK);
        FUZZ_CHECK(again.pos_n == loaded.pos_n);
        FUZZ_CHECK(memcmp(again.docs, loaded.docs, h.n * sizeof *docs) == 0);
        FUZZ_CHECK(memcmp(again.tfs, loaded.tfs, h.n * sizeof *tfs) == 0);
        FUZZ_CHECK(!again.pos_n ||
                   memcmp(again.pos, loaded.pos, again.pos_n * sizeof *again.pos) == 0);
        dks_buf_free(&out);
    }
    dks_block_data_free(&read);
    dks_block_data_free(&loaded);
    dks_block_data_free(&again);
}

/* ---- records read from the store --------------------------------------- */

static dks_txn *begin(void)
{
    dks_txn *t;
    fuzz_setup(dks_txn_begin(store, 1, &t), "dks_txn_begin");
    return t;
}

static void put(dks_txn *t, dks_db db, const void *key, size_t klen, const void *val, size_t len)
{
    fuzz_setup(dks_kv_put(t, db, key, klen, val, len), "dks_kv_put");
}

static void fuzz_term_stats(const unsigned char *val, size_t len)
{
    if (len == 0)
        return;  /* LMDB stores no empty value under a key of ours */
    dks_txn *t = begin();
    dks_term_stats st;
    put(t, DKS_DB_TERMS, "term", 4, val, len);
    int rc = dks_term_stats_get(t, "term", 4, &st);
    FUZZ_CHECK_RC(rc, DKS_ECORRUPT);
    if (!rc) {
        FUZZ_CHECK(st.df >= 1 && st.cf >= st.df);
        if (st.inline_block) {
            /* after at least three varints (df, cf, first document) */
            FUZZ_CHECK(st.inline_len > 0 && st.inline_len <= len - 3);
            fuzz_block(st.inline_block, st.inline_len, st.inline_first);
        }
    }
    dks_txn_abort(t);
}

static void fuzz_doc_record(const unsigned char *val, size_t len)
{
    dks_doc_record rec;
    int rc = dks_doc_record_decode(val, len, &rec);
    FUZZ_CHECK_RC(rc, DKS_ECORRUPT);
    if (rc)
        return;
    const unsigned char *end = val + len;
    FUZZ_CHECK((const unsigned char *)rec.id >= val && rec.id_len <= (size_t)(end - val));
    FUZZ_CHECK((const unsigned char *)rec.title + rec.title_len <= end);
    FUZZ_CHECK(rec.fields + rec.fields_len == end);
    for (size_t i = 0;; i++) {
        dks_field f;
        rc = dks_fields_get(rec.fields, rec.fields_len, i, &f);
        FUZZ_CHECK_RC(rc, DKS_ECORRUPT, 1);
        if (rc)
            break;
        FUZZ_CHECK((const unsigned char *)f.value + f.value_len <= end);
    }
}

static void fuzz_meta(const unsigned char *val, size_t len)
{
    if (len == 0)
        return;
    dks_txn *t = begin();
    dks_meta m;
    put(t, DKS_DB_META, "meta", 4, val, len);
    int rc = dks_meta_read(t, &m);
    FUZZ_CHECK_RC(rc, DKS_ECORRUPT, DKS_EVERSION);
    if (!rc) {
        FUZZ_CHECK(m.n_gens <= DKS_GENERATIONS && m.doc_count <= m.next_doc);
        uint32_t probes[] = {0, 1, m.next_doc / 2, m.next_doc - 1, m.next_doc, UINT32_MAX};
        for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
            int g = dks_meta_generation_of(&m, probes[i]);
            FUZZ_CHECK(g >= -1 && g < (int)m.n_gens);
            FUZZ_CHECK(g < 0 || m.gen_first[g] <= probes[i]);
        }
    }
    dks_txn_abort(t);
}

static void fuzz_text(const unsigned char *data, size_t len)
{
    if (len == 0)
        return;
    size_t dict_len = data[0];
    if (dict_len > len - 1)
        return;
    const unsigned char *val = data + 1 + dict_len;
    size_t val_len = len - 1 - dict_len;
    dks_txn *t = begin();
    if (dict_len)
        put(t, DKS_DB_META, "text-dictionary", 15, data + 1, dict_len);
    dks_text_reader *r;
    fuzz_setup(dks_text_reader_new(NULL, &r), "dks_text_reader_new");
    const void *text;
    size_t text_len;
    int rc = dks_text_decode(r, t, val, val_len, &text, &text_len);
    FUZZ_CHECK_RC(rc, DKS_ECORRUPT);
    /* every byte of the text is there to read (the sanitizer checks) */
    if (!rc)
        (void)dks_hash_bytes(text, text_len);
    dks_text_reader_free(r);
    dks_txn_abort(t);
}

static void fuzz_key_and_varints(const unsigned char *data, size_t len)
{
    size_t tl;
    uint32_t first;
    int rc = dks_postings_key_parse(data, len, &tl, &first);
    FUZZ_CHECK_RC(rc, DKS_ECORRUPT);
    FUZZ_CHECK(rc || tl + 5 == len);
    for (const unsigned char *p = data, *end = data + len; p < end;) {
        const unsigned char *at = p;
        uint64_t v;
        rc = dks_varint_decode(&p, end, &v);
        FUZZ_CHECK_RC(rc, DKS_ECORRUPT);
        if (rc)
            break;
        FUZZ_CHECK(p > at && p <= end);
        unsigned char enc[10];
        size_t n = dks_varint_encode(enc, v);
        const unsigned char *q = enc;
        uint64_t w;
        FUZZ_CHECK(dks_varint_decode(&q, enc + n, &w) == DKS_OK && w == v && q == enc + n);
    }
}

static void fuzz_lengths(const unsigned char *val, size_t len)
{
    if (len == 0)
        return;
    dks_txn *t = begin();
    unsigned char key[4];
    dks_put_be32(key, 1);
    put(t, DKS_DB_LENGTHS, key, sizeof key, val, len);
    dks_length_reader lr = {.txn = t};
    uint32_t length;
    int rc = dks_length_get(&lr, DKS_LENGTH_CHUNK + 3, &length);
    FUZZ_CHECK_RC(rc, DKS_ECORRUPT);
    FUZZ_CHECK((rc == 0) == (len == DKS_LENGTH_CHUNK * 4));
    rc = dks_length_get(&lr, 0, &length);  /* a chunk that is not there */
    FUZZ_CHECK(rc == DKS_ECORRUPT);
    dks_length_reader_close(&lr);
    dks_txn_abort(t);
}

/* ---- a posting list across generations --------------------------------- */

static void walk_plist(dks_txn *t, const dks_meta *m, const uint32_t *targets, size_t n_targets)
{
    dks_plist p;
    int rc = dks_plist_open(&p, t, m, "t", 1, NULL);
    FUZZ_CHECK_RC(rc, DKS_ECORRUPT, 1);
    /* every block in turn, in document order */
    for (int steps = 0; !rc && steps < 64; steps++) {
        FUZZ_CHECK(p.h.last_doc < m->next_doc);
        uint32_t docs[DKS_BLOCK_DOCS], tfs[DKS_BLOCK_DOCS];
        FUZZ_CHECK_RC(dks_block_decode(&p.h, docs, tfs), DKS_ECORRUPT);
        uint32_t last = p.h.last_doc;
        rc = dks_plist_next(&p);
        FUZZ_CHECK_RC(rc, DKS_ECORRUPT, 1);
        FUZZ_CHECK(rc || p.h.first_doc > last);
    }
    dks_plist_close(&p);
    /* and skipping to documents */
    rc = dks_plist_open(&p, t, m, "t", 1, NULL);
    for (size_t i = 0; !rc && i < n_targets; i++) {
        rc = dks_plist_seek(&p, targets[i]);
        FUZZ_CHECK_RC(rc, DKS_ECORRUPT, 1);
        FUZZ_CHECK(rc || p.h.last_doc >= targets[i]);
    }
    dks_plist_close(&p);
}

static void fuzz_plist(const unsigned char *data, size_t len)
{
    if (len < 5)
        return;
    dks_meta m = {.format_version = DKS_FORMAT_VERSION, .next_doc = dks_get_be32(data + 1)};
    m.n_gens = 1 + data[0] % 4;
    for (unsigned g = 0; g < m.n_gens; g++) {
        m.gen_slot[g] = (uint8_t)(m.n_gens - 1 - g);  /* slots in any order */
        m.gen_first[g] = (uint32_t)((uint64_t)m.next_doc * g / m.n_gens);
    }
    dks_txn *t = begin();
    /* the blocks first: a term is stored with them (not inline) */
    uint32_t targets[16];
    size_t n_targets = 0;
    const unsigned char *p = data + 5, *end = data + len;
    while (end - p >= 6) {
        unsigned gen = p[0] % m.n_gens;
        uint32_t first = dks_get_be32(p + 1);
        size_t bl = p[5];
        p += 6;
        if (bl > (size_t)(end - p))
            bl = (size_t)(end - p);
        if (bl) {
            unsigned char key[16];
            size_t kl = dks_postings_key(key, "t", 1, first);
            put(t, dks_db_postings(m.gen_slot[gen]), key, kl, p, bl);
        }
        if (n_targets < sizeof targets / sizeof targets[0])
            targets[n_targets++] = first + (uint32_t)bl;
        p += bl;
    }
    unsigned char stats[2] = {1, 1};  /* df 1, cf 1 */
    put(t, DKS_DB_TERMS, "t", 1, stats, sizeof stats);
    walk_plist(t, &m, targets, n_targets);
    dks_txn_abort(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const unsigned char *val = data + 1;
    size_t len = size - 1;
    switch (data[0] % MODES) {
    case 0:
        if (len >= 4)
            fuzz_block(val + 4, len - 4, dks_get_be32(val));
        break;
    case 1: fuzz_term_stats(val, len); break;
    case 2: fuzz_doc_record(val, len); break;
    case 3: fuzz_meta(val, len); break;
    case 4: fuzz_text(val, len); break;
    case 5: fuzz_key_and_varints(val, len); break;
    case 6: fuzz_lengths(val, len); break;
    case 7: fuzz_plist(val, len); break;
    }
    return 0;
}
