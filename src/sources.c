/*
 * sources.c - the files documents came from, so that indexing a directory
 * again reads only what changed and forgets what disappeared.
 *
 *   sources   path -> varint size, le64 modification time (ns, two's
 *                     complement), le64 content hash, varint n_ids, then
 *                     n_ids x (varint id_len, id)
 *
 * A record lists the ids its file gave when it was last indexed.  A
 * document also names its source in its record (keys.c), and that is what
 * decides whether it still belongs to the file: an id that moved to
 * another file is that file's now, and forgetting the old one must not
 * delete it.  The writer (writer.c) writes a record in the batch that
 * holds the last of its documents, so a crash before that commit leaves the
 * old record, and the next run indexes the file again.
 */
#include <string.h>

#include "dks_int.h"

uint64_t dks_source_hash(uint64_t seed, const void *data, size_t len)
{
    /* FNV-1a over 8-byte words (then the tail byte by byte): the whole file
     * is hashed whenever its size or time changed, so it must keep up
     * with reading it; collisions only cost a missed re-index of a file
     * whose size or time also changed. */
    const unsigned char *p = data;
    uint64_t h = seed ? seed : 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h ? h : 1;  /* 0 is the seed of a first part */
}

int dks_source_record_decode(const void *val, size_t len, dks_source_record *out)
{
    const unsigned char *p = val, *end = p + len;
    int rc = dks_varint_decode(&p, end, &out->info.size);
    if (rc)
        return rc;
    if ((size_t)(end - p) < 16)
        return DKS_ECORRUPT;
    out->info.mtime_ns = (int64_t)dks_get_le64(p);
    out->info.hash = dks_get_le64(p + 8);
    p += 16;
    if ((rc = dks_varint_decode(&p, end, &out->n_ids)))
        return rc;
    out->ids = p;
    out->ids_len = (size_t)(end - p);
    /* each id takes at least two bytes */
    return out->n_ids <= out->ids_len / 2 ? DKS_OK : DKS_ECORRUPT;
}

int dks_source_record_get(dks_txn *t, const char *path, size_t len, dks_source_record *out)
{
    const void *v;
    size_t vl;
    if (len == 0 || len > DKS_MAX_SOURCE_BYTES)
        return 1;
    int rc = dks_kv_get(t, DKS_DB_SOURCES, path, len, &v, &vl);
    return rc ? rc : dks_source_record_decode(v, vl, out);
}

int dks_source_record_put(dks_txn *t, const char *path, size_t len, const dks_source_info *info,
                          const dks_buf *ids, uint64_t n_ids, dks_buf *scratch)
{
    scratch->len = 0;
    unsigned char fixed[16];
    dks_put_le64(fixed, (uint64_t)info->mtime_ns);
    dks_put_le64(fixed + 8, info->hash);
    int rc;
    if ((rc = dks_buf_put_varint(scratch, info->size)) ||
        (rc = dks_buf_append(scratch, fixed, sizeof fixed)) ||
        (rc = dks_buf_put_varint(scratch, n_ids)) ||
        (ids->len && (rc = dks_buf_append(scratch, ids->data, ids->len))))
        return rc;
    return dks_kv_put(t, DKS_DB_SOURCES, path, len, scratch->data, scratch->len);
}

int dks_source_ids_next(const unsigned char **p, const unsigned char *end, const char **id,
                        size_t *len)
{
    if (*p == end)
        return 1;
    uint64_t n;
    int rc = dks_varint_decode(p, end, &n);
    if (rc)
        return rc;
    if (n == 0 || n > DKS_MAX_ID_BYTES || n > (uint64_t)(end - *p))
        return DKS_ECORRUPT;
    *id = (const char *)*p;
    *len = (size_t)n;
    *p += n;
    return DKS_OK;
}

int dks_index_source_get(dks_index *index, const char *path, size_t len, dks_source_info *out)
{
    memset(out, 0, sizeof *out);
    dks_txn *t;
    int rc = dks_txn_begin(dks_index_store(index), 0, &t);
    if (rc)
        return rc;
    dks_source_record rec;
    rc = dks_source_record_get(t, path, len, &rec);
    if (rc == 0)
        *out = rec.info;
    dks_txn_abort(t);
    return rc;
}

int dks_index_sources(dks_index *index, const char *prefix, size_t prefix_len,
                      dks_source_fn fn, void *ctx)
{
    dks_txn *t;
    dks_cursor *c = NULL;
    int rc = dks_txn_begin(dks_index_store(index), 0, &t);
    if (!rc)
        rc = dks_cursor_open(t, DKS_DB_SOURCES, &c);
    const void *k, *v;
    size_t kl, vl;
    if (!rc)
        rc = prefix_len ? dks_cursor_seek(c, prefix, prefix_len, &k, &kl, &v, &vl)
                        : dks_cursor_first(c, &k, &kl, &v, &vl);
    for (; rc == 0; rc = dks_cursor_next(c, &k, &kl, &v, &vl)) {
        if (kl < prefix_len || memcmp(k, prefix, prefix_len) != 0)
            break;
        dks_source_record rec;
        if ((rc = dks_source_record_decode(v, vl, &rec)))
            break;
        if ((rc = fn(ctx, k, kl, &rec.info)))
            break;
    }
    dks_cursor_close(c);
    dks_txn_abort(t);
    return rc == 1 ? DKS_OK : rc;
}
