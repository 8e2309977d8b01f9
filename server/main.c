/*
 * dksearch-serve - the search page and its JSON API over HTTP, read-only
 * on one index, for an intranet's web server to put on a sub-path.
 *
 *   dksearch-serve [--db PATH] [--listen 127.0.0.1:8080] [--facet FIELD]... [--cache-mib N]
 *                  [--quiet]
 *
 *   GET /                      the search page (web/, compiled in)
 *   GET /?q=...&offset=N       the results as a page, for browsers without JavaScript
 *   GET /api/search?q=&limit=&offset=&filter=&facet=&typing=1
 *                              the same JSON as dksearch-query --json
 *   GET /api/suggest?q=        completions of the word being typed
 *   GET /api/info              documents and the facets offered
 *   GET /healthz               "ok"
 *
 * Every search runs in a read transaction of its own, so commits of the
 * indexer show at once; when the indexer compacts the index into a copy,
 * the server opens the copy and lets the old handle go once its searches
 * are done.  Answers are kept for requests that come again until the
 * index changes (cache.h).  Binds to loopback unless told otherwise, answers only GET and
 * HEAD, refuses requests and parameters over named limits with 4xx, serves
 * nothing but its compiled-in files, and logs one line per request on
 * standard error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../cli/options.h"
#include "cache.h"
#include "dksearch.h"
#include "serve.h"
#include "web_files.h"

#define PROG "dksearch-serve"

/* Limits on a request, each refused with its 4xx status. */
#define MAX_URI_BYTES 4096          /* 414: a query is at most 4 KiB of its own */
#define MAX_LIMIT 50                /* hits a page */
#define MAX_OFFSET 1000             /* paging past this is for programs, not people */
#define MAX_FILTERS 8
#define MAX_FACETS 8          /* also of --facet: the page asks for all of them */
/* How often at most the server asks whether the index was compacted into
 * a copy (a stat of its directory). */
#define RECHECK_NS 250000000L

#define PAGE_TYPE "text/html; charset=utf-8"
#define JSON_TYPE "application/json"

static const char *const security_headers[][2] = {
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "SAMEORIGIN"},
};

/* The index open now, and handles of earlier copies until their last
 * search ends. */
typedef struct held_index {
    dks_index *index;
    uint64_t number;    /* each handle the server opens has the next */
    unsigned refs;
    int retired;
} held_index;

typedef struct server {
    const char *db;
    pthread_mutex_t lock;
    held_index *current;
    uint64_t handles_opened;
    struct timespec checked;
    answer_cache *cache;        /* NULL: every request is searched afresh */
    const char *facets[MAX_FACETS];
    size_t n_facets;
    int quiet;
} server;

/* What a request carries from its start to its end. */
typedef struct request {
    char uri[MAX_URI_BYTES + 1];
    int uri_too_long;
    int headers_read;      /* the handler has been called once */
    struct timespec started;
    unsigned status;
    size_t bytes;
    /* for a search or a completion: the index it reads, the state of it
     * its answer is kept for (when `cacheable`), and whether it came from
     * the cache */
    dks_index *index;
    index_state state;
    int cacheable;
    int cached;
} request;

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1e3 + (now.tv_nsec - since->tv_nsec) / 1e6;
}

/* ---- the index ------------------------------------------------------------ */

static void release(server *s, held_index *h)
{
    pthread_mutex_lock(&s->lock);
    int last = --h->refs == 0 && h->retired;
    pthread_mutex_unlock(&s->lock);
    if (last) {
        dks_index_close(h->index);
        free(h);
    }
}

/* The index to search, held until release(); opens the compacted copy
 * when the indexer has put one in place. */
static held_index *acquire(server *s)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&s->lock);
    long since = (now.tv_sec - s->checked.tv_sec) * 1000000000L + now.tv_nsec - s->checked.tv_nsec;
    held_index *old = NULL;
    if (since >= RECHECK_NS) {
        s->checked = now;
        dks_index *fresh;
        held_index *h;
        if (dks_index_replaced(s->current->index) &&
            dks_index_open(s->db, DKS_OPEN_READ, &fresh, NULL) == DKS_OK) {
            if ((h = calloc(1, sizeof *h))) {
                h->index = fresh;
                h->number = ++s->handles_opened;
                old = s->current;
                old->retired = 1;
                s->current = h;
            } else {
                dks_index_close(fresh);
            }
        }
    }
    held_index *h = s->current;
    h->refs++;
    int close_old = old && old->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (close_old) {
        dks_index_close(old->index);
        free(old);
    }
    return h;
}

/* ---- responses --------------------------------------------------------------- */

