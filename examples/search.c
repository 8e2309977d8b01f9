/*
 * search.c - the smallest program that searches a dksearch index through
 * libdksearch: opens the index, runs one query, prints the hits with the
 * matched words of each snippet in [brackets].
 *
 *   cc search.c $(pkg-config --cflags --libs dksearch) -o search
 *   ./search INDEX 'velfærd OR sundhed'
 */
#include <stdio.h>
#include <string.h>

#include <dksearch.h>

/* A snippet with its highlight ranges marked, as a page would mark them
 * (the ranges are byte offsets into the snippet). */
static void print_snippet(const dks_hit *hit)
{
    size_t at = 0;
    fputs("   ", stdout);
    for (size_t i = 0; i < hit->n_highlights; i++) {
        const dks_highlight *h = &hit->highlights[i];
        printf("%.*s[%.*s]", (int)(h->start - at), hit->snippet + at,
               (int)(h->end - h->start), hit->snippet + h->start);
        at = h->end;
    }
    printf("%s\n", hit->snippet + at);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s INDEX QUERY\n", argv[0]);
        return 2;
    }
    dks_error_detail err = {0};
    dks_index *index;
    int rc = dks_index_open(argv[1], DKS_OPEN_READ, &index, &err);
    if (rc) {
        fprintf(stderr, "%s\n", err.message[0] ? err.message : dks_strerror(rc));
        return 2;
    }

    dks_search_options options = {.limit = 5};
    dks_results *results;
    rc = dks_search(index, argv[2], strlen(argv[2]), &options, &results, &err);
    if (rc) {
        fprintf(stderr, "%s\n", err.message[0] ? err.message : dks_strerror(rc));
        dks_index_close(index);
        return 2;
    }

    size_t n = dks_results_count(results);
    printf("%llu%s hits for %s\n", (unsigned long long)dks_results_total(results),
           dks_results_total_exact(results) ? "" : "+", argv[2]);
    for (size_t i = 0; i < n; i++) {
        const dks_hit *hit = dks_results_hit(results, i);
        printf("%zu. %s  %s  (%.3f)\n", i + 1, hit->id, hit->title, hit->score);
        print_snippet(hit);
    }
    if (dks_results_suggestion(results))
        printf("Mente du: %s?\n", dks_results_suggestion(results));

    dks_results_free(results);
    dks_index_close(index);
    return n > 0 ? 0 : 1;
}
