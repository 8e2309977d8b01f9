/*
 * search.c - dks_search(): parse the query, match it in one read
 * transaction, and turn the best hits into results with ids, titles and
 * snippets that the caller owns.  Also the JSON form of the results.
 *
 * Every search has its own analyzer (one an earlier search left to the
 * index, when there is one) and read transaction, so searches on one
 * dks_index may run in several threads at once.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dks_int.h"

/* The most values a facet reports. */
#define MAX_FACET_VALUES 100

struct dks_results {
    char *query;
    dks_facet *facets;
    size_t n_facets;
    char *suggestion;       /* "Mente du ...?" for a query without hits */
    char **notes;
    size_t n_notes;
    uint64_t total;
    int total_exact;
    uint64_t took_us;
    dks_hit *hits;
    size_t n_hits;
};

uint64_t dks_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static char *copy_string(const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (c) {
        memcpy(c, s, len);
        c[len] = '\0';
    }
    return c;
}

/* Titles are lines; a stored one is shown up to this many bytes. */
#define MAX_SHOWN_TITLE_BYTES 500

/* Stored ids and titles came from arbitrary input; hand out valid UTF-8
 * on one line (control characters, NUL included, become spaces). */
static char *copy_valid(const char *s, size_t len)
{
    dks_buf b = {0};
    if (len > MAX_SHOWN_TITLE_BYTES) {
        len = MAX_SHOWN_TITLE_BYTES;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    if (dks_utf8_append_valid(&b, (const unsigned char *)s, len) || dks_buf_append(&b, "", 0)) {
        dks_buf_free(&b);
        return NULL;
    }
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] < 0x20 || b.data[i] == 0x7f)
            b.data[i] = ' ';
    return (char *)b.data;
}

void dks_results_free(dks_results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_hits; i++) {
        free((char *)r->hits[i].id);
        free((char *)r->hits[i].title);
        free((char *)r->hits[i].snippet);
        free((dks_highlight *)r->hits[i].highlights);
        dks_score_parts_free((dks_score_part *)r->hits[i].parts, r->hits[i].n_parts);
    }
    free(r->hits);
    for (size_t i = 0; i < r->n_notes; i++)
        free(r->notes[i]);
    free(r->notes);
    free(r->suggestion);
    for (size_t i = 0; i < r->n_facets; i++) {
        for (size_t j = 0; j < r->facets[i].n_values; j++)
            free((char *)r->facets[i].values[j].value);
        free((dks_facet_value *)r->facets[i].values);
        free((char *)r->facets[i].name);
    }
    free(r->facets);
    free(r->query);
    free(r);
}

/* A hit with the value it is sorted by. */
typedef struct sort_entry {
    dks_hit_ref ref;
    const char *key;   /* points into the map (valid in this transaction) */
    size_t key_len;
    int has_key;
    int descending;    /* the same in every entry: qsort has no context */
} sort_entry;

static int cmp_sort(const void *x, const void *y)
{
    const sort_entry *a = x, *b = y;
    if (a->has_key != b->has_key)
        return a->has_key ? -1 : 1;  /* without the field: last */
    if (a->has_key) {
        size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
        int c = memcmp(a->key, b->key, n);
        if (c == 0)
            c = (a->key_len > b->key_len) - (a->key_len < b->key_len);
        if (c)
            return a->descending ? -c : c;
    }
    if (a->ref.score != b->ref.score)
        return a->ref.score > b->ref.score ? -1 : 1;
    return (a->ref.doc > b->ref.doc) - (a->ref.doc < b->ref.doc);
}

/* The value of a named field in an encoded field list; 1 if found. */
static int field_value(const dks_doc_record *rec, const char *name, const char **v, size_t *vl)
{
    const unsigned char *p = rec->fields, *end = p + rec->fields_len;
    uint64_t count;
    if (dks_varint_decode(&p, end, &count))
        return 0;
    size_t name_len = strlen(name);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t nl, len;
        if (dks_varint_decode(&p, end, &nl) || nl > (uint64_t)(end - p))
            return 0;
        const unsigned char *n = p;
        p += nl;
        if (dks_varint_decode(&p, end, &len) || len > (uint64_t)(end - p))
            return 0;
        if (nl == name_len && memcmp(n, name, nl) == 0) {
            *v = (const char *)p;
            *vl = (size_t)len;
            return 1;
        }
        p += len;
    }
    return 0;
}

