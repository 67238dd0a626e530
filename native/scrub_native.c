/* scrub native engine: keystreams and the overwrite/verify loops.
 *
 * Why C: the pass loop must keep the disk busy at its full write speed while the next
 * buffer of keystream is generated, with the GIL released (cffi API mode releases it for
 * every call).  The keystream is AES-128-CTR on CPUs with AES-NI (VAES when present) and
 * portable ChaCha20 elsewhere; both are keyed per pass by Python from getrandom(2).
 */
#define _GNU_SOURCE
#include "scrub_native.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#define SCRUB_X86 1
#include <immintrin.h>
#endif

int scrub_native_abi(void) { return SCRUB_NATIVE_ABI; }

void scrub_wipe(void *p, size_t n)
{
    /* explicit_bzero is not a dead store the optimiser may drop */
    explicit_bzero(p, n);
}

/* ------------------------------------------------------------------------------------ */
/* CPU features                                                                          */

int scrub_cpu_aesni(void)
{
#ifdef SCRUB_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
#else
    return 0;
#endif
}

int scrub_cpu_vaes(void)
{
#ifdef SCRUB_X86
    __builtin_cpu_init();
    return scrub_cpu_aesni() && __builtin_cpu_supports("vaes") && __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

/* ------------------------------------------------------------------------------------ */
/* AES-128-CTR with AES-NI                                                               */

#ifdef SCRUB_X86
#define AES_TARGET __attribute__((target("aes,sse4.1")))
#define VAES_TARGET __attribute__((target("aes,sse4.1,avx2,vaes")))

AES_TARGET static __m128i expand_step(__m128i k, __m128i assist)
{
    assist = _mm_shuffle_epi32(assist, 0xff);
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    return _mm_xor_si128(k, assist);
}

AES_TARGET static void aes128_expand(const uint8_t *key, __m128i rk[11])
{
    rk[0] = _mm_loadu_si128((const __m128i *)key);
#define STEP(i, rcon) rk[i] = expand_step(rk[i - 1], _mm_aeskeygenassist_si128(rk[i - 1], rcon))
    STEP(1, 0x01); STEP(2, 0x02); STEP(3, 0x04); STEP(4, 0x08); STEP(5, 0x10);
    STEP(6, 0x20); STEP(7, 0x40); STEP(8, 0x80); STEP(9, 0x1b); STEP(10, 0x36);
#undef STEP
}

/* Counter block n (big-endian 128-bit): the nonce plus n. */
struct ctr128 { uint64_t hi, lo; };

static struct ctr128 ctr_from_nonce(const uint8_t *nonce, uint64_t add)
{
    uint64_t hi, lo;
    memcpy(&hi, nonce, 8);
    memcpy(&lo, nonce + 8, 8);
    struct ctr128 c = { __builtin_bswap64(hi), __builtin_bswap64(lo) };
    c.lo += add;
    if (c.lo < add)
        c.hi++;
    return c;
}

static inline void ctr_next(struct ctr128 *c)
{
    if (++c->lo == 0)
        c->hi++;
}

AES_TARGET static inline __m128i ctr_block(const struct ctr128 *c)
{
    return _mm_set_epi64x((long long)__builtin_bswap64(c->lo), (long long)__builtin_bswap64(c->hi));
}

AES_TARGET static inline __m128i aes_block(const __m128i rk[11], __m128i b)
{
    b = _mm_xor_si128(b, rk[0]);
    for (int r = 1; r < 10; r++)
        b = _mm_aesenc_si128(b, rk[r]);
    return _mm_aesenclast_si128(b, rk[10]);
}

/* Counters live in vector lanes as (lo, hi) little-endian 64-bit words; one byte reversal
 * turns that into the big-endian counter block.  Lane adds do not carry from lo into hi, so
 * the vector paths run only while lo cannot wrap; the scalar path handles the carry. */
AES_TARGET static inline __m128i ctr_vec(const struct ctr128 *c)
{
    return _mm_set_epi64x((long long)c->hi, (long long)c->lo);
}

#define REV16 _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

/* 8 blocks at a time keeps the AES unit's pipeline full. */
AES_TARGET static void aes_ctr_blocks(const __m128i rk[11], struct ctr128 *c, uint8_t *out, size_t nblocks)
{
    const __m128i rev = REV16, one = _mm_set_epi64x(0, 1);
    while (nblocks >= 8 && c->lo <= UINT64_MAX - 8) {
        __m128i v = ctr_vec(c), b[8];
        for (int i = 0; i < 8; i++) {
            b[i] = _mm_xor_si128(_mm_shuffle_epi8(v, rev), rk[0]);
            v = _mm_add_epi64(v, one);
        }
        c->lo += 8;
        for (int r = 1; r < 10; r++)
            for (int i = 0; i < 8; i++)
                b[i] = _mm_aesenc_si128(b[i], rk[r]);
        for (int i = 0; i < 8; i++)
            _mm_storeu_si128((__m128i *)(out + 16 * i), _mm_aesenclast_si128(b[i], rk[10]));
        out += 128;
        nblocks -= 8;
    }
    for (; nblocks; nblocks--, out += 16) {
        _mm_storeu_si128((__m128i *)out, aes_block(rk, ctr_block(c)));
        ctr_next(c);
    }
}

/* VAES: two blocks per 256-bit instruction, 16 blocks in flight. */
VAES_TARGET static void vaes_ctr_blocks(const __m128i rk128[11], struct ctr128 *c, uint8_t *out, size_t nblocks)
{
    __m256i rk[11];
    for (int r = 0; r < 11; r++)
        rk[r] = _mm256_broadcastsi128_si256(rk128[r]);
    const __m256i rev = _mm256_broadcastsi128_si256(REV16), two = _mm256_set_epi64x(0, 2, 0, 2);
    while (nblocks >= 16 && c->lo <= UINT64_MAX - 16) {
        __m128i v0 = ctr_vec(c);
        __m256i v = _mm256_set_m128i(_mm_add_epi64(v0, _mm_set_epi64x(0, 1)), v0), b[8];
        for (int i = 0; i < 8; i++) {
            b[i] = _mm256_xor_si256(_mm256_shuffle_epi8(v, rev), rk[0]);
            v = _mm256_add_epi64(v, two);
        }
        c->lo += 16;
        for (int r = 1; r < 10; r++)
            for (int i = 0; i < 8; i++)
                b[i] = _mm256_aesenc_epi128(b[i], rk[r]);
        for (int i = 0; i < 8; i++)
            _mm256_storeu_si256((__m256i *)(out + 32 * i), _mm256_aesenclast_epi128(b[i], rk[10]));
        out += 256;
        nblocks -= 16;
    }
    aes_ctr_blocks(rk128, c, out, nblocks);
}

static int aes128_ctr(const uint8_t *key, const uint8_t *nonce, uint64_t offset, uint8_t *out, size_t len)
{
    static int have = -1, have_vaes = -1;
    if (have < 0) {
        have = scrub_cpu_aesni();
        have_vaes = scrub_cpu_vaes();
    }
    if (!have) {
        errno = ENOSYS;
        return -1;
    }
    __m128i rk[11];
    aes128_expand(key, rk);
    struct ctr128 c = ctr_from_nonce(nonce, offset / 16);
    size_t skip = offset % 16;
    if (skip) { /* unaligned start: take the tail of one block */
        uint8_t blk[16];
        aes_ctr_blocks(rk, &c, blk, 1);
        size_t n = 16 - skip < len ? 16 - skip : len;
        memcpy(out, blk + skip, n);
        scrub_wipe(blk, sizeof blk);
        out += n;
        len -= n;
    }
    size_t whole = len / 16;
    if (have_vaes)
        vaes_ctr_blocks(rk, &c, out, whole);
    else
        aes_ctr_blocks(rk, &c, out, whole);
    if (len % 16) {
        uint8_t blk[16];
        aes_ctr_blocks(rk, &c, blk, 1);
        memcpy(out + whole * 16, blk, len % 16);
        scrub_wipe(blk, sizeof blk);
    }
    scrub_wipe(rk, sizeof rk);
    return 0;
}
#else
static int aes128_ctr(const uint8_t *key, const uint8_t *nonce, uint64_t offset, uint8_t *out, size_t len)
{
    (void)key; (void)nonce; (void)offset; (void)out; (void)len;
    errno = ENOSYS;
    return -1;
}
#endif

/* ------------------------------------------------------------------------------------ */
/* ChaCha20 (RFC 8439 block function; words 12..15 hold a 128-bit little-endian counter  */
/* that starts at the nonce, so RFC vectors map to nonce = counter || RFC nonce)          */

#define ROTL32(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d)                                   \
    a += b; d ^= a; d = ROTL32(d, 16);                   \
    c += d; b ^= c; b = ROTL32(b, 12);                   \
    a += b; d ^= a; d = ROTL32(d, 8);                    \
    c += d; b ^= c; b = ROTL32(b, 7)

static inline uint32_t load32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void store32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void chacha20_block(const uint32_t in[16], uint8_t out[64])
{
    uint32_t x[16];
    memcpy(x, in, sizeof x);
    for (int i = 0; i < 10; i++) {
        QR(x[0], x[4], x[8], x[12]); QR(x[1], x[5], x[9], x[13]);
        QR(x[2], x[6], x[10], x[14]); QR(x[3], x[7], x[11], x[15]);
        QR(x[0], x[5], x[10], x[15]); QR(x[1], x[6], x[11], x[12]);
        QR(x[2], x[7], x[8], x[13]); QR(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++)
        store32le(out + 4 * i, x[i] + in[i]);
    scrub_wipe(x, sizeof x);
}

static void chacha_add(uint32_t st[16], uint64_t n)
{
    /* 128-bit little-endian add over words 12..15 */
    uint64_t carry = n;
    for (int w = 12; w < 16 && carry; w++) {
        uint64_t s = (uint64_t)st[w] + (carry & 0xffffffffu);
        st[w] = (uint32_t)s;
        carry = (carry >> 32) + (s >> 32);
    }
}

/* Eight blocks at once: every state word is a vector of eight lanes, one block per lane.
 * GCC's vector extensions compile this to SSE/AVX on x86-64 and NEON on arm64 (Graviton,
 * where there is no AES-NI path), with no intrinsics and no runtime dispatch. */
typedef uint32_t v8u32 __attribute__((vector_size(32)));
#define VROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define VQR(a, b, c, d)                                  \
    a += b; d ^= a; d = VROTL(d, 16);                    \
    c += d; b ^= c; b = VROTL(b, 12);                    \
    a += b; d ^= a; d = VROTL(d, 8);                     \
    c += d; b ^= c; b = VROTL(b, 7)

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))  /* AVX2 where the CPU has it, chosen at load time */
#endif
static void chacha20_blocks8(const uint32_t st[16], uint8_t *out)
{
    v8u32 in[16], x[16];
    for (int w = 0; w < 16; w++) {
        uint32_t lane[8];
        for (int j = 0; j < 8; j++)
            lane[j] = st[w];
        memcpy(&in[w], lane, sizeof lane);
    }
    for (int j = 1; j < 8; j++) { /* block j's counter is the state's plus j, carried through 128 bits */
        uint32_t t[16];
        memcpy(t, st, sizeof t);
        chacha_add(t, (uint64_t)j);
        for (int w = 12; w < 16; w++)
            in[w][j] = t[w];
    }
    memcpy(x, in, sizeof x);
    for (int i = 0; i < 10; i++) {
        VQR(x[0], x[4], x[8], x[12]); VQR(x[1], x[5], x[9], x[13]);
        VQR(x[2], x[6], x[10], x[14]); VQR(x[3], x[7], x[11], x[15]);
        VQR(x[0], x[5], x[10], x[15]); VQR(x[1], x[6], x[11], x[12]);
        VQR(x[2], x[7], x[8], x[13]); VQR(x[3], x[4], x[9], x[14]);
    }
    for (int w = 0; w < 16; w++)
        x[w] += in[w];
    for (int j = 0; j < 8; j++)
        for (int w = 0; w < 16; w++) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            uint32_t v = x[w][j];
            memcpy(out + 64 * j + 4 * w, &v, 4);
#else
            store32le(out + 64 * j + 4 * w, x[w][j]);
#endif
        }
    scrub_wipe(x, sizeof x);
    scrub_wipe(in, sizeof in);
}

