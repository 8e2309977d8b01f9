/*
 * query.c - parses a query into a tree of TERM, PHRASE, AND, OR and NOT
 * nodes, analysing every word with the same chain as the documents.
 *
 * Grammar, loosest binding first:
 *
 *   query   := seq
 *   seq     := disj { disj }              implicit AND between words
 *   disj    := conj { "OR" conj }
 *   conj    := unary { "AND" unary }
 *   unary   := ( "-" | "NOT" ) unary | primary
 *   primary := WORD | WORD* | WORD~ | '"' words '"' | "(" seq ")"
 *
 * So `a b OR c` is a AND (b OR c), as in web search boxes, while explicit
 * operators keep the usual precedence: `a AND b OR c` is (a AND b) OR c.
 * A word that analysis splits into several terms ("offentlig-private",
 * "e-mail") becomes a phrase.  An unclosed quote runs to the end of the
 * query; unbalanced parentheses and dangling operators are errors whose
 * message points at the byte where the problem is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dks_int.h"

typedef enum {
    TOK_END, TOK_WORD, TOK_PHRASE, TOK_LPAREN, TOK_RPAREN, TOK_OR, TOK_AND, TOK_NOT
} tok_type;

typedef struct parser {
    dks_analyzer *an;
    const dks_vocabulary *vocab;
    unsigned flags;
    const char *q;
    size_t len, pos;
    tok_type tok;          /* current token */
    size_t tok_start, tok_len;  /* WORD/PHRASE text */
    long tok_slop;         /* PHRASE: N of "..."~N, -1 if none */
    long tok_offset;
    size_t n_terms;
    int depth;
    dks_error_detail *err;
    int rc;
} parser;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void next_token(parser *p)
{
    while (p->pos < p->len && is_space(p->q[p->pos]))
        p->pos++;
    p->tok_offset = (long)p->pos;
    if (p->pos >= p->len) {
        p->tok = TOK_END;
        return;
    }
    char c = p->q[p->pos];
    if (c == '(' || c == ')') {
        p->tok = c == '(' ? TOK_LPAREN : TOK_RPAREN;
        p->pos++;
        return;
    }
    if (c == '"') {
        size_t start = ++p->pos;
        while (p->pos < p->len && p->q[p->pos] != '"')
            p->pos++;
        p->tok = TOK_PHRASE;
        p->tok_start = start;
        p->tok_len = p->pos - start;
        p->tok_slop = -1;
        if (p->pos < p->len)
            p->pos++;  /* closing quote; an unclosed one runs to the end */
        /* "..."~N: the words within N more positions, in any order */
        if (p->pos + 1 < p->len && p->q[p->pos] == '~' && p->q[p->pos + 1] >= '0' &&
            p->q[p->pos + 1] <= '9') {
            long slop = 0;
            p->pos++;
            while (p->pos < p->len && p->q[p->pos] >= '0' && p->q[p->pos] <= '9') {
                if (slop <= DKS_MAX_SLOP)
                    slop = slop * 10 + (p->q[p->pos] - '0');
                p->pos++;
            }
            p->tok_slop = slop;
        }
        return;
    }
    if (c == '-' && p->pos + 1 < p->len && !is_space(p->q[p->pos + 1]) &&
        p->q[p->pos + 1] != ')') {
        p->tok = TOK_NOT;
        p->pos++;
        return;
    }
    size_t start = p->pos;
    while (p->pos < p->len && !is_space(p->q[p->pos]) && p->q[p->pos] != '"' &&
           p->q[p->pos] != '(' && p->q[p->pos] != ')')
        p->pos++;
    size_t n = p->pos - start;
    p->tok_start = start;
    p->tok_len = n;
    if (n == 2 && memcmp(p->q + start, "OR", 2) == 0)
        p->tok = TOK_OR;
    else if (n == 3 && memcmp(p->q + start, "AND", 3) == 0)
        p->tok = TOK_AND;
    else if (n == 3 && memcmp(p->q + start, "NOT", 3) == 0)
        p->tok = TOK_NOT;
    else
        p->tok = TOK_WORD;
}

/* Records the first error.  The message says where in characters, as a
 * person counts ("at character 5" in "ærø OR"); err->position keeps the
 * byte offset for programs. */
