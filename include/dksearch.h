/*
 * dksearch.h - the public interface of libdksearch, a full-text search
 * engine for Danish text on top of LMDB.
 *
 * Conventions (the same in every function below):
 *  - Functions that can fail return an int: DKS_OK (0) on success, a
 *    negative DKS_E* code, or a positive errno value from the system.
 *    dks_strerror() describes any of them.
 *  - Results come back through out-parameters, which are set to NULL (or
 *    zero) on failure.
 *  - Functions that can fail for a reason worth telling a person (a bad
 *    query, an unreadable document) also take an optional dks_error_detail,
 *    which receives a message; pass NULL if you do not want it.
 *  - Every object from a *_open / *_new function is released by the
 *    matching *_close / *_free, which accepts NULL.  Every pointer the
 *    library hands out says who owns it and how long it lives.
 *  - The library never prints and never exits.
 */
#ifndef DKSEARCH_H
#define DKSEARCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Errors                                                              */

enum {
    DKS_OK = 0,
    DKS_ENOMEM = -1001,    /* out of memory */
    DKS_EINVAL = -1002,    /* invalid argument */
    DKS_ENOINDEX = -1003,  /* no index at the given path */
    DKS_EVERSION = -1004,  /* index written by an incompatible version */
    DKS_ECORRUPT = -1005,  /* index bytes fail a consistency check */
    DKS_EQUERY = -1006,    /* the query cannot be parsed */
    DKS_EINPUT = -1007,    /* a document cannot be read */
    DKS_ESTORE = -1008,    /* the storage engine reported an error */
    DKS_EFULL = -1009,     /* the index reached its size limit */
    DKS_ELOCKED = -1010,   /* another writer holds the index */
    DKS_ESTEMMER = -1011,  /* the Danish stemmer is not available */
    DKS_ELIMIT = -1012     /* a named limit was exceeded */
};

/* A static, English description of any code this library returns.
 * Never NULL; the string lives for the whole program. */
const char *dks_strerror(int rc);

/* Detail for errors that a person should understand.  The library fills
 * it in when a call fails (the first error wins); `position` is the byte
 * offset in the query or line number in the input the message refers to,
 * or -1 when it does not apply. */
typedef struct dks_error_detail {
    int code;
    long position;
    char message[256];
} dks_error_detail;

/* ------------------------------------------------------------------ */
/* Analysis                                                            */

/* The analyzer turns text into index terms: tokenising (runs of letters
 * and digits in UTF-8), Unicode normalisation and lower-casing, Danish
 * stop-word marking and Snowball Danish stemming.  The same analyzer runs
 * over documents at index time and over queries at search time. */
typedef struct dks_analyzer dks_analyzer;

/* Kinds of term the analysis chain emits.  Every token gives one
 * DKS_TERM_WORD; the Danish stages add extra terms at the same position. */
typedef enum dks_term_kind {
    DKS_TERM_WORD = 0,      /* the token, Snowball-stemmed */
    DKS_TERM_PART,          /* a first part of a compound (velfærd in velfærdsalliancer) */
    DKS_TERM_HEAD,          /* the last part of a compound (alliancer) */
    DKS_TERM_EXPANSION,     /* a word the text implies: klimaministeren from
                               "klima-, energi- og forsyningsministeren",
                               offentligprivate from "offentlig-private" */
    DKS_TERM_LEMMA,         /* the dictionary form (sagde -> sige) */
    DKS_TERM_SPELLING,      /* another spelling (idé -> ide, Århus -> aarhus) */
    DKS_TERM_FORM           /* the written form's own stem where the word's term is its
                               lemma's (sundhedsvæsnet: sundhedsvæsn), for prefixes */
} dks_term_kind;

/* "word", "part", "head", "expansion", "lemma", "spelling", "form". */
const char *dks_term_kind_name(dks_term_kind kind);

/* The Danish stages of analysis, each of which can be switched off (for
 * comparison: DKS_ANALYSIS_SNOWBALL is what other engines do). */
enum {
    DKS_ANALYSIS_SNOWBALL = 0,      /* tokenise, lower-case, stem */
    DKS_ANALYSIS_SPELLING = 1,      /* accents and aa/ae/oe spellings */
    DKS_ANALYSIS_COMPOUNDS = 2,     /* compound parts and hyphenated words */
    DKS_ANALYSIS_ELLIPSIS = 4,      /* "klima-, energi- og forsyningsministeren" */
    DKS_ANALYSIS_LEMMAS = 8,        /* dictionary forms, dropped e, irregular forms */
    DKS_ANALYSIS_ALL = 15
};

