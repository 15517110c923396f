/*
 * test_srtp_openssl.c - OpenSSL crypto under libsrtp2's ids.
 *
 * Three kinds of evidence:
 * - RFC known answers through libsrtp2's srtp_cipher_* API on our types
 *   (RFC 3711 B.2 keystream and B.3 key derivation, RFC 6188 AES-192/256,
 *   RFC 7714 GCM);
 * - whole sessions (srtp_create, srtp_protect) checked byte for byte
 *   against a reference SRTP written here on plain OpenSSL EVP/HMAC
 *   calls, from RFC master keys and from random ones, stock and replaced;
 * - stock against replaced: thousands of random RTP and RTCP packets
 *   protected by one and unprotected by the other, both ways, across a
 *   rollover-counter wrap, with per-packet proof (the module's call
 *   counters) of which implementation ran.
 *
 * libsrtp2 resolves a type id when a session is created, so a process
 * can hold both kinds of session: stock ones made before
 * srtp_openssl_register(), replaced ones after.  Criterion runs each
 * test in its own process, so each test starts with a stock libsrtp2.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sdes.h"
#include "srtp_openssl.h"
#include "srtp_stream.h"

#define BUFSZ	2048

static void
fini(void)
{
	srtp_stream_global_shutdown();
	srtp_shutdown();
	unsetenv(SRTP_OPENSSL_ENV_STOCK);
}

TestSuite(srtp_openssl, .fini = fini);

/* ---- helpers ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static void
rnd_bytes(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(rnd() >> 32);
}

static size_t
unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		unsigned int v;

		if (*s == ' ' || *s == '\n')
			continue;
		cr_assert(n / 2 < max, "hex longer than %zu bytes", max);
		if (*s >= '0' && *s <= '9')
			v = (unsigned int)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			v = (unsigned int)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			v = (unsigned int)(*s - 'A' + 10);
		else
			cr_assert_fail("bad hex digit %c", *s);
		if (n % 2 == 0)
			out[n / 2] = (unsigned char)(v << 4);
		else
			out[n / 2] |= (unsigned char)v;
		n++;
	}
	cr_assert(n % 2 == 0);
	return n / 2;
}

static void
assert_hex(const unsigned char *got, const char *want, const char *what)
{
	unsigned char w[256];
	size_t n = unhex(want, w, sizeof(w));

	cr_assert_eq(memcmp(got, w, n), 0, "%s differs from the RFC", what);
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static struct srtp_openssl_counters
counters_now(void)
{
	struct srtp_openssl_counters c;

	srtp_openssl_counters(&c);
	return c;
}

static uint64_t
counters_sum(void)
{
	struct srtp_openssl_counters c = counters_now();

	return c.icm + c.gcm + c.hmac;
}

/* ---- our cipher types through libsrtp2's srtp_cipher_* API ---- */

static srtp_cipher_t *
cipher_new(srtp_cipher_type_id_t id, const unsigned char *key, int key_len,
    int tag_len)
{
	const srtp_cipher_type_t *ct = srtp_openssl_cipher_type(id);
	srtp_cipher_t *c;

	cr_assert_not_null(ct, "no type for id %d", (int)id);
	cr_assert_eq(srtp_cipher_type_alloc(ct, &c, key_len, tag_len),
	    srtp_err_status_ok);
	cr_assert_eq(c->type, ct);
	cr_assert_eq(srtp_cipher_get_key_length(c), key_len);
	cr_assert_eq(srtp_cipher_init(c, key), srtp_err_status_ok);
	return c;
}

/* The 16-byte IV libsrtp2 hands the KDF: the label in octet 7. */
static void
kdf_check(srtp_cipher_type_id_t id, const char *key_salt, int label,
    const char *want)
{
	unsigned char key[64], iv[16] = { 0 }, out[128], w[128];
	size_t kl = unhex(key_salt, key, sizeof(key));
	uint32_t n = (uint32_t)unhex(want, w, sizeof(w));
	srtp_cipher_t *c = cipher_new(id, key, (int)kl, 0);

	iv[7] = (unsigned char)label;
	cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt),
	    srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_output(c, out, &n), srtp_err_status_ok);
	cr_assert_eq(memcmp(out, w, n), 0, "id %d label %d", (int)id, label);
	cr_assert_eq(srtp_cipher_dealloc(c), srtp_err_status_ok);
}

/*
 * The keystream segment of RFC 3711 B.2 / RFC 6188 7.1 and 7.3: 65282
 * blocks from counter salt||0000, whose first and last three blocks the
 * RFCs print.  Then the same bytes in uneven pieces (one keystream
 * across encrypt calls), and the refusal to run the 16-bit block
 * counter into the index bits.
 */
static void
keystream_check(srtp_cipher_type_id_t id, const char *key_salt,
    const char *first, const char *last)
{
	const uint32_t seg = 65282 * 16;
	unsigned char key[64], iv[16] = { 0 }, *ks, *piece;
	size_t kl = unhex(key_salt, key, sizeof(key));
	srtp_cipher_t *c = cipher_new(id, key, (int)kl, 0);
	uint64_t before = counters_now().icm;
	uint32_t n, off;

	ks = malloc(0x10000 * 16);
	piece = malloc(seg);
	cr_assert(ks != NULL && piece != NULL);
	cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt),
	    srtp_err_status_ok);
	n = seg;
	cr_assert_eq(srtp_cipher_output(c, ks, &n), srtp_err_status_ok);
	assert_hex(ks, first, "first keystream blocks");
	assert_hex(ks + seg - 48, last, "last keystream blocks");
	cr_assert_gt(counters_now().icm, before, "our ICM did not run");

	cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt),
	    srtp_err_status_ok);
	memset(piece, 0, seg);
	for (off = 0, n = 1; off < seg; off += n, n = n * 7 % 61 + 1) {
		if (n > seg - off)
			n = seg - off;
		cr_assert_eq(srtp_cipher_encrypt(c, piece + off, &n),
		    srtp_err_status_ok);
	}
	cr_assert_eq(memcmp(piece, ks, seg), 0, "keystream split differently");

	/* 0xffff blocks fit under one IV, one byte more does not */
	cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt),
	    srtp_err_status_ok);
	n = 0xffff * 16 + 1;
	cr_assert_eq(srtp_cipher_output(c, ks, &n), srtp_err_status_terminus);
	cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt),
	    srtp_err_status_ok);
	n = 0xffff * 16;
	cr_assert_eq(srtp_cipher_output(c, ks, &n), srtp_err_status_ok);

	free(ks);
	free(piece);
	cr_assert_eq(srtp_cipher_dealloc(c), srtp_err_status_ok);
}