static int fail(parser *p, long offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(parser *p, long offset, const char *fmt, ...)
{
    if (p->rc)
        return p->rc;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (offset >= 0) {
        size_t before = (size_t)offset < p->len ? (size_t)offset : p->len;
        long character = 1 + (long)dks_utf8_chars(p->q, before);
        p->rc = dks_fail(p->err, DKS_EQUERY, offset, "%s (at character %ld)", msg, character);
    }
    else
        p->rc = dks_fail(p->err, DKS_EQUERY, offset, "%s", msg);
    return p->rc;
}

void dks_query_free(dks_qnode *n)
{
    if (!n)
        return;
    free(n->term);
    for (size_t i = 0; i < n->n_alts; i++)
        free(n->alts[i].key);
    free(n->alts);
    for (size_t i = 0; i < n->n_terms; i++)
        free(n->terms[i]);
    free(n->terms);
    free(n->term_lens);
    free(n->offsets);
    for (size_t i = 0; i < n->n_children; i++)
        dks_query_free(n->children[i]);
    free(n->children);
    free(n);
}

static dks_qnode *new_node(parser *p, dks_qnode_type type, long offset)
{
    dks_qnode *n = calloc(1, sizeof *n);
    if (!n)
        p->rc = p->rc ? p->rc : DKS_ENOMEM;
    else {
        n->type = type;
        n->source_offset = offset;
    }
    return n;
}

static int add_child(parser *p, dks_qnode *parent, dks_qnode *child)
{
    dks_qnode **c = realloc(parent->children, (parent->n_children + 1) * sizeof *c);
    if (!c) {
        dks_query_free(child);
        return p->rc = p->rc ? p->rc : DKS_ENOMEM;
    }
    parent->children = c;
    c[parent->n_children++] = child;
    return DKS_OK;
}

/* ---- analysing words and phrases ------------------------------------- */

/* How much a match through each kind of alternative counts, relative to
 * the word as typed: a whole word beats another spelling, which beats the
 * dictionary form, which beats the head of a compound, which beats a
 * first part (alliance: "alliance" > "velfærdsalliancer" > "alliancepartner"). */
#define W_EXACT 1.0
#define W_SPELLING 0.8
#define W_LEMMA 0.7
#define W_HEAD 0.6
#define W_PART 0.3
/* A word of the title counts once more (title weight 2, BM25F-style);
 * the search multiplies this by title weight - 1 (--weight title=N). */
#define W_TITLE 1.0
/* aa/ae/oe spellings tried per word (each spot can flip). */
#define MAX_SPELLING_SPOTS 4

typedef struct qterm {
    char *term;
    size_t len;
    uint32_t position;
    dks_term_kind kind;
    int is_stopword;
    size_t offset, surface_len;
} qterm;

typedef struct term_list {
    parser *p;
    qterm *t;
    size_t n, cap, words;
} term_list;

static void term_list_free(term_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->t[i].term);
    free(l->t);
}

static int collect(const dks_term *t, void *ctx)
{
    term_list *l = ctx;
    if (t->kind == DKS_TERM_WORD) {
        if (l->p->n_terms >= DKS_MAX_QUERY_TERMS)
            return DKS_ELIMIT;
        l->p->n_terms++;
        l->words++;
    }
    int rc = dks_grow(&l->t, l->n, &l->cap, sizeof *l->t, 8);
    if (rc)
        return rc;
    char *copy = malloc(t->term_len + 1);
    if (!copy)
        return DKS_ENOMEM;
    memcpy(copy, t->term, t->term_len);
    copy[t->term_len] = '\0';
    l->t[l->n++] = (qterm){copy, t->term_len, t->position, t->kind, t->is_stopword,
                           t->offset, t->surface_len};
    return DKS_OK;
}

/* Adds an alternative key (kind + term) to a TERM node, keeping the
 * highest weight when the key is already there. */
static int add_alt(parser *p, dks_qnode *n, dks_term_kind kind, const char *term, size_t len,
                   double weight)
{
    char key[DKS_MAX_KEY_TERM_BYTES + 1];
    size_t kl = dks_term_key(kind, term, len, key);
    if (kl == 0)
        return DKS_OK;
    for (size_t i = 0; i < n->n_alts; i++) {
        if (n->alts[i].key_len == kl && memcmp(n->alts[i].key, key, kl) == 0) {
            if (weight > n->alts[i].weight)
                n->alts[i].weight = weight;
            return DKS_OK;
        }
    }
    size_t cap = n->n_alts;
    int rc = dks_grow(&n->alts, n->n_alts, &cap, sizeof *n->alts, n->n_alts + 1);
    char *copy = rc ? NULL : malloc(kl);
    if (!copy)
        return p->rc = p->rc ? p->rc : DKS_ENOMEM;
    memcpy(copy, key, kl);
    n->alts[n->n_alts++] = (dks_qalt){copy, kl, weight};
    return DKS_OK;
}

/* Adds an alternative whose key is a byte and the term (a title word). */
static int add_key_alt(parser *p, dks_qnode *n, unsigned char kind, const char *term,
                       size_t len, double weight)
{
    if (len == 0 || len > DKS_MAX_KEY_TERM_BYTES)
        return DKS_OK;
    size_t cap = n->n_alts;
    int rc = dks_grow(&n->alts, n->n_alts, &cap, sizeof *n->alts, n->n_alts + 1);
    char *copy = rc ? NULL : malloc(len + 1);
    if (!copy)
        return p->rc = p->rc ? p->rc : DKS_ENOMEM;
    copy[0] = (char)kind;
    memcpy(copy + 1, term, len);
    n->alts[n->n_alts++] = (dks_qalt){copy, len + 1, weight};
    return DKS_OK;
}