/* Reads a list such as "all", "snowball" or "spelling,compounds" into
 * DKS_ANALYSIS_* flags; DKS_EINVAL for an unknown name. */
int dks_analysis_parse(const char *spec, unsigned *features);

/* One term at one position.  All pointers point into buffers owned by the
 * analyzer or the caller's text and are valid only during the callback. */
typedef struct dks_term {
    const char *term;      /* normalised, stemmed term (UTF-8, not NUL-terminated) */
    size_t term_len;
    const char *surface;   /* the token as it stands in the text */
    size_t surface_len;
    size_t offset;         /* byte offset of the surface in the text */
    uint32_t position;     /* token position, counted from 0 */
    dks_term_kind kind;
    int is_stopword;       /* 1 for Snowball's Danish stop words */
} dks_term;

/* Called once per term; a non-zero return stops the analysis and is
 * returned by dks_analyze(). */
typedef int (*dks_term_callback)(const dks_term *term, void *ctx);

/* Creates an analyzer with every Danish stage (DKS_ANALYSIS_ALL), or with
 * the given stages.  Not safe to share between threads: create one per
 * thread.  Release with dks_analyzer_free(). */
int dks_analyzer_new(dks_analyzer **out);
int dks_analyzer_new_with(unsigned features, dks_analyzer **out);
void dks_analyzer_free(dks_analyzer *analyzer);

/* Analyses `len` bytes of `text` (need not be valid UTF-8 nor
 * NUL-terminated: invalid bytes separate tokens and are otherwise
 * ignored).  Positions start at `first_position`. */
int dks_analyze(dks_analyzer *analyzer, const char *text, size_t len,
                uint32_t first_position, dks_term_callback cb, void *ctx);

/* Normalises and stems one word with plain Snowball, as the chain does
 * for each token before its Danish stages; the result is valid until the
 * next call on this analyzer. */
int dks_analyze_word(dks_analyzer *analyzer, const char *word, size_t len,
                     const char **term, size_t *term_len);

/* ------------------------------------------------------------------ */
/* Index                                                               */

typedef struct dks_index dks_index;

enum {
    DKS_OPEN_READ = 0,     /* read only; the index must exist */
    DKS_OPEN_WRITE = 1,    /* read and write; the index must exist */
    DKS_OPEN_CREATE = 3    /* read and write; created when missing */
};

/* Opens the index directory at `path`.  Release with dks_index_close().
 * Errors: DKS_ENOINDEX, DKS_EVERSION, DKS_ECORRUPT, DKS_ESTORE, errno. */
int dks_index_open(const char *path, int mode, dks_index **out,
                   dks_error_detail *err);
void dks_index_close(dks_index *index);

/* Chooses the analysis of a new index (DKS_ANALYSIS_* flags; the default
 * is DKS_ANALYSIS_ALL).  An index keeps one analysis for its life, since
 * queries must be analysed like its documents: DKS_EINVAL once it holds
 * documents analysed otherwise. */
int dks_index_set_analysis(dks_index *index, unsigned features);
/* The analysis the index was built with. */
int dks_index_analysis(dks_index *index, unsigned *features);

/* Collection statistics as of the last commit. */
typedef struct dks_index_stats {
    uint64_t documents;
    uint64_t terms;          /* distinct terms */
    uint64_t tokens;         /* sum of document lengths */
    uint64_t size_bytes;     /* size of the index files on disk */
    uint64_t text_bytes;     /* of the pages in use, those of the stored text */
    uint64_t store_bytes;    /* ... of the document store: records, ids and text */
    uint64_t postings_bytes; /* ... of the posting blocks (every generation) */
    uint64_t terms_bytes;    /* ... of the term dictionary */
} dks_index_stats;

int dks_index_stats_get(dks_index *index, dks_index_stats *out);

/* 1 when the index at the handle's path is no longer the one it reads: a
 * writer compacted it and put the copy in its place.  The handle goes on
 * seeing the index as it was then; a long-running reader opens the index
 * again (and closes this handle when its searches are done) to see what
 * is committed later.  Commits without compaction need no reopening. */
