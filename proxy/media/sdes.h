/*
 * sdes.h - RFC 4568 SDES "a=crypto:" attribute values: the SRTP suite,
 * master key and salt one side uses for the media it sends.
 *
 * Each direction has its own key: the line a party puts in its SDP
 * describes the key of the packets that party sends.  Parsing is
 * strict; any negative return means "do not use this line", so a
 * caller walks the offer's lines and takes the first that parses.
 */
#ifndef TLSTRUNK_SDES_H
#define TLSTRUNK_SDES_H

#include <stddef.h>
#include <stdint.h>

#include <srtp2/srtp.h>

#include "srtp_suites.h"

/* Indices into the suite table: config/srtp_suites.h's list, in its
 * order (our order of preference). */
#define SDES_SUITE_ID(n)	SDES_##n,
enum sdes_suite_id {
	SRTP_SUITE_LIST(SDES_SUITE_ID)
	SDES_NSUITES
};

struct sdes_suite {
	const char	*name;		/* as written in the SDP */
	size_t		 keylen;	/* master key, bytes */
	size_t		 saltlen;	/* master salt, bytes */
	/* libsrtp2 transforms; SRTCP keeps an 80-bit tag for the _32 suites */
	void		(*rtp_policy)(srtp_crypto_policy_t *);
	void		(*rtcp_policy)(srtp_crypto_policy_t *);
};

#define SDES_KEY_MAX	46	/* AES-256 key (32) + salt (14) */
#define SDES_MKI_MAX	128	/* RFC 4568 mki-length upper bound, bytes */
#define SDES_VALUE_MAX	1024	/* longer attribute values are refused */
#define SDES_WSH_MIN	64	/* RFC 4568 window size hint default */
#define SDES_WSH_MAX	32767	/* largest replay window libsrtp2 takes */
#define SDES_LIFETIME_MAX (UINT64_C(1) << 48)	/* RFC 3711 SRTP limit */

/* Large enough for sdes_crypto_format() of any valid value. */
#define SDES_FORMAT_MAX	160

enum sdes_err {
	SDES_OK = 0,
	SDES_ESYNTAX = -1,	/* not a crypto attribute value */
	SDES_ESUITE = -2,	/* well-formed tag, unknown suite: skip line */
	SDES_EKEY = -3,		/* key param: not one inline key of the
				   suite's length, bad lifetime or MKI */
	SDES_EPARAM = -4,	/* a session parameter we refuse */
	SDES_ESPACE = -5,	/* output buffer too small */
	SDES_EINVAL = -6,	/* bad argument */
	SDES_ERAND = -7		/* no random bytes */
};

struct sdes_crypto {
	int		 tag;		/* 1..999999999 */
	int		 suite;		/* enum sdes_suite_id */
	unsigned char	 key[SDES_KEY_MAX];	/* master key || master salt */
	size_t		 keylen;	/* suite keylen + saltlen */
	uint64_t	 lifetime;	/* packets; 0 when not given.  Kept for
					   the caller, not enforced here */
	int		 has_mki;
	uint64_t	 mki;		/* MKI value as written in the SDP */
	unsigned int	 mki_len;	/* MKI bytes on the wire, 1..128 */
	unsigned int	 wsh;		/* replay window hint; 0 when not given */
};

/* Index of the suite called name (exact, case-sensitive), or -1. */
int sdes_suite_find(const char *name);

/* Suite at idx, or NULL when idx is out of range. */
const struct sdes_suite *sdes_suite_get(int idx);

/* 1 when lines of suite idx may carry an MKI (not the _32 suites). */
int sdes_suite_mki_ok(int idx);

/*
 * Parse an attribute value (what follows "a=crypto:"), for example
 * "1 AES_CM_128_HMAC_SHA1_80 inline:<base64>|2^20|1:4".
 * Accepted: one "inline:" key of exactly the suite's key+salt length
 * (base64, padding optional), an optional lifetime (2^N or decimal,
 * 1..2^48), an optional MKI (value:length, length 1..128; not with the
 * _32 suites, see sdes_suite_mki_ok),
 * FEC_ORDER=FEC_SRTP (the default), WSH=64..32767, and unknown
 * parameters marked optional with a leading '-'.
 * Refused: anything that weakens or changes the transform
 * (UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP, UNAUTHENTICATED_SRTP, KDR,
 * FEC_ORDER=SRTP_FEC, FEC_KEY), several key params, and unknown
 * mandatory parameters.
 * Returns SDES_OK or a negative enum sdes_err; on error *out is wiped.
 */
int sdes_crypto_parse(const char *value, struct sdes_crypto *out);

/*
 * Write "<tag> <suite> inline:<base64>" into buf (len bytes, NUL
 * included), plus "|<mki>:<len>" when c carries an MKI, since the MKI
 * is part of what is on the wire.  The lifetime and WSH are not
 * written.  Returns the length written or a negative enum sdes_err
 * (buf is then "").  buf holds key material: wipe it after use.
 */
int sdes_crypto_format(const struct sdes_crypto *c, char *buf, size_t len);

/* Fresh master key and salt for suite from RAND_bytes; no MKI. */
int sdes_crypto_generate(int tag, int suite, struct sdes_crypto *out);

/*
 * 1 when a and b give the same SRTP transform (suite, key, salt, MKI),
 * whatever their tags.  A re-INVITE that keeps the keys must keep the
 * stream (its rollover counter and replay state); only a change of
 * keys restarts it.  Compares in constant time.
 */
int sdes_crypto_same_key(const struct sdes_crypto *a,
    const struct sdes_crypto *b);

/* Erase key material. */
void sdes_crypto_wipe(struct sdes_crypto *c);

#endif
