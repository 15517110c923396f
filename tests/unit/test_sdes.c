/* test_sdes.c - RFC 4568 crypto attribute values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "sdes.h"

/* RFC 4568 section 9.1 and 9.2 keys (30 bytes each). */
#define RFC_KEY1	"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
#define RFC_KEY2	"WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
#define RFC_KEY3	"NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj"

#define LINE80		"1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY1

static struct sdes_crypto c;

static int
parse(const char *v)
{
	return sdes_crypto_parse(v, &c);
}

/* Base64 of len bytes whose value is their index plus seed. */
static void
b64_pattern(char *out, size_t len, unsigned char seed)
{
	unsigned char raw[SDES_KEY_MAX];

	for (size_t i = 0; i < len; i++)
		raw[i] = (unsigned char)(i + seed);
	EVP_EncodeBlock((unsigned char *)out, raw, (int)len);
}

static int
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

Test(sdes, suite_table)
{
	static const struct {
		const char *name;
		size_t key, salt;
	} want[] = {
		{ "AES_CM_128_HMAC_SHA1_80", 16, 14 },
		{ "AES_CM_128_HMAC_SHA1_32", 16, 14 },
		{ "AES_256_CM_HMAC_SHA1_80", 32, 14 },
		{ "AES_256_CM_HMAC_SHA1_32", 32, 14 },
		{ "AEAD_AES_128_GCM", 16, 12 },
		{ "AEAD_AES_256_GCM", 32, 12 },
	};

	cr_assert_eq(SDES_NSUITES, 6);
	for (int i = 0; i < SDES_NSUITES; i++) {
		const struct sdes_suite *su = sdes_suite_get(i);

		cr_assert_not_null(su);
		cr_assert_str_eq(su->name, want[i].name);
		cr_assert_eq(su->keylen, want[i].key);
		cr_assert_eq(su->saltlen, want[i].salt);
		cr_assert_not_null(su->rtp_policy);
		cr_assert_not_null(su->rtcp_policy);
		cr_assert_eq(sdes_suite_find(want[i].name), i);
	}
	cr_assert_null(sdes_suite_get(-1));
	cr_assert_null(sdes_suite_get(SDES_NSUITES));
	cr_assert_eq(sdes_suite_find("aes_cm_128_hmac_sha1_80"), -1);
	cr_assert_eq(sdes_suite_find("AES_CM_128_HMAC_SHA1_80 "), -1);
	cr_assert_eq(sdes_suite_find("F8_128_HMAC_SHA1_80"), -1);
	cr_assert_eq(sdes_suite_find(""), -1);
	cr_assert_eq(sdes_suite_find(NULL), -1);
}

Test(sdes, parse_every_suite)
{
	char b64[80], line[200];

	for (int i = 0; i < SDES_NSUITES; i++) {
		const struct sdes_suite *su = sdes_suite_get(i);
		size_t kl = su->keylen + su->saltlen;

		b64_pattern(b64, kl, (unsigned char)(i * 16));
		snprintf(line, sizeof(line), "%d %s inline:%s", i + 1,
		    su->name, b64);
		cr_assert_eq(parse(line), SDES_OK, "%s", line);
		cr_assert_eq(c.tag, i + 1);
		cr_assert_eq(c.suite, i);
		cr_assert_eq(c.keylen, kl);
		for (size_t k = 0; k < kl; k++)
			cr_assert_eq(c.key[k], (unsigned char)(k + i * 16));
		cr_assert_eq(c.lifetime, 0);
		cr_assert_eq(c.has_mki, 0);
		cr_assert_eq(c.wsh, 0);
	}
}

