/*
 * keys.c - the layout of every key and value outside the posting blocks:
 * posting keys, term statistics, document records, collection statistics
 * and document lengths.  docs/index-format.md describes the same bytes.
 *
 *   terms     term key (dks_term_key, dks_title_key, dks_field_key)
 *                                       -> varint df, varint cf, and for a
 *                                          term whose postings are one short
 *                                          block: varint first doc, the block
 *   postings, postings.1 .. postings.15 (a generation each, see plist.c)
 *             term, 0x00, be32 first doc -> block (postings.c)
 *   docs      be32 doc                  -> varint id_len, id, varint title_len,
 *                                          title, varint length, varint body_start,
 *                                          varint source_len, source (sources.c),
 *                                          varint n_fields, n x (varint name_len,
 *                                          name, varint value_len, value)
 *   ids       external id               -> be32 doc
 *   text      be32 doc                  -> body text as given
 *   lengths   be32 doc/256              -> 256 x le32 document length (0: none)
 *   meta      "meta"                    -> "DKSI", le32 format version, le32
 *                                          analyzer version, le32 next doc,
 *                                          le64 documents, le64 total length,
 *                                          le64 distinct terms, le32 analysis
 *                                          (DKS_ANALYSIS_* flags), u8 number of
 *                                          generations, then per generation in
 *                                          document order: u8 slot, be32 first doc
 */
#include <string.h>

#include "dks_int.h"

#define META_KEY "meta"
#define META_FIXED 44
/* the fixed part, a generation count, then 5 bytes a generation */
#define META_MAX (META_FIXED + 1 + 5 * DKS_GENERATIONS)

size_t dks_term_key(dks_term_kind kind, const char *term, size_t len, char *out)
{
    if (len == 0 || len > DKS_MAX_KEY_TERM_BYTES)
        return 0;
    size_t n = 0;
    switch (kind) {
    case DKS_TERM_PART:     out[n++] = 0x01; break;
    case DKS_TERM_HEAD:     out[n++] = 0x02; break;
    case DKS_TERM_LEMMA:    out[n++] = 0x03; break;
    case DKS_TERM_SPELLING: out[n++] = 0x04; break;
    case DKS_TERM_FORM:     out[n++] = 0x06; break;
    default:                break;
    }
    memcpy(out + n, term, len);
    return n + len;
}

static int put_string(dks_buf *out, const char *s, size_t len)
{
    int rc = dks_buf_put_varint(out, len);
    return rc ? rc : dks_buf_append(out, s, len);
}

static int get_string(const unsigned char **p, const unsigned char *end, const char **s,
                      size_t *len)
{
    uint64_t n;
    int rc = dks_varint_decode(p, end, &n);
    if (rc)
        return rc;
    if (n > (uint64_t)(end - *p))
        return DKS_ECORRUPT;
    *s = (const char *)*p;
    *len = (size_t)n;
    *p += n;
    return DKS_OK;
}

size_t dks_title_key(const char *term, size_t len, char *out)
{
    if (len == 0 || len > DKS_MAX_KEY_TERM_BYTES)
        return 0;
    out[0] = DKS_KEY_TITLE;
    memcpy(out + 1, term, len);
    return len + 1;
}

size_t dks_field_key(const char *name, size_t name_len, const char *value, size_t value_len,
                     char *out)
{
    char lname[DKS_MAX_TERM_BYTES], lvalue[DKS_MAX_TERM_BYTES];
    size_t nl, vl;
    if (name_len == 0 || name_len > DKS_MAX_TOKEN_BYTES || value_len > DKS_MAX_TOKEN_BYTES ||
        dks_normalize((const unsigned char *)name, name_len, lname, sizeof lname, &nl) ||
        dks_normalize((const unsigned char *)value, value_len, lvalue, sizeof lvalue, &vl) ||
        nl + vl + 2 > DKS_MAX_KEY_TERM_BYTES || memchr(lname, 0, nl) || nl == 0)
        return 0;
    out[0] = DKS_KEY_FIELD;
    memcpy(out + 1, lname, nl);
    out[1 + nl] = 0;
    memcpy(out + 2 + nl, lvalue, vl);
    return nl + vl + 2;
}

