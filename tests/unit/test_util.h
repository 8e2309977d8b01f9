/*
 * test_util.h - helpers shared by the cmocka test programs: temporary
 * directories, files, running the real binaries and capturing what they
 * print.  Tests find the project through $DKS_TOP and the binaries through
 * $DKS_BIN (the Makefile sets both).
 */
#ifndef DKS_TEST_UTIL_H
#define DKS_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline const char *test_top(void)
{
    const char *t = getenv("DKS_TOP");
    return t && *t ? t : ".";
}

static inline const char *test_bin(void)
{
    const char *b = getenv("DKS_BIN");
    return b && *b ? b : "bin";
}

/* Creates a fresh temporary directory; the caller frees the path and may
 * remove the tree with test_rmrf(). */
static inline char *test_tmpdir(void)
{
    char tmpl[] = "/tmp/dksearch-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline void test_rmrf(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", path);
}

static inline int test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

/* Reads a whole file (NUL-terminated); caller frees.  NULL on error. */
static inline char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

/* What a finished command printed, and how it ended. */
typedef struct test_run {
    int status;      /* exit status, or 128 + signal */
    char *out;       /* standard output (NUL-terminated) */
    char *err;       /* standard error */
    long max_rss_kib; /* the command's peak resident set */
    double seconds;  /* how long it ran */
} test_run;

static inline void test_run_free(test_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Runs argv (argv[0] is a path) with optional standard input; captures
 * both outputs through temporary files (no pipe deadlocks on big output).
 * A command still running after `seconds` (0: no limit) is killed by
 * SIGALRM: its status is then 128 + SIGALRM. */
static inline test_run test_exec_within(char *const argv[], const char *input, unsigned seconds)
{
    test_run r = {.status = -1};
    char out_path[] = "/tmp/dksearch-out-XXXXXX", err_path[] = "/tmp/dksearch-err-XXXXXX",
         in_path[] = "/tmp/dksearch-in-XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path), in_fd = -1;
    if (input) {
        in_fd = mkstemp(in_path);
        if (in_fd >= 0 && write(in_fd, input, strlen(input)) != (ssize_t)strlen(input)) {
            close(in_fd);
            in_fd = -1;
        }
    }
    if (out_fd < 0 || err_fd < 0 || (input && in_fd < 0))
        return r;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
        if (in_fd >= 0) {
            lseek(in_fd, 0, SEEK_SET);
            dup2(in_fd, 0);
        } else {
            int devnull = open("/dev/null", O_RDONLY);
            dup2(devnull, 0);
        }
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        alarm(seconds);  /* the alarm outlives execv */
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    struct rusage ru = {0};
    while (pid > 0 && wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
        ;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.max_rss_kib = ru.ru_maxrss;
    r.seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    close(out_fd);
    close(err_fd);
    if (in_fd >= 0) {
        close(in_fd);
        unlink(in_path);
    }
    r.out = test_read_file(out_path, NULL);
    r.err = test_read_file(err_path, NULL);
    unlink(out_path);
    unlink(err_path);
    return r;
}

static inline test_run test_exec(char *const argv[], const char *input)
{
    return test_exec_within(argv, input, 0);
}

/* Runs one of the project's binaries: test_tool("dksearch-query", "--db", db, q, NULL). */
static inline test_run test_tool_v(unsigned seconds, const char *input, const char *tool,
                                   va_list ap)
{
    char *argv[64];
    char path[4096];
    int n = 0;
    snprintf(path, sizeof path, "%s/%s", test_bin(), tool);
    argv[n++] = path;
    const char *a;
    while (n < 63 && (a = va_arg(ap, const char *)))
        argv[n++] = (char *)a;
    argv[n] = NULL;
    return test_exec_within(argv, input, seconds);
}

static inline test_run test_tool(const char *tool, ...)
{
    va_list ap;
    va_start(ap, tool);
    test_run r = test_tool_v(0, NULL, tool, ap);
    va_end(ap);
    return r;
}

static inline test_run test_tool_stdin(const char *input, const char *tool, ...)
{
    va_list ap;
    va_start(ap, tool);
    test_run r = test_tool_v(0, input, tool, ap);
    va_end(ap);
    return r;
}

/* test_tool with a time limit, as test_exec_within. */
static inline test_run test_tool_within(unsigned seconds, const char *tool, ...)
{
    va_list ap;
    va_start(ap, tool);
    test_run r = test_tool_v(seconds, NULL, tool, ap);
    va_end(ap);
    return r;
}

#endif
