/*
 * dksearch-index - adds documents to a dksearch index.
 *
 *   dksearch-index [--db PATH] [OPTIONS] FILE|DIR|- ...
 *   dksearch-index [--db PATH] --delete ID...
 *   dksearch-index [--db PATH] --check | --compact
 *
 * Files are read by extension (.txt, .jsonl, .tsv, .html; a file named on the
 * command line with another extension is read as text); directories are
 * walked recursively for those extensions; "-" reads JSON Lines from
 * standard input.  A .txt document's id is its path as given, or relative
 * to the directory argument it was found under.  Re-indexing an id
 * replaces the document.
 *
 * Every file is recorded in the index as a source (its absolute path,
 * size, modification time and content hash, and the ids it gave), so that
 * indexing it again reads it only when it changed, and deletes the
 * documents it no longer holds; --delete-missing also forgets the files
 * under a directory that are gone.
 *
 * Exit status: 0 when every input was read, 1 when --delete named ids the
 * index does not hold, 2 when any input could not be read (what could be
 * read is still committed), or on an index error or a failed check.
 */
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dksearch.h"
#include "../cli/fault.h"
#include "../cli/options.h"

#define PROG "dksearch-index"

/* A directory already walked, to survive symbolic-link loops. */
typedef struct visited_dir {
    dev_t dev;
    ino_t ino;
} visited_dir;

/* Source paths seen in this run under the directories given, for
 * --delete-missing. */
typedef struct path_list {
    char **paths;
    size_t n, cap;
} path_list;

typedef struct run {
    dks_index *index;
    dks_writer *writer;
    visited_dir *visited;
    size_t n_visited, visited_cap;
    int quiet;
    int progress;          /* standard error is a terminal */
    int reindex;           /* read every file, changed or not */
    int delete_missing;
    path_list seen;        /* with delete_missing */
    unsigned long skipped;
    unsigned long unchanged;  /* files not read again */
    unsigned long input_errors;
    const char *current;   /* the file being read, for messages */
    long line_base;        /* lines of it before the chunk being parsed */
    double started;
    double last_progress;
} run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [--db PATH] [OPTIONS] FILE|DIR|- ...\n"
            "       " PROG " [--db PATH] --delete ID...\n"
            "       " PROG " [--db PATH] --check | --compact\n"
            "\n"
            "Indexes .txt files (title = first non-empty line), .jsonl files (one\n"
            "{\"id\", \"title\", \"body\", ...} object a line), .tsv files (id<TAB>text a\n"
            "line) and .html/.htm pages (title = <title>; the text without scripts,\n"
            "styles and navigation; the field lang from <html lang>).  Directories\n"
            "are walked recursively; - reads JSON Lines from standard input.  A\n"
            "document whose id is already indexed is replaced.\n"
            "Files indexed before are read again only if their size, time or\n"
            "content changed; documents a changed file no longer holds are deleted.\n"
            "\n"
            "  --db PATH          index directory (default: $DKSEARCH_DB or ./dksearch.db)\n"
            "  --analysis LIST    for a new index: the Danish stages to use, \"all\"\n"
            "                     (default), \"snowball\" (none), or a list of spelling,\n"
            "                     compounds, ellipsis, lemmas\n"
            "  --threads N        1: all work on one thread; 2 (the default on two\n"
            "                     or more cores): analysis on a second thread\n"
            "  --memory MIB       what indexing may use (default 512, at least 64):\n"
            "                     batches are committed before they outgrow it\n"
            "  --commit-every N   commit after at most N documents (default: as\n"
            "                     the memory allows, the fastest)\n"
            "  --delete-missing   also delete the documents of files that are gone\n"
            "                     from the directories given\n"
            "  --reindex          read every file again, changed or not\n"
            "  --delete ID...     delete the documents with these ids\n"
            "  --compact          rewrite the index at its smallest (after the rest)\n"
            "  --check            check the index's integrity: every term, posting,\n"
            "                     document and count\n"
            "  --quiet            print no progress and no summary\n"
            "\n"
            "Exit status: 0 done, 1 --delete found ids not in the index, 2 an input\n"
            "could not be read, or an index error, or the check failed.\n");
}

