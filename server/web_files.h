/*
 * web_files.h - the search page's files, compiled into dksearch-serve
 * (scripts/embed-web.sh writes the table from web/).
 */
#ifndef DKS_WEB_FILES_H
#define DKS_WEB_FILES_H

#include <stddef.h>

typedef struct dks_web_file {
    const char *path;          /* "/index.html"; NULL ends the table */
    const unsigned char *data;
    size_t len;
    const char *type;          /* Content-Type */
} dks_web_file;

extern const dks_web_file dks_web_files[];

#endif
