/*
 * pipeline.c - analysis on a second thread while the writer inverts.
 *
 * Analysing a document (tokens, stems, lemmas, compounds) costs about as
 * much as inverting it, compressing its text and writing it all to LMDB,
 * and LMDB's write transaction belongs to one thread.  So the writer hands
 * each document to a worker thread with an analyzer of its own, and
 * inverts and stores the documents the worker has finished, in the order
 * they were given.  (Compressing on the worker instead was measured: the
 * worker is the busier thread already.)  The
 * jobs form a ring: the writer fills a free slot with a copy of the
 * document, the worker analyses slots in order, the writer takes them
 * back in order.  Counters only grow; slot = counter % PIPELINE_JOBS.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

/* Enough documents in flight to ride out a long one on either side. */
#define PIPELINE_JOBS 64
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
    dks_job jobs[PIPELINE_JOBS];
    uint64_t submitted, analysed, taken;
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

int dks_pipeline_new(unsigned features, dks_termdict *dict, dks_pipeline **out)
{
    *out = NULL;
    dks_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return DKS_ENOMEM;
    int rc = dks_analyzer_new_with(features, &p->an);
    if (rc) {
        free(p);
        return rc;
    }
    p->dict = dict;
    dks_analyzer_set_termdict(p->an, dict);
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
    dks_analyzer_free(p->an);
    free(p);
}

int dks_pipeline_full(dks_pipeline *p)
{
    /* only the writer's thread moves submitted and taken */
    return p->submitted - p->taken == PIPELINE_JOBS;
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
    if (dks_pipeline_full(p))
        return DKS_EINVAL;
    /* the slot is neither analysed nor read by anyone now */
    dks_job *j = &p->jobs[p->submitted % PIPELINE_JOBS];
    int rc = dks_job_set(j, doc);
    if (rc)
        return rc;
    j->tag = tag;
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

void dks_pipeline_release(dks_pipeline *p)
{
    p->taken++;
}
