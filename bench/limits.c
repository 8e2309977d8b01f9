/*
 * limits - what the hardware allows an indexer, for the benchmark's rows
 * "tokenise only" and "cached stemming".
 *
 *   limits CORPUS.jsonl
 *
 * Reads every document into memory first (JSON parsing is not timed),
 * then times two loops over all titles and bodies:
 *   tokenise    dksearch's tokeniser, every token touched and nothing else;
 *   stem-cached the tokeniser, NFC and case folding of every token, and its
 *               Snowball stem from a hash table filled on first sight: the
 *               least any indexer with Danish stemming must do.
 * Prints one JSON object: MiB of the corpus file per second for each.
 */
#include <jansson.h>
#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dks_int.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct texts {
    char **text;
    size_t *len;
    size_t n, cap;
} texts;

static int add_text(texts *t, const char *s)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        char **a = realloc(t->text, t->cap * sizeof *a);
        size_t *b = realloc(t->len, t->cap * sizeof *b);
        if (!a || !b)
            return -1;
        t->text = a;
        t->len = b;
    }
    t->len[t->n] = strlen(s);
    if (!(t->text[t->n] = strdup(s)))
        return -1;
    t->n++;
    return 0;
}

/* The stem cache: open addressing on the folded word. */
typedef struct entry {
    char *word, *stem;
    size_t word_len;
} entry;

typedef struct cache {
    entry *slots;
    size_t n, cap;
    struct sb_stemmer *stemmer;
} cache;

static int grow(cache *c)
{
    size_t cap = c->cap ? c->cap * 2 : 1 << 16;
    entry *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i].word)
            continue;
        size_t s = dks_hash_bytes(c->slots[i].word, c->slots[i].word_len) & (cap - 1);
        while (slots[s].word)
            s = (s + 1) & (cap - 1);
        slots[s] = c->slots[i];
    }
    free(c->slots);
    c->slots = slots;
    c->cap = cap;
    return 0;
}

static const char *stem(cache *c, const char *word, size_t len)
{
    if (2 * (c->n + 1) > c->cap && grow(c))
        return NULL;
    size_t s = dks_hash_bytes(word, len) & (c->cap - 1);
    while (c->slots[s].word) {
        if (c->slots[s].word_len == len && memcmp(c->slots[s].word, word, len) == 0)
            return c->slots[s].stem;
        s = (s + 1) & (c->cap - 1);
    }
    const sb_symbol *st = sb_stemmer_stem(c->stemmer, (const sb_symbol *)word, (int)len);
    if (!st)
        return NULL;
    c->slots[s].word = strndup(word, len);
    c->slots[s].stem = strdup((const char *)st);
    c->slots[s].word_len = len;
    c->n++;
    return c->slots[s].stem;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: limits CORPUS.jsonl\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    struct stat st;
    if (!in || stat(argv[1], &st) != 0) {
        perror(argv[1]);
        return 2;
    }
    texts t = {0};
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, in) > 0) {
        json_t *doc = json_loads(line, 0, NULL);
        if (!doc)
            continue;
        const char *fields[] = {"title", "body"};
        for (int i = 0; i < 2; i++) {
            const char *s = json_string_value(json_object_get(doc, fields[i]));
            if (s && add_text(&t, s)) {
                fprintf(stderr, "limits: out of memory\n");
                return 2;
            }
        }
        json_decref(doc);
    }
    free(line);
    fclose(in);
    double mib = st.st_size / 1048576.0;

    /* tokenise only: the sum of token lengths keeps the loop honest */
    double started = now();
    size_t bytes = 0;
    for (size_t i = 0; i < t.n; i++) {
        dks_tokenizer tk;
        dks_token tok;
        dks_tokenizer_init(&tk, t.text[i], t.len[i]);
        while (dks_tokenizer_next(&tk, &tok))
            bytes += tok.len;
    }
    double tokenise = now() - started;

    cache c = {.stemmer = sb_stemmer_new("danish", "UTF_8")};
    if (!c.stemmer) {
        fprintf(stderr, "limits: no Danish stemmer\n");
        return 2;
    }
    char folded[DKS_MAX_TOKEN_BYTES * 4];
    size_t stems = 0;
    started = now();
    for (size_t i = 0; i < t.n; i++) {
        dks_tokenizer tk;
        dks_token tok;
        dks_tokenizer_init(&tk, t.text[i], t.len[i]);
        while (dks_tokenizer_next(&tk, &tok)) {
            size_t n;
            if (tok.len > DKS_MAX_TOKEN_BYTES ||
                dks_normalize((const unsigned char *)t.text[i] + tok.offset, tok.len, folded,
                              sizeof folded, &n) != 0)
                continue;
            const char *s = stem(&c, folded, n);
            stems += s ? strlen(s) : 0;
        }
    }
    double stemming = now() - started;
    printf("{\"tokenise_mib_s\": %.1f, \"stem_cached_mib_s\": %.1f, \"token_bytes\": %zu, "
           "\"stem_bytes\": %zu, \"distinct_words\": %zu}\n",
           mib / tokenise, mib / stemming, bytes, stems, c.n);
    sb_stemmer_delete(c.stemmer);
    for (size_t i = 0; i < c.cap; i++) {
        free(c.slots[i].word);
        free(c.slots[i].stem);
    }
    free(c.slots);
    for (size_t i = 0; i < t.n; i++)
        free(t.text[i]);
    free(t.text);
    free(t.len);
    return 0;
}
