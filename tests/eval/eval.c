/*
 * eval - measures dksearch's Danish matching.
 *
 *   eval relevance CORPUS_DIR QUERIES.tsv
 *       Indexes the corpus once per analysis (Snowball only, then adding
 *       spellings, compounds, elliptical compounds, lemmas), runs the judged
 *       queries and prints recall@10, MRR@10 and nDCG@10 for each.  Fails if
 *       the full analysis does not beat Snowball on every metric or a stage
 *       lowers a metric by more than one point.
 *   eval splits WORDLIST JUDGED.tsv
 *       Splits 2,000 words drawn at random (fixed seed) from the word list
 *       and says how many are split; then compares the splits of the
 *       hand-judged words with their judgement and fails at 5 % wrong.
 *   eval sample WORDLIST N
 *       Prints N random words that are split, with their parts, for judging.
 *   eval conflation LEMMAS.tsv
 *       For word forms with their lemmas: the share of same-lemma pairs that
 *       meet in a term, Snowball alone against the full analysis, and the
 *       share of different-lemma pairs that share their main term.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dks_int.h"
#include "../unit/test_util.h"

#define TOP 10
#define MAX_RELEVANT 64

/* ---- reading files ------------------------------------------------------ */

/* Splits text into lines in place (comments and blank lines dropped). */
static size_t lines_of(char *text, char ***out)
{
    size_t n = 0, cap = 256;
    char **lines = malloc(cap * sizeof *lines);
    for (char *p = text; lines && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[len - 1] = '\0';
        if (*p && *p != '#') {
            if (n == cap)
                lines = realloc(lines, (cap *= 2) * sizeof *lines);
            lines[n++] = p;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    *out = lines;
    return n;
}

static char *read_or_die(const char *path)
{
    char *text = test_read_file(path, NULL);
    if (!text) {
        fprintf(stderr, "eval: cannot read %s\n", path);
        exit(2);
    }
    return text;
}

/* Tab-separated field i of a line (copied into buf). */
static const char *field(const char *line, int i, char *buf, size_t cap)
{
    const char *p = line;
    for (int k = 0; k < i && p; k++) {
        p = strchr(p, '\t');
        if (p)
            p++;
    }
    if (!p)
        return NULL;
    size_t n = strcspn(p, "\t");
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

/* ---- relevance ------------------------------------------------------------ */

typedef struct judged {
    char query[256];
    char feature[32];
    char *relevant[MAX_RELEVANT];
    size_t n_relevant;
} judged;

typedef struct metrics {
    double recall, mrr, ndcg;
    size_t answered, noanswer_clean, noanswer;
} metrics;

static int add_file(dks_writer *w, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    char *text = test_read_file(path, &len);
    if (!text)
        return -1;
    int rc;
    dks_document doc;
    /* The title is the first line, the body the rest, as the indexer does. */
    const char *nl = memchr(text, '\n', len);
    doc = (dks_document){.id = name, .id_len = strlen(name), .title = text,
                         .title_len = nl ? (size_t)(nl - text) : len,
                         .body = nl ? nl : "", .body_len = nl ? len - (size_t)(nl - text) : 0};
    rc = dks_writer_add(w, &doc, NULL, NULL);
    free(text);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static dks_index *build_index(const char *tmp, const char *name, const char *corpus,
                              unsigned features)
{
    char db[4200];
    snprintf(db, sizeof db, "%s/%s", tmp, name);
    dks_index *idx;
    dks_writer *w;
    if (dks_index_open(db, DKS_OPEN_CREATE, &idx, NULL) ||
        dks_index_set_analysis(idx, features) || dks_writer_open(idx, &w, NULL)) {
        fprintf(stderr, "eval: cannot create %s\n", db);
        exit(2);
    }
    DIR *d = opendir(corpus);
    if (!d) {
        fprintf(stderr, "eval: cannot read %s\n", corpus);
        exit(2);
    }
    char *names[1024];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 1024)
        if (strstr(e->d_name, ".txt"))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (add_file(w, corpus, names[i])) {
            fprintf(stderr, "eval: cannot index %s\n", names[i]);
            exit(2);
        }
        free(names[i]);
    }
    if (dks_writer_commit(w, NULL)) {
        fprintf(stderr, "eval: cannot commit %s\n", db);
        exit(2);
    }
    dks_writer_close(w);
    return idx;
}

static int is_relevant(const judged *j, const char *id)
{
    for (size_t i = 0; i < j->n_relevant; i++)
        if (strcmp(j->relevant[i], id) == 0)
            return 1;
    return 0;
}

static metrics evaluate(dks_index *idx, const judged *js, size_t n, const char *feature)
{
    metrics m = {0};
    for (size_t q = 0; q < n; q++) {
        const judged *j = &js[q];
        if (feature && strcmp(j->feature, feature) != 0)
            continue;
        dks_results *r;
        dks_search_options opt = {.limit = TOP};
        dks_error_detail err = {0};
        if (dks_search(idx, j->query, strlen(j->query), &opt, &r, &err)) {
            fprintf(stderr, "eval: query '%s': %s\n", j->query, err.message);
            exit(2);
        }
        if (j->n_relevant == 0) {
            m.noanswer++;
            m.noanswer_clean += dks_results_total(r) == 0;
            dks_results_free(r);
            continue;
        }
        size_t found = 0;
        double dcg = 0, idcg = 0, rr = 0;
        for (size_t i = 0; i < dks_results_count(r); i++) {
            if (!is_relevant(j, dks_results_hit(r, i)->id))
                continue;
            found++;
            dcg += 1.0 / log2((double)i + 2);
            if (rr == 0)
                rr = 1.0 / ((double)i + 1);
        }
        for (size_t i = 0; i < j->n_relevant && i < TOP; i++)
            idcg += 1.0 / log2((double)i + 2);
        size_t reachable = j->n_relevant < TOP ? j->n_relevant : TOP;
        m.recall += (double)found / (double)reachable;
        m.mrr += rr;
        m.ndcg += dcg / idcg;
        m.answered++;
        dks_results_free(r);
    }
    if (m.answered) {
        m.recall /= (double)m.answered;
        m.mrr /= (double)m.answered;
        m.ndcg /= (double)m.answered;
    }
    return m;
}

static size_t read_judged(const char *path, const char *corpus, judged **out)
{
    char *text = read_or_die(path);
    char **lines;
    size_t n = lines_of(text, &lines), k = 0;
    judged *js = calloc(n ? n : 1, sizeof *js);
    for (size_t i = 0; i < n; i++) {
        judged *j = &js[k];
        char rel[4096];
        if (!field(lines[i], 0, j->query, sizeof j->query) ||
            !field(lines[i], 1, rel, sizeof rel) ||
            !field(lines[i], 2, j->feature, sizeof j->feature)) {
            fprintf(stderr, "eval: %s: malformed line: %s\n", path, lines[i]);
            exit(2);
        }
        for (char *p = rel; *p && strcmp(rel, "-") != 0;) {
            size_t len = strcspn(p, " ");
            if (len && j->n_relevant < MAX_RELEVANT) {
                j->relevant[j->n_relevant] = strndup(p, len);
                char check[4200];
                struct stat st;
                snprintf(check, sizeof check, "%s/%s", corpus, j->relevant[j->n_relevant]);
                if (stat(check, &st) != 0) {
                    fprintf(stderr, "eval: query '%s' names %s, not in the corpus\n", j->query,
                            j->relevant[j->n_relevant]);
                    exit(2);
                }
                j->n_relevant++;
            }
            p += len;
            p += strspn(p, " ");
        }
        k++;
    }
    free(lines);
    free(text);
    *out = js;
    return k;
}

static int relevance(const char *corpus, const char *queries)
{
    static const struct {
        const char *name;
        unsigned features;
    } configs[] = {
        {"Snowball only", DKS_ANALYSIS_SNOWBALL},
        {"+ spellings", DKS_ANALYSIS_SPELLING},
        {"+ compounds", DKS_ANALYSIS_SPELLING | DKS_ANALYSIS_COMPOUNDS},
        {"+ elliptical compounds",
         DKS_ANALYSIS_SPELLING | DKS_ANALYSIS_COMPOUNDS | DKS_ANALYSIS_ELLIPSIS},
        {"+ lemmas and exceptions (all)", DKS_ANALYSIS_ALL},
    };
    enum { N_CONFIGS = sizeof configs / sizeof configs[0] };
    judged *js;
    size_t n = read_judged(queries, corpus, &js);
    char *tmp = test_tmpdir();
    metrics m[N_CONFIGS];
    dks_index *idx[N_CONFIGS];
    for (size_t c = 0; c < N_CONFIGS; c++) {
        char name[16];
        snprintf(name, sizeof name, "c%zu", c);
        idx[c] = build_index(tmp, name, corpus, configs[c].features);
        m[c] = evaluate(idx[c], js, n, NULL);
    }
    printf("%zu judged queries (%zu with relevant documents, %zu without) on %s\n\n", n,
           m[0].answered, m[0].noanswer, corpus);
    printf("| analysis | recall@10 | MRR@10 | nDCG@10 | no-answer queries without hits |\n");
    printf("| --- | --- | --- | --- | --- |\n");
    for (size_t c = 0; c < N_CONFIGS; c++)
        printf("| %s | %.3f | %.3f | %.3f | %zu/%zu |\n", configs[c].name, m[c].recall, m[c].mrr,
               m[c].ndcg, m[c].noanswer_clean, m[c].noanswer);

    /* Per feature: what Snowball and the full analysis achieve. */
    static const char *const features[] = {"plain", "compound", "ellipsis", "hyphen",
                                           "spelling", "accent", "lemma", "irregular",
                                           "merge", "number"};
    printf("\n| queries | n | nDCG@10 Snowball | nDCG@10 all |\n| --- | --- | --- | --- |\n");
    for (size_t f = 0; f < sizeof features / sizeof features[0]; f++) {
        metrics a = evaluate(idx[0], js, n, features[f]);
        metrics b = evaluate(idx[N_CONFIGS - 1], js, n, features[f]);
        if (a.answered)
            printf("| %s | %zu | %.3f | %.3f |\n", features[f], a.answered, a.ndcg, b.ndcg);
    }

    int ok = 1;
    const metrics *first = &m[0], *last = &m[N_CONFIGS - 1];
    if (!(last->recall > first->recall && last->mrr > first->mrr && last->ndcg > first->ndcg)) {
        printf("\nFAIL: the full analysis does not beat Snowball on every metric\n");
        ok = 0;
    }
    for (size_t c = 1; c < N_CONFIGS; c++) {
        const metrics *a = &m[c - 1], *b = &m[c];
        if (b->recall < a->recall - 0.01 || b->mrr < a->mrr - 0.01 || b->ndcg < a->ndcg - 0.01) {
            printf("\nFAIL: %s lowers a metric by more than one point\n", configs[c].name);
            ok = 0;
        }
    }
    for (size_t c = 0; c < N_CONFIGS; c++)
        dks_index_close(idx[c]);
    test_rmrf(tmp);
    free(tmp);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < js[i].n_relevant; k++)
            free(js[i].relevant[k]);
    free(js);
    if (ok)
        printf("\nThe full analysis beats Snowball on every metric; no stage lowers one by "
               "more than a point.\n");
    return ok ? 0 : 1;
}

/* ---- compound splits ------------------------------------------------------- */

/* The terms the index gets for a split ("velfærd+alliancer" ->
 * "velfærd+allianc"): each part Snowball-stemmed. */
static void split_terms(dks_analyzer *an, const char *split, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (const char *p = split; *p && at < cap;) {
        size_t n = strcspn(p, "+");
        const char *t;
        size_t tl;
        if (n == 1 && *p == '-') {
            snprintf(out, cap, "-");
            return;
        }
        if (dks_analyze_word(an, p, n, &t, &tl) == 0)
            at += (size_t)snprintf(out + at, cap - at, "%s%.*s", at ? "+" : "", (int)tl, t);
        p += n;
        p += *p == '+';
    }
}

/* The split of a word as its parts joined by '+', or "-". */
static void split_text(dks_analyzer *an, const char *word, char *out, size_t cap)
{
    char norm[DKS_MAX_TERM_BYTES];
    size_t n, starts[DKS_MAX_COMPOUND_PARTS], ends[DKS_MAX_COMPOUND_PARTS], parts;
    snprintf(out, cap, "-");
    if (dks_normalize((const unsigned char *)word, strlen(word), norm, sizeof norm, &n) ||
        !dks_analyzer_split(an, norm, n, starts, ends, &parts))
        return;
    size_t at = 0;
    for (size_t i = 0; i < parts && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%.*s", i ? "+" : "",
                               (int)(ends[i] - starts[i]), norm + starts[i]);
}

/* Words of the list that are one token, in a fixed random order. */
static size_t random_words(const char *wordlist, char ***out, char **text_out)
{
    char *text = read_or_die(wordlist);
    char **lines;
    size_t n = lines_of(text, &lines), k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *w = lines[i];
        size_t len = strlen(w);
        dks_tokenizer t;
        dks_token tok;
        dks_tokenizer_init(&t, w, len);
        if (dks_tokenizer_next(&t, &tok) && tok.offset == 0 && tok.len == len)
            lines[k++] = lines[i];
    }
    /* Fisher-Yates with a fixed xorshift seed: the same words every run. */
    uint64_t x = 20261129;
    for (size_t i = k; i > 1; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t j = (size_t)(x % i);
        char *tmp = lines[i - 1];
        lines[i - 1] = lines[j];
        lines[j] = tmp;
    }
    *out = lines;
    *text_out = text;
    return k;
}

