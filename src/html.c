/*
 * html.c - an HTML page read into what the index keeps of it: a title, the
 * text of the body and the page's language.  input.c calls it for .html
 * and .htm files, after its own checks (binary data, size).
 *
 * libxml2's HTML parser builds the tree: it recovers from any markup
 * (unclosed and misnested tags, stray '<' and '&'), decodes entities and
 * converts the page's charset to UTF-8.  It stops building at 256 levels
 * of nesting (its own limit without XML_PARSE_HUGE); the text up to there
 * is kept.  This file walks the tree without recursion:
 *
 *   title  the text of <title>; without one, the first <h1> with text;
 *          without that, the first line of the body
 *   body   the text of <main> (or role="main") if the page has one, else
 *          of the whole page, without what a reader does not read as its
 *          content: script, style, noscript, template, svg, iframe,
 *          audio, video, canvas and the head; <nav>; <header>, <footer>
 *          and <aside> that are not inside article, aside, main, nav or
 *          section (the page's banner, footer and sidebars); elements with
 *          role navigation, banner or contentinfo, aria-hidden="true" or
 *          hidden.  Block elements (p, div, li, h1-h6, tr, td, br, ...)
 *          begin and end lines, so words never join across them; every
 *          other run of white space (outside <pre>) is one space.  Images
 *          give their alt text; links are text like any other.
 *   lang   the lang attribute of <html>
 *
 * Charsets.  A charset that a <meta> declares (charset="..." or an
 * http-equiv Content-Type) is libxml2's to honour: it is given no
 * encoding and reads the declaration itself.  A page that declares none,
 * or declares UTF-8, is read as UTF-8 (libxml2 would read it as Latin-1,
 * and would misread what comes before a late <meta charset="utf-8">).  A
 * page whose declared charset fails to convert (a byte windows-1252 leaves
 * undefined) would lose its text from there: it is read again as Latin-1.
 *
 * libxml2 and threads.  libxml2 is initialised once (pthread_once, then
 * xmlInitParser) and never cleaned up here: xmlCleanupParser would pull it
 * from under other users in the process.  Each page has its own parser
 * context; its errors are not reported (HTML_PARSE_NOERROR and
 * HTML_PARSE_NOWARNING) and the network is never used (HTML_PARSE_NONET;
 * the HTML parser loads no DTD or external entity).  Errors libxml2
 * raises without a context (charset conversion) go to the calling
 * thread's handlers: during the parse only, this file puts its own in
 * their place and restores the caller's before it returns.  libxml2 keeps
 * those handlers per thread, so pages can be parsed on any number of
 * threads at once, and no handler of another thread or of the caller is
 * changed.
 */
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "dks_int.h"

/* A <meta> that declares the charset is looked for this far into the
 * page: HTML puts it in the first 1024 bytes, real pages sometimes after
 * long scripts and styles. */
#define DKS_HTML_CHARSET_SCAN 65536
/* A lang attribute longer than this is no language tag (BCP 47 tags in
 * use are at most a few dozen bytes) and is not kept. */
#define DKS_MAX_LANG_BYTES 64

static const int parse_options = HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                                 HTML_PARSE_RECOVER;

/* ---- the elements ------------------------------------------------------ */

enum element_kind {
    EL_INLINE,   /* text flows through it (a, span, b, unknown elements) */
    EL_BLOCK,    /* begins and ends a line */
    EL_SPACE,    /* separates words, as a box on a line does (button, img) */
    EL_SKIP,     /* not read */
    EL_CHROME    /* the page's banner, footer or sidebar outside any section: not read */
};
enum {
    EL_SECTION = 1,  /* header and footer inside it are the section's own */
    EL_PRE = 2,      /* white space as written: line ends are kept */
    EL_INERT = 4     /* not content of the page at all (no title, no main in it) */
};

typedef struct element {
    const char *name;
    unsigned char kind, flags;
} element;