Test(srtp_openssl, registers_over_the_stock_types)
{
	/* too early: srtp_init() would then fail on the stock types */
	cr_assert_eq(srtp_openssl_register(), -101);
	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	/* libsrtp2 self-tests each type here, ours and the stock KATs */
	cr_assert_eq(srtp_openssl_register(), 0);
	cr_assert_eq(srtp_openssl_register(), 0, "not idempotent");
	for (int id = 0; id < 8; id++) {
		const srtp_cipher_type_t *ct = srtp_openssl_cipher_type(id);

		if (ct == NULL)
			continue;
		cr_assert_eq(srtp_cipher_type_self_test(ct), srtp_err_status_ok,
		    "%s", ct->description);
	}
	cr_assert_not_null(srtp_openssl_cipher_type(SRTP_AES_ICM_128));
	cr_assert_not_null(srtp_openssl_cipher_type(SRTP_AES_ICM_256));
	cr_assert_not_null(srtp_openssl_cipher_type(SRTP_AES_GCM_128));
	cr_assert_not_null(srtp_openssl_cipher_type(SRTP_AES_GCM_256));
	cr_assert_null(srtp_openssl_cipher_type(SRTP_NULL_CIPHER));
	cr_assert_eq(srtp_auth_type_self_test(srtp_openssl_auth_type()),
	    srtp_err_status_ok);
	/* srtp_shutdown() forgets the replacement; registering again works */
	cr_assert_eq(srtp_shutdown(), srtp_err_status_ok);
	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	cr_assert_eq(srtp_openssl_register(), 0);
}

Test(srtp_openssl, rfc3711_b2_aes_cm_keystream)
{
	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	cr_assert_eq(srtp_openssl_register(), 0);
	keystream_check(SRTP_AES_ICM_128,
	    "2B7E151628AED2A6ABF7158809CF4F3C" "F0F1F2F3F4F5F6F7F8F9FAFBFCFD",
	    "E03EAD0935C95E80E166B16DD92B4EB4"
	    "D23513162B02D0F72A43A2FE4A5F97AB"
	    "41E95B3BB0A2E8DD477901E4FCA894C0",
	    "EC8CDF7398607CB0F2D21675EA9EA1E4"
	    "362B7C3C6773516318A077D7FC5073AE"
	    "6A2CC3787889374FBEB4C81B17BA6C44");
}

/*
 * ICM states share one OpenSSL context per thread: two of them used in
 * turn, each continuing its keystream across calls, must give what each
 * gives alone.
 */
Test(srtp_openssl, icm_states_interleaved)
{
	unsigned char ka[46], kb[30], iva[16] = { 0 }, ivb[16] = { 0 };
	unsigned char alone[2][300], mixed[2][300];
	srtp_cipher_t *a, *b;
	unsigned int n;

	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	cr_assert_eq(srtp_openssl_register(), 0);
	for (size_t i = 0; i < sizeof(ka); i++)
		ka[i] = (unsigned char)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(kb); i++)
		kb[i] = (unsigned char)(i * 13 + 5);
	iva[9] = 0x42, ivb[12] = 0x17;
	a = cipher_new(SRTP_AES_ICM_256, ka, sizeof(ka), 0);
	b = cipher_new(SRTP_AES_ICM_128, kb, sizeof(kb), 0);
	memset(alone, 0, sizeof(alone));
	memset(mixed, 0, sizeof(mixed));
	n = 300;
	cr_assert_eq(srtp_cipher_set_iv(a, iva, srtp_direction_encrypt), 0);
	cr_assert_eq(srtp_cipher_encrypt(a, alone[0], &n), 0);
	cr_assert_eq(srtp_cipher_set_iv(b, ivb, srtp_direction_encrypt), 0);
	cr_assert_eq(srtp_cipher_encrypt(b, alone[1], &n), 0);
	cr_assert_eq(srtp_cipher_set_iv(a, iva, srtp_direction_encrypt), 0);
	cr_assert_eq(srtp_cipher_set_iv(b, ivb, srtp_direction_encrypt), 0);
	for (unsigned int off = 0, step = 5; off < 300; off += step, step += 6) {
		n = step > 300 - off ? 300 - off : step;
		cr_assert_eq(srtp_cipher_encrypt(a, mixed[0] + off, &n), 0);
		cr_assert_eq(srtp_cipher_encrypt(b, mixed[1] + off, &n), 0);
	}
	cr_assert_eq(memcmp(alone[0], mixed[0], 300), 0, "first state");
	cr_assert_eq(memcmp(alone[1], mixed[1], 300), 0, "second state");
	cr_assert_neq(memcmp(alone[0], alone[1], 300), 0);
	srtp_cipher_dealloc(a);
	srtp_cipher_dealloc(b);
}

Test(srtp_openssl, rfc3711_b3_key_derivation)
{
	const char *mk = "E1F97A0D3E018BE0D64FA32C06DE4139"
	    "0EC675AD498AFEEBB6960B3AABE6";

	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	cr_assert_eq(srtp_openssl_register(), 0);
	kdf_check(SRTP_AES_ICM_128, mk, 0x00,
	    "C61E7A93744F39EE10734AFE3FF7A087");
	kdf_check(SRTP_AES_ICM_128, mk, 0x02, "30CBBC08863D8C85D49DB34A9AE1");
	kdf_check(SRTP_AES_ICM_128, mk, 0x01,
	    "CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE"
	    "E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25"
	    "6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2");
}