int dks_index_replaced(dks_index *index);

/* Reads what every search and completion starts from (the term
 * dictionary, the document lengths, the Danish lexicon) once, and makes
 * the stored text's decompression dictionary, so that the first requests
 * of a long-running process do not wait for pages of the map and the
 * binary to come in one by one.  Optional: a server calls it before it
 * listens.  Tens of milliseconds for an index of 200 MiB of text. */
int dks_index_warm(dks_index *index, dks_error_detail *err);

/* A number that changes with every commit to the index (LMDB's last
 * transaction id), so that a reader can tell whether what it worked out
 * from the index, such as a cached answer, is still current.  Only
 * equality means anything; after dks_index_replaced() the copy numbers
 * its commits afresh. */
int dks_index_commit_id(dks_index *index, uint64_t *out);

/* What an integrity check walked. */
typedef struct dks_index_check_report {
    uint64_t documents;
    uint64_t terms;
    uint64_t postings;       /* (term, document) pairs */
    uint64_t blocks;         /* posting blocks outside the term dictionary */
    uint64_t sources;        /* files recorded */
} dks_index_check_report;

/* Walks every term, posting block, document record, id, length and text
 * of the index as of the last commit and cross-checks them: DKS_OK, or
 * DKS_ECORRUPT with `err` saying what disagrees.  Reads the whole index:
 * seconds a gigabyte.  Runs beside a writer and other readers. */
int dks_index_check(dks_index *index, dks_index_check_report *out, dks_error_detail *err);

/* ------------------------------------------------------------------ */
/* Writing                                                             */

/* A named string field beside title and body (e.g. "date", "party"). */
typedef struct dks_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} dks_field;

/* A document to index.  The library copies what it keeps; the caller's
 * buffers may be reused once dks_writer_add() returns. */
typedef struct dks_document {
    const char *id;          /* external id, unique in the index */
    size_t id_len;
    const char *title;
    size_t title_len;
    const char *body;
    size_t body_len;
    const dks_field *fields;
    size_t n_fields;
} dks_document;

/* The writer holds the index's single write lock from dks_writer_open()
 * until dks_writer_close().  Documents are committed in bounded batches;
 * an interrupted run leaves the index as of the last commit. */
typedef struct dks_writer dks_writer;

int dks_writer_open(dks_index *index, dks_writer **out, dks_error_detail *err);

/* Adds a document, replacing any document with the same id.
 * `*replaced` (if not NULL) is set to 1 when one was replaced.
 * Refuses a document whose id is empty or holds a NUL byte (DKS_EINPUT),
 * or whose id is longer than 500 bytes or whose title, body and fields
 * together are larger than 32 MiB (DKS_ELIMIT); the writer stays usable. */
int dks_writer_add(dks_writer *writer, const dks_document *doc, int *replaced,
                   dks_error_detail *err);

/* With threads = 2, documents are analysed on a second thread while the
 * calling thread inverts and stores the ones before (1.3 to 1.6 times the
 * speed on two cores); 1 (the default) does everything on the calling
 * thread.  Then dks_writer_add() returns once the document is copied:
 * `*replaced` stays 0 (dks_writer_stats counts replacements), and an
 * error in a document analysed later is returned by a later call.
 * Deleting and committing first add every document given before. */
int dks_writer_set_threads(dks_writer *writer, unsigned threads);

/* The memory the writer may use, in bytes (default 512 MiB, at least
 * 64 MiB): batches are committed before their text and postings outgrow
 * their shares of it, and merges and compactions commit in steps of an
 * eighth of it.  Word caches and the run's term dictionary come on top
 * and grow with the vocabulary, not with the number of documents. */
int dks_writer_set_memory(dks_writer *writer, size_t bytes);

/* Commits a batch after at most this many documents (at least 1), so that
 * a crash loses at most that many, and searches see new documents that
 * often; by default batches are as large as the memory allows, which is
 * fastest.  More than 100,000 counts as 100,000. */
int dks_writer_set_commit_docs(dks_writer *writer, size_t docs);

/* Deletes the document with this id; `*found` (if not NULL) tells whether
 * it existed. */
int dks_writer_delete(dks_writer *writer, const char *id, size_t id_len,
                      int *found, dks_error_detail *err);

/* Sources: the files documents come from, so that indexing the same files
 * again reads only those that changed and deletes what they no longer
 * hold.  What a file is, and how its path is spelled, is the caller's
 * choice (dksearch-index uses the absolute path, at most 500 bytes). */
