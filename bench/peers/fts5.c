/*
 * fts5 - the SQLite FTS5 peer of the benchmark.
 *
 *   fts5 index DB CORPUS.jsonl    one transaction, unicode61 tokenizer
 *   fts5 query DB QUERIES.txt     top 10 by bm25(), one JSON line a query
 *
 * Queries come in dksearch's syntax (words, OR, "phrases", prefix*) and are
 * rewritten word by word into FTS5's: every word quoted, so that Danish
 * letters and digits never meet FTS5's bareword rules.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "fts5: %s: %s\n", what, db ? sqlite3_errmsg(db) : "cannot open");
    return 2;
}

static const char *field(json_t *doc, const char *name)
{
    const char *s = json_string_value(json_object_get(doc, name));
    return s ? s : "";
}

static int build(sqlite3 *db, const char *corpus)
{
    FILE *in = fopen(corpus, "r");
    if (!in) {
        perror(corpus);
        return 2;
    }
    sqlite3_stmt *insert;
    if (sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                         "CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body,"
                         " tokenize='unicode61'); BEGIN", NULL, NULL, NULL) ||
        sqlite3_prepare_v2(db, "INSERT INTO docs VALUES (?, ?, ?)", -1, &insert, NULL)) {
        fclose(in);
        return fail(db, "create");
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (getline(&line, &cap, in) > 0) {
        json_t *doc = json_loads(line, 0, NULL);
        if (!doc)
            continue;
        sqlite3_bind_text(insert, 1, field(doc, "id"), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 2, field(doc, "title"), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 3, field(doc, "body"), -1, SQLITE_TRANSIENT);
        json_decref(doc);
        if (sqlite3_step(insert) != SQLITE_DONE) {
            rc = fail(db, "insert");
            break;
        }
        sqlite3_reset(insert);
    }
    free(line);
    fclose(in);
    sqlite3_finalize(insert);
    if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL))
        rc = fail(db, "commit");
    return rc;
}

/* dksearch syntax to FTS5: words and prefixes quoted, OR kept, phrases
 * kept as they are. */
static void to_fts5(const char *q, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    while (*q && at + 8 < cap) {
        while (*q == ' ')
            q++;
        if (!*q)
            break;
        const char *end;
        if (*q == '"') {
            end = strchr(q + 1, '"');
            end = end ? end + 1 : q + strlen(q);
            at += (size_t)snprintf(out + at, cap - at, "%.*s ", (int)(end - q), q);
        } else {
            end = q + strcspn(q, " ");
            size_t len = (size_t)(end - q);
            if (len == 2 && strncmp(q, "OR", 2) == 0)
                at += (size_t)snprintf(out + at, cap - at, "OR ");
            else if (q[len - 1] == '*')
                at += (size_t)snprintf(out + at, cap - at, "\"%.*s\" * ", (int)len - 1, q);
            else
                at += (size_t)snprintf(out + at, cap - at, "\"%.*s\" ", (int)len, q);
        }
        q = end;
    }
}

static int search(sqlite3 *db, const char *queries)
{
    FILE *in = fopen(queries, "r");
    if (!in) {
        perror(queries);
        return 2;
    }
    sqlite3_stmt *top;
    if (sqlite3_prepare_v2(db, "SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs)"
                               " LIMIT 10", -1, &top, NULL)) {
        fclose(in);
        return fail(db, "prepare");
    }
    char *line = NULL, match[4096];
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) > 0) {
        line[strcspn(line, "\n")] = '\0';
        to_fts5(line, match, sizeof match);
        json_t *hits = json_array();
        double started = now_us();
        sqlite3_bind_text(top, 1, match, -1, SQLITE_STATIC);
        while (sqlite3_step(top) == SQLITE_ROW)
            json_array_append_new(hits, json_string((const char *)sqlite3_column_text(top, 0)));
        sqlite3_reset(top);
        double took = now_us() - started;
        json_t *result = json_pack("{s:s, s:I, s:o}", "query", line, "took_us",
                                   (json_int_t)took, "hits", hits);
        char *text = json_dumps(result, JSON_COMPACT);
        puts(text);
        free(text);
        json_decref(result);
    }
    free(line);
    fclose(in);
    sqlite3_finalize(top);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "index") != 0 && strcmp(argv[1], "query") != 0)) {
        fprintf(stderr, "usage: fts5 index DB CORPUS.jsonl | fts5 query DB QUERIES.txt\n");
        return 2;
    }
    int building = strcmp(argv[1], "index") == 0;
    sqlite3 *db;
    if (sqlite3_open_v2(argv[2], &db, building ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                               : SQLITE_OPEN_READONLY, NULL))
        return fail(db, argv[2]);
    int rc = building ? build(db, argv[3]) : search(db, argv[3]);
    sqlite3_close(db);
    return rc;
}
