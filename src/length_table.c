/*
 * length_table.c - every document's length as of one snapshot, in one
 * array.
 *
 * Scoring a document needs its length, and the lengths database keeps
 * them in chunks of DKS_LENGTH_CHUNK: a search that scores documents all
 * over the collection looks up a chunk in the B-tree for nearly every
 * one (a fifth of the instructions of a medium-frequency word's query).
 * The searches of an index share a table of all lengths instead, read
 * from the database once per committed snapshot (dks_index_lengths_take
 * decides when); it is a copy, not pointers into the map, since the map
 * may move when a writer grows it.
 */
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

/* A chunk of the lengths database into the table. */
static int copy_chunk(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
    dks_length_table *lt = arg;
    uint32_t chunk = kl == 4 ? dks_get_be32(k) : UINT32_MAX;
    if (chunk >= lt->n / DKS_LENGTH_CHUNK || vl != DKS_LENGTH_CHUNK * 4)
        return DKS_ECORRUPT;
    uint32_t *to = lt->len + (size_t)chunk * DKS_LENGTH_CHUNK;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(to, v, DKS_LENGTH_CHUNK * 4);  /* the chunk's order is the host's */
#else
    const unsigned char *p = v;
    for (size_t i = 0; i < DKS_LENGTH_CHUNK; i++)
        to[i] = dks_get_le32(p + 4 * i);
#endif
    return DKS_OK;
}

int dks_length_table_build(dks_txn *t, dks_length_table **out)
{
    *out = NULL;
    dks_meta meta;
    int rc = dks_meta_read(t, &meta);
    if (rc)
        return rc == 1 ? DKS_ENOINDEX : rc;
    size_t chunks = meta.next_doc / DKS_LENGTH_CHUNK + 1;
    dks_length_table *lt = calloc(1, sizeof *lt);
    uint32_t *len = lt ? malloc(chunks * DKS_LENGTH_CHUNK * sizeof *len) : NULL;
    if (!len) {
        free(lt);
        return DKS_ENOMEM;
    }
    /* (every byte 0xff: DKS_NO_LENGTH, for the chunks the database lacks) */
    memset(len, 0xff, chunks * DKS_LENGTH_CHUNK * sizeof *len);
    lt->snapshot = dks_txn_snapshot(t);
    lt->n = (uint32_t)(chunks * DKS_LENGTH_CHUNK);
    lt->len = len;
    if ((rc = dks_db_walk(t, DKS_DB_LENGTHS, copy_chunk, lt))) {
        dks_length_table_free(lt);
        return rc;
    }
    *out = lt;
    return DKS_OK;
}

void dks_length_table_free(dks_length_table *lt)
{
    if (!lt)
        return;
    free(lt->len);
    free(lt);
}
