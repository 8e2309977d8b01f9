/*
 * pipeline.c - analysis on a second thread while the writer inverts.
 *
 * Analysing a document (tokens, stems, lemmas, compounds) costs about as
 * much as inverting it, compressing its text and writing it all to LMDB,
 * and LMDB's write transaction belongs to one thread.  So the writer hands
 * each document to a worker thread with an analyzer of its own, and
 * inverts and stores the documents the worker has finished, in the order
 * they were given.  (Compressing texts on the worker as well, whenever
 * the writer had fallen behind, was measured: a little slower on the
 * 200 MiB benchmark corpus, and more CPU time.)  The jobs form a ring:
 * the writer fills a free slot with a copy of the document, the worker
 * analyses slots in order, the writer takes them back in order.  Counters only grow; slot = counter % PIPELINE_JOBS.
 *
 * The ring is deep because the writer stops taking documents for as long
 * as a flush lasts (a third of a second and more on a large run): the
 * worker goes on analysing what was submitted before, instead of idling
 * after a few dozen documents.  What is in flight is bounded in bytes
 * too (a share of the writer's memory budget), so a run of large
 * documents cannot hold thousands of them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

/* Enough documents in flight for the worker to analyse through a flush:
 * about a second of its work in documents of a few KiB. */
#define PIPELINE_JOBS 4096
/* A slot that held a larger document gives its memory back when taken. */
#define PIPELINE_KEEP_BYTES ((size_t)256 << 10)
/* A writer that has to wait sleeps until this many documents are ready,
 * not one: waking it for each would cost two system calls a document.  A
 * worker that has caught up sleeps likewise, until this many documents
 * wait or the writer waits for it (woken for each, it cost a context
 * switch a document: a million tiny ones took three times the CPU time
 * they take on one thread). */
#define PIPELINE_WAKE_BATCH 16

struct dks_pipeline {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t submitted_cond;  /* the worker waits for work */
    pthread_cond_t analysed_cond;   /* the writer waits for results */
    dks_analyzer *an;               /* the worker's */
    dks_termdict *dict;             /* the writer's, interned in by the worker */
    dks_job *jobs;                  /* PIPELINE_JOBS of them */
    uint64_t submitted, analysed, taken;
    size_t bytes;                   /* of the documents submitted, not yet taken */
    uint64_t writer_wants;          /* > 0: the writer sleeps until analysed reaches it */
    int worker_sleeps;              /* the worker waits for work, until woken */
    int stop;
    int started;
};

/* The worker: analyses the jobs in order until told to stop. */
static void *work(void *arg)
{
    dks_pipeline *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->analysed == p->submitted && !p->stop) {
            p->worker_sleeps = 1;
            pthread_cond_wait(&p->submitted_cond, &p->lock);
        }
        if (p->analysed == p->submitted)
            break;  /* stopped, and nothing left */
        dks_job *j = &p->jobs[p->analysed % PIPELINE_JOBS];
        pthread_mutex_unlock(&p->lock);
        dks_job_analyze(j, p->an, p->dict);
        pthread_mutex_lock(&p->lock);
        p->analysed++;
        if (p->writer_wants && p->analysed >= p->writer_wants) {
            p->writer_wants = 0;
            pthread_cond_signal(&p->analysed_cond);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int dks_pipeline_new(unsigned features, dks_termdict *dict, const dks_lexicon *lexicon,
                     dks_pipeline **out)
{
    *out = NULL;
    dks_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return DKS_ENOMEM;
    p->jobs = calloc(PIPELINE_JOBS, sizeof *p->jobs);
    int rc = p->jobs ? dks_analyzer_new_with(features, &p->an) : DKS_ENOMEM;
    if (rc) {
        free(p->jobs);
        free(p);
        return rc;
    }
    p->dict = dict;
    dks_analyzer_set_termdict(p->an, dict);
    dks_analyzer_set_lexicon(p->an, lexicon);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->submitted_cond, NULL);
    pthread_cond_init(&p->analysed_cond, NULL);
    if (pthread_create(&p->thread, NULL, work, p) != 0) {
        dks_pipeline_free(p);
        return DKS_ENOMEM;
    }
    p->started = 1;
    *out = p;
    return DKS_OK;
}

void dks_pipeline_free(dks_pipeline *p)
{
    if (!p)
        return;
    if (p->started) {
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_signal(&p->submitted_cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->submitted_cond);
    pthread_cond_destroy(&p->analysed_cond);
    for (size_t i = 0; i < PIPELINE_JOBS; i++)
        dks_job_free(&p->jobs[i]);
    free(p->jobs);
    dks_analyzer_free(p->an);
    free(p);
}

/* Only the writer's thread moves submitted, taken and bytes. */
static int no_free_slot(const dks_pipeline *p)
{
    return p->submitted - p->taken == PIPELINE_JOBS;
}

int dks_pipeline_full(dks_pipeline *p, size_t max_bytes)
{
    return no_free_slot(p) || p->bytes >= max_bytes;
}

int dks_pipeline_empty(dks_pipeline *p)
{
    return p->submitted == p->taken;
}

/* Under the lock. */
static void wake_worker(dks_pipeline *p)
{
    if (p->worker_sleeps) {
        p->worker_sleeps = 0;
        pthread_cond_signal(&p->submitted_cond);
    }
}

int dks_pipeline_submit(dks_pipeline *p, const dks_document *doc, void *tag)
{
    if (no_free_slot(p))
        return DKS_EINVAL;
    /* the slot is neither analysed nor read by anyone now */
    dks_job *j = &p->jobs[p->submitted % PIPELINE_JOBS];
    int rc = dks_job_set(j, doc);
    if (rc)
        return rc;
    j->tag = tag;
    p->bytes += j->arena.len;
    pthread_mutex_lock(&p->lock);
    p->submitted++;
    if (p->submitted - p->analysed >= PIPELINE_WAKE_BATCH)
        wake_worker(p);
    pthread_mutex_unlock(&p->lock);
    return DKS_OK;
}

dks_job *dks_pipeline_take(dks_pipeline *p, int wait)
{
    if (dks_pipeline_empty(p))
        return NULL;
    pthread_mutex_lock(&p->lock);
    if (wait && p->analysed == p->taken) {
        wake_worker(p);  /* it may sleep with fewer than a batch submitted */
        uint64_t in_flight = p->submitted - p->taken;
        p->writer_wants = p->taken + (in_flight < PIPELINE_WAKE_BATCH ? in_flight
                                                                      : PIPELINE_WAKE_BATCH);
        while (p->writer_wants)
            pthread_cond_wait(&p->analysed_cond, &p->lock);
    }
    int ready = p->analysed > p->taken;
    pthread_mutex_unlock(&p->lock);
    return ready ? &p->jobs[p->taken % PIPELINE_JOBS] : NULL;
}

void dks_pipeline_trim(dks_pipeline *p)
{
    if (!dks_pipeline_empty(p))
        return;
    for (size_t i = 0; i < PIPELINE_JOBS; i++)
        dks_job_free(&p->jobs[i]);
}

void dks_pipeline_release(dks_pipeline *p)
{
    dks_job *j = &p->jobs[p->taken % PIPELINE_JOBS];
    p->bytes -= j->arena.len;
    if (j->arena.cap + j->fields_encoded.cap + j->terms.cap * sizeof *j->terms.pairs >
        PIPELINE_KEEP_BYTES)
        dks_job_free(j);
    p->taken++;
}
