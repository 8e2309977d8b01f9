/*
 * analyze.c - the analysis chain, used identically for documents
 * (writer.c, snippet.c) and queries (query.c).  This is the only file that
 * calls libstemmer.
 *
 *   tokenise -> normalise -> mark stop words -> Snowball stem    (WORD)
 *     + lemmas: Hunspell's dictionary forms and the exception table
 *       (sagde -> sige), dropped e (sundhedsvæsnet -> sundhedsvæsen) (LEMMA)
 *     + spelling: accents folded (idé -> ide, Malmö -> malmø)   (SPELLING)
 *     + compounds: first parts and head (velfærd, alliancer)    (PART, HEAD)
 *       and hyphenated words joined (offentlig-private)         (EXPANSION)
 *     + ellipsis: "klima-, energi- og forsyningsministeren" gives
 *       klimaministeren and energiministeren                    (EXPANSION)
 *
 * Extra terms stand at the position (and byte offset) of the token they
 * come from.  Every stage is a pure function of the text and the compiled
 * lexicon (lexicon.c), so re-analysing a stored document gives exactly the
 * terms it was indexed with, which deleting it relies on.
 */
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>
#include <utf8proc.h>

#include "dks_int.h"

/* Shortest compound part, in characters, for words the lexicon does not
 * know (words it knows are split only as Hunspell splits them). */
#define MIN_PART_CHARS 3
#define MAX_PARTS DKS_MAX_COMPOUND_PARTS
/* Truncated words remembered while waiting for the conjunct that
 * completes them ("klima-, energi-, miljø- og ..."). */
#define MAX_TRUNCATED 8
/* The word cache is emptied when it grows past this; a corpus's common
 * words come back at once. */
#define WORD_CACHE_BYTES ((size_t)48 << 20)
/* Its first slot table: small, since a search's analyzer sees a few
 * words; an indexer's doubles it as words come. */
#define WORD_CACHE_FIRST_SLOTS 64
/* An analyzer kept for the next search keeps no more of its buffers... */
#define ANALYZER_KEEP_BYTES ((size_t)256 << 10)
/* ...but for the words it has analysed, some thousands of them. */
#define KEPT_WORDS_BYTES ((size_t)1 << 20)

/* A word cache: entries (see cache_add()) in data, found through a hash
 * table of slots with linear probing. */
typedef struct word_cache {
    uint32_t *slots;            /* offset in data + 1, 0 = empty */
    size_t n_slots, entries;
    dks_buf data;
} word_cache;

static void word_cache_free(word_cache *c);

typedef struct truncated {
    size_t offset, len;        /* the surface */
    uint32_t position;
    char norm[DKS_MAX_TOKEN_BYTES];
    size_t norm_len;
} truncated;

struct dks_analyzer {
    struct sb_stemmer *stemmer;
    unsigned features;

    /* the text being analysed and where its terms go */
    const char *text;
    size_t len;
    dks_term_callback cb;          /* dks_analyze */
    dks_term_id_callback id_cb;    /* dks_analyze_ids */
    void *ctx;
    dks_termdict *dict;            /* where keys get their ids, or NULL */

    char norm[DKS_MAX_TERM_BYTES];      /* the current token, normalised */
    char stem[DKS_MAX_TERM_BYTES];      /* result of stem_into() callers copy from */
    char work[2 * DKS_MAX_TERM_BYTES];  /* scratch for joined and folded words */

    /* ellipsis: truncated first parts waiting for their head */
    truncated pending[MAX_TRUNCATED];
    size_t n_pending;
    int after_conjunction;

    /* hyphenated words: offentlig-private */
    char chain[DKS_MAX_TOKEN_BYTES];
    size_t chain_len, chain_parts, chain_offset;
    int chain_broken;
    uint32_t chain_position;

    /* Per-word results (normalised form, main term, stop word, extra
     * terms and their key ids), cached by the word as written and by its
     * normalised form: analysing a word's lemmas, spellings and compound
     * parts takes many lexicon lookups, normalising it a pass through
     * utf8proc, and a text repeats its words.  A search's analyzer keeps
     * its words for the next search, whose query words are mostly ones
     * seen before.  Snippets analyse with compounds restricted (see
     * dks_analyzer_restrict_compounds): meanwhile the words analysed
     * without are parked, and the cache in use starts empty (parked
     * holds its buffers otherwise).  Swapped, not pointed to: the
     * indexer's loop reads the cache for every token. */
    word_cache cache, parked;
    dks_lexicon lexicon;        /* the linked one, or the writer's copy */
    dks_buf *collect;           /* while computing a word: its extra terms go here */
    dks_buf extras;

    /* Compounds only for words containing one of these (see
     * dks_analyzer_restrict_compounds); restricted = 0: all words.  The
     * restricted cache is kept from search to search (parked while the
     * analyzer is not restricted), since the snippets' texts repeat their
     * words: an entry notes whether its word's compound stage was left
     * out, and such an entry is analysed again when the needles of a
     * later search want it. */
    int restricted;
    char needles[DKS_MAX_QUERY_TERMS][4];
    size_t n_needles;

    /* abbreviations (H.C.) and a letter before a number (L 146) */
    char abbrev[16];
    size_t abbrev_len, abbrev_offset;
    uint32_t abbrev_position;
    size_t prev_end;            /* byte after the previous token */
    int prev_single_letter;     /* previous token is one letter */
    char prev_letter;
    size_t prev_offset;
    uint32_t prev_position;
};

