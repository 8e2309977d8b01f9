/*
 * test_threads.c - several threads searching one index handle at once, as
 * a server does (and under ThreadSanitizer in `make tsan`): every search
 * gives exactly the answer it gives alone, while a writer commits beside
 * them.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scratch_index.h"

#define THREADS 4
#define ROUNDS 60

static const char *const queries[] = {
    "velfærd", "kommunen OR regionen", "\"offentlige sektor\"", "telemed*", "sundhed -klima",
    "velfaerdsalliance", "telemedecin~", "borgerne kommunen", "xyzzyq",
};
#define N_QUERIES (sizeof queries / sizeof queries[0])

/* A search's answer as JSON, without the time it took. */
static char *answer(const char *q)
{
    dks_results *r;
    dks_search_options opt = {.limit = 5};
    if (dks_search(idx, q, strlen(q), &opt, &r, NULL) != DKS_OK)
        return NULL;
    char *json;
    size_t len;
    int rc = dks_results_json(r, &json, &len);
    dks_results_free(r);
    if (rc)
        return NULL;
    char *took = strstr(json, "\"took_us\":");
    if (took) {
        char *digits = took + 10, *end = digits;
        while (*end >= '0' && *end <= '9')
            end++;
        memmove(digits, end, strlen(end) + 1);
    }
    return json;
}

static char *expected[N_QUERIES];

typedef struct worker {
    unsigned seed;
    int mismatches;
} worker;

static void *search_loop(void *arg)
{
    worker *wk = arg;
    for (int i = 0; i < ROUNDS; i++) {
        size_t q = (size_t)rand_r(&wk->seed) % N_QUERIES;
        char *got = answer(queries[q]);
        if (!got || strcmp(got, expected[q]) != 0) {
            if (!wk->mismatches)
                fprintf(stderr, "'%s' gave\n  %s\nalone:\n  %s\n", queries[q],
                        got ? got : "(an error)", expected[q]);
            wk->mismatches++;
        }
        free(got);
    }
    return NULL;
}

static void test_searches_from_several_threads(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_QUERIES; i++)
        assert_non_null(expected[i] = answer(queries[i]));
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){.seed = (unsigned)t * 31u + 7u};
        assert_int_equal(pthread_create(&threads[t], NULL, search_loop, &workers[t]), 0);
    }
    /* a writer meanwhile commits, one by one, the same documents again,
     * which no query matches: the statistics stay the same, and so must
     * every answer, whichever commit a search sees */
    dks_writer *w;
    assert_int_equal(dks_writer_open(idx, &w, NULL), DKS_OK);
    for (int b = 0; b < 5; b++) {
        char id[32];
        snprintf(id, sizeof id, "other-%d", b);
        dks_document d = {.id = id, .id_len = strlen(id), .body = "ganske andre ord her",
                          .body_len = 20};
        assert_int_equal(dks_writer_add(w, &d, NULL, NULL), DKS_OK);
        assert_int_equal(dks_writer_commit(w, NULL), DKS_OK);
    }
    dks_writer_close(w);
    int mismatches = 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        mismatches += workers[t].mismatches;
    }
    assert_int_equal(mismatches, 0);
    for (size_t i = 0; i < N_QUERIES; i++)
        free(expected[i]);
}

static int setup(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "Velfærdsalliancen samler kommunen, regionen og borgerne om velfærd.",
        "Telemedicin i den offentlige sektor hjælper patienter i hjemmet.",
        "Kommunen vil styrke sundhed og forebyggelse for borgerne.",
        "Klimaet og sundhed hænger sammen, siger regionen.",
        "Den offentlige sektor mangler hænder: sygeplejersker og lærere.",
    };
    if (scratch_open())
        return -1;
    for (int round = 0; round < 40; round++)
        for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
            char id[32];
            snprintf(id, sizeof id, "d%d-%zu", round, i);
            if (scratch_add(id, bodies[i]))
                return -1;
        }
    for (int b = 0; b < 5; b++) {
        char id[32];
        snprintf(id, sizeof id, "other-%d", b);
        if (scratch_add(id, "ganske andre ord her"))
            return -1;
    }
    return scratch_commit();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_searches_from_several_threads),
    };
    return cmocka_run_group_tests(tests, setup, scratch_teardown);
}
