/*
 * test_cache.c - the server's cache of answers (server/cache.c): an answer
 * comes back as it was put, only for the state of the index it came from,
 * a newer state empties the cache and an older one is not let in, and the
 * least recently used answers go first when the cache is full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache.h"

static const char *const json = "application/json";

/* 0 and the body when key is cached for state; 1 when it is not. */
static int lookup(answer_cache *c, const char *key, index_state state, char *body, size_t cap)
{
    char *got;
    size_t len;
    const char *type;
    if (answer_cache_get(c, key, state, &got, &len, &type) != 0)
        return 1;
    assert_ptr_equal(type, json);
    assert_true(len < cap);
    memcpy(body, got, len);
    body[len] = 0;
    free(got);
    return 0;
}

static void put(answer_cache *c, const char *key, index_state state, const char *body)
{
    answer_cache_put(c, key, state, json, body, strlen(body));
}

static void test_answer_for_its_state_only(void **unused)
{
    (void)unused;
    answer_cache *c = answer_cache_new(1 << 20);
    assert_non_null(c);
    index_state s1 = {1, 7}, s2 = {1, 8}, copy = {2, 3};
    char body[64];
    assert_int_equal(lookup(c, "/api/search?q=vind", s1, body, sizeof body), 1);
    put(c, "/api/search?q=vind", s1, "{\"total\":1}");
    assert_int_equal(lookup(c, "/api/search?q=vind", s1, body, sizeof body), 0);
    assert_string_equal(body, "{\"total\":1}");
    assert_int_equal(lookup(c, "/api/search?q=vin", s1, body, sizeof body), 1);
    /* a commit: the answer may have changed */
    assert_int_equal(lookup(c, "/api/search?q=vind", s2, body, sizeof body), 1);
    /* a search that began before the commit ends after it */
    put(c, "/api/search?q=vind", s1, "{\"total\":1}");
    assert_int_equal(lookup(c, "/api/search?q=vind", s2, body, sizeof body), 1);
    put(c, "/api/search?q=vind", s2, "{\"total\":2}");
    assert_int_equal(lookup(c, "/api/search?q=vind", s2, body, sizeof body), 0);
    assert_string_equal(body, "{\"total\":2}");
    /* a compacted copy numbers its commits afresh, from below */
    assert_int_equal(lookup(c, "/api/search?q=vind", copy, body, sizeof body), 1);
    put(c, "/api/search?q=vind", copy, "{\"total\":3}");
    assert_int_equal(lookup(c, "/api/search?q=vind", copy, body, sizeof body), 0);
    assert_string_equal(body, "{\"total\":3}");
    answer_cache_stats st;
    answer_cache_stats_get(c, &st);
    assert_int_equal(st.hits, 3);
    assert_int_equal(st.entries, 1);
    answer_cache_free(c);
}

static void test_least_recently_used_go_first(void **unused)
{
    (void)unused;
    /* room for a few answers of 1 KiB and their entries */
    answer_cache *c = answer_cache_new(32 * 1024);
    assert_non_null(c);
    index_state s = {1, 1};
    char big[1000], key[32], body[1024];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    put(c, "/first", s, big);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "/q%d", i);
        put(c, key, s, big);
        /* the first answer is asked for all the time, and stays */
        assert_int_equal(lookup(c, "/first", s, body, sizeof body), 0);
    }
    assert_int_equal(lookup(c, "/q99", s, body, sizeof body), 0);
    assert_int_equal(lookup(c, "/q0", s, body, sizeof body), 1);
    answer_cache_stats st;
    answer_cache_stats_get(c, &st);
    assert_true(st.bytes <= 32 * 1024);
    assert_true(st.entries >= 2 && st.entries <= 32);
    /* an answer too large for its share of the cache is not kept */
    char *huge = calloc(1, 8000);
    memset(huge, 'y', 7999);
    put(c, "/huge", s, huge);
    free(huge);
    assert_int_equal(lookup(c, "/huge", s, body, sizeof body), 1);
    answer_cache_free(c);
}

static void test_same_key_replaced(void **unused)
{
    (void)unused;
    answer_cache *c = answer_cache_new(1 << 20);
    index_state s = {1, 1};
    char body[64];
    put(c, "/api/suggest?q=ve", s, "[\"vej\"]");
    put(c, "/api/suggest?q=ve", s, "[\"vejr\"]");
    assert_int_equal(lookup(c, "/api/suggest?q=ve", s, body, sizeof body), 0);
    assert_string_equal(body, "[\"vejr\"]");
    answer_cache_stats st;
    answer_cache_stats_get(c, &st);
    assert_int_equal(st.entries, 1);
    answer_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_for_its_state_only),
        cmocka_unit_test(test_least_recently_used_go_first),
        cmocka_unit_test(test_same_key_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
