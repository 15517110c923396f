/* sdes.c - RFC 4568 SDES crypto attribute values. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sdes.h"

#define SDES_TAG_MAX	999999999

/*
 * RFC 4568 section 6.2 (AES_CM), RFC 6188 (AES_256_CM), RFC 7714 (GCM).
 * The _32 suites shorten the SRTP tag only; SRTCP keeps the 80-bit tag,
 * so the RTCP setter differs from the RTP one.
 * srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 is a macro for the
 * default policy, hence the _default names.
 */
static const struct sdes_suite sdes_suites[SDES_NSUITES] = {
	[SDES_AES_CM_128_HMAC_SHA1_80] = { "AES_CM_128_HMAC_SHA1_80", 16, 14,
	    srtp_crypto_policy_set_rtp_default,
	    srtp_crypto_policy_set_rtcp_default },
	[SDES_AES_CM_128_HMAC_SHA1_32] = { "AES_CM_128_HMAC_SHA1_32", 16, 14,
	    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32,
	    srtp_crypto_policy_set_rtcp_default },
	[SDES_AES_256_CM_HMAC_SHA1_80] = { "AES_256_CM_HMAC_SHA1_80", 32, 14,
	    srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80,
	    srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80 },
	[SDES_AES_256_CM_HMAC_SHA1_32] = { "AES_256_CM_HMAC_SHA1_32", 32, 14,
	    srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32,
	    srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80 },
	[SDES_AEAD_AES_128_GCM] = { "AEAD_AES_128_GCM", 16, 12,
	    srtp_crypto_policy_set_aes_gcm_128_16_auth,
	    srtp_crypto_policy_set_aes_gcm_128_16_auth },
	[SDES_AEAD_AES_256_GCM] = { "AEAD_AES_256_GCM", 32, 12,
	    srtp_crypto_policy_set_aes_gcm_256_16_auth,
	    srtp_crypto_policy_set_aes_gcm_256_16_auth },
};

/* A piece of the input: never NUL-terminated, never copied. */
struct span {
	const char	*p;
	size_t		 n;
};

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Next run of non-blank characters at *cur; n == 0 at the end. */
static struct span
next_field(const char **cur)
{
	struct span s;
	const char *p = *cur;

	while (is_wsp(*p))
		p++;
	s.p = p;
	while (*p != '\0' && !is_wsp(*p))
		p++;
	s.n = (size_t)(p - s.p);
	*cur = p;
	return s;
}

