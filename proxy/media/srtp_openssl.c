/*
 * srtp_openssl.c - OpenSSL crypto under libsrtp2's cipher and auth ids.
 *
 * What libsrtp2 2.x expects of a cipher or auth type (srtp2/cipher.h,
 * srtp2/auth.h), and what this file relies on:
 *
 * - alloc() builds the srtp_cipher_t / srtp_auth_t itself and fills in
 *   every public field: type, state, key_len and, for ciphers,
 *   algorithm.  srtp.c reads key_len (through srtp_cipher_get_key_length)
 *   to split key from salt, type->id to pick the ICM IV layout, and
 *   algorithm to send SRTP_AES_GCM_* through its AEAD path; for auth it
 *   reads out_len and prefix_len.  dealloc() receives that object back,
 *   so both ends are ours and the memory comes from calloc/free.
 * - The ICM key is key || 14-byte salt; set_iv() gets the 16-byte
 *   block (SSRC and index, or for the KDF the label) and the counter is
 *   salt XOR iv.  Successive encrypt() calls continue one keystream.
 *   The key derivation allocates an ICM cipher of the master key's size
 *   and reads its keystream, so it runs on this code too.
 * - The GCM key is key || 12-byte salt; libsrtp2 folds the salt into
 *   the 12-byte IV it passes to set_iv(), so init() takes the key only.
 *   AAD may come in several set_aad() calls (SRTCP: header, then the
 *   E||index word); encrypt() with 0 bytes then get_tag() is SRTCP
 *   without encryption; decrypt() is handed ciphertext || tag.
 * - Auth: the self-test calls compute() straight after init(), with no
 *   start(), so init() leaves the state started.
 * - srtp_replace_*_type() self-tests a new type with its own test data
 *   and with the test data of the type it replaces, and refuses it on
 *   any mismatch.  Those are fixed-IV known answers: they do not catch
 *   an IV built wrongly from SSRC and index, which is what the
 *   stock-against-replaced checks in tests/unit/test_srtp_openssl.c do.
 * - The registration lives in the crypto kernel: srtp_shutdown() drops
 *   it, and registering before srtp_init() would make srtp_init() fail
 *   (it loads the stock types without replace), so that is refused.  A
 *   second srtp_init() without srtp_shutdown() fails in 2.5 whatever we
 *   do.
 */

/*
 * HMAC from the low-level SHA1_* API: copying a SHA_CTX is a struct
 * assignment, where copying a keyed EVP_MD_CTX or HMAC_CTX in OpenSSL
 * 3.0 allocates (0.15 us against 0.21-0.26 us per 176-byte packet,
 * measured).  The API is deprecated in 3.0, so it is used only where it
 * is still built; otherwise the pre-keyed EVP_MD_CTX copy is.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslconf.h>
#include <openssl/sha.h>

#include <srtp2/srtp.h>
#include <srtp2/cipher.h>
#include <srtp2/auth.h>
#include <srtp2/crypto_types.h>

#include "log.h"
#include "srtp_openssl.h"

#if defined(OPENSSL_NO_DEPRECATED_3_0) || defined(SRTP_OPENSSL_EVP_HMAC)
#define HMAC_EVP 1
#else
#define HMAC_EVP 0
#endif

#define ICM_SALT_LEN	SRTP_SALT_LEN		/* 14 */
#define GCM_TAG_LEN	16
#define GCM_TAG_LEN_8	8
#define GCM_IV_LEN	12
#define SHA1_LEN	20
#define SHA1_BLOCK	64

/*
 * The layouts filled in below are libsrtp2 2.x's public ones.  Breaking
 * the build here when a new header moves them is the point: review
 * this file against the new release before changing the numbers.
 */
_Static_assert(offsetof(srtp_cipher_t, type) == 0 &&
    offsetof(srtp_cipher_t, state) == sizeof(void *) &&
    offsetof(srtp_cipher_t, key_len) == 2 * sizeof(void *) &&
    offsetof(srtp_cipher_t, algorithm) == 2 * sizeof(void *) + sizeof(int),
    "srtp_cipher_t is not the libsrtp2 2.x layout");
_Static_assert(offsetof(srtp_auth_t, type) == 0 &&
    offsetof(srtp_auth_t, state) == sizeof(void *) &&
    offsetof(srtp_auth_t, out_len) == 2 * sizeof(void *) &&
    offsetof(srtp_auth_t, key_len) == 2 * sizeof(void *) + sizeof(int) &&
    offsetof(srtp_auth_t, prefix_len) == 2 * sizeof(void *) + 2 * sizeof(int),
    "srtp_auth_t is not the libsrtp2 2.x layout");
_Static_assert(offsetof(srtp_cipher_type_t, get_tag) == 7 * sizeof(void *) &&
    offsetof(srtp_cipher_type_t, id) == 10 * sizeof(void *),
    "srtp_cipher_type_t is not the libsrtp2 2.x layout");
_Static_assert(offsetof(srtp_auth_type_t, start) == 5 * sizeof(void *) &&
    offsetof(srtp_auth_type_t, id) == 8 * sizeof(void *),
    "srtp_auth_type_t is not the libsrtp2 2.x layout");
_Static_assert(SRTP_AES_ICM_128 == 1 && SRTP_AES_ICM_192 == 4 &&
    SRTP_AES_ICM_256 == 5 && SRTP_AES_GCM_128 == 6 &&
    SRTP_AES_GCM_256 == 7 && SRTP_HMAC_SHA1 == 3,
    "libsrtp2 type ids changed");

static _Thread_local struct srtp_openssl_counters counters;

/* ---- EVP algorithms, fetched once ---- */

enum { EVP_CTR128, EVP_CTR192, EVP_CTR256, EVP_GCM128, EVP_GCM256, EVP_N };

static const char *const evp_names[EVP_N] = {
	"AES-128-CTR", "AES-192-CTR", "AES-256-CTR",
	"AES-128-GCM", "AES-256-GCM",
};
static EVP_CIPHER *evp_fetched[EVP_N];
static const EVP_CIPHER *evp_cipher[EVP_N];