/* aa/ae/oe typed for å/æ/ø, and the other way round: every combination of
 * flips whose term the index holds is added as another spelling (one it
 * does not hold would match nothing).  Without an index to ask, a flip
 * must give a word the lexicon knows, or a compound of known words.
 * Checking, not rewriting blindly, keeps Oehlenschlæger and Oens what
 * they are. */
static int add_spellings(parser *p, dks_qnode *n, const char *w, size_t len)
{
    static const char *const pairs[][2] = {{"aa", "\xC3\xA5"}, {"ae", "\xC3\xA6"},
                                           {"oe", "\xC3\xB8"}};
    size_t spot[MAX_SPELLING_SPOTS], spot_len[MAX_SPELLING_SPOTS];
    int spot_pair[MAX_SPELLING_SPOTS];
    size_t n_spots = 0;
    for (size_t i = 0; i + 1 < len && n_spots < MAX_SPELLING_SPOTS;) {
        size_t k;
        for (k = 0; k < 3; k++)
            if (memcmp(w + i, pairs[k][0], 2) == 0 || memcmp(w + i, pairs[k][1], 2) == 0)
                break;
        if (k == 3) {
            i++;
            continue;
        }
        spot[n_spots] = i;
        spot_len[n_spots] = 2;  /* "aa" and "å" are both two bytes */
        spot_pair[n_spots++] = (int)k;
        i += 2;
    }
    for (unsigned mask = 1; mask < (1u << n_spots); mask++) {
        char v[DKS_MAX_TOKEN_BYTES + 8];
        if (len > DKS_MAX_TOKEN_BYTES)
            return DKS_OK;
        memcpy(v, w, len);
        for (size_t s = 0; s < n_spots; s++) {
            if (!(mask & (1u << s)))
                continue;
            const char *const *pair = pairs[spot_pair[s]];
            const char *to = memcmp(w + spot[s], pair[0], 2) == 0 ? pair[1] : pair[0];
            memcpy(v + spot[s], to, spot_len[s]);
        }
        const char *stem;
        size_t sl;
        int rc = dks_analyzer_stem(p->an, v, len, &stem, &sl);
        if (rc)
            return rc;
        if (p->vocab ? !p->vocab->has(p->vocab->ctx, stem, sl)
                     : !dks_analyzer_known(p->an, v, len))
            continue;
        if ((rc = add_alt(p, n, DKS_TERM_WORD, stem, sl, W_SPELLING)))
            return rc;
    }
    return DKS_OK;
}

/* The alternatives of one query word: the word itself, and what the
 * index's analysis adds: other spellings, dictionary forms, compounds
 * that have the word as head or first part. */
static int add_alternatives(parser *p, dks_qnode *n, const term_list *l, const qterm *word)
{
    unsigned f = dks_analyzer_features(p->an);
    int rc = add_alt(p, n, DKS_TERM_WORD, word->term, word->len, W_EXACT);
    if (!rc)
        rc = add_key_alt(p, n, DKS_KEY_TITLE, word->term, word->len, W_TITLE);
    if (!rc && (f & DKS_ANALYSIS_COMPOUNDS)) {
        rc = add_alt(p, n, DKS_TERM_HEAD, word->term, word->len, W_HEAD);
        if (!rc)
            rc = add_alt(p, n, DKS_TERM_PART, word->term, word->len, W_PART);
    }
    if (!rc && (f & DKS_ANALYSIS_LEMMAS))
        rc = add_alt(p, n, DKS_TERM_LEMMA, word->term, word->len, W_LEMMA);
    if (!rc && (f & DKS_ANALYSIS_SPELLING))
        rc = add_alt(p, n, DKS_TERM_SPELLING, word->term, word->len, W_SPELLING);
    for (size_t i = 0; i < l->n && !rc; i++) {
        const qterm *t = &l->t[i];
        if (t->position != word->position)
            continue;
        if (t->kind == DKS_TERM_LEMMA) {
            rc = add_alt(p, n, DKS_TERM_WORD, t->term, t->len, W_LEMMA);
            if (!rc)
                rc = add_alt(p, n, DKS_TERM_LEMMA, t->term, t->len, W_LEMMA);
        } else if (t->kind == DKS_TERM_SPELLING) {
            rc = add_alt(p, n, DKS_TERM_WORD, t->term, t->len, W_SPELLING);
            if (!rc)
                rc = add_alt(p, n, DKS_TERM_SPELLING, t->term, t->len, W_SPELLING);
        }
    }
    if (!rc && (f & DKS_ANALYSIS_SPELLING)) {
        char norm[DKS_MAX_TERM_BYTES];
        size_t nl;
        if (dks_normalize((const unsigned char *)p->q + word->offset, word->surface_len, norm,
                          sizeof norm, &nl) == DKS_OK)
            rc = add_spellings(p, n, norm, nl);
    }
    return rc ? rc : p->rc;
}