/* Orders all hits by id or a field, for --sort. */
static int sort_hits(dks_txn *t, dks_match_result *m, const char *sort, dks_error_detail *err)
{
    int desc = sort[0] == '-';
    const char *name = sort + desc;
    if (!*name)
        return dks_fail(err, DKS_EINVAL, -1, "sort needs a field name");
    sort_entry *e = calloc(m->n_hits ? m->n_hits : 1, sizeof *e);
    if (!e)
        return DKS_ENOMEM;
    for (size_t i = 0; i < m->n_hits; i++) {
        dks_doc_record rec;
        int rc = dks_doc_get(t, m->hits[i].doc, &rec);
        if (rc) {
            free(e);
            return rc;
        }
        e[i].ref = m->hits[i];
        e[i].descending = desc;
        if (strcmp(name, "id") == 0) {
            e[i].key = rec.id;
            e[i].key_len = rec.id_len;
            e[i].has_key = 1;
        } else if (strcmp(name, "title") == 0) {
            e[i].key = rec.title;
            e[i].key_len = rec.title_len;
            e[i].has_key = rec.title_len > 0;
        } else {
            e[i].has_key = field_value(&rec, name, &e[i].key, &e[i].key_len);
        }
    }
    qsort(e, m->n_hits, sizeof *e, cmp_sort);
    for (size_t i = 0; i < m->n_hits; i++)
        m->hits[i] = e[i].ref;
    free(e);
    return DKS_OK;
}

typedef struct value_ref {
    const char *value;   /* in the map, valid in this transaction */
    size_t len;
} value_ref;

static int cmp_value(const void *x, const void *y)
{
    const value_ref *a = x, *b = y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->value, b->value, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static int cmp_facet_value(const void *x, const void *y)
{
    const dks_facet_value *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->value, b->value);
}

/* Counts, over every hit, the values of one field. */
static int count_facet(dks_txn *t, const dks_match_result *m, const char *name, dks_facet *out)
{
    value_ref *vals = malloc((m->n_hits ? m->n_hits : 1) * sizeof *vals);
    size_t nv = 0;
    if (!vals)
        return DKS_ENOMEM;
    for (size_t i = 0; i < m->n_hits; i++) {
        dks_doc_record rec;
        int rc = dks_doc_get(t, m->hits[i].doc, &rec);
        if (rc) {
            free(vals);
            return rc;
        }
        if (field_value(&rec, name, &vals[nv].value, &vals[nv].len))
            nv++;
    }
    qsort(vals, nv, sizeof *vals, cmp_value);
    size_t distinct = 0;
    for (size_t i = 0; i < nv; i++)
        distinct += i == 0 || cmp_value(&vals[i - 1], &vals[i]) != 0;
    dks_facet_value *fv = calloc(distinct ? distinct : 1, sizeof *fv);
    out->name = copy_string(name, strlen(name));
    int rc = fv && out->name ? DKS_OK : DKS_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; !rc && i < nv; i++) {
        if (i == 0 || cmp_value(&vals[i - 1], &vals[i]) != 0) {
            if (!(fv[k].value = copy_valid(vals[i].value, vals[i].len))) {
                rc = DKS_ENOMEM;
                break;
            }
            k++;
        }
        fv[k - 1].count++;
    }
    free(vals);
    if (!rc)
        qsort(fv, k, sizeof *fv, cmp_facet_value);
    out->values = fv;
    out->n_values = k < MAX_FACET_VALUES ? k : MAX_FACET_VALUES;
    for (size_t i = out->n_values; i < k; i++)
        free((char *)fv[i].value);
    return rc;
}

/* Fills one hit from the stored document.  Its snippet is cut where the
 * postings say the query's terms stand (`at`), or, when the query has a
 * prefix (whose words the results do not list), by analysing the text;
 * words = 0 asks for no snippet. */
static int make_hit(dks_txn *t, dks_analyzer *an, dks_text_reader *tr,
                    const dks_match_result *m, const dks_hit_ref *ref, dks_doc_matches *at,
                    size_t words, dks_hit *hit)
{
    const void *text = NULL;
    size_t text_len = 0;
    dks_doc_record rec;
    int rc = dks_doc_get(t, ref->doc, &rec);
    if (!rc && words > 0)
        rc = dks_text_get(tr, t, ref->doc, &text, &text_len);
    if (rc)
        return rc;

    dks_snippet snip = {0};
    if (words == 0)
        rc = dks_buf_append(&snip.text, "", 0);  /* no snippet asked for */
    else if (at && !at->unplaced)
        rc = dks_snippet_at_positions(text, text_len, rec.body_start, at->matches, at->n,
                                      m->n_terms, words, &snip);
    else
        rc = dks_snippet_make(an, text, text_len, m->terms, m->term_lens, m->n_terms, words,
                              &snip);
    if (rc)
        return rc;
    hit->score = ref->score;
    hit->id = copy_valid(rec.id, rec.id_len);
    hit->title = copy_valid(rec.title, rec.title_len);
    hit->snippet = (const char *)snip.text.data;
    hit->highlights = snip.ranges;
    hit->n_highlights = snip.n_ranges;
    return hit->id && hit->title ? DKS_OK : DKS_ENOMEM;
}