#if HMAC_EVP
static EVP_MD *evp_sha1;
#endif

/*
 * An explicit fetch spares every key set-up OpenSSL 3's implicit fetch
 * (a locked lookup).  The objects live as long as the process.
 */
static int
evp_fetch_all(void)
{
	for (int i = 0; i < EVP_N; i++) {
		if (evp_cipher[i] != NULL)
			continue;
		evp_fetched[i] = EVP_CIPHER_fetch(NULL, evp_names[i], NULL);
		if (evp_fetched[i] == NULL)
			return -1;
		evp_cipher[i] = evp_fetched[i];
	}
#if HMAC_EVP
	if (evp_sha1 == NULL && (evp_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL)
		return -1;
#endif
	return 0;
}

/* ---- AES-ICM ---- */

/*
 * A call holds four ICM states (SRTP and SRTCP, each way); an
 * EVP_CIPHER_CTX keyed for each would cost 656 bytes apiece (measured),
 * a third of a call's memory.  So a state keeps only its key and
 * counter, and every encrypt() keys one context per thread and AES size
 * for that call: about 70 ns a packet (AES-NI key expansion), against
 * 2.6 KiB per call.
 */
struct icm {
	srtp_cipher_t	 c;		/* first: &icm->c is what we hand out */
	int		 evp;		/* EVP_CTR128 .. EVP_CTR256 */
	unsigned int	 keysize;	/* AES key bytes */
	uint32_t	 left;		/* keystream bytes this IV may still give */
	uint32_t	 pos;		/* keystream bytes used since the IV */
	unsigned char	 key[32];
	unsigned char	 salt[16];	/* session salt || 0x0000 */
	unsigned char	 ctr[16];	/* counter block at the IV */
};

/* The calling thread's contexts, freed when it ends (pthread key). */
struct icm_scratch {
	EVP_CIPHER_CTX	*ctx[EVP_GCM128];
};

static pthread_key_t icm_scratch_key;
static pthread_once_t icm_scratch_once = PTHREAD_ONCE_INIT;
static int icm_scratch_key_ok;
static _Thread_local struct icm_scratch *icm_scratch;

static void
icm_scratch_free(void *arg)
{
	struct icm_scratch *sc = arg;

	if (sc == NULL)
		return;
	if (sc == icm_scratch)
		icm_scratch = NULL;
	for (int i = 0; i < EVP_GCM128; i++)
		EVP_CIPHER_CTX_free(sc->ctx[i]);	/* cleanses the key */
	free(sc);
}

static void
icm_scratch_key_make(void)
{
	icm_scratch_key_ok = pthread_key_create(&icm_scratch_key,
	    icm_scratch_free) == 0;
}

static EVP_CIPHER_CTX *
icm_scratch_ctx(int e)
{
	struct icm_scratch *sc = icm_scratch;

	if (sc == NULL) {
		pthread_once(&icm_scratch_once, icm_scratch_key_make);
		if (!icm_scratch_key_ok || (sc = calloc(1, sizeof(*sc))) == NULL)
			return NULL;
		if (pthread_setspecific(icm_scratch_key, sc) != 0) {
			free(sc);
			return NULL;
		}
		icm_scratch = sc;
	}
	if (sc->ctx[e] == NULL && (sc->ctx[e] = EVP_CIPHER_CTX_new()) != NULL &&
	    EVP_EncryptInit_ex(sc->ctx[e], evp_cipher[e], NULL, NULL, NULL) != 1) {
		EVP_CIPHER_CTX_free(sc->ctx[e]);
		sc->ctx[e] = NULL;
	}
	return sc->ctx[e];
}

static const srtp_cipher_type_t srtp_openssl_icm_128, srtp_openssl_icm_192,
    srtp_openssl_icm_256;

/*
 * The low 16 bits of the counter count blocks within one packet (RFC
 * 3711 4.1.1); like libsrtp2's own ICM, refuse to let them carry into
 * the index bits: at most 0xffff - start blocks per IV.
 */
static uint32_t
icm_room(const unsigned char *ctr)
{
	return (uint32_t)(0xffff - ((ctr[14] << 8) | ctr[15])) * 16;
}

static srtp_err_status_t
icm_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
	const srtp_cipher_type_t *type;
	struct icm *st;
	int e, algorithm;
	unsigned int keysize;

	switch (key_len) {
	case SRTP_AES_ICM_128_KEY_LEN_WSALT:
		type = &srtp_openssl_icm_128, e = EVP_CTR128;
		algorithm = SRTP_AES_ICM_128, keysize = SRTP_AES_128_KEY_LEN;
		break;
	case SRTP_AES_ICM_192_KEY_LEN_WSALT:
		type = &srtp_openssl_icm_192, e = EVP_CTR192;
		algorithm = SRTP_AES_ICM_192, keysize = SRTP_AES_192_KEY_LEN;
		break;
	case SRTP_AES_ICM_256_KEY_LEN_WSALT:
		type = &srtp_openssl_icm_256, e = EVP_CTR256;
		algorithm = SRTP_AES_ICM_256, keysize = SRTP_AES_256_KEY_LEN;
		break;
	default:
		return srtp_err_status_bad_param;
	}
	if (evp_cipher[e] == NULL)
		return srtp_err_status_alloc_fail;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return srtp_err_status_alloc_fail;
	st->evp = e;
	st->keysize = keysize;
	st->c.type = type;
	st->c.state = st;
	st->c.key_len = key_len;
	st->c.algorithm = algorithm;
	*cp = &st->c;
	return srtp_err_status_ok;
}

static srtp_err_status_t
icm_dealloc(srtp_cipher_pointer_t cp)
{
	struct icm *st = (struct icm *)cp;

	if (st == NULL)
		return srtp_err_status_bad_param;
	OPENSSL_cleanse(st, sizeof(*st));
	free(st);
	return srtp_err_status_ok;
}