Test(sdes, rfc4568_examples)
{
	cr_assert_eq(parse("1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY1
	    "|2^20|1:32"), SDES_OK);
	cr_assert_eq(c.suite, SDES_AES_CM_128_HMAC_SHA1_80);
	cr_assert_eq(c.lifetime, 1u << 20);
	cr_assert(c.has_mki);
	cr_assert_eq(c.mki, 1);
	cr_assert_eq(c.mki_len, 32);
	/* first bytes of the RFC 4568 example key "PS1uQCVe..." */
	cr_assert_eq(c.key[0], 0x3d);
	cr_assert_eq(c.key[1], 0x2d);
	cr_assert_eq(c.key[2], 0x6e);

	cr_assert_eq(parse("1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY2
	    "|2^20|1:4 FEC_ORDER=FEC_SRTP"), SDES_OK);
	cr_assert_eq(c.mki_len, 4);

	cr_assert_eq(parse("1 AES_CM_128_HMAC_SHA1_32 inline:" RFC_KEY3
	    "|2^20"), SDES_OK);
	cr_assert_eq(c.suite, SDES_AES_CM_128_HMAC_SHA1_32);
	/* the RFC's _32 example carries an MKI, which libsrtp2 cannot do */
	cr_assert_eq(parse("1 AES_CM_128_HMAC_SHA1_32 inline:" RFC_KEY3
	    "|2^20|1:32"), SDES_EKEY);

	/* F8 is not offered by anyone we talk to: skip the line */
	cr_assert_eq(parse("2 F8_128_HMAC_SHA1_80 inline:"
	    "MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;"
	    "inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 "
	    "FEC_ORDER=FEC_SRTP"), SDES_ESUITE);

	/* RFC 4568 section 6.3 session parameters example */
	cr_assert_eq(parse("1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY1
	    "|2^20|1:4 KDR=23 FEC_ORDER=SRTP_FEC UNENCRYPTED_SRTP"),
	    SDES_EPARAM);
}

Test(sdes, lifetime_forms)
{
	static const struct {
		const char *tail;
		uint64_t lifetime;
	} ok[] = {
		{ "|2^31", UINT64_C(1) << 31 },
		{ "|2^48", UINT64_C(1) << 48 },
		{ "|2^0", 1 },
		{ "|1048576", 1048576 },
		{ "|1", 1 },
		{ "|281474976710656", UINT64_C(1) << 48 },
		{ "|2^20|1:4", 1 << 20 },
	};
	static const char *const bad[] = {
		"|2^49", "|2^100", "|281474976710657", "|0", "|2^", "|2^x",
		"|-5", "|01", "|2^020", "|1:4|2^20", "|2^20|1:4|7", "||",
		"|", "|2^20|", "|2^20||1:4", "|99999999999999999999999",
		"|2**20", "|1e6",
	};
	char line[200];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(line, sizeof(line), LINE80 "%s", ok[i].tail);
		cr_assert_eq(parse(line), SDES_OK, "%s", line);
		cr_assert_eq(c.lifetime, ok[i].lifetime, "%s", line);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), LINE80 "%s", bad[i]);
		cr_assert_eq(parse(line), SDES_EKEY, "%s", line);
	}
}

Test(sdes, mki_forms)
{
	static const struct {
		const char *tail;
		uint64_t mki;
		unsigned int len;
	} ok[] = {
		{ "|1:1", 1, 1 },
		{ "|0:1", 0, 1 },
		{ "|255:1", 255, 1 },
		{ "|65535:2", 65535, 2 },
		{ "|7:128", 7, 128 },
		{ "|18446744073709551615:8", UINT64_MAX, 8 },
		{ "|18446744073709551615:20", UINT64_MAX, 20 },
	};
	static const char *const bad[] = {
		"|256:1", "|65536:2", "|1:0", "|1:129", "|1:1000",
		"|18446744073709551616:8", "|:4", "|1:", "|1:4:4", "|a:4",
		"|1:-4", "|01:4", "|1:04",
	};
	char line[200];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(line, sizeof(line), LINE80 "%s", ok[i].tail);
		cr_assert_eq(parse(line), SDES_OK, "%s", line);
		cr_assert(c.has_mki);
		cr_assert_eq(c.mki, ok[i].mki, "%s", line);
		cr_assert_eq(c.mki_len, ok[i].len, "%s", line);
		cr_assert_eq(c.lifetime, 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), LINE80 "%s", bad[i]);
		cr_assert_eq(parse(line), SDES_EKEY, "%s", line);
	}
}

