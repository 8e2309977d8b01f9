/*
 * utf8.c - UTF-8 decoding, the character classes the tokeniser needs, and
 * term normalisation (lower-case, NFC), on top of utf8proc.
 *
 * Text comes from anywhere, so nothing here trusts it: decoding never reads
 * past the given length and an invalid byte is reported as one byte of
 * "no character" for the caller to skip or replace.
 */
#include <string.h>

#include <utf8proc.h>

#include "dks_int.h"

size_t dks_utf8_decode(const unsigned char *s, size_t len, int32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    utf8proc_int32_t c;
    size_t avail = len < 4 ? len : 4;
    utf8proc_ssize_t n = utf8proc_iterate(s, (utf8proc_ssize_t)avail, &c);
    if (n <= 0) {
        *cp = -1;
        return 1;
    }
    *cp = c;
    return (size_t)n;
}

enum dks_char_class dks_char_class_of(int32_t cp)
{
    if (cp < 0x80) {
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9'))
            return DKS_CHAR_WORD;
        if (cp == ' ' || (cp >= '\t' && cp <= '\r'))
            return DKS_CHAR_SPACE;
        return cp == '\'' ? DKS_CHAR_APOSTROPHE : DKS_CHAR_OTHER;
    }
    switch (cp) {
    case 0x2019:                     /* right single quotation mark, typographic apostrophe */
        return DKS_CHAR_APOSTROPHE;
    case 0x00AD:                     /* soft hyphen */
    case 0x200B: case 0x200C: case 0x200D: case 0x2060:
        return DKS_CHAR_JOINER;
    default:
        break;
    }
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
        return DKS_CHAR_WORD;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
        return DKS_CHAR_MARK;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
        return DKS_CHAR_SPACE;
    default:
        return DKS_CHAR_OTHER;
    }
}

static int normalize_ascii(const unsigned char *s, size_t len, char *out, size_t cap,
                           size_t *out_len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '\'')
            continue;
        if (n >= cap)
            return DKS_ELIMIT;
        out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    *out_len = n;
    return DKS_OK;
}

int dks_normalize(const unsigned char *s, size_t len, char *out, size_t cap, size_t *out_len)
{
    size_t i;
    for (i = 0; i < len && s[i] < 0x80; i++)
        ;
    if (i == len)
        return normalize_ascii(s, len, out, cap, out_len);

    /* Drop apostrophes first: utf8proc maps characters but cannot delete
     * them, while soft hyphens and joiners go with UTF8PROC_IGNORE. */
    unsigned char stripped[DKS_MAX_TOKEN_BYTES];
    size_t sl = 0;
    for (i = 0; i < len;) {
        if (s[i] == '\'') {
            i++;
            continue;
        }
        if (i + 2 < len + 0 && s[i] == 0xE2 && s[i + 1] == 0x80 && s[i + 2] == 0x99) {
            i += 3;
            continue;
        }
        if (sl >= sizeof stripped)
            return DKS_ELIMIT;
        stripped[sl++] = s[i++];
    }

    const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
                                   UTF8PROC_IGNORE;
    utf8proc_int32_t cps[DKS_MAX_TERM_BYTES];
    utf8proc_ssize_t n = utf8proc_decompose(stripped, (utf8proc_ssize_t)sl, cps,
                                            DKS_MAX_TERM_BYTES, opts);
    if (n < 0)
        return DKS_EINVAL;
    if (n > DKS_MAX_TERM_BYTES)
        return DKS_ELIMIT;
    /* reencode composes (NFC) and writes UTF-8 over the code point buffer. */
    utf8proc_ssize_t bytes = utf8proc_reencode(cps, n, opts);
    if (bytes < 0)
        return DKS_EINVAL;
    if ((size_t)bytes > cap)
        return DKS_ELIMIT;
    memcpy(out, cps, (size_t)bytes);
    *out_len = (size_t)bytes;
    return DKS_OK;
}

int dks_utf8_append_valid(dks_buf *b, const unsigned char *s, size_t len)
{
    static const unsigned char replacement[] = {0xEF, 0xBF, 0xBD};
    size_t start = 0, i = 0;
    while (i < len) {
        int32_t cp;
        size_t n = dks_utf8_decode(s + i, len - i, &cp);
        if (cp >= 0) {
            i += n;
            continue;
        }
        int rc = dks_buf_append(b, s + start, i - start);
        if (!rc)
            rc = dks_buf_append(b, replacement, sizeof replacement);
        if (rc)
            return rc;
        i += n;
        start = i;
    }
    return dks_buf_append(b, s + start, i - start);
}