static int
span_eq(struct span s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* If s starts with lit, drop it from s and return 1. */
static int
span_skip(struct span *s, const char *lit)
{
	size_t k = strlen(lit);

	if (s->n < k || memcmp(s->p, lit, k) != 0)
		return 0;
	s->p += k;
	s->n -= k;
	return 1;
}

/*
 * Decimal without sign or leading zeros, at most max.  Leading zeros
 * are refused so that a value has one spelling: a tag we echo in the
 * answer must be the one the offer used.
 */
static int
span_uint(struct span s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s.n == 0 || s.n > 20 || (s.n > 1 && s.p[0] == '0'))
		return -1;
	for (size_t i = 0; i < s.n; i++) {
		unsigned d;

		if (!is_digit(s.p[i]))
			return -1;
		d = (unsigned)(s.p[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (is_digit(c))
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode s into exactly want bytes.  Standard alphabet; the '='
 * padding is optional because some peers strip it, but when present it
 * must be right, and the unused low bits of the last character must be
 * zero so that one key has one encoding.
 */
static int
b64_decode(struct span s, unsigned char *out, size_t want)
{
	size_t data = s.n, pad = 0, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	while (pad < 2 && data > 0 && s.p[data - 1] == '=')
		data--, pad++;
	if (data % 4 == 1 || data * 3 / 4 != want)
		return -1;
	if (pad > 0 && (data + pad) % 4 != 0)
		return -1;
	for (size_t i = 0; i < data; i++) {
		int v = b64_value(s.p[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return 0;
}

/* "2^N" or a decimal number of packets, 1..2^48. */
static int
parse_lifetime(struct span s, uint64_t *out)
{
	uint64_t v;

	if (span_skip(&s, "2^")) {
		if (span_uint(s, 48, &v) == -1)
			return -1;
		*out = UINT64_C(1) << v;
		return 0;
	}
	if (span_uint(s, SDES_LIFETIME_MAX, &v) == -1 || v == 0)
		return -1;
	*out = v;
	return 0;
}

/* "<value>:<length>"; the value must fit in length bytes. */
static int
parse_mki(struct span s, struct sdes_crypto *out)
{
	const char *colon = memchr(s.p, ':', s.n);
	struct span val, len;
	uint64_t v, l;

	if (colon == NULL)
		return -1;
	val.p = s.p;
	val.n = (size_t)(colon - s.p);
	len.p = colon + 1;
	len.n = s.n - val.n - 1;
	if (span_uint(val, UINT64_MAX, &v) == -1 ||
	    span_uint(len, SDES_MKI_MAX, &l) == -1 || l == 0)
		return -1;
	if (l < 8 && v >> (8 * l) != 0)
		return -1;
	out->has_mki = 1;
	out->mki = v;
	out->mki_len = (unsigned int)l;
	return 0;
}

/*
 * "inline:<key||salt>[|lifetime][|mki]".  One key only: RFC 4568 lets
 * a line list several keys told apart by MKI, which we do not juggle.
 */
static int
parse_key_param(struct span s, const struct sdes_suite *su,
    struct sdes_crypto *out)
{
	struct span f[3];
	size_t nf = 0;
	const char *p, *bar, *end = s.p + s.n;

	if (!span_skip(&s, "inline:") || memchr(s.p, ';', s.n) != NULL)
		return SDES_EKEY;
	for (p = s.p;; p = bar + 1) {
		if (nf == 3)	/* a fourth '|' field */
			return SDES_EKEY;
		bar = memchr(p, '|', (size_t)(end - p));
		f[nf].p = p;
		f[nf].n = (size_t)((bar ? bar : end) - p);
		if (f[nf++].n == 0)
			return SDES_EKEY;
		if (bar == NULL)
			break;
	}

	out->keylen = su->keylen + su->saltlen;
	if (b64_decode(f[0], out->key, out->keylen) == -1)
		return SDES_EKEY;
	if (nf == 2 && memchr(f[1].p, ':', f[1].n) != NULL) {
		if (parse_mki(f[1], out) == -1)
			return SDES_EKEY;
	} else if (nf >= 2 && parse_lifetime(f[1], &out->lifetime) == -1)
		return SDES_EKEY;
	if (nf == 3 && parse_mki(f[2], out) == -1)
		return SDES_EKEY;
	if (out->has_mki && !sdes_suite_mki_ok(out->suite))
		return SDES_EKEY;
	return SDES_OK;
}

/*
 * RFC 4568 section 6.3.  libsrtp2 derives session keys once, so any
 * KDR is refused; FEC_ORDER=FEC_SRTP is the default and changes
 * nothing while we do no FEC.  WSH only asks the receiver for a replay
 * window at least that wide, which the rx stream gives.
 */
static int
parse_session_param(struct span s, struct sdes_crypto *out)
{
	uint64_t v;

	if (span_eq(s, "FEC_ORDER=FEC_SRTP"))
		return SDES_OK;
	if (span_skip(&s, "WSH=")) {
		if (out->wsh != 0 ||
		    span_uint(s, SDES_WSH_MAX, &v) == -1 || v < SDES_WSH_MIN)
			return SDES_EPARAM;
		out->wsh = (unsigned int)v;
		return SDES_OK;
	}
	/* '-' marks an extension the sender lets us ignore. */
	if (s.n > 1 && s.p[0] == '-')
		return SDES_OK;
	/* UNENCRYPTED_*, UNAUTHENTICATED_SRTP, KDR, FEC_KEY, the rest. */
	return SDES_EPARAM;
}

/* Only blanks and visible ASCII: no CR/LF, controls or 8-bit bytes. */
static int
value_chars_ok(const char *value, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if (!is_wsp((char)c) && (c < 0x21 || c > 0x7e))
			return 0;
	}
	return 1;
}

static int
suite_name_ok(struct span s)
{
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];

		if (!(is_digit(c) || c == '_' || (c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z')))
			return 0;
	}
	return s.n > 0;
}

static int
suite_find_span(struct span s)
{
	for (int i = 0; i < SDES_NSUITES; i++)
		if (span_eq(s, sdes_suites[i].name))
			return i;
	return -1;
}

int
sdes_suite_find(const char *name)
{
	struct span s;

	if (name == NULL)
		return -1;
	s.p = name;
	s.n = strlen(name);
	return suite_find_span(s);
}

/*
 * libsrtp2 2.5 finds the MKI of an SRTCP packet with the SRTP tag
 * length; the _32 suites have a 4-byte SRTP tag but a 10-byte SRTCP
 * tag, so SRTCP with an MKI would never verify.  Refuse those lines.
 */
int
sdes_suite_mki_ok(int idx)
{
	return idx != SDES_AES_CM_128_HMAC_SHA1_32 &&
	    idx != SDES_AES_256_CM_HMAC_SHA1_32 && sdes_suite_get(idx) != NULL;
}

const struct sdes_suite *
sdes_suite_get(int idx)
{
	if (idx < 0 || idx >= SDES_NSUITES)
		return NULL;
	return &sdes_suites[idx];
}

int
sdes_crypto_parse(const char *value, struct sdes_crypto *out)
{
	const char *cur;
	struct span f;
	uint64_t tag;
	size_t n;
	int rv;

	if (value == NULL || out == NULL)
		return SDES_EINVAL;
	memset(out, 0, sizeof(*out));

	rv = SDES_ESYNTAX;
	n = strnlen(value, SDES_VALUE_MAX + 1);
	if (n > SDES_VALUE_MAX || !value_chars_ok(value, n))
		goto done;
	cur = value;

	f = next_field(&cur);
	if (span_uint(f, SDES_TAG_MAX, &tag) == -1 || tag == 0)
		goto done;
	out->tag = (int)tag;

	f = next_field(&cur);
	if (!suite_name_ok(f))
		goto done;
	if ((out->suite = suite_find_span(f)) == -1) {
		rv = SDES_ESUITE;
		goto done;
	}

	f = next_field(&cur);
	if (f.n == 0)
		goto done;
	if ((rv = parse_key_param(f, &sdes_suites[out->suite], out)) != SDES_OK)
		goto done;

	while ((f = next_field(&cur)).n > 0)
		if ((rv = parse_session_param(f, out)) != SDES_OK)
			goto done;
	rv = SDES_OK;
done:
	if (rv != SDES_OK)
		sdes_crypto_wipe(out);
	return rv;
}

/* The fields a struct we did not fill ourselves could get wrong. */
static int
crypto_valid(const struct sdes_crypto *c)
{
	const struct sdes_suite *su;

	if (c == NULL || c->tag < 1 || c->tag > SDES_TAG_MAX ||
	    (su = sdes_suite_get(c->suite)) == NULL ||
	    c->keylen != su->keylen + su->saltlen)
		return 0;
	if (c->has_mki && (c->mki_len < 1 || c->mki_len > SDES_MKI_MAX ||
	    (c->mki_len < 8 && c->mki >> (8 * c->mki_len) != 0) ||
	    !sdes_suite_mki_ok(c->suite)))
		return 0;
	return 1;
}

int
sdes_crypto_format(const struct sdes_crypto *c, char *buf, size_t len)
{
	char b64[4 * ((SDES_KEY_MAX + 2) / 3) + 1], mki[32];
	int n, rv;

	if (buf == NULL || len == 0)
		return SDES_EINVAL;
	buf[0] = '\0';
	if (!crypto_valid(c))
		return SDES_EINVAL;

	EVP_EncodeBlock((unsigned char *)b64, c->key, (int)c->keylen);
	mki[0] = '\0';
	if (c->has_mki)
		snprintf(mki, sizeof(mki), "|%llu:%u",
		    (unsigned long long)c->mki, c->mki_len);
	n = snprintf(buf, len, "%d %s inline:%s%s", c->tag,
	    sdes_suites[c->suite].name, b64, mki);
	if (n < 0 || (size_t)n >= len) {
		/* the truncated text may hold part of the key */
		OPENSSL_cleanse(buf, len);
		rv = SDES_ESPACE;
		goto done;
	}
	rv = n;
done:
	OPENSSL_cleanse(b64, sizeof(b64));
	return rv;
}

int
sdes_crypto_generate(int tag, int suite, struct sdes_crypto *out)
{
	const struct sdes_suite *su = sdes_suite_get(suite);

	if (out == NULL)
		return SDES_EINVAL;
	memset(out, 0, sizeof(*out));
	if (su == NULL || tag < 1 || tag > SDES_TAG_MAX)
		return SDES_EINVAL;
	out->tag = tag;
	out->suite = suite;
	out->keylen = su->keylen + su->saltlen;
	if (RAND_bytes(out->key, (int)out->keylen) != 1) {
		sdes_crypto_wipe(out);
		return SDES_ERAND;
	}
	return SDES_OK;
}

int
sdes_crypto_same_key(const struct sdes_crypto *a, const struct sdes_crypto *b)
{
	if (a == NULL || b == NULL || a->suite != b->suite ||
	    a->keylen != b->keylen || a->keylen > SDES_KEY_MAX ||
	    a->has_mki != b->has_mki)
		return 0;
	if (a->has_mki && (a->mki != b->mki || a->mki_len != b->mki_len))
		return 0;
	return CRYPTO_memcmp(a->key, b->key, a->keylen) == 0;
}

void
sdes_crypto_wipe(struct sdes_crypto *c)
{
	if (c != NULL)
		OPENSSL_cleanse(c, sizeof(*c));
}
