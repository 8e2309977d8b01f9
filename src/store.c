/*
 * store.c - the LMDB environment behind an index: one directory holding
 * LMDB's data.mdb and lock.mdb, the named databases of
 * docs/index-format.md, transactions and cursors.  This is the only file
 * that includes lmdb.h; everything above it speaks dks_txn and dks_cursor.
 *
 * Readers use MDB_NOTLS so that a read transaction belongs to a search,
 * not to a thread.  LMDB allows one write transaction at a time; the
 * writer additionally holds an flock() on writer.lock for its whole run so
 * that a second indexer is refused at once instead of interleaving.
 */
#define _GNU_SOURCE  /* renameat2: the compacted copy is exchanged with the index atomically */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "dks_int.h"

/* The map a writer starts with.  The writer grows it between batches
 * (dks_store_reserve); readers adopt the size recorded in the file, and a
 * reader that finds the map grown under it re-maps (MDB_MAP_RESIZED).  A
 * modest map keeps the index usable under valgrind and in small address
 * spaces. */
#define DKS_MAP_MIN ((size_t)1 << 30)

static const char *const db_names[DKS_DB_POSTINGS_MORE] = {
    [DKS_DB_META] = "meta",         [DKS_DB_TERMS] = "terms",
    [DKS_DB_POSTINGS] = "postings", [DKS_DB_DOCS] = "docs",
    [DKS_DB_IDS] = "ids",           [DKS_DB_TEXT] = "text",
    [DKS_DB_LENGTHS] = "lengths",   [DKS_DB_SOURCES] = "sources",
};

/* "postings.1" and on, for the generation slots after the first. */
static void db_name(int db, char *out, size_t cap)
{
    if (db < DKS_DB_POSTINGS_MORE)
        snprintf(out, cap, "%s", db_names[db]);
    else
        snprintf(out, cap, "postings.%d", db - DKS_DB_POSTINGS_MORE + 1);
}

/* LMDB remaps the file when a map's size changes (mdb_env_set_mapsize),
 * which is allowed only while no transaction of the process is open: the
 * pages a reader holds would move under it.  Searches run on many
 * threads, so every transaction passes a gate, and a remap (the writer
 * growing the map, a reader adopting the size another process grew it
 * to, a compaction putting its copy in place) closes the gate and waits
 * until the transactions in flight have ended.  A thread must not remap
 * while it holds a transaction itself. */
typedef struct remap_gate {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned active;       /* transactions open */
    int closed;            /* a remap waits or runs: no new transactions */
} remap_gate;

struct dks_store {
    MDB_env *env;
    remap_gate gate;
    MDB_dbi dbi[DKS_DB_COUNT];
    unsigned char missing[DKS_DB_COUNT];  /* read-only and absent: an index of an older format */
    char *path;
    int dir_fd;            /* the directory the environment was opened in */
    int lock_fd;
    uintptr_t map_start;  /* where data.mdb is mapped (0: not known), see locate_map */
    uint64_t epoch;       /* environments the store has had before this one (compactions) */
};

struct dks_txn {
    dks_store *store;
    MDB_txn *txn;
    int write;
    /* A read transaction's keys and values lie in the map, in the pages
     * below this address (0: not checked) */
    uintptr_t pages_end;
    uint64_t epoch;       /* the store's when it began */
};

struct dks_cursor {
    MDB_cursor *cur;
    const dks_txn *txn;
    MDB_val at;  /* in a read transaction, the key it stands on (no data: none yet) */
};

static void locate_map(dks_store *s);

static int map_error(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:        return DKS_OK;
    case MDB_NOTFOUND:       return 1;
    case MDB_MAP_FULL:       return DKS_EFULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_BAD_TXN:
    /* a B-tree deeper than any LMDB builds: its pages point in a circle */
    case MDB_CURSOR_FULL:
    /* a database record whose flags are not the ones our databases have */
    case MDB_INCOMPATIBLE:   return DKS_ECORRUPT;
    case MDB_VERSION_MISMATCH: return DKS_EVERSION;
    default:                 return rc > 0 ? rc : DKS_ESTORE;
    }
}

static void gate_enter(remap_gate *g)
{
    pthread_mutex_lock(&g->lock);
    while (g->closed)
        pthread_cond_wait(&g->changed, &g->lock);
    g->active++;
    pthread_mutex_unlock(&g->lock);
}

static void gate_leave(remap_gate *g)
{
    pthread_mutex_lock(&g->lock);
    if (--g->active == 0)
        pthread_cond_broadcast(&g->changed);
    pthread_mutex_unlock(&g->lock);
}

