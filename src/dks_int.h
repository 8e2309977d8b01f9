/*
 * dks_int.h - the internal interface between the files of libdksearch.
 *
 * One banner per source file lists what it offers the others; everything
 * not listed here is static in its file.  Nothing here is public: the
 * binaries use include/dksearch.h only.
 */
#ifndef DKS_INT_H
#define DKS_INT_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dksearch.h"

/* ------------------------------------------------------------------ */
/* Limits.  Each one bounds memory or time on untrusted input.         */

/* Tokens longer than this (bytes, as written) are not indexed: no Danish
 * word comes near it, and what does (base64, hashes, binary junk) only
 * bloats the term dictionary. */
#define DKS_MAX_TOKEN_BYTES 256
/* A normalised term can grow (case folding ß -> ss); room for that. */
#define DKS_MAX_TERM_BYTES (DKS_MAX_TOKEN_BYTES * 3)
/* LMDB keys are at most 511 bytes; ids are keys of their own, and terms
 * are keys with a kind byte before and five bytes after (postings). */
#define DKS_MAX_ID_BYTES 500
#define DKS_MAX_KEY_TERM_BYTES 480
/* A source's path is a key of its own, and a document record holds it. */
#define DKS_MAX_SOURCE_BYTES 500
/* A title is a line, not a document: longer titles are cut. */
#define DKS_MAX_TITLE_BYTES 500
/* Postings are stored in blocks of at most this many documents. */
#define DKS_BLOCK_DOCS 128
/* Positions beyond this are not recorded (a document's tokens still count
 * towards its length); keeps per-document position lists bounded. */
#define DKS_MAX_POSITION 0x3FFFFFFFu
/* The body's positions start this far after the title's, so that phrases
 * and proximity never join the last title word with the first body word. */
#define DKS_FIELD_GAP 64
/* A growable buffer never exceeds this; a document larger than this
 * fails with DKS_ELIMIT instead of exhausting memory. */
#define DKS_BUF_MAX ((size_t)1 << 31)
/* A document (title, body and fields together) larger than this is
 * refused with DKS_ELIMIT.  It is analysed whole, at several times its
 * size (its (term, position) pairs take 8 bytes a term; a 100 MiB body
 * peaked at 630 MiB), so its size must be bounded for the writer's memory
 * to be; 32 MiB is the text a batch holds under the default budget before
 * it is committed, and a long novel is about 1 MiB. */
#define DKS_MAX_DOC_BYTES ((size_t)32 << 20)
/* No term can occur in a document more often than it has bytes (each
 * occurrence is at a token of its own, and extra terms at one position
 * are other keys): a larger frequency in a block is corrupt, and readers
 * never allocate for more positions than this. */
#define DKS_MAX_TF ((uint32_t)DKS_MAX_DOC_BYTES)
/* Queries are bounded so that a hostile query cannot take the server. */
#define DKS_MAX_QUERY_BYTES 4096
#define DKS_MAX_QUERY_TERMS 64
#define DKS_MAX_QUERY_DEPTH 32
/* "a b"~N: the largest N accepted. */
#define DKS_MAX_SLOP 100
#define DKS_MAX_RESULTS 10000
/* A prefix (telemed*) searches at most this many of the terms it matches,
 * in dictionary order; the results say so when there are more. */
#define DKS_MAX_PREFIX_TERMS 1000
/* All the prefixes of one query together search at most this many terms,
 * so that a query of many short prefixes stays a bounded amount of work. */
#define DKS_MAX_QUERY_EXPANSIONS 4000
/* A range filter (date>=2020) takes at most this many distinct values. */
#define DKS_MAX_RANGE_VALUES 10000
/* A typo query (telemedecin~) searches at most this many of the closest
 * words it finds. */
#define DKS_MAX_FUZZY_TERMS 64
/* A highlight key that begins with this byte is a prefix: it marks every
 * word whose term or written form begins with the rest. */
#define DKS_KEY_PREFIX 0x05

/* Version numbers stored in the index (see docs/index-format.md). */
#define DKS_FORMAT_VERSION 12u
/* Bumped whenever analysis changes the terms it makes of a text: the
 * writer re-analyses stored text to delete documents, so it must not
 * mix analyzer versions in one index. */
#define DKS_ANALYZER_VERSION 4u

/* BM25 parameters. */
#define DKS_BM25_K1 1.2
#define DKS_BM25_B 0.75
/* Score bounds are compared with this much room, so that rounding in a sum
 * taken in another order never prunes a document that ties. */
#define DKS_PRUNE_SLACK 1e-9
/* Hits are counted exactly up to this many; past it, a ranked search
 * prunes and reports the total as a lower bound ("1000+ hits"). */
#define DKS_EXACT_TOTAL 1000

/* ------------------------------------------------------------------ */
/* error.c: error detail helpers                                       */

/* Fills `err` (if not NULL and still empty) and returns `code`. */
int dks_fail(dks_error_detail *err, int code, long position, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dks_error_clear(dks_error_detail *err);

/* ------------------------------------------------------------------ */
/* buf.c: bounded growable byte buffers and varints                    */

typedef struct dks_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} dks_buf;

int dks_buf_reserve(dks_buf *b, size_t extra);
/* The capacity dks_buf_reserve would give b for `extra` more bytes (its
 * own if they fit), for a buffer whose memory comes from elsewhere. */