typedef struct dks_source_info {
    uint64_t size;           /* bytes */
    int64_t mtime_ns;        /* modification time */
    uint64_t hash;           /* dks_source_hash() of the content */
} dks_source_info;

/* A 64-bit hash of a file's content, for dks_source_info: seed 0 for the
 * first part, the hash so far for the next; parts that are multiples of 8
 * bytes (but the last) give the hash of the whole. */
uint64_t dks_source_hash(uint64_t seed, const void *data, size_t len);

/* What the index recorded of a source when it was last indexed: 0, or 1
 * if it has no record of it. */
int dks_index_source_get(dks_index *index, const char *path, size_t len, dks_source_info *out);

/* Calls fn for each source whose path begins with prefix, in byte order,
 * as of the last commit; path is valid during the call only.  A non-zero
 * return from fn stops the walk and is returned. */
typedef int (*dks_source_fn)(void *ctx, const char *path, size_t len,
                             const dks_source_info *info);
int dks_index_sources(dks_index *index, const char *prefix, size_t prefix_len,
                      dks_source_fn fn, void *ctx);

/* The documents added between dks_writer_source_begin() and
 * dks_writer_source_end() are the source's whole content: at the end,
 * the documents it gave before and did not give again are deleted (unless
 * another source gave them since), and the source's record (its info and
 * ids) is written with the batch of its last document.  Sources do not
 * nest. */
int dks_writer_source_begin(dks_writer *writer, const char *path, size_t len,
                            dks_error_detail *err);
int dks_writer_source_end(dks_writer *writer, const dks_source_info *info,
                          dks_error_detail *err);
/* The source's content is what was indexed (its time changed, its hash did
 * not): records the new info and keeps its documents. */
int dks_writer_source_touch(dks_writer *writer, const char *path, size_t len,
                            const dks_source_info *info, dks_error_detail *err);
/* The source is gone: deletes the documents that are still its own and
 * its record.  `*deleted` (if not NULL): how many documents went. */
int dks_writer_source_delete(dks_writer *writer, const char *path, size_t len,
                             uint64_t *deleted, dks_error_detail *err);

/* Makes everything added so far durable and visible to readers. */
int dks_writer_commit(dks_writer *writer, dks_error_detail *err);

/* Commits, then rewrites the index at its smallest: every posting
 * generation merged into one and every database copied without free
 * pages, and the copy put in place of the index atomically (readers that
 * have it open go on reading the old copy until they open it again).
 * Needs free disk space for a copy; if the rewrite fails (a full disk),
 * the index stays as committed. */
int dks_writer_compact(dks_writer *writer, dks_error_detail *err);

/* 0 while the writer can go on; otherwise the error that stopped it (a
 * storage error: what was not committed is lost).  Errors about one bad
 * document (DKS_EINPUT, DKS_ELIMIT from dks_writer_add) leave it usable. */
int dks_writer_failed(const dks_writer *writer);

/* Counters since dks_writer_open(). */
typedef struct dks_writer_stats {
    uint64_t added;          /* new documents */
    uint64_t replaced;       /* documents that replaced one with the same id */
    uint64_t deleted;
    uint64_t tokens;
    uint64_t bytes;          /* bytes of title and body text */
    uint64_t commits;
    uint64_t merges;         /* of posting generations (see docs/index-format.md) */
    uint64_t compactions;    /* rewrites of the index without its free pages */
} dks_writer_stats;

void dks_writer_stats_get(const dks_writer *writer, dks_writer_stats *out);

/* Discards what was not committed and releases the write lock. */
void dks_writer_close(dks_writer *writer);

/* ------------------------------------------------------------------ */
/* Reading documents from files                                        */

typedef enum dks_format {
    DKS_FORMAT_TEXT,   /* one document; title = first non-empty line */
    DKS_FORMAT_JSONL,  /* one JSON object a line: id, title, body, more string fields */
    DKS_FORMAT_TSV,    /* one document a line: id <TAB> text */
    DKS_FORMAT_HTML    /* one document, read by libxml2's HTML parser: title = <title>
                          (else the first <h1>, else the first line); body = the
                          text of <main> if there is one, else of the page, without
                          scripts, styles and navigation (nav, role="navigation",
                          the page's header, footer and sidebars, hidden elements),
                          a line per block, entities decoded, image alt text kept; the
                          field "lang" = the lang attribute of <html>.  A declared
                          charset is honoured; without one the page is UTF-8. */
} dks_format;

