/*
 * text.c - the stored text of documents, compressed with zstd.
 *
 * Snippets need one document's text at a time, so each text is its own
 * zstd frame.  A frame of a page of text compresses poorly on its own
 * (zstd has seen nothing of the language yet), so an index trains a
 * dictionary once it has seen enough text, stores it under the meta key
 * "text-dictionary", and compresses every later text with it: common
 * Danish words and phrases then cost a few bits each.  The dictionary
 * never changes afterwards, so the texts stored before it stay readable
 * as plain frames.
 *
 * A value of the text database is one codec byte and the payload:
 * 0 the bytes as given (short texts, and texts zstd cannot shrink),
 * 1 a zstd frame, 2 a zstd frame made with the index's dictionary.
 */
#include <stdlib.h>
#include <string.h>

#define ZDICT_STATIC_LINKING_ONLY  /* fixed fastCover parameters: no search */
#define ZSTD_STATIC_LINKING_ONLY   /* ZSTD_customMem */
#include <zdict.h>
#include <zstd.h>

#include "dks_int.h"

/* The encoder's match tables, some hundred KiB read at random for every
 * text, go in huge pages as the indexer's other tables do (huge.c).  zstd
 * frees without a size, so each block keeps its own in front. */
#define MEM_HEADER 64  /* keeps zstd's blocks as aligned as malloc's */

static void *huge_mem_alloc(void *opaque, size_t size)
{
    (void)opaque;
    if (size > SIZE_MAX - MEM_HEADER)
        return NULL;
    unsigned char *p = dks_huge_alloc(size + MEM_HEADER);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    return p + MEM_HEADER;
}

static void huge_mem_free(void *opaque, void *block)
{
    (void)opaque;
    if (!block)
        return;
    unsigned char *p = (unsigned char *)block - MEM_HEADER;
    size_t size;
    memcpy(&size, p, sizeof size);
    dks_huge_free(p, size + MEM_HEADER);
}

static const ZSTD_customMem huge_mem = {huge_mem_alloc, huge_mem_free, NULL};

enum { CODEC_RAW = 0, CODEC_ZSTD = 1, CODEC_ZSTD_DICT = 2 };

/* Texts shorter than this are stored as they are: a frame header would eat
 * what little compression could save. */
#define TEXT_MIN_COMPRESS 64
#define TEXT_LEVEL 3
/* Text sampled before a dictionary is trained, and the dictionary's size. */
#define DICT_SAMPLE_BYTES ((size_t)4 << 20)
#define DICT_BYTES ((size_t)64 << 10)
#define DICT_SEGMENT 200
/* The largest text a frame may claim to hold (guards the allocation a
 * corrupt frame header could ask for).  No stored text is larger: the
 * encoder's buffer holds the whole text, and the reader's holds it and a
 * NUL, so a larger claim is damage, not a limit the reader reached. */
#define TEXT_MAX_BYTES ((unsigned long long)DKS_BUF_MAX - 1)

static const char dict_key[] = "text-dictionary";

/* The most text a frame of n bytes can hold: each of its blocks holds at
 * most ZSTD_BLOCKSIZE_MAX bytes and takes at least a 3-byte header.  The
 * reader allocates the size a frame's header claims before it
 * decompresses, so a larger claim is damage that must not cost memory the
 * frame could never fill (a value of 41 bytes claiming 2 GiB). */
static unsigned long long frame_capacity(size_t n)
{
    return (unsigned long long)(n / 3) * ZSTD_BLOCKSIZE_MAX;
}

/* ---- the index's dictionary, shared by its readers --------------------- */

/* Reads the dictionary from the index as of t: 1 if there is none yet. */
static int dict_read(dks_txn *t, const void **dict, size_t *len)
{
    int rc = dks_kv_get(t, DKS_DB_META, dict_key, sizeof dict_key - 1, dict, len);
    if (rc == 0 && *len == 0)
        return DKS_ECORRUPT;
    return rc;
}

void dks_text_dict_free(void *ddict)
{
    ZSTD_freeDDict(ddict);
}

/* ---- reading ----------------------------------------------------------- */

struct dks_text_reader {
    dks_index *index;     /* NULL: the writer's reader */
    ZSTD_DDict *own;      /* the writer's reader's dictionary */
    ZSTD_DCtx *dctx;
    dks_buf out;
};

/* The decompression dictionary.  A search takes the one its index handle
 * made once and shares with every search (a ZSTD_DDict is read-only once
 * made); only committed dictionaries get there, since searches read
 * committed transactions.  The writer keeps its own, which may come from
 * its uncommitted batch. */