static enum MHD_Result send_response(struct MHD_Connection *c, request *rq, unsigned status,
                                     const char *type, const char *cache, void *body, size_t len,
                                     enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
        MHD_add_response_header(r, security_headers[i][0], security_headers[i][1]);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", cache);
    if (rq->cached)
        MHD_add_response_header(r, "X-Cache", "hit");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "GET, HEAD");
    rq->status = status;
    rq->bytes = len;
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_text(struct MHD_Connection *c, request *rq, unsigned status,
                                 const char *text)
{
    return send_response(c, rq, status, "text/plain; charset=utf-8", "no-store", (void *)text,
                         strlen(text), MHD_RESPMEM_PERSISTENT);
}

/* {"error": message} with a 4xx or 5xx status. */
static enum MHD_Result send_error(struct MHD_Connection *c, request *rq, unsigned status,
                                  const char *query, int code, const dks_error_detail *err)
{
    char *json;
    size_t len;
    if (dks_error_json(query ? query : "", query ? strlen(query) : 0, code, err, &json, &len))
        return send_text(c, rq, 500, "out of memory\n");
    return send_response(c, rq, status, JSON_TYPE, "no-store", json, len,
                         MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result send_json(struct MHD_Connection *c, request *rq, char *json, size_t len)
{
    return send_response(c, rq, MHD_HTTP_OK, JSON_TYPE, "no-store", json, len,
                         MHD_RESPMEM_MUST_FREE);
}

/* An error message as a results page of its own. */
static enum MHD_Result send_page_error(struct MHD_Connection *c, request *rq, unsigned status,
                                       const char *q, const char *error)
{
    serve_buf b = {0};
    serve_paging at = {0, SERVE_PAGE_HITS, MAX_OFFSET};
    render_page(&b, q ? q : "", &at, NULL, error);
    if (b.failed) {
        free(b.data);
        return send_text(c, rq, 500, "out of memory\n");
    }
    return send_response(c, rq, status, PAGE_TYPE, "no-store", b.data, b.len,
                         MHD_RESPMEM_MUST_FREE);
}

/* ---- the cache of answers ---------------------------------------------------- */

/* A search's or a completion's answer, kept for the next request that
 * asks the same. */
static enum MHD_Result send_answer(server *s, struct MHD_Connection *c, request *rq,
                                   const char *type, char *body, size_t len)
{
    if (rq->cacheable)
        answer_cache_put(s->cache, rq->uri, rq->state, type, body, len);
    return send_response(c, rq, MHD_HTTP_OK, type, "no-store", body, len, MHD_RESPMEM_MUST_FREE);
}

static void set_detail(dks_error_detail *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_detail(dks_error_detail *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = DKS_EINVAL;
    err->position = -1;
}

/* ---- parameters ------------------------------------------------------------ */

/* Whether the raw URI's percent escapes are all whole (%XX), and none
 * decodes to a NUL byte. */
static int escapes_valid(const char *uri)
{
    for (const char *p = uri; *p; p++) {
        if (*p != '%')
            continue;
        int hi = p[1], lo = hi ? p[2] : 0;
        if (!hi || !lo || !strchr("0123456789abcdefABCDEF", hi) ||
            !strchr("0123456789abcdefABCDEF", lo) || (hi == '0' && lo == '0'))
            return 0;
        p += 2;
    }
    return 1;
}

/* A number parameter within [0, max]; def when absent; -1 when malformed. */
static long number_arg(struct MHD_Connection *c, const char *name, long def, long max)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    return *end || errno || n < 0 || n > max ? -1 : n;
}

typedef struct repeated {
    const char *name;
    const char *values[MAX_FILTERS > MAX_FACETS ? MAX_FILTERS : MAX_FACETS];
    size_t n, max;
    int too_many;
} repeated;

static enum MHD_Result collect(void *ctx, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    repeated *r = ctx;
    if (strcmp(key, r->name) != 0 || !value || !*value)
        return MHD_YES;
    if (r->n == r->max)
        r->too_many = 1;
    else
        r->values[r->n++] = value;
    return MHD_YES;
}

/* ---- the routes -------------------------------------------------------------- */

static enum MHD_Result api_search(server *s, struct MHD_Connection *c, request *rq, int page)
{
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
    long limit = number_arg(c, "limit", SERVE_PAGE_HITS, MAX_LIMIT);
    long offset = number_arg(c, "offset", 0, MAX_OFFSET);
    const char *typing = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "typing");
    repeated filters = {.name = "filter", .max = MAX_FILTERS};
    repeated facets = {.name = "facet", .max = MAX_FACETS};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &filters);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &facets);
    dks_error_detail err = {0};
    if (limit < 1 || offset < 0 || filters.too_many || facets.too_many) {
        set_detail(&err, "limit is 1 to %d, offset 0 to %d, at most %d filters and %d facets",
                   MAX_LIMIT, MAX_OFFSET, MAX_FILTERS, MAX_FACETS);
        return page ? send_page_error(c, rq, MHD_HTTP_BAD_REQUEST, q, err.message)
                    : send_error(c, rq, MHD_HTTP_BAD_REQUEST, q, DKS_ELIMIT, &err);
    }
    dks_search_options opt = {
        .limit = (size_t)limit, .offset = (size_t)offset,
        .as_you_type = typing && strcmp(typing, "1") == 0,
        .filters = filters.values, .n_filters = filters.n,
        .facets = facets.values, .n_facets = facets.n,
    };
    dks_results *res;
    int rc = dks_search(rq->index, q ? q : "", q ? strlen(q) : 0, &opt, &res, &err);
    if (rc) {
        unsigned status = rc == DKS_EQUERY || rc == DKS_ELIMIT || rc == DKS_EINVAL
                              ? MHD_HTTP_BAD_REQUEST
                              : MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (page)
            return send_page_error(c, rq, status, q,
                                   err.message[0] ? err.message : dks_strerror(rc));
        return send_error(c, rq, status, q, rc, &err);
    }
    char *body;
    size_t len;
    if (page) {
        serve_buf b = {0};
        serve_paging at = {(size_t)offset, (size_t)limit, MAX_OFFSET};
        render_page(&b, q ? q : "", &at, res, NULL);
        body = b.data;
        len = b.len;
        rc = b.failed ? DKS_ENOMEM : DKS_OK;
    } else {
        rc = dks_results_json(res, &body, &len);
    }
    dks_results_free(res);
    if (rc) {
        free(body);
        return send_text(c, rq, 500, "out of memory\n");
    }
    return send_answer(s, c, rq, page ? PAGE_TYPE : JSON_TYPE, body, len);
}

