/*
 * dksearch-query - searches a dksearch index.
 *
 *   dksearch-query [--db PATH] [--limit N] [--offset N] [--json] QUERY...
 *   dksearch-query [--db PATH] --batch FILE|-
 *   dksearch-query --analyze TEXT...
 *
 * Exit status as grep: 0 with hits, 1 with none, 2 on an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dksearch.h"
#include "../cli/fault.h"
#include "../cli/options.h"

#define PROG "dksearch-query"
/* --filter and --facet may each be given this many times. */
#define MAX_LIST 16

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [--db PATH] [--limit N] [--offset N] [--json] QUERY...\n"
            "       " PROG " [--db PATH] [OPTIONS] --batch FILE|-\n"
            "       " PROG " [--db PATH] --stats\n"
            "       " PROG " --analyze TEXT...\n"
            "\n"
            "Words are all required; a OR b takes either; -word excludes; \"two words\"\n"
            "is a phrase; word* is a prefix; word~ allows typos; parentheses group.\n"
            "Ranked by BM25.\n"
            "\n"
            "  --db PATH           index directory (default: $DKSEARCH_DB or ./dksearch.db)\n"
            "  --limit N           hits to show (default 10)\n"
            "  --offset N          hits to skip first, for paging\n"
            "  --snippet-words N   words in a snippet (default 30)\n"
            "  --no-snippets       ids, titles and scores only\n"
            "  --exact-total       count every hit (past 1000 hits the count is\n"
            "                      otherwise a lower bound, and the search faster)\n"
            "  --count N           count hits exactly up to N (default 1000): the\n"
            "                      smaller, the sooner a search passes over hits\n"
            "                      that cannot reach the page\n"
            "  --no-suggestion     no \"Mente du\" suggestion when nothing is found\n"
            "  --json              one JSON object instead of text\n"
            "  --batch FILE|-      run one query a line of FILE (- for standard input)\n"
            "                      and print one JSON object a line\n"
            "  --as-you-type       the last word is still being typed: match it as a\n"
            "                      prefix too\n"
            "  --explain           show how each hit's score is made up\n"
            "  --sort KEY          score (default), id, title or a field such as date;\n"
            "                      -KEY sorts descending\n"
            "  --filter EXPR       only hits whose field matches: party=S,\n"
            "                      date>=2020-01-01, date<2021 (repeatable)\n"
            "  --facet FIELD       count the hits per value of a field (repeatable)\n"
            "  --weight title=N    a title word counts N times a body word (default 2)\n"
            "Fields in the query: title:word searches titles, party:S filters.\n"
            "  --stats             print the index's size and statistics as JSON\n"
            "  --analyze           print the terms analysis makes of TEXT:\n"
            "                      position<TAB>surface<TAB>term\n"
            "\n"
            "Exit status: 0 hits found, 1 no hits, 2 error.\n");
}