Test(srtp_openssl, rfc6188_aes_192_256_keystream_and_kdf)
{
	const char *mk256 = "f0f04914b513f2763a1b1fa130f10e29"
	    "98f6f6e43e4309d1e622a0e332b9f1b6" "3b04803de51ee7c96423ab5b78d2";
	const char *mk192 = "73edc66c4fa15776fb57f9505c17136550ffda71f3e8e5f1"
	    "c8522f3acd4ce86d5add78edbb11";

	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	cr_assert_eq(srtp_openssl_register(), 0);
	/* 7.1 */
	keystream_check(SRTP_AES_ICM_256,
	    "57f82fe3613fd170a85ec93c40b1f092"
	    "2ec4cb0dc025b58272147cc438944a98" "f0f1f2f3f4f5f6f7f8f9fafbfcfd",
	    "92bdd28a93c3f52511c677d08b5515a4"
	    "9da71b2378a854f67050756ded165bac"
	    "63c4868b7096d88421b563b8c94c9a31",
	    "cea518c90fd91ced9cbb18c078a54711"
	    "3dbc4814f4da5f00a08772b63c6a046d"
	    "6eb246913062a16891433e97dd01a57f");
	/* 7.2 */
	kdf_check(SRTP_AES_ICM_256, mk256, 0x00,
	    "5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4");
	kdf_check(SRTP_AES_ICM_256, mk256, 0x02, "fa31791685ca444a9e07c6c64e93");
	kdf_check(SRTP_AES_ICM_256, mk256, 0x01,
	    "fd9c32d39ed5fbb5a9dc96b30818454d1313dc05");
	/* 7.3, 7.4: AES-192 comes along; no SDES suite uses it */
	keystream_check(SRTP_AES_ICM_192,
	    "eab234764e517b2d3d160d587d8c86219740f65f99b6bcf7"
	    "f0f1f2f3f4f5f6f7f8f9fafbfcfd",
	    "35096cba4610028dc1b57503804ce37c"
	    "5de986291dcce161d5165ec4568f5c9a"
	    "474a40c77894bc17180202272a4c264d",
	    "d108d1a31a00bad6367ec23eb044b415"
	    "c8f57129fdeb970b59f917b257662d4c"
	    "a5dab625811034e8cebdfeb6dc158dd3");
	kdf_check(SRTP_AES_ICM_192, mk192, 0x00,
	    "31874736a8f1143870c26e4857d8a5b2c4a354407faadabb");
	kdf_check(SRTP_AES_ICM_192, mk192, 0x02, "2372b82d639b6d8503a47adc0a6c");
	kdf_check(SRTP_AES_ICM_192, mk192, 0x01,
	    "355b10973cd95b9eacf4061c7e1a7151e7cfbfcb");
}

/* RFC 7714 16.1.1/16.1.2 and 16.2.1/16.2.2 through srtp_cipher_*. */
static void
gcm_check(srtp_cipher_type_id_t id, const char *key_salt, const char *want)
{
	unsigned char key[64], iv[12], aad[12], pt[64], buf[128], w[128];
	size_t kl = unhex(key_salt, key, sizeof(key));
	size_t wl = unhex(want, w, sizeof(w));
	uint32_t n, tl;
	srtp_cipher_t *c = cipher_new(id, key, (int)kl, 16);
	uint64_t before = counters_now().gcm;

	unhex("51753c6580c2726f20718414", iv, sizeof(iv));
	unhex("8040f17b8041f8d35501a0b2", aad, sizeof(aad));
	memcpy(pt, "Gallia est omnis divisa in partes tres", 38);

	cr_assert_eq(c->algorithm, (int)id);
	memcpy(buf, pt, 38);
	cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt),
	    srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_set_aad(c, aad, 12), srtp_err_status_ok);
	n = 38;
	cr_assert_eq(srtp_cipher_encrypt(c, buf, &n), srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_get_tag(c, buf + n, &tl), srtp_err_status_ok);
	cr_assert_eq(n + tl, wl);
	cr_assert_eq(memcmp(buf, w, wl), 0, "GCM id %d", (int)id);

	/* decrypt, the AAD in two pieces as SRTCP gives it */
	cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt),
	    srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_set_aad(c, aad, 5), srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_set_aad(c, aad + 5, 7), srtp_err_status_ok);
	n = (uint32_t)wl;
	cr_assert_eq(srtp_cipher_decrypt(c, buf, &n), srtp_err_status_ok);
	cr_assert_eq(n, 38);
	cr_assert_eq(memcmp(buf, pt, 38), 0);

	/* any flipped bit, ciphertext, tag or AAD, fails */
	for (size_t bit = 0; bit < (wl + 12) * 8; bit += 7) {
		unsigned char a2[12];

		memcpy(buf, w, wl);
		memcpy(a2, aad, 12);
		if (bit / 8 < wl)
			buf[bit / 8] ^= (unsigned char)(1 << bit % 8);
		else
			a2[bit / 8 - wl] ^= (unsigned char)(1 << bit % 8);
		cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt),
		    srtp_err_status_ok);
		cr_assert_eq(srtp_cipher_set_aad(c, a2, 12), srtp_err_status_ok);
		n = (uint32_t)wl;
		cr_assert_eq(srtp_cipher_decrypt(c, buf, &n),
		    srtp_err_status_auth_fail, "bit %zu", bit);
	}
	/* shorter than a tag */
	cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt),
	    srtp_err_status_ok);
	n = 15;
	cr_assert_eq(srtp_cipher_decrypt(c, buf, &n), srtp_err_status_auth_fail);
	cr_assert_gt(counters_now().gcm, before, "our GCM did not run");
	cr_assert_eq(srtp_cipher_dealloc(c), srtp_err_status_ok);
}

Test(srtp_openssl, rfc7714_aes_gcm)
{
	unsigned char key[28], iv[12], pkt[64], tag[16];
	uint32_t n = 0, tl;
	srtp_cipher_t *c;

	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	cr_assert_eq(srtp_openssl_register(), 0);
	gcm_check(SRTP_AES_GCM_128,
	    "000102030405060708090a0b0c0d0e0f" "517569642070726f2071756f",
	    "f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b"
	    "36de3adf8833" "899d7f27beb16a9152cf765ee4390cce");
	gcm_check(SRTP_AES_GCM_256,
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "517569642070726f2071756f",
	    "32b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f"
	    "1ba63799b87b7aa3" "db36dfffd6b0f9bb7878d7a76c13");

	/*
	 * 16.1.3: the whole packet as AAD, nothing encrypted -- SRTCP with
	 * the E flag clear: encrypt() of no bytes, then get_tag().
	 */
	unhex("000102030405060708090a0b0c0d0e0f517569642070726f2071756f", key,
	    sizeof(key));
	unhex("51753c6580c2726f20718414", iv, sizeof(iv));
	unhex("8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e6973206469"
	    "7669736120696e207061727465732074726573", pkt, sizeof(pkt));
	c = cipher_new(SRTP_AES_GCM_128, key, 28, 16);
	cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt),
	    srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_set_aad(c, pkt, 50), srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_encrypt(c, NULL, &n), srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_get_tag(c, tag, &tl), srtp_err_status_ok);
	cr_assert_eq(tl, 16);
	assert_hex(tag, "22493f82d2bce397e9d79e3b19aa4216", "16.1.3 tag");
	cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt),
	    srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_set_aad(c, pkt, 50), srtp_err_status_ok);
	n = 16;
	cr_assert_eq(srtp_cipher_decrypt(c, tag, &n), srtp_err_status_ok);
	cr_assert_eq(n, 0);
	cr_assert_eq(srtp_cipher_dealloc(c), srtp_err_status_ok);

	/* an 8-byte tag is the first 8 bytes of the 16-byte one */
	c = cipher_new(SRTP_AES_GCM_128, key, 28, 8);
	cr_assert_eq(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt),
	    srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_set_aad(c, pkt, 50), srtp_err_status_ok);
	n = 0;
	cr_assert_eq(srtp_cipher_encrypt(c, NULL, &n), srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_get_tag(c, tag, &tl), srtp_err_status_ok);
	cr_assert_eq(tl, 8);
	assert_hex(tag, "22493f82d2bce397", "16.1.3 tag, 8 bytes");
	cr_assert_eq(srtp_cipher_dealloc(c), srtp_err_status_ok);
}

