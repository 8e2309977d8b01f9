/*
 * page.c - the results page dksearch-serve renders itself for GET /?q=...,
 * so that the search page works in a browser without JavaScript (the form
 * of web/index.html submits to it), and the buffer it is written into.
 *
 * Everything from the index or the request passes through serve_html or
 * serve_url_value: a document's title or snippet, or a query, can hold
 * markup, and none of it may become markup of the page.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "serve.h"

/* A page is never larger than this; past it the buffer fails. */
#define PAGE_MAX_BYTES ((size_t)4 << 20)

static int reserve(serve_buf *b, size_t extra)
{
    if (b->failed)
        return 0;
    if (extra > PAGE_MAX_BYTES || b->len + extra + 1 > PAGE_MAX_BYTES) {
        b->failed = 1;
        return 0;
    }
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return 0;
    }
    b->data = d;
    b->cap = cap;
    return 1;
}

void serve_append(serve_buf *b, const char *s, size_t len)
{
    if (!reserve(b, len))
        return;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = 0;
}

void serve_cstr(serve_buf *b, const char *s)
{
    serve_append(b, s, strlen(s));
}

void serve_printf(serve_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void serve_html(serve_buf *b, const char *s, size_t len)
{
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '"': esc = "&quot;"; break;
        case '\'': esc = "&#39;"; break;
        default: continue;
        }
        serve_append(b, s + from, i - from);
        serve_append(b, esc, strlen(esc));
        from = i + 1;
    }
    serve_append(b, s + from, len - from);
}

void serve_url_value(serve_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            serve_append(b, (const char *)p, 1);
        else
            serve_printf(b, "%%%02X", *p);
    }
}

void serve_json_string(serve_buf *b, const char *s)
{
    serve_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            serve_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
            serve_printf(b, "\\u%04x", *p);  /* never markup, even in a script */
        else
            serve_append(b, (const char *)p, 1);
    }
    serve_append(b, "\"", 1);
}

/* A link to the results page of query q from offset.  Links, the form
 * and the style sheet are relative, so that the page works on whatever
 * sub-path a web server in front puts it. */
static void page_link(serve_buf *b, const char *q, size_t offset, size_t limit,
                      const char *label, const char *id, int hidden)
{
    serve_printf(b, "<a id=\"%s\"%s href=\"?q=", id, hidden ? " hidden" : "");
    serve_url_value(b, q);
    if (offset)
        serve_printf(b, "&amp;offset=%zu", offset);
    if (limit != SERVE_PAGE_HITS)
        serve_printf(b, "&amp;limit=%zu", limit);
    serve_append(b, "\">", 2);
    serve_html(b, label, strlen(label));
    serve_append(b, "</a>", 4);
}

/* A snippet with its highlight ranges (byte offsets, in order) marked. */
static void marked_snippet(serve_buf *b, const dks_hit *h)
{
    size_t at = 0, len = strlen(h->snippet);
    for (size_t i = 0; i < h->n_highlights; i++) {
        size_t start = h->highlights[i].start, end = h->highlights[i].end;
        if (start < at || end > len || start >= end)
            continue;  /* (never, from the library) */
        serve_html(b, h->snippet + at, start - at);
        serve_append(b, "<mark>", 6);
        serve_html(b, h->snippet + start, end - start);
        serve_append(b, "</mark>", 7);
        at = end;
    }
    serve_html(b, h->snippet + at, len - at);
}

/* The results part of the page: every element the page's script looks
 * for is there (empty and hidden when it has nothing to show), so that it
 * can take the page over; error: a message instead of hits. */