static int parse_count(const char *opt, const char *s, long min, size_t *out)
{
    long v;
    if (cli_number(PROG, opt, s, min, 10000, &v))
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Joins words with spaces; caller frees. */
static char *join_words(int n_words, char **words)
{
    size_t len = 1;
    for (int i = 0; i < n_words; i++)
        len += strlen(words[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t at = 0;
    for (int i = 0; i < n_words; i++) {
        size_t n = strlen(words[i]);
        if (i > 0)
            s[at++] = ' ';
        memcpy(s + at, words[i], n);
        at += n;
    }
    s[at] = '\0';
    return s;
}

/* position, surface, term; extra terms (not the word itself) add their kind */
static int print_term(const dks_term *t, void *ctx)
{
    (void)ctx;
    printf("%u\t%.*s\t%.*s", t->position, (int)t->surface_len, t->surface, (int)t->term_len,
           t->term);
    if (t->kind != DKS_TERM_WORD)
        printf("\t%s", dks_term_kind_name(t->kind));
    putchar('\n');
    return 0;
}

/* The index's size and statistics, as one JSON object. */
static int print_stats(dks_index *index)
{
    dks_index_stats st;
    int rc = dks_index_stats_get(index, &st);
    if (rc) {
        fprintf(stderr, PROG ": %s\n", dks_strerror(rc));
        return 2;
    }
    printf("{\"documents\":%llu,\"terms\":%llu,\"tokens\":%llu,\"size_bytes\":%llu,"
           "\"text_bytes\":%llu,\"store_bytes\":%llu,\"postings_bytes\":%llu,"
           "\"terms_bytes\":%llu}\n", (unsigned long long)st.documents,
           (unsigned long long)st.terms, (unsigned long long)st.tokens,
           (unsigned long long)st.size_bytes, (unsigned long long)st.text_bytes,
           (unsigned long long)st.store_bytes, (unsigned long long)st.postings_bytes,
           (unsigned long long)st.terms_bytes);
    return 0;
}

static int analyze(const char *text)
{
    dks_analyzer *an;
    int rc = dks_analyzer_new(&an);
    if (rc) {
        fprintf(stderr, PROG ": %s\n", dks_strerror(rc));
        return 2;
    }
    rc = dks_analyze(an, text, strlen(text), 0, print_term, NULL);
    dks_analyzer_free(an);
    if (rc) {
        fprintf(stderr, PROG ": %s\n", dks_strerror(rc));
        return 2;
    }
    return 0;
}

/* Prints the query with a caret under the byte the error is about. */
static void point_at(const char *query, long position)
{
    if (position < 0 || (size_t)position > strlen(query))
        return;
    long column = 0;
    for (long i = 0; i < position; i++)
        column += ((unsigned char)query[i] & 0xC0) != 0x80;  /* count characters, not bytes */
    fprintf(stderr, "  %s\n  %*s^\n", query, (int)column, "");
}

static void print_snippet(const dks_hit *h, int bold)
{
    const char *on = bold ? "\033[1m" : "[", *off = bold ? "\033[0m" : "]";
    size_t at = 0;
    fputs("   ", stdout);
    for (size_t i = 0; i < h->n_highlights; i++) {
        const dks_highlight *r = &h->highlights[i];
        printf("%.*s%s%.*s%s", (int)(r->start - at), h->snippet + at, on,
               (int)(r->end - r->start), h->snippet + r->start, off);
        at = r->end;
    }
    printf("%s\n", h->snippet + at);
}

static void print_text(const dks_results *res, size_t offset)
{
    int bold = isatty(STDOUT_FILENO);
    size_t n = dks_results_count(res);
    for (size_t i = 0; i < n; i++) {
        const dks_hit *h = dks_results_hit(res, i);
        printf("%zu. %s  (%.3f)\n", offset + i + 1, h->id, h->score);
        if (h->title[0])
            printf("   %s%s%s\n", bold ? "\033[1m" : "", h->title, bold ? "\033[0m" : "");
        if (h->snippet[0])
            print_snippet(h, bold);
        for (size_t k = 0; k < h->n_parts; k++) {
            const dks_score_part *p = &h->parts[k];
            if (strcmp(p->kind, "proximity") == 0) {
                printf("     %.3f  proximity: the query's words stand close together\n", p->score);
                continue;
            }
            printf("     %.3f  %s %s: tf %u, df %llu, idf %.3f, length %.0f/%.1f (norm %.3f), "
                   "weight %.2f%s\n", p->score, p->kind, p->term, p->tf, p->df, p->idf,
                   p->length, p->avg_length, p->norm, p->weight,
                   /* the word part already counts title words once */
                   strcmp(p->kind, "title") == 0 ? " beyond the word's own" : "");
        }
    }
    unsigned long long total = dks_results_total(res);
    const char *more = dks_results_total_exact(res) ? "" : "+";
    double ms = dks_results_took_us(res) / 1000.0;
    for (size_t i = 0; i < dks_results_facet_count(res); i++) {
        const dks_facet *f = dks_results_facet(res, i);
        printf("%s:", f->name);
        for (size_t j = 0; j < f->n_values; j++)
            printf("%s %s (%llu)", j ? "," : "", f->values[j].value, f->values[j].count);
        printf("%s\n", f->n_values ? "" : " (none)");
    }
    for (size_t i = 0; i < dks_results_note_count(res); i++)
        printf("Note: %s.\n", dks_results_note(res, i));
    if (total == 0 && dks_results_suggestion(res))
        printf("No documents match (%.2f ms).  Mente du: %s?\n", ms, dks_results_suggestion(res));
    else if (total == 0)
        printf("No documents match (%.2f ms).\n", ms);
    else if (n == 0)
        printf("%llu%s hits, none from number %zu on (%.2f ms).\n", total, more, offset + 1, ms);
    else
        printf("%zu-%zu of %llu%s hits (%.2f ms).\n", offset + 1, offset + n, total, more, ms);
}

/* Runs one query and prints its results; returns the exit status. */
static int run_query(dks_index *index, const char *query, const dks_search_options *opt,
                     int json)
{
    dks_error_detail err = {0};
    dks_results *res;
    int rc = dks_search(index, query, strlen(query), opt, &res, &err);
    if (rc) {
        fprintf(stderr, PROG ": %s\n", err.message[0] ? err.message : dks_strerror(rc));
        if (rc == DKS_EQUERY)
            point_at(query, err.position);
        return 2;
    }
    if (json) {
        char *out;
        size_t len;
        if ((rc = dks_results_json(res, &out, &len)) == 0) {
            fwrite(out, 1, len, stdout);
            putchar('\n');
            free(out);
        }
    } else {
        print_text(res, opt->offset);
    }
    int status = rc ? 2 : dks_results_total(res) > 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, PROG ": %s\n", dks_strerror(rc));
    dks_results_free(res);
    return status;
}

/* --batch: one query a line over one open index, one JSON object a line, so
 * that a benchmark times searches rather than process start-up.  A query
 * that fails gives an object with "error" and the batch goes on; the exit
 * status is 2 if any failed, and standard error says how many and why the
 * first did. */
static int run_batch(dks_index *index, const char *path, const dks_search_options *opt)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        fprintf(stderr, PROG ": cannot read %s: %s\n", path, strerror(errno));
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long queries = 0, failed = 0;
    dks_error_detail first_error = {0};  /* of the first query that failed */
    while ((len = getline(&line, &cap, in)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (strspn(line, " \t") == (size_t)len)
            continue;
        dks_error_detail err = {0};
        dks_results *res;
        int rc = dks_search(index, line, (size_t)len, opt, &res, &err);
        char *out = NULL;
        size_t out_len = 0;
        queries++;
        if (!rc) {
            rc = dks_results_json(res, &out, &out_len);
            dks_results_free(res);
        }
        if (rc) {
            if (failed++ == 0) {
                first_error = err;
                if (!first_error.message[0])
                    snprintf(first_error.message, sizeof first_error.message, "%s",
                             dks_strerror(rc));
            }
            if (dks_error_json(line, (size_t)len, rc, &err, &out, &out_len) != 0) {
                fprintf(stderr, PROG ": out of memory\n");
                break;
            }
        }
        fwrite(out, 1, out_len, stdout);
        putchar('\n');
        free(out);
    }
    int read_error = ferror(in);
    free(line);
    if (in != stdin)
        fclose(in);
    if (read_error) {
        fprintf(stderr, PROG ": cannot read %s\n", path);
        return 2;
    }
    if (failed)
        fprintf(stderr, PROG ": %lu of %lu queries failed; the first: %s\n", failed, queries,
                first_error.message);
    return failed ? 2 : 0;
}

int main(int argc, char **argv)
{
    const char *db = getenv("DKSEARCH_DB");
    const char *batch = NULL;
    dks_search_options opt = {0};
    const char *filters[MAX_LIST], *facets[MAX_LIST];
    opt.filters = filters;
    opt.facets = facets;
    int json = 0, analyze_mode = 0, stats_mode = 0, n_words = 0;
    char **words = calloc((size_t)argc, sizeof *words);
    if (!words)
        return 2;
    /* Options may stand anywhere; "--" ends them.  "-word" is an exclusion
     * in the query, so only "--name" (and -h) are options. */
    for (int i = 1, options = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options || !(a[0] == '-' && (a[1] == '-' || strcmp(a, "-h") == 0))) {
            words[n_words++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            options = 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            free(words);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--as-you-type") == 0) {
            opt.as_you_type = 1;
        } else if (strcmp(a, "--explain") == 0) {
            opt.explain = 1;
        } else if (strcmp(a, "--no-snippets") == 0) {
            opt.no_snippets = 1;
        } else if (strcmp(a, "--exact-total") == 0) {
            opt.exact_total = 1;
        } else if (strcmp(a, "--no-suggestion") == 0) {
            opt.no_suggestion = 1;
        } else if (strcmp(a, "--analyze") == 0) {
            analyze_mode = 1;
        } else if (strcmp(a, "--stats") == 0) {
            stats_mode = 1;
        } else if (strcmp(a, "--db") == 0 || strcmp(a, "--limit") == 0 ||
                   strcmp(a, "--offset") == 0 || strcmp(a, "--snippet-words") == 0 ||
                   strcmp(a, "--sort") == 0 || strcmp(a, "--filter") == 0 ||
                   strcmp(a, "--facet") == 0 || strcmp(a, "--weight") == 0 ||
                   strcmp(a, "--batch") == 0 || strcmp(a, "--count") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, PROG ": %s needs a value\n", a);
                free(words);
                return 2;
            }
            const char *v = argv[++i];
            if (strcmp(a, "--db") == 0) {
                db = v;
            } else if (strcmp(a, "--batch") == 0) {
                batch = v;
            } else if (strcmp(a, "--sort") == 0) {
                opt.sort = v;
            } else if (strcmp(a, "--filter") == 0 || strcmp(a, "--facet") == 0) {
                int filter = strcmp(a, "--filter") == 0;
                size_t *n = filter ? &opt.n_filters : &opt.n_facets;
                if (*n == MAX_LIST) {
                    fprintf(stderr, PROG ": at most %d of %s\n", MAX_LIST, a);
                    free(words);
                    return 2;
                }
                (filter ? filters : facets)[(*n)++] = v;
            } else if (strcmp(a, "--weight") == 0) {
                char *end;
                if (strncmp(v, "title=", 6) != 0 || (opt.title_weight = strtod(v + 6, &end),
                                                     end == v + 6 || *end ||
                                                     opt.title_weight < 1 ||
                                                     opt.title_weight > 100)) {
                    fprintf(stderr, PROG ": --weight takes title=N, N from 1 to 100\n");
                    free(words);
                    return 2;
                }
            } else if (strcmp(a, "--offset") == 0 ? parse_count(a, v, 0, &opt.offset)
                       : strcmp(a, "--limit") == 0 ? parse_count(a, v, 1, &opt.limit)
                       : strcmp(a, "--count") == 0 ? parse_count(a, v, 1, &opt.count_limit)
                                                   : parse_count(a, v, 1, &opt.snippet_words)) {
                free(words);
                return 2;
            }
        } else {
            fprintf(stderr, PROG ": unknown option %s\n", a);
            usage(stderr);
            free(words);
            return 2;
        }
    }
    char *query = join_words(n_words, words);
    free(words);
    if (!query) {
        fprintf(stderr, PROG ": out of memory\n");
        return 2;
    }
    if (batch && (analyze_mode || n_words > 0)) {
        fprintf(stderr, PROG ": --batch reads its queries from %s; give no query words\n",
                batch);
        free(query);
        return 2;
    }
    if (!batch && !stats_mode && strspn(query, " \t\r\n") == strlen(query)) {
        fprintf(stderr, PROG ": %s\n", analyze_mode ? "--analyze needs a text"
                                                    : "no query given (try --help)");
        free(query);
        return 2;
    }
    if (analyze_mode) {
        int rc = analyze(query);
        free(query);
        return rc;
    }
    if (!db || !*db)
        db = "dksearch.db";

    dks_error_detail err = {0};
    dks_index *index;
    catch_faults(PROG, db);
    int rc = dks_index_open(db, DKS_OPEN_READ, &index, &err);
    if (rc) {
        if (rc == DKS_ENOINDEX)
            fprintf(stderr, PROG ": no index at %s (build one with dksearch-index, or give "
                    "--db)\n", db);
        else
            fprintf(stderr, PROG ": %s\n", err.message[0] ? err.message : dks_strerror(rc));
        free(query);
        return 2;
    }
    if (stats_mode)
        rc = print_stats(index);
    else if (batch)
        rc = run_batch(index, batch, &opt);
    else
        rc = run_query(index, query, &opt, json);
    dks_index_close(index);
    free(query);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": cannot write results: %s\n", strerror(errno));
        return 2;
    }
    return rc;
}