Test(srtp_openssl, hmac_sha1_rfc2202)
{
	const srtp_auth_type_t *at;
	srtp_auth_t *a;
	unsigned char key[20], tag[20];
	uint64_t before;

	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	at = srtp_openssl_auth_type();
	cr_assert_not_null(at);
	before = counters_now().hmac;
	/* RFC 2202 case 1, whole and in pieces, with start() between */
	memset(key, 0x0b, sizeof(key));
	cr_assert_eq(srtp_auth_type_alloc(at, &a, 20, 20), srtp_err_status_ok);
	cr_assert_eq(srtp_auth_get_tag_length(a), 20);
	cr_assert_eq(srtp_auth_get_prefix_length(a), 0);
	cr_assert_eq(srtp_auth_init(a, key), srtp_err_status_ok);
	for (int round = 0; round < 3; round++) {
		memset(tag, 0, sizeof(tag));
		if (round == 0) {	/* init() leaves it started */
			cr_assert_eq(srtp_auth_compute(a,
			    (const uint8_t *)"Hi There", 8, tag),
			    srtp_err_status_ok);
		} else {
			cr_assert_eq(srtp_auth_start(a), srtp_err_status_ok);
			cr_assert_eq(srtp_auth_update(a,
			    (const uint8_t *)"Hi", 2), srtp_err_status_ok);
			cr_assert_eq(srtp_auth_update(a,
			    (const uint8_t *)" Th", 3), srtp_err_status_ok);
			cr_assert_eq(srtp_auth_compute(a,
			    (const uint8_t *)"ere", 3, tag), srtp_err_status_ok);
		}
		assert_hex(tag, "b617318655057264e28bc0b6fb378c8ef146be00",
		    "RFC 2202 case 1");
	}
	cr_assert_eq(srtp_auth_dealloc(a), srtp_err_status_ok);
	cr_assert_eq(counters_now().hmac, before + 3);

	/* limits of the stock HMAC: keys and tags up to 20 bytes */
	cr_assert_eq(srtp_auth_type_alloc(at, &a, 21, 10),
	    srtp_err_status_bad_param);
	cr_assert_eq(srtp_auth_type_alloc(at, &a, 20, 21),
	    srtp_err_status_bad_param);
}

Test(srtp_openssl, cipher_parameters_refused)
{
	srtp_cipher_t *c;

	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	cr_assert_eq(srtp_cipher_type_alloc(srtp_openssl_cipher_type(
	    SRTP_AES_ICM_128), &c, 16, 0), srtp_err_status_bad_param);
	cr_assert_eq(srtp_cipher_type_alloc(srtp_openssl_cipher_type(
	    SRTP_AES_ICM_256), &c, 44, 0), srtp_err_status_bad_param);
	cr_assert_eq(srtp_cipher_type_alloc(srtp_openssl_cipher_type(
	    SRTP_AES_GCM_128), &c, 30, 16), srtp_err_status_bad_param);
	cr_assert_eq(srtp_cipher_type_alloc(srtp_openssl_cipher_type(
	    SRTP_AES_GCM_128), &c, 28, 12), srtp_err_status_bad_param);
	/* like the stock ICM, the key length picks the AES size */
	cr_assert_eq(srtp_cipher_type_alloc(srtp_openssl_cipher_type(
	    SRTP_AES_ICM_128), &c, 46, 0), srtp_err_status_ok);
	cr_assert_eq(c->type, srtp_openssl_cipher_type(SRTP_AES_ICM_256));
	cr_assert_eq(c->algorithm, SRTP_AES_ICM_256);
	cr_assert_eq(srtp_cipher_dealloc(c), srtp_err_status_ok);
}

/* ---- a reference SRTP on plain OpenSSL calls (RFC 3711, RFC 7714) ---- */

struct ref_keys {
	int		 gcm;
	int		 keylen, saltlen, taglen;	/* RTP tag */
	unsigned char	 ek[32], es[14], ak[20];	/* SRTP */
	unsigned char	 cek[32], ces[14], cak[20];	/* SRTCP */
};

static void
ref_ctr(const unsigned char *key, int keylen, const unsigned char *iv,
    unsigned char *buf, int len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const EVP_CIPHER *e = keylen == 16 ? EVP_aes_128_ctr() :
	    keylen == 24 ? EVP_aes_192_ctr() : EVP_aes_256_ctr();
	int outl;

	cr_assert(ctx != NULL);
	cr_assert_eq(EVP_EncryptInit_ex(ctx, e, NULL, key, iv), 1);
	cr_assert_eq(EVP_EncryptUpdate(ctx, buf, &outl, buf, len), 1);
	EVP_CIPHER_CTX_free(ctx);
}

/* RFC 3711 4.3.1 with kdr 0: AES-CM(master key, (salt ^ label<<48) << 16) */
static void
ref_kdf(const unsigned char *mk, int mklen, const unsigned char *ms,
    int label, unsigned char *out, int n)
{
	unsigned char iv[16] = { 0 };

	memcpy(iv, ms, 14);
	iv[7] ^= (unsigned char)label;
	memset(out, 0, (size_t)n);
	ref_ctr(mk, mklen, iv, out, n);
}