/* Sorted by name (bsearch); libxml2 gives HTML names in lower case. */
static const element elements[] = {
    {"address", EL_BLOCK, 0},       {"article", EL_BLOCK, EL_SECTION},
    {"aside", EL_CHROME, EL_SECTION}, {"audio", EL_SKIP, 0},
    {"blockquote", EL_BLOCK, 0},    {"body", EL_BLOCK, 0},
    {"br", EL_BLOCK, 0},            {"button", EL_SPACE, 0},
    {"canvas", EL_SKIP, 0},         {"caption", EL_BLOCK, 0},
    {"center", EL_BLOCK, 0},        {"dd", EL_BLOCK, 0},
    {"details", EL_BLOCK, 0},       {"dialog", EL_BLOCK, 0},
    {"dir", EL_BLOCK, 0},           {"div", EL_BLOCK, 0},
    {"dl", EL_BLOCK, 0},            {"dt", EL_BLOCK, 0},
    {"fieldset", EL_BLOCK, 0},      {"figcaption", EL_BLOCK, 0},
    {"figure", EL_BLOCK, 0},        {"footer", EL_CHROME, 0},
    {"form", EL_BLOCK, 0},          {"h1", EL_BLOCK, 0},
    {"h2", EL_BLOCK, 0},            {"h3", EL_BLOCK, 0},
    {"h4", EL_BLOCK, 0},            {"h5", EL_BLOCK, 0},
    {"h6", EL_BLOCK, 0},            {"head", EL_SKIP, 0},
    {"header", EL_CHROME, 0},       {"hgroup", EL_BLOCK, 0},
    {"hr", EL_BLOCK, 0},            {"html", EL_BLOCK, 0},
    {"iframe", EL_SKIP, 0},         {"img", EL_SPACE, 0},
    {"input", EL_SPACE, 0},         {"legend", EL_BLOCK, 0},
    {"li", EL_BLOCK, 0},            {"listing", EL_BLOCK, EL_PRE},
    {"main", EL_BLOCK, EL_SECTION}, {"menu", EL_BLOCK, 0},
    {"nav", EL_SKIP, 0},            {"noscript", EL_SKIP, 0},
    {"ol", EL_BLOCK, 0},            {"optgroup", EL_BLOCK, 0},
    {"option", EL_BLOCK, 0},        {"p", EL_BLOCK, 0},
    {"plaintext", EL_BLOCK, EL_PRE}, {"pre", EL_BLOCK, EL_PRE},
    {"script", EL_SKIP, EL_INERT},  {"section", EL_BLOCK, EL_SECTION},
    {"select", EL_SPACE, 0},        {"style", EL_SKIP, EL_INERT},
    {"summary", EL_BLOCK, 0},       {"svg", EL_SKIP, EL_INERT},
    {"table", EL_BLOCK, 0},         {"tbody", EL_BLOCK, 0},
    {"td", EL_BLOCK, 0},            {"template", EL_SKIP, EL_INERT},
    {"textarea", EL_SPACE, 0},      {"tfoot", EL_BLOCK, 0},
    {"th", EL_BLOCK, 0},            {"thead", EL_BLOCK, 0},
    {"title", EL_SKIP, 0},          {"tr", EL_BLOCK, 0},
    {"ul", EL_BLOCK, 0},            {"video", EL_SKIP, 0},
    {"xmp", EL_BLOCK, EL_PRE},
};

static int cmp_element(const void *key, const void *e)
{
    return strcmp(key, ((const element *)e)->name);
}

static const element *element_of(const xmlNode *n)
{
    static const element inline_element = {"", EL_INLINE, 0};
    const element *e = n->name ? bsearch(n->name, elements, sizeof elements / sizeof *elements,
                                         sizeof *elements, cmp_element)
                               : NULL;
    return e ? e : &inline_element;
}

static int is_named(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, name) == 0;
}

/* An attribute's value: "" for one written without a value, NULL when
 * the element does not have it.  (libxml2's HTML parser gives each value
 * as one text node.) */
static const char *attribute(const xmlNode *n, const char *name)
{
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        if (!a->name || strcmp((const char *)a->name, name) != 0)
            continue;
        const xmlNode *v = a->children;
        return v && v->type == XML_TEXT_NODE && v->content ? (const char *)v->content : "";
    }
    return NULL;
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* 1 if the white-space-separated list holds word (ASCII case ignored), as
 * role and aria-hidden values are read. */