int dks_fields_encode(const dks_field *fields, size_t n, dks_buf *out)
{
    int rc = dks_buf_put_varint(out, n);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = put_string(out, fields[i].name, fields[i].name_len);
        if (!rc)
            rc = put_string(out, fields[i].value, fields[i].value_len);
    }
    return rc;
}

int dks_fields_get(const unsigned char *list, size_t len, size_t i, dks_field *out)
{
    const unsigned char *p = list, *end = list + len;
    uint64_t count;
    if (dks_varint_decode(&p, end, &count))
        return DKS_ECORRUPT;
    if (i >= count)
        return 1;
    for (size_t k = 0; k <= i; k++) {
        int rc;
        if ((rc = get_string(&p, end, &out->name, &out->name_len)) ||
            (rc = get_string(&p, end, &out->value, &out->value_len)))
            return rc;
    }
    return DKS_OK;
}

size_t dks_postings_key(unsigned char *out, const char *term, size_t term_len, uint32_t first_doc)
{
    memcpy(out, term, term_len);
    out[term_len] = 0;
    dks_put_be32(out + term_len + 1, first_doc);
    return term_len + 5;
}

int dks_postings_key_parse(const unsigned char *key, size_t klen, size_t *term_len,
                           uint32_t *first_doc)
{
    if (klen < 6 || key[klen - 5] != 0)
        return DKS_ECORRUPT;
    *term_len = klen - 5;
    *first_doc = dks_get_be32(key + klen - 4);
    return DKS_OK;
}

int dks_term_stats_get(dks_txn *t, const char *term, size_t len, dks_term_stats *out)
{
    const void *v;
    size_t vl;
    int rc = dks_kv_get(t, DKS_DB_TERMS, term, len, &v, &vl);
    return rc ? rc : dks_term_stats_decode(v, vl, out);
}

int dks_term_stats_decode(const void *val, size_t len, dks_term_stats *out)
{
    const unsigned char *p = val, *end = p + len;
    int rc;
    if ((rc = dks_varint_decode(&p, end, &out->df)) || (rc = dks_varint_decode(&p, end, &out->cf)))
        return rc;
    if (out->df == 0 || out->cf < out->df)
        return DKS_ECORRUPT;
    out->inline_block = NULL;
    out->inline_len = 0;
    out->inline_first = 0;
    if (p == end)
        return DKS_OK;
    /* the term's only block, here instead of in a generation */
    if ((rc = dks_varint_decode32(&p, end, &out->inline_first)))
        return rc;
    if (p == end || out->df > DKS_BLOCK_DOCS)
        return DKS_ECORRUPT;
    out->inline_block = p;
    out->inline_len = (size_t)(end - p);
    return DKS_OK;
}

int dks_term_stats_put(dks_txn *t, const char *term, size_t len, const dks_term_stats *st,
                       int append)
{
    unsigned char v[DKS_INLINE_BLOCK_BYTES + 32];
    size_t n = dks_varint_encode(v, st->df);
    n += dks_varint_encode(v + n, st->cf);
    if (st->inline_block) {
        if (st->inline_len > DKS_INLINE_BLOCK_BYTES)
            return DKS_EINVAL;
        n += dks_varint_encode(v + n, st->inline_first);
        memcpy(v + n, st->inline_block, st->inline_len);
        n += st->inline_len;
    }
    return append ? dks_kv_append(t, DKS_DB_TERMS, term, len, v, n)
                  : dks_kv_put(t, DKS_DB_TERMS, term, len, v, n);
}


int dks_doc_record_encode(const dks_document *doc, const char *source, size_t source_len,
                          uint32_t length, uint32_t body_start, dks_buf *out)
{
    int rc;
    out->len = 0;
    if ((rc = put_string(out, doc->id, doc->id_len)) ||
        (rc = put_string(out, doc->title ? doc->title : "", doc->title_len)) ||
        (rc = dks_buf_put_varint(out, length)) ||
        (rc = dks_buf_put_varint(out, body_start)) ||
        (rc = put_string(out, source ? source : "", source_len)) ||
        (rc = dks_buf_put_varint(out, doc->n_fields)))
        return rc;
    for (size_t i = 0; i < doc->n_fields; i++) {
        const dks_field *f = &doc->fields[i];
        if ((rc = put_string(out, f->name, f->name_len)) ||
            (rc = put_string(out, f->value, f->value_len)))
            return rc;
    }
    return DKS_OK;
}