const char *dks_term_kind_name(dks_term_kind kind)
{
    static const char *const names[] = {"word", "part", "head", "expansion", "lemma",
                                        "spelling", "form"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

int dks_analysis_parse(const char *spec, unsigned *features)
{
    static const struct {
        const char *name;
        unsigned flag;
    } names[] = {
        {"snowball", DKS_ANALYSIS_SNOWBALL}, {"spelling", DKS_ANALYSIS_SPELLING},
        {"compounds", DKS_ANALYSIS_COMPOUNDS}, {"ellipsis", DKS_ANALYSIS_ELLIPSIS},
        {"lemmas", DKS_ANALYSIS_LEMMAS}, {"all", DKS_ANALYSIS_ALL},
    };
    unsigned f = 0;
    const char *p = spec;
    while (*p) {
        size_t n = strcspn(p, ",+ ");
        size_t i;
        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == n && strncmp(names[i].name, p, n) == 0)
                break;
        if (i == sizeof names / sizeof names[0])
            return DKS_EINVAL;
        f |= names[i].flag;
        p += n;
        p += strspn(p, ",+ ");
    }
    *features = f;
    return DKS_OK;
}

int dks_analyzer_new_with(unsigned features, dks_analyzer **out)
{
    *out = NULL;
    if (features & ~(unsigned)DKS_ANALYSIS_ALL)
        return DKS_EINVAL;
    dks_analyzer *an = calloc(1, sizeof *an);
    if (!an)
        return DKS_ENOMEM;
    an->features = features;
    dks_lexicon_open(&an->lexicon, 0);
    if (features && an->lexicon.n == 0) {
        free(an);
        return DKS_ESTEMMER;  /* the compiled lexicon is damaged */
    }
    an->stemmer = sb_stemmer_new("danish", "UTF_8");
    if (!an->stemmer) {
        free(an);
        return DKS_ESTEMMER;
    }
    *out = an;
    return DKS_OK;
}

int dks_analyzer_new(dks_analyzer **out)
{
    return dks_analyzer_new_with(DKS_ANALYSIS_ALL, out);
}

void dks_analyzer_free(dks_analyzer *an)
{
    if (!an)
        return;
    sb_stemmer_delete(an->stemmer);
    word_cache_free(&an->cache);
    word_cache_free(&an->parked);
    dks_buf_free(&an->extras);
    free(an);
}

unsigned dks_analyzer_features(const dks_analyzer *an)
{
    return an->features;
}

/* ---- stemming ----------------------------------------------------------- */

/* Plain Snowball; the result lives in the stemmer until its next call. */
static int snowball(dks_analyzer *an, const char *word, size_t len, const char **out,
                    size_t *out_len)
{
    const sb_symbol *s = sb_stemmer_stem(an->stemmer, (const sb_symbol *)word, (int)len);
    if (!s)
        return DKS_ENOMEM;
    *out = (const char *)s;
    *out_len = (size_t)sb_stemmer_length(an->stemmer);
    return DKS_OK;
}

/* Lemmas whose words Snowball merges with unrelated words, and the term
 * they get instead (stemmer-data/danish-kept-apart.tsv). */
static const struct {
    const char *lemma, *term;
} kept_apart[] = {
#include "kept_apart.inc"
};

static const char *kept_apart_term(const char *w, size_t len)
{
    for (size_t i = 0; i < sizeof kept_apart / sizeof kept_apart[0]; i++)
        if (strlen(kept_apart[i].lemma) == len && memcmp(kept_apart[i].lemma, w, len) == 0)
            return kept_apart[i].term;
    return NULL;
}

static int is_consonant(unsigned char c)
{
    return c != 0 && c < 0x80 && strchr("bcdfghjklmnpqrstvwxz", c) != NULL;
}

/* How a word relates to a lemma: 2 if it begins with the lemma without
 * the e of its last syllable (sundhedsvæsen -> sundhedsvæsn-et,
 * himmel -> himl-en, sommer -> somr-e), the dropped e that Snowball does
 * not restore; 1 if it begins with the lemma itself; 0 otherwise. */
static int regular_form_of(const char *w, size_t len, const char *lemma, size_t ll)
{
    if (ll >= 4 && strchr("lnr", lemma[ll - 1]) && lemma[ll - 2] == 'e' &&
        is_consonant((unsigned char)lemma[ll - 3])) {
        size_t keep = ll - 2;  /* up to the e */
        if (lemma[keep - 1] == lemma[keep - 2])
            keep--;  /* himmel -> him-l */
        if (keep + 1 <= len && memcmp(w, lemma, keep) == 0 && w[keep] == lemma[ll - 1])
            return 2;
    }
    return ll <= len && memcmp(w, lemma, ll) == 0;
}

/* The main term of a word the lexicon knows, with lemmas on.  Snowball
 * does not restore a dropped e and stems sundhedsvæsen, sundhedsvæsenet
 * and sundhedsvæsnet (cykel/cyklen, regel/regler, himmel/himlen...)
 * apart.  When the lexicon says a word is a regular form of a lemma, the
 * word takes the lemma's stem, which brings the forms to one term; a
 * dropped-e relation is the stronger evidence, and lemmas that disagree
 * leave the Snowball stem.  Lemmas in the kept-apart table give their own
 * term instead (haven is "have", no longer "hav" like havet).  Sets *len
 * to 0 when the word keeps its Snowball stem. */
static int lexical_main_term(dks_analyzer *an, const char *w, size_t n, char *out, size_t *len)
{
    dks_lexicon_entry e;
    *len = 0;
    if (!dks_lexicon_find_in(&an->lexicon, w, n, &e))
        return DKS_OK;
    /* The kept-apart term replaces only the Snowball stem that collides
     * (haven -> hav, like havet); havde and har keep theirs. */
    const char *kept = e.is_lemma ? kept_apart_term(w, n) : NULL;
    size_t kept_lemma_len = kept ? n : 0;
    const char *kept_lemma = w;
    for (size_t i = 0; !kept && !e.is_lemma && i < e.n_lemmas; i++) {
        size_t ll;
        const char *lemma = dks_lexicon_lemma(&e, i, &ll);
        if ((kept = kept_apart_term(lemma, ll))) {
            kept_lemma = lemma;
            kept_lemma_len = ll;
        }
    }
    if (kept) {
        char own[DKS_MAX_TERM_BYTES];
        const char *s;
        size_t own_len, sl;
        int rc = snowball(an, w, n, &s, &own_len);
        if (rc)
            return rc;
        memcpy(own, s, own_len);
        if ((rc = snowball(an, kept_lemma, kept_lemma_len, &s, &sl)))
            return rc;
        if (sl == own_len && memcmp(s, own, sl) == 0) {
            *len = strlen(kept);
            memcpy(out, kept, *len);
            return DKS_OK;
        }
    }
    /* best[strength]: the stem the lemmas of that strength agree on */
    char best[3][DKS_MAX_TERM_BYTES];
    size_t best_len[3] = {0, 0, 0};
    int conflict[3] = {0, 0, 0};
    for (size_t i = 0; i <= e.n_lemmas; i++) {
        size_t ll;
        const char *lemma = i < e.n_lemmas ? dks_lexicon_lemma(&e, i, &ll) : w;
        if (i == e.n_lemmas) {
            if (!e.is_lemma)
                break;
            ll = n;  /* the word as its own lemma */
        }
        int strength = regular_form_of(w, n, lemma, ll);
        if (!strength)
            continue;
        const char *s = kept_apart_term(lemma, ll);
        size_t sl = s ? strlen(s) : 0;
        int rc = s ? DKS_OK : snowball(an, lemma, ll, &s, &sl);
        if (rc)
            return rc;
        if (best_len[strength] && (sl != best_len[strength] ||
                                   memcmp(s, best[strength], sl) != 0))
            conflict[strength] = 1;
        else if (sl <= DKS_MAX_TERM_BYTES) {
            memcpy(best[strength], s, sl);
            best_len[strength] = sl;
        }
    }
    for (int strength = 2; strength >= 1; strength--) {
        if (best_len[strength] && !conflict[strength]) {
            memcpy(out, best[strength], best_len[strength]);
            *len = best_len[strength];
            return DKS_OK;
        }
    }
    return DKS_OK;
}

/* Stems a normalised word into an->stem: Snowball, or with lemmas on the
 * stem of its lemma where the lexicon knows it (lexical_main_term). */
static int stem_into(dks_analyzer *an, const char *word, size_t len, size_t *out_len)
{
    if (an->features & DKS_ANALYSIS_LEMMAS) {
        int rc = lexical_main_term(an, word, len, an->stem, out_len);
        if (rc || *out_len)
            return rc;
    }
    const char *s;
    size_t sl;
    int rc = snowball(an, word, len, &s, &sl);
    if (rc)
        return rc;
    if (sl > sizeof an->stem)
        return DKS_ELIMIT;
    memcpy(an->stem, s, sl);
    *out_len = sl;
    return DKS_OK;
}

int dks_analyzer_stem(dks_analyzer *an, const char *word, size_t len, const char **stem,
                      size_t *stem_len)
{
    int rc = stem_into(an, word, len, stem_len);
    *stem = an->stem;
    return rc;
}

int dks_analyze_word(dks_analyzer *an, const char *word, size_t len, const char **term,
                     size_t *term_len)
{
    *term = NULL;
    *term_len = 0;
    if (len > DKS_MAX_TOKEN_BYTES)
        return DKS_ELIMIT;
    size_t n;
    int rc = dks_normalize((const unsigned char *)word, len, an->norm, sizeof an->norm, &n);
    if (rc)
        return rc;
    return snowball(an, an->norm, n, term, term_len);
}

/* ---- emitting ------------------------------------------------------------ */

typedef struct token_info {
    size_t offset, len;
    uint32_t position;
    int is_stopword;
} token_info;

/* Emits a term whose key id is known (DKS_NO_TERM: too long for a key). */
static int emit_id(dks_analyzer *an, const token_info *tok, dks_term_kind kind, const char *term,
                   size_t len, uint32_t id)
{
    if (an->collect) {
        /* computing a word for the cache: kind, 16-bit length, term, id */
        unsigned char head[3] = {(unsigned char)kind, (unsigned char)(len & 0xff),
                                 (unsigned char)(len >> 8)};
        int rc = len > 0xffff ? DKS_ELIMIT : dks_buf_append(an->collect, head, sizeof head);
        if (!rc)
            rc = dks_buf_append(an->collect, term, len);
        return rc ? rc : dks_buf_append(an->collect, &id, sizeof id);
    }
    dks_term t = {
        .term = term,
        .term_len = len,
        .surface = an->text + tok->offset,
        .surface_len = tok->len,
        .offset = tok->offset,
        .position = tok->position,
        .kind = kind,
        .is_stopword = tok->is_stopword,
    };
    return an->id_cb ? an->id_cb(&t, id, an->ctx) : an->cb(&t, an->ctx);
}

/* The id of a term's key in the analyzer's dictionary (none without one). */
static int key_id(dks_analyzer *an, dks_term_kind kind, const char *term, size_t len,
                  uint32_t *id)
{
    char key[DKS_MAX_KEY_TERM_BYTES + 1];
    size_t kl = an->dict ? dks_term_key(kind, term, len, key) : 0;
    *id = DKS_NO_TERM;
    return kl ? dks_termdict_intern(an->dict, key, kl, id) : DKS_OK;
}

static int emit(dks_analyzer *an, const token_info *tok, dks_term_kind kind, const char *term,
                size_t len)
{
    uint32_t id;
    int rc = key_id(an, kind, term, len, &id);
    return rc ? rc : emit_id(an, tok, kind, term, len, id);
}

/* Stems `word` and emits it, unless it stems to `skip` (the token's own
 * term, which is already there). */
static int emit_stemmed(dks_analyzer *an, const token_info *tok, dks_term_kind kind,
                        const char *word, size_t len, const char *skip, size_t skip_len)
{
    size_t sl;
    int rc = stem_into(an, word, len, &sl);
    if (rc)
        return rc;
    if (skip && sl == skip_len && memcmp(an->stem, skip, sl) == 0)
        return DKS_OK;
    char term[DKS_MAX_TERM_BYTES];
    memcpy(term, an->stem, sl);
    return emit(an, tok, kind, term, sl);
}

/* ---- spelling ------------------------------------------------------------- */

/* Folds accents the Danish way: ä -> æ, ö -> ø, other marks dropped
 * (é -> e, ü -> u), æ ø å kept.  Returns 0 if nothing changed. */
static int fold_accents(const char *word, size_t len, char *out, size_t cap, size_t *out_len)
{
    size_t n = 0;
    int changed = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t step = dks_utf8_decode((const unsigned char *)word + i, len - i, &cp);
        int32_t mapped[4];
        int m = 1;
        mapped[0] = cp;
        if (cp == 0xE4) {
            mapped[0] = 0xE6;      /* ä -> æ */
        } else if (cp == 0xF6) {
            mapped[0] = 0xF8;      /* ö -> ø */
        } else if (cp >= 0xC0 && cp != 0xE5 && cp != 0xE6 && cp != 0xF8) {
            utf8proc_int32_t d[4];
            int last = 0;
            utf8proc_ssize_t k = utf8proc_decompose_char(cp, d, 4, UTF8PROC_DECOMPOSE |
                                                         UTF8PROC_STRIPMARK, &last);
            if (k >= 1 && k <= 4) {
                m = (int)k;
                for (int j = 0; j < m; j++)
                    mapped[j] = d[j];
            }
        }
        for (int j = 0; j < m; j++) {
            if (n + 4 > cap)
                return 0;
            n += (size_t)utf8proc_encode_char(mapped[j], (utf8proc_uint8_t *)out + n);
        }
        changed |= m != 1 || mapped[0] != cp;
        i += step;
    }
    *out_len = n;
    return changed;
}