/* The parser's view of the index's vocabulary: is the term in it? */
static int in_index(void *ctx, const char *key, size_t len)
{
    dks_term_stats st;
    return len > 0 && len <= DKS_MAX_KEY_TERM_BYTES && dks_term_stats_get(ctx, key, len, &st) == 0;
}

static void free_doc_matches(dks_doc_matches *at, size_t n)
{
    for (size_t i = 0; at && i < n; i++)
        free(at[i].matches);
    free(at);
}

int dks_search(dks_index *index, const char *query, size_t query_len,
               const dks_search_options *options, dks_results **out, dks_error_detail *err)
{
    *out = NULL;
    uint64_t started = dks_clock_us();
    dks_search_options opt = options ? *options : (dks_search_options){0};
    if (opt.limit == 0)
        opt.limit = 10;
    if (opt.snippet_words == 0)
        opt.snippet_words = 30;
    if (opt.title_weight == 0)
        opt.title_weight = 2.0;
    if (!index || !query)
        return dks_fail(err, DKS_EINVAL, -1, "invalid arguments to dks_search");
    if (opt.limit > DKS_MAX_RESULTS || opt.offset > DKS_MAX_RESULTS - opt.limit)
        return dks_fail(err, DKS_ELIMIT, -1, "offset + limit may be at most %d",
                        DKS_MAX_RESULTS);

    dks_analyzer *an = NULL;
    dks_qnode *root = NULL;
    dks_txn *t = NULL;
    dks_match_result m = {0};
    dks_doc_matches *at = NULL;
    size_t n_at = 0;
    dks_meta meta;
    dks_text_reader *tr = NULL;
    const dks_length_table *lengths = NULL;
    dks_results *r = calloc(1, sizeof *r);
    int rc = r ? dks_txn_begin(dks_index_store(index), 0, &t) : DKS_ENOMEM;
    if (!rc)
        rc = dks_text_reader_new(index, &tr);
    if (rc)
        goto fail;
    /* Queries are analysed the way the index's documents were. */
    if ((rc = dks_meta_read(t, &meta))) {
        rc = rc == 1 ? DKS_ENOINDEX : rc;
        goto fail;
    }
    if ((rc = dks_index_analyzer_take(index, meta.features, &an)))
        goto fail;
    dks_vocabulary vocab = {in_index, t};
    unsigned flags = opt.as_you_type ? DKS_QUERY_AS_YOU_TYPE : 0;
    if ((rc = dks_query_parse(an, &vocab, flags, query, query_len, &root, err)))
        goto fail;
    dks_query_drop_stopwords(&root);
    for (size_t i = 0; i < opt.n_filters; i++)
        if ((rc = dks_query_add_filter(&root, opt.filters[i], err)))
            goto fail;
    int by_score = !opt.sort || strcmp(opt.sort, "score") == 0;
    /* sorting by a field and counting facets need every hit */
    int all_hits = !by_score || opt.n_facets > 0;
    uint64_t count_to = opt.exact_total ? UINT64_MAX
                        : opt.count_limit ? opt.count_limit : DKS_EXACT_TOTAL;
    if ((rc = dks_index_lengths_take(index, t, &lengths)) ||
        (rc = dks_match_run(t, lengths, root, all_hits ? SIZE_MAX : opt.offset + opt.limit,
                            opt.title_weight, count_to, &m)))
        goto fail;
    if (opt.n_facets && !(r->facets = calloc(opt.n_facets, sizeof *r->facets))) {
        rc = DKS_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < opt.n_facets; i++) {
        r->n_facets = i + 1;
        if ((rc = count_facet(t, &m, opt.facets[i], &r->facets[i])))
            goto fail;
    }
    if (!by_score && (rc = sort_hits(t, &m, opt.sort, err)))
        goto fail;

    if (m.total == 0 && !opt.no_suggestion &&
        (rc = dks_suggest(t, an, tr, root, query, query_len, &r->suggestion)))
        goto fail;
    dks_analyzer_restrict_compounds(an, m.terms, m.term_lens, m.n_terms);
    /* the notes pass to the results as they are */
    r->notes = m.notes;
    r->n_notes = m.n_notes;
    m.notes = NULL;
    m.n_notes = 0;
    r->query = copy_string(query, query_len);
    r->total = m.total;
    r->total_exact = m.total_exact;
    size_t n = m.n_hits > opt.offset ? m.n_hits - opt.offset : 0;
    if (n > opt.limit)
        n = opt.limit;  /* sorting by a field keeps every hit */
    r->hits = calloc(n ? n : 1, sizeof *r->hits);
    if (!r->query || !r->hits) {
        rc = DKS_ENOMEM;
        goto fail;
    }
    /* where the terms stand in the page's documents, in one pass a term */
    int has_prefix = 0;
    for (size_t i = 0; i < m.n_terms; i++)
        has_prefix |= m.term_lens[i] > 0 && (unsigned char)m.terms[i][0] == DKS_KEY_PREFIX;
    if (!has_prefix && n && !opt.no_snippets) {
        if (!(at = calloc(n, sizeof *at))) {
            rc = DKS_ENOMEM;
            goto fail;
        }
        n_at = n;
        for (size_t i = 0; i < n; i++)
            at[i].doc = m.hits[opt.offset + i].doc;
        if ((rc = dks_match_positions(t, m.terms, m.term_lens, m.n_terms, at, n)))
            goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        rc = make_hit(t, an, tr, &m, &m.hits[opt.offset + i], at ? &at[i] : NULL,
                      opt.no_snippets ? 0 : opt.snippet_words, &r->hits[i]);
        r->n_hits = i + 1;  /* so that dks_results_free releases a partial hit */
        if (!rc && opt.explain) {
            dks_score_part *parts;
            rc = dks_match_explain(t, lengths, root, &m.hits[opt.offset + i], opt.title_weight,
                                   &parts, &r->hits[i].n_parts);
            r->hits[i].parts = parts;
        }
        if (rc)
            goto fail;
    }
    dks_txn_abort(t);
    dks_text_reader_free(tr);
    free_doc_matches(at, n_at);
    dks_match_result_free(&m);
    dks_query_free(root);
    dks_index_analyzer_give(index, an);
    dks_index_lengths_give(index, lengths);
    r->took_us = dks_clock_us() - started;
    *out = r;
    return DKS_OK;
fail:
    dks_txn_abort(t);
    dks_text_reader_free(tr);
    free_doc_matches(at, n_at);
    dks_match_result_free(&m);
    dks_query_free(root);
    dks_index_analyzer_give(index, an);
    dks_index_lengths_give(index, lengths);
    dks_results_free(r);
    if (rc != DKS_EQUERY)
        dks_fail(err, rc, -1, "search failed: %s", dks_strerror(rc));
    return rc;
}

