/*
 * analyzer_fixture.h - a group fixture for tests that need one analyzer:
 * cmocka_run_group_tests(tests, analyzer_setup, analyzer_teardown).
 * Define ANALYZER_FEATURES (DKS_ANALYSIS_* flags) before including it for
 * another analysis than the full Danish one.
 */
#ifndef DKS_ANALYZER_FIXTURE_H
#define DKS_ANALYZER_FIXTURE_H

#include "dksearch.h"

#ifndef ANALYZER_FEATURES
#define ANALYZER_FEATURES DKS_ANALYSIS_ALL
#endif

static dks_analyzer *an;

static int analyzer_setup(void **state)
{
    (void)state;
    return dks_analyzer_new_with(ANALYZER_FEATURES, &an);
}

static int analyzer_teardown(void **state)
{
    (void)state;
    dks_analyzer_free(an);
    return 0;
}

#endif