/* ---- compounds ------------------------------------------------------------ */

static int at_boundary(const char *s, size_t i)
{
    return ((unsigned char)s[i] & 0xC0) != 0x80;
}

static int known(const dks_lexicon *lx, const char *s, size_t len)
{
    return dks_lexicon_find_in(lx, s, len, NULL);
}

/* A split: parts[i] = {start, end} of each part (linking letters left out). */
typedef struct split {
    size_t start[MAX_PARTS], end[MAX_PARTS];
    size_t n;
    size_t head;         /* characters in the last part */
    size_t shortest;     /* characters in the shortest part */
} split;

/* How strictly to split: words the lexicon knows as simple words are
 * split only into clearly better parts. */
typedef struct split_rules {
    size_t min_modifier, min_head;  /* characters */
    int e_link;                     /* allow a linking e (hundehus) */
    int e_dropped;                  /* allow a first part that drops its e (arbejd-s-) */
} split_rules;

static const split_rules unknown_word = {MIN_PART_CHARS, MIN_PART_CHARS, 1, 1};

/* Prefixes that make words of their own rather than compounds (forstand,
 * forklaring, udrejse is Hunspell's to split): a known word is not split
 * after one of them. */
/* Particles take no linking s (oversendelse is over+sendelse). */
static int is_particle(const char *w, size_t len)
{
    static const char *const particles[] = {"over", "under", "efter", "inde", "ude", "hjem",
                                            "gennem", "om", "på", "ned", "hen"};
    for (size_t i = 0; i < sizeof particles / sizeof particles[0]; i++)
        if (strlen(particles[i]) == len && memcmp(particles[i], w, len) == 0)
            return 1;
    return 0;
}

static int is_prefix_word(const char *w, size_t len)
{
    static const char *const prefixes[] = {"for", "fore", "be", "er", "ge", "ud", "ind", "op",
                                           "af", "til", "mis", "sam", "an", "fra", "med", "mod",
                                           "bort", "frem", "gen", "und", "van", "u"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strlen(prefixes[i]) == len && memcmp(prefixes[i], w, len) == 0)
            return 1;
    return 0;
}

/* Is w[start..end) a word that dropped its final e (arbejd- for arbejde)? */
static int dropped_e_known(const dks_lexicon *lx, const char *w, size_t start, size_t end)
{
    char buf[DKS_MAX_TOKEN_BYTES + 1];
    if (end - start + 1 > sizeof buf)
        return 0;
    memcpy(buf, w + start, end - start);
    buf[end - start] = 'e';
    return known(lx, buf, end - start + 1);
}

/* Can w[start..end) be a first part?  Known as it stands, or as the
 * stem form of a word ending in e (arbejds- from arbejde). */
static int modifier_ok(const dks_lexicon *lx, const char *w, size_t start, size_t end,
                       size_t min_chars)
{
    if (dks_utf8_chars(w + start, end - start) < min_chars)
        return 0;
    if (known(lx, w + start, end - start))
        return 1;
    return dropped_e_known(lx, w, start, end);
}

/* Is a better than b?  Fewest parts, then the longest head (cykel-stierne,
 * not cykels-tierne), then the longest shortest part. */
static int better_split(const split *a, const split *b)
{
    if (a->n != b->n)
        return a->n < b->n;
    if (a->head != b->head)
        return a->head > b->head;
    return a->shortest > b->shortest;
}

/* Finds the best split of w[start..len) into at most `max` known parts.
 * Between parts a linking s (or e) may stand.  `whole`: the rest may be
 * one part. */