Test(sdes, mki_only_where_libsrtp_handles_it)
{
	char b64[80], line[200];

	for (int i = 0; i < SDES_NSUITES; i++) {
		const struct sdes_suite *su = sdes_suite_get(i);
		int want = (i == SDES_AES_CM_128_HMAC_SHA1_32 ||
		    i == SDES_AES_256_CM_HMAC_SHA1_32) ? 0 : 1;

		cr_assert_eq(sdes_suite_mki_ok(i), want, "%s", su->name);
		b64_pattern(b64, su->keylen + su->saltlen, 0);
		snprintf(line, sizeof(line), "1 %s inline:%s|1:4", su->name,
		    b64);
		cr_assert_eq(parse(line), want ? SDES_OK : SDES_EKEY, "%s",
		    line);
		/* without the MKI every suite is fine */
		snprintf(line, sizeof(line), "1 %s inline:%s|2^31", su->name,
		    b64);
		cr_assert_eq(parse(line), SDES_OK, "%s", line);
	}
	cr_assert_eq(sdes_suite_mki_ok(-1), 0);
	cr_assert_eq(sdes_suite_mki_ok(SDES_NSUITES), 0);
}

Test(sdes, bad_base64)
{
	static const char *const bad[] = {
		/* invalid characters */
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB*",
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB-",
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB_",
		"PS1uQCVeeCFCanVmcjkpPywjNW=cYD0mXXtxaVBR",
		/* padding where none belongs, or too much */
		RFC_KEY1 "=",
		RFC_KEY1 "==",
		RFC_KEY1 "===",
		"=" RFC_KEY1,
		/* 30 bytes need 40 characters exactly */
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB",
		"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaV",
		RFC_KEY1 "Q",
		RFC_KEY1 "QQ",
		RFC_KEY1 "QUJD",
		"",
	};
	char line[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line),
		    "1 AES_CM_128_HMAC_SHA1_80 inline:%s", bad[i]);
		cr_assert_eq(parse(line), SDES_EKEY, "%s", line);
	}
}

Test(sdes, base64_padding_optional_but_exact)
{
	char b64[80], line[200];
	size_t n;

	/* 46 bytes: 62 characters and "==" */
	b64_pattern(b64, 46, 1);
	n = strlen(b64);
	cr_assert_eq(n, 64);
	cr_assert_str_eq(b64 + 62, "==");

	snprintf(line, sizeof(line), "1 AES_256_CM_HMAC_SHA1_80 inline:%s", b64);
	cr_assert_eq(parse(line), SDES_OK);
	/* some peers strip the padding */
	snprintf(line, sizeof(line), "1 AES_256_CM_HMAC_SHA1_80 inline:%.62s",
	    b64);
	cr_assert_eq(parse(line), SDES_OK);
	cr_assert_eq(c.key[45], 46);
	/* half the padding is wrong */
	snprintf(line, sizeof(line), "1 AES_256_CM_HMAC_SHA1_80 inline:%.63s",
	    b64);
	cr_assert_eq(parse(line), SDES_EKEY);

	/* 28 bytes (GCM-128): 38 characters and "==" */
	b64_pattern(b64, 28, 1);
	cr_assert_eq(strlen(b64), 40);
	cr_assert_str_eq(b64 + 38, "==");
	snprintf(line, sizeof(line), "1 AEAD_AES_128_GCM inline:%.38s", b64);
	cr_assert_eq(parse(line), SDES_OK);
	snprintf(line, sizeof(line), "1 AEAD_AES_128_GCM inline:%.38s=", b64);
	cr_assert_eq(parse(line), SDES_EKEY);
	/* 44 bytes (GCM-256): 59 characters and "=" */
	b64_pattern(b64, 44, 1);
	cr_assert_str_eq(b64 + 59, "=");
	snprintf(line, sizeof(line), "1 AEAD_AES_256_GCM inline:%.59s", b64);
	cr_assert_eq(parse(line), SDES_OK);
	snprintf(line, sizeof(line), "1 AEAD_AES_256_GCM inline:%.59s==", b64);
	cr_assert_eq(parse(line), SDES_EKEY);

	/*
	 * Non-zero unused bits in the last character: another spelling
	 * of the same key, refused.  46 bytes leave 4 spare bits in
	 * character 62; the pattern's last byte 46 (0x2e) ends in "g"
	 * (0x20), and "h" sets a spare bit.
	 */
	b64_pattern(b64, 46, 1);
	cr_assert_eq(b64[61], 'g');
	b64[61] = 'h';
	snprintf(line, sizeof(line), "1 AES_256_CM_HMAC_SHA1_80 inline:%s", b64);
	cr_assert_eq(parse(line), SDES_EKEY);
}