/* Closes the gate once the transactions in flight have ended. */
static void gate_close(remap_gate *g)
{
    pthread_mutex_lock(&g->lock);
    while (g->closed)
        pthread_cond_wait(&g->changed, &g->lock);
    g->closed = 1;
    while (g->active)
        pthread_cond_wait(&g->changed, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_open(remap_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->closed = 0;
    pthread_cond_broadcast(&g->changed);
    pthread_mutex_unlock(&g->lock);
}

/* mdb_env_set_mapsize with the gate closed. */
static int remap(dks_store *s, size_t size)
{
    gate_close(&s->gate);
    int rc = mdb_env_set_mapsize(s->env, size);
    locate_map(s);
    gate_open(&s->gate);
    return rc;
}

void dks_store_close(dks_store *s)
{
    if (!s)
        return;
    dks_store_unlock_writer(s);
    if (s->env)
        mdb_env_close(s->env);
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    pthread_cond_destroy(&s->gate.changed);
    pthread_mutex_destroy(&s->gate.lock);
    free(s->path);
    free(s);
}

/* Creates s->env and opens it in the directory at path; mapsize 0: the
 * size the file records.
 *
 * A compaction exchanges the index directory for a rewritten copy
 * (dks_store_compact).  LMDB opens lock.mdb and data.mdb by name one
 * after the other, so an environment opened by path could take the one
 * from the old directory and the other from the new; it is opened through
 * a descriptor of the directory instead (/proc/self/fd/N), which holds
 * both. */
static int open_env(dks_store *s, const char *path, unsigned flags, size_t mapsize)
{
    s->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0)
        return errno;
    char via_fd[64];
    snprintf(via_fd, sizeof via_fd, "/proc/self/fd/%d", s->dir_fd);
    const char *env_path = access(via_fd, F_OK) == 0 ? via_fd : path;
    int rc = mdb_env_create(&s->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(s->env, DKS_DB_COUNT);
    if (!rc && mapsize)
        rc = mdb_env_set_mapsize(s->env, mapsize);
    if (!rc)
        rc = mdb_env_set_maxreaders(s->env, 512);
    if (!rc)
        rc = mdb_env_open(s->env, env_path, MDB_NOTLS | flags, 0666);
    return rc;
}

static void close_env(dks_store *s)
{
    if (s->env)
        mdb_env_close(s->env);
    s->env = NULL;
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    s->dir_fd = -1;
}

/* Whether the directory the environment is open in is still the one at
 * the index's path (a compaction may have exchanged them since). */
static int still_at_path(const dks_store *s)
{
    struct stat a, b;
    return fstat(s->dir_fd, &a) == 0 && stat(s->path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* Opens (creating with `create`) every named database in a first
 * transaction of env. */
static int open_dbs(dks_store *s, int create)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, create ? 0 : MDB_RDONLY, &txn);
    for (int i = 0; !rc && i < DKS_DB_COUNT; i++) {
        char name[32];
        db_name(i, name, sizeof name);
        rc = mdb_dbi_open(txn, name, create ? MDB_CREATE : 0, &s->dbi[i]);
        s->missing[i] = 0;
        if (rc == MDB_NOTFOUND && !create && (i >= DKS_DB_POSTINGS_MORE || i == DKS_DB_SOURCES)) {
            s->missing[i] = 1;  /* the format check will say what this index is */
            rc = 0;
        }
    }
    if (!rc)
        rc = mdb_txn_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    return rc;
}

/* LMDB reads its pages through the map without asking how long the file
 * is, and a page past the end of a file that was cut short is a read the
 * kernel answers with SIGBUS.  So an index whose file is shorter than the
 * pages its last transaction uses is refused before anything is read.
 * (A writer writes the pages of a transaction before its meta page, so a
 * sound file is never shorter.) */
static int check_file_size(dks_store *s, const char *path, dks_error_detail *err)
{
    MDB_envinfo info;
    MDB_stat st;
    mdb_filehandle_t fd;
    struct stat fst;
    int rc = mdb_env_info(s->env, &info);
    if (!rc)
        rc = mdb_env_stat(s->env, &st);
    if (!rc)
        rc = mdb_env_get_fd(s->env, &fd);
    if (rc)
        return dks_fail(err, map_error(rc), -1, "cannot open index %s: %s", path,
                        mdb_strerror(rc));
    if (fstat(fd, &fst) != 0)
        return dks_fail(err, errno, -1, "cannot open index %s: %s", path, strerror(errno));
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if ((uint64_t)fst.st_size < need)
        return dks_fail(err, DKS_ECORRUPT, -1,
                        "the index at %s is corrupt: its file is cut short (%llu bytes of "
                        "%llu)", path, (unsigned long long)fst.st_size,
                        (unsigned long long)need);
    return DKS_OK;
}

/* The message for an LMDB error while opening. */
static int open_failed(const char *path, int rc, dks_error_detail *err)
{
    int code = map_error(rc);
    if (code == DKS_ECORRUPT)
        return dks_fail(err, code, -1, "the index at %s is corrupt (%s)", path,
                        mdb_strerror(rc));
    return dks_fail(err, code, -1, "cannot open index %s: %s", path, mdb_strerror(rc));
}

int dks_store_open(const char *path, int mode, dks_store **out, dks_error_detail *err)
{
    *out = NULL;
    int writable = mode & DKS_OPEN_WRITE;
    struct stat st;
    char data_path[4096];
    if ((size_t)snprintf(data_path, sizeof data_path, "%s/data.mdb", path) >= sizeof data_path)
        return dks_fail(err, DKS_EINVAL, -1, "index path too long");
    if (stat(data_path, &st) != 0) {
        if (mode != DKS_OPEN_CREATE)
            return dks_fail(err, DKS_ENOINDEX, -1, "no index at %s", path);
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return dks_fail(err, errno, -1, "cannot create %s: %s", path, strerror(errno));
    } else if (st.st_size == 0) {
        /* LMDB would take an empty file for a new environment: one cut
         * to nothing */
        return dks_fail(err, DKS_ECORRUPT, -1, "the index at %s is corrupt: its file is empty",
                        path);
    }

    dks_store *s = calloc(1, sizeof *s);
    if (!s)
        return DKS_ENOMEM;
    pthread_mutex_init(&s->gate.lock, NULL);
    pthread_cond_init(&s->gate.changed, NULL);
    s->lock_fd = -1;
    s->dir_fd = -1;
    s->path = strdup(path);
    unsigned flags = writable ? 0 : MDB_RDONLY;
    int rc = s->path ? open_env(s, path, flags, writable ? DKS_MAP_MIN : 0) : ENOMEM;
    /* Opened just as a compaction removed the old files: open the copy. */
    for (int retry = 0; rc == ENOENT && retry < 3 && !still_at_path(s); retry++) {
        close_env(s);
        rc = open_env(s, path, flags, writable ? DKS_MAP_MIN : 0);
    }
    int code = rc ? open_failed(path, rc, err) : check_file_size(s, path, err);
    if (!code && (rc = open_dbs(s, writable)))
        code = rc == MDB_NOTFOUND
                   ? dks_fail(err, DKS_ENOINDEX, -1, "cannot open index %s: %s", path,
                              "not a dksearch index")
                   : open_failed(path, rc, err);
    if (code) {
        dks_store_close(s);
        return code;
    }
    locate_map(s);
    *out = s;
    return DKS_OK;
}

int dks_store_replaced(const dks_store *s)
{
    return !still_at_path(s);
}

static void remove_env_files(const char *dir);

int dks_store_lock_writer(dks_store *s)
{
    for (int attempt = 0;; attempt++) {
        int fd = openat(s->dir_fd, "writer.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            return errno;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            return e == EWOULDBLOCK ? DKS_ELOCKED : e;
        }
        s->lock_fd = fd;
        if (still_at_path(s))
            break;
        /* A compaction put a copy in place of the directory this store
         * opened: writing to the old files would lose every write.  The
         * copy's writer has gone (it held the lock): open the copy. */
        dks_store_unlock_writer(s);
        close_env(s);
        if (attempt == 3)
            return DKS_ESTORE;
        int rc = open_env(s, s->path, 0, DKS_MAP_MIN);
        if (rc || (rc = open_dbs(s, 1)))
            return map_error(rc);
        locate_map(s);
    }
    /* The writer owns what a compaction cut short left beside the index
     * (the copy, or the old files after the exchange). */
    char leftover[4200];
    if ((size_t)snprintf(leftover, sizeof leftover, "%s.compacting", s->path) < sizeof leftover)
        remove_env_files(leftover);
    return DKS_OK;
}

void dks_store_unlock_writer(dks_store *s)
{
    if (s->lock_fd >= 0) {
        close(s->lock_fd);  /* releases the flock */
        s->lock_fd = -1;
    }
}

uint64_t dks_store_size(dks_store *s)
{
    char data_path[4096];
    struct stat st;
    snprintf(data_path, sizeof data_path, "%s/data.mdb", s->path);
    if (stat(data_path, &st) != 0)
        return 0;
    /* Blocks actually used: LMDB files can be sparse. */
    uint64_t used = (uint64_t)st.st_blocks * 512;
    return used < (uint64_t)st.st_size ? used : (uint64_t)st.st_size;
}

/* Where LMDB mapped the data file: LMDB does not say (mdb_env_info's
 * me_mapaddr is only set for MDB_FIXEDMAP), so the process's own map list
 * is asked; `holding` (NULL: any) is an address the mapping must hold, for
 * a process that has the file open twice.  0 if it is not found. */
static int find_map(const dks_store *s, const void *holding, uintptr_t *start, uintptr_t *end)
{
    char want[4200], line[4400];
    snprintf(want, sizeof want, "%s/data.mdb", s->path);
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps)
        return 0;
    int found = 0;
    char real[PATH_MAX];
    const char *name = realpath(want, real) ? real : want;
    while (!found && fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        int path_at = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &path_at) < 2 || !path_at)
            continue;
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line + path_at, name) == 0 &&
            (!holding || ((uintptr_t)holding >= lo && (uintptr_t)holding < hi))) {
            *start = lo;
            *end = hi;
            found = 1;
        }
    }
    fclose(maps);
    return found;
}