static int sample(const char *wordlist, size_t want)
{
    dks_analyzer *an;
    if (dks_analyzer_new(&an))
        return 2;
    char **words, *text;
    size_t n = random_words(wordlist, &words, &text), printed = 0;
    for (size_t i = 0; i < n && printed < want; i++) {
        char parts[512];
        split_text(an, words[i], parts, sizeof parts);
        if (strcmp(parts, "-") != 0) {
            printf("%s\t%s\n", words[i], parts);
            printed++;
        }
    }
    dks_analyzer_free(an);
    free(words);
    free(text);
    return 0;
}

static int splits(const char *wordlist, const char *judged_path)
{
    dks_analyzer *an;
    if (dks_analyzer_new(&an))
        return 2;
    char **words, *text;
    size_t n = random_words(wordlist, &words, &text), drawn = n < 2000 ? n : 2000, split = 0;
    for (size_t i = 0; i < drawn; i++) {
        char parts[512];
        split_text(an, words[i], parts, sizeof parts);
        split += strcmp(parts, "-") != 0;
    }
    printf("Compound splitting: %zu of %zu random words of the word list are split (%.1f %%).\n",
           split, drawn, 100.0 * (double)split / (double)drawn);

    /* A split is wrong when its parts give the index other terms than the
     * judged parts; splits that differ only in a linking letter the stemmer
     * removes anyway (orme/orm) are counted apart. */
    char *jtext = read_or_die(judged_path);
    char **lines;
    size_t nj = lines_of(jtext, &lines), wrong = 0, differ = 0;
    for (size_t i = 0; i < nj; i++) {
        char word[256], want[512], got[512], want_terms[512], got_terms[512];
        if (!field(lines[i], 0, word, sizeof word) || !field(lines[i], 1, want, sizeof want)) {
            fprintf(stderr, "eval: %s: malformed line: %s\n", judged_path, lines[i]);
            return 2;
        }
        split_text(an, word, got, sizeof got);
        if (strcmp(got, want) == 0)
            continue;
        differ++;
        split_terms(an, want, want_terms, sizeof want_terms);
        split_terms(an, got, got_terms, sizeof got_terms);
        int same_terms = strcmp(want_terms, got_terms) == 0;
        wrong += !same_terms;
        printf("  %s: %s split as %s, judged %s%s\n", same_terms ? "same terms" : "wrong", word,
               got, want, same_terms ? " (the stems agree)" : "");
    }
    double share = nj ? 100.0 * (double)wrong / (double)nj : 100.0;
    printf("Hand-judged splits: %zu of %zu differ from the judgement as written, %zu of them "
           "give other index terms: %.1f %% wrong (the limit is 5 %%).\n", differ, nj, wrong,
           share);
    free(lines);
    free(jtext);
    free(words);
    free(text);
    dks_analyzer_free(an);
    return nj >= 200 && share < 5.0 ? 0 : 1;
}