static enum MHD_Result api_suggest(server *s, struct MHD_Connection *c, request *rq)
{
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
    long limit = number_arg(c, "limit", 8, 20);
    dks_error_detail err = {0};
    if (limit < 0) {
        set_detail(&err, "limit is 0 to 20");
        return send_error(c, rq, MHD_HTTP_BAD_REQUEST, q, DKS_ELIMIT, &err);
    }
    dks_completions *done;
    int rc = dks_complete(rq->index, q ? q : "", q ? strlen(q) : 0, (size_t)limit, &done, &err);
    if (rc)
        return send_error(c, rq, rc == DKS_ELIMIT ? MHD_HTTP_BAD_REQUEST : 500, q, rc, &err);
    char *json;
    size_t len;
    rc = dks_completions_json(done, &json, &len);
    dks_completions_free(done);
    return rc ? send_text(c, rq, 500, "out of memory\n")
              : send_answer(s, c, rq, JSON_TYPE, json, len);
}

static enum MHD_Result api_info(server *s, struct MHD_Connection *c, request *rq)
{
    held_index *h = acquire(s);
    dks_index_stats st;
    int rc = dks_index_stats_get(h->index, &st);
    release(s, h);
    if (rc)
        return send_error(c, rq, 500, NULL, rc, NULL);
    serve_buf b = {0};
    serve_printf(&b, "{\"documents\":%llu,\"facets\":[", (unsigned long long)st.documents);
    for (size_t i = 0; i < s->n_facets; i++) {
        serve_printf(&b, i ? "," : "");
        serve_json_string(&b, s->facets[i]);
    }
    serve_printf(&b, "]}");
    if (b.failed) {
        free(b.data);
        return send_text(c, rq, 500, "out of memory\n");
    }
    return send_json(c, rq, b.data, b.len);
}

static const dks_web_file *web_file(const char *path)
{
    for (const dks_web_file *f = dks_web_files; f->path; f++)
        if (strcmp(f->path, path) == 0)
            return f;
    return NULL;
}

/* A search (as JSON or as a page) or a completion: from the cache when it
 * holds this URI's answer for the index as it is now (only answers that
 * succeeded are kept, so a request refused is never found there), else
 * worked out, and kept. */