/* LMDB takes the sizes of keys and values from its pages without checking
 * them against the file, so in a damaged page a value can reach past the
 * end of the file (a read there is SIGBUS) or of the map.  Readers check
 * every key and value against the pages in use (see in_pages), which
 * needs the map's address: the mapping that holds a key a read
 * transaction gets, found again whenever LMDB may have moved it (it maps
 * the file when it opens it and when its size is set).  Called with no
 * transaction open. */
static void locate_map(dks_store *s)
{
    MDB_txn *txn;
    MDB_dbi main_db;
    MDB_cursor *c;
    MDB_val k, v;
    uintptr_t end;
    s->map_start = 0;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn))
        return;
    /* the main database holds a key for each named one */
    if (!mdb_dbi_open(txn, NULL, 0, &main_db) && !mdb_cursor_open(txn, main_db, &c)) {
        if (!mdb_cursor_get(c, &k, &v, MDB_FIRST) && !find_map(s, k.mv_data, &s->map_start, &end))
            s->map_start = 0;
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
}

void dks_store_release_map(dks_store *s)
{
    uintptr_t start, end;
    /* Only this process's view of the file goes: the pages stay in the
     * page cache, and a later read maps them again. */
    if (find_map(s, NULL, &start, &end))
        madvise((void *)start, end - start, MADV_DONTNEED);
}