/* ---- conflation -------------------------------------------------------------- */

typedef struct form {
    char word[128], lemma[128];
    char keys[16][DKS_MAX_KEY_TERM_BYTES + 2];  /* what the form is indexed under */
    size_t key_len[16], n_keys;
    char main[DKS_MAX_KEY_TERM_BYTES + 1];
    size_t main_len;
} form;

typedef struct key_ctx {
    form *f;
} key_ctx;

static int collect_keys(const dks_term *t, void *ctx)
{
    form *f = ((key_ctx *)ctx)->f;
    char key[DKS_MAX_KEY_TERM_BYTES + 1];
    size_t kl = dks_term_key(t->kind, t->term, t->term_len, key);
    if (!kl || t->position != 0)
        return 0;
    if (t->kind == DKS_TERM_WORD) {
        memcpy(f->main, key, kl);
        f->main_len = kl;
    }
    if ((t->kind == DKS_TERM_WORD || t->kind == DKS_TERM_LEMMA) && f->n_keys < 16) {
        memcpy(f->keys[f->n_keys], key, kl);
        f->key_len[f->n_keys++] = kl;
    }
    return 0;
}

/* Would a query for a find a text with b?  The query side of a word is
 * its main term and lemmas, matched as words and as lemmas (query.c). */
static int meet(const form *a, const form *b)
{
    for (size_t i = 0; i < a->n_keys; i++) {
        const char *k = a->keys[i];
        size_t kl = a->key_len[i];
        const char *bare = k[0] == 0x03 ? k + 1 : k;
        size_t bl = k[0] == 0x03 ? kl - 1 : kl;
        for (size_t j = 0; j < b->n_keys; j++) {
            const char *m = b->keys[j];
            size_t ml = b->key_len[j];
            const char *mbare = m[0] == 0x03 ? m + 1 : m;
            size_t mbl = m[0] == 0x03 ? ml - 1 : ml;
            if (bl == mbl && memcmp(bare, mbare, bl) == 0)
                return 1;
        }
    }
    return 0;
}

