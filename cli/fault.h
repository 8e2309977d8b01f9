/*
 * fault.h - what dksearch-index and dksearch-query share: a damaged index
 * ends them with a message, as any corrupt index does, not a core dump.
 *
 * LMDB checks no page it reads, so a damaged index can send it past the
 * end of the file (SIGBUS), through a pointer it never set (SIGSEGV) or
 * into one of its assertions (SIGABRT) before the library sees the bytes
 * it would refuse (DKS_ECORRUPT).  The library installs no handler for
 * those; a program does, with catch_faults, before it opens the index.
 * The handler says the index at PATH is corrupt and exits with status 2.
 * A SIGBUS in an input file the program has mapped (fault_input) is that
 * file cut short instead, and said so.  The handler makes
 * async-signal-safe calls only.
 */
#ifndef DKS_CLI_FAULT_H
#define DKS_CLI_FAULT_H

#include <signal.h>
#include <string.h>
#include <unistd.h>

static const char *fault_prog, *fault_db;
/* The input file mapped at fault_input_map, if any */
static const char *volatile fault_input, *volatile fault_input_map;
static volatile size_t fault_input_len;

static void fault_say(const char *s)
{
    if (write(STDERR_FILENO, s, strlen(s)) < 0)
        return;  /* nothing left to tell it to */
}

static void on_fault(int sig, siginfo_t *si, void *context)
{
    (void)context;
    const char *at = si->si_addr, *map = fault_input_map;
    fault_say(fault_prog);
    if (sig == SIGBUS && map && at >= map && at < map + fault_input_len) {
        fault_say(": ");
        fault_say(fault_input);
        fault_say(" was cut short while it was read\n");
        _exit(2);
    }
    fault_say(": the index at ");
    fault_say(fault_db);
    fault_say(sig == SIGBUS    ? " is corrupt (a read past the end of its file)\n"
              : sig == SIGSEGV ? " is corrupt (a read of it went astray)\n"
                               : " is corrupt (LMDB stopped at a page it cannot read)\n");
    _exit(2);
}

static void catch_faults(const char *prog, const char *db)
{
    static const int sigs[] = {SIGBUS, SIGSEGV, SIGABRT};
    struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    fault_prog = prog;
    fault_db = db;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

#endif