static int chacha20(const uint8_t *key, const uint8_t *nonce, uint64_t offset, uint8_t *out, size_t len)
{
    uint32_t st[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
    for (int i = 0; i < 8; i++)
        st[4 + i] = load32le(key + 4 * i);
    for (int i = 0; i < 4; i++)
        st[12 + i] = load32le(nonce + 4 * i);
    chacha_add(st, offset / 64);
    size_t skip = offset % 64;
    uint8_t blk[64];
    while (len) {
        if (skip == 0 && len >= 512) {
            chacha20_blocks8(st, out);
            chacha_add(st, 8);
            out += 512;
            len -= 512;
            continue;
        }
        size_t n = 64 - skip < len ? 64 - skip : len;
        if (skip == 0 && n == 64) {
            chacha20_block(st, out);
        } else {
            chacha20_block(st, blk);
            memcpy(out, blk + skip, n);
        }
        chacha_add(st, 1);
        out += n;
        len -= n;
        skip = 0;
    }
    scrub_wipe(blk, sizeof blk);
    scrub_wipe(st, sizeof st);
    return 0;
}

int scrub_keystream(int kind, const uint8_t *key, const uint8_t *nonce, uint64_t offset, uint8_t *out, size_t len)
{
    switch (kind) {
    case SCRUB_KS_AES128_CTR: return aes128_ctr(key, nonce, offset, out, len);
    case SCRUB_KS_CHACHA20: return chacha20(key, nonce, offset, out, len);
    default: errno = EINVAL; return -1;
    }
}

/* ------------------------------------------------------------------------------------ */
/* The write and verify loops                                                            */

static int drop_direct(struct scrub_io *io)
{
    int fl = fcntl(io->fd, F_GETFL);
    if (fl < 0 || !(fl & O_DIRECT))
        return 0;
    if (fcntl(io->fd, F_SETFL, fl & ~O_DIRECT) < 0)
        return 0;
    io->direct_dropped = 1;
    return 1;
}

static void note_bad(struct scrub_io *io, uint64_t off)
{
    if (io->nbad < SCRUB_MAX_BAD)
        io->bad[io->nbad] = off;
    io->nbad++;
}

/* After EIO on a chunk, write it again sector by sector so that one bad sector costs only
 * itself; each failing sector is recorded and skipped (GNU shred does the same). */
static int retry_sectors(struct scrub_io *io, uint64_t off, const uint8_t *src, size_t n)
{
    size_t sec = io->sector ? io->sector : 512;
    size_t w = 0;
    while (w < n) {
        size_t piece = sec - ((off + w) % sec);
        if (piece > n - w)
            piece = n - w;
        ssize_t r = pwrite(io->fd, src + w, piece, (off_t)(off + w));
        if (r > 0) {
            w += (size_t)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && errno == EINVAL && drop_direct(io)) {
            continue;
        } else if (r < 0 && errno == EIO) {
            note_bad(io, off + w);
            w += piece;
        } else {
            io->error = r == 0 ? ENOSPC : errno;
            io->error_offset = off + w;
            return -1;
        }
    }
    return 0;
}

static int write_chunk(struct scrub_io *io, uint64_t off, const uint8_t *src, size_t n)
{
    size_t w = 0;
    while (w < n) {
        ssize_t r = pwrite(io->fd, src + w, n - w, (off_t)(off + w));
        if (r > 0) {
            w += (size_t)r;
            continue;
        }
        if (r == 0) { /* no progress: the device or file system is full */
            io->error = ENOSPC;
            io->error_offset = off + w;
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EINVAL && drop_direct(io)) /* O_DIRECT refused: alignment or file system */
            continue;
        if (errno == EIO)
            return retry_sectors(io, off + w, src + w, n - w);
        io->error = errno;
        io->error_offset = off + w;
        return -1;
    }
    return 0;
}

struct gen_job {
    const struct scrub_io *io;
    uint64_t off;
    uint8_t *out;
    size_t len;
    int rc, err;
};

static void *gen_main(void *arg)
{
    struct gen_job *g = arg;
    g->rc = scrub_keystream(g->io->keystream, g->io->key, g->io->nonce, g->off, g->out, g->len);
    g->err = g->rc ? errno : 0;
    return NULL;
}

static void io_reset(struct scrub_io *io)
{
    io->done = 0;
    io->error = 0;
    io->error_offset = 0;
    io->nbad = 0;
}

static int cancelled(const struct scrub_io *io)
{
    return io->cancel && *(volatile int *)io->cancel;
}

static void set_progress(struct scrub_io *io, uint64_t v)
{
    if (io->progress)
        __atomic_store_n(io->progress, v, __ATOMIC_RELAXED);
}

int scrub_write_range(struct scrub_io *io)
{
    io_reset(io);
    if (io->chunk == 0 || io->chunk % 4096) {
        io->error = EINVAL;
        return -1;
    }
    uint8_t *bufs[2] = { io->buf0, io->buf1 };
    int cur = 0, keyed = io->source == SCRUB_SRC_KEYSTREAM;
    struct gen_job gen;
    pthread_t th;
    int running = 0;
    uint64_t pos = 0;

    if (keyed && io->length) {
        size_t n = io->length < io->chunk ? (size_t)io->length : io->chunk;
        if (scrub_keystream(io->keystream, io->key, io->nonce, io->offset, bufs[0], n)) {
            io->error = errno;
            io->error_offset = io->offset;
            return -1;
        }
    }
    while (pos < io->length) {
        if (cancelled(io)) {
            io->error = ECANCELED;
            io->error_offset = io->offset + pos;
            break;
        }
        size_t n = io->length - pos < io->chunk ? (size_t)(io->length - pos) : io->chunk;
        const uint8_t *src = io->pattern;
        if (keyed) {
            if (running) {
                pthread_join(th, NULL);
                running = 0;
                if (gen.rc) {
                    io->error = gen.err;
                    io->error_offset = gen.off;
                    break;
                }
            }
            src = bufs[cur];
            /* Generate the next chunk while this one is being written. */
            uint64_t next = pos + n;
            if (next < io->length) {
                gen.io = io;
                gen.off = io->offset + next;
                gen.out = bufs[cur ^ 1];
                gen.len = io->length - next < io->chunk ? (size_t)(io->length - next) : io->chunk;
                if (pthread_create(&th, NULL, gen_main, &gen) == 0)
                    running = 1;
                else
                    gen_main(&gen); /* no thread: generate inline, same result */
            }
        }
        if (write_chunk(io, io->offset + pos, src, n))
            break;
        pos += n;
        set_progress(io, pos);
        cur ^= 1;
    }
    if (running)
        pthread_join(th, NULL);
    io->done = pos;
    if (!io->error && io->nbad)
        io->error = EIO;
    return io->error ? -1 : 0;
}

static int read_chunk(struct scrub_io *io, uint64_t off, uint8_t *dst, size_t n, size_t *got)
{
    size_t r0 = 0;
    while (r0 < n) {
        ssize_t r = pread(io->fd, dst + r0, n - r0, (off_t)(off + r0));
        if (r > 0) {
            r0 += (size_t)r;
            continue;
        }
        if (r == 0)
            break; /* end of file: the caller reports a short file as a mismatch */
        if (errno == EINTR)
            continue;
        if (errno == EINVAL && drop_direct(io))
            continue;
        io->error = errno;
        io->error_offset = off + r0;
        *got = r0;
        return -1;
    }
    *got = r0;
    return 0;
}

/* Returns 0 when the range holds what was written, 1 on the first mismatch (its offset in
 * error_offset), -1 on a read error. */
int scrub_verify_range(struct scrub_io *io)
{
    io_reset(io);
    uint64_t pos = 0;
    while (pos < io->length) {
        if (cancelled(io)) {
            io->error = ECANCELED;
            io->error_offset = io->offset + pos;
            return -1;
        }
        size_t n = io->length - pos < io->chunk ? (size_t)(io->length - pos) : io->chunk;
        const uint8_t *want = io->pattern;
        if (io->source == SCRUB_SRC_KEYSTREAM) {
            if (scrub_keystream(io->keystream, io->key, io->nonce, io->offset + pos, io->buf0, n)) {
                io->error = errno;
                io->error_offset = io->offset + pos;
                return -1;
            }
            want = io->buf0;
        }
        size_t got = 0;
        if (read_chunk(io, io->offset + pos, io->buf1, n, &got))
            return -1;
        if (got < n || memcmp(want, io->buf1, got) != 0) {
            size_t i = 0;
            while (i < got && want[i] == io->buf1[i])
                i++;
            io->error_offset = io->offset + pos + i;
            io->done = pos + i;
            return 1;
        }
        pos += n;
        io->done = pos;
        set_progress(io, pos);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Multi-literal search                                                                  */

struct scrub_mf {
    int count;
    char **needle;
    uint32_t *len;
    int *next;              /* chain of needles sharing a first bigram, -1 ends it */
    int head[65536];        /* first needle for each bigram (little-endian byte pair), -1 none */
};

scrub_mf *scrub_mf_new(const char *needles, const uint32_t *lens, int count)
{
    scrub_mf *mf = calloc(1, sizeof *mf);
    if (!mf)
        return NULL;
    mf->count = count;
    mf->needle = calloc((size_t)count, sizeof *mf->needle);
    mf->len = calloc((size_t)count, sizeof *mf->len);
    mf->next = calloc((size_t)count, sizeof *mf->next);
    if (!mf->needle || !mf->len || !mf->next) {
        scrub_mf_free(mf);
        return NULL;
    }
    memset(mf->head, 0xff, sizeof mf->head);
    const char *p = needles;
    for (int i = 0; i < count; i++) {
        mf->len[i] = lens[i];
        mf->needle[i] = malloc(lens[i] ? lens[i] : 1);
        if (!mf->needle[i]) {
            scrub_mf_free(mf);
            return NULL;
        }
        memcpy(mf->needle[i], p, lens[i]);
        p += lens[i];
        if (lens[i] < 2) {
            mf->next[i] = -1; /* single bytes are not supported: never match */
            continue;
        }
        unsigned b = (unsigned char)mf->needle[i][0] | (unsigned)(unsigned char)mf->needle[i][1] << 8;
        mf->next[i] = mf->head[b];
        mf->head[b] = i;
    }
    return mf;
}

int scrub_mf_search(const scrub_mf *mf, const char *hay, size_t n)
{
    const unsigned char *h = (const unsigned char *)hay;
    for (size_t i = 0; i + 1 < n; i++) {
        int k = mf->head[h[i] | (unsigned)h[i + 1] << 8];
        for (; k >= 0; k = mf->next[k])
            if (mf->len[k] <= n - i && memcmp(h + i, mf->needle[k], mf->len[k]) == 0)
                return k;
    }
    return -1;
}

void scrub_mf_free(scrub_mf *mf)
{
    if (!mf)
        return;
    for (int i = 0; i < mf->count && mf->needle; i++)
        free(mf->needle[i]);
    free(mf->needle);
    free(mf->len);
    free(mf->next);
    free(mf);
}

/* ------------------------------------------------------------------------------------ */
/* One small file, every pass in one call                                                */

static void fill_pattern(uint8_t *buf, size_t n, const struct scrub_pass_spec *p)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = p->pattern[i % p->pattern_len];
    if (p->flip_sector)
        for (size_t i = 0; i < n; i += 512)
            buf[i] ^= 0x80;
}

static int small_fail(struct scrub_small *s, int stage, int err, uint64_t off)
{
    s->stage = stage;
    s->error = err;
    s->error_offset = off;
    return -1;
}

int scrub_small_run(struct scrub_small *s)
{
    size_t n = (size_t)s->length;
    s->done = 0;
    s->error = 0;
    s->stage = 0;
    for (int k = 0; k < s->npass; k++) {
        struct scrub_pass_spec *p = &s->passes[k];
        uint8_t key[32], nonce[16];
        p->synced = 0;
        p->verified = -1;
        if (p->keyed) {
            if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key || getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
                return small_fail(s, 5, errno ? errno : EIO, 0);
            if (scrub_keystream(s->keystream, key, nonce, 0, s->buf0, n)) {
                int err = errno;
                scrub_wipe(key, sizeof key);
                return small_fail(s, 5, err, 0);
            }
        } else {
            fill_pattern(s->buf0, n, p);
        }
        size_t w = 0;
        while (w < n) {
            ssize_t r = pwrite(s->fd, s->buf0 + w, n - w, (off_t)w);
            if (r > 0) {
                w += (size_t)r;
            } else if (r < 0 && errno == EINTR) {
                continue;
            } else {
                int err = r == 0 ? ENOSPC : errno;
                scrub_wipe(key, sizeof key);
                return small_fail(s, 1, err, w);
            }
        }
        if (fdatasync(s->fd) != 0 && (errno != EINVAL || fsync(s->fd) != 0)) {
            int err = errno;
            scrub_wipe(key, sizeof key);
            return small_fail(s, 2, err, 0);
        }
        p->synced = 1;
        s->done = k + 1;
        if (s->verify == 2 || (s->verify == 1 && k == s->npass - 1)) {
            posix_fadvise(s->fd, 0, 0, POSIX_FADV_DONTNEED);
            size_t got = 0;
            while (got < n) {
                ssize_t r = pread(s->fd, s->buf1 + got, n - got, (off_t)got);
                if (r > 0)
                    got += (size_t)r;
                else if (r < 0 && errno == EINTR)
                    continue;
                else if (r == 0)
                    break;
                else {
                    int err = errno;
                    scrub_wipe(key, sizeof key);
                    return small_fail(s, 3, err, got);
                }
            }
            /* buf0 still holds what was written: the keystream regenerated from the same key
             * would be identical, so compare against it directly */
            size_t i = 0;
            while (i < got && s->buf0[i] == s->buf1[i])
                i++;
            p->verified = (got == n && i == n);
            if (!p->verified) {
                scrub_wipe(key, sizeof key);
                return small_fail(s, 4, 0, i);
            }
        }
        scrub_wipe(key, sizeof key);
    }
    scrub_wipe(s->buf0, n);
    scrub_wipe(s->buf1, n);
    return 0;
}
