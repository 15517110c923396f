/*
 * srtp_openssl.h - OpenSSL crypto under libsrtp2's cipher and auth ids.
 *
 * Debian's libsrtp2 does its AES and HMAC through NSS, and about 90% of
 * a packet's cost is NSS's per-call overhead.  libsrtp2 lets a program
 * swap the implementation behind an id (srtp_replace_cipher_type(),
 * srtp_replace_auth_type()); this module puts OpenSSL EVP behind
 *
 *	SRTP_AES_ICM_128, SRTP_AES_ICM_192, SRTP_AES_ICM_256
 *		AES counter mode, key || 14-byte salt; the context is keyed
 *		once, a packet only sets the IV and runs EVP_EncryptUpdate
 *	SRTP_AES_GCM_128, SRTP_AES_GCM_256
 *		AES-GCM, key || 12-byte salt (the salt is libsrtp2's: it
 *		builds the 12-byte IV itself), 8- or 16-byte tags
 *	SRTP_HMAC_SHA1
 *		HMAC-SHA1 from SHA-1 states precomputed over key^ipad and
 *		key^opad at key time; a packet is one state copy, the
 *		message, and one block for the outer hash
 *
 * and leaves everything else to libsrtp2: key derivation (which runs
 * through the AES-ICM cipher, so through this code), the replay
 * database, the rollover counter, SRTCP, MKI.
 *
 * libsrtp2 resolves an id when a session is created and keeps the
 * pointer, so sessions created before registration keep the stock
 * implementation for their lifetime, and the ones created after get
 * this one.  srtp_shutdown() forgets the replacement: the next
 * srtp_init() loads the stock types again, and registration must be
 * repeated (srtp_stream_global_init() does both).
 *
 * Registration is not thread-safe (like srtp_init()); the ciphers are as
 * thread-safe as libsrtp2 sessions are: one session, one thread.
 */
#ifndef TLSTRUNK_SRTP_OPENSSL_H
#define TLSTRUNK_SRTP_OPENSSL_H

#include <stdint.h>

#include <srtp2/srtp.h>
#include <srtp2/cipher.h>
#include <srtp2/auth.h>

/* Environment switch: "1" keeps the stock (NSS) implementation. */
#define SRTP_OPENSSL_ENV_STOCK	"TLSTRUNK_SRTP_STOCK"

/*
 * Register the OpenSSL implementations with libsrtp2; call after
 * srtp_init() (libsrtp2's self-test of a new type runs here: our
 * own known answers, RFC 3711 B.2/B.3, RFC 6188, RFC 7714 and RFC
 * 2202, and the stock type's).  Idempotent.  Returns 0 when every id
 * was replaced, else the negative count of ids left stock (they keep
 * working, only slower; each failure is logged).  Returns without
 * touching libsrtp2 -100 when the running library is not a 2.x release
 * (the struct layouts this module fills in are 2.x's), -101 before
 * srtp_init() (registering then would make srtp_init() fail).
 */
int srtp_openssl_register(void);

/*
 * What srtp_stream_global_init() calls after srtp_init(): registers
 * unless TLSTRUNK_SRTP_STOCK=1 is set.  Returns 1 when registered, 0
 * when the environment kept the stock implementation, or
 * srtp_openssl_register()'s negative result.  Logs which it is.
 */
int srtp_openssl_init(void);

/*
 * Calls into this module's per-packet functions by the calling thread
 * since it started: a test or a health check can tell that a session
 * really runs on OpenSSL.  Thread-local, so free of contention.
 */
struct srtp_openssl_counters {
	uint64_t	 icm;		/* AES-ICM encrypt/decrypt calls */
	uint64_t	 gcm;		/* AES-GCM encrypt/decrypt calls */
	uint64_t	 hmac;		/* HMAC-SHA1 tags computed */
};

void srtp_openssl_counters(struct srtp_openssl_counters *out);

/*
 * The type objects themselves, for tests that drive them through
 * libsrtp2's srtp_cipher_* API.  NULL for an id not provided here.
 */
const srtp_cipher_type_t *srtp_openssl_cipher_type(srtp_cipher_type_id_t id);
const srtp_auth_type_t *srtp_openssl_auth_type(void);

#endif
