/*
 * fuzz_query.c - the query parser, and whole searches over a small index.
 *
 * Input: the first byte picks search options (bits, below), the rest is
 * the query.  The query is parsed on its own (with and without as-you-type
 * mode, without an index's vocabulary), then searched with dks_search over
 * an index built once at start-up: Danish documents with stored fields,
 * and enough generated ones that common words span several posting blocks,
 * so that matching, pruning, suggestions, facets, sorting and snippets run
 * on every query.
 *
 * Checked beyond not crashing: a refused query has a message and a
 * position inside it; every hit has an id, a title and a snippet of valid
 * UTF-8 with highlights inside it; the JSON of results and of errors is
 * valid JSON; with pruning (bit 7) the hits and scores are those of a
 * search that scores every match.
 */
#include "fuzz.h"

#include <jansson.h>
#include <math.h>

enum {
    OPT_AS_YOU_TYPE = 1,
    OPT_EXPLAIN = 2,
    OPT_NO_SNIPPETS = 4,
    OPT_SORT = 8 | 16,       /* 0: score, then id, date, -date */
    OPT_FACET = 32,          /* count the hits' parties */
    OPT_FILTER = 64,         /* only documents since 2020 */
    OPT_PRUNE = 128          /* count 1 hit exactly, page 2 of 3; compared with no pruning */
};

/* Documents generated besides the real ones: more than two blocks of
 * postings for the words they share. */
#define GENERATED_DOCS 300

static dks_index *idx;
static dks_analyzer *an;

typedef struct doc_spec {
    const char *id, *title, *body, *party, *date;
} doc_spec;

static const doc_spec docs[] = {
    {"velfaerd", "Endnu bedre samspil",
     "Rapporten handler om toplederrollen i velfærdsalliancer, hvor borgere og "
     "virksomheder arbejder sammen med kommunen om telemedicin og sundhedsvæsenet.",
     "Socialdemokratiet", "2021-03-01"},
    {"ellipse", "Vindmøller i Nordsøen",
     "I dag talte klima-, energi- og forsyningsministeren om nye vindmøller i Nordsøen.",
     "Radikale Venstre", "2019-11-20"},
    {"bindestreg", "Kontakt sekretariatet",
     "Skriv en e-mail til sekretariatet om det offentlig-private partnerskab. En 14-årig "
     "elev vandt konkurrencen.",
     "Venstre", "2020-01-01"},
    {"lemmaer", "Datid",
     "Hun sagde sandheden. Vi fik hjælp. De gik hjem. Jeg læste to bøger. Fire børn legede.",
     NULL, "2018-06-15"},
    {"sundhed", "Reform",
     "Et moderne sundhedsvæsen kræver flere sygeplejersker. Sundhedsvæsnet har lange "
     "ventelister, og den offentlige sektor mangler hænder.",
     "Socialdemokratiet", NULL},
    {"tal", "Lovforslaget",
     "Efter § 12, stk. 3, gælder en kort frist. Folketinget vedtog L 146 i foråret; "
     "budgettet er 1.000,50 kr. H.C. Andersen skrev eventyr.",
     "Venstre", "2022-09-30"},
    {"accenter", "Café i Malmö",
     "Vi drak kaffe på en café i Malmö og fik en god idé om Århus og Aarhus.",
     NULL, NULL},
    {"skrald", "\xff\xfe ugyldig \xc3",
     "Tekst med ugyldige bytes \xff\xc3\x28 og en meget lang token "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     " til sidst.",
     "Alternativet", "2023-02-28"},
};

/* Words the generated documents are made of, so that they share terms at
 * many frequencies and positions. */
static const char *const words[] = {
    "velfærd", "kommune", "borgere", "telemedicin", "sundhed", "offentlige", "sektor",
    "skole", "lærere", "cykler", "klima", "energi", "og", "i", "at", "alliance",
    "partnerskaber", "hospital", "frivillige", "foreninger",
};
#define N_WORDS (sizeof words / sizeof words[0])

static int add_doc(dks_writer *w, const doc_spec *d)
{
    dks_field fields[2];
    size_t n = 0;
    if (d->party)
        fields[n++] = (dks_field){"party", 5, d->party, strlen(d->party)};
    if (d->date)
        fields[n++] = (dks_field){"date", 4, d->date, strlen(d->date)};
    dks_document doc = {d->id, strlen(d->id), d->title, strlen(d->title), d->body,
                        strlen(d->body), fields, n};
    return dks_writer_add(w, &doc, NULL, NULL);
}

/* Generated document i: a few words chosen by i, repeated by i. */
static int add_generated(dks_writer *w, unsigned i)
{
    char id[32], body[512], date[16];
    size_t len = 0;
    for (unsigned k = 0; k < 8 + i % 13; k++) {
        const char *word = words[(i * 7 + k * k * 3 + k) % N_WORDS];
        len += (size_t)snprintf(body + len, sizeof body - len, "%s ", word);
    }
    snprintf(id, sizeof id, "gen-%u", i);
    snprintf(date, sizeof date, "20%02u-%02u-01", 10 + i % 15, 1 + i % 12);
    doc_spec d = {id, words[i % N_WORDS], body, i % 3 ? "Venstre" : "Enhedslisten", date};
    return add_doc(w, &d);
}