int dks_store_free_bytes(dks_store *s, uint64_t *bytes)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    MDB_stat st;
    uint64_t pages = 0;
    int rc = mdb_env_stat(s->env, &st);
    if (!rc)
        rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return map_error(rc);
    /* The free list is database 0: each value is a list of page numbers
     * whose first word is its length. */
    if (!(rc = mdb_cursor_open(txn, 0, &c))) {
        while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
            size_t n;
            if (v.mv_size < sizeof n) {
                rc = MDB_CORRUPTED;
                break;
            }
            memcpy(&n, v.mv_data, sizeof n);
            pages += n;
        }
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    *bytes = pages * st.ms_psize;
    return rc == MDB_NOTFOUND ? DKS_OK : map_error(rc);
}

/* Copies every entry of every database of `from` (as of a read
 * transaction) into the new, empty `to`, in key order with MDB_APPEND, so
 * that every page of the copy is full; commits every COPY_TXN_BYTES.
 * Small transactions of a copy opened with MDB_NOSYNC (it is synced
 * once, whole, before it replaces the index) reuse the same few pages of
 * memory: on the 200 MiB benchmark index a compaction took 1.0 s with
 * 64 MiB transactions that each waited for the disk, 0.5 s with 4 MiB
 * ones that do not. */
#define RELEASE_BYTES ((size_t)4 << 20)
#define COPY_TXN_BYTES ((size_t)4 << 20)