static int reader_ddict(dks_text_reader *r, dks_txn *t, ZSTD_DDict **out)
{
    _Atomic(void *) *slot = r->index ? dks_index_text_dict(r->index) : NULL;
    void *have = slot ? atomic_load(slot) : r->own;
    if (have) {
        *out = have;
        return DKS_OK;
    }
    const void *dict;
    size_t len;
    int rc = dict_read(t, &dict, &len);
    if (rc)
        return rc == 1 ? DKS_ECORRUPT : rc;  /* a frame names a dictionary the index lacks */
    ZSTD_DDict *made = ZSTD_createDDict(dict, len);
    if (!made)
        return DKS_ENOMEM;
    void *expected = NULL;
    if (!slot) {
        r->own = made;
    } else if (!atomic_compare_exchange_strong(slot, &expected, made)) {
        ZSTD_freeDDict(made);  /* another search made it first */
        made = expected;
    }
    *out = made;
    return DKS_OK;
}

int dks_text_reader_prepare(dks_text_reader *r, dks_txn *t)
{
    ZSTD_DDict *d;
    const void *dict;
    size_t len;
    int rc = dict_read(t, &dict, &len);
    if (rc)
        return rc == 1 ? DKS_OK : rc;  /* no text compressed with a dictionary yet */
    return reader_ddict(r, t, &d);
}

int dks_text_reader_new(dks_index *index, dks_text_reader **out)
{
    dks_text_reader *r = calloc(1, sizeof *r);
    if (!r)
        return DKS_ENOMEM;
    r->index = index;
    *out = r;
    return DKS_OK;
}

void dks_text_reader_free(dks_text_reader *r)
{
    if (!r)
        return;
    ZSTD_freeDCtx(r->dctx);
    ZSTD_freeDDict(r->own);
    dks_buf_free(&r->out);
    free(r);
}

int dks_text_decode(dks_text_reader *r, dks_txn *t, const void *val, size_t len,
                    const void **text, size_t *text_len)
{
    const unsigned char *v = val;
    if (len == 0)
        return DKS_ECORRUPT;
    if (v[0] == CODEC_RAW) {
        *text = v + 1;
        *text_len = len - 1;
        return DKS_OK;
    }
    if (v[0] != CODEC_ZSTD && v[0] != CODEC_ZSTD_DICT)
        return DKS_ECORRUPT;
    unsigned long long size = ZSTD_getFrameContentSize(v + 1, len - 1);
    if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR ||
        size > TEXT_MAX_BYTES || size > frame_capacity(len - 1))
        return DKS_ECORRUPT;
    if (!r->dctx && !(r->dctx = ZSTD_createDCtx()))
        return DKS_ENOMEM;
    int rc = dks_buf_reserve(&r->out, (size_t)size + 1);
    if (rc)
        return rc;
    size_t got;
    if (v[0] == CODEC_ZSTD_DICT) {
        ZSTD_DDict *dd;
        if ((rc = reader_ddict(r, t, &dd)))
            return rc;
        got = ZSTD_decompress_usingDDict(r->dctx, r->out.data, (size_t)size, v + 1, len - 1, dd);
    } else {
        got = ZSTD_decompressDCtx(r->dctx, r->out.data, (size_t)size, v + 1, len - 1);
    }
    if (ZSTD_isError(got) || got != size)
        return DKS_ECORRUPT;
    r->out.data[got] = '\0';
    *text = r->out.data;
    *text_len = got;
    return DKS_OK;
}

int dks_text_get(dks_text_reader *r, dks_txn *t, uint32_t doc, const void **text,
                 size_t *text_len)
{
    unsigned char key[4];
    const void *v;
    size_t vl;
    dks_put_be32(key, doc);
    int rc = dks_kv_get(t, DKS_DB_TEXT, key, sizeof key, &v, &vl);
    if (rc)
        return rc == 1 ? DKS_ECORRUPT : rc;  /* every document has a text record */
    return dks_text_decode(r, t, v, vl, text, text_len);
}

/* ---- writing ----------------------------------------------------------- */

struct dks_text_encoder {
    ZSTD_CCtx *cctx;
    ZSTD_CDict *cdict;        /* NULL until there is a dictionary */
    void *dict;               /* its bytes, once trained here */
    size_t dict_len;
    /* Until then, the texts seen, one after another, and their sizes. */
    dks_buf sample;
    size_t *sizes;
    size_t n_sizes, sizes_cap;
};

/* Compresses every later text with the dictionary. */
static int use_dict(dks_text_encoder *e, const void *dict, size_t len)
{
    ZSTD_CCtx_params *params = ZSTD_createCCtxParams();
    if (params && !ZSTD_isError(ZSTD_CCtxParams_init(params, TEXT_LEVEL)))
        e->cdict = ZSTD_createCDict_advanced2(dict, len, ZSTD_dlm_byCopy, ZSTD_dct_auto, params,
                                              huge_mem);
    ZSTD_freeCCtxParams(params);
    if (!e->cdict ||
        ZSTD_isError(ZSTD_CCtx_refCDict(e->cctx, e->cdict)))
        return DKS_ENOMEM;
    return DKS_OK;
}

int dks_text_dict_get(dks_txn *t, const void **dict, size_t *len)
{
    return dict_read(t, dict, len);
}