/* Picks the format from a file name's extension (.txt/.text, .jsonl/.ndjson,
 * .tsv, .html/.htm; case ignored); returns 0 and sets *out, or DKS_EINVAL
 * for an extension that is not indexed. */
int dks_format_from_name(const char *name, dks_format *out);

/* Called once per document; `line` is the 1-based line of the document in
 * its input (1 for text files).  A non-zero return stops the parse. */
typedef int (*dks_document_callback)(const dks_document *doc, long line,
                                     void *ctx);

/* Called for each input record that is skipped (malformed JSON, a TSV line
 * without a tab, a line longer than 64 MiB, ...), with the reason; and
 * once, at line 1, for a DKS_FORMAT_TEXT or DKS_FORMAT_HTML input that is
 * skipped as a whole: binary data (a NUL byte in its first 8 KiB, or
 * mostly control characters and bytes that are not UTF-8), no text but
 * white space (and, in HTML, markup), or larger than the 32 MiB a
 * document may be. */
typedef void (*dks_skip_callback)(long line, const char *reason, void *ctx);

/* Parses `len` bytes of `data` in `format` and calls `cb` for each
 * document.  `name` is the document id for DKS_FORMAT_TEXT and
 * DKS_FORMAT_HTML.  Documents point into `data` or into buffers valid only
 * during the callback.  Safe to call from several threads at once (HTML
 * too: libxml2 is initialised once, each page has a parser context of its
 * own, and the library installs no libxml2 error handler beyond the call;
 * it never calls xmlCleanupParser). */
int dks_parse_documents(dks_format format, const char *name, size_t name_len,
                        const char *data, size_t len,
                        dks_document_callback cb, dks_skip_callback skip,
                        void *ctx, dks_error_detail *err);

/* ------------------------------------------------------------------ */
/* Searching                                                           */

typedef struct dks_search_options {
    size_t limit;            /* hits to return (0 means 10) */
    size_t offset;           /* hits to skip, for paging */
    size_t snippet_words;    /* words in a snippet (0 means 30) */
    int no_snippets;         /* hits come with an empty snippet and no highlights:
                                for programs that show ids and titles only */
    int as_you_type;         /* the last word is being typed: match it as a prefix too */
    int explain;             /* break each hit's score down into its parts */
    double title_weight;     /* a title word counts this many times a body word (0 means 2) */
    const char *const *filters;  /* "party=S", "date>=2020-01-01": all must hold */
    size_t n_filters;
    const char *const *facets;   /* fields to count the hits' values of ("party") */
    size_t n_facets;
    const char *sort;        /* NULL or "score": best first; "id" or a field name
                                ("date"): by that, ascending; "-date": descending;
                                ties by score.  Documents without the field go last. */
    int exact_total;         /* count every hit: no pruning, however many there are
                                (by default, past count_limit hits a ranked search
                                passes over documents that cannot reach the page,
                                and the total may be a lower bound:
                                dks_results_total_exact says) */
    size_t count_limit;      /* hits counted exactly before that (0 means 1000) */
    int no_suggestion;       /* no "Mente du" suggestion for a query without hits */
} dks_search_options;

/* One term's share of a hit's BM25 score (with dks_search_options.explain):
 *   score = weight * idf * tf * (k1 + 1) / (tf + k1 * norm),
 *   norm = 1 - b + b * length / avg_length. */
typedef struct dks_score_part {
    const char *term;        /* the indexed term (a phrase: its terms) */
    const char *kind;        /* word, part, head, expansion, lemma, spelling, phrase */
    double weight;           /* of this alternative of the query word */
    unsigned tf;             /* occurrences in the document */
    unsigned long long df;   /* documents that have the term */
    double idf;
    double length, avg_length, norm;
    double score;
} dks_score_part;

/* A highlighted byte range [start, end) of a snippet. */
typedef struct dks_highlight {
    size_t start;
    size_t end;
} dks_highlight;

/* One hit.  Every pointer is owned by the dks_results it came from and
 * valid until dks_results_free(). Strings are NUL-terminated UTF-8. */