static void analyse_forms(form *forms, size_t n, unsigned features)
{
    dks_analyzer *an;
    if (dks_analyzer_new_with(features, &an))
        exit(2);
    for (size_t i = 0; i < n; i++) {
        key_ctx c = {&forms[i]};
        forms[i].n_keys = 0;
        forms[i].main_len = 0;
        dks_analyze(an, forms[i].word, strlen(forms[i].word), 0, collect_keys, &c);
    }
    dks_analyzer_free(an);
}

static void conflation_figures(const form *forms, size_t n, double *same_meet, double *diff_main,
                               size_t *n_same, size_t *n_diff, size_t *diff_count)
{
    size_t same = 0, met = 0, diff = 0, merged = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j)
                continue;
            if (strcmp(forms[i].lemma, forms[j].lemma) == 0) {
                same++;
                met += meet(&forms[i], &forms[j]);
            } else if (i < j) {
                diff++;
                merged += forms[i].main_len == forms[j].main_len &&
                          memcmp(forms[i].main, forms[j].main, forms[i].main_len) == 0;
            }
        }
    *same_meet = same ? (double)met / (double)same : 0;
    *diff_main = diff ? (double)merged / (double)diff : 0;
    *n_same = same;
    *n_diff = diff;
    *diff_count = merged;
}

