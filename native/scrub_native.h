/* scrub native engine: the whole C surface of scrub.
 *
 * The region between the cdef markers is read verbatim by native/ffi_build.py as the cffi
 * cdef, so the Python binding and the C prototypes cannot drift apart.  Keep it to what
 * pycparser accepts: no preprocessor logic, integer #defines only.
 *
 * Every function returns 0 on success or -1 with `io->error` (or errno) set.  No paths,
 * no policy, no allocation of user-visible memory happens here: Python owns the buffers.
 */
#ifndef SCRUB_NATIVE_H
#define SCRUB_NATIVE_H
#include <stddef.h>
#include <stdint.h>

/* cdef-begin */
#define SCRUB_NATIVE_ABI 5

#define SCRUB_SRC_BUFFER 0      /* write `pattern` (one chunk, phase-aligned) again and again */
#define SCRUB_SRC_KEYSTREAM 1   /* write the keystream (key, nonce) at the file offset */

#define SCRUB_KS_AES128_CTR 1   /* NIST SP 800-38A CTR, 128-bit big-endian counter */
#define SCRUB_KS_CHACHA20 2     /* RFC 8439 block function, 128-bit little-endian counter */

#define SCRUB_MAX_BAD 64

struct scrub_io {
    int fd;
    int source;              /* SCRUB_SRC_* */
    int keystream;           /* SCRUB_KS_* when source is SCRUB_SRC_KEYSTREAM */
    uint8_t key[32];         /* AES-128 uses the first 16 bytes */
    uint8_t nonce[16];       /* initial counter block */
    const uint8_t *pattern;  /* SCRUB_SRC_BUFFER: `chunk` bytes matching file offset `offset` */
    uint8_t *buf0;           /* two caller-owned, page-aligned buffers of `chunk` bytes */
    uint8_t *buf1;
    size_t chunk;            /* bytes per write; a multiple of 4096 */
    uint32_t sector;         /* granularity of the retry after EIO */
    uint64_t offset;         /* range to write or verify */
    uint64_t length;
    int *cancel;             /* polled before every chunk; non-zero stops the loop */
    uint64_t *progress;      /* bytes handled so far in this range, for progress display */
    /* results */
    uint64_t done;           /* bytes written (or compared) from `offset` before a stop */
    uint64_t error_offset;   /* where the error or the first mismatch is */
    int error;               /* errno of the error that stopped the range, 0 if none */
    int direct_dropped;      /* 1 if O_DIRECT was turned off because the kernel refused it */
    uint32_t nbad;           /* sectors that failed with EIO (counted past SCRUB_MAX_BAD) */
    uint64_t bad[64];
};

/* A whole overwrite of a file that fits in one buffer, in one call: every pass written at
 * offset 0, each synced, verified as asked.  Keys come from getrandom(2) and never leave C. */
struct scrub_pass_spec {
    int keyed;               /* 1: keystream under a fresh key; 0: the pattern */
    int flip_sector;         /* flip the top bit of the first byte of every 512-byte sector */
    uint32_t pattern_len;    /* 1..16 */
    uint8_t pattern[16];
    int synced;              /* out */
    int verified;            /* out: -1 not read back, 0 mismatch, 1 matches */
};

struct scrub_small {
    int fd;
    int keystream;           /* SCRUB_KS_* */
    uint64_t length;         /* at most the size of buf0 and buf1 */
    int npass;
    struct scrub_pass_spec *passes;
    int verify;              /* 0 none, 1 the last pass, 2 every pass */
    uint8_t *buf0;
    uint8_t *buf1;
    /* results */
    int done;                /* passes written and synced */
    int error;               /* errno of the failure, 0 if none */
    int stage;               /* where it failed: 1 write, 2 sync, 3 read-back, 4 mismatch, 5 random */
    uint64_t error_offset;
};

int scrub_small_run(struct scrub_small *s);
int scrub_native_abi(void);
int scrub_cpu_aesni(void);
int scrub_cpu_vaes(void);
int scrub_keystream(int kind, const uint8_t *key, const uint8_t *nonce,
                    uint64_t offset, uint8_t *out, size_t len);
int scrub_write_range(struct scrub_io *io);
int scrub_verify_range(struct scrub_io *io);
void scrub_wipe(void *p, size_t n);

/* Multi-literal search for content sniffing: one pass over a file's head finds whether any
 * of a set of literals occurs (bigram table + memcmp), instead of one scan per literal. */
typedef struct scrub_mf scrub_mf;
scrub_mf *scrub_mf_new(const char *needles, const uint32_t *lens, int count);
int scrub_mf_search(const scrub_mf *mf, const char *hay, size_t n);
void scrub_mf_free(scrub_mf *mf);
/* cdef-end */

#endif