static srtp_err_status_t
icm_init(void *sv, const uint8_t *key)
{
	struct icm *st = sv;

	memcpy(st->key, key, st->keysize);
	memcpy(st->salt, key + st->keysize, ICM_SALT_LEN);
	st->salt[14] = st->salt[15] = 0;
	/* counter = salt until an IV comes, as libsrtp2's own ICM does */
	memcpy(st->ctr, st->salt, sizeof(st->ctr));
	st->pos = 0;
	st->left = icm_room(st->ctr);
	return srtp_err_status_ok;
}

static srtp_err_status_t
icm_set_iv(void *sv, uint8_t *iv, srtp_cipher_direction_t dir)
{
	struct icm *st = sv;
	uint64_t a[2], b[2];

	memcpy(a, st->salt, 16);
	memcpy(b, iv, 16);
	a[0] ^= b[0];
	a[1] ^= b[1];
	memcpy(st->ctr, a, 16);
	st->pos = 0;
	st->left = icm_room(st->ctr);
	return srtp_err_status_ok;
}

/*
 * Counter mode: encryption and decryption are the same XOR.  A second
 * encrypt() after one IV continues the keystream: the counter moves on
 * by the whole blocks used (left keeps the low 16 bits from carrying)
 * and the used part of the current block is skipped.
 */
static srtp_err_status_t
icm_encrypt(void *sv, uint8_t *buf, unsigned int *len)
{
	static const unsigned char zero[16];
	struct icm *st = sv;
	EVP_CIPHER_CTX *ctx;
	unsigned char ctr[16], skip[16];
	unsigned int n = *len, blk;
	int outl, ok;

	if (n == 0)
		return srtp_err_status_ok;
	if (n > st->left)
		return srtp_err_status_terminus;
	if ((ctx = icm_scratch_ctx(st->evp)) == NULL)
		return srtp_err_status_alloc_fail;
	memcpy(ctr, st->ctr, sizeof(ctr));
	blk = ((unsigned int)ctr[14] << 8 | ctr[15]) + st->pos / 16;
	ctr[14] = (unsigned char)(blk >> 8);
	ctr[15] = (unsigned char)blk;
	ok = EVP_EncryptInit_ex(ctx, NULL, NULL, st->key, ctr) == 1;
	if (ok && st->pos % 16 != 0)
		ok = EVP_EncryptUpdate(ctx, skip, &outl, zero,
		    (int)(st->pos % 16)) == 1;
	if (ok)
		ok = EVP_EncryptUpdate(ctx, buf, &outl, buf, (int)n) == 1 &&
		    (unsigned int)outl == n;
	OPENSSL_cleanse(skip, sizeof(skip));
	if (!ok)
		return srtp_err_status_cipher_fail;
	st->left -= n;
	st->pos += n;
	counters.icm++;
	return srtp_err_status_ok;
}

/* ---- AES-GCM ---- */

struct gcm {
	srtp_cipher_t	 c;		/* first, as for struct icm */
	EVP_CIPHER_CTX	*ctx;
	const EVP_CIPHER *evp;
	int		 taglen;
	int		 dir;		/* 1 encrypt, 0 decrypt, -1 no IV yet */
};

static const srtp_cipher_type_t srtp_openssl_gcm_128, srtp_openssl_gcm_256;

static srtp_err_status_t
gcm_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
	const srtp_cipher_type_t *type;
	struct gcm *st;
	int e, algorithm;

	switch (key_len) {
	case SRTP_AES_GCM_128_KEY_LEN_WSALT:
		type = &srtp_openssl_gcm_128, e = EVP_GCM128;
		algorithm = SRTP_AES_GCM_128;
		break;
	case SRTP_AES_GCM_256_KEY_LEN_WSALT:
		type = &srtp_openssl_gcm_256, e = EVP_GCM256;
		algorithm = SRTP_AES_GCM_256;
		break;
	default:
		return srtp_err_status_bad_param;
	}
	if (tag_len != GCM_TAG_LEN && tag_len != GCM_TAG_LEN_8)
		return srtp_err_status_bad_param;
	if (evp_cipher[e] == NULL)
		return srtp_err_status_alloc_fail;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return srtp_err_status_alloc_fail;
	if ((st->ctx = EVP_CIPHER_CTX_new()) == NULL) {
		free(st);
		return srtp_err_status_alloc_fail;
	}
	st->evp = evp_cipher[e];
	st->taglen = tag_len;
	st->dir = -1;
	st->c.type = type;
	st->c.state = st;
	st->c.key_len = key_len;
	st->c.algorithm = algorithm;
	*cp = &st->c;
	return srtp_err_status_ok;
}

static srtp_err_status_t
gcm_dealloc(srtp_cipher_pointer_t cp)
{
	struct gcm *st = (struct gcm *)cp;

	if (st == NULL)
		return srtp_err_status_bad_param;
	EVP_CIPHER_CTX_free(st->ctx);
	OPENSSL_cleanse(st, sizeof(*st));
	free(st);
	return srtp_err_status_ok;
}