static enum MHD_Result search_or_complete(server *s, struct MHD_Connection *c, request *rq,
                                          int suggest, int page)
{
    held_index *h = acquire(s);
    rq->index = h->index;
    rq->state.handle = h->number;
    rq->cacheable = s->cache && dks_index_commit_id(h->index, &rq->state.commit) == DKS_OK;
    char *body;
    size_t len;
    const char *type;
    enum MHD_Result ok;
    if (rq->cacheable &&
        answer_cache_get(s->cache, rq->uri, rq->state, &body, &len, &type) == 0) {
        rq->cached = 1;
        ok = send_response(c, rq, MHD_HTTP_OK, type, "no-store", body, len,
                           MHD_RESPMEM_MUST_FREE);
    } else {
        ok = suggest ? api_suggest(s, c, rq) : api_search(s, c, rq, page);
    }
    release(s, h);
    return ok;
}

static enum MHD_Result route(server *s, struct MHD_Connection *c, request *rq, const char *url)
{
    if (strcmp(url, "/api/search") == 0)
        return search_or_complete(s, c, rq, 0, 0);
    if (strcmp(url, "/api/suggest") == 0)
        return search_or_complete(s, c, rq, 1, 0);
    if (strcmp(url, "/api/info") == 0)
        return api_info(s, c, rq);
    if (strcmp(url, "/healthz") == 0)
        return send_text(c, rq, MHD_HTTP_OK, "ok\n");
    /* the form sent without a query is the page itself */
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
    if (strcmp(url, "/") == 0 && q && *q)
        return search_or_complete(s, c, rq, 0, 1);
    const dks_web_file *f = web_file(strcmp(url, "/") == 0 ? "/index.html" : url);
    if (f)
        return send_response(c, rq, MHD_HTTP_OK, f->type,
                             strcmp(f->path, "/index.html") == 0 ? "no-cache"
                                                                  : "public, max-age=3600",
                             (void *)f->data, f->len, MHD_RESPMEM_PERSISTENT);
    if (strncmp(url, "/api/", 5) == 0) {
        dks_error_detail err = {0};
        set_detail(&err, "no such API: %.100s", url + 5);
        return send_error(c, rq, MHD_HTTP_NOT_FOUND, NULL, DKS_EINVAL, &err);
    }
    return send_text(c, rq, MHD_HTTP_NOT_FOUND, "not found\n");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **ctx)
{
    (void)version;
    (void)upload;
    server *s = cls;
    request *rq = *ctx;
    if (!rq)
        return MHD_NO;  /* the URI callback could not allocate */
    if (!rq->headers_read) {
        /* The first call comes with the headers; answering in it would
         * leave the rest of the request unread, and the connection could
         * not be kept alive for the next one. */
        rq->headers_read = 1;
        return MHD_YES;
    }
    if (*upload_len) {
        *upload_len = 0;  /* a body is read and dropped; the answer follows it */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_text(c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (rq->uri_too_long)
        return send_text(c, rq, MHD_HTTP_URI_TOO_LONG, "the address is too long\n");
    if (!escapes_valid(rq->uri))
        return send_text(c, rq, MHD_HTTP_BAD_REQUEST, "bad percent-encoding in the address\n");
    return route(s, c, rq, url);
}

/* Called with the request's raw URI before anything decodes it. */
static void *request_start(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    request *rq = calloc(1, sizeof *rq);
    if (!rq)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &rq->started);
    size_t len = strlen(uri);
    rq->uri_too_long = len > MAX_URI_BYTES;
    memcpy(rq->uri, uri, rq->uri_too_long ? MAX_URI_BYTES : len);
    return rq;
}

/* One line a request: time, client, method, URI (control bytes and quotes
 * escaped, so a request cannot forge log lines), status, bytes, time taken. */
static void request_done(void *cls, struct MHD_Connection *c, void **ctx,
                         enum MHD_RequestTerminationCode how)
{
    server *s = cls;
    request *rq = *ctx;
    *ctx = NULL;
    if (!rq)
        return;
    if (!s->quiet) {
        char when[32], addr[64] = "-", uri[MAX_URI_BYTES * 3 + 1];
        time_t now = time(NULL);
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr)
            getnameinfo(ci->client_addr,
                        ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                               : sizeof(struct sockaddr_in),
                        addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
        size_t n = 0;
        for (const unsigned char *p = (const unsigned char *)rq->uri; *p; p++)
            n += (size_t)(*p < 0x21 || *p >= 0x7f || *p == '"'
                              ? sprintf(uri + n, "%%%02X", *p)
                              : (uri[n] = (char)*p, 1));
        uri[n] = 0;
        fprintf(stderr, "%s %s \"%s\" %u %zu %.2fms%s%s\n", when, addr, uri, rq->status,
                rq->bytes, elapsed_ms(&rq->started), rq->cached ? " cached" : "",
                how == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (not completed)");
    }
    free(rq);
}

/* ---- start-up ---------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [--db PATH] [--listen ADDRESS:PORT] [--facet FIELD]... "
            "[--threads N] [--cache-mib N] [--quiet]\n"
            "\n"
            "Serves the search page and its JSON API for an index, read-only.\n"
            "\n"
            "  --db PATH          index directory (default: $DKSEARCH_DB or ./dksearch.db)\n"
            "  --listen ADDR:PORT where to listen (default 127.0.0.1:8080; port 0: any\n"
            "                     free port; [::1]:8080 for IPv6)\n"
            "  --facet FIELD      a stored field the page offers as a filter (repeatable)\n"
            "  --threads N        threads answering requests (default: the cores)\n"
            "  --cache-mib N      answers kept for repeated requests until the index\n"
            "                     changes (default 32; 0: none)\n"
            "  --quiet            no line a request on standard error\n");
}

/* "host:port" or "[v6]:port" into a socket address. */
static int parse_listen(const char *spec, struct sockaddr_storage *out)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host)
        return -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = 0;
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = 0;
        h++;
    }
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    if (getaddrinfo(h, colon + 1, &hints, &ai) != 0)
        return -1;
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