static int best_split(const dks_lexicon *lx, const char *w, size_t len, size_t start, size_t max,
                      const split_rules *rules, int whole, split *best)
{
    size_t rest_chars = dks_utf8_chars(w + start, len - start);
    if (whole && rest_chars >= rules->min_head && known(lx, w + start, len - start)) {
        *best = (split){.start = {start}, .end = {len}, .n = 1, .head = rest_chars,
                        .shortest = rest_chars};
        return 1;
    }
    if (max < 2)
        return 0;
    int found = 0;
    size_t here = 0;  /* characters in w[start..cut), counted as cut moves */
    for (size_t cut = start + 1; cut < len; cut++) {
        here += at_boundary(w, cut - 1);
        if (!at_boundary(w, cut))
            continue;
        if (here < rules->min_modifier ||
            !(known(lx, w + start, cut - start) ||
              (rules->e_dropped && dropped_e_known(lx, w, start, cut))))
            continue;
        /* the rest starts right after, or after a linking s or e */
        for (int link = 0; link < 2; link++) {
            size_t next = cut + (size_t)link;
            if (link && (next >= len || (w[cut] != 's' && !(rules->e_link && w[cut] == 'e'))))
                continue;
            split rest;
            if (next >= len || !best_split(lx, w, len, next, max - 1, rules, 1, &rest))
                continue;
            split cand = rest;
            cand.n = rest.n + 1;
            cand.start[0] = start;
            cand.end[0] = cut;
            memcpy(cand.start + 1, rest.start, rest.n * sizeof *rest.start);
            memcpy(cand.end + 1, rest.end, rest.n * sizeof *rest.end);
            cand.shortest = here < rest.shortest ? here : rest.shortest;
            if (!found || better_split(&cand, best)) {
                *best = cand;
                found = 1;
            }
        }
    }
    return found;
}

/* Endings of derivations that are also words or look like them:
 * blodig-heder (blodighed), hæder-lighed, kokette-rende (kokettere),
 * lut-ringen (lutring), skolelærer-inderne (lærerinde), absolut-ister,
 * borger-skabs, indestå-ender.  A head beginning with one is no head. */
static int suffix_like(const char *head, size_t len)
{
    static const char *const endings[] = {"hed", "lighed", "rende", "ringen", "ringer",
                                           "ring", "lig", "lige", "inde", "inder", "ist",
                                           "ier", "nier", "ion", "isk", "arisk", "skab",
                                           "ender"};
    for (size_t i = 0; i < sizeof endings / sizeof endings[0]; i++) {
        size_t n = strlen(endings[i]);
        if (len >= n && memcmp(head, endings[i], n) == 0)
            return 1;
    }
    return 0;
}

/* The -iker of people's names (politiker, empiriker, musiker): a first
 * part ending in i before a head beginning with ker is that suffix, not
 * a compound (politi+kernes, empiri+kernes). */
static int iker_derivation(const char *w, size_t mod_end, size_t head_start)
{
    return mod_end > 0 && w[mod_end - 1] == 'i' && head_start == mod_end &&
           strncmp(w + head_start, "ker", 3) == 0;
}

static int is_lemma_word(const dks_lexicon *lx, const char *w, size_t len)
{
    dks_lexicon_entry e;
    return dks_lexicon_find_in(lx, w, len, &e) && e.is_lemma;
}

/* Where the first part w[0..end) stops when the letter before its end is
 * a linking s or e: a linking s goes when the part is a word without it,
 * unless the word with it is a dictionary form of its own (fælles, tips);
 * a linking e goes when the part is a word without it and the form with
 * it is no dictionary form (hunde-opdragelse -> hund, but læge, skrive). */
static size_t drop_link(const dks_lexicon *lx, const char *w, size_t end)
{
    if (end < 4 || (w[end - 1] != 's' && w[end - 1] != 'e'))
        return end;
    if (!modifier_ok(lx, w, 0, end - 1, 2) || is_lemma_word(lx, w, end))
        return end;
    if (w[end - 1] == 'e' && !known(lx, w, end - 1))
        return end;
    return end - 1;
}

/* Hunspell knows many compounds as words of their own (cykelstier,
 * alliancepartnere, grundejerforeningerne).  Such a word is split only
 * into clearly better parts: a dictionary form that is no prefix, then a
 * word of at least five letters (six after a first part of three), with a
 * linking s between them or none.  Of several such splits the finest
 * (longest first part) wins, grundejer+foreningerne, unless another moves
 * the boundary by a letter or two - the boundary's doubt, not the
 * structure's - when the longer head wins: job+beskrivelsens, not
 * jobbe+skrivelsens; sol+drevet, not sold+revet.  Letters alone would find
 * "parts" in armeniernes (arme+niernes) and forstand (for+stand). */
static int split_known_word(const dks_lexicon *lx, const char *w, size_t len, split *out)
{
    size_t cuts[DKS_MAX_TOKEN_BYTES], heads[DKS_MAX_TOKEN_BYTES], n = 0;
    for (size_t cut = 1; cut < len && n < DKS_MAX_TOKEN_BYTES; cut++) {
        if (!at_boundary(w, cut))
            continue;
        size_t mod_chars = dks_utf8_chars(w, cut);
        if (mod_chars < 3 || !is_lemma_word(lx, w, cut) || is_prefix_word(w, cut))
            continue;
        for (int link = 0; link < 2; link++) {
            size_t head = cut + (size_t)link;
            /* no linking s after a particle: over-sendelse, not overs-endelse */
            if (link && (w[cut] != 's' || is_particle(w, cut)))
                continue;
            size_t head_chars = dks_utf8_chars(w + head, len - head);
            if (head_chars < (mod_chars > 3 ? 5u : 6u) || !known(lx, w + head, len - head) ||
                suffix_like(w + head, len - head) || iker_derivation(w, cut, head))
                continue;
            cuts[n] = cut;
            heads[n++] = head;
            break;
        }
    }
    if (n == 0)
        return 0;
    size_t best = n - 1;  /* the longest first part */
    for (size_t i = 0; i < n; i++)
        if (cuts[best] - cuts[i] <= 2) {
            best = i;  /* the first within two letters: the longest head */
            break;
        }
    *out = (split){.start = {0, heads[best]}, .end = {cuts[best], len}, .n = 2};
    return 1;
}