static int has_token(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; p && *p;) {
        while (is_blank((unsigned char)*p))
            p++;
        size_t n = 0;
        while (p[n] && !is_blank((unsigned char)p[n]))
            n++;
        if (n == wl && strncasecmp(p, word, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

static int is_main(const xmlNode *n)
{
    return is_named(n, "main") || has_token(attribute(n, "role"), "main");
}

/* ---- text with its white space collapsed --------------------------------- */

enum { PENDING_NONE, PENDING_SPACE, PENDING_LINE };

typedef struct sink {
    dks_buf *buf;
    size_t limit;   /* bytes the text may take; what does not fit is left out */
    int one_line;   /* line ends are spaces (a title) */
    int pending;    /* white space read and not yet written */
    int full;       /* text was left out for the limit */
} sink;

/* Bytes of the white-space character at s (ASCII white space or a
 * no-break space), or 0. */
static size_t space_at(const unsigned char *s, size_t len)
{
    if (is_blank(s[0]))
        return 1;
    return len >= 2 && s[0] == 0xC2 && s[1] == 0xA0 ? 2 : 0;
}

static void sink_space(sink *s, int kind)
{
    if (kind > s->pending)
        s->pending = kind;
}

/* Writes a run of text without white space, after the white space
 * pending before it (none at the start of the text); at the limit, what
 * fits of it, cut at a character's start. */
static int sink_word(sink *s, const unsigned char *w, size_t len)
{
    size_t sep = s->pending && s->buf->len > 0;
    if (s->full)
        return DKS_OK;
    if (len + sep > s->limit - s->buf->len) {
        s->full = 1;
        len = s->limit - s->buf->len > sep ? s->limit - s->buf->len - sep : 0;
        while (len > 0 && (w[len] & 0xC0) == 0x80)
            len--;
        if (len == 0)
            return DKS_OK;
    }
    int rc = DKS_OK;
    if (sep)
        rc = dks_buf_putc(s->buf, s->pending == PENDING_LINE && !s->one_line ? '\n' : ' ');
    s->pending = PENDING_NONE;
    return rc ? rc : dks_buf_append(s->buf, w, len);
}

/* Appends text, each run of white space as one space; with `pre`, a line
 * end stays a line end. */
static int sink_text(sink *s, const unsigned char *t, size_t len, int pre)
{
    for (size_t i = 0; i < len;) {
        size_t sp = space_at(t + i, len - i);
        if (sp) {
            sink_space(s, pre && t[i] == '\n' ? PENDING_LINE : PENDING_SPACE);
            i += sp;
            continue;
        }
        size_t j = i + 1;
        while (j < len && !space_at(t + j, len - j))
            j++;
        int rc = sink_word(s, t + i, j - i);
        if (rc)
            return rc;
        i = j;
    }
    return DKS_OK;
}

/* ---- walking the tree ------------------------------------------------------ */

/* enter: < 0 stops the walk (and is returned), 0 passes over the node's
 * children, 1 walks them; leave is called after the children of a node
 * that enter returned 1 for. */
typedef int (*enter_fn)(void *ctx, const xmlNode *n);
typedef void (*leave_fn)(void *ctx, const xmlNode *n);

/* The subtree of root in document order, without recursion: the tree
 * links every node to its parent. */
static int walk(const xmlNode *root, enter_fn enter, leave_fn leave, void *ctx)
{
    const xmlNode *n = root;
    for (;;) {
        int open = enter(ctx, n);
        if (open < 0)
            return open;
        if (open && n->children) {
            n = n->children;
            continue;
        }
        if (open && leave)
            leave(ctx, n);
        while (n != root && !n->next) {
            n = n->parent;
            if (leave)
                leave(ctx, n);
        }
        if (n == root)
            return 0;
        n = n->next;
    }
}

/* The first element in document order that pred holds for, outside
 * script, style, svg and template. */
typedef struct finder {
    int (*pred)(const xmlNode *n);
    const xmlNode *found;
} finder;

static int find_enter(void *ctx, const xmlNode *n)
{
    finder *f = ctx;
    if (n->type != XML_ELEMENT_NODE)
        return 0;
    if (f->pred(n)) {
        f->found = n;
        return -1;
    }
    return !(element_of(n)->flags & EL_INERT);
}

static const xmlNode *find_element(const xmlNode *root, int (*pred)(const xmlNode *))
{
    finder f = {pred, NULL};
    walk(root, find_enter, NULL, &f);
    return f.found;
}

static int is_title(const xmlNode *n)
{
    return is_named(n, "title");
}

/* The text of an element, every descendant's (for <title>). */
static int text_enter(void *ctx, const xmlNode *n)
{
    int rc = n->type == XML_TEXT_NODE && n->content
                 ? sink_text(ctx, n->content, strlen((const char *)n->content), 0)
                 : DKS_OK;
    return rc ? rc : 1;
}

/* The body's walk. */
typedef struct reader {
    sink body, h1;
    int in_section;             /* inside article, aside, main, section */
    int in_pre;
    const xmlNode *h1_node;     /* the <h1> being read into h1, if any */
    int rc;
} reader;

/* 1 for an element whose text the reader passes over. */
static int is_left_out(const reader *r, const xmlNode *n, const element *e)
{
    if (e->kind == EL_SKIP || (e->kind == EL_CHROME && !r->in_section))
        return 1;
    const char *role = attribute(n, "role"), *hidden = attribute(n, "hidden");
    if (role && (has_token(role, "navigation") || has_token(role, "banner") ||
                 has_token(role, "contentinfo")))
        return 1;
    if (hidden && strcasecmp(hidden, "until-found") != 0)  /* until-found: for find in page */
        return 1;
    return has_token(attribute(n, "aria-hidden"), "true");
}

static void reader_space(reader *r, int kind)
{
    sink_space(&r->body, kind);
    sink_space(&r->h1, kind);
}

static void reader_text(reader *r, const char *text)
{
    if (!text || r->rc)
        return;
    size_t len = strlen(text);
    r->rc = sink_text(&r->body, (const unsigned char *)text, len, r->in_pre > 0);
    if (!r->rc && r->h1_node)
        r->rc = sink_text(&r->h1, (const unsigned char *)text, len, 0);
}

static int read_enter(void *ctx, const xmlNode *n)
{
    reader *r = ctx;
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        reader_text(r, (const char *)n->content);
        return r->rc ? r->rc : 0;
    }
    if (n->type != XML_ELEMENT_NODE)
        return 0;  /* comments, processing instructions */
    const element *e = element_of(n);
    if (is_left_out(r, n, e)) {
        /* the text on either side of a block left out stays apart, as it
         * was around the block ("før<nav>menu</nav>efter") */
        if (e->kind != EL_INLINE && !(e->flags & EL_INERT))
            reader_space(r, PENDING_LINE);
        return 0;
    }
    if (e->kind != EL_INLINE)
        reader_space(r, e->kind == EL_SPACE ? PENDING_SPACE : PENDING_LINE);
    if (is_named(n, "img")) {
        reader_text(r, attribute(n, "alt"));
        reader_space(r, PENDING_SPACE);
    }
    r->in_section += (e->flags & EL_SECTION) != 0;
    r->in_pre += (e->flags & EL_PRE) != 0;
    if (!r->h1_node && r->h1.buf->len == 0 && is_named(n, "h1"))
        r->h1_node = n;
    return r->rc ? r->rc : 1;
}

static void read_leave(void *ctx, const xmlNode *n)
{
    reader *r = ctx;
    const element *e = element_of(n);
    if (e->kind != EL_INLINE)
        reader_space(r, e->kind == EL_SPACE ? PENDING_SPACE : PENDING_LINE);
    r->in_section -= (e->flags & EL_SECTION) != 0;
    r->in_pre -= (e->flags & EL_PRE) != 0;
    if (n == r->h1_node)
        r->h1_node = NULL;
}

/* ---- parsing ------------------------------------------------------------- */

static pthread_once_t libxml_once = PTHREAD_ONCE_INIT;

static void libxml_init(void)
{
    xmlInitParser();
}

/* Case-insensitive search for an ASCII word. */
static const char *find_word(const char *s, const char *end, const char *word)
{
    size_t wl = strlen(word);
    for (; s && end - s >= (ptrdiff_t)wl; s++)
        if (strncasecmp(s, word, wl) == 0)
            return s;
    return NULL;
}

/* A character of a charset's name (utf-8, ISO_8859-1:1987, ...). */
static int is_charset_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == ':';
}

/* The value of `name=value` (value quoted or not) where name is found in
 * [from, end), or NULL; *len is its length. */
static const char *declared_value(const char *from, const char *end, const char *name,
                                  size_t *len)
{
    const char *p = find_word(from, end, name);
    if (!p)
        return NULL;
    p += strlen(name);
    while (p < end && is_blank((unsigned char)*p))
        p++;
    if (p == end || *p++ != '=')
        return NULL;
    while (p < end && (is_blank((unsigned char)*p) || *p == '"' || *p == '\''))
        p++;
    size_t n = 0;
    while (p + n < end && is_charset_char((unsigned char)p[n]))
        n++;
    *len = n;
    return n ? p : NULL;
}

/* 1 if the page declares a charset other than UTF-8 before its body: in a
 * <meta> tag (charset=... or an http-equiv content="...; charset=...") or
 * in an XML declaration. */
static int declares_other_charset(const char *data, size_t len)
{
    const char *end = data + (len < DKS_HTML_CHARSET_SCAN ? len : DKS_HTML_CHARSET_SCAN);
    const char *body = find_word(data, end, "<body");
    if (body)
        end = body;
    const char *value = NULL;
    size_t n = 0;
    if (end - data >= 5 && memcmp(data, "<?xml", 5) == 0) {
        const char *close = memchr(data, '>', (size_t)(end - data));
        value = declared_value(data, close ? close : end, "encoding", &n);
    }
    for (const char *m = data; !value && (m = find_word(m, end, "<meta")); m += 5) {
        const char *close = memchr(m, '>', (size_t)(end - m));
        value = declared_value(m, close ? close : end, "charset", &n);
    }
    return value && !((n == 5 && strncasecmp(value, "utf-8", 5) == 0) ||
                      (n == 4 && strncasecmp(value, "utf8", 4) == 0));
}

static void ignore_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* Notes a charset conversion that failed (ctx: an int). */
static void note_error(void *ctx, xmlErrorPtr e)
{
    if (e && (e->domain == XML_FROM_I18N ||
              (e->domain == XML_FROM_IO && e->code == XML_IO_ENCODER)))
        *(int *)ctx = 1;
}

/* Parses the page (encoding NULL: as it declares) into *doc, NULL if
 * libxml2 made no document of it; *conversion_failed says whether its
 * charset failed to convert. */
static int read_page(const char *data, size_t len, const char *encoding, htmlDocPtr *doc,
                     int *conversion_failed)
{
    *doc = NULL;
    *conversion_failed = 0;
    htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
    if (!ctxt)
        return DKS_ENOMEM;
    xmlGenericErrorFunc generic = xmlGenericError;
    void *generic_ctx = xmlGenericErrorContext;
    xmlStructuredErrorFunc structured = xmlStructuredError;
    void *structured_ctx = xmlStructuredErrorContext;
    xmlSetGenericErrorFunc(NULL, ignore_generic);
    xmlSetStructuredErrorFunc(conversion_failed, note_error);
    *doc = htmlCtxtReadMemory(ctxt, data, (int)len, NULL, encoding, parse_options);
    xmlSetStructuredErrorFunc(structured_ctx, structured);
    xmlSetGenericErrorFunc(generic_ctx, generic);
    htmlFreeParserCtxt(ctxt);
    return DKS_OK;
}

/* The lang attribute of <html>, trimmed, if it can be a language tag. */
static int read_lang(const xmlNode *root, dks_buf *out)
{
    const char *lang = root && is_named(root, "html") ? attribute(root, "lang") : NULL;
    if (!lang)
        return DKS_OK;
    while (is_blank((unsigned char)*lang))
        lang++;
    size_t n = strlen(lang);
    while (n && is_blank((unsigned char)lang[n - 1]))
        n--;
    return n && n <= DKS_MAX_LANG_BYTES ? dks_buf_append(out, lang, n) : DKS_OK;
}

int dks_html_parse(const char *data, size_t len, dks_html_page *out)
{
    memset(out, 0, sizeof *out);
    if (len > INT_MAX)
        return DKS_ELIMIT;
    pthread_once(&libxml_once, libxml_init);
    htmlDocPtr doc;
    int failed;
    int rc = read_page(data, len, declares_other_charset(data, len) ? NULL : "UTF-8", &doc,
                       &failed);
    if (!rc && failed) {
        xmlFreeDoc(doc);
        rc = read_page(data, len, "ISO-8859-1", &doc, &failed);
    }
    if (rc)
        return rc;
    const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    const xmlNode *title = root ? find_element(root, is_title) : NULL;
    const xmlNode *main = root ? find_element(root, is_main) : NULL;
    sink title_sink = {.buf = &out->title, .limit = DKS_MAX_TITLE_BYTES, .one_line = 1};
    dks_buf h1 = {0};
    reader r = {
        .body = {.buf = &out->body, .limit = DKS_MAX_DOC_BYTES},
        .h1 = {.buf = &h1, .limit = DKS_MAX_TITLE_BYTES, .one_line = 1},
    };
    rc = title ? walk(title, text_enter, NULL, &title_sink) : DKS_OK;
    if (!rc && root)
        rc = walk(main ? main : root, read_enter, read_leave, &r);
    if (!rc && r.body.full)
        rc = DKS_ELIMIT;
    if (!rc && out->title.len == 0 && h1.len) {
        rc = dks_buf_append(&out->title, h1.data, h1.len);
    } else if (!rc && out->title.len == 0 && out->body.len) {
        const unsigned char *body = out->body.data, *nl = memchr(body, '\n', out->body.len);
        rc = sink_text(&title_sink, body, nl ? (size_t)(nl - body) : out->body.len, 0);
    }
    if (!rc)
        rc = read_lang(root, &out->lang);
    dks_buf_free(&h1);
    xmlFreeDoc(doc);
    if (rc)
        dks_html_page_free(out);
    return rc;
}

void dks_html_page_free(dks_html_page *page)
{
    if (!page)
        return;
    dks_buf_free(&page->title);
    dks_buf_free(&page->body);
    dks_buf_free(&page->lang);
}