Test(sdes, wrong_key_length)
{
	char b64[80], line[200];

	/* 30 bytes is AES-128 + salt: too short for AES-256, too long for GCM */
	snprintf(line, sizeof(line), "1 AES_256_CM_HMAC_SHA1_80 inline:%s",
	    RFC_KEY1);
	cr_assert_eq(parse(line), SDES_EKEY);
	snprintf(line, sizeof(line), "1 AEAD_AES_128_GCM inline:%s", RFC_KEY1);
	cr_assert_eq(parse(line), SDES_EKEY);
	snprintf(line, sizeof(line), "1 AEAD_AES_256_GCM inline:%s", RFC_KEY1);
	cr_assert_eq(parse(line), SDES_EKEY);

	b64_pattern(b64, 46, 0);
	snprintf(line, sizeof(line), "1 AES_CM_128_HMAC_SHA1_80 inline:%s", b64);
	cr_assert_eq(parse(line), SDES_EKEY);
	snprintf(line, sizeof(line), "1 AEAD_AES_256_GCM inline:%s", b64);
	cr_assert_eq(parse(line), SDES_EKEY);

	b64_pattern(b64, 29, 0);
	snprintf(line, sizeof(line), "1 AES_CM_128_HMAC_SHA1_80 inline:%s", b64);
	cr_assert_eq(parse(line), SDES_EKEY);
	b64_pattern(b64, 31, 0);
	snprintf(line, sizeof(line), "1 AES_CM_128_HMAC_SHA1_80 inline:%s", b64);
	cr_assert_eq(parse(line), SDES_EKEY);
}

Test(sdes, unknown_suite_is_distinct)
{
	static const char *const suites[] = {
		"F8_128_HMAC_SHA1_80", "AES_192_CM_HMAC_SHA1_80",
		"AES_CM_128_NULL_AUTH", "NULL_HMAC_SHA1_80",
		"aes_cm_128_hmac_sha1_80", "AES_CM_128_HMAC_SHA1_80_",
		"SRTP_AES128_CM_HMAC_SHA1_80", "AEAD_AES_128_GCM_8",
	};
	char line[200];

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		snprintf(line, sizeof(line), "7 %s inline:%s", suites[i],
		    RFC_KEY1);
		cr_assert_eq(parse(line), SDES_ESUITE, "%s", line);
		cr_assert_eq(c.tag, 0);
	}
	/* an unknown suite is reported even when the rest is odd */
	cr_assert_eq(parse("7 FOO"), SDES_ESUITE);
	/* not a suite token at all: a syntax error */
	cr_assert_eq(parse("7 AES-CM-128 inline:" RFC_KEY1), SDES_ESYNTAX);
	cr_assert_eq(parse("7 AES_CM_128_HMAC_SHA1_80! inline:" RFC_KEY1),
	    SDES_ESYNTAX);
}

Test(sdes, one_key_param_only)
{
	cr_assert_eq(parse(LINE80 ";inline:" RFC_KEY2), SDES_EKEY);
	cr_assert_eq(parse(LINE80 "|2^20|1:4;inline:" RFC_KEY2 "|2^20|2:4"),
	    SDES_EKEY);
	cr_assert_eq(parse(LINE80 ";"), SDES_EKEY);
	/* a second key after a blank is an unknown session parameter */
	cr_assert_eq(parse(LINE80 " inline:" RFC_KEY2), SDES_EPARAM);
	/* only the inline method exists */
	cr_assert_eq(parse("1 AES_CM_128_HMAC_SHA1_80 uri:" RFC_KEY1),
	    SDES_EKEY);
	cr_assert_eq(parse("1 AES_CM_128_HMAC_SHA1_80 INLINE:" RFC_KEY1),
	    SDES_EKEY);
	cr_assert_eq(parse("1 AES_CM_128_HMAC_SHA1_80 inline" RFC_KEY1),
	    SDES_EKEY);
	cr_assert_eq(parse("1 AES_CM_128_HMAC_SHA1_80 inline:"), SDES_EKEY);
}