/* Splits a normalised word into parts; 0 if it is not a compound. */
static int split_compound(const dks_lexicon *lx, const char *w, size_t len, split *out)
{
    dks_lexicon_entry e;
    if (dks_lexicon_find_in(lx, w, len, &e)) {
        if (e.is_name)
            return 0;  /* names are not compounds (Rennettes) */
        /* Hunspell reads the word as a compound, maybe in several ways.
         * Hunspell also "finds" compounds in derivations and loans
         * (Betri-s, albin-o, reglement-arisk), so both parts must be words
         * and the head no derivation ending.  Of the readings, one whose
         * first part is a dictionary form and no prefix wins
         * (forbrug+foreningens, not for+brugsforeningens), then the finest,
         * with the shortest head (dampskib+forbindelse, not
         * damp+skibsforbindelse). */
        int found = 0;
        size_t best_mod = 0, best_head = 0;
        int best_ok = 0;
        size_t cand_mod[DKS_LEXICON_HEADS], cand_head[DKS_LEXICON_HEADS];
        int cand_ok[DKS_LEXICON_HEADS];
        size_t n_cand = 0;
        for (size_t r = 0; r < e.n_heads; r++) {
            size_t head = e.heads[r], head_start = len - head;
            if (head == 0 || head >= len || dks_utf8_chars(w + head_start, head) < 5 ||
                !known(lx, w + head_start, head) || suffix_like(w + head_start, head))
                continue;
            size_t mod_end = drop_link(lx, w, head_start);
            if (!modifier_ok(lx, w, 0, mod_end, 3) || iker_derivation(w, mod_end, head_start))
                continue;
            cand_mod[n_cand] = mod_end;
            cand_head[n_cand] = head_start;
            cand_ok[n_cand++] = is_lemma_word(lx, w, mod_end) && !is_prefix_word(w, mod_end);
        }
        /* The finest reading (shortest head) among first parts that are
         * dictionary forms and no prefix ... */
        for (size_t i = 0; i < n_cand; i++) {
            if (!found || cand_ok[i] > best_ok ||
                (cand_ok[i] == best_ok && cand_head[i] > best_head)) {
                found = 1;
                best_ok = cand_ok[i];
                best_mod = cand_mod[i];
                best_head = cand_head[i];
            }
        }
        /* ... unless another moves the boundary by a letter or two, which
         * is the boundary's doubt, not the structure's: the longer head
         * wins there (sol+drevet, not sold+revet; job+beskrivelsen). */
        for (size_t i = 0; found && i < n_cand; i++)
            if (cand_ok[i] == best_ok && cand_head[i] < best_head &&
                best_head - cand_head[i] <= 2) {
                best_mod = cand_mod[i];
                best_head = cand_head[i];
            }
        if (found) {
            *out = (split){.start = {0, best_head}, .end = {best_mod, len}, .n = 2};
            return 1;
        }
        if (e.n_heads)
            return 0;  /* Hunspell's readings were all rejected */
        return split_known_word(lx, w, len, out);
    }
    split s;
    if (best_split(lx, w, len, 0, MAX_PARTS, &unknown_word, 0, &s) && s.n >= 2 &&
        !suffix_like(w + s.start[s.n - 1], len - s.start[s.n - 1])) {
        *out = s;
        return 1;
    }
    return 0;
}

int dks_analyzer_split(dks_analyzer *an, const char *word, size_t len, size_t *starts,
                       size_t *ends, size_t *n_parts)
{
    split s;
    *n_parts = 0;
    if (!split_compound(&an->lexicon, word, len, &s))
        return 0;
    for (size_t i = 0; i < s.n; i++) {
        starts[i] = s.start[i];
        ends[i] = s.end[i];
    }
    *n_parts = s.n;
    return 1;
}

int dks_analyzer_known(dks_analyzer *an, const char *word, size_t len)
{
    split s;
    return known(&an->lexicon, word, len) ||
           best_split(&an->lexicon, word, len, 0, MAX_PARTS, &unknown_word, 0, &s);
}

static int emit_compound(dks_analyzer *an, const token_info *tok, const char *w, size_t len)
{
    split s;
    if (!split_compound(&an->lexicon, w, len, &s))
        return DKS_OK;
    int rc;
    for (size_t i = 0; i + 1 < s.n; i++)
        if ((rc = emit_stemmed(an, tok, DKS_TERM_PART, w + s.start[i], s.end[i] - s.start[i],
                               NULL, 0)))
            return rc;
    if (s.n > 2 && (rc = emit_stemmed(an, tok, DKS_TERM_PART, w, s.end[s.n - 2], NULL, 0)))
        return rc;  /* civilsamfund in civilsamfundsaktører */
    return emit_stemmed(an, tok, DKS_TERM_HEAD, w + s.start[s.n - 1],
                        len - s.start[s.n - 1], NULL, 0);
}

/* ---- lemmas ---------------------------------------------------------------- */

static int emit_lemmas(dks_analyzer *an, const token_info *tok, const char *w, size_t len,
                       const char *main, size_t main_len)
{
    dks_lexicon_entry e;
    if (!dks_lexicon_find_in(&an->lexicon, w, len, &e))
        return DKS_OK;
    for (size_t i = 0; i < e.n_lemmas; i++) {
        size_t ll;
        const char *lemma = dks_lexicon_lemma(&e, i, &ll);
        int rc = emit_stemmed(an, tok, DKS_TERM_LEMMA, lemma, ll, main, main_len);
        if (rc)
            return rc;
    }
    return DKS_OK;
}

/* ---- ellipsis and hyphens --------------------------------------------------- */

static int is_hyphen_at(const char *text, size_t len, size_t i, size_t *width)
{
    if (i < len && text[i] == '-') {
        *width = 1;
        return 1;
    }
    /* U+2010 hyphen, U+2011 non-breaking hyphen */
    if (i + 2 < len && (unsigned char)text[i] == 0xE2 && (unsigned char)text[i + 1] == 0x80 &&
        ((unsigned char)text[i + 2] == 0x90 || (unsigned char)text[i + 2] == 0x91)) {
        *width = 3;
        return 1;
    }
    return 0;
}

static int word_char_at(const char *text, size_t len, size_t i)
{
    if (i >= len)
        return 0;
    int32_t cp;
    dks_utf8_decode((const unsigned char *)text + i, len - i, &cp);
    return cp >= 0 && dks_char_class_of(cp) == DKS_CHAR_WORD;
}

static int is_conjunction(const char *w, size_t len)
{
    return (len == 2 && memcmp(w, "og", 2) == 0) || (len == 5 && memcmp(w, "eller", 5) == 0) ||
           (len == 4 && memcmp(w, "samt", 4) == 0);
}

/* The head a truncated word borrows from the last conjunct: its longest
 * proper ending that is a known word, leaving at least two characters
 * (forsyningsministeren -> ministeren, udrejse -> rejse). */
static size_t borrowed_head(const dks_lexicon *lx, const char *w, size_t len)
{
    size_t skipped = 0;
    for (size_t i = 1; i < len; i++) {
        if (!at_boundary(w, i))
            continue;
        skipped++;
        if (skipped >= 2 && dks_utf8_chars(w + i, len - i) >= MIN_PART_CHARS &&
            known(lx, w + i, len - i))
            return len - i;
    }
    return 0;
}

static int complete_ellipsis(dks_analyzer *an, const char *last, size_t last_len)
{
    size_t head = borrowed_head(&an->lexicon, last, last_len);
    int rc = DKS_OK;
    for (size_t i = 0; head && i < an->n_pending && !rc; i++) {
        truncated *t = &an->pending[i];
        if (t->norm_len + head > sizeof an->work)
            continue;
        memcpy(an->work, t->norm, t->norm_len);
        memcpy(an->work + t->norm_len, last + last_len - head, head);
        token_info tok = {t->offset, t->len, t->position, 0};
        rc = emit_stemmed(an, &tok, DKS_TERM_EXPANSION, an->work, t->norm_len + head, NULL, 0);
    }
    an->n_pending = 0;
    an->after_conjunction = 0;
    return rc;
}

/* Follows "klima-, energi- og forsyningsministeren" token by token. */
static int track_ellipsis(dks_analyzer *an, const token_info *tok, const char *w, size_t len)
{
    size_t end = tok->offset + tok->len, width;
    int truncated_here = is_hyphen_at(an->text, an->len, end, &width) &&
                         !word_char_at(an->text, an->len, end + width);
    if (truncated_here) {
        if (an->after_conjunction)
            an->n_pending = 0, an->after_conjunction = 0;
        if (an->n_pending < MAX_TRUNCATED && len <= DKS_MAX_TOKEN_BYTES) {
            truncated *t = &an->pending[an->n_pending++];
            t->offset = tok->offset;
            t->len = tok->len;
            t->position = tok->position;
            memcpy(t->norm, w, len);
            t->norm_len = len;
        }
        return DKS_OK;
    }
    if (an->n_pending && !an->after_conjunction && is_conjunction(w, len)) {
        an->after_conjunction = 1;
        return DKS_OK;
    }
    if (an->n_pending && an->after_conjunction)
        return complete_ellipsis(an, w, len);
    an->n_pending = 0;
    return DKS_OK;
}

