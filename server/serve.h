/*
 * serve.h - what dksearch-serve's files share: a growable text buffer, the
 * escaping HTML and JSON need, and the results page for browsers without
 * JavaScript (page.c).
 */
#ifndef DKS_SERVE_H
#define DKS_SERVE_H

#include <stddef.h>

#include "dksearch.h"

/* A buffer that remembers a failed allocation instead of reporting each:
 * the caller checks `failed` once, at the end. */
typedef struct serve_buf {
    char *data;
    size_t len, cap;
    int failed;
} serve_buf;

void serve_append(serve_buf *b, const char *s, size_t len);
void serve_cstr(serve_buf *b, const char *s);
void serve_printf(serve_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as text of an HTML element or attribute value: & < > " ' escaped. */
void serve_html(serve_buf *b, const char *s, size_t len);
/* s as a query parameter value: everything but unreserved bytes %XX. */
void serve_url_value(serve_buf *b, const char *s);
void serve_json_string(serve_buf *b, const char *s);

/* Hits a page shows unless the request says otherwise. */
#define SERVE_PAGE_HITS 10

/* Which page of hits a results page shows, and the last offset the server
 * pages to. */
typedef struct serve_paging {
    size_t offset, limit, max_offset;
} serve_paging;

/* The page for GET /?q=...: the search form, then the hits of res (from
 * at->offset) with their highlights marked, paging links and the "Mente
 * du" suggestion; or the error message when res is NULL. */
void render_page(serve_buf *b, const char *q, const serve_paging *at, const dks_results *res,
                 const char *error);

#endif