/* A TERM node for one word; quoted words match only as written. */
static dks_qnode *word_node(parser *p, const term_list *l, const qterm *word, int quoted,
                            long at)
{
    dks_qnode *n = new_node(p, DKS_Q_TERM, at);
    if (!n)
        return NULL;
    n->term = malloc(word->len + 1);
    if (!n->term) {
        p->rc = p->rc ? p->rc : DKS_ENOMEM;
        dks_query_free(n);
        return NULL;
    }
    memcpy(n->term, word->term, word->len + 1);
    n->term_len = word->len;
    n->is_stopword = word->is_stopword && !quoted;
    int rc = quoted ? add_alt(p, n, DKS_TERM_WORD, word->term, word->len, W_EXACT)
                    : add_alternatives(p, n, l, word);
    if (rc) {
        dks_query_free(n);
        return NULL;
    }
    return n;
}

static dks_qnode *phrase_node(parser *p, const term_list *l, long at)
{
    dks_qnode *n = new_node(p, DKS_Q_PHRASE, at);
    if (!n)
        return NULL;
    n->terms = calloc(l->words, sizeof *n->terms);
    n->term_lens = calloc(l->words, sizeof *n->term_lens);
    n->offsets = calloc(l->words, sizeof *n->offsets);
    if (!n->terms || !n->term_lens || !n->offsets) {
        p->rc = p->rc ? p->rc : DKS_ENOMEM;
        dks_query_free(n);
        return NULL;
    }
    uint32_t first = 0;
    for (size_t i = 0; i < l->n; i++) {
        const qterm *t = &l->t[i];
        if (t->kind != DKS_TERM_WORD)
            continue;
        if (n->n_terms == 0)
            first = t->position;
        n->terms[n->n_terms] = strdup(t->term);
        if (!n->terms[n->n_terms]) {
            p->rc = p->rc ? p->rc : DKS_ENOMEM;
            dks_query_free(n);
            return NULL;
        }
        n->term_lens[n->n_terms] = t->len;
        n->offsets[n->n_terms++] = t->position - first;
    }
    return n;
}

/* Analyses text into a TERM, PHRASE or (for "offentlig-private" and
 * "L 146", whose joined form is a word too) OR node; NULL (without error)
 * when the text has no searchable word. */
static dks_qnode *analyse(parser *p, size_t start, size_t len, int quoted)
{
    term_list l = {.p = p};
    dks_qnode *n = NULL;
    int rc = dks_analyze(p->an, p->q + start, len, 0, collect, &l);
    if (rc == DKS_ELIMIT) {
        fail(p, (long)start, "query has more than %d words", DKS_MAX_QUERY_TERMS);
        goto done;
    }
    if (rc) {
        p->rc = p->rc ? p->rc : rc;
        goto done;
    }
    if (l.words == 0)
        goto done;
    /* Analysis ran over the word alone; offsets into the query. */
    for (size_t i = 0; i < l.n; i++)
        l.t[i].offset += start;
    if (l.words == 1) {
        for (size_t i = 0; i < l.n && !n; i++)
            if (l.t[i].kind == DKS_TERM_WORD)
                n = word_node(p, &l, &l.t[i], quoted, (long)start);
        if (n)
            n->source_len = len;
        goto done;
    }
    n = phrase_node(p, &l, (long)start);
    if (!n || quoted)
        goto done;
    for (size_t i = 0; i < l.n; i++) {
        const qterm *t = &l.t[i];
        if (t->kind != DKS_TERM_EXPANSION)
            continue;
        if (n->type != DKS_Q_OR) {
            dks_qnode *or = new_node(p, DKS_Q_OR, (long)start);
            if (!or) {
                dks_query_free(n);
                n = NULL;
                goto done;
            }
            if (add_child(p, or, n)) {  /* frees n */
                dks_query_free(or);
                n = NULL;
                goto done;
            }
            n = or;
        }
        qterm joined = *t;
        joined.kind = DKS_TERM_WORD;
        dks_qnode *alt = word_node(p, &l, &joined, 1, (long)start);
        if (!alt || add_child(p, n, alt)) {
            dks_query_free(n);
            n = NULL;
            goto done;
        }
    }
done:
    term_list_free(&l);
    return n;
}

/* telemed*: the written prefix, normalised like a word (lower case, NFC).
 * Terms are stems, and a stem is a prefix of its written forms, so the
 * prefix is matched against the term dictionary as it is; alts hold the
 * prefix's own stem when that is shorter. */