/* master is key || salt; GCM's 12-byte salt is padded with zeros */
static void
ref_derive(int gcm, int keylen, int taglen, const unsigned char *master,
    struct ref_keys *k)
{
	unsigned char ms[14] = { 0 };

	memset(k, 0, sizeof(*k));
	k->gcm = gcm;
	k->keylen = keylen;
	k->saltlen = gcm ? 12 : 14;
	k->taglen = taglen;
	memcpy(ms, master + keylen, (size_t)k->saltlen);
	ref_kdf(master, keylen, ms, 0, k->ek, keylen);
	ref_kdf(master, keylen, ms, 2, k->es, k->saltlen);
	ref_kdf(master, keylen, ms, 3, k->cek, keylen);
	ref_kdf(master, keylen, ms, 5, k->ces, k->saltlen);
	if (!gcm) {
		ref_kdf(master, keylen, ms, 1, k->ak, 20);
		ref_kdf(master, keylen, ms, 4, k->cak, 20);
	}
}

static void
ref_gcm(const unsigned char *key, int keylen, const unsigned char *iv,
    const unsigned char *aad, int aadlen, unsigned char *buf, int len,
    unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl;

	cr_assert(ctx != NULL);
	cr_assert_eq(EVP_EncryptInit_ex(ctx, keylen == 16 ? EVP_aes_128_gcm() :
	    EVP_aes_256_gcm(), NULL, key, iv), 1);
	cr_assert_eq(EVP_EncryptUpdate(ctx, NULL, &outl, aad, aadlen), 1);
	if (len > 0)
		cr_assert_eq(EVP_EncryptUpdate(ctx, buf, &outl, buf, len), 1);
	cr_assert_eq(EVP_EncryptFinal_ex(ctx, buf + len, &outl), 1);
	cr_assert_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag), 1);
	EVP_CIPHER_CTX_free(ctx);
}

static int
rtp_header_len(const unsigned char *p)
{
	int hl = 12 + 4 * (p[0] & 0x0f);

	if (p[0] & 0x10)
		hl += 4 + 4 * ((p[hl + 2] << 8) | p[hl + 3]);
	return hl;
}