uint64_t dks_results_total(const dks_results *r) { return r->total; }
int dks_results_total_exact(const dks_results *r) { return r->total_exact; }
size_t dks_results_note_count(const dks_results *r) { return r->n_notes; }
const char *dks_results_suggestion(const dks_results *r) { return r->suggestion; }
size_t dks_results_facet_count(const dks_results *r) { return r->n_facets; }

const dks_facet *dks_results_facet(const dks_results *r, size_t i)
{
    return i < r->n_facets ? &r->facets[i] : NULL;
}

const char *dks_results_note(const dks_results *r, size_t i)
{
    return i < r->n_notes ? r->notes[i] : NULL;
}
uint64_t dks_results_took_us(const dks_results *r) { return r->took_us; }
size_t dks_results_count(const dks_results *r) { return r->n_hits; }

const dks_hit *dks_results_hit(const dks_results *r, size_t i)
{
    return i < r->n_hits ? &r->hits[i] : NULL;
}

/* ,"explain":[{"term":..., "kind":..., "weight":..., "tf":..., ...}] */
static int explain_json(dks_buf *b, const dks_hit *h)
{
    int rc = dks_buf_append_str(b, ",\"explain\":[");
    for (size_t i = 0; !rc && i < h->n_parts; i++) {
        const dks_score_part *p = &h->parts[i];
        rc = dks_buf_append_str(b, i ? ",{\"term\":" : "{\"term\":");
        if (!rc)
            rc = dks_json_string(b, p->term, strlen(p->term));
        if (!rc)
            rc = dks_buf_printf(b, ",\"kind\":\"%s\",\"weight\":%.3g,\"tf\":%u,\"df\":%llu,"
                                "\"idf\":%.6g,\"length\":%.0f,\"avg_length\":%.6g,"
                                "\"norm\":%.6g,\"score\":%.10g}",
                                p->kind, p->weight, p->tf, p->df, p->idf, p->length,
                                p->avg_length, p->norm, p->score);
    }
    return rc ? rc : dks_buf_putc(b, ']');
}