Test(sdes, session_params)
{
	static const char *const refused[] = {
		"UNENCRYPTED_SRTP", "UNENCRYPTED_SRTCP", "UNAUTHENTICATED_SRTP",
		"unencrypted_srtp", "KDR=23", "KDR=1", "KDR=0",
		"FEC_ORDER=SRTP_FEC", "FEC_ORDER=", "FEC_KEY=inline:" RFC_KEY2,
		"WSH=63", "WSH=0", "WSH=32768", "WSH=", "WSH=064", "WSH=abc",
		"FOO=1", "-", "FEC_SRTP",
	};
	char line[300];

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(line, sizeof(line), LINE80 " %s", refused[i]);
		cr_assert_eq(parse(line), SDES_EPARAM, "%s", line);
		/* refused also when hidden behind an accepted parameter */
		snprintf(line, sizeof(line), LINE80 " FEC_ORDER=FEC_SRTP %s",
		    refused[i]);
		cr_assert_eq(parse(line), SDES_EPARAM, "%s", line);
	}

	cr_assert_eq(parse(LINE80 " FEC_ORDER=FEC_SRTP"), SDES_OK);
	cr_assert_eq(parse(LINE80 " WSH=64"), SDES_OK);
	cr_assert_eq(c.wsh, 64);
	cr_assert_eq(parse(LINE80 " WSH=32767"), SDES_OK);
	cr_assert_eq(c.wsh, 32767);
	cr_assert_eq(parse(LINE80 " WSH=64 WSH=64"), SDES_EPARAM);
	/* '-' marks an extension we may ignore */
	cr_assert_eq(parse(LINE80 " -FOO=1 -BAR"), SDES_OK);
	cr_assert_eq(parse(LINE80 " -FOO=1 UNENCRYPTED_SRTCP"), SDES_EPARAM);
}

Test(sdes, tags)
{
	static const char *const bad[] = {
		"0", "-1", "+1", "01", "1000000000", "9999999999",
		"99999999999999999999999", "1a", "0x1", "",
	};
	char line[200];

	cr_assert_eq(parse("999999999 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY1),
	    SDES_OK);
	cr_assert_eq(c.tag, 999999999);
	cr_assert_eq(parse(LINE80), SDES_OK);
	cr_assert_eq(c.tag, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line),
		    "%s AES_CM_128_HMAC_SHA1_80 inline:%s", bad[i], RFC_KEY1);
		cr_assert_eq(parse(line), SDES_ESYNTAX, "%s", line);
	}
}

Test(sdes, garbage)
{
	static const char *const bad[] = {
		"", " ", "\t", "1", "1 ", "1 AES_CM_128_HMAC_SHA1_80",
		"1 AES_CM_128_HMAC_SHA1_80 ", "inline:" RFC_KEY1,
		"AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY1,
		LINE80 "\r", LINE80 "\r\n", "1 AES_CM_128_HMAC_SHA1_80\ninline:"
		RFC_KEY1, LINE80 "\x01", LINE80 " \xc3\xa9",
		"1\vAES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY1,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rv = parse(bad[i]);

		cr_assert(rv == SDES_ESYNTAX || rv == SDES_EKEY,
		    "case %zu gave %d", i, rv);
	}
	cr_assert_eq(parse(LINE80 "\r\n"), SDES_ESYNTAX);
	cr_assert_eq(sdes_crypto_parse(NULL, &c), SDES_EINVAL);
	cr_assert_eq(sdes_crypto_parse(LINE80, NULL), SDES_EINVAL);
}

