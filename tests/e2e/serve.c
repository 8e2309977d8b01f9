/*
 * serve.c - end-to-end tests of dksearch-serve: the real server on the
 * fixture corpus, on 127.0.0.1 with a port of its choosing, asked over
 * plain HTTP: the API's answers (the same as dksearch-query's), hostile
 * requests, the headers every response carries, the page without
 * JavaScript, one log line a request, repeated searches answered from the
 * cache, and an index committed to and compacted under it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"

static pid_t g_server;
static int g_port;
static char g_log[4400];

typedef struct http_reply {
    int status;
    char *headers;  /* the header block, lines joined */
    char *body;
    size_t body_len;
} http_reply;

static void reply_free(http_reply *r)
{
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* One request on a connection of its own; method and target sent as given. */
static http_reply http(const char *method, const char *target)
{
    http_reply r = {0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        fail_msg("cannot connect to the server on port %d: %s", g_port, strerror(errno));
    size_t cap = strlen(target) + 256, n = 0;
    char *req = malloc(cap);
    snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n",
             method, target, strcmp(method, "POST") == 0 ? "Content-Length: 3\r\n\r\nabc" : "");
    size_t len = strlen(req);
    if (write(fd, req, len) != (ssize_t)len)
        fail_msg("cannot send a request");
    free(req);
    size_t got_cap = 1 << 16;
    char *buf = malloc(got_cap);
    ssize_t got;
    while ((got = read(fd, buf + n, got_cap - n - 1)) > 0) {
        n += (size_t)got;
        if (n + 1 == got_cap)
            buf = realloc(buf, got_cap *= 2);
    }
    close(fd);
    buf[n] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    if (!end || sscanf(buf, "HTTP/1.%*d %d", &r.status) != 1)
        fail_msg("not an HTTP reply: %.200s", buf);
    r.headers = strndup(buf, (size_t)(end - buf));
    r.body_len = n - (size_t)(end + 4 - buf);
    r.body = malloc(r.body_len + 1);
    memcpy(r.body, end + 4, r.body_len + 1);
    free(buf);
    return r;
}

static void expect_header(const http_reply *r, const char *line)
{
    assert_contains(r->headers, line);
}

/* What every response must carry, whatever its status. */
static void expect_safe_headers(const http_reply *r)
{
    expect_header(r, "Content-Security-Policy: default-src 'none'; script-src 'self'");
    expect_header(r, "X-Content-Type-Options: nosniff");
    expect_header(r, "Cache-Control: ");
}

static http_reply get_ok(const char *target)
{
    http_reply r = http("GET", target);
    if (r.status != 200)
        fail_msg("GET %s: %d %s", target, r.status, r.body);
    expect_safe_headers(&r);
    return r;
}

/* GET target answers 200 with needle in its body. */
static void expect_body(const char *target, const char *needle)
{
    http_reply r = get_ok(target);
    assert_contains(r.body, needle);
    reply_free(&r);
}

static int start_server(const char *db, const char *facet)
{
    char bin[4200];
    snprintf(bin, sizeof bin, "%s/dksearch-serve", test_bin());
    snprintf(g_log, sizeof g_log, "%s/serve.log", g_tmp);
    g_server = fork();
    if (g_server == 0) {
        int log = open(g_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(log, 2);
        execl(bin, bin, "--db", db, "--listen", "127.0.0.1:0", "--facet", facet, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        char *log = test_read_file(g_log, NULL);
        const char *at = log ? strstr(log, "listening on http://127.0.0.1:") : NULL;
        if (at)
            g_port = atoi(at + strlen("listening on http://127.0.0.1:"));
        free(log);
        if (g_port)
            return 0;
        usleep(10000);
    }
    return -1;
}

/* ---- the API ---------------------------------------------------------------- */

static void test_health_and_info(void **state)
{
    (void)state;
    http_reply r = get_ok("/healthz");
    assert_string_equal(r.body, "ok\n");
    reply_free(&r);
    r = get_ok("/api/info");
    assert_string_equal(r.body, "{\"documents\":19,\"facets\":[\"party\"]}");
    expect_header(&r, "Content-Type: application/json");
    reply_free(&r);
}

/* The API answers what dksearch-query --json answers, but for the time. */
static void test_search_as_the_query_binary(void **state)
{
    (void)state;
    static const char *const queries[][2] = {
        {"klima", "klima"},
        {"kommune%20OR%20borgmester", "kommune OR borgmester"},
        {"%22den%20offentlige%20sektor%22", "\"den offentlige sektor\""},
        {"velf%C3%A6rdsalliance", "velfærdsalliance"},
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        char target[256];
        snprintf(target, sizeof target, "/api/search?q=%s&limit=5", queries[i][0]);
        http_reply r = get_ok(target);
        hits a = {0}, b = {0};
        char *line = malloc(r.body_len + 2);
        memcpy(line, r.body, r.body_len);
        memcpy(line + r.body_len, "\n", 2);
        check_json(line, queries[i][1], &a);
        free(line);
        test_run q = test_tool("dksearch-query", "--db", g_db, "--json", "--limit", "5",
                               queries[i][1], NULL);
        check_json(q.out, queries[i][1], &b);
        assert_int_equal(a.total, b.total);
        assert_true(json_equal(json_object_get(a.root, "hits"), json_object_get(b.root, "hits")));
        hits_free(&a);
        hits_free(&b);
        test_run_free(&q);
        reply_free(&r);
    }
    /* paging, filters and facets */
    http_reply r = get_ok("/api/search?q=kommune&limit=2&offset=1&facet=party");
    assert_contains(r.body, "\"facets\":{\"party\":");
    assert_contains(r.body, "\"query\":\"kommune\"");
    reply_free(&r);
    expect_body("/api/search?q=klima&typing=1", "\"hits\":[{");
}

static void test_suggest(void **state)
{
    (void)state;
    http_reply r = get_ok("/api/suggest?q=kommun");
    assert_contains(r.body, "\"prefix\":\"kommun\"");
    assert_contains(r.body, "{\"text\":\"kommune\",\"word\":\"kommune\",\"df\":");
    reply_free(&r);
    expect_body("/api/suggest?q=den%20offentlige%20sek", "\"text\":\"den offentlige sektor\"");
    /* a query that ends in a space is no word being typed */
    expect_body("/api/suggest?q=kommun%20", "\"completions\":[]");
}

/* ---- hostile requests ------------------------------------------------------- */

static void expect_status(const char *method, const char *target, int status)
{
    http_reply r = http(method, target);
    if (r.status != status)
        fail_msg("%s %.80s: expected %d, got %d %s", method, target, status, r.status, r.body);
    if (status != 414 && status != 431)
        expect_safe_headers(&r);
    reply_free(&r);
}

static void test_hostile_requests(void **state)
{
    (void)state;
    expect_status("GET", "/api/search?q=%28velf%C3%A6rd", 400);  /* "(velfærd" */
    expect_status("GET", "/api/search?q=klima&limit=1000", 400);
    expect_status("GET", "/api/search?q=klima&limit=abc", 400);
    expect_status("GET", "/api/search?q=klima&offset=-1", 400);
    expect_status("GET", "/api/search?q=%zz", 400);
    expect_status("GET", "/api/search?q=%4", 400);
    expect_status("GET", "/api/search?q=ab%00cd", 400);
    expect_status("GET", "/api/nothing", 404);
    expect_status("POST", "/api/search?q=klima", 405);
    expect_status("DELETE", "/", 405);
    /* a URL longer than the limit */
    char *longq = malloc(6000);
    strcpy(longq, "/api/search?q=");
    memset(longq + 14, 'a', 5900);
    longq[5914] = 0;
    expect_status("GET", longq, 414);
    /* a query over the library's limit, in a URL under the server's */
    memset(longq + 14, 'a', 4050);
    longq[4064] = 0;
    http_reply r = http("GET", longq);
    assert_true(r.status == 400 || r.status == 414);
    reply_free(&r);
    free(longq);
    /* only its own files: no path leads out of them */
    static const char *const paths[] = {
        "/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd",
        "/web/index.html", "/index.html/../../etc/passwd", "//etc/passwd", "/%2fetc%2fpasswd",
        "/.git/config", "/server/main.c"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        r = http("GET", paths[i]);
        if (r.status != 404 && r.status != 400)
            fail_msg("GET %s: %d", paths[i], r.status);
        assert_null(strstr(r.body, "root:"));
        reply_free(&r);
    }
    /* markup in a query never comes back as markup */
    r = get_ok("/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22%3E%3Cimg");
    assert_null(strstr(r.body, "<script>"));
    assert_null(strstr(r.body, "<img"));
    assert_contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img");
    reply_free(&r);
    r = http("GET", "/api/search?q=%3Cscript%3E");
    expect_header(&r, "Content-Type: application/json");
    assert_null(strstr(r.body, "<script>"));
    reply_free(&r);
    /* HEAD: the headers, no body */
    r = http("HEAD", "/");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    reply_free(&r);
}

/* ---- the page ----------------------------------------------------------------- */

static void test_page_and_static_files(void **state)
{
    (void)state;
    http_reply r = get_ok("/");
    expect_header(&r, "Content-Type: text/html; charset=utf-8");
    assert_contains(r.body, "<html lang=\"da\">");
    assert_contains(r.body, "<form");
    reply_free(&r);
    r = get_ok("/style.css");
    expect_header(&r, "Content-Type: text/css");
    reply_free(&r);
    /* paging without JavaScript keeps the page size */
    expect_body("/?q=kommune&limit=2", "id=\"next\" href=\"?q=kommune&amp;offset=2&amp;limit=2\"");
    expect_body("/?q=kommune&limit=2&offset=2", "id=\"prev\" href=\"?q=kommune&amp;limit=2\"");
    /* the form sent with an empty box: the page, not an error */
    expect_body("/?q=", "<form");
    /* without JavaScript: the form's answer is a page with the hits marked */
    r = get_ok("/?q=cyklerne");
    assert_contains(r.body, "resultat");
    assert_contains(r.body, "<mark>");
    assert_contains(r.body, "value=\"cyklerne\"");
    reply_free(&r);
    expect_body("/?q=kilma", "Mente du <a id=\"suggestion-link\" href=\"?q=klimaet\">klimaet</a>?");
    r = http("GET", "/?q=%28velf%C3%A6rd");
    assert_int_equal(r.status, 400);
    assert_contains(r.body, "status error\"");
    reply_free(&r);
}

/* One line a request, its control bytes escaped. */
static void test_log_lines(void **state)
{
    (void)state;
    http_reply r = http("GET", "/api/search?q=log%0Aforged%20line");
    reply_free(&r);
    usleep(100000);
    char *log = test_read_file(g_log, NULL);
    assert_non_null(log);
    assert_contains(log, "\"/api/search?q=log%0Aforged%20line\" 200 ");
    assert_null(strstr(log, "\nforged"));
    size_t lines = 0;
    for (const char *p = log; (p = strchr(p, '\n')); p++)
        lines++;
    assert_true(lines > 20);  /* the start-up line and one a request before */
    free(log);
}

/* A search asked again is answered from the cache, byte for byte the
 * same; another page of it is a search of its own. */
static void test_repeated_search_from_cache(void **state)
{
    (void)state;
    http_reply first = get_ok("/api/search?q=sygehus&limit=2");
    assert_null(strstr(first.headers, "X-Cache"));
    http_reply again = get_ok("/api/search?q=sygehus&limit=2");
    expect_header(&again, "X-Cache: hit");
    assert_int_equal(again.body_len, first.body_len);
    assert_memory_equal(again.body, first.body, first.body_len);
    http_reply next = get_ok("/api/search?q=sygehus&limit=2&offset=2");
    assert_null(strstr(next.headers, "X-Cache"));
    assert_true(next.body_len != first.body_len || memcmp(next.body, first.body, first.body_len));
    reply_free(&first);
    reply_free(&again);
    reply_free(&next);
    usleep(100000);
    char *log = test_read_file(g_log, NULL);
    assert_contains(log, "\"/api/search?q=sygehus&limit=2\" 200 ");
    assert_contains(log, " cached\n");
    free(log);
}

/* The indexer commits and compacts beside the server: it sees both, and
 * no answer cached before a commit is given after it. */
static void test_new_commits_and_compaction(void **state)
{
    (void)state;
    expect_body("/api/search?q=vindm%C3%B8lleparken", "\"total\":0");
    test_run t = test_tool_stdin("{\"id\": \"ny\", \"body\": \"Vindmølleparken ved kysten.\"}\n",
                                 "dksearch-index", "--db", g_db, "-", NULL);
    assert_int_equal(t.status, 0);
    test_run_free(&t);
    expect_body("/api/search?q=vindm%C3%B8lleparken", "\"total\":1");
    t = test_tool("dksearch-index", "--db", g_db, "--compact", NULL);
    assert_int_equal(t.status, 0);
    test_run_free(&t);
    t = test_tool_stdin("{\"id\": \"ny2\", \"body\": \"Endnu en vindmølleparken.\"}\n",
                        "dksearch-index", "--db", g_db, "-", NULL);
    assert_int_equal(t.status, 0);
    test_run_free(&t);
    usleep(300000);  /* past the server's recheck of the directory */
    expect_body("/api/search?q=vindm%C3%B8lleparken", "\"total\":2");
}

static int setup(void **state)
{
    if (index_fixture("corpus", NULL) != 0)
        return -1;
    (void)state;
    return start_server(g_db, "party");
}

static int teardown(void **state)
{
    if (g_server > 0) {
        kill(g_server, SIGTERM);
        int st;
        waitpid(g_server, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fprintf(stderr, "the server did not stop cleanly (status %d)\n", st);
    }
    return group_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_info),
        cmocka_unit_test(test_search_as_the_query_binary),
        cmocka_unit_test(test_suggest),
        cmocka_unit_test(test_hostile_requests),
        cmocka_unit_test(test_page_and_static_files),
        cmocka_unit_test(test_log_lines),
        cmocka_unit_test(test_repeated_search_from_cache),
        cmocka_unit_test(test_new_commits_and_compaction),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
