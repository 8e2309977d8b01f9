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
static void page_link(serve_buf *b, const char *q, size_t offset, const char *label)
{
    serve_append(b, "<a href=\"?q=", 12);
    serve_url_value(b, q);
    if (offset)
        serve_printf(b, "&amp;offset=%zu", offset);
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

static void hits(serve_buf *b, const char *q, size_t offset, const dks_results *res)
{
    size_t n = dks_results_count(res);
    unsigned long long total = (unsigned long long)dks_results_total(res);
    double ms = dks_results_took_us(res) / 1000.0;
    serve_printf(b, "<p class=\"count\" role=\"status\">%llu%s %s (%.1f ms)</p>\n", total,
                 dks_results_total_exact(res) ? "" : "+", total == 1 ? "resultat" : "resultater",
                 ms);
    const char *suggestion = dks_results_suggestion(res);
    if (suggestion) {
        serve_append(b, "<p class=\"suggestion\">Mente du ", 31);
        page_link(b, suggestion, 0, suggestion);
        serve_append(b, "?</p>\n", 6);
    }
    serve_append(b, "<ol class=\"hits\">\n", 18);
    for (size_t i = 0; i < n; i++) {
        const dks_hit *h = dks_results_hit(res, i);
        serve_append(b, "<li class=\"hit\"><h2 class=\"title\">", 34);
        serve_html(b, h->title[0] ? h->title : h->id, strlen(h->title[0] ? h->title : h->id));
        serve_append(b, "</h2><p class=\"snippet\">", 24);
        marked_snippet(b, h);
        serve_append(b, "</p><p class=\"id\">", 18);
        serve_html(b, h->id, strlen(h->id));
        serve_append(b, "</p></li>\n", 10);
    }
    serve_append(b, "</ol>\n<nav class=\"paging\">", 26);
    size_t page = n ? n : 10;
    if (offset > 0)
        page_link(b, q, offset > page ? offset - page : 0, "Forrige");
    if (offset + n < total)
        page_link(b, q, offset + n, "Næste");
    serve_append(b, "</nav>\n", 7);
}

void render_page(serve_buf *b, const char *q, size_t offset, const dks_results *res,
                 const char *error)
{
    serve_printf(b, "<!DOCTYPE html>\n<html lang=\"da\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<title>");
    serve_html(b, q, strlen(q));
    serve_printf(b, " – Søg</title>\n<link rel=\"stylesheet\" href=\"style.css\">\n</head>\n"
                    "<body class=\"static\">\n<main>\n<form class=\"search\" method=\"get\" "
                    "action=\"\" role=\"search\">\n<label for=\"q\">Søg</label>\n"
                    "<input id=\"q\" name=\"q\" type=\"search\" value=\"");
    serve_html(b, q, strlen(q));
    serve_printf(b, "\" autocomplete=\"off\">\n<button type=\"submit\">Søg</button>\n</form>\n");
    if (error) {
        serve_append(b, "<p class=\"error\" role=\"alert\">", 30);
        serve_html(b, error, strlen(error));
        serve_append(b, "</p>\n", 5);
    } else if (res) {
        hits(b, q, offset, res);
    }
    serve_printf(b, "</main>\n</body>\n</html>\n");
}
