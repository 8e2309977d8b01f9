/*
 * buf.c - growable byte buffers with a hard cap, and the integer codings
 * (LEB128 varints, fixed big- and little-endian) used by the index format.
 *
 * Every decoder takes an end pointer and reports DKS_ECORRUPT instead of
 * reading past it: index bytes are untrusted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dks_int.h"

int dks_buf_capacity_for(const dks_buf *b, size_t extra, size_t *cap)
{
    if (extra > DKS_BUF_MAX - b->len)
        return DKS_ELIMIT;
    size_t need = b->len + extra;
    *cap = b->cap;
    if (need <= b->cap)
        return DKS_OK;
    size_t c = b->cap ? b->cap : 64;
    while (c < need)
        c = c > DKS_BUF_MAX / 2 ? DKS_BUF_MAX : c * 2;
    *cap = c;
    return DKS_OK;
}

int dks_buf_reserve(dks_buf *b, size_t extra)
{
    size_t cap;
    int rc = dks_buf_capacity_for(b, extra, &cap);
    if (rc || cap == b->cap)
        return rc;
    unsigned char *p = realloc(b->data, cap);
    if (!p)
        return DKS_ENOMEM;
    b->data = p;
    b->cap = cap;
    return DKS_OK;
}

int dks_buf_append(dks_buf *b, const void *data, size_t len)
{
    int rc = dks_buf_reserve(b, len + 1);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    /* Always NUL-terminated, so text buffers can be handed out as strings. */
    b->data[b->len] = '\0';
    return DKS_OK;
}

int dks_buf_append_str(dks_buf *b, const char *s)
{
    return dks_buf_append(b, s, strlen(s));
}

int dks_buf_putc(dks_buf *b, unsigned char c)
{
    return dks_buf_append(b, &c, 1);
}

int dks_buf_put_varint(dks_buf *b, uint64_t v)
{
    /* in place: the writer puts several varints for every word it indexes */
    if (b->cap - b->len < 11) {
        int rc = dks_buf_reserve(b, 11);
        if (rc)
            return rc;
    }
    b->len += dks_varint_encode(b->data + b->len, v);
    b->data[b->len] = '\0';
    return DKS_OK;
}

int dks_buf_vprintf(dks_buf *b, const char *fmt, va_list ap)
{
    char small[128];
    va_list again;
    va_copy(again, ap);  /* a second pass when the text is longer than small */
    int n = vsnprintf(small, sizeof small, fmt, ap);
    int rc = n < 0 ? DKS_EINVAL : DKS_OK;
    if (!rc && (size_t)n < sizeof small)
        rc = dks_buf_append(b, small, (size_t)n);
    else if (!rc && !(rc = dks_buf_reserve(b, (size_t)n + 1))) {
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
    return rc;
}

int dks_buf_printf(dks_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = dks_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void dks_buf_free(dks_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int dks_grow(void *array, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return DKS_OK;
    size_t ncap = *cap ? *cap * 2 : first;
    if (ncap > DKS_BUF_MAX / size)
        return DKS_ELIMIT;
    void *old;
    memcpy(&old, array, sizeof old);  /* array is a T **, for any T */
    void *grown = realloc(old, ncap * size);
    if (!grown)
        return DKS_ENOMEM;
    memcpy(array, &grown, sizeof grown);
    *cap = ncap;
    return DKS_OK;
}

int dks_reserve_u32(uint32_t **array, size_t *cap, size_t n)
{
    if (n <= *cap)
        return DKS_OK;
    if (n > DKS_BUF_MAX / sizeof **array)
        return DKS_ELIMIT;
    uint32_t *grown = realloc(*array, n * sizeof **array);
    if (!grown)
        return DKS_ENOMEM;
    *array = grown;
    *cap = n;
    return DKS_OK;
}

uint64_t dks_hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;  /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

size_t dks_varint_encode(unsigned char *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (unsigned char)v;
    return n;
}

int dks_varint_decode(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    const unsigned char *s = *p;
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (s >= end)
            return DKS_ECORRUPT;
        unsigned char byte = *s++;
        if (shift == 63 && byte > 1)
            return DKS_ECORRUPT;
        result |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *p = s;
            *v = result;
            return DKS_OK;
        }
    }
    return DKS_ECORRUPT;
}

int dks_varint_decode32(const unsigned char **p, const unsigned char *end, uint32_t *v)
{
    uint64_t wide;
    int rc = dks_varint_decode(p, end, &wide);
    if (rc)
        return rc;
    if (wide > UINT32_MAX)
        return DKS_ECORRUPT;
    *v = (uint32_t)wide;
    return DKS_OK;
}

void dks_put_be32(unsigned char *out, uint32_t v)
{
    out[0] = (unsigned char)(v >> 24);
    out[1] = (unsigned char)(v >> 16);
    out[2] = (unsigned char)(v >> 8);
    out[3] = (unsigned char)v;
}

uint32_t dks_get_be32(const unsigned char *in)
{
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

void dks_put_le64(unsigned char *out, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

uint64_t dks_get_le64(const unsigned char *in)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | in[i];
    return v;
}