static srtp_err_status_t
gcm_init(void *sv, const uint8_t *key)
{
	struct gcm *st = sv;

	/* key only: the salt reaches us folded into each IV */
	st->dir = -1;
	if (EVP_CipherInit_ex(st->ctx, st->evp, NULL, key, NULL, 1) != 1)
		return srtp_err_status_init_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t
gcm_set_iv(void *sv, uint8_t *iv, srtp_cipher_direction_t dir)
{
	struct gcm *st = sv;
	int enc;

	if (dir == srtp_direction_encrypt)
		enc = 1;
	else if (dir == srtp_direction_decrypt)
		enc = 0;
	else
		return srtp_err_status_bad_param;
	/* the default GCM IV length, 12, is SRTP's */
	if (EVP_CipherInit_ex(st->ctx, NULL, NULL, NULL, iv, enc) != 1) {
		st->dir = -1;
		return srtp_err_status_cipher_fail;
	}
	st->dir = enc;
	return srtp_err_status_ok;
}

static srtp_err_status_t
gcm_set_aad(void *sv, const uint8_t *aad, uint32_t aad_len)
{
	struct gcm *st = sv;
	int outl;

	if (st->dir < 0 || aad_len > INT_MAX)
		return srtp_err_status_bad_param;
	if (aad_len == 0)
		return srtp_err_status_ok;
	if (EVP_CipherUpdate(st->ctx, NULL, &outl, aad, (int)aad_len) != 1)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t
gcm_encrypt(void *sv, uint8_t *buf, unsigned int *len)
{
	struct gcm *st = sv;
	unsigned int n = *len;
	int outl;

	if (st->dir != 1 || n > INT_MAX)
		return srtp_err_status_bad_param;
	counters.gcm++;
	if (n == 0)		/* SRTCP without encryption: tag only */
		return srtp_err_status_ok;
	if (EVP_CipherUpdate(st->ctx, buf, &outl, buf, (int)n) != 1 ||
	    (unsigned int)outl != n)
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t
gcm_get_tag(void *sv, uint8_t *tag, uint32_t *len)
{
	struct gcm *st = sv;
	unsigned char fin[16];
	int outl;

	if (st->dir != 1)
		return srtp_err_status_bad_param;
	st->dir = -1;		/* one tag per IV */
	if (EVP_CipherFinal_ex(st->ctx, fin, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(st->ctx, EVP_CTRL_AEAD_GET_TAG, st->taglen,
	    tag) != 1)
		return srtp_err_status_algo_fail;
	*len = (uint32_t)st->taglen;
	return srtp_err_status_ok;
}

/* buf holds ciphertext || tag; *len shrinks by the tag */
static srtp_err_status_t
gcm_decrypt(void *sv, uint8_t *buf, unsigned int *len)
{
	struct gcm *st = sv;
	unsigned char tag[GCM_TAG_LEN], fin[16];
	unsigned int n = *len;
	int outl;

	if (st->dir != 0 || n > INT_MAX)
		return srtp_err_status_bad_param;
	if (n < (unsigned int)st->taglen)
		return srtp_err_status_auth_fail;
	st->dir = -1;
	counters.gcm++;
	n -= (unsigned int)st->taglen;
	memcpy(tag, buf + n, (size_t)st->taglen);
	if (EVP_CIPHER_CTX_ctrl(st->ctx, EVP_CTRL_AEAD_SET_TAG, st->taglen,
	    tag) != 1)
		return srtp_err_status_cipher_fail;
	if (n > 0 && (EVP_CipherUpdate(st->ctx, buf, &outl, buf, (int)n) != 1 ||
	    (unsigned int)outl != n))
		return srtp_err_status_cipher_fail;
	if (EVP_CipherFinal_ex(st->ctx, fin, &outl) != 1)
		return srtp_err_status_auth_fail;
	*len = n;
	return srtp_err_status_ok;
}

/* ---- HMAC-SHA1 ---- */

struct hmac {
	srtp_auth_t	 a;		/* first, as for struct icm */
#if HMAC_EVP
	EVP_MD_CTX	*inner, *outer, *work;
#else
	SHA_CTX		 work;		/* inner + the message so far */
	uint32_t	 ih[5];		/* chaining value after key ^ ipad */
	uint32_t	 oh[5];		/* and after key ^ opad */
#endif
};

#if !HMAC_EVP
/*
 * After one 64-byte block a SHA-1 state is its five chaining words: keep
 * those (40 bytes) instead of two SHA_CTX (192), four times per call.
 * SHA_CTX is a public struct; a state resumed this way has hashed 512
 * bits and holds no partial block.
 */
static void
hmac_resume(SHA_CTX *c, const uint32_t h[5])
{
	SHA1_Init(c);
	c->h0 = h[0], c->h1 = h[1], c->h2 = h[2], c->h3 = h[3], c->h4 = h[4];
	c->Nl = SHA1_BLOCK * 8;
	c->Nh = 0;
	c->num = 0;
}

static void
hmac_save(const SHA_CTX *c, uint32_t h[5])
{
	h[0] = c->h0, h[1] = c->h1, h[2] = c->h2, h[3] = c->h3, h[4] = c->h4;
}
#endif

static const srtp_auth_type_t srtp_openssl_hmac;

static srtp_err_status_t
hmac_alloc(srtp_auth_pointer_t *ap, int key_len, int out_len)
{
	struct hmac *st;

	/* the stock HMAC's limits: SRTP keys are 20 bytes, tags 4..10 */
	if (key_len < 0 || key_len > SHA1_LEN || out_len < 0 ||
	    out_len > SHA1_LEN)
		return srtp_err_status_bad_param;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return srtp_err_status_alloc_fail;
#if HMAC_EVP
	if (evp_sha1 == NULL)
		goto fail;
	if ((st->inner = EVP_MD_CTX_new()) == NULL ||
	    (st->outer = EVP_MD_CTX_new()) == NULL ||
	    (st->work = EVP_MD_CTX_new()) == NULL)
		goto fail;
#endif
	st->a.type = &srtp_openssl_hmac;
	st->a.state = st;
	st->a.out_len = out_len;
	st->a.key_len = key_len;
	st->a.prefix_len = 0;
	*ap = &st->a;
	return srtp_err_status_ok;
#if HMAC_EVP
fail:
	EVP_MD_CTX_free(st->inner);
	EVP_MD_CTX_free(st->outer);
	EVP_MD_CTX_free(st->work);
	free(st);
	return srtp_err_status_alloc_fail;
#endif
}

static srtp_err_status_t
hmac_dealloc(srtp_auth_pointer_t ap)
{
	struct hmac *st = (struct hmac *)ap;

	if (st == NULL)
		return srtp_err_status_bad_param;
#if HMAC_EVP
	EVP_MD_CTX_free(st->inner);
	EVP_MD_CTX_free(st->outer);
	EVP_MD_CTX_free(st->work);
#endif
	OPENSSL_cleanse(st, sizeof(*st));
	free(st);
	return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_init(void *sv, const uint8_t *key, int key_len)
{
	struct hmac *st = sv;
	unsigned char ipad[SHA1_BLOCK], opad[SHA1_BLOCK];
	int ok;

	if (key_len < 0 || key_len > SHA1_LEN)
		return srtp_err_status_bad_param;
	memset(ipad, 0x36, sizeof(ipad));
	memset(opad, 0x5c, sizeof(opad));
	for (int i = 0; i < key_len; i++) {
		ipad[i] ^= key[i];
		opad[i] ^= key[i];
	}
#if HMAC_EVP
	ok = EVP_DigestInit_ex(st->inner, evp_sha1, NULL) == 1 &&
	    EVP_DigestUpdate(st->inner, ipad, sizeof(ipad)) == 1 &&
	    EVP_DigestInit_ex(st->outer, evp_sha1, NULL) == 1 &&
	    EVP_DigestUpdate(st->outer, opad, sizeof(opad)) == 1 &&
	    EVP_MD_CTX_copy_ex(st->work, st->inner) == 1;
#else
	ok = SHA1_Init(&st->work) == 1 &&
	    SHA1_Update(&st->work, opad, sizeof(opad)) == 1;
	hmac_save(&st->work, st->oh);
	ok = ok && SHA1_Init(&st->work) == 1 &&
	    SHA1_Update(&st->work, ipad, sizeof(ipad)) == 1;
	hmac_save(&st->work, st->ih);	/* work stays started: see the top */
#endif
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
	return ok ? srtp_err_status_ok : srtp_err_status_init_fail;
}

static srtp_err_status_t
hmac_start(void *sv)
{
	struct hmac *st = sv;

#if HMAC_EVP
	if (EVP_MD_CTX_copy_ex(st->work, st->inner) != 1)
		return srtp_err_status_auth_fail;
#else
	hmac_resume(&st->work, st->ih);
#endif
	return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_update(void *sv, const uint8_t *buf, int len)
{
	struct hmac *st = sv;

	if (len < 0)
		return srtp_err_status_bad_param;
#if HMAC_EVP
	if (EVP_DigestUpdate(st->work, buf, (size_t)len) != 1)
		return srtp_err_status_auth_fail;
#else
	SHA1_Update(&st->work, buf, (size_t)len);
#endif
	return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_compute(void *sv, const uint8_t *buf, int len, int tag_len,
    uint8_t *result)
{
	struct hmac *st = sv;
	unsigned char d[SHA1_LEN];

	if (len < 0 || tag_len < 0 || tag_len > SHA1_LEN)
		return srtp_err_status_bad_param;
#if HMAC_EVP
	unsigned int dl;

	if (EVP_DigestUpdate(st->work, buf, (size_t)len) != 1 ||
	    EVP_DigestFinal_ex(st->work, d, &dl) != 1 ||
	    EVP_MD_CTX_copy_ex(st->work, st->outer) != 1 ||
	    EVP_DigestUpdate(st->work, d, sizeof(d)) != 1 ||
	    EVP_DigestFinal_ex(st->work, d, &dl) != 1 ||
	    EVP_MD_CTX_copy_ex(st->work, st->inner) != 1)
		return srtp_err_status_auth_fail;
#else
	SHA1_Update(&st->work, buf, (size_t)len);
	SHA1_Final(d, &st->work);
	hmac_resume(&st->work, st->oh);
	SHA1_Update(&st->work, d, sizeof(d));
	SHA1_Final(d, &st->work);
	hmac_resume(&st->work, st->ih);	/* compute without start stays right */
#endif
	memcpy(result, d, (size_t)tag_len);
	counters.hmac++;
	return srtp_err_status_ok;
}

/* ---- known answers, run by libsrtp2 when a type is registered ---- */

/* RFC 3711 B.2: AES-128-CM keystream, session key || session salt */
static const uint8_t kat_icm128_key[30] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};
static const uint8_t kat_icm128_ks[48] = {
	0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80,
	0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
	0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7,
	0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab,
	0x41, 0xe9, 0x5b, 0x3b, 0xb0, 0xa2, 0xe8, 0xdd,
	0x47, 0x79, 0x01, 0xe4, 0xfc, 0xa8, 0x94, 0xc0,
};
static const uint8_t kat_zero[48];
static uint8_t kat_iv_zero[16];		/* libsrtp2's idx is not const */

/*
 * RFC 3711 B.3: the key derivation as libsrtp2 runs it, master key ||
 * master salt as the ICM key and the label in octet 7 of the IV; label
 * 0x01 gives the first 20 bytes of the auth key.
 */
static const uint8_t kat_b3_key[30] = {
	0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0,
	0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39,
	0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb,
	0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};
static uint8_t kat_iv_label1[16] = { [7] = 0x01 };
static const uint8_t kat_b3_auth[20] = {
	0xce, 0xbe, 0x32, 0x1f, 0x6f, 0xf7, 0x71, 0x6b,
	0x6f, 0xd4, 0xab, 0x49, 0xaf, 0x25, 0x6a, 0x15,
	0x6d, 0x38, 0xba, 0xa4,
};

/* RFC 6188 7.3: AES-192-CM keystream */
static const uint8_t kat_icm192_key[38] = {
	0xea, 0xb2, 0x34, 0x76, 0x4e, 0x51, 0x7b, 0x2d,
	0x3d, 0x16, 0x0d, 0x58, 0x7d, 0x8c, 0x86, 0x21,
	0x97, 0x40, 0xf6, 0x5f, 0x99, 0xb6, 0xbc, 0xf7,
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};
static const uint8_t kat_icm192_ks[48] = {
	0x35, 0x09, 0x6c, 0xba, 0x46, 0x10, 0x02, 0x8d,
	0xc1, 0xb5, 0x75, 0x03, 0x80, 0x4c, 0xe3, 0x7c,
	0x5d, 0xe9, 0x86, 0x29, 0x1d, 0xcc, 0xe1, 0x61,
	0xd5, 0x16, 0x5e, 0xc4, 0x56, 0x8f, 0x5c, 0x9a,
	0x47, 0x4a, 0x40, 0xc7, 0x78, 0x94, 0xbc, 0x17,
	0x18, 0x02, 0x02, 0x27, 0x2a, 0x4c, 0x26, 0x4d,
};

/* RFC 6188 7.1: AES-256-CM keystream */
static const uint8_t kat_icm256_key[46] = {
	0x57, 0xf8, 0x2f, 0xe3, 0x61, 0x3f, 0xd1, 0x70,
	0xa8, 0x5e, 0xc9, 0x3c, 0x40, 0xb1, 0xf0, 0x92,
	0x2e, 0xc4, 0xcb, 0x0d, 0xc0, 0x25, 0xb5, 0x82,
	0x72, 0x14, 0x7c, 0xc4, 0x38, 0x94, 0x4a, 0x98,
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};
static const uint8_t kat_icm256_ks[48] = {
	0x92, 0xbd, 0xd2, 0x8a, 0x93, 0xc3, 0xf5, 0x25,
	0x11, 0xc6, 0x77, 0xd0, 0x8b, 0x55, 0x15, 0xa4,
	0x9d, 0xa7, 0x1b, 0x23, 0x78, 0xa8, 0x54, 0xf6,
	0x70, 0x50, 0x75, 0x6d, 0xed, 0x16, 0x5b, 0xac,
	0x63, 0xc4, 0x86, 0x8b, 0x70, 0x96, 0xd8, 0x84,
	0x21, 0xb5, 0x63, 0xb8, 0xc9, 0x4c, 0x9a, 0x31,
};

/* RFC 6188 7.2: AES-256 key derivation, label 0x01 (auth key) */
static const uint8_t kat_6188_kdf_key[46] = {
	0xf0, 0xf0, 0x49, 0x14, 0xb5, 0x13, 0xf2, 0x76,
	0x3a, 0x1b, 0x1f, 0xa1, 0x30, 0xf1, 0x0e, 0x29,
	0x98, 0xf6, 0xf6, 0xe4, 0x3e, 0x43, 0x09, 0xd1,
	0xe6, 0x22, 0xa0, 0xe3, 0x32, 0xb9, 0xf1, 0xb6,
	0x3b, 0x04, 0x80, 0x3d, 0xe5, 0x1e, 0xe7, 0xc9,
	0x64, 0x23, 0xab, 0x5b, 0x78, 0xd2,
};
static const uint8_t kat_6188_kdf_auth[20] = {
	0xfd, 0x9c, 0x32, 0xd3, 0x9e, 0xd5, 0xfb, 0xb5,
	0xa9, 0xdc, 0x96, 0xb3, 0x08, 0x18, 0x45, 0x4d,
	0x13, 0x13, 0xdc, 0x05,
};

static const srtp_cipher_test_case_t kat_icm128_b3 = {
	.key_length_octets = 30, .key = kat_b3_key, .idx = kat_iv_label1,
	.plaintext_length_octets = 20, .plaintext = kat_zero,
	.ciphertext_length_octets = 20, .ciphertext = kat_b3_auth,
	.aad_length_octets = 0, .aad = NULL, .tag_length_octets = 0,
	.next_test_case = NULL,
};
static const srtp_cipher_test_case_t kat_icm128 = {
	.key_length_octets = 30, .key = kat_icm128_key, .idx = kat_iv_zero,
	.plaintext_length_octets = 48, .plaintext = kat_zero,
	.ciphertext_length_octets = 48, .ciphertext = kat_icm128_ks,
	.aad_length_octets = 0, .aad = NULL, .tag_length_octets = 0,
	.next_test_case = &kat_icm128_b3,
};
static const srtp_cipher_test_case_t kat_icm192 = {
	.key_length_octets = 38, .key = kat_icm192_key, .idx = kat_iv_zero,
	.plaintext_length_octets = 48, .plaintext = kat_zero,
	.ciphertext_length_octets = 48, .ciphertext = kat_icm192_ks,
	.aad_length_octets = 0, .aad = NULL, .tag_length_octets = 0,
	.next_test_case = NULL,
};
static const srtp_cipher_test_case_t kat_icm256_kdf = {
	.key_length_octets = 46, .key = kat_6188_kdf_key, .idx = kat_iv_label1,
	.plaintext_length_octets = 20, .plaintext = kat_zero,
	.ciphertext_length_octets = 20, .ciphertext = kat_6188_kdf_auth,
	.aad_length_octets = 0, .aad = NULL, .tag_length_octets = 0,
	.next_test_case = NULL,
};
static const srtp_cipher_test_case_t kat_icm256 = {
	.key_length_octets = 46, .key = kat_icm256_key, .idx = kat_iv_zero,
	.plaintext_length_octets = 48, .plaintext = kat_zero,
	.ciphertext_length_octets = 48, .ciphertext = kat_icm256_ks,
	.aad_length_octets = 0, .aad = NULL, .tag_length_octets = 0,
	.next_test_case = &kat_icm256_kdf,
};

/*
 * RFC 7714 16.1.1 and 16.2.1: SRTP AEAD_AES_128_GCM / _256_GCM, the
 * session key || salt, the IV libsrtp2 would build, the RTP header as
 * AAD, "Gallia est omnis divisa in partes tres" as plaintext.
 */
static const uint8_t kat_gcm128_key[28] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x51, 0x75, 0x69, 0x64, 0x20, 0x70, 0x72, 0x6f,
	0x20, 0x71, 0x75, 0x6f,
};
static const uint8_t kat_gcm256_key[44] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x51, 0x75, 0x69, 0x64, 0x20, 0x70, 0x72, 0x6f,
	0x20, 0x71, 0x75, 0x6f,
};
static uint8_t kat_gcm_iv[12] = {
	0x51, 0x75, 0x3c, 0x65, 0x80, 0xc2, 0x72, 0x6f,
	0x20, 0x71, 0x84, 0x14,
};
static const uint8_t kat_gcm_aad[12] = {
	0x80, 0x40, 0xf1, 0x7b, 0x80, 0x41, 0xf8, 0xd3,
	0x55, 0x01, 0xa0, 0xb2,
};
static const uint8_t kat_gcm_pt[38] = "Gallia est omnis divisa in partes tres";
static const uint8_t kat_gcm128_ct[54] = {
	0xf2, 0x4d, 0xe3, 0xa3, 0xfb, 0x34, 0xde, 0x6c,
	0xac, 0xba, 0x86, 0x1c, 0x9d, 0x7e, 0x4b, 0xca,
	0xbe, 0x63, 0x3b, 0xd5, 0x0d, 0x29, 0x4e, 0x6f,
	0x42, 0xa5, 0xf4, 0x7a, 0x51, 0xc7, 0xd1, 0x9b,
	0x36, 0xde, 0x3a, 0xdf, 0x88, 0x33,
	0x89, 0x9d, 0x7f, 0x27, 0xbe, 0xb1, 0x6a, 0x91,
	0x52, 0xcf, 0x76, 0x5e, 0xe4, 0x39, 0x0c, 0xce,
};
static const uint8_t kat_gcm256_ct[54] = {
	0x32, 0xb1, 0xde, 0x78, 0xa8, 0x22, 0xfe, 0x12,
	0xef, 0x9f, 0x78, 0xfa, 0x33, 0x2e, 0x33, 0xaa,
	0xb1, 0x80, 0x12, 0x38, 0x9a, 0x58, 0xe2, 0xf3,
	0xb5, 0x0b, 0x2a, 0x02, 0x76, 0xff, 0xae, 0x0f,
	0x1b, 0xa6, 0x37, 0x99, 0xb8, 0x7b, 0x7a, 0xa3,
	0xdb, 0x36, 0xdf, 0xff, 0xd6, 0xb0, 0xf9, 0xbb,
	0x78, 0x78, 0xd7, 0xa7, 0x6c, 0x13,
};

static const srtp_cipher_test_case_t kat_gcm128 = {
	.key_length_octets = 28, .key = kat_gcm128_key, .idx = kat_gcm_iv,
	.plaintext_length_octets = 38, .plaintext = kat_gcm_pt,
	.ciphertext_length_octets = 54, .ciphertext = kat_gcm128_ct,
	.aad_length_octets = 12, .aad = kat_gcm_aad, .tag_length_octets = 16,
	.next_test_case = NULL,
};
static const srtp_cipher_test_case_t kat_gcm256 = {
	.key_length_octets = 44, .key = kat_gcm256_key, .idx = kat_gcm_iv,
	.plaintext_length_octets = 38, .plaintext = kat_gcm_pt,
	.ciphertext_length_octets = 54, .ciphertext = kat_gcm256_ct,
	.aad_length_octets = 12, .aad = kat_gcm_aad, .tag_length_octets = 16,
	.next_test_case = NULL,
};

/* RFC 2202 HMAC-SHA1 test cases 1, 2 and 3 */
static const uint8_t kat_hmac1_key[20] = {
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
};
static const uint8_t kat_hmac1_data[8] = "Hi There";
static const uint8_t kat_hmac1_tag[20] = {
	0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
	0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00,
};
static const uint8_t kat_hmac2_key[4] = "Jefe";
static const uint8_t kat_hmac2_data[28] = "what do ya want for nothing?";
static const uint8_t kat_hmac2_tag[20] = {
	0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
	0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79,
};
static const uint8_t kat_hmac3_key[20] = {
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
};
static const uint8_t kat_hmac3_data[50] = {
	0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
	0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
	0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
	0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
	0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
};
static const uint8_t kat_hmac3_tag[20] = {
	0x12, 0x5d, 0x73, 0x42, 0xb9, 0xac, 0x11, 0xcd, 0x91, 0xa3,
	0x9a, 0xf4, 0x8a, 0xa1, 0x7b, 0x4f, 0x63, 0xf1, 0x75, 0xd3,
};

static const srtp_auth_test_case_t kat_hmac3 = {
	.key_length_octets = 20, .key = kat_hmac3_key,
	.data_length_octets = 50, .data = kat_hmac3_data,
	.tag_length_octets = 20, .tag = kat_hmac3_tag, .next_test_case = NULL,
};
static const srtp_auth_test_case_t kat_hmac2 = {
	.key_length_octets = 4, .key = kat_hmac2_key,
	.data_length_octets = 28, .data = kat_hmac2_data,
	.tag_length_octets = 20, .tag = kat_hmac2_tag, .next_test_case = &kat_hmac3,
};
static const srtp_auth_test_case_t kat_hmac1 = {
	.key_length_octets = 20, .key = kat_hmac1_key,
	.data_length_octets = 8, .data = kat_hmac1_data,
	.tag_length_octets = 10, .tag = kat_hmac1_tag, .next_test_case = &kat_hmac2,
};

/* ---- the types ---- */

static const srtp_cipher_type_t srtp_openssl_icm_128 = {
	.alloc = icm_alloc, .dealloc = icm_dealloc, .init = icm_init,
	.set_aad = NULL, .encrypt = icm_encrypt, .decrypt = icm_encrypt,
	.set_iv = icm_set_iv, .get_tag = NULL,
	.description = "AES-128 counter mode (OpenSSL EVP, tlstrunk)",
	.test_data = &kat_icm128, .id = SRTP_AES_ICM_128,
};
static const srtp_cipher_type_t srtp_openssl_icm_192 = {
	.alloc = icm_alloc, .dealloc = icm_dealloc, .init = icm_init,
	.set_aad = NULL, .encrypt = icm_encrypt, .decrypt = icm_encrypt,
	.set_iv = icm_set_iv, .get_tag = NULL,
	.description = "AES-192 counter mode (OpenSSL EVP, tlstrunk)",
	.test_data = &kat_icm192, .id = SRTP_AES_ICM_192,
};
static const srtp_cipher_type_t srtp_openssl_icm_256 = {
	.alloc = icm_alloc, .dealloc = icm_dealloc, .init = icm_init,
	.set_aad = NULL, .encrypt = icm_encrypt, .decrypt = icm_encrypt,
	.set_iv = icm_set_iv, .get_tag = NULL,
	.description = "AES-256 counter mode (OpenSSL EVP, tlstrunk)",
	.test_data = &kat_icm256, .id = SRTP_AES_ICM_256,
};
static const srtp_cipher_type_t srtp_openssl_gcm_128 = {
	.alloc = gcm_alloc, .dealloc = gcm_dealloc, .init = gcm_init,
	.set_aad = gcm_set_aad, .encrypt = gcm_encrypt, .decrypt = gcm_decrypt,
	.set_iv = gcm_set_iv, .get_tag = gcm_get_tag,
	.description = "AES-128 GCM (OpenSSL EVP, tlstrunk)",
	.test_data = &kat_gcm128, .id = SRTP_AES_GCM_128,
};
static const srtp_cipher_type_t srtp_openssl_gcm_256 = {
	.alloc = gcm_alloc, .dealloc = gcm_dealloc, .init = gcm_init,
	.set_aad = gcm_set_aad, .encrypt = gcm_encrypt, .decrypt = gcm_decrypt,
	.set_iv = gcm_set_iv, .get_tag = gcm_get_tag,
	.description = "AES-256 GCM (OpenSSL EVP, tlstrunk)",
	.test_data = &kat_gcm256, .id = SRTP_AES_GCM_256,
};
static const srtp_auth_type_t srtp_openssl_hmac = {
	.alloc = hmac_alloc, .dealloc = hmac_dealloc, .init = hmac_init,
	.compute = hmac_compute, .update = hmac_update, .start = hmac_start,
	.description = "HMAC-SHA1 (OpenSSL, tlstrunk)",
	.test_data = &kat_hmac1, .id = SRTP_HMAC_SHA1,
};

static const srtp_cipher_type_t *const cipher_types[] = {
	&srtp_openssl_icm_128, &srtp_openssl_icm_192, &srtp_openssl_icm_256,
	&srtp_openssl_gcm_128, &srtp_openssl_gcm_256,
};

/* ---- registration ---- */

const srtp_cipher_type_t *
srtp_openssl_cipher_type(srtp_cipher_type_id_t id)
{
	if (evp_fetch_all() < 0)
		return NULL;
	for (size_t i = 0; i < sizeof(cipher_types) / sizeof(cipher_types[0]); i++)
		if (cipher_types[i]->id == id)
			return cipher_types[i];
	return NULL;
}

const srtp_auth_type_t *
srtp_openssl_auth_type(void)
{
	return evp_fetch_all() < 0 ? NULL : &srtp_openssl_hmac;
}

/*
 * Whether srtp_init() has run, through public calls only: a session
 * (null transforms, but its key derivation needs the kernel's AES-ICM)
 * can only be made on an initialised kernel.  Registering into an
 * uninitialised one would make the next srtp_init() fail.
 */
static int
kernel_ready(void)
{
	unsigned char key[SRTP_AES_ICM_128_KEY_LEN_WSALT] = { 0 };
	srtp_policy_t pol;
	srtp_t s;

	memset(&pol, 0, sizeof(pol));
	srtp_crypto_policy_set_null_cipher_hmac_null(&pol.rtp);
	srtp_crypto_policy_set_null_cipher_hmac_null(&pol.rtcp);
	pol.ssrc.type = ssrc_any_outbound;
	pol.key = key;
	if (srtp_create(&s, &pol) != srtp_err_status_ok)
		return 0;
	srtp_dealloc(s);
	return 1;
}

int
srtp_openssl_register(void)
{
	unsigned int v = srtp_get_version();
	srtp_err_status_t st;
	int failed = 0;

	if ((v >> 24) != 2) {
		log_warn(NULL, "libsrtp %s: not a 2.x release, keeping its own "
		    "crypto", srtp_get_version_string());
		return -100;
	}
	if (!kernel_ready()) {
		log_error(NULL, "libsrtp: OpenSSL crypto registered before "
		    "srtp_init(); keeping libsrtp's own");
		return -101;
	}
	if (evp_fetch_all() < 0) {
		log_warn(NULL, "libsrtp: OpenSSL has no AES-CTR/GCM or SHA1 "
		    "here, keeping libsrtp's own crypto");
		return -(int)(sizeof(cipher_types) / sizeof(cipher_types[0]) + 1);
	}
	/* each call self-tests the type, ours and the stock known answers */
	for (size_t i = 0; i < sizeof(cipher_types) / sizeof(cipher_types[0]); i++) {
		st = srtp_replace_cipher_type(cipher_types[i], cipher_types[i]->id);
		if (st != srtp_err_status_ok) {
			log_warn(NULL, "libsrtp: %s refused (status %d), keeping "
			    "libsrtp's own for cipher id %d",
			    cipher_types[i]->description, (int)st,
			    (int)cipher_types[i]->id);
			failed++;
		}
	}
	st = srtp_replace_auth_type(&srtp_openssl_hmac, SRTP_HMAC_SHA1);
	if (st != srtp_err_status_ok) {
		log_warn(NULL, "libsrtp: %s refused (status %d), keeping "
		    "libsrtp's own", srtp_openssl_hmac.description, (int)st);
		failed++;
	}
	return -failed;
}

int
srtp_openssl_init(void)
{
	const char *e = getenv(SRTP_OPENSSL_ENV_STOCK);
	int r;

	if (e != NULL && strcmp(e, "1") == 0) {
		log_info(NULL, "libsrtp: %s=1, SRTP crypto stays libsrtp's own",
		    SRTP_OPENSSL_ENV_STOCK);
		return 0;
	}
	if ((r = srtp_openssl_register()) == 0) {
		log_info(NULL, "libsrtp: SRTP crypto on %s", OpenSSL_version(
		    OPENSSL_VERSION));
		return 1;
	}
	return r;
}

void
srtp_openssl_counters(struct srtp_openssl_counters *out)
{
	*out = counters;
}