int dks_text_encoder_new(const void *dict, size_t dict_len, dks_text_encoder **out)
{
    *out = NULL;
    dks_text_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return DKS_ENOMEM;
    int rc = (e->cctx = ZSTD_createCCtx_advanced(huge_mem)) ? DKS_OK : DKS_ENOMEM;
    /* the checksum turns a damaged text into an error, never other text */
    if (!rc && (ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_compressionLevel,
                                                    TEXT_LEVEL)) ||
                ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_checksumFlag, 1))))
        rc = DKS_ENOMEM;
    if (!rc && dict)
        rc = use_dict(e, dict, dict_len);
    if (rc) {
        dks_text_encoder_free(e);
        return rc;
    }
    *out = e;
    return DKS_OK;
}

void dks_text_encoder_free(dks_text_encoder *e)
{
    if (!e)
        return;
    ZSTD_freeCCtx(e->cctx);
    ZSTD_freeCDict(e->cdict);
    free(e->dict);
    dks_buf_free(&e->sample);
    free(e->sizes);
    free(e);
}

const void *dks_text_encoder_dict(const dks_text_encoder *e, size_t *len)
{
    *len = e->dict_len;
    return e->dict;
}

/* Once enough text is sampled, trains the dictionary; *trained says it
 * did. */
static int maybe_train(dks_text_encoder *e, int *trained)
{
    if (e->cdict || e->sample.len < DICT_SAMPLE_BYTES)
        return DKS_OK;
    void *dict = malloc(DICT_BYTES);
    if (!dict)
        return DKS_ENOMEM;
    /* One pass of fastCover with parameters that suit prose, instead of
     * ZDICT_trainFromBuffer's search over them (a quarter of a second,
     * for a dictionary within a percent of the searched one's gain). */
    ZDICT_fastCover_params_t params = {
        .k = DICT_SEGMENT, .d = 8, .f = 20, .accel = 1, .nbThreads = 1,
        .zParams = {.compressionLevel = TEXT_LEVEL},
    };
    size_t len = ZDICT_trainFromBuffer_fastCover(dict, DICT_BYTES, e->sample.data, e->sizes,
                                                 (unsigned)e->n_sizes, params);
    int rc = DKS_OK;
    if (ZDICT_isError(len)) {
        /* Text with too little in common (random bytes, say): go on
         * without, and do not try again on every document. */
        e->sample.len = 0;
        e->n_sizes = 0;
        free(dict);
        return DKS_OK;
    }
    if ((rc = use_dict(e, dict, len))) {
        free(dict);
        return rc;
    }
    e->dict = dict;
    e->dict_len = len;
    *trained = 1;
    dks_buf_free(&e->sample);
    free(e->sizes);
    e->sizes = NULL;
    e->sizes_cap = e->n_sizes = 0;
    return DKS_OK;
}

static int add_sample(dks_text_encoder *e, const void *text, size_t len)
{
    int rc = dks_grow(&e->sizes, e->n_sizes, &e->sizes_cap, sizeof *e->sizes, 256);
    if (!rc)
        rc = dks_buf_append(&e->sample, text, len);
    if (!rc)
        e->sizes[e->n_sizes++] = len;
    return rc;
}

int dks_text_encode(dks_text_encoder *e, const void *text, size_t len, dks_buf *out,
                    int *trained)
{
    *trained = 0;
    int rc;
    if (!e->cdict && len >= TEXT_MIN_COMPRESS && (rc = add_sample(e, text, len)))
        return rc;
    out->len = 0;
    if ((rc = dks_buf_reserve(out, 1 + ZSTD_compressBound(len))))
        return rc;
    size_t n = 0;
    unsigned char codec = CODEC_RAW;
    if (len >= TEXT_MIN_COMPRESS) {
        codec = e->cdict ? CODEC_ZSTD_DICT : CODEC_ZSTD;
        n = ZSTD_compress2(e->cctx, out->data + 1, out->cap - 1, text, len);
        if (ZSTD_isError(n))
            return DKS_ENOMEM;  /* the bound was reserved: only memory can fail */
    }
    if (codec == CODEC_RAW || n >= len) {
        codec = CODEC_RAW;
        if (len)
            memcpy(out->data + 1, text, len);
        n = len;
    }
    out->data[0] = codec;
    out->len = n + 1;
    return maybe_train(e, trained);
}

int dks_text_put(dks_txn *t, uint32_t doc, const void *value, size_t len, const void *new_dict,
                 size_t new_dict_len)
{
    unsigned char key[4];
    dks_put_be32(key, doc);
    int rc;
    if (new_dict && (rc = dks_kv_put(t, DKS_DB_META, dict_key, sizeof dict_key - 1, new_dict,
                                     new_dict_len)))
        return rc;
    /* documents come in id order, so each text goes after all others */
    return dks_kv_append(t, DKS_DB_TEXT, key, sizeof key, value, len);
}
