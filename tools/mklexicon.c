/*
 * mklexicon - builds the Danish lexicon that the analyzer links in.
 *
 *   mklexicon WORDLIST AFF DIC EXCEPTIONS OUT
 *
 * WORDLIST is Debian's Danish word list (wdanish, /usr/share/dict/danish),
 * AFF/DIC the Danish Hunspell dictionary (hunspell-da).  For every word of
 * the list that is a single token, the lexicon records its lemmas as
 * Hunspell's analysis gives them (sagde -> sige, regler -> regel) and, for
 * words Hunspell reads as compounds, the length of the compound's last
 * part in each reading (velfærdsalliancer -> alliancer), and whether the
 * list has the word only with a capital (a name).  Asking Hunspell once at build time
 * keeps it out of every query.  The format is described in src/lexicon.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hunspell/hunspell.h>

#include "dks_int.h"

typedef struct entry {
    char *word;             /* normalised: lower case, NFC */
    size_t len;
    char *lemmas[8];
    size_t n_lemmas;
    size_t heads[4];        /* bytes of the compound's last part, per reading */
    size_t n_heads;
    int self;               /* the word is a lemma itself */
    int name;               /* the list has it only with a capital (a name) */
} entry;

static int normalize(const char *in, char *out, size_t cap, size_t *len)
{
    return dks_normalize((const unsigned char *)in, strlen(in), out, cap, len);
}

/* One token of letters and digits only: multi-word and hyphenated entries
 * of the list are never looked up. */
static int is_single_word(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        int32_t cp;
        i += dks_utf8_decode((const unsigned char *)s + i, len - i, &cp);
        enum dks_char_class c = cp < 0 ? DKS_CHAR_OTHER : dks_char_class_of(cp);
        if (c != DKS_CHAR_WORD && c != DKS_CHAR_MARK)
            return 0;
    }
    return len > 0;
}

static void add_lemma(entry *e, const char *lemma)
{
    char norm[DKS_MAX_TERM_BYTES];
    size_t n;
    if (normalize(lemma, norm, sizeof norm, &n) || !is_single_word(norm, n))
        return;
    if (n == e->len && memcmp(norm, e->word, n) == 0) {
        e->self = 1;
        return;
    }
    for (size_t i = 0; i < e->n_lemmas; i++)
        if (strlen(e->lemmas[i]) == n && memcmp(e->lemmas[i], norm, n) == 0)
            return;
    if (e->n_lemmas < 8)
        e->lemmas[e->n_lemmas++] = strndup(norm, n);
}

/* Records a reading's head length once; the analyzer chooses among them. */
static void add_head(entry *e, size_t len)
{
    for (size_t i = 0; i < e->n_heads; i++)
        if (e->heads[i] == len)
            return;
    if (e->n_heads < 4)
        e->heads[e->n_heads++] = len;
}

/* Copies the value of the last `field` ("st:", "pa:") of a Hunspell
 * analysis into out; 0 if there is none. */
static int field(const char *analysis, const char *name, char *out, size_t cap)
{
    const char *p = analysis, *last = NULL;
    while ((p = strstr(p, name))) {
        last = p + strlen(name);
        p = last;
    }
    if (!last)
        return 0;
    size_t n = strcspn(last, " \t");
    if (n == 0 || n >= cap)
        return 0;
    memcpy(out, last, n);
    out[n] = '\0';
    return 1;
}

/* A Hunspell analysis gives the lemma ("st:") of the word, or for a
 * compound the lemma of its last part ("pa:"), in which case the word's
 * own lemma is its first parts followed by that lemma:
 * velfærdsalliancer, pa:alliancer, st:alliance -> velfærdsalliance. */
static void add_analysis(entry *e, const char *analysis)
{
    char stem[DKS_MAX_TOKEN_BYTES], part[DKS_MAX_TOKEN_BYTES], norm[DKS_MAX_TERM_BYTES];
    if (!field(analysis, " st:", stem, sizeof stem) && !field(analysis, "st:", stem, sizeof stem))
        return;
    if (!field(analysis, "pa:", part, sizeof part)) {
        add_lemma(e, stem);
        return;
    }
    size_t nl;
    if (dks_normalize((const unsigned char *)part, strlen(part), norm, sizeof norm, &nl))
        return;
    if (nl >= e->len || nl > 255 || memcmp(e->word + e->len - nl, norm, nl) != 0)
        return;
    add_head(e, nl);
    char whole[2 * DKS_MAX_TOKEN_BYTES];
    snprintf(whole, sizeof whole, "%.*s%s", (int)(e->len - nl), e->word, stem);
    add_lemma(e, whole);
}

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->word, y->word, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* FNV-1a, the hash src/lexicon.c probes with. */
static uint32_t lexicon_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void put32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    fwrite(b, 1, 4, f);
}

/* Appends an entry for a word-list line, normalised: 1 and *out, 0 when
 * the line is no single word, -1 out of memory (the array is released). */
