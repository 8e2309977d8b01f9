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
 *   primary := WORD | '"' words '"' | "(" seq ")"
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

#include "dks_int.h"

typedef enum {
    TOK_END, TOK_WORD, TOK_PHRASE, TOK_LPAREN, TOK_RPAREN, TOK_OR, TOK_AND, TOK_NOT
} tok_type;

typedef struct parser {
    dks_analyzer *an;
    const char *q;
    size_t len, pos;
    tok_type tok;          /* current token */
    size_t tok_start, tok_len;  /* WORD/PHRASE text */
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
        if (p->pos < p->len)
            p->pos++;  /* closing quote; an unclosed one runs to the end */
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
        long character = 1;
        for (long i = 0; i < offset && (size_t)i < p->len; i++)
            character += ((unsigned char)p->q[i] & 0xC0) != 0x80;
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

typedef struct term_list {
    parser *p;
    char **terms;
    size_t *lens;
    uint32_t *positions;
    int all_stop;
    size_t n, terms_cap, lens_cap, positions_cap;
} term_list;

static int collect(const dks_term *t, void *ctx)
{
    term_list *l = ctx;
    if (l->p->n_terms >= DKS_MAX_QUERY_TERMS)
        return DKS_ELIMIT;
    int rc;
    if ((rc = dks_grow(&l->terms, l->n, &l->terms_cap, sizeof *l->terms, 4)) ||
        (rc = dks_grow(&l->lens, l->n, &l->lens_cap, sizeof *l->lens, 4)) ||
        (rc = dks_grow(&l->positions, l->n, &l->positions_cap, sizeof *l->positions, 4)))
        return rc;
    char *copy = malloc(t->term_len + 1);
    if (!copy)
        return DKS_ENOMEM;
    memcpy(copy, t->term, t->term_len);
    copy[t->term_len] = '\0';
    l->terms[l->n] = copy;
    l->lens[l->n] = t->term_len;
    l->positions[l->n] = t->position;
    l->n++;
    l->p->n_terms++;
    if (!t->is_stopword)
        l->all_stop = 0;
    return DKS_OK;
}

/* Analyses text into a TERM or PHRASE node; NULL (without error) when the
 * text has no searchable word. */
static dks_qnode *analyse(parser *p, size_t start, size_t len, int quoted)
{
    term_list l = {.p = p, .all_stop = 1};
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
    if (l.n == 0)
        goto done;
    n = new_node(p, l.n == 1 ? DKS_Q_TERM : DKS_Q_PHRASE, (long)start);
    if (!n)
        goto done;
    if (l.n == 1) {
        n->term = l.terms[0];
        n->term_len = l.lens[0];
        n->is_stopword = l.all_stop && !quoted;
        free(l.terms);
        free(l.lens);
        free(l.positions);
        return n;
    }
    n->terms = l.terms;
    n->term_lens = l.lens;
    n->n_terms = l.n;
    n->offsets = l.positions;
    for (size_t i = l.n; i-- > 0;)
        n->offsets[i] -= n->offsets[0];
    return n;
done:
    for (size_t i = 0; i < l.n; i++)
        free(l.terms[i]);
    free(l.terms);
    free(l.lens);
    free(l.positions);
    return NULL;
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
        next_token(p);
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

int dks_query_parse(dks_analyzer *an, const char *q, size_t len, dks_qnode **out,
                    dks_error_detail *err)
{
    *out = NULL;
    if (len > DKS_MAX_QUERY_BYTES)
        return dks_fail(err, DKS_EQUERY, DKS_MAX_QUERY_BYTES,
                        "query is longer than %d bytes", DKS_MAX_QUERY_BYTES);
    if (memchr(q, '\0', len))
        return dks_fail(err, DKS_EQUERY, (long)((const char *)memchr(q, '\0', len) - q),
                        "query contains a NUL byte");
    parser p = {.an = an, .q = q, .len = len, .err = err};
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

/* ---- stop words ------------------------------------------------------- */

static size_t count_content(const dks_qnode *n)
{
    if (n->type == DKS_Q_TERM)
        return !n->is_stopword;
    if (n->type == DKS_Q_PHRASE)
        return 1;
    if (n->type == DKS_Q_NOT)
        return 0;
    size_t c = 0;
    for (size_t i = 0; i < n->n_children; i++)
        c += count_content(n->children[i]);
    return c;
}

/* Removes stop-word terms below n; returns the node to keep (NULL: none). */
static dks_qnode *strip_stopwords(dks_qnode *n)
{
    if (n->type == DKS_Q_TERM && n->is_stopword) {
        dks_query_free(n);
        return NULL;
    }
    if (n->type != DKS_Q_AND && n->type != DKS_Q_OR)
        return n;
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