/* cancel: NULL, or set to stop the copy early (with ECANCELED). */
static int copy_entries(dks_store *from, dks_store *to, uint32_t dbs, const atomic_int *cancel)
{
    MDB_txn *r = NULL, *w = NULL;
    /* a copy beside a writer's work holds the map as a reader does */
    gate_enter(&from->gate);
    int rc = mdb_txn_begin(from->env, NULL, MDB_RDONLY, &r);
    for (int db = 0; !rc && db < DKS_DB_COUNT; db++) {
        if (!(dbs & 1u << db))
            continue;
        MDB_cursor *c;
        MDB_val k, v;
        size_t bytes = 0;
        if ((rc = mdb_cursor_open(r, from->dbi[db], &c)))
            break;
        int got;
        size_t since_release = 0;
        while (!rc && (got = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
            if (cancel && atomic_load_explicit(cancel, memory_order_relaxed)) {
                rc = ECANCELED;
                break;
            }
            if (!w && (rc = mdb_txn_begin(to->env, NULL, 0, &w)))
                break;
            rc = mdb_put(w, to->dbi[db], &k, &v, MDB_APPEND);
            bytes += k.mv_size + v.mv_size;
            since_release += k.mv_size + v.mv_size;
            /* The pages read need not stay resident; and a database whose
             * pages lie among others' (the records between the texts) maps
             * many more than it reads, as the kernel maps the pages around
             * each one it faults in. */
            if (since_release >= RELEASE_BYTES) {
                dks_store_release_map(from);
                since_release = 0;
            }
            if (!rc && bytes >= COPY_TXN_BYTES) {
                rc = mdb_txn_commit(w);
                w = NULL;
                bytes = 0;
                dks_store_release_map(to);
            }
        }
        if (!rc && got != MDB_NOTFOUND)
            rc = got;
        mdb_cursor_close(c);
    }
    if (!rc && w)
        rc = mdb_txn_commit(w);
    else if (w)
        mdb_txn_abort(w);
    if (r)
        mdb_txn_abort(r);
    gate_leave(&from->gate);
    return rc;
}

static void remove_env_files(const char *dir)
{
    static const char *const files[] = {"data.mdb", "lock.mdb", "writer.lock"};
    char path[4400];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, files[i]) < sizeof path)
            unlink(path);
    }
    rmdir(dir);
}

struct dks_compaction {
    dks_store *from;
    dks_store copy;   /* the new environment, in tmp */
    char tmp[4200];
    uint32_t ahead;   /* the databases the thread copies */
    pthread_t thread;
    int threaded;
    int ahead_rc;     /* the thread's, an LMDB code */
    atomic_int cancel;  /* set by abort: the thread stops copying */
};

static void *copy_ahead(void *arg)
{
    dks_compaction *c = arg;
    c->ahead_rc = copy_entries(c->from, &c->copy, c->ahead, &c->cancel);
    return NULL;
}

/* Waits for the databases copied ahead. */
static int join_ahead(dks_compaction *c)
{
    if (c->threaded)
        pthread_join(c->thread, NULL);
    c->threaded = 0;
    return c->ahead_rc;
}

void dks_store_compact_abort(dks_compaction *c)
{
    if (!c)
        return;
    atomic_store(&c->cancel, 1);
    join_ahead(c);
    close_env(&c->copy);
    remove_env_files(c->tmp);
    free(c);
}

int dks_store_compact_begin(dks_store *s, uint32_t ahead, dks_compaction **out)
{
    *out = NULL;
    dks_compaction *c = calloc(1, sizeof *c);
    if (!c)
        return DKS_ENOMEM;
    c->from = s;
    c->copy = (dks_store){.lock_fd = -1, .dir_fd = -1, .path = c->tmp};
    atomic_init(&c->cancel, 0);
    if ((size_t)snprintf(c->tmp, sizeof c->tmp, "%s.compacting", s->path) >= sizeof c->tmp) {
        free(c);
        return DKS_EINVAL;
    }
    remove_env_files(c->tmp);  /* a compaction cut short */
    if (mkdir(c->tmp, 0777) != 0) {
        int code = errno;
        free(c);
        return code;
    }
    MDB_envinfo info;
    int rc = mdb_env_info(s->env, &info);
    if (!rc)
        rc = open_env(&c->copy, c->tmp, MDB_NOSYNC, info.me_mapsize);
    if (!rc)
        rc = open_dbs(&c->copy, 1);
    if (rc) {
        dks_store_compact_abort(c);
        return map_error(rc);
    }
    c->ahead = ahead & ((1u << DKS_DB_COUNT) - 1);
    if (c->ahead) {
        if (pthread_create(&c->thread, NULL, copy_ahead, c) == 0)
            c->threaded = 1;
        else
            copy_ahead(c);  /* the same copy, only later */
    }
    *out = c;
    return DKS_OK;
}