static void show_progress(run *r, int final)
{
    if (!r->progress || r->quiet)
        return;
    double t = now();
    if (!final && t - r->last_progress < 0.25)
        return;
    r->last_progress = t;
    dks_writer_stats st;
    dks_writer_stats_get(r->writer, &st);
    double mib = st.bytes / 1048576.0, secs = t - r->started;
    fprintf(stderr, "\r%llu documents, %.1f MiB, %.1f MiB/s   %s",
            (unsigned long long)(st.added + st.replaced), mib, secs > 0 ? mib / secs : 0.0,
            final ? "\r\033[K" : "");
    fflush(stderr);
}

static int add_document(const dks_document *doc, long line, void *ctx)
{
    run *r = ctx;
    dks_error_detail err = {0};
    int rc = dks_writer_add(r->writer, doc, NULL, &err);
    if ((rc == DKS_EINPUT || rc == DKS_ELIMIT) && !dks_writer_failed(r->writer)) {
        /* This document is bad, the run is not: skip it. */
        fprintf(stderr, PROG ": %s:%ld: skipped: %s\n", r->current, r->line_base + line,
                err.message);
        r->skipped++;
        return 0;
    }
    if (rc) {
        fprintf(stderr, PROG ": %s:%ld: %s\n", r->current, r->line_base + line, err.message);
        return rc;
    }
    show_progress(r, 0);
    return 0;
}

static void skip_record(long line, const char *reason, void *ctx)
{
    run *r = ctx;
    fprintf(stderr, PROG ": %s:%ld: skipped: %s\n", r->current, r->line_base + line, reason);
    r->skipped++;
}

/* Indexes one buffer; returns non-zero only for index errors. */
static int index_buffer(run *r, dks_format format, const char *id, const char *data, size_t len)
{
    if (len == 0) {
        skip_record(1, "empty file", r);
        return 0;
    }
    return dks_parse_documents(format, id, strlen(id), data, len, add_document, skip_record, r,
                               NULL);
}

/* JSON Lines and TSV are parsed this much at a time, cut at a line end, so
 * that what the indexer holds of its input stays bounded however large
 * the input is. */
#define CHUNK_BYTES ((size_t)8 << 20)

/* The end of the last whole line in data[0, len) that lies within the
 * first CHUNK_BYTES (or, for a longer line, that line's end); len if the
 * rest is shorter than a chunk. */
static size_t chunk_end(const char *data, size_t len)
{
    if (len <= CHUNK_BYTES)
        return len;
    for (size_t i = CHUNK_BYTES; i > 0; i--)
        if (data[i - 1] == '\n')
            return i;
    const char *nl = memchr(data + CHUNK_BYTES, '\n', len - CHUNK_BYTES);
    return nl ? (size_t)(nl - data) + 1 : len;
}

static long count_lines(const char *data, size_t len)
{
    long n = 0;
    for (const char *p = data; (p = memchr(p, '\n', len - (size_t)(p - data))); p++)
        n++;
    return n;
}

/* Drops the pages of a mapped input that are parsed: they would otherwise
 * stay in the indexer's resident set until the whole file is done. */
static void release_mapped(const char *data, size_t upto)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t whole = upto / page * page;
    if (whole)
        madvise((void *)data, whole, MADV_DONTNEED);
}

/* A mapped file's content hash, taken CHUNK_BYTES at a time (the pieces
 * and their order make the value), and its pages let go of once hashed
 * and parsed. */
typedef struct mapped_input {
    const char *data;
    size_t len, hashed;
    uint64_t hash;
} mapped_input;

/* Hashes the pieces that end by upto (all, once upto is len) and lets go
 * of the pages both are through with. */
static void mapped_advance(mapped_input *m, size_t upto)
{
    for (;;) {
        /* (each piece as it is hashed: a file hashed whole before it is
         * parsed is never resident all at once) */
        release_mapped(m->data, m->hashed < upto ? m->hashed : upto);
        if (m->hashed == m->len || (m->hashed + CHUNK_BYTES > upto && upto != m->len))
            return;
        size_t n = m->len - m->hashed < CHUNK_BYTES ? m->len - m->hashed : CHUNK_BYTES;
        m->hash = dks_source_hash(m->hash, m->data + m->hashed, n);
        m->hashed += n;
    }
}

