/*
 * scratch_index.h - an index for a unit-test group: created in a temporary
 * directory by the group's setup, filled through one writer, and removed
 * by scratch_teardown.
 */
#ifndef DKS_SCRATCH_INDEX_H
#define DKS_SCRATCH_INDEX_H

#include "dksearch.h"
#include "test_util.h"

static char *scratch_dir;
static dks_index *idx;
static dks_writer *scratch_writer;

/* Creates the index and opens its writer; 0 on success. */
static int scratch_open(void)
{
    char db[4200];
    if (!(scratch_dir = test_tmpdir()))
        return -1;
    snprintf(db, sizeof db, "%s/db", scratch_dir);
    return dks_index_open(db, DKS_OPEN_CREATE, &idx, NULL) ||
                   dks_writer_open(idx, &scratch_writer, NULL)
               ? -1
               : 0;
}

static int scratch_add(const char *id, const char *body)
{
    dks_document d = {.id = id, .id_len = strlen(id), .title = "", .body = body,
                      .body_len = strlen(body)};
    return dks_writer_add(scratch_writer, &d, NULL, NULL);
}

/* Commits what was added and closes the writer. */
static int scratch_commit(void)
{
    int rc = dks_writer_commit(scratch_writer, NULL);
    dks_writer_close(scratch_writer);
    scratch_writer = NULL;
    return rc;
}

static int scratch_teardown(void **state)
{
    (void)state;
    dks_writer_close(scratch_writer);
    dks_index_close(idx);
    if (scratch_dir)
        test_rmrf(scratch_dir);
    free(scratch_dir);
    return 0;
}

#endif