static dks_qnode *prefix_node(parser *p, size_t start, size_t len)
{
    char norm[DKS_MAX_TERM_BYTES];
    size_t n;
    dks_tokenizer t;
    dks_token tok;
    dks_tokenizer_init(&t, p->q + start, len);
    if (!dks_tokenizer_next(&t, &tok) || tok.offset != 0 || tok.len != len) {
        fail(p, (long)start, "'*' goes at the end of a word, as in telemed*");
        return NULL;
    }
    if (len > DKS_MAX_TOKEN_BYTES ||
        dks_normalize((const unsigned char *)p->q + start, len, norm, sizeof norm, &n) || n == 0) {
        fail(p, (long)start, "this prefix cannot be searched");
        return NULL;
    }
    if (p->n_terms >= DKS_MAX_QUERY_TERMS) {
        fail(p, (long)start, "query has more than %d words", DKS_MAX_QUERY_TERMS);
        return NULL;
    }
    p->n_terms++;
    dks_qnode *node = new_node(p, DKS_Q_PREFIX, (long)start);
    if (!node)
        return NULL;
    node->term = malloc(n + 1);
    if (!node->term) {
        dks_query_free(node);
        p->rc = p->rc ? p->rc : DKS_ENOMEM;
        return NULL;
    }
    memcpy(node->term, norm, n);
    node->term[n] = '\0';
    node->term_len = n;
    /* A stem can be shorter than the typed prefix (kommune* and the term
     * kommun of kommunen, kommunerne): the prefix's own stem matches too. */
    const char *stem;
    size_t sl;
    if (dks_analyzer_stem(p->an, norm, n, &stem, &sl) == DKS_OK &&
        (sl < n || memcmp(stem, norm, n) != 0) &&
        add_alt(p, node, DKS_TERM_WORD, stem, sl, W_EXACT)) {
        dks_query_free(node);
        return NULL;
    }
    return node;
}

/* name:value, where name is letters only (title:telemedicin, party:S,
 * party:"Radikale Venstre"). */