Test(sdes, blanks_between_fields)
{
	cr_assert_eq(parse("1\tAES_CM_128_HMAC_SHA1_80  \t inline:" RFC_KEY1
	    "|2^20   WSH=128\t"), SDES_OK);
	cr_assert_eq(c.lifetime, 1 << 20);
	cr_assert_eq(c.wsh, 128);
	cr_assert_eq(parse("  " LINE80 "  "), SDES_OK);
}

Test(sdes, over_long_input)
{
	char *big;
	size_t n = strlen(LINE80);

	big = malloc(1 << 20);
	cr_assert_not_null(big);

	/* trailing blanks up to the limit are fine, one more is not */
	memcpy(big, LINE80, n);
	memset(big + n, ' ', SDES_VALUE_MAX - n);
	big[SDES_VALUE_MAX] = '\0';
	cr_assert_eq(parse(big), SDES_OK);
	big[SDES_VALUE_MAX] = ' ';
	big[SDES_VALUE_MAX + 1] = '\0';
	cr_assert_eq(parse(big), SDES_ESYNTAX);

	/* a megabyte of session parameters */
	for (size_t i = n; i + 2 < (1 << 20); i += 2)
		memcpy(big + i, " -", 2);
	big[(1 << 20) - 1] = '\0';
	cr_assert_eq(parse(big), SDES_ESYNTAX);

	/* a megabyte of digits as the tag */
	memset(big, '9', (1 << 20) - 1);
	cr_assert_eq(parse(big), SDES_ESYNTAX);
	free(big);
}

Test(sdes, failure_wipes_output)
{
	/* the key decodes before the refused parameter is seen */
	cr_assert_eq(parse(LINE80 "|2^20 UNENCRYPTED_SRTP"), SDES_EPARAM);
	cr_assert(all_zero(&c, sizeof(c)));
	cr_assert_eq(parse(LINE80 "|2^99"), SDES_EKEY);
	cr_assert(all_zero(&c, sizeof(c)));
}

Test(sdes, format_parse_round_trip)
{
	struct sdes_crypto g, back;
	char buf[SDES_FORMAT_MAX], head[64];

	for (int i = 0; i < SDES_NSUITES; i++) {
		const struct sdes_suite *su = sdes_suite_get(i);
		int n;

		cr_assert_eq(sdes_crypto_generate(999999999 - i, i, &g), SDES_OK);
		n = sdes_crypto_format(&g, buf, sizeof(buf));
		cr_assert_gt(n, 0);
		cr_assert_eq((size_t)n, strlen(buf));
		snprintf(head, sizeof(head), "%d %s inline:", 999999999 - i,
		    su->name);
		cr_assert_eq(strncmp(buf, head, strlen(head)), 0, "%s", buf);
		/* no lifetime, MKI or parameters */
		cr_assert_null(strchr(buf, '|'));
		cr_assert_null(strchr(buf + strlen(head), ' '));

		cr_assert_eq(sdes_crypto_parse(buf, &back), SDES_OK, "%s", buf);
		cr_assert_eq(back.tag, g.tag);
		cr_assert_eq(back.suite, i);
		cr_assert_eq(back.keylen, g.keylen);
		cr_assert_eq(memcmp(back.key, g.key, g.keylen), 0);
		cr_assert(sdes_crypto_same_key(&g, &back));
	}
}