static int add_entry(entry **entries, size_t *n, size_t *cap, const char *line, entry **out)
{
    char norm[DKS_MAX_TERM_BYTES];
    size_t len;
    if (normalize(line, norm, sizeof norm, &len) || !is_single_word(norm, len))
        return 0;
    if (*n == *cap) {
        entry *grown = realloc(*entries, (*cap *= 2) * sizeof *grown);
        if (!grown) {
            free(*entries);
            *entries = NULL;
            return -1;
        }
        *entries = grown;
    }
    entry *e = &(*entries)[(*n)++];
    memset(e, 0, sizeof *e);
    e->word = strndup(norm, len);
    e->len = len;
    *out = e;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: mklexicon WORDLIST AFF DIC EXCEPTIONS OUT\n");
        return 2;
    }
    FILE *list = fopen(argv[1], "r");
    if (!list) {
        perror(argv[1]);
        return 1;
    }
    Hunhandle *h = Hunspell_create(argv[2], argv[3]);
    if (!h) {
        fprintf(stderr, "mklexicon: cannot load %s\n", argv[3]);
        return 1;
    }
    size_t n = 0, cap = 1 << 19;
    entry *entries = calloc(cap, sizeof *entries);
    char line[1024];
    while (entries && fgets(line, sizeof line, list)) {
        line[strcspn(line, "\r\n")] = '\0';
        /* Forms with an apostrophe are letters' plurals and genitives of
         * abbreviations (r'erne, A's): without it they would pose as words
         * (rerne) and as compound parts. */
        if (strchr(line, '\''))
            continue;
        entry *e;
        int rc = add_entry(&entries, &n, &cap, line, &e);
        if (rc < 0)
            break;
        if (rc == 0)
            continue;
        e->name = line[0] >= 'A' && line[0] <= 'Z';
        if ((unsigned char)line[0] == 0xC3)  /* Æ Ø Å and other Latin-1 capitals */
            e->name = (unsigned char)line[1] >= 0x80 && (unsigned char)line[1] <= 0x9E;
        char **out;
        int k = Hunspell_analyze(h, &out, line);
        for (int i = 0; i < k; i++)
            add_analysis(e, out[i]);
        Hunspell_free_list(h, &out, k);
    }
    fclose(list);
    Hunspell_destroy(h);

    FILE *exc = fopen(argv[4], "r");
    if (!exc) {
        perror(argv[4]);
        return 1;
    }
    while (entries && fgets(line, sizeof line, exc)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (line[0] == '#' || !tab)
            continue;
        *tab = '\0';
        entry *e;
        int rc = add_entry(&entries, &n, &cap, line, &e);
        if (rc < 0)
            break;
        if (rc > 0)
            add_lemma(e, tab + 1);
    }
    fclose(exc);
    if (!entries) {
        fprintf(stderr, "mklexicon: out of memory\n");
        return 1;
    }
    qsort(entries, n, sizeof *entries, cmp_entry);

    /* Merge entries that normalise alike ("Ide", "ide"). */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && cmp_entry(&entries[m - 1], &entries[i]) == 0) {
            entry *into = &entries[m - 1];
            for (size_t j = 0; j < entries[i].n_lemmas; j++)
                add_lemma(into, entries[i].lemmas[j]);
            for (size_t j = 0; j < entries[i].n_heads; j++)
                add_head(into, entries[i].heads[j]);
            into->self |= entries[i].self;
            into->name &= entries[i].name;
            continue;
        }
        entries[m++] = entries[i];
    }

    FILE *out = fopen(argv[5], "wb");
    if (!out) {
        perror(argv[5]);
        return 1;
    }
    uint32_t pool = 0;
    for (size_t i = 0; i < m; i++) {
        pool += (uint32_t)entries[i].len + 4 + (uint32_t)entries[i].n_heads;
        for (size_t j = 0; j < entries[i].n_lemmas; j++)
            pool += (uint32_t)strlen(entries[i].lemmas[j]) + 1;
    }
    fwrite("DKSL", 1, 4, out);
    put32(out, 4);
    put32(out, (uint32_t)m);
    put32(out, pool);
    uint32_t at = 0;
    for (size_t i = 0; i < m; i++) {
        put32(out, at);
        at += (uint32_t)entries[i].len + 4 + (uint32_t)entries[i].n_heads;
        for (size_t j = 0; j < entries[i].n_lemmas; j++)
            at += (uint32_t)strlen(entries[i].lemmas[j]) + 1;
    }
    for (size_t i = 0; i < m; i++) {
        const entry *e = &entries[i];
        fwrite(e->word, 1, e->len, out);
        fputc(0, out);
        fputc(e->name ? 1 : 0, out);
        fputc((int)e->n_heads, out);
        for (size_t j = 0; j < e->n_heads; j++)
            fputc((int)e->heads[j], out);
        fputc((int)e->n_lemmas | (e->self ? 0x80 : 0), out);
        for (size_t j = 0; j < e->n_lemmas; j++)
            fwrite(e->lemmas[j], 1, strlen(e->lemmas[j]) + 1, out);
    }
    /* Hash index for exact lookups: table size, then slots of two words,
     * entry offset + 1 (0: empty) and the word's full FNV-1a hash, open
     * addressing.  Most lookups are of words not in the lexicon (the
     * compound splitter tries every cut); with the hash beside the offset a
     * probe compares words only when the hashes agree, and a probe sequence
     * stays within a cache line or two instead of touching the pool at
     * every step. */
    uint32_t slots = 1;
    while (slots < m + m / 2)
        slots <<= 1;
    uint32_t *table = calloc((size_t)slots * 2, sizeof *table);
    if (!table) {
        fprintf(stderr, "mklexicon: out of memory\n");
        return 1;
    }
    at = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t hash = lexicon_hash(entries[i].word, entries[i].len);
        uint32_t slot = hash & (slots - 1);
        while (table[2 * slot])
            slot = (slot + 1) & (slots - 1);
        table[2 * slot] = at + 1;
        table[2 * slot + 1] = hash;
        at += (uint32_t)entries[i].len + 4 + (uint32_t)entries[i].n_heads;
        for (size_t j = 0; j < entries[i].n_lemmas; j++)
            at += (uint32_t)strlen(entries[i].lemmas[j]) + 1;
    }
    put32(out, slots);
    for (size_t i = 0; i < (size_t)slots * 2; i++)
        put32(out, table[i]);
    free(table);
    if (fclose(out) != 0) {
        perror(argv[5]);
        return 1;
    }
    fprintf(stderr, "mklexicon: %zu words\n", m);
    return 0;
}
