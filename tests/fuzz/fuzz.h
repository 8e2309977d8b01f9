/*
 * fuzz.h - what the libFuzzer harnesses share: a check that turns a
 * broken contract into a crash libFuzzer reports (the library's own
 * failures are return codes, which the harnesses accept), a validity test
 * for the UTF-8 the library promises to hand out, and a scratch directory
 * for the harnesses that need an index.
 */
#ifndef DKS_FUZZ_H
#define DKS_FUZZ_H

#define _XOPEN_SOURCE 700  /* nftw */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dks_int.h"

#define FUZZ_CHECK(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* A return code a call may give on hostile input: success or a library
 * error, never an errno from a crash half-way or an unknown code. */
#define FUZZ_CHECK_RC(rc, ...)                                                        \
    do {                                                                              \
        int fuzz_rc_ = (rc);                                                          \
        const int fuzz_ok_[] = {DKS_OK, __VA_ARGS__};                                 \
        int fuzz_found_ = 0;                                                          \
        for (size_t i_ = 0; i_ < sizeof fuzz_ok_ / sizeof fuzz_ok_[0]; i_++)          \
            fuzz_found_ |= fuzz_rc_ == fuzz_ok_[i_];                                  \
        if (!fuzz_found_) {                                                           \
            fprintf(stderr, "%s:%d: unexpected return %d (%s)\n", __FILE__, __LINE__, \
                    fuzz_rc_, dks_strerror(fuzz_rc_));                                \
            abort();                                                                  \
        }                                                                             \
    } while (0)

static inline int fuzz_valid_utf8(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        int32_t cp;
        i += dks_utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (cp < 0)
            return 0;
    }
    return 1;
}

static int fuzz_remove(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Removes a directory tree. */
static inline void fuzz_rmrf(const char *dir)
{
    nftw(dir, fuzz_remove, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory under $TMPDIR (or /tmp) into dir; exits if there is
 * none to be had, since the harness cannot run without it. */
static inline void fuzz_tmpdir(char *dir, size_t size, const char *what)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, size, "%s/dksearch-fuzz-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", what);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
}

/* Exits with a message when setting up the harness fails. */
static inline void fuzz_setup(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "fuzz setup: %s: %s\n", what, dks_strerror(rc));
        exit(1);
    }
}

#endif
