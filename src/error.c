/*
 * error.c - error codes and their messages.
 *
 * dks_strerror() describes every code the library returns; dks_fail() is
 * how the other files report an error a person should read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dks_int.h"

const char *dks_strerror(int rc)
{
    switch (rc) {
    case DKS_OK:        return "success";
    case DKS_ENOMEM:    return "out of memory";
    case DKS_EINVAL:    return "invalid argument";
    case DKS_ENOINDEX:  return "no index at this path";
    case DKS_EVERSION:  return "index was written by an incompatible version";
    case DKS_ECORRUPT:  return "index is corrupt";
    case DKS_EQUERY:    return "query cannot be parsed";
    case DKS_EINPUT:    return "input cannot be read";
    case DKS_ESTORE:    return "storage engine error";
    case DKS_EFULL:     return "index is full";
    case DKS_ELOCKED:   return "index is locked by another writer";
    case DKS_ESTEMMER:  return "Danish stemmer not available";
    case DKS_ELIMIT:    return "a size limit was exceeded";
    default:
        break;
    }
    if (rc > 0)
        return strerror(rc);
    return "unknown error";
}

void dks_error_clear(dks_error_detail *err)
{
    if (!err)
        return;
    err->code = 0;
    err->position = -1;
    err->message[0] = '\0';
}

int dks_fail(dks_error_detail *err, int code, long position, const char *fmt, ...)
{
    if (!err || err->code != 0)
        return code;
    err->code = code;
    err->position = position;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}