/* The index lives in a directory removed as soon as it is built: the open
 * handle keeps its files, and a run that crashes leaves nothing behind. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[4096], db[4200];
    fuzz_tmpdir(dir, sizeof dir, "query");
    snprintf(db, sizeof db, "%s/db", dir);
    dks_writer *w;
    int found;
    fuzz_setup(dks_index_open(db, DKS_OPEN_CREATE, &idx, NULL), "dks_index_open");
    fuzz_setup(dks_writer_open(idx, &w, NULL), "dks_writer_open");
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        fuzz_setup(add_doc(w, &docs[i]), "dks_writer_add");
    /* several commits make several generations; a document replaced and
     * one deleted leave their traces in the postings */
    for (unsigned i = 0; i < GENERATED_DOCS; i++) {
        fuzz_setup(add_generated(w, i), "dks_writer_add");
        if (i % 100 == 99)
            fuzz_setup(dks_writer_commit(w, NULL), "dks_writer_commit");
    }
    fuzz_setup(add_doc(w, &docs[0]), "dks_writer_add");
    fuzz_setup(dks_writer_delete(w, "gen-7", 5, &found, NULL), "dks_writer_delete");
    fuzz_setup(dks_writer_commit(w, NULL), "dks_writer_commit");
    dks_writer_close(w);
    fuzz_rmrf(dir);
    fuzz_setup(dks_analyzer_new(&an), "dks_analyzer_new");
    return 0;
}

static void check_json(const char *json, size_t len)
{
    json_error_t e;
    json_t *v = json_loadb(json, len, JSON_ALLOW_NUL, &e);  /* \u0000 is valid JSON */
    if (!v)
        fprintf(stderr, "invalid JSON (%s at %d): %.*s\n", e.text, e.position, (int)len, json);
    FUZZ_CHECK(v != NULL);
    json_decref(v);
}

static void check_error(const char *q, size_t len, int rc, const dks_error_detail *err)
{
    if (rc != DKS_EQUERY)
        return;
    FUZZ_CHECK(err->code == DKS_EQUERY && err->message[0] != '\0');
    FUZZ_CHECK(err->position >= -1 && err->position <= (long)len);
    char *json;
    size_t jl;
    FUZZ_CHECK(dks_error_json(q, len, rc, err, &json, &jl) == DKS_OK);
    check_json(json, jl);
    free(json);
}

static void fuzz_parse(const char *q, size_t len, unsigned flags)
{
    dks_qnode *root;
    dks_error_detail err = {0};
    int rc = dks_query_parse(an, NULL, flags, q, len, &root, &err);
    FUZZ_CHECK_RC(rc, DKS_EQUERY);
    FUZZ_CHECK(rc ? root == NULL : root != NULL);
    check_error(q, len, rc, &err);
    if (!rc)
        dks_query_drop_stopwords(&root);
    dks_query_free(root);
}

static void check_results(const dks_results *r)
{
    for (size_t i = 0; i < dks_results_count(r); i++) {
        const dks_hit *h = dks_results_hit(r, i);
        FUZZ_CHECK(h->id && h->title && h->snippet);
        size_t sl = strlen(h->snippet);
        FUZZ_CHECK(fuzz_valid_utf8(h->snippet, sl));
        for (size_t k = 0; k < h->n_highlights; k++)
            FUZZ_CHECK(h->highlights[k].start < h->highlights[k].end &&
                       h->highlights[k].end <= sl);
    }
    char *json;
    size_t jl;
    FUZZ_CHECK(dks_results_json(r, &json, &jl) == DKS_OK);
    check_json(json, jl);
    free(json);
}

/* Pruning passes over documents that cannot reach the page: the page must
 * be the one scoring everything gives. */
static void check_same_hits(const dks_results *pruned, const dks_results *full)
{
    FUZZ_CHECK(dks_results_count(pruned) == dks_results_count(full));
    for (size_t i = 0; i < dks_results_count(full); i++) {
        const dks_hit *a = dks_results_hit(pruned, i), *b = dks_results_hit(full, i);
        FUZZ_CHECK(strcmp(a->id, b->id) == 0);
        FUZZ_CHECK(fabs(a->score - b->score) <= 1e-9 * fabs(b->score) + 1e-12);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned bits = data[0];
    const char *q = (const char *)data + 1;
    size_t len = size - 1;

    fuzz_parse(q, len, 0);
    fuzz_parse(q, len, DKS_QUERY_AS_YOU_TYPE);

    static const char *const sorts[] = {NULL, "id", "date", "-date"};
    static const char *const facets[] = {"party"};
    static const char *const filters[] = {"date>=2020-01-01"};
    dks_search_options opt = {
        .as_you_type = !!(bits & OPT_AS_YOU_TYPE),
        .explain = !!(bits & OPT_EXPLAIN),
        .no_snippets = !!(bits & OPT_NO_SNIPPETS),
        .sort = sorts[(bits & OPT_SORT) >> 3],
        .facets = facets,
        .n_facets = bits & OPT_FACET ? 1 : 0,
        .filters = filters,
        .n_filters = bits & OPT_FILTER ? 1 : 0,
        .snippet_words = 8,
    };
    if (bits & OPT_PRUNE) {
        opt.count_limit = 1;
        opt.offset = 3;
        opt.limit = 3;
    }
    dks_results *r;
    dks_error_detail err = {0};
    int rc = dks_search(idx, q, len, &opt, &r, &err);
    FUZZ_CHECK_RC(rc, DKS_EQUERY);
    check_error(q, len, rc, &err);
    if (rc)
        return 0;
    check_results(r);
    if (bits & OPT_PRUNE) {
        dks_results *full;
        opt.exact_total = 1;
        FUZZ_CHECK(dks_search(idx, q, len, &opt, &full, NULL) == DKS_OK);
        check_same_hits(r, full);
        FUZZ_CHECK(dks_results_total(full) >= dks_results_total(r));
        dks_results_free(full);
    }
    dks_results_free(r);
    return 0;
}