typedef struct dks_hit {
    const char *id;
    const char *title;
    double score;
    const char *snippet;            /* plain text, no markup */
    const dks_highlight *highlights; /* matched words in the snippet */
    size_t n_highlights;
    const dks_score_part *parts;    /* with options.explain: the score's parts */
    size_t n_parts;
} dks_hit;

/* How many hits have each value of a field (with options.facets), most
 * first.  Owned by the results. */
typedef struct dks_facet_value {
    const char *value;
    unsigned long long count;
} dks_facet_value;

typedef struct dks_facet {
    const char *name;
    const dks_facet_value *values;
    size_t n_values;
} dks_facet;

typedef struct dks_results dks_results;

/* Runs a query: words are ANDed, `OR` between words means either,
 * `-word` excludes, "quoted words" are phrases, `word*` is a prefix,
 * `word~` allows typos.
 * Ranked by BM25.
 * Safe to call from several threads on one index at once.
 * Errors: DKS_EQUERY (with a message in *err), DKS_ECORRUPT, ... */
int dks_search(dks_index *index, const char *query, size_t query_len,
               const dks_search_options *options, dks_results **out,
               dks_error_detail *err);

/* All matches, or with dks_results_total_exact() 0, a lower bound of them
 * (the search stopped counting when it started to prune). */
uint64_t dks_results_total(const dks_results *results);
int dks_results_total_exact(const dks_results *results);
/* Notes a person should see about how the query was run (a prefix that
 * matched more words than are searched); owned by the results. */
size_t dks_results_note_count(const dks_results *results);
/* For a query without hits: the query with unknown words replaced by the
 * closest indexed words ("Mente du: telemedicin?"), or NULL. */
const char *dks_results_suggestion(const dks_results *results);
size_t dks_results_facet_count(const dks_results *results);
const dks_facet *dks_results_facet(const dks_results *results, size_t i);
const char *dks_results_note(const dks_results *results, size_t i);
uint64_t dks_results_took_us(const dks_results *results);
size_t dks_results_count(const dks_results *results);    /* hits returned */
const dks_hit *dks_results_hit(const dks_results *results, size_t i);

/* The results as one JSON object:
 * {"query":..., "total":N, "total_exact":true, "took_us":T, "notes":[...], "suggestion":...,
 *  "facets":{"party":[{"value":"S","count":3},...]},
 *  "hits":[{"id":..., "title":..., "score":F, "snippet":...,
 *  "highlights":[[start,end],...]}]}  ("suggestion" only when there is one,
 *  "facets" only when asked for)
 * *json is NUL-terminated and owned by the caller (release with free()). */
int dks_results_json(const dks_results *results, char **json, size_t *len);

/* A failed search as one JSON object, for programs that read JSON only:
 * {"query":..., "error":"message", "code":C, "position":P}, where position is
 * the byte offset in the query a DKS_EQUERY is about, else -1.  detail may be
 * NULL.  *json is NUL-terminated and owned by the caller (release with free()). */
int dks_error_json(const char *query, size_t query_len, int code,
                   const dks_error_detail *detail, char **json, size_t *len);

void dks_results_free(dks_results *results);

/* ------------------------------------------------------------------ */
/* Search as you type                                                  */

/* Completions of the last word of a query being typed: the words of the
 * index that begin with it, in the most documents first (among the first
 * few thousand terms with the prefix), each shown as written in the Danish
 * lexicon where it knows the word.  A query that ends in a space or
 * punctuation has none.  Safe from several threads, like dks_search().
 * max: how many (0 means 8, at most 20).  Release with
 * dks_completions_free(). */
typedef struct dks_completions dks_completions;
int dks_complete(dks_index *index, const char *query, size_t len, size_t max,
                 dks_completions **out, dks_error_detail *err);
size_t dks_completions_count(const dks_completions *c);
/* Completion i: the query with its last word completed (valid until
 * dks_completions_free()), and in *df (if not NULL) the documents that
 * have the word. */
const char *dks_completions_text(const dks_completions *c, size_t i, uint64_t *df);
/* {"prefix":..., "took_us":N, "completions":[{"text":..., "word":..., "df":N}]}
 * *json is NUL-terminated and owned by the caller (release with free()). */
int dks_completions_json(const dks_completions *c, char **json, size_t *len);
void dks_completions_free(dks_completions *c);

#ifdef __cplusplus
}
#endif

#endif /* DKSEARCH_H */
