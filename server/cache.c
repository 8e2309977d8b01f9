/*
 * cache.c - recent answers by request URI, for one state of the index (see
 * cache.h): a hash table of entries chained per bucket, and a list of them
 * from the most recently used to the least, whose tail goes first.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

/* An answer larger than this share of the cache is not kept: it would
 * push out many others that are asked for more often. */
#define MAX_ENTRY_SHARE 16

typedef struct entry {
    struct entry *chain;          /* the next in its bucket */
    struct entry *newer, *older;  /* in the list by use */
    uint64_t hash;
    const char *type;
    size_t key_len, len;
    char *body;                   /* after the key, in the same allocation */
    char key[];
} entry;

struct answer_cache {
    pthread_mutex_t lock;
    index_state state;
    entry **buckets;
    size_t n_buckets;             /* a power of two */
    entry *newest, *oldest;
    size_t bytes, max_bytes;
    answer_cache_stats stats;
};

/* FNV-1a: the keys are short URIs, and an even spread is all it needs. */
static uint64_t hash_key(const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 0x100000001b3u;
    return h;
}

static size_t entry_bytes(const entry *e) { return sizeof *e + e->key_len + e->len; }

static int state_older(index_state a, index_state b)
{
    return a.handle != b.handle ? a.handle < b.handle : a.commit < b.commit;
}

static int state_equal(index_state a, index_state b)
{
    return a.handle == b.handle && a.commit == b.commit;
}

answer_cache *answer_cache_new(size_t max_bytes)
{
    answer_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    /* about one bucket for every 4 KiB of answers: a page of ten hits
     * with snippets is a few kilobytes */
    size_t n = 64;
    while (n < max_bytes / 4096 && n < ((size_t)1 << 20))
        n *= 2;
    c->buckets = calloc(n, sizeof *c->buckets);
    if (!c->buckets || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->buckets);
        free(c);
        return NULL;
    }
    c->n_buckets = n;
    c->max_bytes = max_bytes;
    return c;
}

static void unlink_use(answer_cache *c, entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void link_newest(answer_cache *c, entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest)
        c->newest->newer = e;
    c->newest = e;
    if (!c->oldest)
        c->oldest = e;
}

static entry **slot_of(answer_cache *c, const char *key, size_t key_len, uint64_t hash)
{
    entry **p = &c->buckets[hash & (c->n_buckets - 1)];
    while (*p && !((*p)->hash == hash && (*p)->key_len == key_len &&
                   memcmp((*p)->key, key, key_len) == 0))
        p = &(*p)->chain;
    return p;
}

static void drop(answer_cache *c, entry *e)
{
    entry **p = slot_of(c, e->key, e->key_len, e->hash);
    *p = e->chain;
    unlink_use(c, e);
    c->bytes -= entry_bytes(e);
    c->stats.entries--;
    free(e);
}

static void drop_all(answer_cache *c)
{
    while (c->oldest)
        drop(c, c->oldest);
}

/* Moves the cache on to a newer state of the index: what it holds was
 * worked out from an older one. */
static void catch_up(answer_cache *c, index_state state)
{
    if (state_older(c->state, state)) {
        drop_all(c);
        c->state = state;
    }
}

void answer_cache_free(answer_cache *c)
{
    if (!c)
        return;
    drop_all(c);
    pthread_mutex_destroy(&c->lock);
    free(c->buckets);
    free(c);
}

int answer_cache_get(answer_cache *c, const char *key, index_state state, char **body,
                     size_t *len, const char **type)
{
    size_t key_len = strlen(key);
    uint64_t hash = hash_key(key, key_len);
    int found = 1;
    pthread_mutex_lock(&c->lock);
    catch_up(c, state);
    entry *e = state_equal(c->state, state) ? *slot_of(c, key, key_len, hash) : NULL;
    if (e && (*body = malloc(e->len ? e->len : 1))) {
        memcpy(*body, e->body, e->len);
        *len = e->len;
        *type = e->type;
        unlink_use(c, e);
        link_newest(c, e);
        found = 0;
    }
    if (found)
        c->stats.misses++;
    else
        c->stats.hits++;
    pthread_mutex_unlock(&c->lock);
    return found;
}

void answer_cache_put(answer_cache *c, const char *key, index_state state, const char *type,
                      const char *body, size_t len)
{
    size_t key_len = strlen(key);
    if (sizeof(entry) + key_len + len > c->max_bytes / MAX_ENTRY_SHARE)
        return;
    entry *e = malloc(sizeof *e + key_len + len);
    if (!e)
        return;  /* a cache that cannot keep an answer only misses it later */
    *e = (entry){.hash = hash_key(key, key_len), .type = type, .key_len = key_len, .len = len};
    memcpy(e->key, key, key_len);
    e->body = e->key + key_len;
    memcpy(e->body, body, len);
    pthread_mutex_lock(&c->lock);
    catch_up(c, state);
    if (!state_equal(c->state, state)) {
        /* worked out from a state the cache has moved past */
        pthread_mutex_unlock(&c->lock);
        free(e);
        return;
    }
    entry **slot = slot_of(c, key, key_len, e->hash);
    if (*slot)
        drop(c, *slot);  /* another thread answered the same request meanwhile */
    slot = slot_of(c, key, key_len, e->hash);
    *slot = e;
    link_newest(c, e);
    c->bytes += entry_bytes(e);
    c->stats.entries++;
    while (c->bytes > c->max_bytes)
        drop(c, c->oldest);
    pthread_mutex_unlock(&c->lock);
}

void answer_cache_stats_get(answer_cache *c, answer_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    out->bytes = c->bytes;
    pthread_mutex_unlock(&c->lock);
}
