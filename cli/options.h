/*
 * options.h - what the command-line programs share in reading their
 * options: a whole number within bounds, or a message that says which.
 */
#ifndef DKS_CLI_OPTIONS_H
#define DKS_CLI_OPTIONS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The value of `option` as a number from min to max, into *out; else a
 * message on standard error ("prog: --threads takes 1 to 64") and -1. */
static inline int cli_number(const char *prog, const char *option, const char *text, long min,
                             long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (end == text || *end || errno || n < min || n > max) {
        fprintf(stderr, "%s: %s takes %ld to %ld\n", prog, option, min, max);
        return -1;
    }
    *out = n;
    return 0;
}

#endif