/* Joins hyphenated words: offentlig-private -> offentligprivate. */
static int track_hyphens(dks_analyzer *an, const token_info *tok, const char *w, size_t len)
{
    size_t end = tok->offset + tok->len, width;
    /* chain_parts > 0: the previous token ended in a hyphen and this one
     * follows it directly */
    if (an->chain_parts == 0) {
        an->chain_broken = 0;
        an->chain_len = 0;
        an->chain_parts = 0;
        an->chain_offset = tok->offset;
        an->chain_position = tok->position;
    }
    if (an->chain_len + len <= sizeof an->chain) {
        memcpy(an->chain + an->chain_len, w, len);
        an->chain_len += len;
        an->chain_parts++;
    } else {
        an->chain_broken = 1;  /* too long to join: no expansion, not a wrong one */
    }
    if (is_hyphen_at(an->text, an->len, end, &width) &&
        word_char_at(an->text, an->len, end + width))
        return DKS_OK;  /* the word goes on after the hyphen */
    int rc = DKS_OK;
    if (an->chain_parts >= 2 && !an->chain_broken) {
        token_info whole = {an->chain_offset, end - an->chain_offset, an->chain_position, 0};
        rc = emit_stemmed(an, &whole, DKS_TERM_EXPANSION, an->chain, an->chain_len, NULL, 0);
    }
    an->chain_parts = 0;
    return rc;
}

/* H.C. -> hc, and "L 146" -> l146: written forms people also type joined. */
static int track_abbreviations(dks_analyzer *an, const token_info *tok, const char *w,
                               size_t len)
{
    int rc = DKS_OK;
    size_t end = tok->offset + tok->len;
    int single = len == 1 && ((unsigned char)w[0] < 0x80);
    int capital = tok->len == 1 && an->text[tok->offset] >= 'A' && an->text[tok->offset] <= 'Z';
    size_t n_digits = 0;  /* w is not NUL-terminated: count within len */
    while (n_digits < len && w[n_digits] >= '0' && w[n_digits] <= '9')
        n_digits++;
    int digits = len > 0 && n_digits == len;
    /* Only a capital letter before a number is a designation: "L 146",
     * not "i 2022". */
    if (digits && an->prev_single_letter && an->prev_end + 1 == tok->offset &&
        an->text[an->prev_end] == ' ' && len + 1 < sizeof an->work) {
        an->work[0] = an->prev_letter;
        memcpy(an->work + 1, w, len);
        token_info letter = {an->prev_offset, end - an->prev_offset, an->prev_position, 0};
        rc = emit(an, &letter, DKS_TERM_EXPANSION, an->work, len + 1);
    }
    /* a single letter directly followed by a period continues H.C. */
    int dotted = single && end < an->len && an->text[end] == '.';
    if (dotted && an->abbrev_len > 0 && an->prev_end + 1 == tok->offset &&
        an->abbrev_len < sizeof an->abbrev) {
        an->abbrev[an->abbrev_len++] = w[0];
    } else {
        if (an->abbrev_len >= 2 && !rc) {
            token_info whole = {an->abbrev_offset, an->prev_end - an->abbrev_offset,
                                an->abbrev_position, 0};
            rc = emit(an, &whole, DKS_TERM_EXPANSION, an->abbrev, an->abbrev_len);
        }
        an->abbrev_len = 0;
        if (dotted) {
            an->abbrev[an->abbrev_len++] = w[0];
            an->abbrev_offset = tok->offset;
            an->abbrev_position = tok->position;
        }
    }
    an->prev_single_letter = single && capital;
    an->prev_letter = single ? w[0] : 0;
    an->prev_offset = tok->offset;
    an->prev_position = tok->position;
    return rc;
}

/* ---- the word cache ------------------------------------------------------------ */

/* Cache entry in an->cache at offset o: the key (u16 length, the word as
 * written or normalised), then its analysis, which is the same for every
 * key of the word:
 *   u16 length, normalised word, u8 flags (ENTRY_STOPWORD,
 *   ENTRY_NO_COMPOUNDS), u16 length, main term,
 *   u32 main key id, u32 extras length,
 *   extras (u8 kind, u16 length, term, u32 key id; repeated)
 * Ids are in host order; DKS_NO_TERM without a dictionary. */
#define ENTRY_STOPWORD 1
#define ENTRY_NO_COMPOUNDS 2    /* restricted: the compound stage was left out */

typedef struct cached_word {
    const char *norm;
    size_t norm_len;
    int is_stopword;
    int no_compounds;
    const char *main;
    size_t main_len;
    uint32_t main_id;
    const unsigned char *extras;
    size_t extras_len;
} cached_word;