int dks_store_compact_finish(dks_store *s, dks_compaction *c)
{
    int rc = join_ahead(c);
    if (!rc)
        rc = copy_entries(s, &c->copy, ~c->ahead, NULL);
    if (!rc)
        rc = mdb_env_sync(c->copy.env, 1);
    /* the copy becomes the index: its commits wait for the disk again */
    if (!rc)
        rc = mdb_env_set_flags(c->copy.env, MDB_NOSYNC, 0);
    int code = map_error(rc);
    /* the copy is locked before anyone can find it at the index's path */
    if (!code && (code = dks_store_lock_writer(&c->copy)) == DKS_ELOCKED)
        code = DKS_ESTORE;
    if (!code && renameat2(AT_FDCWD, c->tmp, AT_FDCWD, s->path, RENAME_EXCHANGE) != 0)
        code = errno;
    if (code) {
        dks_store_unlock_writer(&c->copy);
        dks_store_compact_abort(c);
        return code;
    }
    /* The copy is the index now; the old environment is at tmp.  Searches
     * of other threads end in it before it closes. */
    gate_close(&s->gate);
    dks_store_unlock_writer(s);
    close_env(s);
    s->epoch++;  /* the copy's transaction ids start over */
    s->env = c->copy.env;
    s->dir_fd = c->copy.dir_fd;
    memcpy(s->dbi, c->copy.dbi, sizeof s->dbi);
    memset(s->missing, 0, sizeof s->missing);
    s->lock_fd = c->copy.lock_fd;
    locate_map(s);
    gate_open(&s->gate);
    remove_env_files(c->tmp);
    free(c);
    return DKS_OK;
}

/* The bytes free for this process on the index's file system; 0 if
 * that cannot be read. */
static int disk_room(const dks_store *s, uint64_t *bytes)
{
    struct statvfs fs;
    if (fstatvfs(s->dir_fd, &fs) != 0)
        return 0;
    *bytes = (uint64_t)fs.f_bavail * fs.f_frsize;
    return 1;
}

int dks_store_disk_room(dks_store *s, uint64_t bytes)
{
    uint64_t room;
    return disk_room(s, &room) && room >= bytes;
}

int dks_store_compact(dks_store *s)
{
    dks_compaction *c;
    int rc = dks_store_compact_begin(s, 0, &c);
    return rc ? rc : dks_store_compact_finish(s, c);
}

int dks_store_db_bytes(dks_txn *t, dks_db db, uint64_t *bytes)
{
    if (t->store->missing[db])
        return DKS_ECORRUPT;
    MDB_stat st;
    int rc = mdb_stat(t->txn, t->store->dbi[db], &st);
    if (rc)
        return map_error(rc);
    *bytes = (uint64_t)st.ms_psize *
             (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
    return DKS_OK;
}

int dks_store_reserve(dks_store *s, size_t headroom)
{
    MDB_envinfo info;
    MDB_stat st;
    int rc = mdb_env_info(s->env, &info);
    if (!rc)
        rc = mdb_env_stat(s->env, &st);
    if (rc)
        return map_error(rc);
    size_t used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
    if (info.me_mapsize >= used && info.me_mapsize - used >= headroom)
        return DKS_OK;
    size_t size = used * 2 > used + headroom ? used * 2 : used + headroom;
    size = (size + st.ms_psize - 1) / st.ms_psize * st.ms_psize;
    return map_error(remap(s, size));
}

int dks_store_last_commit(dks_store *s, uint64_t *out)
{
    MDB_envinfo info;
    int rc = mdb_env_info(s->env, &info);
    *out = rc ? 0 : info.me_last_txnid;
    return map_error(rc);
}

size_t dks_store_map_size(dks_store *s)
{
    MDB_envinfo info;
    return mdb_env_info(s->env, &info) == 0 ? info.me_mapsize : 0;
}

int dks_store_set_map_size(dks_store *s, size_t bytes)
{
    return map_error(remap(s, bytes));
}

int dks_txn_begin(dks_store *s, int write, dks_txn **out)
{
    *out = NULL;
    dks_txn *t = malloc(sizeof *t);
    if (!t)
        return DKS_ENOMEM;
    t->store = s;
    t->write = write;
    t->pages_end = 0;
    gate_enter(&s->gate);
    int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc == MDB_MAP_RESIZED) {
        /* A writer grew the map since we opened it: adopt its size. */
        gate_leave(&s->gate);
        rc = remap(s, 0);
        gate_enter(&s->gate);
        if (!rc)
            rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    }
    MDB_envinfo info;
    MDB_stat st;
    /* The newest transaction's pages, which hold this one's.  (A write
     * transaction also reads pages it wrote itself, in memory or, spilled,
     * past them: it is not checked.) */
    if (!rc && !write && s->map_start && !mdb_env_info(s->env, &info) &&
        !mdb_env_stat(s->env, &st))
        t->pages_end = s->map_start + (info.me_last_pgno + 1) * (uintptr_t)st.ms_psize;
    if (rc) {
        gate_leave(&s->gate);
        free(t);
        return map_error(rc);
    }
    t->epoch = s->epoch;  /* (a compaction changes it only with the gate closed) */
    *out = t;
    return DKS_OK;
}