int main(int argc, char **argv)
{
    const char *db = getenv("DKSEARCH_DB"), *listen_at = "127.0.0.1:8080";
    long threads = sysconf(_SC_NPROCESSORS_ONLN), cache_mib = 32;
    server s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            db = argv[++i];
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen_at = argv[++i];
        } else if (strcmp(argv[i], "--facet") == 0 && i + 1 < argc) {
            if (s.n_facets == MAX_FACETS) {
                fprintf(stderr, PROG ": at most %d --facet\n", MAX_FACETS);
                return 2;
            }
            s.facets[s.n_facets++] = argv[++i];
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (cli_number(PROG, argv[i], argv[i + 1], 1, 64, &threads))
                return 2;
            i++;
        } else if (strcmp(argv[i], "--cache-mib") == 0 && i + 1 < argc) {
            if (cli_number(PROG, argv[i], argv[i + 1], 0, 65536, &cache_mib))
                return 2;
            i++;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            s.quiet = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, PROG ": unknown argument %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    s.db = db && *db ? db : "dksearch.db";
    struct sockaddr_storage addr;
    if (parse_listen(listen_at, &addr) != 0) {
        fprintf(stderr, PROG ": --listen %s: not an address and port (127.0.0.1:8080)\n",
                listen_at);
        return 2;
    }
    dks_error_detail err = {0};
    held_index *h = calloc(1, sizeof *h);
    int rc = h ? dks_index_open(s.db, DKS_OPEN_READ, &h->index, &err) : DKS_ENOMEM;
    if (rc) {
        fprintf(stderr, PROG ": %s\n", err.message[0] ? err.message : dks_strerror(rc));
        free(h);
        return 2;
    }
    /* the first requests would otherwise wait for the pages they read */
    if (dks_index_warm(h->index, &err) != DKS_OK)
        fprintf(stderr, PROG ": %s\n", err.message);
    s.current = h;
    h->number = ++s.handles_opened;
    clock_gettime(CLOCK_MONOTONIC, &s.checked);
    if (cache_mib && !(s.cache = answer_cache_new((size_t)cache_mib << 20))) {
        fprintf(stderr, PROG ": out of memory for a cache of %ld MiB\n", cache_mib);
        dks_index_close(h->index);
        free(h);
        return 2;
    }

    /* Stopped by SIGINT or SIGTERM, taken by this thread alone: blocked
     * before the daemon's threads start, so they inherit the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_URI_LOG_CALLBACK, request_start, &s,
        MHD_OPTION_NOTIFY_COMPLETED, request_done, &s, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, PROG ": cannot listen on %s: %s\n", listen_at, strerror(errno));
        dks_index_close(h->index);
        free(h);
        return 2;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(listen_at, ':') - listen_at), listen_at);
    fprintf(stderr, PROG ": listening on http://%s:%u/ (index %s)\n", host,
            di ? di->port : 0, s.db);
    fflush(stderr);

    int sig;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    if (s.cache && !s.quiet) {
        answer_cache_stats cs;
        answer_cache_stats_get(s.cache, &cs);
        fprintf(stderr, PROG ": cache: %llu hits, %llu misses, %llu answers in %.1f MiB at exit\n",
                (unsigned long long)cs.hits, (unsigned long long)cs.misses,
                (unsigned long long)cs.entries, cs.bytes / 1048576.0);
    }
    answer_cache_free(s.cache);
    dks_index_close(s.current->index);
    free(s.current);
    return 0;
}