int dks_doc_record_decode(const void *val, size_t len, dks_doc_record *out)
{
    const unsigned char *p = val, *end = p + len;
    int rc;
    if ((rc = get_string(&p, end, &out->id, &out->id_len)) ||
        (rc = get_string(&p, end, &out->title, &out->title_len)) ||
        (rc = dks_varint_decode32(&p, end, &out->length)) ||
        (rc = dks_varint_decode32(&p, end, &out->body_start)) ||
        (rc = get_string(&p, end, &out->source, &out->source_len)))
        return rc;
    out->fields = p;
    out->fields_len = (size_t)(end - p);
    return out->id_len > 0 ? DKS_OK : DKS_ECORRUPT;
}

static void put_le32(unsigned char *out, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

int dks_meta_read(dks_txn *t, dks_meta *m)
{
    const void *v;
    size_t vl;
    int rc = dks_kv_get(t, DKS_DB_META, META_KEY, strlen(META_KEY), &v, &vl);
    if (rc)
        return rc;
    const unsigned char *p = v;
    if (vl < 8 || memcmp(p, "DKSI", 4) != 0)
        return DKS_ECORRUPT;
    m->format_version = dks_get_le32(p + 4);
    if (m->format_version != DKS_FORMAT_VERSION)
        return DKS_EVERSION;
    if (vl < META_FIXED + 1)
        return DKS_ECORRUPT;
    m->analyzer_version = dks_get_le32(p + 8);
    m->next_doc = dks_get_le32(p + 12);
    m->doc_count = dks_get_le64(p + 16);
    m->total_len = dks_get_le64(p + 24);
    m->term_count = dks_get_le64(p + 32);
    m->features = dks_get_le32(p + 40);
    if (m->doc_count > m->next_doc || (m->features & ~(uint32_t)DKS_ANALYSIS_ALL))
        return DKS_ECORRUPT;
    /* Generations: distinct slots, first documents rising from 0 and
     * below next_doc. */
    m->n_gens = p[META_FIXED];
    if (m->n_gens > DKS_GENERATIONS || vl != META_FIXED + 1 + 5 * (size_t)m->n_gens)
        return DKS_ECORRUPT;
    unsigned used = 0;
    for (unsigned i = 0; i < m->n_gens; i++) {
        const unsigned char *g = p + META_FIXED + 1 + 5 * i;
        m->gen_slot[i] = g[0];
        m->gen_first[i] = dks_get_be32(g + 1);
        if (g[0] >= DKS_GENERATIONS || (used & 1u << g[0]) ||
            (i == 0 ? m->gen_first[i] != 0 : m->gen_first[i] <= m->gen_first[i - 1]) ||
            m->gen_first[i] >= m->next_doc)
            return DKS_ECORRUPT;
        used |= 1u << g[0];
    }
    return DKS_OK;
}

int dks_meta_generation_of(const dks_meta *m, uint32_t doc)
{
    int lo = 0, hi = (int)m->n_gens - 1;
    if (hi < 0 || doc >= m->next_doc)
        return -1;
    while (lo < hi) {  /* the last generation whose first document is <= doc */
        int mid = (lo + hi + 1) / 2;
        if (m->gen_first[mid] <= doc)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

int dks_meta_write(dks_txn *t, const dks_meta *m)
{
    unsigned char v[META_MAX];
    memcpy(v, "DKSI", 4);
    put_le32(v + 4, m->format_version);
    put_le32(v + 8, m->analyzer_version);
    put_le32(v + 12, m->next_doc);
    dks_put_le64(v + 16, m->doc_count);
    dks_put_le64(v + 24, m->total_len);
    dks_put_le64(v + 32, m->term_count);
    put_le32(v + 40, m->features);
    v[META_FIXED] = (unsigned char)m->n_gens;
    for (unsigned i = 0; i < m->n_gens; i++) {
        v[META_FIXED + 1 + 5 * i] = m->gen_slot[i];
        dks_put_be32(v + META_FIXED + 2 + 5 * i, m->gen_first[i]);
    }
    return dks_kv_put(t, DKS_DB_META, META_KEY, strlen(META_KEY), v,
                      META_FIXED + 1 + 5 * (size_t)m->n_gens);
}

/* 1 if a document record has an id in the chunk, 0 if none does. */
static int chunk_has_docs(dks_txn *t, uint32_t chunk)
{
    dks_cursor *c;
    unsigned char from[4];
    const void *k, *v;
    size_t kl, vl;
    int rc = dks_cursor_open(t, DKS_DB_DOCS, &c);
    if (rc)
        return rc;
    dks_put_be32(from, chunk * DKS_LENGTH_CHUNK);
    rc = dks_cursor_seek(c, from, sizeof from, &k, &kl, &v, &vl);
    if (rc == 0)
        rc = kl == 4 && dks_get_be32(k) / DKS_LENGTH_CHUNK == chunk;
    else if (rc == 1)
        rc = 0;
    dks_cursor_close(c);
    return rc;
}

int dks_length_set(dks_txn *t, uint32_t doc, uint32_t length)
{
    unsigned char key[4], chunk[DKS_LENGTH_CHUNK * 4];
    const void *v;
    size_t vl;
    dks_put_be32(key, doc / DKS_LENGTH_CHUNK);
    int rc = dks_kv_get(t, DKS_DB_LENGTHS, key, sizeof key, &v, &vl);
    if (rc == 1)
        memset(chunk, 0, sizeof chunk);
    else if (rc)
        return rc;
    else if (vl != sizeof chunk)
        return DKS_ECORRUPT;
    else
        memcpy(chunk, v, sizeof chunk);
    put_le32(chunk + (doc % DKS_LENGTH_CHUNK) * 4, length);
    /* Ids are never reused: a chunk whose documents are all deleted would
     * stay for good, and an index updated over and over would grow by
     * one for every 256 replacements.  (All lengths 0 is not enough to
     * tell: a live document can be empty.) */
    size_t used = 0;
    while (used < sizeof chunk && chunk[used] == 0)
        used++;
    if (used == sizeof chunk && (rc = chunk_has_docs(t, doc / DKS_LENGTH_CHUNK)) != 1) {
        if (rc == 0)
            rc = dks_kv_del(t, DKS_DB_LENGTHS, key, sizeof key);
        return rc == 1 ? DKS_OK : rc;
    }
    return dks_kv_put(t, DKS_DB_LENGTHS, key, sizeof key, chunk, sizeof chunk);
}

/* A cursor's rc, or 1 when it found a key other than the 4-byte one. */
static int found_key(int rc, const void *k, size_t kl, const unsigned char key[4])
{
    return rc == 0 && (kl != 4 || memcmp(k, key, 4) != 0) ? 1 : rc;
}

/* Loads a chunk: the one after the last by a step of the cursor, which
 * costs much less than a search from the root, any other by a seek. */
static int load_length_chunk(dks_length_reader *r, uint32_t chunk, const unsigned char **data)
{
    unsigned char key[4];
    const void *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    int rc;
    dks_put_be32(key, chunk);
    if (!r->cur && (rc = dks_cursor_open(r->txn, DKS_DB_LENGTHS, &r->cur)))
        return rc;
    rc = 1;  /* not found yet */
    if (r->positioned && chunk == r->at + 1) {
        rc = dks_cursor_next(r->cur, &k, &kl, &v, &vl);
        rc = found_key(rc, k, kl, key);  /* a step lands past a deleted chunk */
    }
    if (rc == 1) {
        rc = dks_cursor_seek(r->cur, key, sizeof key, &k, &kl, &v, &vl);
        rc = found_key(rc, k, kl, key);
    }
    r->positioned = 0;
    if (rc == 1)
        return DKS_ECORRUPT;  /* a posting names a document with no length */
    if (rc)
        return rc;
    if (vl != DKS_LENGTH_CHUNK * 4)
        return DKS_ECORRUPT;
    r->positioned = 1;
    r->at = chunk;
    *data = v;
    return DKS_OK;
}

void dks_length_reader_close(dks_length_reader *r)
{
    dks_cursor_close(r->cur);
    *r = (dks_length_reader){.txn = r->txn, .table = r->table};
}

int dks_length_load(dks_length_reader *r, uint32_t chunk)
{
    size_t slot = chunk % DKS_LENGTH_SLOTS;
    int rc = load_length_chunk(r, chunk, &r->slot_data[slot]);
    r->slot_chunk[slot] = rc ? 0 : chunk + 1;
    return rc;
}