static void hits(serve_buf *b, const char *q, const serve_paging *at, const dks_results *res,
                 const char *error)
{
    size_t offset = at->offset, limit = at->limit;
    size_t n = res ? dks_results_count(res) : 0;
    unsigned long long total = res ? (unsigned long long)dks_results_total(res) : 0;
    if (res) {
        uint64_t tenths = (dks_results_took_us(res) + 50) / 100;
        /* Danish writes a decimal comma */
        serve_printf(b, "<p id=\"status\" class=\"status count\" aria-live=\"polite\" "
                        "aria-atomic=\"true\">%llu%s %s (%llu,%llu ms)</p>\n", total,
                     dks_results_total_exact(res) ? "" : "+",
                     total == 1 ? "resultat" : "resultater", (unsigned long long)(tenths / 10),
                     (unsigned long long)(tenths % 10));
    } else {
        serve_cstr(b, "<p id=\"status\" class=\"status error\" role=\"alert\">");
        serve_html(b, error, strlen(error));
        serve_cstr(b, "</p>\n");
    }
    const char *suggestion = res ? dks_results_suggestion(res) : NULL;
    serve_printf(b, "<p id=\"suggestion\" class=\"suggestion\"%s>Mente du ",
                 suggestion ? "" : " hidden");
    page_link(b, suggestion ? suggestion : "", 0, limit, suggestion ? suggestion : "",
              "suggestion-link", 0);
    serve_cstr(b, "?</p>\n<ul id=\"notes\" class=\"notes\" hidden></ul>\n"
                  "<div class=\"layout\">\n<aside id=\"facets\" class=\"facets\" "
                  "aria-label=\"Afgræns resultaterne\" hidden></aside>\n"
                  "<div class=\"hit-column\">\n"
                  "<ol id=\"hits\" class=\"hits\" aria-label=\"Resultater\">\n");
    for (size_t i = 0; i < n; i++) {
        const dks_hit *h = dks_results_hit(res, i);
        const char *title = h->title[0] ? h->title : h->id;
        serve_cstr(b, "<li class=\"hit\"><h2 class=\"title\">");
        serve_html(b, title, strlen(title));
        serve_cstr(b, "</h2><p class=\"snippet\">");
        marked_snippet(b, h);
        serve_cstr(b, "</p><p class=\"id\">");
        serve_html(b, h->id, strlen(h->id));
        serve_cstr(b, "</p></li>\n");
    }
    /* pages of `limit` hits, the next only as far as the server pages */
    int more = offset + n < total && offset + limit <= at->max_offset;
    serve_printf(b, "</ol>\n<nav id=\"pager\" class=\"pager paging\" aria-label=\"Sider\"%s>",
                 offset > 0 || more ? "" : " hidden");
    page_link(b, q, offset > limit ? offset - limit : 0, limit, "Forrige", "prev", offset == 0);
    serve_cstr(b, "<span id=\"page-info\" class=\"page-info\"></span>");
    page_link(b, q, offset + limit, limit, "Næste", "next", !more);
    serve_cstr(b, "</nav>\n</div>\n</div>\n");
}

void render_page(serve_buf *b, const char *q, const serve_paging *at, const dks_results *res,
                 const char *error)
{
    /* The search page's own skeleton (web/index.html), filled in: with
     * JavaScript its script takes over from here, as after a reload. */
    serve_printf(b, "<!doctype html>\n<html lang=\"da\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<title>");
    serve_html(b, q, strlen(q));
    serve_printf(b, " – Søg</title>\n<link rel=\"icon\" href=\"favicon.ico\" sizes=\"32x32\">\n"
                    "<link rel=\"stylesheet\" href=\"style.css\">\n"
                    "<script src=\"app.js\" defer></script>\n</head>\n<body>\n"
                    "<header class=\"top\">\n<form id=\"search-form\" class=\"search\" "
                    "method=\"get\" action=\"./\" role=\"search\">\n"
                    "<label for=\"q\" class=\"search-label\">Søg</label>\n"
                    "<div class=\"search-row\">\n<div class=\"search-box\">\n"
                    "<input id=\"q\" name=\"q\" type=\"search\" value=\"");
    serve_html(b, q, strlen(q));
    serve_printf(b, "\" autocomplete=\"off\" autocapitalize=\"off\" spellcheck=\"false\" "
                    "enterkeyhint=\"search\" role=\"combobox\" aria-autocomplete=\"list\" "
                    "aria-expanded=\"false\" aria-controls=\"completions\">\n"
                    "<ul id=\"completions\" class=\"completions\" role=\"listbox\" "
                    "aria-label=\"Forslag\" hidden></ul>\n</div>\n"
                    "<button type=\"submit\" class=\"search-button\">Søg</button>\n</div>\n"
                    "</form>\n</header>\n<main class=\"results\">\n");
    hits(b, q, at, error ? NULL : res, error ? error : "");
    serve_printf(b, "</main>\n<footer id=\"footer\" class=\"footer\"></footer>\n"
                    "</body>\n</html>\n");
}