dks_snapshot dks_txn_snapshot(const dks_txn *t)
{
    return (dks_snapshot){t->epoch, mdb_txn_id(t->txn)};
}

/* LMDB reports a short write as EIO ("filesystem full?"): say which it
 * was, when the file system or the process's file size limit tells. */
static int explain_write_error(const dks_store *s, int rc)
{
    if (rc != EIO)
        return rc;
    struct stat st;
    struct rlimit lim;
    uint64_t room;
    if (disk_room(s, &room) && room < ((uint64_t)1 << 20))
        return ENOSPC;
    if (getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
        fstatat(s->dir_fd, "data.mdb", &st, 0) == 0 &&
        (uint64_t)st.st_size + ((uint64_t)1 << 20) >= (uint64_t)lim.rlim_cur)
        return EFBIG;
    return rc;
}

/* Whether a key or value a read transaction got lies in the pages in use:
 * LMDB reads the sizes of both from its pages and trusts them. */
static int in_pages(const dks_txn *t, const MDB_val *v)
{
    uintptr_t at = (uintptr_t)v->mv_data;
    return !t->pages_end || (at >= t->store->map_start && at <= t->pages_end &&
                             v->mv_size <= t->pages_end - at);
}

int dks_txn_commit(dks_txn *t)
{
    int rc = mdb_txn_commit(t->txn);
    rc = explain_write_error(t->store, rc);
    gate_leave(&t->store->gate);
    free(t);
    return map_error(rc);
}

void dks_txn_abort(dks_txn *t)
{
    if (!t)
        return;
    mdb_txn_abort(t->txn);
    gate_leave(&t->store->gate);
    free(t);
}

int dks_kv_get(dks_txn *t, dks_db db, const void *key, size_t klen, const void **val,
               size_t *vlen)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = t->store->missing[db] ? MDB_NOTFOUND : mdb_get(t->txn, t->store->dbi[db], &k, &v);
    if (!rc && !in_pages(t, &v))
        rc = MDB_CORRUPTED;
    if (rc) {
        *val = NULL;
        *vlen = 0;
        return map_error(rc);
    }
    *val = v.mv_data;
    *vlen = v.mv_size;
    return DKS_OK;
}

int dks_doc_get(dks_txn *t, uint32_t doc, dks_doc_record *rec)
{
    unsigned char key[4];
    const void *v;
    size_t vl;
    dks_put_be32(key, doc);
    int rc = dks_kv_get(t, DKS_DB_DOCS, key, sizeof key, &v, &vl);
    if (!rc)
        rc = dks_doc_record_decode(v, vl, rec);
    return rc == 1 ? DKS_ECORRUPT : rc;
}

int dks_kv_put(dks_txn *t, dks_db db, const void *key, size_t klen, const void *val, size_t vlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    return map_error(mdb_put(t->txn, t->store->dbi[db], &k, &v, 0));
}

int dks_kv_append(dks_txn *t, dks_db db, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_put(t->txn, t->store->dbi[db], &k, &v, MDB_APPEND);
    return rc == MDB_KEYEXIST ? DKS_ECORRUPT : map_error(rc);
}

int dks_kv_last(dks_txn *t, dks_db db, const void **key, size_t *klen)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(t->txn, t->store->dbi[db], &c);
    if (rc)
        return map_error(rc);
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);
    if (!rc && !in_pages(t, &k))
        rc = MDB_CORRUPTED;
    if (rc)
        return map_error(rc);
    *key = k.mv_data;
    *klen = k.mv_size;
    return DKS_OK;
}