static int is_field_word(const char *w, size_t len)
{
    const char *colon = memchr(w, ':', len);
    if (!colon || colon == w)
        return 0;
    for (const char *c = w; c < colon; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_'))
            return 0;
    return 1;
}

/* title:word searches the title only; any other name:value keeps the
 * documents whose field has that value (scoring nothing). */
static dks_qnode *field_node(parser *p, size_t start, size_t len)
{
    const char *w = p->q + start, *colon = memchr(w, ':', len);
    size_t name_len = (size_t)(colon - w), value_start = start + name_len + 1,
           value_len = len - name_len - 1;
    if (value_len == 0 && p->tok == TOK_PHRASE && p->tok_start == start + len + 1) {
        /* party:"Radikale Venstre" */
        value_start = p->tok_start;
        value_len = p->tok_len;
        next_token(p);
    }
    if (value_len == 0) {
        fail(p, (long)start, "'%.*s:' needs a value after it", (int)name_len, w);
        return NULL;
    }
    if (name_len == 5 && strncasecmp(w, "title", 5) == 0) {
        dks_qnode *n = analyse(p, value_start, value_len, 0);
        if (!n || n->type != DKS_Q_TERM)
            return n;  /* several words: a title phrase is searched in the whole text */
        /* only the title's keys */
        for (size_t i = 0; i < n->n_alts; i++)
            free(n->alts[i].key);
        n->n_alts = 0;
        n->is_stopword = 0;
        if (add_key_alt(p, n, DKS_KEY_TITLE, n->term, n->term_len, 1.0)) {
            dks_query_free(n);
            return NULL;
        }
        return n;
    }
    if (p->n_terms >= DKS_MAX_QUERY_TERMS) {
        fail(p, (long)start, "query has more than %d words", DKS_MAX_QUERY_TERMS);
        return NULL;
    }
    p->n_terms++;
    dks_qnode *n = new_node(p, DKS_Q_FILTER, (long)start);
    if (!n)
        return NULL;
    n->alts = calloc(1, sizeof *n->alts);
    char key[DKS_MAX_KEY_TERM_BYTES + 2];
    size_t kl = dks_field_key(w, name_len, p->q + value_start, value_len, key);
    if (!n->alts || kl == 0 || !(n->alts[0].key = malloc(kl))) {
        dks_query_free(n);
        if (kl == 0)
            fail(p, (long)start, "the value of '%.*s' is too long", (int)name_len, w);
        else
            p->rc = p->rc ? p->rc : DKS_ENOMEM;
        return NULL;
    }
    memcpy(n->alts[0].key, key, kl);
    n->alts[0].key_len = kl;
    n->n_alts = 1;
    return n;
}

/* telemedecin~: the words within a few edits of the word's stem (the
 * number by its length, dks_fuzzy_max_edits).  The word itself is one of
 * the alternatives, so an exact match still ranks first. */
static dks_qnode *fuzzy_node(parser *p, size_t start, size_t len)
{
    dks_qnode *word = analyse(p, start, len, 0);
    if (!word || word->type != DKS_Q_TERM) {
        if (!p->rc && word)
            fail(p, (long)start, "'~' goes at the end of a single word, as in telemedecin~");
        else if (!p->rc)
            fail(p, (long)start, "'~' needs a word before it, as in telemedecin~");
        dks_query_free(word);
        return NULL;
    }
    word->type = DKS_Q_FUZZY;
    word->is_stopword = 0;
    word->max_edits = dks_fuzzy_max_edits(p->q + start, len);
    return word;
}

/* A word being typed matches as the word and as a prefix of written
 * forms, so results do not vanish while it grows ("velfærdsal",
 * "velfærdsalli" ...).  A prefix that is no word's stays just the word. */
static dks_qnode *typed_node(parser *p, size_t start, size_t len)
{
    dks_qnode *word = analyse(p, start, len, 0);
    if (p->rc)
        return NULL;
    dks_tokenizer t;
    dks_token tok;
    dks_tokenizer_init(&t, p->q + start, len);
    if (len > DKS_MAX_TOKEN_BYTES || !dks_tokenizer_next(&t, &tok) || tok.offset != 0 ||
        tok.len != len)
        return word;  /* "e-mai", or too long: no prefix */
    if (word)
        p->n_terms--;  /* one word, counted once against the limit */
    dks_qnode *prefix = prefix_node(p, start, len);
    if (!prefix) {
        dks_query_free(word);
        return NULL;
    }
    if (!word)
        return prefix;
    dks_qnode *or = new_node(p, DKS_Q_OR, (long)start);
    if (!or) {
        dks_query_free(word);
        dks_query_free(prefix);
        return NULL;
    }
    if (add_child(p, or, word)) {  /* add_child frees the child it could not add */
        dks_query_free(prefix);
        dks_query_free(or);
        return NULL;
    }
    if (add_child(p, or, prefix)) {
        dks_query_free(or);
        return NULL;
    }
    return or;
}

/* ---- recursive descent ------------------------------------------------ */

static dks_qnode *parse_seq(parser *p);

static const char *token_name(tok_type t)
{
    switch (t) {
    case TOK_OR: return "OR";
    case TOK_AND: return "AND";
    case TOK_NOT: return "NOT";
    case TOK_RPAREN: return ")";
    default: return "?";
    }
}

static dks_qnode *parse_primary(parser *p)
{
    long at = p->tok_offset;
    switch (p->tok) {
    case TOK_WORD:
    case TOK_PHRASE: {
        int quoted = p->tok == TOK_PHRASE;
        size_t start = p->tok_start, len = p->tok_len;
        long slop = quoted ? p->tok_slop : -1;
        next_token(p);
        if (slop > DKS_MAX_SLOP) {
            fail(p, (long)start, "a phrase allows at most %d positions between its words",
                 DKS_MAX_SLOP);
            return NULL;
        }
        if (slop > 0) {
            dks_qnode *n = analyse(p, start, len, 1);
            if (n && n->type == DKS_Q_PHRASE)
                n->slop = (unsigned)slop;
            return n;
        }
        if (!quoted && is_field_word(p->q + start, len))
            return field_node(p, start, len);
        if (!quoted && len > 1 && p->q[start + len - 1] == '*')
            return prefix_node(p, start, len - 1);
        if (!quoted && len > 1 && p->q[start + len - 1] == '~')
            return fuzzy_node(p, start, len - 1);
        /* Typing: the query's last word, not yet followed by a space. */
        if (!quoted && (p->flags & DKS_QUERY_AS_YOU_TYPE) && p->tok == TOK_END &&
            start + len == p->len)
            return typed_node(p, start, len);
        return analyse(p, start, len, quoted);
    }
    case TOK_LPAREN: {
        if (++p->depth > DKS_MAX_QUERY_DEPTH) {
            fail(p, at, "parentheses nested too deeply");
            return NULL;
        }
        next_token(p);
        dks_qnode *n = parse_seq(p);
        if (p->rc) {
            dks_query_free(n);
            return NULL;
        }
        if (p->tok != TOK_RPAREN) {
            dks_query_free(n);
            fail(p, at, "'(' is never closed");
            return NULL;
        }
        p->depth--;
        next_token(p);
        return n;
    }
    case TOK_END:
        fail(p, at, "query ends where a word was expected");
        return NULL;
    default:
        fail(p, at, "'%s' needs a word before and after it",
             token_name(p->tok));
        return NULL;
    }
}

static dks_qnode *parse_unary(parser *p)
{
    if (p->tok != TOK_NOT)
        return parse_primary(p);
    long at = p->tok_offset;
    next_token(p);
    if (p->tok == TOK_END || p->tok == TOK_RPAREN || p->tok == TOK_OR || p->tok == TOK_AND) {
        fail(p, at, "'-' or NOT needs a word after it");
        return NULL;
    }
    dks_qnode *child = parse_unary(p);
    if (!child || p->rc) {
        dks_query_free(child);
        return NULL;
    }
    if (child->type == DKS_Q_NOT) {  /* a double negation cancels */
        dks_qnode *inner = child->children[0];
        child->n_children = 0;
        dks_query_free(child);
        return inner;
    }
    dks_qnode *n = new_node(p, DKS_Q_NOT, at);
    if (!n || add_child(p, n, child)) {
        dks_query_free(n);
        return NULL;
    }
    return n;
}

/* Parses `sub (op sub)*` into one node of `type`, dropping empty operands. */
static dks_qnode *parse_chain(parser *p, tok_type op, dks_qnode_type type,
                              dks_qnode *(*sub)(parser *))
{
    long at = p->tok_offset;
    dks_qnode *n = new_node(p, type, at);
    if (!n)
        return NULL;
    dks_qnode *first = sub(p);
    if (first && add_child(p, n, first))
        goto fail;
    while (!p->rc && p->tok == op) {
        long op_at = p->tok_offset;
        next_token(p);
        if (p->tok == TOK_END || p->tok == TOK_RPAREN || p->tok == TOK_OR || p->tok == TOK_AND) {
            fail(p, op_at, "'%s' needs a word before and after it",
                 token_name(op));
            break;
        }
        dks_qnode *c = sub(p);
        if (c && add_child(p, n, c))
            goto fail;
    }
    if (p->rc)
        goto fail;
    if (n->n_children <= 1) {
        dks_qnode *only = n->n_children ? n->children[0] : NULL;
        n->n_children = 0;
        dks_query_free(n);
        return only;
    }
    return n;
fail:
    dks_query_free(n);
    return NULL;
}

static dks_qnode *parse_conj(parser *p)
{
    return parse_chain(p, TOK_AND, DKS_Q_AND, parse_unary);
}

static dks_qnode *parse_disj(parser *p)
{
    return parse_chain(p, TOK_OR, DKS_Q_OR, parse_conj);
}

static dks_qnode *parse_seq(parser *p)
{
    dks_qnode *n = new_node(p, DKS_Q_AND, p->tok_offset);
    if (!n)
        return NULL;
    while (!p->rc && p->tok != TOK_END && p->tok != TOK_RPAREN) {
        if (p->tok == TOK_OR || p->tok == TOK_AND) {
            fail(p, p->tok_offset,
                 "'%s' needs a word before and after it", token_name(p->tok));
            break;
        }
        dks_qnode *c = parse_disj(p);
        if (c && add_child(p, n, c))
            break;
    }
    if (p->rc || n->n_children == 0) {
        dks_query_free(n);
        return NULL;
    }
    if (n->n_children == 1) {
        dks_qnode *only = n->children[0];
        n->n_children = 0;
        dks_query_free(n);
        return only;
    }
    return n;
}

/* NOT may only stand beside at least one positive operand of an AND. */
static int check_negations(parser *p, const dks_qnode *n, const dks_qnode *parent)
{
    if (n->type == DKS_Q_NOT && (!parent || parent->type != DKS_Q_AND))
        return fail(p, n->source_offset, "%s",
                    parent ? "cannot exclude a word inside OR"
                           : "query only excludes words; add a word to search for");
    if (n->type == DKS_Q_AND) {
        size_t positive = 0;
        for (size_t i = 0; i < n->n_children; i++)
            positive += n->children[i]->type != DKS_Q_NOT;
        if (!positive)
            return fail(p, n->source_offset,
                        "query only excludes words; add a word to search for");
    }
    for (size_t i = 0; i < n->n_children; i++)
        if (check_negations(p, n->children[i], n))
            return p->rc;
    return DKS_OK;
}

int dks_query_parse(dks_analyzer *an, const dks_vocabulary *vocab, unsigned flags,
                    const char *q, size_t len, dks_qnode **out, dks_error_detail *err)
{
    *out = NULL;
    if (len > DKS_MAX_QUERY_BYTES)
        return dks_fail(err, DKS_EQUERY, DKS_MAX_QUERY_BYTES,
                        "query is longer than %d bytes", DKS_MAX_QUERY_BYTES);
    if (memchr(q, '\0', len))
        return dks_fail(err, DKS_EQUERY, (long)((const char *)memchr(q, '\0', len) - q),
                        "query contains a NUL byte");
    parser p = {.an = an, .vocab = vocab, .flags = flags, .q = q, .len = len, .err = err};
    next_token(&p);
    dks_qnode *root = parse_seq(&p);
    if (!p.rc && p.tok == TOK_RPAREN)
        fail(&p, p.tok_offset, "')' has no matching '('");
    if (!p.rc && !root)
        fail(&p, -1, "query has no words to search for");
    if (!p.rc)
        check_negations(&p, root, NULL);
    if (p.rc) {
        dks_query_free(root);
        return p.rc;
    }
    *out = root;
    return DKS_OK;
}

/* ---- filters ------------------------------------------------------------ */

int dks_query_add_filter(dks_qnode **root, const char *expr, dks_error_detail *err)
{
    static const char *const ops[] = {">=", "<=", "=", ">", "<"};
    const char *op = NULL;
    size_t op_len = 0;
    for (const char *c = expr; *c && !op; c++)
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (strncmp(c, ops[i], strlen(ops[i])) == 0) {
                op = c;
                op_len = strlen(ops[i]);
                break;
            }
    if (!op || op == expr || !op[op_len])
        return dks_fail(err, DKS_EQUERY, -1, "filter '%s' is not NAME=VALUE, NAME>=VALUE, "
                        "NAME<=VALUE, NAME>VALUE or NAME<VALUE", expr);
    size_t name_len = (size_t)(op - expr);
    const char *value = op + op_len;
    char key[DKS_MAX_KEY_TERM_BYTES + 2], prefix[DKS_MAX_KEY_TERM_BYTES + 2];
    size_t kl = dks_field_key(expr, name_len, value, strlen(value), key);
    size_t pl = dks_field_key(expr, name_len, "", 0, prefix);
    if (!kl || !pl)
        return dks_fail(err, DKS_EQUERY, -1, "filter '%s' is too long", expr);
    dks_qnode *f = calloc(1, sizeof *f);
    if (!f)
        return DKS_ENOMEM;
    f->source_offset = -1;
    int rc = DKS_OK;
    if (op_len == 1 && op[0] == '=') {
        f->type = DKS_Q_FILTER;
        f->alts = calloc(1, sizeof *f->alts);
        if (f->alts && (f->alts[0].key = malloc(kl))) {
            memcpy(f->alts[0].key, key, kl);
            f->alts[0].key_len = kl;
            f->n_alts = 1;
        } else {
            rc = DKS_ENOMEM;
        }
    } else {
        /* alts[0] is the low bound, alts[1] the high; an exclusive bound has
         * weight -1; an open end is the bare prefix */
        int low = op[0] == '>';
        f->type = DKS_Q_RANGE;
        f->alts = calloc(2, sizeof *f->alts);
        f->term = malloc(pl);
        if (f->alts && f->term && (f->alts[0].key = malloc(kl)) && (f->alts[1].key = malloc(kl))) {
            memcpy(f->term, prefix, pl);
            f->term_len = pl;
            f->n_alts = 2;
            dks_qalt *bound = &f->alts[low ? 0 : 1], *open = &f->alts[low ? 1 : 0];
            memcpy(bound->key, key, kl);
            bound->key_len = kl;
            bound->weight = op_len == 1 ? -1.0 : 1.0;
            memcpy(open->key, prefix, pl);
            open->key_len = pl;
            open->weight = 1.0;
        } else {
            f->n_alts = f->alts ? 2 : 0;
            rc = DKS_ENOMEM;
        }
    }
    dks_qnode *and = rc ? NULL : calloc(1, sizeof *and);
    dks_qnode **kids = and ? calloc(2, sizeof *kids) : NULL;
    if (!kids) {
        free(and);
        dks_query_free(f);
        return DKS_ENOMEM;
    }
    and->type = DKS_Q_AND;
    and->source_offset = -1;
    and->children = kids;
    kids[0] = *root;
    kids[1] = f;
    and->n_children = 2;
    *root = and;
    return DKS_OK;
}

/* ---- stop words ------------------------------------------------------- */

static size_t count_content(const dks_qnode *n)
{
    if (n->type == DKS_Q_TERM)
        return !n->is_stopword;
    if (n->type == DKS_Q_PHRASE || n->type == DKS_Q_PREFIX || n->type == DKS_Q_FUZZY)
        return 1;
    if (n->type == DKS_Q_NOT)
        return 0;
    size_t c = 0;
    for (size_t i = 0; i < n->n_children; i++)
        c += count_content(n->children[i]);
    return c;
}

/* Would n still have a positive operand without its stop words? */
static int has_content(const dks_qnode *n)
{
    return count_content(n) > 0;
}

/* Removes stop-word terms below n; returns the node to keep (NULL: none).
 * An AND whose only positive operands are stop words keeps them when it
 * also excludes something, so "(og -kat) hus" still excludes kat. */
static dks_qnode *strip_stopwords(dks_qnode *n)
{
    if (n->type == DKS_Q_TERM && n->is_stopword) {
        dks_query_free(n);
        return NULL;
    }
    if (n->type != DKS_Q_AND && n->type != DKS_Q_OR)
        return n;
    if (n->type == DKS_Q_AND && !has_content(n)) {
        for (size_t i = 0; i < n->n_children; i++)
            if (n->children[i]->type == DKS_Q_NOT)
                return n;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n->n_children; i++) {
        dks_qnode *c = strip_stopwords(n->children[i]);
        if (c)
            n->children[kept++] = c;
    }
    n->n_children = kept;
    size_t positive = 0;
    for (size_t i = 0; i < kept; i++)
        positive += n->children[i]->type != DKS_Q_NOT;
    if (positive == 0) {
        dks_query_free(n);
        return NULL;
    }
    if (kept == 1) {
        dks_qnode *only = n->children[0];
        n->n_children = 0;
        dks_query_free(n);
        return only;
    }
    return n;
}

void dks_query_drop_stopwords(dks_qnode **root)
{
    if (*root && count_content(*root) > 0)
        *root = strip_stopwords(*root);
}
