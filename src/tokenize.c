/*
 * tokenize.c - splits UTF-8 text into tokens: maximal runs of letters and
 * digits (any script), with combining marks kept on their letter, soft
 * hyphens and zero-width joiners kept inside a word, and an apostrophe
 * kept only between two word characters ("Peter's", not "Jens'").
 * Numbers keep their Danish separators ("1.000,50", "14.30" are one
 * token), and the section sign § is a token of its own, so "§ 12" can be
 * searched as written.
 *
 * Everything else, invalid UTF-8 included, separates tokens.  The
 * tokeniser only finds boundaries; dks_normalize() makes terms of them.
 */
#include "dks_int.h"

void dks_tokenizer_init(dks_tokenizer *t, const char *text, size_t len)
{
    t->text = (const unsigned char *)text;
    t->len = len;
    t->pos = 0;
}

/* Class of the character at i, its size in *n. */
static enum dks_char_class class_at(const dks_tokenizer *t, size_t i, size_t *n)
{
    int32_t cp;
    *n = dks_utf8_decode(t->text + i, t->len - i, &cp);
    return cp < 0 ? DKS_CHAR_OTHER : dks_char_class_of(cp);
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The section sign, U+00A7. */
static int is_section_sign(const dks_tokenizer *t, size_t i)
{
    return i + 1 < t->len && t->text[i] == 0xC2 && t->text[i + 1] == 0xA7;
}

int dks_tokenizer_next(dks_tokenizer *t, dks_token *tok)
{
    size_t i = t->pos, n;

    /* Skip to the first word character. */
    while (i < t->len) {
        if (is_section_sign(t, i)) {
            tok->offset = i;
            tok->len = 2;
            tok->ascii = 0;
            t->pos = i + 2;
            return 1;
        }
        if (t->text[i] < 0x80) {
            unsigned char c = t->text[i];
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                break;
            i++;
            continue;
        }
        if (class_at(t, i, &n) == DKS_CHAR_WORD)
            break;
        i += n;
    }
    if (i >= t->len) {
        t->pos = t->len;
        return 0;
    }

    size_t start = i;
    int ascii = 1;
    while (i < t->len) {
        unsigned char c = t->text[i];
        if (c < 0x80 && c != '\'') {
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
                i++;
                continue;
            }
            /* 1.000,50 and 14.30: a separator between two digits */
            if ((c == '.' || c == ',') && i > start && is_digit(t->text[i - 1]) &&
                i + 1 < t->len && is_digit(t->text[i + 1])) {
                i++;
                continue;
            }
            break;
        }
        enum dks_char_class cls = class_at(t, i, &n);
        if (cls == DKS_CHAR_WORD || cls == DKS_CHAR_MARK || cls == DKS_CHAR_JOINER) {
            ascii = 0;
            i += n;
            continue;
        }
        if (cls == DKS_CHAR_APOSTROPHE && i + n < t->len) {
            size_t m;
            if (class_at(t, i + n, &m) == DKS_CHAR_WORD) {
                if (c >= 0x80)
                    ascii = 0;
                i += n;
                continue;
            }
        }
        break;
    }
    tok->offset = start;
    tok->len = i - start;
    tok->ascii = ascii;
    t->pos = i;
    return 1;
}
