/*
 * json.c - JSON string literals for the results writer, and the JSON form
 * of a failed search.
 *
 * Stored ids and titles come from arbitrary input, so the escaper accepts
 * any bytes and always produces valid JSON in valid UTF-8.
 */
#include <string.h>

#include "dks_int.h"

int dks_json_string(dks_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    int rc = dks_buf_putc(b, '"');
    size_t i = 0;
    while (!rc && i < len) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            int32_t cp;
            size_t n = dks_utf8_decode(p + i, len - i, &cp);
            rc = dks_utf8_append_valid(b, p + i, n);
            i += n;
            continue;
        }
        i++;
        switch (c) {
        case '"':  rc = dks_buf_append(b, "\\\"", 2); break;
        case '\\': rc = dks_buf_append(b, "\\\\", 2); break;
        case '\n': rc = dks_buf_append(b, "\\n", 2); break;
        case '\r': rc = dks_buf_append(b, "\\r", 2); break;
        case '\t': rc = dks_buf_append(b, "\\t", 2); break;
        default:
            /* < > & escaped too: JSON that a page or a mistaken browser
             * reads as HTML then holds no markup */
            if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                rc = dks_buf_append(b, esc, sizeof esc);
            } else {
                rc = dks_buf_putc(b, c);
            }
        }
    }
    return rc ? rc : dks_buf_putc(b, '"');
}

int dks_error_json(const char *query, size_t query_len, int code,
                   const dks_error_detail *detail, char **json, size_t *len)
{
    *json = NULL;
    if (len)
        *len = 0;
    const char *message = detail && detail->message[0] ? detail->message : dks_strerror(code);
    long position = detail && code == DKS_EQUERY ? detail->position : -1;
    dks_buf b = {0};
    int rc = dks_buf_append_str(&b, "{\"query\":");
    if (!rc)
        rc = dks_json_string(&b, query ? query : "", query ? query_len : 0);
    if (!rc)
        rc = dks_buf_append_str(&b, ",\"error\":");
    if (!rc)
        rc = dks_json_string(&b, message, strlen(message));
    if (!rc)
        rc = dks_buf_printf(&b, ",\"code\":%d,\"position\":%ld}", code, position);
    if (rc) {
        dks_buf_free(&b);
        return rc;
    }
    *json = (char *)b.data;
    if (len)
        *len = b.len;
    return DKS_OK;
}
