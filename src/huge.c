/*
 * huge.c - memory for the large tables that indexing reads at random.
 *
 * The word cache, the term dictionary's hash table and the writer's term
 * states are tens of MiB, read at a random place for every token.  With
 * 4 KiB pages almost every such read also misses the TLB, and the page
 * walk that follows costs about as much as the miss itself (more in a
 * virtual machine, which walks two levels of tables).  So these tables
 * ask the kernel for transparent huge pages (2 MiB), which it gives to
 * memory that asks for them when it is set to "madvise", as is common.
 * Where it offers none the memory is ordinary pages, and works the same.
 *
 * Small tables (under HUGE_MIN) come from malloc: a 2 MiB page would be
 * mostly empty.  Larger ones are mapped in whole huge pages.  The caller
 * passes the size to every call, so each call knows which kind a block
 * is.
 */
#define _GNU_SOURCE  /* MADV_HUGEPAGE */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dks_int.h"

#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN ((size_t)1 << 20)

static size_t mapped_bytes(size_t bytes)
{
    return (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void *dks_huge_alloc(size_t bytes)
{
    if (bytes < HUGE_MIN)
        return calloc(1, bytes ? bytes : 1);
    if (bytes > SIZE_MAX - 2 * HUGE_PAGE)
        return NULL;  /* the mapping's size would wrap */
    size_t len = mapped_bytes(bytes);
    /* A huge page must start at a 2 MiB boundary of the address space:
     * map one page more and give back what lies before and after. */
    unsigned char *raw = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t at = ((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    unsigned char *p = (unsigned char *)at;
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    if (raw + HUGE_PAGE > p)
        munmap(p + len, (size_t)(raw + HUGE_PAGE - p));
#ifdef MADV_HUGEPAGE
    madvise(p, len, MADV_HUGEPAGE);  /* a hint: without it, small pages */
#endif
    return p;  /* anonymous memory reads as zeros */
}

void dks_huge_free(void *p, size_t bytes)
{
    if (!p)
        return;
    if (bytes < HUGE_MIN)
        free(p);
    else
        munmap(p, mapped_bytes(bytes));
}

void *dks_huge_realloc(void *p, size_t old_bytes, size_t new_bytes)
{
    if (new_bytes < HUGE_MIN && old_bytes < HUGE_MIN) {
        unsigned char *q = realloc(p, new_bytes ? new_bytes : 1);
        if (q && new_bytes > old_bytes)
            memset(q + old_bytes, 0, new_bytes - old_bytes);
        return q;
    }
    if (p && old_bytes >= HUGE_MIN && new_bytes >= HUGE_MIN &&
        mapped_bytes(new_bytes) == mapped_bytes(old_bytes)) {
        if (new_bytes < old_bytes)  /* what a later growth reuses reads as zeros */
            memset((unsigned char *)p + new_bytes, 0, old_bytes - new_bytes);
        return p;
    }
    void *q = dks_huge_alloc(new_bytes);
    if (!q)
        return NULL;
    if (p)
        memcpy(q, p, old_bytes < new_bytes ? old_bytes : new_bytes);
    dks_huge_free(p, old_bytes);
    return q;
}
