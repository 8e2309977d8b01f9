/*
 * termdict.c - the term dictionary of an indexing run: each distinct
 * dictionary key gets a dense id, in the order keys are first seen.
 *
 * The analyzer interns a word's keys once, when it first meets the word,
 * and caches the ids with the word; from then on a document is a list of
 * (id, position) pairs and the writer inverts it by array index, with no
 * hashing or string comparison per occurrence.
 *
 * One thread interns.  Keys and entries never move once written (keys in
 * pages, entries in fixed chunks of a directory allocated up front), so
 * another thread may read the key of any id it has been handed through a
 * lock, while the interning thread goes on adding: that is how the
 * writer reads the keys the analysis thread made (pipeline.c).
 */
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

#define CHUNK_BITS 16
#define CHUNK_IDS ((uint32_t)1 << CHUNK_BITS)
/* 2^28 distinct keys: far beyond any vocabulary, and it keeps the
 * directory, allocated whole, at 32 KiB. */
#define MAX_CHUNKS 4096
#define PAGE_BYTES ((size_t)2 << 20)  /* a huge page (huge.c) */

typedef struct entry {
    const char *key;
    uint32_t len;
    uint32_t hash;
    uint32_t title;     /* id + 2 of the key's title key; 1: none; 0: not looked up */
} entry;

struct dks_termdict {
    entry *chunks[MAX_CHUNKS];
    uint32_t count;
    uint64_t *slots;        /* hash << 32 | (id + 1); 0 = empty */
    size_t n_slots;
    char **pages;           /* the key bytes */
    size_t n_pages, pages_cap;
    size_t page_used;       /* in the last page */
    size_t bytes;           /* memory held, for the writer's budget */
};

int dks_termdict_new(dks_termdict **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? DKS_OK : DKS_ENOMEM;
}

void dks_termdict_free(dks_termdict *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < MAX_CHUNKS && d->chunks[i]; i++)
        dks_huge_free(d->chunks[i], CHUNK_IDS * sizeof *d->chunks[i]);
    for (size_t i = 0; i < d->n_pages; i++)
        dks_huge_free(d->pages[i], PAGE_BYTES);
    free(d->pages);
    dks_huge_free(d->slots, d->n_slots * sizeof *d->slots);
    free(d);
}

static entry *entry_of(const dks_termdict *d, uint32_t id)
{
    return &d->chunks[id >> CHUNK_BITS][id & (CHUNK_IDS - 1)];
}

static int grow_slots(dks_termdict *d)
{
    size_t n = d->n_slots ? d->n_slots * 2 : 1 << 14;
    uint64_t *slots = dks_huge_alloc(n * sizeof *slots);
    if (!slots)
        return DKS_ENOMEM;
    for (size_t i = 0; i < d->n_slots; i++) {
        uint64_t s = d->slots[i];
        if (!s)
            continue;
        size_t at = (s >> 32) & (n - 1);
        while (slots[at])
            at = (at + 1) & (n - 1);
        slots[at] = s;
    }
    d->bytes += (n - d->n_slots) * sizeof *slots;
    dks_huge_free(d->slots, d->n_slots * sizeof *slots);
    d->slots = slots;
    d->n_slots = n;
    return DKS_OK;
}

/* A stable copy of the key in the pages. */
static const char *store_key(dks_termdict *d, const char *key, size_t len)
{
    if (d->n_pages == 0 || d->page_used + len > PAGE_BYTES) {
        if (dks_grow(&d->pages, d->n_pages, &d->pages_cap, sizeof *d->pages, 16))
            return NULL;
        char *page = dks_huge_alloc(PAGE_BYTES);
        if (!page)
            return NULL;
        d->pages[d->n_pages++] = page;
        d->page_used = 0;
        d->bytes += PAGE_BYTES;
    }
    char *at = d->pages[d->n_pages - 1] + d->page_used;
    memcpy(at, key, len);
    d->page_used += len;
    return at;
}

int dks_termdict_intern(dks_termdict *d, const char *key, size_t len, uint32_t *id)
{
    if (len == 0 || len > PAGE_BYTES)
        return DKS_EINVAL;
    if ((size_t)(d->count + 1) * 2 > d->n_slots && grow_slots(d))
        return DKS_ENOMEM;
    uint32_t hash = (uint32_t)(dks_hash_bytes(key, len) >> 32);
    size_t mask = d->n_slots - 1, at = hash & mask;
    for (uint64_t s; (s = d->slots[at]) != 0; at = (at + 1) & mask) {
        if ((uint32_t)(s >> 32) != hash)
            continue;
        uint32_t found = (uint32_t)s - 1;
        const entry *e = entry_of(d, found);
        if (e->len == len && memcmp(e->key, key, len) == 0) {
            *id = found;
            return DKS_OK;
        }
    }
    uint32_t next = d->count;
    if ((next >> CHUNK_BITS) >= MAX_CHUNKS)
        return DKS_ELIMIT;
    if (!d->chunks[next >> CHUNK_BITS]) {
        entry *chunk = dks_huge_alloc(CHUNK_IDS * sizeof *chunk);
        if (!chunk)
            return DKS_ENOMEM;
        d->chunks[next >> CHUNK_BITS] = chunk;
        d->bytes += CHUNK_IDS * sizeof *chunk;
    }
    const char *stored = store_key(d, key, len);
    if (!stored)
        return DKS_ENOMEM;
    *entry_of(d, next) = (entry){stored, (uint32_t)len, hash, 0};
    d->slots[at] = (uint64_t)hash << 32 | (next + 1);
    d->count++;
    *id = next;
    return DKS_OK;
}

const char *dks_termdict_key(const dks_termdict *d, uint32_t id, size_t *len)
{
    const entry *e = entry_of(d, id);
    *len = e->len;
    return e->key;
}

int dks_termdict_title(dks_termdict *d, uint32_t id, uint32_t *title_id)
{
    entry *e = entry_of(d, id);
    if (e->title == 0) {
        char key[DKS_MAX_KEY_TERM_BYTES + 2];
        size_t kl = dks_title_key(e->key, e->len, key);
        uint32_t t = DKS_NO_TERM;
        int rc = kl ? dks_termdict_intern(d, key, kl, &t) : DKS_OK;
        if (rc)
            return rc;
        e->title = t == DKS_NO_TERM ? 1 : t + 2;  /* (entries never move) */
    }
    *title_id = e->title == 1 ? DKS_NO_TERM : e->title - 2;
    return DKS_OK;
}

size_t dks_termdict_bytes(const dks_termdict *d)
{
    return d->bytes;
}
