/*
 * cache.h - answers dksearch-serve keeps for requests that come again.
 *
 * People ask the same searches over and over (the popular words of an
 * intranet, a page they reload, the pages of one result list), and an
 * answer stays right until the index changes.  So the server keeps recent
 * answers by their request URI, for one state of the index: a commit, or
 * the copy a compaction put in place, and a request that sees a newer
 * state empties the cache.  The least recently used answers go first when
 * the cache is over its size.  Safe to use from every server thread.
 */
#ifndef DKS_SERVE_CACHE_H
#define DKS_SERVE_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct answer_cache answer_cache;

/* The state of the index an answer was worked out from: which handle the
 * server has open (a new one after each compaction) and its last commit. */
typedef struct index_state {
    uint64_t handle;
    uint64_t commit;
} index_state;

/* A cache holding at most max_bytes of answers; NULL when out of memory. */
answer_cache *answer_cache_new(size_t max_bytes);
void answer_cache_free(answer_cache *c);

/* 0 and a copy of the answer stored under key for state (the caller frees
 * *body; *type is the cache's own, valid as long as the process runs, as
 * every type given to answer_cache_put must be); 1 when there is none. */
int answer_cache_get(answer_cache *c, const char *key, index_state state, char **body,
                     size_t *len, const char **type);

/* Keeps a copy of body under key, unless the index has changed since
 * state or the answer is too large to be worth its place. */
void answer_cache_put(answer_cache *c, const char *key, index_state state, const char *type,
                      const char *body, size_t len);

/* What the cache has done since it was made, for the log at exit. */
typedef struct answer_cache_stats {
    uint64_t hits, misses, entries, bytes;
} answer_cache_stats;
void answer_cache_stats_get(answer_cache *c, answer_cache_stats *out);

#endif