int dks_buf_capacity_for(const dks_buf *b, size_t extra, size_t *cap);
int dks_buf_append(dks_buf *b, const void *data, size_t len);
int dks_buf_append_str(dks_buf *b, const char *s);
int dks_buf_putc(dks_buf *b, unsigned char c);
int dks_buf_put_varint(dks_buf *b, uint64_t v);
int dks_buf_printf(dks_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dks_buf_vprintf(dks_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void dks_buf_free(dks_buf *b);

/* Makes room for element n of the array *array (elements of `size` bytes,
 * capacity *cap), doubling it, or allocating `first` elements at first.
 * `array` is the address of the array pointer. */
int dks_grow(void *array, size_t n, size_t *cap, size_t size, size_t first);
/* Makes room for n numbers in *array, of *cap so far (to exactly n: for
 * buffers that hold one record's numbers at a time). */
int dks_reserve_u32(uint32_t **array, size_t *cap, size_t n);

/* Tables of some MiB read at random places, in huge pages where the
 * kernel gives them (huge.c): zeroed memory; every call passes the size
 * the block was asked for.  realloc keeps the contents, zeroes what it
 * adds, and returns NULL (the block as it was) when memory is short. */
void *dks_huge_alloc(size_t bytes);
void *dks_huge_realloc(void *p, size_t old_bytes, size_t new_bytes);
void dks_huge_free(void *p, size_t bytes);

/* A 64-bit hash of bytes (FNV-1a), for the hash tables of terms and stems. */
uint64_t dks_hash_bytes(const char *s, size_t len);

/* Writes v as LEB128 into out (at least 10 bytes); returns bytes used. */
size_t dks_varint_encode(unsigned char *out, uint64_t v);
/* Reads a varint at *p (never past end), advances *p.  DKS_ECORRUPT on
 * truncation or a value over 64 bits. */
int dks_varint_decode(const unsigned char **p, const unsigned char *end, uint64_t *v);
/* Same, for values that must fit 32 bits. */
int dks_varint_decode32(const unsigned char **p, const unsigned char *end, uint32_t *v);

void dks_put_be32(unsigned char *out, uint32_t v);
uint32_t dks_get_be32(const unsigned char *in);
/* Inline: document lengths are read so for every document a search
 * scores. */
static inline uint32_t dks_get_le32(const unsigned char *in)
{
    return in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
}
void dks_put_le64(unsigned char *out, uint64_t v);
uint64_t dks_get_le64(const unsigned char *in);

/* ------------------------------------------------------------------ */
/* utf8.c: UTF-8 decoding, character classes, normalisation            */

/* Decodes one code point at s (len > 0 bytes available).  Returns bytes
 * consumed (>= 1); *cp is -1 for an invalid or truncated sequence, in
 * which case exactly one byte is consumed. */
size_t dks_utf8_decode(const unsigned char *s, size_t len, int32_t *cp);
/* Code points in s, counted by their lead bytes (a stray continuation
 * byte counts for none): for length rules and error columns.  Inline: the
 * compound splitter measures every cut it tries. */
static inline size_t dks_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

enum dks_char_class {
    DKS_CHAR_OTHER,      /* separates tokens */
    DKS_CHAR_SPACE,      /* white space of any script; also separates tokens */
    DKS_CHAR_WORD,       /* letter or digit: part of a token */
    DKS_CHAR_MARK,       /* combining mark: belongs to the previous letter */
    DKS_CHAR_JOINER,     /* soft hyphen, zero-width joiners: invisible inside words */
    DKS_CHAR_APOSTROPHE  /* ' and U+2019: joins letters ("Peter's") */
};
enum dks_char_class dks_char_class_of(int32_t cp);

/* Lower-cases, NFC-composes and drops apostrophes and invisible joiners
 * from a token.  Writes at most `cap` bytes to out and sets *out_len.
 * Returns DKS_ELIMIT if the result does not fit. */
int dks_normalize(const unsigned char *s, size_t len, char *out, size_t cap,
                  size_t *out_len);

/* Appends `len` bytes to b as valid UTF-8, replacing each invalid byte
 * with U+FFFD. */
int dks_utf8_append_valid(dks_buf *b, const unsigned char *s, size_t len);

/* ------------------------------------------------------------------ */
/* tokenize.c: splits text into tokens                                 */

typedef struct dks_tokenizer {
    const unsigned char *text;
    size_t len;
    size_t pos;
} dks_tokenizer;

typedef struct dks_token {
    size_t offset;  /* byte offset in the text */
    size_t len;     /* bytes */
    int ascii;      /* 1 if every byte is ASCII */
} dks_token;

void dks_tokenizer_init(dks_tokenizer *t, const char *text, size_t len);
/* Returns 1 and fills *tok, or 0 at the end of the text. */
int dks_tokenizer_next(dks_tokenizer *t, dks_token *tok);

/* ------------------------------------------------------------------ */
/* stopwords.c: Snowball's Danish stop words                           */

int dks_is_stopword(const char *word, size_t len);
size_t dks_stopword_count(void);

/* ------------------------------------------------------------------ */
/* lexicon.c: the compiled Danish lexicon                              */

#define DKS_LEXICON_HEADS 4
typedef struct dks_lexicon_entry {
    const char *word;      /* lower case, NFC; not NUL-terminated at len */
    size_t len;
    size_t heads[4];       /* bytes of the compound's last part, per reading */
    size_t n_heads;        /* 0: Hunspell does not read it as a compound */
    int is_name;           /* capitalised in the word list */
    int is_lemma;          /* the word is a dictionary form itself */
    size_t n_lemmas;       /* other dictionary forms it is a form of */
    const char *lemmas;    /* NUL-separated; use dks_lexicon_lemma() */
} dks_lexicon_entry;

/* Words in the lexicon (0 if the compiled data is damaged). */
size_t dks_lexicon_size(void);
/* The lexicon's bytes and the places in them: those linked into the
 * library, or with `huge`, a copy in huge pages (huge.c), for an indexing
 * run that looks up every new word some twenty times (the linked bytes
 * are mapped from the file in small pages).  A copy that cannot be made
 * leaves the linked bytes, which answer the same. */
typedef struct dks_lexicon {
    const unsigned char *start, *end, *pool, *slots;
    uint32_t mask;
    size_t n;              /* words; 0: no lexicon, every lookup misses */
    void *copy;            /* what close gives back */
} dks_lexicon;
void dks_lexicon_open(dks_lexicon *lx, int huge);
void dks_lexicon_close(dks_lexicon *lx);
/* 1 and *out (may be NULL) if the normalised word is in the lexicon. */
int dks_lexicon_find_in(const dks_lexicon *lx, const char *word, size_t len,
                        dks_lexicon_entry *out);
/* The same in the linked lexicon. */
int dks_lexicon_find(const char *word, size_t len, dks_lexicon_entry *out);
const char *dks_lexicon_lemma(const dks_lexicon_entry *e, size_t i, size_t *len);
/* Entries in byte order: the index of the first not below word (the
 * words with it as a prefix follow), and entry i (0 past the last). */
size_t dks_lexicon_lower_bound(const char *word, size_t len);
int dks_lexicon_entry_at(size_t i, dks_lexicon_entry *out);
/* Reads a byte of every page of the lexicon, which the binary maps from
 * its file (a sum, so that the reads are not left out). */
uint64_t dks_lexicon_touch(void);

/* ------------------------------------------------------------------ */
/* termdict.c: dense ids for the dictionary keys of an indexing run    */

/* One thread interns; any thread may read the key of an id it was handed
 * through a lock after it was interned (keys never move). */
typedef struct dks_termdict dks_termdict;
#define DKS_NO_TERM UINT32_MAX   /* a term too long to be a key: not indexed */
int dks_termdict_new(dks_termdict **out);
void dks_termdict_free(dks_termdict *d);
/* The id of key (len 1..DKS_MAX_KEY_TERM_BYTES + 1), adding it if new. */
int dks_termdict_intern(dks_termdict *d, const char *key, size_t len, uint32_t *id);
/* The key of an id; valid until the dictionary is freed. */
const char *dks_termdict_key(const dks_termdict *d, uint32_t id, size_t *len);
/* The id of the title key (dks_title_key) of the word key id, interned the
 * first time it is asked for and kept with the word (DKS_NO_TERM if it is
 * too long): a title's words then cost no interning. */
int dks_termdict_title(dks_termdict *d, uint32_t id, uint32_t *title_id);
size_t dks_termdict_bytes(const dks_termdict *d);

/* ------------------------------------------------------------------ */
/* analyze.c: beyond the public interface                              */

/* From now on the analyzer interns each key it emits in d (or in none,
 * NULL) and passes its id to dks_analyze_ids callbacks: it caches the ids
 * with each word, so a repeated word costs no interning.  Clears the word
 * cache. */
void dks_analyzer_set_termdict(dks_analyzer *an, dks_termdict *d);
/* Looks words up in lx (which outlives the analyzer) instead of the
 * linked lexicon. */
void dks_analyzer_set_lexicon(dks_analyzer *an, const dks_lexicon *lx);
/* Makes the analyzer as a new one with its features, for another search:
 * no dictionary, no compound restriction.  It keeps the words it has
 * analysed without restriction (up to a bound), since the analysis of a
 * word depends on nothing else. */
void dks_analyzer_reset(dks_analyzer *an);
/* A term as dks_analyze gives it, with the id of its dictionary key in
 * the analyzer's term dictionary (DKS_NO_TERM if too long to be a key). */
typedef int (*dks_term_id_callback)(const dks_term *term, uint32_t key_id, void *ctx);
int dks_analyze_ids(dks_analyzer *an, const char *text, size_t len, uint32_t first_position,
                    dks_term_id_callback cb, void *ctx);

unsigned dks_analyzer_features(const dks_analyzer *an);
/* Stems a normalised word as the chain does (with lemmas on, the stem of
 * its lemma where the lexicon knows it); valid until the next call. */
int dks_analyzer_stem(dks_analyzer *an, const char *word, size_t len, const char **stem,
                      size_t *stem_len);
/* The compound split of a normalised word, as byte ranges of its parts
 * (linking letters left out): 1 and *n_parts >= 2, or 0 if it is not
 * split.  starts and ends need DKS_MAX_COMPOUND_PARTS elements. */
#define DKS_MAX_COMPOUND_PARTS 4
int dks_analyzer_split(dks_analyzer *an, const char *word, size_t len, size_t *starts,
                       size_t *ends, size_t *n_parts);
/* From now on, split compounds only in words containing the first bytes of
 * one of the part or head keys given (dictionary keys as in dks_term_key;
 * other kinds are ignored, and none means no compounds at all).  Snippets
 * need only the compounds that can match the query, and splitting is the
 * costly stage. */
void dks_analyzer_restrict_compounds(dks_analyzer *an, char *const *keys, const size_t *lens,
                                     size_t n);
/* 1 if a normalised word is in the lexicon or a compound of its words. */
int dks_analyzer_known(dks_analyzer *an, const char *word, size_t len);

/* ------------------------------------------------------------------ */
/* postings.c: the posting block codec (format in the file's header)   */

/* A patched section of a block (postings.c): count numbers packed at one
 * width, the n_exc wider ones with their high bits apart. */
typedef struct dks_packed {
    uint64_t n, n_exc;
    unsigned bits, high_bits, index_bits;
    const unsigned char *low, *index, *high;
} dks_packed;

typedef struct dks_block_header {
    uint32_t n;          /* documents in the block, 1..DKS_BLOCK_DOCS */
    uint32_t first_doc;  /* from the key */
    uint32_t last_doc;
    uint32_t max_tf;
    uint32_t min_len;    /* shortest document in the block (for score bounds) */
    dks_packed gaps;     /* doc gaps */
    dks_packed tfs;      /* term frequencies - 1 (none if max_tf is 1) */
    const unsigned char *positions; /* position section */
    size_t positions_len;           /* 0: the key records no positions */
    int positions_parsed;           /* the three below are set */
    uint64_t n_pos_gaps;
    dks_packed firsts, pos_gaps;    /* within the position section */
} dks_block_header;

/* A block held in memory, for writing and for merging. */
typedef struct dks_block_data {
    uint32_t n;
    uint32_t docs[DKS_BLOCK_DOCS];
    uint32_t tfs[DKS_BLOCK_DOCS];
    uint32_t lens[DKS_BLOCK_DOCS];  /* document lengths, or a lower bound of them */
    /* every document's positions in turn, ascending within each; pos_n 0
     * for a key that records none */
    uint32_t *pos;
    size_t pos_n, pos_cap;
    uint32_t *gaps;                 /* the encoder's position gaps */
    size_t gaps_cap;
} dks_block_data;

/* Parses a block value (key's first doc given).  Cheap: decodes only the
 * header.  DKS_ECORRUPT on any inconsistency. */
int dks_block_parse(const unsigned char *val, size_t len, uint32_t first_doc,
                    dks_block_header *h);
/* dks_block_parse in two halves: a ranked search reads documents and
 * frequencies of many blocks and the positions of few, so it parses the
 * header of the position section only for a block whose positions it
 * wants.  The functions below that read positions (and dks_block_decode)
 * parse it when first asked; parsing it again does nothing. */
int dks_block_parse_head(const unsigned char *val, size_t len, uint32_t first_doc,
                         dks_block_header *h);
int dks_block_parse_positions(dks_block_header *h);
/* Decodes doc ids and term frequencies (arrays of h->n), and checks the
 * position section against the frequencies. */
int dks_block_decode(dks_block_header *h, uint32_t *docs, uint32_t *tfs);
/* The two halves of dks_block_decode: a search that only moves through a
 * block needs its documents, and the frequencies of few of them. */
int dks_block_decode_docs(const dks_block_header *h, uint32_t *docs);
int dks_block_decode_tfs(const dks_block_header *h, uint32_t *tfs);
/* The frequency of document i of the block alone, without decoding the
 * others' (DKS_ECORRUPT past the block's max_tf). */
int dks_block_tf(const dks_block_header *h, uint32_t i, uint32_t *tf);
/* Whether the exceptions of the position section are in order (searches
 * do not look: a wrong position is no crash; checks and merges do). */
int dks_block_check_positions(dks_block_header *h);
/* The tf positions of document i of a decoded block with positions, into
 * out; gap_at: the sum of tf - 1 over the documents before it. */
int dks_block_positions(dks_block_header *h, uint32_t i, uint64_t gap_at, uint32_t tf,
                        uint32_t *out);
/* Every position of a decoded block with positions, document after
 * document (the sum of tfs, which are the block's frequencies, of them),
 * into out: cheaper than dks_block_positions for each of many. */
int dks_block_decode_positions(dks_block_header *h, const uint32_t *tfs, uint32_t *out);
/* Encodes a block; out is cleared first. */
int dks_block_encode(dks_block_data *b, dks_buf *out);
/* Decodes the block fully into b (for merging and deleting). */
int dks_block_load(dks_block_header *h, dks_block_data *b);
/* Room for `extra` more positions in b->pos.  Inline where there is
 * room already: a flush asks for every position it reads back. */
int dks_block_pos_grow(dks_block_data *b, size_t extra);
static inline int dks_block_pos_reserve(dks_block_data *b, size_t extra)
{
    return b->pos_cap - b->pos_n >= extra ? DKS_OK : dks_block_pos_grow(b, extra);
}
void dks_block_data_free(dks_block_data *b);

/* ------------------------------------------------------------------ */
/* store.c: the LMDB environment (the only file that includes lmdb.h)  */

/* Posting blocks live in generations, each in a database of its own (a
 * slot): see plist.c.  Slot 0 is "postings", slot k "postings.k". */
#define DKS_GENERATIONS 16

typedef enum dks_db {
    DKS_DB_META,
    DKS_DB_TERMS,
    DKS_DB_POSTINGS,        /* generation slot 0 */
    DKS_DB_DOCS,
    DKS_DB_IDS,
    DKS_DB_TEXT,
    DKS_DB_LENGTHS,
    DKS_DB_SOURCES,
    DKS_DB_POSTINGS_MORE,   /* slots 1 .. DKS_GENERATIONS - 1 */
    DKS_DB_COUNT = DKS_DB_POSTINGS_MORE + DKS_GENERATIONS - 1
} dks_db;

/* The database of a generation slot. */
static inline dks_db dks_db_postings(unsigned slot)
{
    return slot == 0 ? DKS_DB_POSTINGS : (dks_db)(DKS_DB_POSTINGS_MORE + slot - 1);
}

typedef struct dks_store dks_store;
typedef struct dks_txn dks_txn;
typedef struct dks_cursor dks_cursor;

/* DKS_OPEN_* modes. */
int dks_store_open(const char *path, int mode, dks_store **out, dks_error_detail *err);
void dks_store_close(dks_store *s);
/* Takes the single-writer lock (non-blocking): DKS_ELOCKED if held. */
int dks_store_lock_writer(dks_store *s);
void dks_store_unlock_writer(dks_store *s);
uint64_t dks_store_size(dks_store *s);
/* 1 when the directory at the store's path is not the one it has open. */
int dks_store_replaced(const dks_store *s);
/* The id of the last committed transaction. */
int dks_store_last_commit(dks_store *s, uint64_t *out);
/* Grows the map (between transactions) so that at least `headroom` bytes
 * are free for the next write transaction. */
int dks_store_reserve(dks_store *s, size_t headroom);
/* The map's size, and setting it between transactions (a test shrinks
 * it to see the writer grow it again). */
size_t dks_store_map_size(dks_store *s);
int dks_store_set_map_size(dks_store *s, size_t bytes);

int dks_txn_begin(dks_store *s, int write, dks_txn **out);
/* What a read transaction sees: two see the same index exactly when their
 * snapshots are equal, and of two snapshots the larger is the newer.  (The
 * transaction ids of LMDB start over in the copy a compaction makes: the
 * epoch counts the copies.) */
typedef struct dks_snapshot {
    uint64_t epoch, txn_id;
} dks_snapshot;
dks_snapshot dks_txn_snapshot(const dks_txn *t);
static inline int dks_snapshot_cmp(dks_snapshot a, dks_snapshot b)
{
    if (a.epoch != b.epoch)
        return a.epoch < b.epoch ? -1 : 1;
    return a.txn_id < b.txn_id ? -1 : a.txn_id > b.txn_id;
}
/* Lets go of the pages of the index file this process has read through
 * the map, so that a long bulk load's resident set stays what one batch
 * needs instead of growing with the index.  Safe at any time: a write
 * transaction's own pages are not in the map (no MDB_WRITEMAP), and a
 * page read again is mapped again from the page cache. */
void dks_store_release_map(dks_store *s);
/* Bytes of the free pages in the index file: pages a writer reuses, but
 * that the file keeps until it is compacted. */
int dks_store_free_bytes(dks_store *s, uint64_t *bytes);
/* Rewrites the index into a copy without free pages and every page full,
 * and exchanges it for the index directory atomically: whoever opens the
 * index afterwards sees the copy; a reader that has it open goes on
 * reading the old files until it opens the index again.  The caller holds
 * the writer lock (it moves to the copy) and no transaction. */
int dks_store_compact(dks_store *s);
/* The same in two steps, so that the databases in the mask `ahead` (bit
 * 1 << db) are copied on a thread of their own from begin on, while the
 * caller goes on changing the others (a merge of posting generations);
 * finish copies the rest and exchanges the copy for the index.  The
 * databases copied ahead must not change between the two.  Abort stops
 * the thread and throws the copy away. */
typedef struct dks_compaction dks_compaction;
int dks_store_compact_begin(dks_store *s, uint32_t ahead, dks_compaction **out);
int dks_store_compact_finish(dks_store *s, dks_compaction *c);
void dks_store_compact_abort(dks_compaction *c);
/* Whether the index's file system has `bytes` free for this process. */
int dks_store_disk_room(dks_store *s, uint64_t bytes);
/* Bytes of the pages a database uses as of t. */
int dks_store_db_bytes(dks_txn *t, dks_db db, uint64_t *bytes);
int dks_txn_commit(dks_txn *t);
void dks_txn_abort(dks_txn *t);

/* Values returned by get and cursors point into the map: valid until
 * the transaction ends or the next write in it. Not found: 1. */
int dks_kv_get(dks_txn *t, dks_db db, const void *key, size_t klen,
               const void **val, size_t *vlen);
int dks_kv_put(dks_txn *t, dks_db db, const void *key, size_t klen,
               const void *val, size_t vlen);
/* A put of a key above every key of the database (DKS_ECORRUPT if it is
 * not): LMDB then fills pages to the brim instead of splitting them in
 * half, which is what makes a bulk load compact. */
int dks_kv_append(dks_txn *t, dks_db db, const void *key, size_t klen,
                  const void *val, size_t vlen);
/* The database's largest key (into the map, as dks_kv_get).  Empty: 1. */
int dks_kv_last(dks_txn *t, dks_db db, const void **key, size_t *klen);
/* Not found: 1. */
int dks_kv_del(dks_txn *t, dks_db db, const void *key, size_t klen);
/* Deletes every entry of a database (it stays, empty). */
int dks_db_empty(dks_txn *t, dks_db db);

int dks_cursor_open(dks_txn *t, dks_db db, dks_cursor **out);
void dks_cursor_close(dks_cursor *c);
/* Positions at the first key >= key.  End: 1. */
int dks_cursor_seek(dks_cursor *c, const void *key, size_t klen,
                    const void **k, size_t *kl, const void **v, size_t *vl);
/* Moves to the next / previous entry.  End: 1. */
int dks_cursor_next(dks_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl);
int dks_cursor_prev(dks_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl);
/* Moves to the first / last entry.  Empty: 1. */
int dks_cursor_first(dks_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl);
int dks_cursor_last(dks_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl);
/* Calls visit(arg, entry) for every entry of db in key order; its first
 * non-zero return (never 1) ends the walk and is returned. */
typedef int (*dks_visit_fn)(void *arg, const void *k, size_t kl, const void *v, size_t vl);
int dks_db_walk(dks_txn *t, dks_db db, dks_visit_fn visit, void *arg);

/* ------------------------------------------------------------------ */
/* keys.c: key and record layouts shared by writer and reader          */

/* The dictionary key of a term of a kind: words and expansions are the
 * term itself; parts, heads, lemmas, spellings and forms get a kind byte
 * in front (0x01..0x04, 0x06), so they have statistics of their own and
 * never collide with a word.  out needs DKS_MAX_KEY_TERM_BYTES + 1 bytes;
 * returns 0 for a term too long to index. */
size_t dks_term_key(dks_term_kind kind, const char *term, size_t len, char *out);

/* Whether the postings of a key record positions: words and expansions
 * do.  Compound parts and heads, lemmas, spellings and forms stand where
 * their word stands, which phrases and proximity read from the word; title
 * words stand in the title, which snippets do not show and phrases read
 * from the words too; a field's value stands at 0.  They record
 * frequencies only. */
static inline int dks_key_has_positions(const char *key, size_t len)
{
    unsigned char kind = len ? (unsigned char)key[0] : 0;
    return !(kind >= 0x01 && kind <= 0x08);
}

/* Keys of the fields: a word of the title (0x07 + term), and a field's
 * value (0x08 + name + 0x00 + value, both lower case) for filters and
 * facets.  Return 0 when too long to be a key. */
#define DKS_KEY_TITLE 0x07
#define DKS_KEY_FIELD 0x08
size_t dks_title_key(const char *term, size_t len, char *out);
size_t dks_field_key(const char *name, size_t name_len, const char *value, size_t value_len,
                     char *out);
/* Encodes a document's named fields as the record stores them: varint
 * count, then (varint name length, name, varint value length, value). */
int dks_fields_encode(const dks_field *fields, size_t n, dks_buf *out);
/* Reads field i of an encoded list; 1 when there is no field i. */
int dks_fields_get(const unsigned char *list, size_t len, size_t i, dks_field *out);

/* Posting block key: term bytes, 0x00, first doc id big-endian. */
size_t dks_postings_key(unsigned char *out, const char *term, size_t term_len,
                        uint32_t first_doc);
/* Splits a posting key; DKS_ECORRUPT if malformed. */
int dks_postings_key_parse(const unsigned char *key, size_t klen,
                           size_t *term_len, uint32_t *first_doc);

/* Term statistics (value of the terms database).  A term whose postings
 * fit one block of at most DKS_INLINE_BLOCK_BYTES keeps it here, and no
 * generation holds any of its blocks: most terms are that rare, and this
 * saves them a key of their own and a second B-tree lookup. */
#define DKS_INLINE_BLOCK_BYTES 192
typedef struct dks_term_stats {
    uint64_t df;
    uint64_t cf;
    const unsigned char *inline_block;  /* NULL, or the block (into the map, as dks_kv_get) */
    size_t inline_len;
    uint32_t inline_first;              /* its first document */
} dks_term_stats;
int dks_term_stats_get(dks_txn *t, const char *term, size_t len,
                       dks_term_stats *out); /* 1 if absent */
/* Decodes a value of the terms database (pointers into val). */
int dks_term_stats_decode(const void *val, size_t len, dks_term_stats *out);
/* append: the term is above every term of the index (dks_kv_append) */
int dks_term_stats_put(dks_txn *t, const char *term, size_t len, const dks_term_stats *st,
                       int append);

/* Document record (value of the docs database). */
typedef struct dks_doc_record {
    const char *id;
    size_t id_len;
    const char *title;
    size_t title_len;
    uint32_t length;        /* tokens in title and body */
    uint32_t body_start;    /* position of the first body token */
    const char *source;     /* the file it came from (sources.c); source_len 0: none */
    size_t source_len;
    const unsigned char *fields;  /* encoded: count, then name/value pairs */
    size_t fields_len;
} dks_doc_record;
int dks_doc_record_encode(const dks_document *doc, const char *source, size_t source_len,
                          uint32_t length, uint32_t body_start, dks_buf *out);
int dks_doc_record_decode(const void *val, size_t len, dks_doc_record *out);
/* Reads a stored document's record (pointing into the map, as
 * dks_kv_get).  A document that postings or results name must exist: a
 * missing one is DKS_ECORRUPT. */
int dks_doc_get(dks_txn *t, uint32_t doc, dks_doc_record *rec);

/* ------------------------------------------------------------------ */
/* text.c: stored document text, zstd-compressed                       */

/* Reads texts for one search (or for the writer, index NULL): the text it
 * returns is valid until its next call.  Not for two threads at once. */
typedef struct dks_text_reader dks_text_reader;
int dks_text_reader_new(dks_index *index, dks_text_reader **out);
void dks_text_reader_free(dks_text_reader *r);
/* Makes the decompression dictionary now instead of at the first text. */
int dks_text_reader_prepare(dks_text_reader *r, dks_txn *t);
/* A document's text; DKS_ECORRUPT if it has none or it does not decode. */
int dks_text_get(dks_text_reader *r, dks_txn *t, uint32_t doc, const void **text,
                 size_t *text_len);
/* Decodes a value of the text database. */
int dks_text_decode(dks_text_reader *r, dks_txn *t, const void *val, size_t len,
                    const void **text, size_t *text_len);

/* Encodes texts for storage, training the index's dictionary once it has
 * seen enough text; apart from storing, so that it needs no transaction.
 * dict: the index's dictionary (see dks_text_dict_get), NULL if it has
 * none. */
typedef struct dks_text_encoder dks_text_encoder;
int dks_text_encoder_new(const void *dict, size_t dict_len, dks_text_encoder **out);
void dks_text_encoder_free(dks_text_encoder *e);
/* The value of the text database for a text, into out (cleared first).
 * *trained = 1: the encoder has just trained the dictionary (its bytes:
 * dks_text_encoder_dict, which never change afterwards), and it must be
 * stored with this value, in the same transaction, before any later one. */
int dks_text_encode(dks_text_encoder *e, const void *text, size_t len, dks_buf *out,
                    int *trained);
const void *dks_text_encoder_dict(const dks_text_encoder *e, size_t *len);
/* The index's dictionary as of t; 1 if it has none. */
int dks_text_dict_get(dks_txn *t, const void **dict, size_t *len);
/* Stores an encoded text for doc (above every doc stored), and the new
 * dictionary if there is one. */
int dks_text_put(dks_txn *t, uint32_t doc, const void *value, size_t len, const void *new_dict,
                 size_t new_dict_len);
/* Frees the dictionary an index handle made for its searches. */
void dks_text_dict_free(void *ddict);

/* ------------------------------------------------------------------ */
/* keys.c (continued): the meta record                                 */

/* Collection statistics (meta database). */
typedef struct dks_meta {
    uint32_t format_version;
    uint32_t analyzer_version;
    uint64_t doc_count;
    uint64_t total_len;
    uint64_t term_count;
    uint32_t next_doc;
    uint32_t features;      /* DKS_ANALYSIS_* the index is analysed with */
    /* The posting generations in document order: generation i holds the
     * postings of documents from gen_first[i] (0 for the first) up to the
     * next one's first, in the database of slot gen_slot[i]. */
    unsigned n_gens;
    uint8_t gen_slot[DKS_GENERATIONS];
    uint32_t gen_first[DKS_GENERATIONS];
} dks_meta;
int dks_meta_read(dks_txn *t, dks_meta *out); /* 1 if the index is empty/new */
int dks_meta_write(dks_txn *t, const dks_meta *m);
/* The generation that holds doc's postings (an index into gen_*), -1 if
 * none does. */
int dks_meta_generation_of(const dks_meta *m, uint32_t doc);

/* ------------------------------------------------------------------ */
/* sources.c: the records of the files documents came from             */

typedef struct dks_source_record {
    dks_source_info info;
    uint64_t n_ids;
    const unsigned char *ids;  /* n_ids x (varint len, id), into the map */
    size_t ids_len;
} dks_source_record;
int dks_source_record_decode(const void *val, size_t len, dks_source_record *out);
/* 1 if the source has no record. */
int dks_source_record_get(dks_txn *t, const char *path, size_t len, dks_source_record *out);
/* ids: n_ids x (varint len, id), as in the record. */
int dks_source_record_put(dks_txn *t, const char *path, size_t len, const dks_source_info *info,
                          const dks_buf *ids, uint64_t n_ids, dks_buf *scratch);
/* The next id of a record's list at *p; 1 at its end. */
int dks_source_ids_next(const unsigned char **p, const unsigned char *end, const char **id,
                        size_t *len);

/* ------------------------------------------------------------------ */
/* plist.c: a term's posting blocks across the generations             */

typedef struct dks_plist {
    dks_txn *txn;
    int is_inline;                  /* the term's one block is in its statistics */
    const dks_meta *meta;           /* its generations; must outlive the list */
    unsigned char key[DKS_MAX_KEY_TERM_BYTES + 8];  /* the term, 0x00 */
    size_t prefix_len;
    unsigned gen;                   /* of the current block */
    dks_cursor *cur[DKS_GENERATIONS];
    dks_block_header h;             /* the current block (into the map, as dks_kv_get) */
} dks_plist;

/* Opens the term's list on its first block: 0, or 1 if it has no
 * postings (close it either way).  st: the term's statistics if the
 * caller has read them (NULL: read here). */
int dks_plist_open(dks_plist *p, dks_txn *t, const dks_meta *meta, const char *term,
                   size_t len, const dks_term_stats *st);
/* Moves to the next block; 1 after the last. */
int dks_plist_next(dks_plist *p);
/* Moves forward to the first block whose last document is >= target (the
 * current one if it is); 1 if there is none. */
int dks_plist_seek(dks_plist *p, uint32_t target);
void dks_plist_close(dks_plist *p);

/* ------------------------------------------------------------------ */
/* doc_terms.c: a document analysed into (key id, position) pairs       */

typedef struct dks_term_pair {
    uint32_t id;            /* of the key in the run's term dictionary */
    uint32_t position;
} dks_term_pair;

typedef struct dks_doc_terms {
    dks_term_pair *pairs;   /* in the order the analyzer emits them */
    size_t n, cap;
    uint32_t max_id;        /* the largest id among them */
    uint32_t tokens;        /* words of title and body: the document's length */
    uint32_t body_start;    /* the body's first position */
} dks_doc_terms;
/* `an` must intern in `dict` (dks_analyzer_set_termdict).  fields:
 * dks_fields_encode()d; body_start_hint UINT32_MAX: after the title and
 * fields (a deleted document passes the start it was given). */
int dks_doc_terms_analyze(dks_analyzer *an, dks_termdict *dict, const char *title,
                          size_t title_len, const char *body, size_t body_len,
                          const unsigned char *fields, size_t fields_len,
                          uint32_t body_start_hint, dks_doc_terms *out);
/* A document added, analysed: its fields encoded (into fields, cleared
 * first), then its terms. */
int dks_doc_prepare(dks_analyzer *an, dks_termdict *dict, const dks_document *doc,
                    dks_buf *fields, dks_doc_terms *out);
void dks_doc_terms_free(dks_doc_terms *dt);

/* A document copied for analysis on another thread, and its terms. */
typedef struct dks_job {
    dks_document doc;       /* points into arena and fields */
    dks_buf arena;
    dks_field *fields;
    size_t fields_cap;
    dks_buf fields_encoded;
    dks_doc_terms terms;
    int rc;                 /* of the analysis */
    void *tag;              /* the submitter's (dks_pipeline_submit) */
} dks_job;
int dks_job_set(dks_job *j, const dks_document *doc);
void dks_job_analyze(dks_job *j, dks_analyzer *an, dks_termdict *dict);
/* Frees what the job holds; it is empty again, ready for dks_job_set. */
void dks_job_free(dks_job *j);

/* ------------------------------------------------------------------ */
/* pipeline.c: analysis on a second thread, results in order            */

typedef struct dks_pipeline dks_pipeline;
/* The worker's analyzer interns in dict, which nobody else may intern in
 * while the pipeline exists. */
int dks_pipeline_new(unsigned features, dks_termdict *dict, const dks_lexicon *lexicon,
                     dks_pipeline **out);
/* Stops the thread (after the jobs given) and frees everything. */
void dks_pipeline_free(dks_pipeline *p);
/* Whether the ring has no free slot, or holds max_bytes of documents. */
int dks_pipeline_full(dks_pipeline *p, size_t max_bytes);
int dks_pipeline_empty(dks_pipeline *p);
/* Copies doc into the next slot; a slot must be free.  The
 * job comes back with tag, the caller's. */
int dks_pipeline_submit(dks_pipeline *p, const dks_document *doc, void *tag);
/* The oldest job given, once analysed (waiting for it if wait), or NULL;
 * hand it back with dks_pipeline_release() before the next take. */
dks_job *dks_pipeline_take(dks_pipeline *p, int wait);
void dks_pipeline_release(dks_pipeline *p);
/* Frees what the jobs hold, when none is in flight. */
void dks_pipeline_trim(dks_pipeline *p);

/* Document lengths live in chunks of DKS_LENGTH_CHUNK little-endian
 * uint32 values keyed by doc / DKS_LENGTH_CHUNK, so that scoring reads
 * one map page for many documents. */
#define DKS_LENGTH_CHUNK 256
int dks_length_set(dks_txn *t, uint32_t doc, uint32_t length);
/* Every document's length as of one snapshot, in one array (see
 * length_table.c); DKS_NO_LENGTH where the database has no chunk. */
#define DKS_NO_LENGTH UINT32_MAX
typedef struct dks_length_table {
    dks_snapshot snapshot;
    uint32_t n;                 /* documents 0 .. n - 1 */
    uint32_t *len;
    unsigned refs;              /* guarded by its dks_index's lock */
} dks_length_table;
/* Reads the table as of t: DKS_ECORRUPT if a chunk is malformed or past
 * the index's documents. */
int dks_length_table_build(dks_txn *t, dks_length_table **out);
void dks_length_table_free(dks_length_table *lt);
/* Reader side: with a table (of the reader's snapshot), an index into it;
 * without, it keeps the chunks it read last, one per slot by chunk
 * number (a search's operands read the lengths of one stretch of
 * documents in turn), and a cursor that steps to the next chunk (a search
 * moves in document order). */
#define DKS_LENGTH_SLOTS 16
typedef struct dks_length_reader {
    dks_txn *txn;
    const dks_length_table *table;  /* not owned; NULL: chunks */
    dks_cursor *cur;            /* NULL until the first chunk */
    int positioned;             /* the cursor stands on chunk `at` */
    uint32_t at;
    uint32_t slot_chunk[DKS_LENGTH_SLOTS];  /* chunk number + 1; 0: empty */
    const unsigned char *slot_data[DKS_LENGTH_SLOTS];
} dks_length_reader;
/* Reads chunk number `chunk` into its slot (dks_length_get, when the
 * chunk is not at hand). */
int dks_length_load(dks_length_reader *r, uint32_t chunk);
/* Inline: a search asks once for every document it scores, and a call
 * would have the caller read its own state from memory again after it. */
static inline int dks_length_get(dks_length_reader *r, uint32_t doc, uint32_t *length)
{
    if (r->table) {
        /* a posting names a document with no length */
        if (doc >= r->table->n || r->table->len[doc] == DKS_NO_LENGTH)
            return DKS_ECORRUPT;
        *length = r->table->len[doc];
        return DKS_OK;
    }
    uint32_t c = doc / DKS_LENGTH_CHUNK;
    size_t slot = c % DKS_LENGTH_SLOTS;
    if (r->slot_chunk[slot] != c + 1) {
        int rc = dks_length_load(r, c);
        if (rc)
            return rc;
    }
    *length = dks_get_le32(r->slot_data[slot] + (doc % DKS_LENGTH_CHUNK) * 4);
    return DKS_OK;
}
void dks_length_reader_close(dks_length_reader *r);

/* ------------------------------------------------------------------ */
/* index.c: the dks_index handle                                       */

dks_store *dks_index_store(dks_index *index);
/* The index's table of every document's length as of t's snapshot, or
 * NULL (read the lengths database then): made when a second search asks
 * on the same snapshot, and shared.  Give it back with
 * dks_index_lengths_give.  Out of memory for it, or where the lengths
 * database does not read whole (tried once a snapshot), a search goes
 * without. */
int dks_index_lengths_take(dks_index *index, dks_txn *t, const dks_length_table **out);
void dks_index_lengths_give(dks_index *index, const dks_length_table *table);
/* Where the handle keeps the text dictionary its searches share (text.c). */
_Atomic(void *) *dks_index_text_dict(dks_index *index);
int dks_index_writable(const dks_index *index);
/* An analyzer with the features given, one a finished search left if
 * there is one; hand it back with dks_index_analyzer_give (which takes
 * NULL too), not dks_analyzer_free. */
int dks_index_analyzer_take(dks_index *index, unsigned features, dks_analyzer **out);
void dks_index_analyzer_give(dks_index *index, dks_analyzer *an);

/* ------------------------------------------------------------------ */
/* bm25.c: scoring                                                     */

typedef struct dks_bm25 {
    double avg_len;
    uint64_t doc_count;
    /* k1 * norm = len_fixed + len_scale * length: one multiplication and
     * one division per score, which the matcher takes millions of */
    double len_fixed, len_scale;
} dks_bm25;

void dks_bm25_init(dks_bm25 *m, uint64_t doc_count, uint64_t total_len);
double dks_bm25_idf(const dks_bm25 *m, uint64_t df);
static inline double dks_bm25_term(const dks_bm25 *m, double idf, double tf, double doc_len)
{
    return idf * tf * (DKS_BM25_K1 + 1.0) / (tf + m->len_fixed + m->len_scale * doc_len);
}
/* The highest score a term can reach in a block with these bounds. */
double dks_bm25_bound(const dks_bm25 *m, double idf, double max_tf, double min_len);

/* ------------------------------------------------------------------ */
/* query.c: parsing a query into a tree                                */

typedef enum dks_qnode_type {
    DKS_Q_TERM,     /* one analysed term */
    DKS_Q_PHRASE,   /* terms at consecutive positions */
    DKS_Q_AND,
    DKS_Q_OR,
    DKS_Q_NOT,      /* only as a child of AND: excludes */
    DKS_Q_PREFIX,   /* every word whose term begins with `term` (telemed*) */
    DKS_Q_FUZZY,    /* words within a few edits of `term` (telemedecin~) */
    DKS_Q_FILTER,   /* documents whose field has a value: key in alts[0] (party:S);
                       restricts, scores nothing */
    DKS_Q_RANGE     /* documents whose field `term` lies between two values
                       (alts[0] low, alts[1] high keys, either may be empty) */
} dks_qnode_type;

/* One way a query word can match: a dictionary key and its weight. */
typedef struct dks_qalt {
    char *key;
    size_t key_len;
    double weight;
} dks_qalt;

typedef struct dks_qnode dks_qnode;
struct dks_qnode {
    dks_qnode_type type;
    /* TERM: the word's term and the keys it matches (alts[0] is the word
     * itself); PHRASE: terms[] with their relative positions */
    char *term;
    size_t term_len;
    dks_qalt *alts;
    size_t n_alts;
    int is_stopword;
    char **terms;
    size_t *term_lens;
    uint32_t *offsets;  /* phrase: position of each term relative to the first */
    size_t n_terms;
    unsigned max_edits;  /* FUZZY: edits allowed, from the typed word's length */
    unsigned slop;       /* PHRASE: extra positions allowed between its words ("..."~3) */
    dks_qnode **children;
    size_t n_children;
    long source_offset;  /* byte offset in the query, for messages */
    size_t source_len;   /* TERM: bytes of the word in the query */
};

/* The index's own vocabulary, for the parser: 1 if a dictionary key is in
 * the index.  Other spellings of a query word are accepted when the
 * lexicon knows them or the index holds them. */
typedef struct dks_vocabulary {
    int (*has)(void *ctx, const char *key, size_t len);
    void *ctx;
} dks_vocabulary;

/* Parse flags. */
enum {
    /* The last word is still being typed: it also matches as a prefix. */
    DKS_QUERY_AS_YOU_TYPE = 1
};

/* Parses and analyses a query (vocab may be NULL).  On DKS_EQUERY, err
 * says what and where. */
int dks_query_parse(dks_analyzer *an, const dks_vocabulary *vocab, unsigned flags,
                    const char *q, size_t len, dks_qnode **out, dks_error_detail *err);
void dks_query_free(dks_qnode *n);
/* ANDs a filter on a stored field with the query: NAME=VALUE, or a range
 * NAME>=VALUE, NAME>VALUE, NAME<=VALUE, NAME<VALUE (values compared as
 * lower-case text, so ISO dates order right). */
int dks_query_add_filter(dks_qnode **root, const char *expr, dks_error_detail *err);
/* Drops stop words from ranked matching unless nothing else is left. */
void dks_query_drop_stopwords(dks_qnode **root);

/* ------------------------------------------------------------------ */
/* fuzzy.c: indexed words within a few edits of a word                 */

/* Called for each word term within reach; non-zero stops the walk. */
typedef int (*dks_fuzzy_fn)(void *ctx, const char *term, size_t len, unsigned edits);
/* Walks the word terms (not parts, heads, ...) within max_edits
 * Levenshtein edits (over code points) of word, in dictionary order.  With
 * same_first_letter only terms that begin with word's first letter are
 * walked: a small part of the dictionary, for suggestions, where a typo in
 * the first letter is rare enough not to pay for. */
int dks_fuzzy_terms(dks_txn *t, const char *word, size_t len, unsigned max_edits,
                    int same_first_letter, dks_fuzzy_fn fn, void *ctx);
/* The edits a typo query allows: 0 up to 4 letters, 1 up to 8, then 2. */
unsigned dks_fuzzy_max_edits(const char *word, size_t len);

/* ------------------------------------------------------------------ */
/* suggest.c: "Mente du ...?"                                          */

/* For a query that found nothing: the query with each word the index does
 * not hold replaced by the closest one it does (*out owned by the caller,
 * free()); NULL when there is nothing to propose. */
int dks_suggest(dks_txn *t, dks_analyzer *an, dks_text_reader *tr, const dks_qnode *root,
                const char *query, size_t query_len, char **out);

/* ------------------------------------------------------------------ */
/* match.c: posting iterators and the top-k matcher                    */

#define DKS_DOC_END UINT32_MAX

typedef struct dks_hit_ref {
    uint32_t doc;
    double score;       /* BM25 plus the proximity bonus */
    double bonus;       /* the proximity bonus in score */
} dks_hit_ref;

typedef struct dks_match_result {
    dks_hit_ref *hits;      /* best first, `n_hits` of them (owned; free()) */
    size_t n_hits;
    uint64_t total;
    int total_exact;        /* 0: total is a lower bound, pruning passed over the rest */
    /* terms that matched, for highlighting (owned; free each and the array) */
    char **terms;
    size_t *term_lens;
    size_t n_terms;
    /* notes for the reader: a prefix or range that matched more terms than
     * were searched (owned, as terms) */
    char **notes;
    size_t n_notes;
} dks_match_result;

/* Runs the query tree over the index as of transaction t (lengths: its
 * snapshot's, or NULL) and keeps the
 * best `keep` hits (ties by doc id).  Once exact_total hits are counted
 * and the heap is full, it prunes (UINT64_MAX: never) and the total is a
 * lower bound. */
int dks_match_run(dks_txn *t, const dks_length_table *lengths, const dks_qnode *root,
                  size_t keep, double title_weight, uint64_t exact_total,
                  dks_match_result *out);
void dks_match_result_free(dks_match_result *r);

/* A matched term at a position of a document: term indexes the keys given
 * to dks_match_positions. */
typedef struct dks_position_match {
    uint32_t position, term;
} dks_position_match;
typedef struct dks_doc_matches {
    uint32_t doc;                  /* set by the caller */
    dks_position_match *matches;   /* owned; free() */
    size_t n, cap;
    int unplaced;                  /* a key without positions (see dks_key_has_positions) occurs */
} dks_doc_matches;
/* Appends to each of docs where each key (a term key as in
 * dks_match_result.terms) stands in it, read from the postings in one pass
 * per key.  Prefix keys are skipped. */
int dks_match_positions(dks_txn *t, char *const *keys, const size_t *lens, size_t n_keys,
                        dks_doc_matches *docs, size_t n_docs);
/* The parts of a hit's score for the query (the hit from dks_match_run,
 * lengths as given to it).  *parts and each part's term are owned by the
 * caller: free them with dks_score_parts_free(). */
int dks_match_explain(dks_txn *t, const dks_length_table *lengths, const dks_qnode *root,
                      const dks_hit_ref *hit, double title_weight, dks_score_part **parts,
                      size_t *n);
void dks_score_parts_free(dks_score_part *parts, size_t n);

/* ------------------------------------------------------------------ */
/* snippet.c: the best passage of a document, with highlights          */

typedef struct dks_snippet {
    dks_buf text;             /* NUL-terminated, valid UTF-8 */
    dks_highlight *ranges;
    size_t n_ranges;
} dks_snippet;

int dks_snippet_make(dks_analyzer *an, const char *text, size_t len,
                     char *const *terms, const size_t *term_lens, size_t n_terms,
                     size_t words, dks_snippet *out);
/* The same snippet, from where the query's terms stand in the text
 * (positions counted from first_position, as the index counts them; see
 * dks_match_positions) instead of analysing the text again.  Sorts
 * matches. */
int dks_snippet_at_positions(const char *text, size_t len, uint32_t first_position,
                             dks_position_match *matches, size_t n_matches, size_t n_terms,
                             size_t words, dks_snippet *out);
void dks_snippet_free(dks_snippet *s);

/* ------------------------------------------------------------------ */
/* jsonl.c: one line of JSON Lines input                               */

/* Distinct keys a JSON Lines object may have: each costs memory, and a
 * document needs a handful. */
#define DKS_MAX_JSON_MEMBERS 4096

typedef enum dks_json_type {
    DKS_JSON_STRING,
    DKS_JSON_INTEGER,
    DKS_JSON_OTHER     /* real, true, false, null, object, array */
} dks_json_type;

typedef struct dks_json_member {
    const char *key;        /* decoded, no NUL inside */
    size_t key_len;
    dks_json_type type;
    const char *value;      /* STRING: decoded (may hold NUL bytes); INTEGER: in decimal */
    size_t value_len;
} dks_json_member;

/* Reused from line to line; members and their bytes are valid until the
 * next parse and point into the line or the object's scratch buffer. */
typedef struct dks_json_object {
    dks_json_member *members;   /* in order of first appearance; a repeated key's last value */
    size_t n, cap;
    int is_object;              /* 0: the line held an array */
    char error[80];             /* after DKS_EINPUT: what and where */
    dks_buf scratch;
    uint32_t *slots;            /* member lookup by key, for objects with many */
    size_t n_slots;
} dks_json_object;

/* DKS_EINPUT (o->error says why) for anything jansson would refuse. */
int dks_json_object_parse(dks_json_object *o, const char *text, size_t len);
void dks_json_object_free(dks_json_object *o);

/* ------------------------------------------------------------------ */
/* html.c: an HTML page into title, text and language                  */

/* What the index keeps of a page; each buffer is empty (data may be NULL)
 * or NUL-terminated UTF-8. */
typedef struct dks_html_page {
    dks_buf title;   /* <title>, else the first <h1>, else the first line; white
                        space collapsed; at most DKS_MAX_TITLE_BYTES */
    dks_buf body;    /* the text, a line per block, without scripts and navigation */
    dks_buf lang;    /* the lang attribute of <html>, trimmed */
} dks_html_page;

/* Parses len bytes of HTML (malformed markup is no error).  DKS_ELIMIT
 * if its text is larger than DKS_MAX_DOC_BYTES, DKS_ENOMEM; on failure
 * *out is freed.  Safe to call from several threads at once. */
int dks_html_parse(const char *data, size_t len, dks_html_page *out);
void dks_html_page_free(dks_html_page *page);

/* ------------------------------------------------------------------ */
/* search.c: beyond the public interface                               */

/* A monotonic clock in microseconds, for the took_us of answers. */
uint64_t dks_clock_us(void);

/* ------------------------------------------------------------------ */
/* json.c: JSON text                                                   */

/* Appends s as a JSON string literal (quotes included); invalid UTF-8
 * becomes U+FFFD so the output is always valid JSON. */
int dks_json_string(dks_buf *b, const char *s, size_t len);

#endif /* DKS_INT_H */