int dks_kv_del(dks_txn *t, dks_db db, const void *key, size_t klen)
{
    MDB_val k = {klen, (void *)key};
    return map_error(mdb_del(t->txn, t->store->dbi[db], &k, NULL));
}

int dks_db_empty(dks_txn *t, dks_db db)
{
    return map_error(mdb_drop(t->txn, t->store->dbi[db], 0));
}

int dks_cursor_open(dks_txn *t, dks_db db, dks_cursor **out)
{
    *out = NULL;
    if (t->store->missing[db])
        return DKS_ECORRUPT;  /* only an index of an older format lacks one */
    dks_cursor *c = malloc(sizeof *c);
    if (!c)
        return DKS_ENOMEM;
    int rc = mdb_cursor_open(t->txn, t->store->dbi[db], &c->cur);
    if (rc) {
        free(c);
        return map_error(rc);
    }
    c->txn = t;
    c->at = (MDB_val){0, NULL};
    *out = c;
    return DKS_OK;
}

void dks_cursor_close(dks_cursor *c)
{
    if (!c)
        return;
    mdb_cursor_close(c->cur);
    free(c);
}

/* LMDB's key order (the default, byte-wise). */
static int key_cmp(const MDB_val *a, const MDB_val *b)
{
    int cmp = memcmp(a->mv_data, b->mv_data, a->mv_size < b->mv_size ? a->mv_size : b->mv_size);
    return cmp ? cmp : a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

/* In a damaged B-tree a cursor can step or seek to a key out of order, and
 * a walk that mixes steps and seeks (fuzzy.c seeks past what it has seen)
 * can then go round for ever.  So a step must move to a greater (next) or
 * smaller (prev) key than the one the cursor stood on, which a read
 * transaction remembers (a write transaction's pages may change under the
 * pointer). */
static int cursor_op(dks_cursor *c, MDB_cursor_op op, MDB_val *k, const void **kp, size_t *kl,
                     const void **vp, size_t *vl)
{
    MDB_val v;
    int rc = mdb_cursor_get(c->cur, k, &v, op);
    if (!rc && (!in_pages(c->txn, k) || !in_pages(c->txn, &v)))
        rc = MDB_CORRUPTED;
    if (!rc && !c->txn->write && c->at.mv_data &&
        ((op == MDB_NEXT && key_cmp(k, &c->at) <= 0) ||
         (op == MDB_PREV && key_cmp(k, &c->at) >= 0)))
        rc = MDB_CORRUPTED;
    if (!rc && !c->txn->write)
        c->at = *k;
    if (rc)
        return map_error(rc);
    if (kp) {
        *kp = k->mv_data;
        *kl = k->mv_size;
    }
    if (vp) {
        *vp = v.mv_data;
        *vl = v.mv_size;
    }
    return DKS_OK;
}

int dks_cursor_seek(dks_cursor *c, const void *key, size_t klen, const void **k, size_t *kl,
                    const void **v, size_t *vl)
{
    MDB_val asked = {klen, (void *)key}, kv = asked;
    int rc = cursor_op(c, MDB_SET_RANGE, &kv, k, kl, v, vl);
    /* the first key at or after the one asked for (see cursor_op) */
    return rc == 0 && key_cmp(&kv, &asked) < 0 ? DKS_ECORRUPT : rc;
}

int dks_cursor_next(dks_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl)
{
    MDB_val kv;
    return cursor_op(c, MDB_NEXT, &kv, k, kl, v, vl);
}

int dks_cursor_prev(dks_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl)
{
    MDB_val kv;
    return cursor_op(c, MDB_PREV, &kv, k, kl, v, vl);
}

int dks_cursor_first(dks_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl)
{
    MDB_val kv;
    return cursor_op(c, MDB_FIRST, &kv, k, kl, v, vl);
}

int dks_cursor_last(dks_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl)
{
    MDB_val kv;
    return cursor_op(c, MDB_LAST, &kv, k, kl, v, vl);
}

int dks_db_walk(dks_txn *t, dks_db db, dks_visit_fn visit, void *arg)
{
    dks_cursor *c;
    const void *k, *v;
    size_t kl, vl;
    int rc = dks_cursor_open(t, db, &c);
    if (rc)
        return rc;
    for (rc = dks_cursor_first(c, &k, &kl, &v, &vl); rc == 0;
         rc = dks_cursor_next(c, &k, &kl, &v, &vl))
        if ((rc = visit(arg, k, kl, v, vl)))
            break;
    dks_cursor_close(c);
    return rc == 1 ? DKS_OK : rc;
}