/* Parses a buffer of whole lines chunk by chunk; a mapped input is hashed
 * as it is parsed (NULL: standard input, not hashed). */
static int index_lines(run *r, dks_format format, const char *id, const char *data, size_t len,
                       mapped_input *mapped)
{
    int rc = 0;
    for (size_t at = 0; at < len && !rc;) {
        size_t n = chunk_end(data + at, len - at);
        rc = dks_parse_documents(format, id, strlen(id), data + at, n, add_document,
                                 skip_record, r, NULL);
        r->line_base += count_lines(data + at, n);
        at += n;
        if (mapped)
            mapped_advance(mapped, at);
    }
    return rc;
}

static void input_error(run *r, const char *path, const char *what)
{
    fprintf(stderr, PROG ": cannot read %s: %s\n", path, what);
    r->input_errors++;
}

/* Notes a source as seen under a directory given (for --delete-missing). */
/* Appends a copy of path[0, len). */
static int path_list_add(path_list *l, const char *path, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **p = realloc(l->paths, cap * sizeof *p);
        if (!p)
            return DKS_ENOMEM;
        l->paths = p;
        l->cap = cap;
    }
    if (!(l->paths[l->n] = strndup(path, len)))
        return DKS_ENOMEM;
    l->n++;
    return 0;
}

static void path_list_free(path_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    memset(l, 0, sizeof *l);
}

static int note_seen(run *r, const char *key)
{
    return r->delete_missing ? path_list_add(&r->seen, key, strlen(key)) : 0;
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Reports a writer error about a source; returns the code. */
static int source_error(const char *path, int rc, const dks_error_detail *err)
{
    fprintf(stderr, PROG ": %s: %s\n", path, err->message[0] ? err->message : dks_strerror(rc));
    return rc;
}

static int index_file(run *r, const char *path, const char *id, dks_format format)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        input_error(r, path, strerror(errno));
        return 0;
    }
    struct stat st;
    int stat_rc = fstat(fd, &st);
    if (stat_rc != 0 || !S_ISREG(st.st_mode)) {
        input_error(r, path, stat_rc != 0 ? strerror(errno) : "not a regular file");
        close(fd);
        return 0;
    }
    /* The file as a source: by its absolute path, so that any spelling
     * of it on the command line finds the same record. */
    char key[PATH_MAX];
    int tracked = realpath(path, key) && strlen(key) <= 500;
    int rc = tracked ? note_seen(r, key) : 0;
    dks_source_info known, info = {.size = (uint64_t)st.st_size, .mtime_ns = mtime_ns(&st)};
    int is_known = tracked && !r->reindex &&
                   dks_index_source_get(r->index, key, strlen(key), &known) == 0;
    if (rc || (is_known && known.size == info.size && known.mtime_ns == info.mtime_ns)) {
        r->unchanged += !rc;
        close(fd);
        return rc;
    }
    size_t len = (size_t)st.st_size;
    void *data = NULL;
    if (len > 0) {
        data = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            input_error(r, path, strerror(errno));
            close(fd);
            return 0;
        }
    }
    close(fd);
    dks_error_detail err = {0};
    fault_input = path;
    fault_input_len = len;
    fault_input_map = data;
    /* Only a file of the size it had can be unchanged: its hash is read
     * first.  Any other is hashed as it is parsed, which reads it once,
     * instead of once for the hash and again for the documents. */
    mapped_input mapped = {data, len, 0, 0};
    int lines = !(format == DKS_FORMAT_TEXT || format == DKS_FORMAT_HTML || len == 0);
    if ((is_known && known.size == info.size) || !lines) {
        mapped_advance(&mapped, len);
        info.hash = mapped.hash;
    }
    if (is_known && known.size == info.size && known.hash == info.hash) {
        /* touched, not changed */
        r->unchanged++;
        if ((rc = dks_writer_source_touch(r->writer, key, strlen(key), &info, &err)))
            source_error(path, rc, &err);
    } else {
        if (tracked && (rc = dks_writer_source_begin(r->writer, key, strlen(key), &err)))
            source_error(path, rc, &err);
        r->current = path;
        r->line_base = 0;
        if (!rc)
            rc = lines ? index_lines(r, format, id, data, len, &mapped)
                       : index_buffer(r, format, id, data ? data : "", len);
        info.hash = mapped.hash;  /* all of the file's, once parsed */
        if (!rc && tracked && (rc = dks_writer_source_end(r->writer, &info, &err)))
            source_error(path, rc, &err);
    }
    fault_input_map = NULL;
    if (data)
        munmap(data, len);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Records a directory as walked; returns 1 if it already was. */