int dks_results_json(const dks_results *r, char **json, size_t *len)
{
    *json = NULL;
    if (len)
        *len = 0;
    dks_buf b = {0};
    int rc = dks_buf_append_str(&b, "{\"query\":");
    if (!rc)
        rc = dks_json_string(&b, r->query, strlen(r->query));
    if (!rc)
        rc = dks_buf_printf(&b, ",\"total\":%llu,\"total_exact\":%s,\"took_us\":%llu,"
                            "\"notes\":[", (unsigned long long)r->total,
                            r->total_exact ? "true" : "false", (unsigned long long)r->took_us);
    for (size_t i = 0; !rc && i < r->n_notes; i++) {
        rc = i ? dks_buf_putc(&b, ',') : DKS_OK;
        if (!rc)
            rc = dks_json_string(&b, r->notes[i], strlen(r->notes[i]));
    }
    if (!rc)
        rc = dks_buf_append_str(&b, "],");
    if (!rc && r->suggestion) {
        rc = dks_buf_append_str(&b, "\"suggestion\":");
        if (!rc)
            rc = dks_json_string(&b, r->suggestion, strlen(r->suggestion));
        if (!rc)
            rc = dks_buf_putc(&b, ',');
    }
    if (!rc && r->n_facets) {
        rc = dks_buf_append_str(&b, "\"facets\":{");
        for (size_t i = 0; !rc && i < r->n_facets; i++) {
            const dks_facet *f = &r->facets[i];
            rc = i ? dks_buf_putc(&b, ',') : DKS_OK;
            if (!rc)
                rc = dks_json_string(&b, f->name, strlen(f->name));
            if (!rc)
                rc = dks_buf_append_str(&b, ":[");
            for (size_t j = 0; !rc && j < f->n_values; j++) {
                rc = dks_buf_append_str(&b, j ? ",{\"value\":" : "{\"value\":");
                if (!rc)
                    rc = dks_json_string(&b, f->values[j].value, strlen(f->values[j].value));
                if (!rc)
                    rc = dks_buf_printf(&b, ",\"count\":%llu}", f->values[j].count);
            }
            if (!rc)
                rc = dks_buf_putc(&b, ']');
        }
        if (!rc)
            rc = dks_buf_append_str(&b, "},");
    }
    if (!rc)
        rc = dks_buf_append_str(&b, "\"hits\":[");
    for (size_t i = 0; !rc && i < r->n_hits; i++) {
        const dks_hit *h = &r->hits[i];
        rc = dks_buf_append_str(&b, i ? ",{\"id\":" : "{\"id\":");
        if (!rc)
            rc = dks_json_string(&b, h->id, strlen(h->id));
        if (!rc)
            rc = dks_buf_append_str(&b, ",\"title\":");
        if (!rc)
            rc = dks_json_string(&b, h->title, strlen(h->title));
        if (!rc)
            rc = dks_buf_printf(&b, ",\"score\":%.10g,\"snippet\":", h->score);
        if (!rc)
            rc = dks_json_string(&b, h->snippet, strlen(h->snippet));
        if (!rc)
            rc = dks_buf_append_str(&b, ",\"highlights\":[");
        for (size_t j = 0; !rc && j < h->n_highlights; j++)
            rc = dks_buf_printf(&b, "%s[%zu,%zu]", j ? "," : "", h->highlights[j].start,
                                h->highlights[j].end);
        if (!rc)
            rc = dks_buf_putc(&b, ']');
        if (!rc && h->parts)
            rc = explain_json(&b, h);
        if (!rc)
            rc = dks_buf_putc(&b, '}');
    }
    if (!rc)
        rc = dks_buf_append_str(&b, "]}");
    if (rc) {
        dks_buf_free(&b);
        return rc;
    }
    *json = (char *)b.data;
    if (len)
        *len = b.len;
    return DKS_OK;
}