/* Protect p (len bytes) as the packet with rollover counter roc. */
static int
ref_protect_rtp(const struct ref_keys *k, unsigned char *p, int len,
    uint32_t roc)
{
	int hl = rtp_header_len(p);
	uint64_t idx = (uint64_t)roc << 16 | (uint64_t)(p[2] << 8 | p[3]);
	unsigned char iv[16] = { 0 }, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	if (k->gcm) {
		/* RFC 7714 8.1: 00 00 || SSRC || ROC || SEQ, ^ salt */
		memcpy(iv + 2, p + 8, 4);
		put32(iv + 6, roc);
		iv[10] = p[2];
		iv[11] = p[3];
		for (int i = 0; i < 12; i++)
			iv[i] ^= k->es[i];
		ref_gcm(k->ek, k->keylen, iv, p, hl, p + hl, len - hl, p + len);
		return len + 16;
	}
	/* RFC 3711 4.1.1: salt*2^16 ^ SSRC*2^64 ^ index*2^16 */
	memcpy(iv, k->es, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= p[8 + i];
	for (int i = 0; i < 6; i++)
		iv[8 + i] ^= (unsigned char)(idx >> (40 - 8 * i));
	ref_ctr(k->ek, k->keylen, iv, p + hl, len - hl);
	put32(p + len, roc);	/* authenticated, then overwritten by the tag */
	HMAC(EVP_sha1(), k->ak, 20, p, (size_t)len + 4, md, &mdlen);
	memcpy(p + len, md, (size_t)k->taglen);
	return len + k->taglen;
}

/* SRTCP with the E flag set and SRTCP index idx; the tag is 80 bits. */
static int
ref_protect_rtcp(const struct ref_keys *k, unsigned char *p, int len,
    uint32_t idx)
{
	unsigned char iv[16] = { 0 }, md[EVP_MAX_MD_SIZE], aad[12];
	unsigned int mdlen;

	if (k->gcm) {
		/* RFC 7714 9.1: 00 00 || SSRC || 00 00 || 0 || index */
		memcpy(iv + 2, p + 4, 4);
		put32(iv + 8, idx);
		for (int i = 0; i < 12; i++)
			iv[i] ^= k->ces[i];
		memcpy(aad, p, 8);
		put32(aad + 8, 0x80000000u | idx);
		ref_gcm(k->cek, k->keylen, iv, aad, 12, p + 8, len - 8, p + len);
		put32(p + len + 16, 0x80000000u | idx);
		return len + 16 + 4;
	}
	memcpy(iv, k->ces, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= p[4 + i];
	for (int i = 0; i < 4; i++)
		iv[10 + i] ^= (unsigned char)(idx >> (24 - 8 * i));
	ref_ctr(k->cek, k->keylen, iv, p + 8, len - 8);
	put32(p + len, 0x80000000u | idx);
	HMAC(EVP_sha1(), k->cak, 20, p, (size_t)len + 4, md, &mdlen);
	memcpy(p + len + 4, md, 10);
	return len + 4 + 10;
}

/* ---- whole sessions against the reference ---- */

struct suite_info {
	int		 sdes;		/* enum sdes_suite_id */
	const char	*name;
	int		 gcm, keylen, saltlen, taglen;
};

static const struct suite_info suites[] = {
	{ SDES_AES_CM_128_HMAC_SHA1_80, "AES_CM_128_HMAC_SHA1_80", 0, 16, 14, 10 },
	{ SDES_AES_CM_128_HMAC_SHA1_32, "AES_CM_128_HMAC_SHA1_32", 0, 16, 14, 4 },
	{ SDES_AES_256_CM_HMAC_SHA1_80, "AES_256_CM_HMAC_SHA1_80", 0, 32, 14, 10 },
	{ SDES_AES_256_CM_HMAC_SHA1_32, "AES_256_CM_HMAC_SHA1_32", 0, 32, 14, 4 },
	{ SDES_AEAD_AES_128_GCM, "AEAD_AES_128_GCM", 1, 16, 12, 16 },
	{ SDES_AEAD_AES_256_GCM, "AEAD_AES_256_GCM", 1, 32, 12, 16 },
};
#define NSUITES (int)(sizeof(suites) / sizeof(suites[0]))

/* A tx session the way srtp_stream.c builds one, straight on libsrtp2. */
static srtp_t
session_tx(const struct suite_info *s, unsigned char *master)
{
	const struct sdes_suite *su = sdes_suite_get(s->sdes);
	srtp_policy_t pol;
	srtp_t sess;

	memset(&pol, 0, sizeof(pol));
	su->rtp_policy(&pol.rtp);
	su->rtcp_policy(&pol.rtcp);
	pol.ssrc.type = ssrc_any_outbound;
	pol.key = master;
	cr_assert_eq(srtp_create(&sess, &pol), srtp_err_status_ok, "%s",
	    s->name);
	return sess;
}

static int
pcmu_build(unsigned char *p, uint16_t seq, uint32_t ssrc)
{
	p[0] = 0x80;
	p[1] = 0x00;
	p[2] = (unsigned char)(seq >> 8);
	p[3] = (unsigned char)seq;
	put32(p + 4, (uint32_t)seq * 160);
	put32(p + 8, ssrc);
	for (int i = 0; i < 160; i++)
		p[12 + i] = (unsigned char)(0xd5 ^ (seq + i));
	return 172;
}

static int
sr_build(unsigned char *p, uint32_t ssrc)
{
	memset(p, 0, 28);
	p[0] = 0x80;
	p[1] = 200;
	p[3] = 6;
	put32(p + 4, ssrc);
	for (int i = 8; i < 28; i++)
		p[i] = (unsigned char)(i * 11);
	return 28;
}

/*
 * Stock and replaced tx sessions from one master key protect the same
 * packets, across a sequence wrap; both must give the reference's bytes.
 */
static void
sessions_match_reference(const struct suite_info *s, unsigned char *master)
{
	struct ref_keys k;
	srtp_t stock, ours;
	uint64_t c0;
	uint32_t roc = 0;

	ref_derive(s->gcm, s->keylen, s->taglen, master, &k);
	/* a fresh kernel has the stock types again */
	cr_assert_eq(srtp_shutdown(), srtp_err_status_ok);
	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	stock = session_tx(s, master);
	cr_assert_eq(srtp_openssl_register(), 0);
	ours = session_tx(s, master);

	for (uint32_t i = 0; i < 40; i++) {
		uint16_t seq = (uint16_t)(65516 + i);
		unsigned char a[BUFSZ], b[BUFSZ], r[BUFSZ];
		int alen, blen, rlen;

		if (seq == 0 && i > 0)
			roc++;
		alen = blen = rlen = pcmu_build(a, seq, 0xdecafbad);
		memcpy(b, a, (size_t)alen);
		memcpy(r, a, (size_t)alen);
		rlen = ref_protect_rtp(&k, r, rlen, roc);
		c0 = counters_sum();
		cr_assert_eq(srtp_protect(stock, a, &alen), srtp_err_status_ok);
		cr_assert_eq(counters_sum(), c0, "the stock session ran our code");
		cr_assert_eq(srtp_protect(ours, b, &blen), srtp_err_status_ok);
		cr_assert_gt(counters_sum(), c0, "ours did not run our code");
		cr_assert_eq(alen, rlen);
		cr_assert_eq(blen, rlen);
		cr_assert_eq(memcmp(a, r, (size_t)rlen), 0, "%s stock seq %u",
		    s->name, seq);
		cr_assert_eq(memcmp(b, r, (size_t)rlen), 0, "%s ours seq %u",
		    s->name, seq);

		alen = blen = rlen = sr_build(a, 0xdecafbad);
		memcpy(b, a, (size_t)alen);
		memcpy(r, a, (size_t)alen);
		rlen = ref_protect_rtcp(&k, r, rlen, i + 1);
		cr_assert_eq(srtp_protect_rtcp(stock, a, &alen),
		    srtp_err_status_ok);
		cr_assert_eq(srtp_protect_rtcp(ours, b, &blen),
		    srtp_err_status_ok);
		cr_assert_eq(alen, rlen);
		cr_assert_eq(blen, rlen);
		cr_assert_eq(memcmp(a, r, (size_t)rlen), 0, "%s stock rtcp %u",
		    s->name, i);
		cr_assert_eq(memcmp(b, r, (size_t)rlen), 0, "%s ours rtcp %u",
		    s->name, i);
	}
	cr_assert_eq(roc, 1);
	srtp_dealloc(stock);
	srtp_dealloc(ours);
}

Test(srtp_openssl, rfc3711_b3_master_key_whole_session)
{
	unsigned char master[30];
	struct ref_keys k;

	unhex("E1F97A0D3E018BE0D64FA32C06DE4139" "0EC675AD498AFEEBB6960B3AABE6",
	    master, sizeof(master));
	/* the reference's key derivation is the RFC's */
	ref_derive(0, 16, 10, master, &k);
	assert_hex(k.ek, "C61E7A93744F39EE10734AFE3FF7A087", "B.3 cipher key");
	assert_hex(k.es, "30CBBC08863D8C85D49DB34A9AE1", "B.3 cipher salt");
	assert_hex(k.ak, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4",
	    "B.3 auth key");
	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	sessions_match_reference(&suites[0], master);
}

Test(srtp_openssl, rfc6188_master_key_whole_session)
{
	unsigned char master[46];
	struct ref_keys k;

	unhex("f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6"
	    "3b04803de51ee7c96423ab5b78d2", master, sizeof(master));
	ref_derive(0, 32, 10, master, &k);
	assert_hex(k.ek,
	    "5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4",
	    "7.2 cipher key");
	assert_hex(k.es, "fa31791685ca444a9e07c6c64e93", "7.2 cipher salt");
	assert_hex(k.ak, "fd9c32d39ed5fbb5a9dc96b30818454d1313dc05",
	    "7.2 auth key");
	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	sessions_match_reference(&suites[2], master);
}

Test(srtp_openssl, every_suite_whole_session_random_keys)
{
	cr_assert_eq(srtp_init(), srtp_err_status_ok);
	for (int i = 0; i < NSUITES; i++) {
		unsigned char master[46];

		rnd_bytes(master, sizeof(master));
		sessions_match_reference(&suites[i], master);
	}
}

/* ---- stock against replaced, thousands of random packets ---- */

static int
rtp_random(unsigned char *p, uint16_t seq, uint32_t ssrc)
{
	int cc = rnd() % 4 == 0 ? (int)(rnd() % 4) : 0;
	int x = rnd() % 5 == 0;
	int hl = 12 + 4 * cc, plen;

	p[0] = (unsigned char)(0x80 | (x << 4) | cc);
	p[1] = (unsigned char)(rnd() % 256);
	p[2] = (unsigned char)(seq >> 8);
	p[3] = (unsigned char)seq;
	rnd_bytes(p + 4, 4);
	put32(p + 8, ssrc);
	rnd_bytes(p + 12, (size_t)(4 * cc));
	if (x) {
		int words = (int)(rnd() % 5);

		p[hl] = 0xbe;
		p[hl + 1] = 0xde;
		p[hl + 2] = 0;
		p[hl + 3] = (unsigned char)words;
		rnd_bytes(p + hl + 4, (size_t)(4 * words));
		hl += 4 + 4 * words;
	}
	plen = rnd() % 8 == 0 ? (int)(rnd() % 17) : (int)(rnd() % 1200);
	rnd_bytes(p + hl, (size_t)plen);
	return hl + plen;
}

static int
rtcp_random(unsigned char *p, uint32_t ssrc)
{
	int words = 1 + (int)(rnd() % 100);

	p[0] = (unsigned char)(0x80 | (rnd() % 32));
	p[1] = (unsigned char)(200 + rnd() % 5);
	p[2] = (unsigned char)(words >> 8);
	p[3] = (unsigned char)words;
	put32(p + 4, ssrc);
	rnd_bytes(p + 8, (size_t)(4 * words - 4));
	return 4 + 4 * words;
}

/* Which counter proves the replaced code ran for this suite. */
static uint64_t
proof(const struct suite_info *s)
{
	struct srtp_openssl_counters c = counters_now();

	return s->gcm ? c.gcm : c.hmac;
}

struct quad {
	struct srtp_stream stx, srx;	/* stock */
	struct srtp_stream otx, orx;	/* OpenSSL */
};

/*
 * The stock streams come first, through srtp_stream's own start-up with
 * TLSTRUNK_SRTP_STOCK=1 (so the switch is tested too); then we
 * register and make the OpenSSL ones.  One key for all four.
 */
static void
quad_make(const struct suite_info *s, int mki, struct quad *q)
{
	struct sdes_crypto c;
	uint64_t c0;

	memset(q, 0, sizeof(*q));
	memset(&c, 0, sizeof(c));
	cr_assert_eq(sdes_crypto_generate(1, s->sdes, &c), SDES_OK);
	if (mki) {
		c.has_mki = 1;
		c.mki = 0x1234;
		c.mki_len = 3;
	}
	setenv(SRTP_OPENSSL_ENV_STOCK, "1", 1);
	c0 = counters_sum();
	cr_assert_eq(srtp_stream_init_tx(&q->stx, &c), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_init_rx(&q->srx, &c), SRTP_STREAM_OK);
	cr_assert_eq(counters_sum(), c0, "the stock set-up ran our code");
	unsetenv(SRTP_OPENSSL_ENV_STOCK);
	cr_assert_eq(srtp_openssl_register(), 0);
	cr_assert_eq(srtp_stream_init_tx(&q->otx, &c), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_init_rx(&q->orx, &c), SRTP_STREAM_OK);
	/* the key derivation of the new sessions ran on our AES-ICM */
	cr_assert_gt(counters_now().icm, c0, "set-up did not use our ICM");
	cr_assert_eq(q->stx.trailer, q->otx.trailer);
	cr_assert_eq(q->stx.trailer_rtcp, q->otx.trailer_rtcp);
	sdes_crypto_wipe(&c);
}

static void
quad_free(struct quad *q)
{
	srtp_stream_free(&q->stx);
	srtp_stream_free(&q->srx);
	srtp_stream_free(&q->otx);
	srtp_stream_free(&q->orx);
}

/* A copy of pkt with one random bit flipped must not unprotect. */
static void
tamper_check(struct srtp_stream *rx, const unsigned char *pkt, int len,
    int rtcp)
{
	unsigned char t[BUFSZ];
	int tlen = len;
	size_t bit = (size_t)(rnd() % (uint64_t)(len * 8));

	memcpy(t, pkt, (size_t)len);
	t[bit / 8] ^= (unsigned char)(1 << bit % 8);
	if (rtcp)
		cr_assert_neq(srtp_stream_unprotect_rtcp(rx, t, &tlen),
		    SRTP_STREAM_OK, "rtcp bit %zu flipped and accepted", bit);
	else
		cr_assert_neq(srtp_stream_unprotect(rx, t, &tlen),
		    SRTP_STREAM_OK, "rtp bit %zu flipped and accepted", bit);
}

#define NSSRC		3
#define NRTP		4000
#define NRTCP		1000
#define ROC_JUMP	0x00123456u	/* set on SSRC 2 after its first packet */

static void
cross_check(const struct suite_info *s, int mki)
{
	static const uint32_t ssrcs[NSSRC] = { 0x11111111, 0x5eed0002, 0xfeedf00d };
	uint16_t seq[NSSRC];
	int sent[NSSRC] = { 0 };
	struct quad q;
	uint32_t roc;

	rng ^= (uint64_t)s->sdes * 0x100000001b3ULL + (uint64_t)mki;
	quad_make(s, mki, &q);
	for (int i = 0; i < NSSRC; i++)	/* each wraps within the run */
		seq[i] = (uint16_t)(65536 - 1500 + rnd() % 500);

	for (int n = 0; n < NRTP; n++) {
		unsigned char plain[BUFSZ], a[BUFSZ], b[BUFSZ];
		int j = (int)(rnd() % NSSRC), plen, alen, blen;
		uint64_t p0;

		plen = rtp_random(plain, seq[j], ssrcs[j]);
		memcpy(a, plain, (size_t)plen);
		memcpy(b, plain, (size_t)plen);
		alen = blen = plen;

		p0 = proof(s);
		cr_assert_eq(srtp_stream_protect(&q.stx, a, &alen, BUFSZ),
		    SRTP_STREAM_OK);
		cr_assert_eq(proof(s), p0, "stock protect ran our code");
		cr_assert_eq(srtp_stream_protect(&q.otx, b, &blen, BUFSZ),
		    SRTP_STREAM_OK);
		cr_assert_eq(proof(s), p0 + 1, "our protect did not run");
		cr_assert_eq(alen, blen);
		cr_assert_eq(memcmp(a, b, (size_t)alen), 0,
		    "%s: stock and OpenSSL differ, packet %d", s->name, n);

		if (n % 16 == 0) {
			tamper_check(&q.orx, a, alen, 0);
			tamper_check(&q.srx, b, blen, 0);
		}
		/* stock-protected into ours, ours into stock */
		p0 = proof(s);
		cr_assert_eq(srtp_stream_unprotect(&q.orx, a, &alen),
		    SRTP_STREAM_OK, "%s: ours refused stock's packet %d",
		    s->name, n);
		cr_assert_eq(proof(s), p0 + 1);
		cr_assert_eq(srtp_stream_unprotect(&q.srx, b, &blen),
		    SRTP_STREAM_OK, "%s: stock refused our packet %d",
		    s->name, n);
		cr_assert_eq(proof(s), p0 + 1, "stock unprotect ran our code");
		cr_assert_eq(alen, plen);
		cr_assert_eq(blen, plen);
		cr_assert_eq(memcmp(a, plain, (size_t)plen), 0);
		cr_assert_eq(memcmp(b, plain, (size_t)plen), 0);

		if (j == 2 && sent[j] == 0) {
			srtp_t all[4] = { q.stx.session, q.srx.session,
			    q.otx.session, q.orx.session };

			for (int m = 0; m < 4; m++)
				cr_assert_eq(srtp_set_stream_roc(all[m],
				    ssrcs[j], ROC_JUMP), srtp_err_status_ok);
		}
		sent[j]++;
		seq[j] = (uint16_t)(seq[j] + 1 + (rnd() % 4 == 0));
	}
	/* every SSRC wrapped its sequence number at least once */
	for (int j = 0; j < NSSRC; j++) {
		uint32_t want = j == 2 ? ROC_JUMP + 1 : 1;

		cr_assert_gt(sent[j], 1000);
		cr_assert_eq(srtp_get_stream_roc(q.orx.session, ssrcs[j], &roc),
		    srtp_err_status_ok);
		cr_assert_eq(roc, want, "ssrc %d roc %u", j, roc);
		cr_assert_eq(srtp_get_stream_roc(q.srx.session, ssrcs[j], &roc),
		    srtp_err_status_ok);
		cr_assert_eq(roc, want, "ssrc %d stock roc %u", j, roc);
	}

	for (int n = 0; n < NRTCP; n++) {
		unsigned char plain[BUFSZ], a[BUFSZ], b[BUFSZ];
		int j = (int)(rnd() % NSSRC), plen, alen, blen;
		uint64_t p0;

		plen = rtcp_random(plain, ssrcs[j]);
		memcpy(a, plain, (size_t)plen);
		memcpy(b, plain, (size_t)plen);
		alen = blen = plen;

		p0 = proof(s);
		cr_assert_eq(srtp_stream_protect_rtcp(&q.stx, a, &alen, BUFSZ),
		    SRTP_STREAM_OK);
		cr_assert_eq(proof(s), p0);
		cr_assert_eq(srtp_stream_protect_rtcp(&q.otx, b, &blen, BUFSZ),
		    SRTP_STREAM_OK);
		cr_assert_gt(proof(s), p0);
		cr_assert_eq(alen, blen);
		cr_assert_eq(memcmp(a, b, (size_t)alen), 0,
		    "%s: SRTCP differs, packet %d", s->name, n);
		if (n % 16 == 0) {
			tamper_check(&q.orx, a, alen, 1);
			tamper_check(&q.srx, b, blen, 1);
		}
		cr_assert_eq(srtp_stream_unprotect_rtcp(&q.orx, a, &alen),
		    SRTP_STREAM_OK, "%s: ours refused stock's SRTCP %d",
		    s->name, n);
		cr_assert_eq(srtp_stream_unprotect_rtcp(&q.srx, b, &blen),
		    SRTP_STREAM_OK, "%s: stock refused our SRTCP %d",
		    s->name, n);
		cr_assert_eq(alen, plen);
		cr_assert_eq(blen, plen);
		cr_assert_eq(memcmp(a, plain, (size_t)plen), 0);
		cr_assert_eq(memcmp(b, plain, (size_t)plen), 0);
	}
	quad_free(&q);
}

Test(srtp_openssl, cross_aes_cm_128_hmac_sha1_80) { cross_check(&suites[0], 0); }
Test(srtp_openssl, cross_aes_cm_128_hmac_sha1_80_mki) { cross_check(&suites[0], 1); }
Test(srtp_openssl, cross_aes_cm_128_hmac_sha1_32) { cross_check(&suites[1], 0); }
Test(srtp_openssl, cross_aes_256_cm_hmac_sha1_80) { cross_check(&suites[2], 0); }
Test(srtp_openssl, cross_aes_256_cm_hmac_sha1_32) { cross_check(&suites[3], 0); }
Test(srtp_openssl, cross_aead_aes_128_gcm) { cross_check(&suites[4], 0); }
Test(srtp_openssl, cross_aead_aes_256_gcm) { cross_check(&suites[5], 0); }
Test(srtp_openssl, cross_aead_aes_128_gcm_mki) { cross_check(&suites[4], 1); }

Test(srtp_openssl, environment_keeps_stock)
{
	struct sdes_crypto c;
	struct srtp_stream tx;
	unsigned char pkt[BUFSZ];
	uint64_t c0;
	int len;

	/* srtp_stream's start-up: srtp_init(), then srtp_openssl_init() */
	setenv(SRTP_OPENSSL_ENV_STOCK, "1", 1);
	cr_assert_eq(srtp_stream_global_init(), SRTP_STREAM_OK);
	cr_assert_eq(srtp_openssl_init(), 0);
	memset(&c, 0, sizeof(c));
	memset(&tx, 0, sizeof(tx));
	cr_assert_eq(sdes_crypto_generate(1, SDES_AES_CM_128_HMAC_SHA1_80, &c),
	    SDES_OK);
	c0 = counters_sum();
	cr_assert_eq(srtp_stream_init_tx(&tx, &c), SRTP_STREAM_OK);
	len = pcmu_build(pkt, 1, 42);
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, BUFSZ), SRTP_STREAM_OK);
	cr_assert_eq(counters_sum(), c0);
	srtp_stream_free(&tx);

	setenv(SRTP_OPENSSL_ENV_STOCK, "0", 1);	/* only "1" means stock */
	cr_assert_eq(srtp_openssl_init(), 1);
	cr_assert_eq(srtp_stream_init_tx(&tx, &c), SRTP_STREAM_OK);
	len = pcmu_build(pkt, 1, 42);
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, BUFSZ), SRTP_STREAM_OK);
	cr_assert_gt(counters_sum(), c0);
	srtp_stream_free(&tx);
	sdes_crypto_wipe(&c);
}