static int conflation(const char *path)
{
    char *text = read_or_die(path);
    char **lines;
    size_t n = lines_of(text, &lines);
    form *forms = calloc(n ? n : 1, sizeof *forms);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (field(lines[i], 0, forms[k].word, sizeof forms[k].word) &&
            field(lines[i], 1, forms[k].lemma, sizeof forms[k].lemma))
            k++;
    double same_s, diff_s, same_a, diff_a;
    size_t ns, nd, cs, ca;
    analyse_forms(forms, k, DKS_ANALYSIS_SNOWBALL);
    conflation_figures(forms, k, &same_s, &diff_s, &ns, &nd, &cs);
    analyse_forms(forms, k, DKS_ANALYSIS_ALL);
    conflation_figures(forms, k, &same_a, &diff_a, &ns, &nd, &ca);
    printf("Conflation on %zu word forms (%zu same-lemma pairs, %zu different-lemma pairs):\n\n",
           k, ns, nd);
    printf("| analysis | same-lemma pairs that meet | different-lemma pairs sharing the main "
           "term |\n| --- | --- | --- |\n");
    printf("| Snowball only | %.1f %% | %.3f %% (%zu pairs) |\n", 100 * same_s, 100 * diff_s, cs);
    printf("| all stages | %.1f %% | %.3f %% (%zu pairs) |\n", 100 * same_a, 100 * diff_a, ca);
    free(forms);
    free(lines);
    free(text);
    return k >= 300 && same_a > same_s ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "relevance") == 0)
        return relevance(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "splits") == 0)
        return splits(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "sample") == 0)
        return sample(argv[2], (size_t)atoi(argv[3]));
    if (argc == 3 && strcmp(argv[1], "conflation") == 0)
        return conflation(argv[2]);
    fprintf(stderr, "usage: eval relevance CORPUS QUERIES | splits WORDLIST JUDGED | "
                    "sample WORDLIST N | conflation LEMMAS\n");
    return 2;
}