static int seen_before(run *r, const struct stat *st)
{
    for (size_t i = 0; i < r->n_visited; i++)
        if (r->visited[i].dev == st->st_dev && r->visited[i].ino == st->st_ino)
            return 1;
    if (r->n_visited == r->visited_cap) {
        size_t cap = r->visited_cap ? r->visited_cap * 2 : 64;
        visited_dir *v = realloc(r->visited, cap * sizeof *v);
        if (!v)
            return 0;  /* without memory we only lose loop protection */
        r->visited = v;
        r->visited_cap = cap;
    }
    r->visited[r->n_visited++] = (visited_dir){st->st_dev, st->st_ino};
    return 0;
}

/* Walks dir in name order; ids of text files are relative to root, the
 * first root_len bytes of every path. */
static int index_dir(run *r, const char *dir, size_t root_len)
{
    struct stat dst;
    if (stat(dir, &dst) == 0 && seen_before(r, &dst)) {
        fprintf(stderr, PROG ": %s: skipped: directory already indexed in this run "
                "(a symbolic link loop?)\n", dir);
        r->skipped++;
        return 0;
    }
    DIR *d = opendir(dir);
    if (!d) {
        input_error(r, dir, strerror(errno));
        return 0;
    }
    path_list entries = {0};
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d)))
        if (e->d_name[0] != '.')  /* ., .. and hidden files */
            rc = path_list_add(&entries, e->d_name, strlen(e->d_name));
    closedir(d);
    char **names = entries.paths;
    size_t n = entries.n;
    if (!rc && n)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && !rc; i++) {
        size_t dl = strlen(dir), size = dl + strlen(names[i]) + 2;
        char *path = malloc(size);
        if (!path) {
            rc = DKS_ENOMEM;
            break;
        }
        snprintf(path, size, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
        struct stat st;
        dks_format format;
        if (stat(path, &st) != 0)
            input_error(r, path, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = index_dir(r, path, root_len);
        else if (S_ISREG(st.st_mode) && dks_format_from_name(path, &format) == 0)
            rc = index_file(r, path, path + root_len, format);
        free(path);
    }
    path_list_free(&entries);
    if (rc == DKS_ENOMEM)
        fprintf(stderr, PROG ": out of memory\n");
    return rc;
}

/* A line of standard input longer than this is skipped as it is read (the
 * library refuses longer lines too). */
#define STDIN_LINE_MAX ((size_t)64 << 20)

/* Reads standard input up to the end of the line in progress; what
 * follows it is left at the start of buf; returns its length. */
static size_t discard_line(char *buf, size_t cap)
{
    for (;;) {
        ssize_t got = read(STDIN_FILENO, buf, cap);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        char *nl = memchr(buf, '\n', (size_t)got);
        if (nl) {
            size_t rest = (size_t)got - (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, rest);
            return rest;
        }
    }
}

/* Standard input, a chunk of whole lines at a time. */
static int index_stdin(run *r)
{
    size_t len = 0, cap = CHUNK_BYTES;
    char *buf = malloc(cap);
    int rc = 0, seen = 0;
    r->current = "-";
    r->line_base = 0;
    for (;;) {
        ssize_t got = buf ? read(STDIN_FILENO, buf + len, cap - len) : 0;
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            input_error(r, "standard input", strerror(errno));
            break;
        }
        /* parse the whole lines read so far (only the new bytes are
         * searched for the last line end); keep the rest */
        size_t whole = len + (size_t)got;
        if (got != 0)
            while (whole > len && buf[whole - 1] != '\n')
                whole--;
        if (whole == len && got != 0)
            whole = 0;  /* no line ended in what was read: nothing before it did either */
        len += (size_t)got;
        seen |= len > 0;
        if (whole && (rc = index_lines(r, DKS_FORMAT_JSONL, "-", buf, whole, NULL)))
            break;
        memmove(buf, buf + whole, len - whole);
        len -= whole;
        if (got == 0)
            break;
        if (len >= STDIN_LINE_MAX) {
            /* the library would skip it anyway: skip it unread, rather
             * than hold a line without end */
            skip_record(1, "line is longer than the limit of 64 MiB for a line", r);
            len = discard_line(buf, cap);
            r->line_base++;
            continue;
        }
        if (len == cap) {  /* one line longer than the buffer */
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    if (!buf) {
        fprintf(stderr, PROG ": out of memory reading standard input\n");
        return DKS_ENOMEM;
    }
    free(buf);
    if (!rc && !seen)
        skip_record(1, "empty file", r);
    return rc;
}

static int index_arg(run *r, const char *arg)
{
    if (strcmp(arg, "-") == 0)
        return index_stdin(r);
    struct stat st;
    if (stat(arg, &st) != 0) {
        input_error(r, arg, strerror(errno));
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        /* ids are relative to the directory: "corpus//" and "corpus" give
         * the same ids, and "/" gives ids without the leading slash */
        size_t len = strlen(arg);
        while (len > 1 && arg[len - 1] == '/')
            len--;
        char *dir = strndup(arg, len);
        if (!dir) {
            fprintf(stderr, PROG ": out of memory\n");
            return DKS_ENOMEM;
        }
        int rc = index_dir(r, dir, len + (dir[len - 1] != '/'));
        free(dir);
        return rc;
    }
    dks_format format;
    if (dks_format_from_name(arg, &format) != 0)
        format = DKS_FORMAT_TEXT;
    return index_file(r, arg, arg, format);
}

typedef struct missing_walk {
    run *r;
    path_list gone;
} missing_walk;

static int collect_gone(void *ctx, const char *path, size_t len, const dks_source_info *info)
{
    (void)info;
    missing_walk *m = ctx;
    char *p = strndup(path, len);
    if (!p)
        return DKS_ENOMEM;
    int seen = bsearch(&p, m->r->seen.paths, m->r->seen.n, sizeof *m->r->seen.paths,
                       cmp_names) != NULL;
    free(p);
    return seen ? 0 : path_list_add(&m->gone, path, len);
}


/* --delete-missing: the sources recorded under each directory given that
 * this run did not find there (deleted, renamed, no longer indexable) go,
 * with their documents. */
static int delete_missing(run *r, char **args, int n_args, unsigned long *files)
{
    qsort(r->seen.paths, r->seen.n, sizeof *r->seen.paths, cmp_names);
    int rc = 0;
    for (int i = 0; i < n_args && !rc; i++) {
        char dir[PATH_MAX + 1];
        struct stat st;
        if (stat(args[i], &st) != 0 || !S_ISDIR(st.st_mode) || !realpath(args[i], dir))
            continue;
        size_t len = strlen(dir);
        if (len == 0 || dir[len - 1] != '/')
            strcat(dir, "/");  /* room: PATH_MAX + 1 */
        missing_walk m = {.r = r};
        dks_error_detail err = {0};
        rc = dks_index_sources(r->index, dir, strlen(dir), collect_gone, &m);
        for (size_t j = 0; j < m.gone.n && !rc; j++) {
            uint64_t n;
            rc = dks_writer_source_delete(r->writer, m.gone.paths[j], strlen(m.gone.paths[j]),
                                          &n, &err);
            if (rc)
                source_error(m.gone.paths[j], rc, &err);
            else if (!r->quiet)
                fprintf(stderr, PROG ": %s is gone: %llu documents deleted\n", m.gone.paths[j],
                        (unsigned long long)n);
            *files += !rc;
        }
        if (rc && !err.message[0])
            fprintf(stderr, PROG ": cannot list the files indexed under %s: %s\n", dir,
                    dks_strerror(rc));
        path_list_free(&m.gone);
    }
    return rc;
}

/* --delete ID...: returns 0, 1 if some ids were not in the index. */
static int delete_ids(run *r, char **ids, int n, int *rc)
{
    int not_found = 0;
    for (int i = 0; i < n && !*rc; i++) {
        dks_error_detail err = {0};
        int found;
        *rc = dks_writer_delete(r->writer, ids[i], strlen(ids[i]), &found, &err);
        if (*rc)
            fprintf(stderr, PROG ": cannot delete %s: %s\n", ids[i],
                    err.message[0] ? err.message : dks_strerror(*rc));
        else if (!found) {
            fprintf(stderr, PROG ": no document with id %s\n", ids[i]);
            not_found = 1;
        }
    }
    return not_found;
}

static int check_index(dks_index *index, const char *db, int quiet)
{
    dks_error_detail err = {0};
    dks_index_check_report rep;
    int rc = dks_index_check(index, &rep, &err);
    if (rc) {
        fprintf(stderr, PROG ": %s: check failed: %s\n", db,
                err.message[0] ? err.message : dks_strerror(rc));
        return 2;
    }
    if (!quiet)
        printf("%s is consistent: %llu documents, %llu terms, %llu postings (%llu blocks "
               "outside the dictionary), %llu files\n", db, (unsigned long long)rep.documents,
               (unsigned long long)rep.terms, (unsigned long long)rep.postings,
               (unsigned long long)rep.blocks, (unsigned long long)rep.sources);
    return 0;
}

int main(int argc, char **argv)
{
    const char *db = getenv("DKSEARCH_DB");
    const char *analysis = NULL;
    long threads = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
    long memory_mib = 512, commit_docs = 0;
    int deleting = 0, checking = 0, compacting = 0;
    run r = {.progress = isatty(STDERR_FILENO)};
    int first_input = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            db = argv[++i];
        } else if (strcmp(argv[i], "--analysis") == 0 && i + 1 < argc) {
            analysis = argv[++i];
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (cli_number(PROG, argv[i], argv[i + 1], 1, 2, &threads))
                return 2;
            i++;
        } else if (strcmp(argv[i], "--memory") == 0 && i + 1 < argc) {
            /* MiB */
            if (cli_number(PROG, argv[i], argv[i + 1], 64, 1 << 20, &memory_mib))
                return 2;
            i++;
        } else if (strcmp(argv[i], "--commit-every") == 0 && i + 1 < argc) {
            if (cli_number(PROG, argv[i], argv[i + 1], 1, 100000, &commit_docs))
                return 2;
            i++;
        } else if (strcmp(argv[i], "--delete") == 0) {
            deleting = 1;
        } else if (strcmp(argv[i], "--delete-missing") == 0) {
            r.delete_missing = 1;
        } else if (strcmp(argv[i], "--reindex") == 0) {
            r.reindex = 1;
        } else if (strcmp(argv[i], "--check") == 0) {
            checking = 1;
        } else if (strcmp(argv[i], "--compact") == 0) {
            compacting = 1;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            r.quiet = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--") == 0) {
            first_input = i + 1;
            break;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, PROG ": unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            first_input = i;
            break;
        }
    }
    if (!db || !*db)
        db = "dksearch.db";
    int n_args = argc - first_input;
    if (checking && (n_args || deleting || compacting || r.delete_missing)) {
        fprintf(stderr, PROG ": --check takes no input and no other action\n");
        return 2;
    }
    if (deleting && (n_args == 0 || r.delete_missing)) {
        fprintf(stderr, PROG ": --delete takes the ids to delete, and nothing else\n");
        return 2;
    }
    if (!checking && !compacting && n_args == 0) {
        fprintf(stderr, PROG ": no input given\n");
        usage(stderr);
        return 2;
    }

    dks_error_detail err = {0};
    dks_index *index;
    int mode = checking ? DKS_OPEN_READ
                        : deleting || (compacting && n_args == 0) ? DKS_OPEN_WRITE
                                                                  : DKS_OPEN_CREATE;
    catch_faults(PROG, db);
    int rc = dks_index_open(db, mode, &index, &err);
    if (rc) {
        fprintf(stderr, PROG ": %s\n", err.message[0] ? err.message : dks_strerror(rc));
        return 2;
    }
    if (checking) {
        int status = check_index(index, db, r.quiet);
        dks_index_close(index);
        return status;
    }
    r.index = index;
    if (analysis) {
        unsigned features;
        if (dks_analysis_parse(analysis, &features) != 0) {
            fprintf(stderr, PROG ": unknown analysis '%s' (all, snowball, spelling, compounds, "
                    "ellipsis, lemmas)\n", analysis);
            dks_index_close(index);
            return 2;
        }
        if ((rc = dks_index_set_analysis(index, features)) != 0) {
            fprintf(stderr, PROG ": %s: %s\n", db, rc == DKS_EINVAL
                    ? "the index already holds documents analysed otherwise"
                    : dks_strerror(rc));
            dks_index_close(index);
            return 2;
        }
    }
    rc = dks_writer_open(index, &r.writer, &err);
    if (!rc && (rc = dks_writer_set_memory(r.writer, (size_t)memory_mib << 20)))
        snprintf(err.message, sizeof err.message, "--memory %ld: %s", memory_mib,
                 dks_strerror(rc));
    if (!rc && commit_docs && (rc = dks_writer_set_commit_docs(r.writer, (size_t)commit_docs)))
        snprintf(err.message, sizeof err.message, "--commit-every %ld: %s", commit_docs,
                 dks_strerror(rc));
    if (!rc && (rc = dks_writer_set_threads(r.writer, (unsigned)threads)))
        snprintf(err.message, sizeof err.message, "cannot start a thread: %s",
                 dks_strerror(rc));
    if (rc) {
        fprintf(stderr, PROG ": %s: %s\n", db, err.message);
        dks_writer_close(r.writer);
        dks_index_close(index);
        return 2;
    }
    r.started = now();
    int not_found = 0;
    unsigned long gone = 0;
    if (deleting) {
        not_found = delete_ids(&r, argv + first_input, n_args, &rc);
    } else {
        for (int i = first_input; i < argc && !rc; i++)
            rc = index_arg(&r, argv[i]);
        if (!rc && r.delete_missing)
            rc = delete_missing(&r, argv + first_input, n_args, &gone);
    }
    if (!rc && (rc = dks_writer_commit(r.writer, &err)))
        fprintf(stderr, PROG ": %s\n", err.message);
    if (!rc && compacting && (rc = dks_writer_compact(r.writer, &err)))
        fprintf(stderr, PROG ": %s\n", err.message);
    show_progress(&r, 1);

    dks_writer_stats ws;
    dks_writer_stats_get(r.writer, &ws);
    dks_writer_close(r.writer);
    free(r.visited);
    path_list_free(&r.seen);
    dks_index_stats is = {0};
    if (!rc)
        rc = dks_index_stats_get(index, &is);
    dks_index_close(index);
    if (rc) {
        fprintf(stderr, PROG ": index %s keeps what was committed before the error\n", db);
        return 2;
    }
    if (!r.quiet) {
        double secs = now() - r.started, mib = ws.bytes / 1048576.0;
        printf("indexed %llu documents (%llu new, %llu replaced, %lu skipped), %llu deleted, "
               "%lu files unchanged, %.2f MiB in %.3f s (%.1f MiB/s); %s holds %llu documents, "
               "%llu terms, %.2f MiB\n",
               (unsigned long long)(ws.added + ws.replaced), (unsigned long long)ws.added,
               (unsigned long long)ws.replaced, r.skipped, (unsigned long long)ws.deleted,
               r.unchanged, mib, secs, secs > 0 ? mib / secs : 0.0, db,
               (unsigned long long)is.documents, (unsigned long long)is.terms,
               is.size_bytes / 1048576.0);
    }
    (void)gone;
    return r.input_errors ? 2 : not_found ? 1 : 0;
}