static unsigned get16(const unsigned char *p)
{
    return p[0] | (unsigned)p[1] << 8;
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Where the analysis of the entry at offset starts, and its length. */
static size_t analysis_at(const dks_analyzer *an, uint32_t offset, size_t *len)
{
    const unsigned char *e = an->cache.data.data + offset, *p = e + 2 + get16(e);
    const unsigned char *q = p + 2 + get16(p) + 1;
    q += 2 + get16(q) + 4;
    q += 4 + get32(q);
    *len = (size_t)(q - p);
    return (size_t)(p - an->cache.data.data);
}

static void read_cached(const dks_analyzer *an, uint32_t offset, cached_word *c)
{
    const unsigned char *p = an->cache.data.data + offset;
    p += 2 + get16(p);
    c->norm_len = get16(p);
    c->norm = (const char *)p + 2;
    p += 2 + c->norm_len;
    c->is_stopword = (*p & ENTRY_STOPWORD) != 0;
    c->no_compounds = (*p++ & ENTRY_NO_COMPOUNDS) != 0;
    c->main_len = get16(p);
    c->main = (const char *)p + 2;
    p += 2 + c->main_len;
    c->main_id = get32(p);
    c->extras_len = get32(p + 4);
    c->extras = p + 8;
}

/* Slot of the word (of hash dks_hash_bytes(w, n)), or of the empty slot
 * where it would go. */
static size_t cache_slot_hashed(const dks_analyzer *an, const char *w, size_t n, uint64_t hash)
{
    size_t mask = an->cache.n_slots - 1, i = hash & mask;
    while (an->cache.slots[i]) {
        const unsigned char *e = an->cache.data.data + an->cache.slots[i] - 1;
        if (get16(e) == n && memcmp(e + 2, w, n) == 0)
            break;
        i = (i + 1) & mask;
    }
    return i;
}

static size_t cache_slot(const dks_analyzer *an, const char *w, size_t n)
{
    return cache_slot_hashed(an, w, n, dks_hash_bytes(w, n));
}

static void word_cache_clear(word_cache *c)
{
    if (c->slots)
        memset(c->slots, 0, c->n_slots * sizeof *c->slots);
    c->data.len = 0;
    c->entries = 0;
}

static void word_cache_free(word_cache *c)
{
    dks_huge_free(c->slots, c->n_slots * sizeof *c->slots);
    dks_huge_free(c->data.data, c->data.cap);
    *c = (word_cache){0};
}

static void word_cache_swap(word_cache *a, word_cache *b)
{
    word_cache t = *a;
    *a = *b;
    *b = t;
}

static void cache_clear(dks_analyzer *an)
{
    word_cache_clear(&an->cache);
}

static int cache_grow(dks_analyzer *an)
{
    size_t n = an->cache.n_slots ? an->cache.n_slots * 2 : WORD_CACHE_FIRST_SLOTS;
    uint32_t *slots = dks_huge_alloc(n * sizeof *slots);
    if (!slots)
        return DKS_ENOMEM;
    uint32_t *old = an->cache.slots;
    size_t old_n = an->cache.n_slots;
    an->cache.slots = slots;
    an->cache.n_slots = n;
    for (size_t i = 0; i < old_n; i++) {
        if (!old[i])
            continue;
        const unsigned char *e = an->cache.data.data + old[i] - 1;
        slots[cache_slot(an, (const char *)e + 2, get16(e))] = old[i];
    }
    dks_huge_free(old, old_n * sizeof *old);
    return DKS_OK;
}

/* Room for one more entry of `bytes` bytes, whose key goes in the slot
 * cache_slot() gives once this returns. */
static int cache_reserve(dks_analyzer *an, size_t bytes)
{
    if ((an->cache.entries + 1) * 2 > an->cache.n_slots && cache_grow(an))
        return DKS_ENOMEM;
    dks_buf *d = &an->cache.data;
    if (d->len + bytes > UINT32_MAX - 1)
        return DKS_ELIMIT;
    size_t cap;
    int rc = dks_buf_capacity_for(d, bytes, &cap);
    if (rc || cap == d->cap)
        return rc;
    unsigned char *grown = dks_huge_realloc(d->data, d->cap, cap);
    if (!grown)
        return DKS_ENOMEM;
    d->data = grown;
    d->cap = cap;
    return DKS_OK;
}

static void put16(dks_buf *b, size_t v)
{
    b->data[b->len++] = (unsigned char)v;
    b->data[b->len++] = (unsigned char)(v >> 8);
}

static void put_bytes(dks_buf *b, const void *p, size_t n)
{
    if (n)  /* p may be NULL then: no extras yet */
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void cache_link(dks_analyzer *an, const char *key, size_t key_len, size_t at)
{
    an->cache.slots[cache_slot(an, key, key_len)] = (uint32_t)at + 1;
    an->cache.entries++;
}

/* Stores a word's analysis under its normalised form w; sets *offset to
 * the entry.  The extra terms are in an->extras. */
static int cache_add(dks_analyzer *an, const char *w, size_t n, unsigned flags,
                     const char *main, size_t main_len, uint32_t main_id, uint32_t *offset)
{
    size_t el = an->extras.len;
    int rc = cache_reserve(an, 2 + n + 2 + n + 1 + 2 + main_len + 8 + el);
    if (rc)
        return rc;
    dks_buf *b = &an->cache.data;
    size_t at = b->len;
    uint32_t el32 = (uint32_t)el;
    put16(b, n);
    put_bytes(b, w, n);
    put16(b, n);
    put_bytes(b, w, n);
    b->data[b->len++] = (unsigned char)flags;
    put16(b, main_len);
    put_bytes(b, main, main_len);
    put_bytes(b, &main_id, 4);
    put_bytes(b, &el32, 4);
    put_bytes(b, an->extras.data, el);
    cache_link(an, w, n, at);
    *offset = (uint32_t)at;
    return DKS_OK;
}

/* Files the analysis of the entry at `of` under another key as well (the
 * word as written, where normalising changed it); sets *offset. */
static int cache_alias(dks_analyzer *an, const char *key, size_t key_len, uint32_t of,
                       uint32_t *offset)
{
    size_t len, from = analysis_at(an, of, &len);
    int rc = cache_reserve(an, 2 + key_len + len);
    if (rc)
        return rc;
    dks_buf *b = &an->cache.data;
    size_t at = b->len;
    put16(b, key_len);
    put_bytes(b, key, key_len);
    memmove(b->data + b->len, b->data + from, len);  /* same buffer, now reserved */
    b->len += len;
    cache_link(an, key, key_len, at);
    *offset = (uint32_t)at;
    return DKS_OK;
}

/* Should the compound stage run for this word? */
static int wanted_compound(const dks_analyzer *an, const char *w, size_t n)
{
    if (!an->restricted)
        return 1;
    for (size_t i = 0; i < an->n_needles; i++) {
        size_t nl = strlen(an->needles[i]);
        for (size_t at = 0; at + nl <= n; at++)
            if (memcmp(w + at, an->needles[i], nl) == 0)
                return 1;
    }
    return 0;
}

void dks_analyzer_restrict_compounds(dks_analyzer *an, char *const *keys, const size_t *lens,
                                     size_t n)
{
    /* words analysed before have their parts; these may lack them */
    if (!an->restricted)
        word_cache_swap(&an->cache, &an->parked);
    an->restricted = 1;
    an->n_needles = 0;
    for (size_t i = 0; i < n && an->n_needles < DKS_MAX_QUERY_TERMS; i++) {
        if (lens[i] < 2 || (keys[i][0] != 0x01 && keys[i][0] != 0x02))
            continue;
        /* The first three bytes of the part's stem stand in the word even
         * where its stem is a lemma's (cykler -> cykel: "cyk"). */
        size_t nl = lens[i] - 1 < 3 ? lens[i] - 1 : 3;
        memcpy(an->needles[an->n_needles], keys[i] + 1, nl);
        an->needles[an->n_needles++][nl] = '\0';
    }
}

/* Analyses a word the first time it is seen: its main term and the terms
 * its lemmas, spellings and compound parts add. */
static int analyze_new_word(dks_analyzer *an, const char *w, size_t n, uint32_t *offset)
{
    int stop = dks_is_stopword(w, n);
    size_t main_len;
    int rc = stem_into(an, w, n, &main_len);
    if (rc)
        return rc;
    char main[DKS_MAX_TERM_BYTES];
    memcpy(main, an->stem, main_len);
    token_info none = {0, 0, 0, stop};
    an->extras.len = 0;
    an->collect = &an->extras;
    if (an->features & DKS_ANALYSIS_LEMMAS) {
        rc = emit_lemmas(an, &none, w, n, main, main_len);
        /* A prefix is typed against the written word: keep its own stem
         * where the term is the lemma's (sundhedsvæsn*). */
        const char *own;
        size_t own_len;
        if (!rc)
            rc = snowball(an, w, n, &own, &own_len);
        if (!rc && (own_len != main_len || memcmp(own, main, own_len) != 0)) {
            char form[DKS_MAX_TERM_BYTES];
            memcpy(form, own, own_len);
            rc = emit(an, &none, DKS_TERM_FORM, form, own_len);
        }
    }
    if (!rc && (an->features & DKS_ANALYSIS_SPELLING)) {
        size_t fl;
        if (fold_accents(w, n, an->work, sizeof an->work, &fl)) {
            char folded[2 * DKS_MAX_TERM_BYTES];
            memcpy(folded, an->work, fl);
            rc = emit_stemmed(an, &none, DKS_TERM_SPELLING, folded, fl, main, main_len);
        }
    }
    unsigned flags = stop ? ENTRY_STOPWORD : 0;
    if (!rc && (an->features & DKS_ANALYSIS_COMPOUNDS)) {
        if (wanted_compound(an, w, n))
            rc = emit_compound(an, &none, w, n);
        else
            flags |= ENTRY_NO_COMPOUNDS;
    }
    an->collect = NULL;
    uint32_t main_id;
    if (!rc)
        rc = key_id(an, DKS_TERM_WORD, main, main_len, &main_id);
    return rc ? rc : cache_add(an, w, n, flags, main, main_len, main_id, offset);
}

/* Whether a restricted analyzer's entry left out the compound stage that
 * its word, with the needles of this search, wants. */
static int lacks_wanted_compounds(const dks_analyzer *an, uint32_t offset)
{
    cached_word c;
    read_cached(an, offset, &c);
    return c.no_compounds && wanted_compound(an, c.norm, c.norm_len);
}

/* The cache entry of a token as written (*offset; hash its
 * dks_hash_bytes), analysing the word if it is new; 1 if the token
 * normalises to nothing that can be indexed. */
static int lookup_word(dks_analyzer *an, const char *raw, size_t raw_len, uint64_t hash,
                       uint32_t *offset)
{
    if (an->cache.n_slots) {
        uint32_t hit = an->cache.slots[cache_slot_hashed(an, raw, raw_len, hash)];
        if (hit && !(an->restricted && lacks_wanted_compounds(an, hit - 1))) {
            *offset = hit - 1;
            return DKS_OK;
        }
    }
    /* A corpus's common words come back at once after a clear. */
    if (an->cache.data.len > WORD_CACHE_BYTES)
        cache_clear(an);
    size_t n;
    int rc = dks_normalize((const unsigned char *)raw, raw_len, an->norm, sizeof an->norm, &n);
    if (rc == DKS_ELIMIT || (rc == DKS_OK && n == 0))
        return 1;
    if (rc)
        return rc;
    char w[DKS_MAX_TERM_BYTES];
    memcpy(w, an->norm, n);
    uint32_t hit = an->cache.n_slots ? an->cache.slots[cache_slot(an, w, n)] : 0;
    if (hit && an->restricted && lacks_wanted_compounds(an, hit - 1))
        hit = 0;  /* analysed again, and filed in its place */
    if (hit)
        *offset = hit - 1;
    else if ((rc = analyze_new_word(an, w, n, offset)))
        return rc;
    if (n == raw_len && memcmp(w, raw, n) == 0)
        return DKS_OK;
    return cache_alias(an, raw, raw_len, *offset, offset);
}

/* ---- the chain ---------------------------------------------------------------- */

static int analyze_token(dks_analyzer *an, const token_info *tok_in, uint64_t hash)
{
    token_info tok = *tok_in;
    uint32_t offset;
    int rc = lookup_word(an, an->text + tok.offset, tok.len, hash, &offset);
    if (rc)
        return rc == 1 ? DKS_OK : rc;
    /* c points into the cache, which nothing below changes */
    cached_word c;
    read_cached(an, offset, &c);
    tok.is_stopword = c.is_stopword;
    if ((rc = emit_id(an, &tok, DKS_TERM_WORD, c.main, c.main_len, c.main_id)))
        return rc;
    for (const unsigned char *p = c.extras, *end = c.extras + c.extras_len; p < end && !rc;) {
        size_t len = get16(p + 1);
        rc = emit_id(an, &tok, (dks_term_kind)p[0], (const char *)p + 3, len, get32(p + 3 + len));
        p += 3 + len + 4;
    }
    if (rc)
        return rc;

    const char *w = c.norm;
    size_t n = c.norm_len;
    if ((an->features & DKS_ANALYSIS_COMPOUNDS) && (rc = track_hyphens(an, &tok, w, n)))
        return rc;
    if ((an->features & DKS_ANALYSIS_ELLIPSIS) && (rc = track_ellipsis(an, &tok, w, n)))
        return rc;
    if ((rc = track_abbreviations(an, &tok, w, n)))
        return rc;
    an->prev_end = tok.offset + tok.len;
    return DKS_OK;
}

/* Tokens are looked up in the word cache this many at a time: their
 * slots and entries are fetched from memory together first, instead of
 * one cache miss after another. */
#define LOOKAHEAD 16

static void reset_context(dks_analyzer *an)
{
    an->n_pending = 0;
    an->after_conjunction = 0;
    an->chain_parts = 0;
    an->abbrev_len = 0;
    an->prev_single_letter = 0;
}

/* Analyses text, giving each term to cb or, with a dictionary, to id_cb. */
static int run_chain(dks_analyzer *an, const char *text, size_t len, uint32_t first_position,
                     dks_term_callback cb, dks_term_id_callback id_cb, void *ctx)
{
    dks_tokenizer tz;
    dks_token toks[LOOKAHEAD];
    uint64_t hashes[LOOKAHEAD];
    uint32_t position = first_position;
    an->text = text;
    an->len = len;
    an->cb = cb;
    an->id_cb = id_cb;
    an->ctx = ctx;
    reset_context(an);
    an->prev_end = 0;
    dks_tokenizer_init(&tz, text, len);
    int rc = DKS_OK;
    for (size_t n = LOOKAHEAD; !rc && n == LOOKAHEAD;) {
        /* (over-long tokens are not looked up: they take a position only) */
        for (n = 0; n < LOOKAHEAD && dks_tokenizer_next(&tz, &toks[n]); n++) {
            hashes[n] = toks[n].len > DKS_MAX_TOKEN_BYTES
                            ? 0 : dks_hash_bytes(text + toks[n].offset, toks[n].len);
            if (an->cache.n_slots)
                __builtin_prefetch(&an->cache.slots[hashes[n] & (an->cache.n_slots - 1)]);
        }
        for (size_t i = 0; i < n && an->cache.n_slots; i++) {
            uint32_t hit = an->cache.slots[hashes[i] & (an->cache.n_slots - 1)];
            if (hit)
                __builtin_prefetch(an->cache.data.data + hit - 1);
        }
        for (size_t i = 0; i < n && !rc; i++) {
            token_info t = {toks[i].offset, toks[i].len, position, 0};
            if (position < DKS_MAX_POSITION)
                position++;
            /* Over-long tokens still take a position, so a phrase cannot
             * match across them. */
            if (toks[i].len > DKS_MAX_TOKEN_BYTES)
                reset_context(an);
            else
                rc = analyze_token(an, &t, hashes[i]);
        }
    }
    /* an abbreviation at the very end of the text */
    if (!rc && an->abbrev_len >= 2) {
        token_info whole = {an->abbrev_offset, an->prev_end - an->abbrev_offset,
                            an->abbrev_position, 0};
        rc = emit(an, &whole, DKS_TERM_EXPANSION, an->abbrev, an->abbrev_len);
    }
    an->text = NULL;
    an->cb = NULL;
    an->id_cb = NULL;
    return rc;
}

int dks_analyze(dks_analyzer *an, const char *text, size_t len, uint32_t first_position,
                dks_term_callback cb, void *ctx)
{
    return run_chain(an, text, len, first_position, cb, NULL, ctx);
}

int dks_analyze_ids(dks_analyzer *an, const char *text, size_t len, uint32_t first_position,
                    dks_term_id_callback cb, void *ctx)
{
    return run_chain(an, text, len, first_position, NULL, cb, ctx);
}

void dks_analyzer_reset(dks_analyzer *an)
{
    if (an->restricted)
        word_cache_swap(&an->cache, &an->parked);
    /* the ids cached belong to the dictionary, which the next user lacks */
    if (an->dict) {
        cache_clear(an);
        word_cache_clear(&an->parked);
    }
    an->dict = NULL;
    an->restricted = 0;
    /* the restricted cache is kept up to the bound of a search's words: a
     * search whose snippets analysed long texts gives that memory back */
    if (an->parked.data.cap > KEPT_WORDS_BYTES)
        word_cache_free(&an->parked);
    if (an->cache.data.cap > KEPT_WORDS_BYTES)
        word_cache_free(&an->cache);
    if (an->extras.cap > ANALYZER_KEEP_BYTES)
        dks_buf_free(&an->extras);
}

void dks_analyzer_set_lexicon(dks_analyzer *an, const dks_lexicon *lx)
{
    an->lexicon = *lx;
    an->lexicon.copy = NULL;  /* the caller's to close */
}

void dks_analyzer_set_termdict(dks_analyzer *an, dks_termdict *d)
{
    an->dict = d;
    /* the ids cached belong to the dictionary before */
    word_cache_clear(&an->cache);
    word_cache_clear(&an->parked);
}