Test(sdes, format_keeps_mki)
{
	struct sdes_crypto back;
	char buf[SDES_FORMAT_MAX];

	cr_assert_eq(parse(LINE80 "|2^20|1:4 WSH=128"), SDES_OK);
	cr_assert_gt(sdes_crypto_format(&c, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, LINE80 "|1:4");
	cr_assert_eq(sdes_crypto_parse(buf, &back), SDES_OK);
	cr_assert(sdes_crypto_same_key(&c, &back));

	cr_assert_eq(parse(LINE80 "|18446744073709551615:128"), SDES_OK);
	cr_assert_gt(sdes_crypto_format(&c, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, LINE80 "|18446744073709551615:128");
}

Test(sdes, format_buffer_too_small)
{
	char buf[SDES_FORMAT_MAX];
	size_t n = strlen(LINE80);

	cr_assert_eq(parse(LINE80), SDES_OK);
	cr_assert_eq(sdes_crypto_format(&c, buf, n + 1), (int)n);
	cr_assert_str_eq(buf, LINE80);
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(sdes_crypto_format(&c, buf, n), SDES_ESPACE);
	/* no piece of the key is left behind */
	cr_assert(all_zero(buf, n));
	cr_assert_eq(buf[n], 'x');
	cr_assert_eq(sdes_crypto_format(&c, buf, 1), SDES_ESPACE);
	cr_assert_eq(sdes_crypto_format(&c, buf, 0), SDES_EINVAL);
	cr_assert_eq(sdes_crypto_format(&c, NULL, 10), SDES_EINVAL);
}

Test(sdes, format_refuses_invalid)
{
	char buf[SDES_FORMAT_MAX];
	struct sdes_crypto bad;

	cr_assert_eq(parse(LINE80), SDES_OK);
	bad = c;
	bad.suite = SDES_NSUITES;
	cr_assert_eq(sdes_crypto_format(&bad, buf, sizeof(buf)), SDES_EINVAL);
	cr_assert_str_eq(buf, "");
	bad = c;
	bad.keylen = 46;
	cr_assert_eq(sdes_crypto_format(&bad, buf, sizeof(buf)), SDES_EINVAL);
	bad = c;
	bad.tag = 0;
	cr_assert_eq(sdes_crypto_format(&bad, buf, sizeof(buf)), SDES_EINVAL);
	bad = c;
	bad.has_mki = 1;
	bad.mki = 256;
	bad.mki_len = 1;
	cr_assert_eq(sdes_crypto_format(&bad, buf, sizeof(buf)), SDES_EINVAL);
	bad.mki = 1;
	bad.suite = SDES_AES_CM_128_HMAC_SHA1_32;
	cr_assert_eq(sdes_crypto_format(&bad, buf, sizeof(buf)), SDES_EINVAL);
	cr_assert_eq(sdes_crypto_format(NULL, buf, sizeof(buf)), SDES_EINVAL);
}

Test(sdes, generate_fresh_keys)
{
	enum { N = 32 };
	static struct sdes_crypto g[N];
	char buf[SDES_FORMAT_MAX];

	for (int s = 0; s < SDES_NSUITES; s++) {
		const struct sdes_suite *su = sdes_suite_get(s);

		for (int i = 0; i < N; i++) {
			cr_assert_eq(sdes_crypto_generate(i + 1, s, &g[i]),
			    SDES_OK);
			cr_assert_eq(g[i].keylen, su->keylen + su->saltlen);
			cr_assert_eq(g[i].has_mki, 0);
			cr_assert(!all_zero(g[i].key, g[i].keylen));
			for (int j = 0; j < i; j++)
				cr_assert(!sdes_crypto_same_key(&g[i], &g[j]));

			/* valid base64 of the right length */
			cr_assert_gt(sdes_crypto_format(&g[i], buf,
			    sizeof(buf)), 0);
			cr_assert_eq(strlen(strstr(buf, "inline:") + 7),
			    4 * ((g[i].keylen + 2) / 3));
			cr_assert_eq(parse(buf), SDES_OK, "%s", buf);
			cr_assert(sdes_crypto_same_key(&c, &g[i]));
		}
	}
	cr_assert_eq(sdes_crypto_generate(0, 0, &g[0]), SDES_EINVAL);
	cr_assert_eq(sdes_crypto_generate(1000000000, 0, &g[0]), SDES_EINVAL);
	cr_assert_eq(sdes_crypto_generate(1, -1, &g[0]), SDES_EINVAL);
	cr_assert_eq(sdes_crypto_generate(1, SDES_NSUITES, &g[0]), SDES_EINVAL);
	cr_assert_eq(sdes_crypto_generate(1, 0, NULL), SDES_EINVAL);
}

Test(sdes, same_key)
{
	struct sdes_crypto a, b;

	cr_assert_eq(sdes_crypto_parse(LINE80, &a), SDES_OK);
	cr_assert_eq(sdes_crypto_parse("9 AES_CM_128_HMAC_SHA1_80 inline:"
	    RFC_KEY1 "|2^31 WSH=256", &b), SDES_OK);
	/* tag, lifetime and WSH do not change the transform */
	cr_assert(sdes_crypto_same_key(&a, &b));

	b.key[29] ^= 1;
	cr_assert_not(sdes_crypto_same_key(&a, &b));
	b.key[29] ^= 1;
	b.suite = SDES_AES_CM_128_HMAC_SHA1_32;
	cr_assert_not(sdes_crypto_same_key(&a, &b));

	cr_assert_eq(sdes_crypto_parse(LINE80 "|1:4", &b), SDES_OK);
	cr_assert_not(sdes_crypto_same_key(&a, &b));
	cr_assert_eq(sdes_crypto_parse(LINE80 "|2:4", &a), SDES_OK);
	cr_assert_not(sdes_crypto_same_key(&a, &b));
	cr_assert_eq(sdes_crypto_parse(LINE80 "|1:4", &a), SDES_OK);
	cr_assert(sdes_crypto_same_key(&a, &b));
	cr_assert_not(sdes_crypto_same_key(&a, NULL));
}

Test(sdes, wipe)
{
	cr_assert_eq(parse(LINE80 "|2^20|1:4"), SDES_OK);
	sdes_crypto_wipe(&c);
	cr_assert(all_zero(&c, sizeof(c)));
	sdes_crypto_wipe(NULL);
}

/*
 * Hostile input: mutate valid lines at random.  Under ASan this finds
 * reads past the value; everywhere it checks that the result is a
 * known code and that a failure leaves nothing behind.
 */
Test(sdes, mutations_never_crash)
{
	static const char *const seeds[] = {
		LINE80 "|2^20|1:4 FEC_ORDER=FEC_SRTP WSH=128 -X",
		"2 AEAD_AES_256_GCM inline:"
		    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis=",
		"3 AES_256_CM_HMAC_SHA1_32 inline:"
		    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLQ==",
	};
	static const char alphabet[] = "0123456789|:^;= \t-+/ABCinlef_\x7f\x80";
	char buf[256];
	unsigned int seed = 12345;

	for (int iter = 0; iter < 20000; iter++) {
		const char *s = seeds[iter % 3];
		size_t n = strlen(s);
		int rv;

		memcpy(buf, s, n + 1);
		for (int k = 0; k < 1 + iter % 4; k++) {
			size_t at = (size_t)rand_r(&seed) % n;

			switch (rand_r(&seed) % 3) {
			case 0:
				buf[at] = alphabet[rand_r(&seed) %
				    (sizeof(alphabet) - 1)];
				break;
			case 1:
				buf[at] = '\0';
				n = at > 0 ? at : 1;
				break;
			default:
				memmove(buf + at, buf + at + 1, n - at);
				n = n > 1 ? n - 1 : 1;
				break;
			}
			n = strlen(buf);
			if (n == 0)
				break;
		}
		rv = parse(buf);
		cr_assert(rv == SDES_OK || rv == SDES_ESYNTAX ||
		    rv == SDES_ESUITE || rv == SDES_EKEY || rv == SDES_EPARAM,
		    "%d for \"%s\"", rv, buf);
		if (rv != SDES_OK)
			cr_assert(all_zero(&c, sizeof(c)));
		else
			cr_assert(c.keylen > 0 && c.tag > 0);
	}
}

/* The suite table is numbered by config/srtp_suites.h's list: each row
 * must carry the name the list gives it (config accepts those names). */
#define LIST_NAME(n)	#n,
Test(sdes, suite_table_follows_the_one_list)
{
	static const char *const names[] = { SRTP_SUITE_LIST(LIST_NAME) };

	cr_assert_eq(sizeof(names) / sizeof(names[0]), SDES_NSUITES);
	for (int i = 0; i < SDES_NSUITES; i++) {
		cr_assert_not_null(sdes_suite_get(i));
		cr_assert_str_eq(sdes_suite_get(i)->name, names[i]);
	}
}
