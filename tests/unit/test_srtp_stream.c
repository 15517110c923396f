/* test_srtp_stream.c - libsrtp2 wrapper, keyed through SDES text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sdes.h"
#include "srtp_stream.h"

#define PAYLOAD		160	/* 20 ms of PCMU */
#define BUFSZ		2048

static void
setup(void)
{
	cr_assert_eq(srtp_stream_global_init(), SRTP_STREAM_OK);
}

static void
teardown(void)
{
	srtp_stream_global_shutdown();
}

TestSuite(srtp_stream, .init = setup, .fini = teardown);

/* A PCMU packet whose payload depends on seq and ssrc. */
static int
rtp_build(unsigned char *p, uint16_t seq, uint32_t ssrc)
{
	uint32_t ts = (uint32_t)seq * 160;

	p[0] = 0x80;
	p[1] = 0x00;
	p[2] = (unsigned char)(seq >> 8);
	p[3] = (unsigned char)seq;
	p[4] = (unsigned char)(ts >> 24);
	p[5] = (unsigned char)(ts >> 16);
	p[6] = (unsigned char)(ts >> 8);
	p[7] = (unsigned char)ts;
	p[8] = (unsigned char)(ssrc >> 24);
	p[9] = (unsigned char)(ssrc >> 16);
	p[10] = (unsigned char)(ssrc >> 8);
	p[11] = (unsigned char)ssrc;
	for (int i = 0; i < PAYLOAD; i++)
		p[12 + i] = (unsigned char)(seq * 7 + ssrc + i);
	return 12 + PAYLOAD;
}

/* A sender report with one report block: 52 bytes. */
static int
rtcp_build(unsigned char *p, uint32_t ssrc)
{
	memset(p, 0, 52);
	p[0] = 0x81;
	p[1] = 200;
	p[3] = 12;
	p[4] = (unsigned char)(ssrc >> 24);
	p[5] = (unsigned char)(ssrc >> 16);
	p[6] = (unsigned char)(ssrc >> 8);
	p[7] = (unsigned char)ssrc;
	for (int i = 8; i < 52; i++)
		p[i] = (unsigned char)(i * 3 + ssrc);
	return 52;
}

/*
 * A tx stream from a fresh key and the matching rx stream from that key
 * written out and parsed back, the way the peer's SDP reaches us.
 */
static void
pair_make(int suite, struct srtp_stream *tx, struct srtp_stream *rx)
{
	struct sdes_crypto mine, theirs;
	char line[SDES_FORMAT_MAX];

	cr_assert_eq(sdes_crypto_generate(1, suite, &mine), SDES_OK);
	cr_assert_gt(sdes_crypto_format(&mine, line, sizeof(line)), 0);
	cr_assert_eq(sdes_crypto_parse(line, &theirs), SDES_OK);
	memset(tx, 0, sizeof(*tx));
	memset(rx, 0, sizeof(*rx));
	cr_assert_eq(srtp_stream_init_tx(tx, &mine), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_init_rx(rx, &theirs), SRTP_STREAM_OK);
	sdes_crypto_wipe(&mine);
	sdes_crypto_wipe(&theirs);
	memset(line, 0, sizeof(line));
}

static void
pair_free(struct srtp_stream *tx, struct srtp_stream *rx)
{
	srtp_stream_free(tx);
	srtp_stream_free(rx);
}

/* Send seq/ssrc through tx and rx; the plain packet must come back. */
static void
rtp_through(struct srtp_stream *tx, struct srtp_stream *rx, uint16_t seq,
    uint32_t ssrc)
{
	unsigned char pkt[BUFSZ], plain[BUFSZ];
	int len, plen;

	plen = len = rtp_build(pkt, seq, ssrc);
	memcpy(plain, pkt, (size_t)len);
	cr_assert_eq(srtp_stream_protect(tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_OK, "protect seq %u ssrc %08x", seq, ssrc);
	cr_assert_eq(len, plen + tx->trailer);
	cr_assert_eq(srtp_stream_unprotect(rx, pkt, &len), SRTP_STREAM_OK,
	    "unprotect seq %u ssrc %08x", seq, ssrc);
	cr_assert_eq(len, plen);
	cr_assert_eq(memcmp(pkt, plain, (size_t)len), 0);
}

static const struct {
	int suite;
	int trailer, trailer_rtcp;
} suites[] = {
	{ SDES_AES_CM_128_HMAC_SHA1_80, 10, 4 + 10 },
	/* the _32 suites keep the 80-bit tag on SRTCP (RFC 4568 6.2.2) */
	{ SDES_AES_CM_128_HMAC_SHA1_32, 4, 4 + 10 },
	{ SDES_AES_256_CM_HMAC_SHA1_80, 10, 4 + 10 },
	{ SDES_AES_256_CM_HMAC_SHA1_32, 4, 4 + 10 },
	{ SDES_AEAD_AES_128_GCM, 16, 4 + 16 },
	{ SDES_AEAD_AES_256_GCM, 16, 4 + 16 },
};
#define NSUITES (int)(sizeof(suites) / sizeof(suites[0]))

Test(srtp_stream, global_init_idempotent)
{
	cr_assert_eq(srtp_stream_global_init(), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_global_init(), SRTP_STREAM_OK);
	srtp_stream_global_shutdown();
	srtp_stream_global_shutdown();
	cr_assert_eq(srtp_stream_global_init(), SRTP_STREAM_OK);
}

Test(srtp_stream, rtp_round_trip_every_suite)
{
	struct srtp_stream tx, rx;
	unsigned char pkt[BUFSZ], plain[BUFSZ];
	int len;

	for (int i = 0; i < NSUITES; i++) {
		pair_make(suites[i].suite, &tx, &rx);
		cr_assert_eq(tx.trailer, suites[i].trailer);
		cr_assert_eq(rx.trailer, suites[i].trailer);

		/* the payload really is encrypted, the header is not */
		len = rtp_build(pkt, 1000, 0x11223344);
		memcpy(plain, pkt, (size_t)len);
		cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
		    SRTP_STREAM_OK);
		cr_assert_eq(memcmp(pkt, plain, 12), 0);
		cr_assert_neq(memcmp(pkt + 12, plain + 12, PAYLOAD), 0);
		cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len),
		    SRTP_STREAM_OK);
		cr_assert_eq(len, 12 + PAYLOAD);
		cr_assert_eq(memcmp(pkt, plain, (size_t)len), 0);

		for (uint16_t seq = 1001; seq < 1100; seq++)
			rtp_through(&tx, &rx, seq, 0x11223344);
		pair_free(&tx, &rx);
	}
}

Test(srtp_stream, rtcp_round_trip_every_suite)
{
	struct srtp_stream tx, rx;
	unsigned char pkt[BUFSZ], plain[BUFSZ];
	int len, plen;

	for (int i = 0; i < NSUITES; i++) {
		pair_make(suites[i].suite, &tx, &rx);
		cr_assert_eq(tx.trailer_rtcp, suites[i].trailer_rtcp);
		for (int n = 0; n < 20; n++) {
			plen = len = rtcp_build(pkt, 0x11223344 + (uint32_t)n);
			memcpy(plain, pkt, (size_t)len);
			cr_assert_eq(srtp_stream_protect_rtcp(&tx, pkt, &len,
			    sizeof(pkt)), SRTP_STREAM_OK);
			cr_assert_eq(len, plen + suites[i].trailer_rtcp);
			cr_assert_neq(memcmp(pkt + 8, plain + 8, 44), 0);
			cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, pkt, &len),
			    SRTP_STREAM_OK);
			cr_assert_eq(len, plen);
			cr_assert_eq(memcmp(pkt, plain, (size_t)len), 0);
		}
		pair_free(&tx, &rx);
	}
}

Test(srtp_stream, tampered_packet_fails_auth)
{
	struct srtp_stream tx, rx;
	unsigned char pkt[BUFSZ], copy[BUFSZ];
	int len, plen;

	for (int i = 0; i < NSUITES; i++) {
		pair_make(suites[i].suite, &tx, &rx);
		len = rtp_build(pkt, 5, 0xabcdef01);
		cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
		    SRTP_STREAM_OK);
		memcpy(copy, pkt, (size_t)len);
		plen = len;

		/* header, payload and tag each protected */
		static const int at[] = { 1, 7, 12, 100, -1 };
		for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
			int off = at[k] < 0 ? plen - 1 : at[k];

			memcpy(pkt, copy, (size_t)plen);
			pkt[off] ^= 0x01;
			len = plen;
			cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len),
			    SRTP_STREAM_EAUTH, "suite %d offset %d",
			    suites[i].suite, off);
		}
		/* the untouched packet still passes after the failures */
		memcpy(pkt, copy, (size_t)plen);
		len = plen;
		cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len),
		    SRTP_STREAM_OK);

		len = rtcp_build(pkt, 0xabcdef01);
		cr_assert_eq(srtp_stream_protect_rtcp(&tx, pkt, &len,
		    sizeof(pkt)), SRTP_STREAM_OK);
		pkt[20] ^= 0x80;
		cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, pkt, &len),
		    SRTP_STREAM_EAUTH);
		pair_free(&tx, &rx);
	}
}

Test(srtp_stream, wrong_key_fails_auth)
{
	struct srtp_stream tx, rx, tx2, rx2;
	unsigned char pkt[BUFSZ];
	int len;

	pair_make(SDES_AES_CM_128_HMAC_SHA1_80, &tx, &rx);
	pair_make(SDES_AES_CM_128_HMAC_SHA1_80, &tx2, &rx2);
	len = rtp_build(pkt, 5, 1);
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_unprotect(&rx2, pkt, &len), SRTP_STREAM_EAUTH);
	pair_free(&tx, &rx);
	pair_free(&tx2, &rx2);
}

Test(srtp_stream, replayed_packet)
{
	struct srtp_stream tx, rx;
	unsigned char pkt[BUFSZ], copy[BUFSZ];
	int len, plen;

	for (int i = 0; i < NSUITES; i++) {
		pair_make(suites[i].suite, &tx, &rx);
		plen = len = rtp_build(pkt, 300, 42);
		cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
		    SRTP_STREAM_OK);
		memcpy(copy, pkt, (size_t)len);
		plen = len;
		cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len),
		    SRTP_STREAM_OK);
		memcpy(pkt, copy, (size_t)plen);
		len = plen;
		cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len),
		    SRTP_STREAM_EREPLAY);

		len = rtcp_build(pkt, 42);
		cr_assert_eq(srtp_stream_protect_rtcp(&tx, pkt, &len,
		    sizeof(pkt)), SRTP_STREAM_OK);
		memcpy(copy, pkt, (size_t)len);
		plen = len;
		cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, pkt, &len),
		    SRTP_STREAM_OK);
		memcpy(pkt, copy, (size_t)plen);
		len = plen;
		cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, pkt, &len),
		    SRTP_STREAM_EREPLAY);
		pair_free(&tx, &rx);
	}
}

Test(srtp_stream, old_packet_outside_window)
{
	struct srtp_stream tx, rx;
	unsigned char old[BUFSZ], pkt[BUFSZ];
	int oldlen, len;

	pair_make(SDES_AES_CM_128_HMAC_SHA1_80, &tx, &rx);
	oldlen = rtp_build(old, 10, 7);
	cr_assert_eq(srtp_stream_protect(&tx, old, &oldlen, sizeof(old)),
	    SRTP_STREAM_OK);
	for (uint16_t seq = 11; seq < 400; seq++)
		rtp_through(&tx, &rx, seq, 7);
	/* never seen, but 390 behind: outside the 128-packet window */
	len = oldlen;
	memcpy(pkt, old, (size_t)len);
	cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len), SRTP_STREAM_EREPLAY);
	pair_free(&tx, &rx);
}

Test(srtp_stream, wsh_widens_rx_window)
{
	struct sdes_crypto mine, theirs;
	struct srtp_stream tx, rx;
	unsigned char old[BUFSZ];
	char line[SDES_FORMAT_MAX + 16];
	int oldlen, n;

	cr_assert_eq(sdes_crypto_generate(1, SDES_AES_CM_128_HMAC_SHA1_80,
	    &mine), SDES_OK);
	n = sdes_crypto_format(&mine, line, sizeof(line));
	cr_assert_gt(n, 0);
	strcpy(line + n, " WSH=1024");
	cr_assert_eq(sdes_crypto_parse(line, &theirs), SDES_OK);
	memset(&tx, 0, sizeof(tx));
	memset(&rx, 0, sizeof(rx));
	cr_assert_eq(srtp_stream_init_tx(&tx, &mine), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_init_rx(&rx, &theirs), SRTP_STREAM_OK);

	oldlen = rtp_build(old, 10, 7);
	cr_assert_eq(srtp_stream_protect(&tx, old, &oldlen, sizeof(old)),
	    SRTP_STREAM_OK);
	for (uint16_t seq = 11; seq < 400; seq++)
		rtp_through(&tx, &rx, seq, 7);
	cr_assert_eq(srtp_stream_unprotect(&rx, old, &oldlen), SRTP_STREAM_OK);
	pair_free(&tx, &rx);
	sdes_crypto_wipe(&mine);
	sdes_crypto_wipe(&theirs);
}

/* A transfer on the PBX side changes the SSRC; the key stays. */
Test(srtp_stream, ssrc_change_mid_stream)
{
	struct srtp_stream tx, rx;

	for (int i = 0; i < NSUITES; i++) {
		pair_make(suites[i].suite, &tx, &rx);
		for (uint16_t seq = 100; seq < 150; seq++)
			rtp_through(&tx, &rx, seq, 0x0a0a0a0a);
		/* new SSRC with a sequence number far below the old one */
		for (uint16_t seq = 7; seq < 57; seq++)
			rtp_through(&tx, &rx, seq, 0x0b0b0b0b);
		/* and a third starting near the wrap */
		for (uint16_t seq = 65500; seq != 20; seq++)
			rtp_through(&tx, &rx, seq, 0x0c0c0c0c);
		/* back to the first (a transfer undone) */
		for (uint16_t seq = 150; seq < 160; seq++)
			rtp_through(&tx, &rx, seq, 0x0a0a0a0a);
		pair_free(&tx, &rx);
	}
}

Test(srtp_stream, sequence_wrap_keeps_decrypting)
{
	struct srtp_stream tx, rx;

	for (int i = 0; i < NSUITES; i++) {
		pair_make(suites[i].suite, &tx, &rx);
		/* 65500 .. 65535, 0 .. 2000: rollover counter 0 then 1 */
		for (uint16_t seq = 65500; seq != 2000; seq++)
			rtp_through(&tx, &rx, seq, 0x55667788);
		pair_free(&tx, &rx);
	}
}

Test(srtp_stream, sequence_wrap_out_of_order)
{
	struct srtp_stream tx, rx;
	static const uint16_t seqs[] = { 65533, 65534, 65535, 0, 1, 2, 3 };
	static const int order[] = { 0, 1, 3, 2, 5, 4, 6 };
	unsigned char pkt[7][BUFSZ], plain[7][BUFSZ];
	int len[7], plen[7];

	pair_make(SDES_AES_CM_128_HMAC_SHA1_80, &tx, &rx);
	for (int i = 0; i < 7; i++) {
		plen[i] = len[i] = rtp_build(pkt[i], seqs[i], 99);
		memcpy(plain[i], pkt[i], (size_t)len[i]);
		cr_assert_eq(srtp_stream_protect(&tx, pkt[i], &len[i], BUFSZ),
		    SRTP_STREAM_OK);
	}
	for (int k = 0; k < 7; k++) {
		int i = order[k];

		cr_assert_eq(srtp_stream_unprotect(&rx, pkt[i], &len[i]),
		    SRTP_STREAM_OK, "seq %u", seqs[i]);
		cr_assert_eq(len[i], plen[i]);
		cr_assert_eq(memcmp(pkt[i], plain[i], (size_t)len[i]), 0);
	}
	pair_free(&tx, &rx);
}

/* allow_repeat_tx is off: never encrypt two packets under one index. */
Test(srtp_stream, tx_refuses_index_reuse)
{
	struct srtp_stream tx, rx;
	unsigned char pkt[BUFSZ];
	int len;

	pair_make(SDES_AES_CM_128_HMAC_SHA1_80, &tx, &rx);
	for (uint16_t seq = 1000; seq < 1300; seq++)
		rtp_through(&tx, &rx, seq, 5);
	/* the last index again, another payload: a two-time pad, refused */
	len = rtp_build(pkt, 1299, 5);
	pkt[20] ^= 1;
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EREPLAY);
	/* an older index, even with its very payload: only the last repeats */
	len = rtp_build(pkt, 1298, 5);
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EREPLAY);
	/* the same SSRC restarting its numbering far back */
	len = rtp_build(pkt, 10, 5);
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EREPLAY);
	/* but a new SSRC may start anywhere */
	rtp_through(&tx, &rx, 10, 6);
	pair_free(&tx, &rx);
}

/* An RFC 4733 end packet (event 5, E bit, duration 800), PT 101. */
static int
dtmf_end_build(unsigned char *p, uint16_t seq, uint32_t ssrc)
{
	(void)rtp_build(p, seq, ssrc);
	p[1] = 101;
	p[12] = 5;
	p[13] = 0x80 | 10;
	p[14] = 800 >> 8;
	p[15] = 800 & 0xff;
	return 16;
}

/*
 * What libsrtp2's allow_repeat_tx is for, done safely: the end packet
 * sent three times with one sequence number goes out three times, as
 * the same SRTP bytes; each copy alone decrypts (a receiver that lost
 * the others), and a receiver that got the first drops the others as
 * replays.  A different payload under that index is still refused.
 */
Test(srtp_stream, tx_repeats_identical_last_packet)
{
	for (int i = 0; i < NSUITES; i++) {
		struct srtp_stream tx, rx;
		unsigned char plain[BUFSZ], first[BUFSZ], pkt[BUFSZ];
		int plen, flen, len;

		pair_make(suites[i].suite, &tx, &rx);
		for (uint16_t seq = 100; seq < 110; seq++)
			rtp_through(&tx, &rx, seq, 9);
		plen = dtmf_end_build(plain, 110, 9);
		memcpy(first, plain, (size_t)plen);
		flen = plen;
		cr_assert_eq(srtp_stream_protect(&tx, first, &flen, sizeof(first)),
		    SRTP_STREAM_OK);
		for (int k = 0; k < 2; k++) {
			memcpy(pkt, plain, (size_t)plen);
			len = plen;
			cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
			    SRTP_STREAM_REPEAT, "suite %d copy %d", i, k + 2);
			cr_assert_eq(len, flen);
			cr_assert_eq(memcmp(pkt, first, (size_t)len), 0,
			    "copy %d: not the first copy's SRTP bytes", k + 2);
		}
		/* the receiver that got the first copy: ok, then replays */
		memcpy(pkt, first, (size_t)flen);
		len = flen;
		cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len), SRTP_STREAM_OK);
		cr_assert_eq(len, plen);
		cr_assert_eq(memcmp(pkt, plain, (size_t)plen), 0);
		memcpy(pkt, first, (size_t)flen);
		len = flen;
		cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len),
		    SRTP_STREAM_EREPLAY);

		/* the same index with another payload: never protected */
		memcpy(pkt, plain, (size_t)plen);
		pkt[14] ^= 0x01;
		len = plen;
		cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
		    SRTP_STREAM_EREPLAY);
		cr_assert_eq(len, plen);
		/* the stream goes on */
		rtp_through(&tx, &rx, 111, 9);
		/* the end packet once more, now not the last: refused */
		memcpy(pkt, plain, (size_t)plen);
		len = plen;
		cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
		    SRTP_STREAM_EREPLAY);
		pair_free(&tx, &rx);
	}
}

/* A receiver that lost the first copy decrypts a repeat. */
Test(srtp_stream, tx_repeat_decrypts_alone)
{
	struct sdes_crypto mine, theirs;
	struct srtp_stream tx, rx;
	char line[SDES_FORMAT_MAX];
	unsigned char plain[BUFSZ], pkt[BUFSZ];
	int plen, len;

	cr_assert_eq(sdes_crypto_generate(1, SDES_AES_CM_128_HMAC_SHA1_80, &mine),
	    SDES_OK);
	cr_assert_gt(sdes_crypto_format(&mine, line, sizeof(line)), 0);
	cr_assert_eq(sdes_crypto_parse(line, &theirs), SDES_OK);
	memset(&tx, 0, sizeof(tx));
	cr_assert_eq(srtp_stream_init_tx(&tx, &mine), SRTP_STREAM_OK);
	plen = dtmf_end_build(plain, 7, 3);
	for (int copy = 1; copy <= 3; copy++) {
		memcpy(pkt, plain, (size_t)plen);
		len = plen;
		cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
		    copy == 1 ? SRTP_STREAM_OK : SRTP_STREAM_REPEAT);
		/* a fresh receiver each time: this copy is all it gets */
		memset(&rx, 0, sizeof(rx));
		cr_assert_eq(srtp_stream_init_rx(&rx, &theirs), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len), SRTP_STREAM_OK,
		    "copy %d does not decrypt", copy);
		cr_assert_eq(len, plen);
		cr_assert_eq(memcmp(pkt, plain, (size_t)plen), 0);
		srtp_stream_free(&rx);
	}
	srtp_stream_free(&tx);
	sdes_crypto_wipe(&mine);
	sdes_crypto_wipe(&theirs);
}

/* Where a repeat is not one: a failed protect, a packet too long to be
 * remembered, RTCP (its index is ours, new each time), a new key. */
Test(srtp_stream, tx_repeat_limits)
{
	struct srtp_stream tx, rx;
	unsigned char plain[BUFSZ], pkt[BUFSZ], first[BUFSZ];
	int plen, len, flen;

	pair_make(SDES_AES_CM_128_HMAC_SHA1_80, &tx, &rx);
	/* too long to remember: a repeat is refused as before */
	plen = rtp_build(plain, 50, 4);
	memset(plain + plen, 0x5a, SRTP_STREAM_REPEAT_MAX);
	plen = SRTP_STREAM_REPEAT_MAX + 1;
	memcpy(pkt, plain, (size_t)plen);
	len = plen;
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)), SRTP_STREAM_OK);
	memcpy(pkt, plain, (size_t)plen);
	len = plen;
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EREPLAY);
	/* the longest remembered one repeats */
	plen = rtp_build(plain, 51, 4);
	memset(plain + plen, 0x5b, SRTP_STREAM_REPEAT_MAX);
	plen = SRTP_STREAM_REPEAT_MAX;
	for (int copy = 1; copy <= 2; copy++) {
		memcpy(pkt, plain, (size_t)plen);
		len = plen;
		cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
		    copy == 1 ? SRTP_STREAM_OK : SRTP_STREAM_REPEAT);
	}
	/* no room for the trailer: refused before anything else */
	memcpy(pkt, plain, (size_t)plen);
	len = plen;
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, plen + tx.trailer - 1),
	    SRTP_STREAM_ESPACE);
	/* a failed protect (another payload, same index) forgets the last */
	memcpy(pkt, plain, (size_t)plen);
	pkt[plen - 1] ^= 1;
	len = plen;
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EREPLAY);
	memcpy(pkt, plain, (size_t)plen);
	len = plen;
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EREPLAY);
	/* RTCP: the same report twice is two SRTCP packets, two indexes */
	plen = rtcp_build(plain, 4);
	memcpy(first, plain, (size_t)plen);
	flen = plen;
	cr_assert_eq(srtp_stream_protect_rtcp(&tx, first, &flen, sizeof(first)),
	    SRTP_STREAM_OK);
	memcpy(pkt, plain, (size_t)plen);
	len = plen;
	cr_assert_eq(srtp_stream_protect_rtcp(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_OK);
	cr_assert_neq(memcmp(pkt, first, (size_t)len), 0);
	cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, first, &flen), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, pkt, &len), SRTP_STREAM_OK);
	/* an rx stream keeps no packet */
	cr_assert_null(rx.last);
	pair_free(&tx, &rx);

	/* a new key forgets the last packet: the same plaintext is new */
	pair_make(SDES_AES_CM_128_HMAC_SHA1_80, &tx, &rx);
	plen = dtmf_end_build(plain, 60, 4);
	memcpy(first, plain, (size_t)plen);
	flen = plen;
	cr_assert_eq(srtp_stream_protect(&tx, first, &flen, sizeof(first)), SRTP_STREAM_OK);
	pair_free(&tx, &rx);
	cr_assert_null(tx.last);
	pair_make(SDES_AES_CM_128_HMAC_SHA1_80, &tx, &rx);
	memcpy(pkt, plain, (size_t)plen);
	len = plen;
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)), SRTP_STREAM_OK);
	cr_assert_neq(memcmp(pkt, first, (size_t)len), 0);
	pair_free(&tx, &rx);
}

/* Rekey = free + init: new keys start a new rollover counter and window. */
Test(srtp_stream, rekey_restarts_state)
{
	struct srtp_stream tx, rx;
	unsigned char pkt[BUFSZ], old[BUFSZ];
	int len, oldlen;

	pair_make(SDES_AES_CM_128_HMAC_SHA1_80, &tx, &rx);
	for (uint16_t seq = 65000; seq != 100; seq++)
		rtp_through(&tx, &rx, seq, 3);
	oldlen = rtp_build(old, 100, 3);
	cr_assert_eq(srtp_stream_protect(&tx, old, &oldlen, sizeof(old)),
	    SRTP_STREAM_OK);

	pair_free(&tx, &rx);
	cr_assert_null(tx.session);
	pair_make(SDES_AES_CM_128_HMAC_SHA1_80, &tx, &rx);
	/* a packet under the old key no longer verifies */
	len = oldlen;
	memcpy(pkt, old, (size_t)len);
	cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len), SRTP_STREAM_EAUTH);
	/* same SSRC, lower sequence number, rollover counter back to 0 */
	for (uint16_t seq = 50; seq < 60; seq++)
		rtp_through(&tx, &rx, seq, 3);
	pair_free(&tx, &rx);
}

Test(srtp_stream, buffer_room)
{
	struct srtp_stream tx, rx;

	for (int i = 0; i < NSUITES; i++) {
		unsigned char *p, plain[BUFSZ];
		int len, plen, room;

		pair_make(suites[i].suite, &tx, &rx);
		cr_assert_leq(tx.trailer, SRTP_MAX_TRAILER_LEN);
		cr_assert_leq(tx.trailer_rtcp, SRTP_MAX_TRAILER_LEN + 4);

		/* heap buffer of the exact size: ASan sees any overrun */
		plen = rtp_build(plain, 1, 1);
		room = plen + tx.trailer;
		p = malloc((size_t)room);
		cr_assert_not_null(p);
		memcpy(p, plain, (size_t)plen);
		len = plen;
		cr_assert_eq(srtp_stream_protect(&tx, p, &len, room - 1),
		    SRTP_STREAM_ESPACE);
		cr_assert_eq(len, plen);
		cr_assert_eq(memcmp(p, plain, (size_t)plen), 0);
		cr_assert_eq(srtp_stream_protect(&tx, p, &len, room),
		    SRTP_STREAM_OK);
		cr_assert_eq(len, room);
		cr_assert_eq(srtp_stream_unprotect(&rx, p, &len),
		    SRTP_STREAM_OK);
		cr_assert_eq(memcmp(p, plain, (size_t)plen), 0);
		free(p);

		plen = rtcp_build(plain, 1);
		room = plen + tx.trailer_rtcp;
		p = malloc((size_t)room);
		cr_assert_not_null(p);
		memcpy(p, plain, (size_t)plen);
		len = plen;
		cr_assert_eq(srtp_stream_protect_rtcp(&tx, p, &len, room - 1),
		    SRTP_STREAM_ESPACE);
		cr_assert_eq(srtp_stream_protect_rtcp(&tx, p, &len, room),
		    SRTP_STREAM_OK);
		cr_assert_eq(len, room);
		cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, p, &len),
		    SRTP_STREAM_OK);
		cr_assert_eq(memcmp(p, plain, (size_t)plen), 0);
		free(p);

		/* maxlen smaller than the packet itself */
		len = rtp_build(plain, 2, 1);
		cr_assert_eq(srtp_stream_protect(&tx, plain, &len, len - 1),
		    SRTP_STREAM_EINVAL);
		pair_free(&tx, &rx);
	}
}

Test(srtp_stream, malformed_packets)
{
	struct srtp_stream tx, rx;
	unsigned char pkt[BUFSZ], good[BUFSZ];
	int len, glen;

	pair_make(SDES_AES_CM_128_HMAC_SHA1_80, &tx, &rx);
	len = rtp_build(pkt, 1, 1);

	len = 11;
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EPACKET);
	len = rtp_build(pkt, 1, 1);
	pkt[0] = 0x00;		/* version 0 */
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EPACKET);
	len = 20;
	pkt[0] = 0x8f;		/* 15 CSRCs do not fit in 20 bytes */
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EPACKET);
	len = rtp_build(pkt, 1, 1);
	pkt[0] = 0x90;		/* extension longer than the packet */
	pkt[14] = 0xff;
	pkt[15] = 0xff;
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EPACKET);
	len = 7;
	cr_assert_eq(srtp_stream_protect_rtcp(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EPACKET);

	/* every truncation of a good SRTP packet is refused */
	glen = rtp_build(good, 2, 1);
	cr_assert_eq(srtp_stream_protect(&tx, good, &glen, sizeof(good)),
	    SRTP_STREAM_OK);
	for (int n = 0; n < glen; n++) {
		memcpy(pkt, good, (size_t)n);
		len = n;
		cr_assert_lt(srtp_stream_unprotect(&rx, pkt, &len), 0, "%d", n);
	}
	/* and of a good SRTCP packet */
	glen = rtcp_build(good, 1);
	cr_assert_eq(srtp_stream_protect_rtcp(&tx, good, &glen, sizeof(good)),
	    SRTP_STREAM_OK);
	for (int n = 0; n < glen; n++) {
		memcpy(pkt, good, (size_t)n);
		len = n;
		cr_assert_lt(srtp_stream_unprotect_rtcp(&rx, pkt, &len), 0,
		    "%d", n);
	}
	len = -5;
	cr_assert_lt(srtp_stream_unprotect(&rx, pkt, &len), 0);
	len = -5;
	cr_assert_lt(srtp_stream_unprotect_rtcp(&rx, pkt, &len), 0);
	pair_free(&tx, &rx);
}

/* Random bytes from the network: rejected, never a crash. */
Test(srtp_stream, random_garbage)
{
	struct srtp_stream tx, rx;
	unsigned char *p;
	unsigned int seed = 777;

	pair_make(SDES_AEAD_AES_128_GCM, &tx, &rx);
	for (int iter = 0; iter < 5000; iter++) {
		int n = rand_r(&seed) % 300, len = n;

		p = malloc((size_t)n + 1);
		cr_assert_not_null(p);
		for (int k = 0; k < n; k++)
			p[k] = (unsigned char)rand_r(&seed);
		if (n > 0)
			p[0] = (unsigned char)(0x80 | (p[0] & 0x3f));
		if (iter % 2)
			cr_assert_lt(srtp_stream_unprotect(&rx, p, &len), 0);
		else
			cr_assert_lt(srtp_stream_unprotect_rtcp(&rx, p, &len), 0);
		free(p);
	}
	pair_free(&tx, &rx);
}

/* Both ends use MKI 1:4, as in the RFC 4568 examples. */
Test(srtp_stream, mki_round_trip)
{
	struct sdes_crypto c, other;
	struct srtp_stream tx, rx, rx2;
	unsigned char pkt[BUFSZ], plain[BUFSZ];
	int len, plen;

	for (int i = 0; i < NSUITES; i++) {
		char line[SDES_FORMAT_MAX + 16];
		int n, gcm, mki_at;

		if (!sdes_suite_mki_ok(suites[i].suite))
			continue;	/* refused by the parser, see test_sdes */
		gcm = suites[i].suite == SDES_AEAD_AES_128_GCM ||
		    suites[i].suite == SDES_AEAD_AES_256_GCM;
		cr_assert_eq(sdes_crypto_generate(1, suites[i].suite, &c),
		    SDES_OK);
		n = sdes_crypto_format(&c, line, sizeof(line));
		strcpy(line + n, "|2^20|1:4");
		cr_assert_eq(sdes_crypto_parse(line, &c), SDES_OK);
		memset(&tx, 0, sizeof(tx));
		memset(&rx, 0, sizeof(rx));
		cr_assert_eq(srtp_stream_init_tx(&tx, &c), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_init_rx(&rx, &c), SRTP_STREAM_OK);
		cr_assert_eq(tx.trailer, suites[i].trailer + 4);
		cr_assert_eq(tx.trailer_rtcp, suites[i].trailer_rtcp + 4);

		plen = len = rtp_build(pkt, 9, 0x1234);
		memcpy(plain, pkt, (size_t)len);
		cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
		    SRTP_STREAM_OK);
		cr_assert_eq(len, plen + tx.trailer);
		/*
		 * The MKI sits between the encrypted part and the tag
		 * (RFC 3711 3.1); with GCM the tag is part of the
		 * ciphertext and the MKI comes last (RFC 7714).
		 */
		mki_at = gcm ? len - 4 : plen;
		cr_assert_eq(memcmp(pkt + mki_at, "\0\0\0\1", 4), 0);
		cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len),
		    SRTP_STREAM_OK);
		cr_assert_eq(memcmp(pkt, plain, (size_t)plen), 0);

		plen = len = rtcp_build(pkt, 0x1234);
		memcpy(plain, pkt, (size_t)len);
		cr_assert_eq(srtp_stream_protect_rtcp(&tx, pkt, &len,
		    sizeof(pkt)), SRTP_STREAM_OK);
		cr_assert_eq(len, plen + tx.trailer_rtcp);
		cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, pkt, &len),
		    SRTP_STREAM_OK, "suite %d", suites[i].suite);
		cr_assert_eq(memcmp(pkt, plain, (size_t)plen), 0);

		/* an MKI the receiver does not know cannot verify */
		other = c;
		other.mki = 2;
		memset(&rx2, 0, sizeof(rx2));
		cr_assert_eq(srtp_stream_init_rx(&rx2, &other), SRTP_STREAM_OK);
		len = rtp_build(pkt, 10, 0x1234);
		cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
		    SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_unprotect(&rx2, pkt, &len),
		    SRTP_STREAM_EAUTH);
		srtp_stream_free(&rx2);
		pair_free(&tx, &rx);
		sdes_crypto_wipe(&c);
		sdes_crypto_wipe(&other);
	}
}

Test(srtp_stream, init_errors)
{
	struct sdes_crypto c;
	struct srtp_stream s;
	unsigned char pkt[BUFSZ];
	int len;

	memset(&s, 0, sizeof(s));
	cr_assert_eq(sdes_crypto_generate(1, 0, &c), SDES_OK);
	cr_assert_eq(srtp_stream_init_tx(NULL, &c), SRTP_STREAM_EINVAL);
	cr_assert_eq(srtp_stream_init_tx(&s, NULL), SRTP_STREAM_EINVAL);

	c.suite = SDES_NSUITES;
	cr_assert_eq(srtp_stream_init_tx(&s, &c), SRTP_STREAM_EINVAL);
	c.suite = SDES_AES_256_CM_HMAC_SHA1_80;	/* keylen is 30, not 46 */
	cr_assert_eq(srtp_stream_init_rx(&s, &c), SRTP_STREAM_EINVAL);
	c.suite = SDES_AES_CM_128_HMAC_SHA1_80;
	c.has_mki = 1;
	c.mki_len = 0;
	cr_assert_eq(srtp_stream_init_rx(&s, &c), SRTP_STREAM_EINVAL);
	/* libsrtp2 cannot do SRTCP with an MKI on the _32 suites */
	c.mki_len = 4;
	c.suite = SDES_AES_CM_128_HMAC_SHA1_32;
	cr_assert_eq(srtp_stream_init_rx(&s, &c), SRTP_STREAM_EINVAL);
	c.suite = SDES_AES_CM_128_HMAC_SHA1_80;
	c.has_mki = 0;
	cr_assert_null(s.session);

	cr_assert_eq(srtp_stream_init_tx(&s, &c), SRTP_STREAM_OK);
	/* a live stream is not set up twice (that would leak it) */
	cr_assert_eq(srtp_stream_init_tx(&s, &c), SRTP_STREAM_EINVAL);
	srtp_stream_free(&s);
	srtp_stream_free(&s);
	srtp_stream_free(NULL);

	len = rtp_build(pkt, 1, 1);
	cr_assert_eq(srtp_stream_protect(&s, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EINVAL);
	cr_assert_eq(srtp_stream_unprotect(&s, pkt, &len), SRTP_STREAM_EINVAL);
	cr_assert_eq(srtp_stream_protect_rtcp(&s, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EINVAL);
	cr_assert_eq(srtp_stream_unprotect_rtcp(&s, pkt, &len),
	    SRTP_STREAM_EINVAL);
	cr_assert_eq(srtp_stream_protect(NULL, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_EINVAL);

	cr_assert_eq(srtp_stream_init_tx(&s, &c), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_protect(&s, NULL, &len, sizeof(pkt)),
	    SRTP_STREAM_EINVAL);
	cr_assert_eq(srtp_stream_protect(&s, pkt, NULL, sizeof(pkt)),
	    SRTP_STREAM_EINVAL);
	srtp_stream_free(&s);
	sdes_crypto_wipe(&c);

	cr_assert_str_eq(srtp_stream_strerror(SRTP_STREAM_EAUTH),
	    "authentication failed");
	cr_assert_str_eq(srtp_stream_strerror(12345), "libsrtp failure");
}

/*
 * Known answers: libsrtp2's own srtp_validate() vectors (ROC 0, SSRC
 * 0xcafebabe, SEQ 0x1234), fed through the wrapper from an SDES line.
 */
static const unsigned char kat_rtp_plain[28] = {
	0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad,
	0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab,
};
static const unsigned char kat_rtcp_plain[24] = {
	0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
};

static void
kat_check(const char *line, const unsigned char *rtp, int rtplen,
    const unsigned char *rtcp, int rtcplen)
{
	struct sdes_crypto c;
	struct srtp_stream tx, rx;
	unsigned char pkt[BUFSZ];
	int len;

	cr_assert_eq(sdes_crypto_parse(line, &c), SDES_OK);
	memset(&tx, 0, sizeof(tx));
	memset(&rx, 0, sizeof(rx));
	cr_assert_eq(srtp_stream_init_tx(&tx, &c), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_init_rx(&rx, &c), SRTP_STREAM_OK);

	memcpy(pkt, kat_rtp_plain, sizeof(kat_rtp_plain));
	len = sizeof(kat_rtp_plain);
	cr_assert_eq(srtp_stream_protect(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_OK);
	cr_assert_eq(len, rtplen);
	cr_assert_eq(memcmp(pkt, rtp, (size_t)len), 0);
	cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len), SRTP_STREAM_OK);
	cr_assert_eq(memcmp(pkt, kat_rtp_plain, sizeof(kat_rtp_plain)), 0);

	memcpy(pkt, kat_rtcp_plain, sizeof(kat_rtcp_plain));
	len = sizeof(kat_rtcp_plain);
	cr_assert_eq(srtp_stream_protect_rtcp(&tx, pkt, &len, sizeof(pkt)),
	    SRTP_STREAM_OK);
	cr_assert_eq(len, rtcplen);
	cr_assert_eq(memcmp(pkt, rtcp, (size_t)len), 0);
	cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, pkt, &len),
	    SRTP_STREAM_OK);
	cr_assert_eq(memcmp(pkt, kat_rtcp_plain, sizeof(kat_rtcp_plain)), 0);

	pair_free(&tx, &rx);
	sdes_crypto_wipe(&c);
}

Test(srtp_stream, known_answer_aes_cm_128_80)
{
	/* key e1f97a0d3e018be0d64fa32c06de4139, salt 0ec675ad498afeebb6960b3aabe6 */
	static const unsigned char rtp[38] = {
		0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad,
		0xca, 0xfe, 0xba, 0xbe, 0x4e, 0x55, 0xdc, 0x4c,
		0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15,
		0x94, 0x9d, 0x24, 0x02, 0xb7, 0x8d, 0x6a, 0xcc,
		0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb,
	};
	static const unsigned char rtcp[38] = {
		0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe,
		0x71, 0x28, 0x03, 0x5b, 0xe4, 0x87, 0xb9, 0xbd,
		0xbe, 0xf8, 0x90, 0x41, 0xf9, 0x77, 0xa5, 0xa8,
		0x80, 0x00, 0x00, 0x01, 0x99, 0x3e, 0x08, 0xcd,
		0x54, 0xd6, 0xc1, 0x23, 0x07, 0x98,
	};

	kat_check("1 AES_CM_128_HMAC_SHA1_80 "
	    "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm",
	    rtp, sizeof(rtp), rtcp, sizeof(rtcp));
}

Test(srtp_stream, known_answer_aead_aes_128_gcm)
{
	/* key 000102..0f, salt a0a1..ab */
	static const unsigned char rtp[44] = {
		0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad,
		0xca, 0xfe, 0xba, 0xbe, 0xc5, 0x00, 0x2e, 0xde,
		0x04, 0xcf, 0xdd, 0x2e, 0xb9, 0x11, 0x59, 0xe0,
		0x88, 0x0a, 0xa0, 0x6e, 0xd2, 0x97, 0x68, 0x26,
		0xf7, 0x96, 0xb2, 0x01, 0xdf, 0x31, 0x31, 0xa1,
		0x27, 0xe8, 0xa3, 0x92,
	};
	static const unsigned char rtcp[44] = {
		0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe,
		0xc9, 0x8b, 0x8b, 0x5d, 0xf0, 0x39, 0x2a, 0x55,
		0x85, 0x2b, 0x6c, 0x21, 0xac, 0x8e, 0x70, 0x25,
		0xc5, 0x2c, 0x6f, 0xbe, 0xa2, 0xb3, 0xb4, 0x46,
		0xea, 0x31, 0x12, 0x3b, 0xa8, 0x8c, 0xe6, 0x1e,
		0x80, 0x00, 0x00, 0x01,
	};

	kat_check("1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0OD6ChoqOkpaanqKmqqw==",
	    rtp, sizeof(rtp), rtcp, sizeof(rtcp));
}

/*
 * Cross-check against a libsrtp2 session built here without the
 * wrapper or the suite table: a specific-SSRC policy from the named
 * libsrtp2 setters and the raw key.  Both must give the same bytes.
 */
static void
direct_policy(int suite, srtp_policy_t *pol)
{
	memset(pol, 0, sizeof(*pol));
	switch (suite) {
	case SDES_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
		break;
	case SDES_AES_CM_128_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
		break;
	case SDES_AES_256_CM_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtcp);
		break;
	case SDES_AES_256_CM_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(&pol->rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtcp);
		break;
	case SDES_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
		break;
	case SDES_AEAD_AES_256_GCM:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtcp);
		break;
	default:
		cr_assert_fail("suite %d", suite);
	}
}

Test(srtp_stream, matches_direct_libsrtp)
{
	static const size_t keylen[] = { 30, 30, 46, 46, 28, 44 };
	const uint32_t ssrc = 0x5eed5eed;

	for (int i = 0; i < NSUITES; i++) {
		int suite = suites[i].suite;
		unsigned char key[SDES_KEY_MAX];
		struct sdes_crypto c;
		struct srtp_stream tx;
		srtp_policy_t pol;
		srtp_t ref;

		/* the wrapper, keyed from SDES text */
		memset(&c, 0, sizeof(c));
		for (size_t k = 0; k < keylen[suite]; k++)
			key[k] = (unsigned char)(k * 7 + 3 + suite);
		memcpy(c.key, key, keylen[suite]);
		c.keylen = keylen[suite];
		c.tag = 1;
		c.suite = suite;
		memset(&tx, 0, sizeof(tx));
		cr_assert_eq(srtp_stream_init_tx(&tx, &c), SRTP_STREAM_OK);

		/* libsrtp2 alone */
		direct_policy(suite, &pol);
		pol.ssrc.type = ssrc_specific;
		pol.ssrc.value = ssrc;
		pol.key = key;
		pol.window_size = 128;
		cr_assert_eq(srtp_create(&ref, &pol), srtp_err_status_ok);

		for (uint16_t seq = 65530; seq != 10; seq++) {
			unsigned char a[BUFSZ], b[BUFSZ];
			int alen, blen;

			alen = blen = rtp_build(a, seq, ssrc);
			memcpy(b, a, (size_t)alen);
			cr_assert_eq(srtp_stream_protect(&tx, a, &alen,
			    sizeof(a)), SRTP_STREAM_OK);
			cr_assert_eq(srtp_protect(ref, b, &blen),
			    srtp_err_status_ok);
			cr_assert_eq(alen, blen);
			cr_assert_eq(memcmp(a, b, (size_t)alen), 0,
			    "suite %d seq %u", suite, seq);

			alen = blen = rtcp_build(a, ssrc);
			memcpy(b, a, (size_t)alen);
			cr_assert_eq(srtp_stream_protect_rtcp(&tx, a, &alen,
			    sizeof(a)), SRTP_STREAM_OK);
			cr_assert_eq(srtp_protect_rtcp(ref, b, &blen),
			    srtp_err_status_ok);
			cr_assert_eq(alen, blen);
			cr_assert_eq(memcmp(a, b, (size_t)alen), 0,
			    "suite %d rtcp", suite);
		}
		srtp_dealloc(ref);
		srtp_stream_free(&tx);
	}
}

/* ---- carrying a stream across a restart (issue 15) ---- */

/* Our key and the same key as the far end parsed it from our SDP. */
static void
keys_make(int suite, struct sdes_crypto *mine, struct sdes_crypto *theirs)
{
	char line[SDES_FORMAT_MAX];

	cr_assert_eq(sdes_crypto_generate(1, suite, mine), SDES_OK);
	cr_assert_gt(sdes_crypto_format(mine, line, sizeof(line)), 0);
	cr_assert_eq(sdes_crypto_parse(line, theirs), SDES_OK);
}

static int
rtp_send(struct srtp_stream *tx, unsigned char *pkt, uint16_t seq,
    uint32_t ssrc, int *len)
{
	*len = rtp_build(pkt, seq, ssrc);
	return srtp_stream_protect(tx, pkt, len, BUFSZ);
}

/* Our tx restarts past a wrap; the far end's rx goes on. */
Test(srtp_stream, resume_tx_follows_rollover)
{
	struct sdes_crypto mine, theirs;
	struct srtp_stream tx = { 0 }, rx = { 0 }, tx2 = { 0 }, fresh = { 0 };
	struct srtp_stream_pos pos;
	unsigned char pkt[BUFSZ];
	int len;

	for (int i = 0; i < NSUITES; i++) {
		keys_make(suites[i].suite, &mine, &theirs);
		cr_assert_eq(srtp_stream_init_tx(&tx, &mine), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_init_rx(&rx, &theirs), SRTP_STREAM_OK);
		for (uint16_t seq = 65000; seq != 65500; seq++)
			rtp_through(&tx, &rx, seq, 0x11223344);
		srtp_stream_pos_read(&tx, &pos);	/* the last write */
		cr_assert(pos.have_rtp);
		cr_assert_eq(pos.ssrc, 0x11223344);
		cr_assert_eq(pos.roc, 0);
		cr_assert_eq(pos.seq, 65499);
		/* sent after the write, then the process dies */
		for (uint16_t seq = 65500; seq != 100; seq++)
			rtp_through(&tx, &rx, seq, 0x11223344);
		srtp_stream_free(&tx);

		cr_assert_eq(srtp_stream_init_tx(&tx2, &mine), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_resume(&tx2, &mine, &pos), SRTP_STREAM_OK);
		for (uint16_t seq = 100; seq < 200; seq++)
			rtp_through(&tx2, &rx, seq, 0x11223344);
		srtp_stream_pos_read(&tx2, &pos);
		cr_assert_eq(pos.roc, 1);
		cr_assert_eq(pos.seq, 199);

		/* The control: without the position, ROC 0 fails the far end. */
		cr_assert_eq(srtp_stream_init_tx(&fresh, &mine), SRTP_STREAM_OK);
		cr_assert_eq(rtp_send(&fresh, pkt, 300, 0x11223344, &len), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_unprotect(&rx, pkt, &len), SRTP_STREAM_EAUTH);
		srtp_stream_free(&fresh);
		srtp_stream_free(&tx2);
		srtp_stream_free(&rx);
		sdes_crypto_wipe(&mine);
		sdes_crypto_wipe(&theirs);
	}
}

/* Our rx restarts; the far end wrapped while we were away. */
Test(srtp_stream, resume_rx_follows_rollover)
{
	struct sdes_crypto mine, theirs;
	struct srtp_stream tx = { 0 }, rx = { 0 }, rx2 = { 0 }, fresh = { 0 };
	struct srtp_stream_pos pos;
	unsigned char pkt[BUFSZ], copy[BUFSZ];
	int len;

	for (int i = 0; i < NSUITES; i++) {
		keys_make(suites[i].suite, &mine, &theirs);
		cr_assert_eq(srtp_stream_init_tx(&tx, &mine), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_init_rx(&rx, &theirs), SRTP_STREAM_OK);
		for (uint16_t seq = 60000; seq != 65400; seq++)
			rtp_through(&tx, &rx, seq, 0x55);
		srtp_stream_pos_read(&rx, &pos);
		cr_assert_eq(pos.seq, 65399);
		srtp_stream_free(&rx);
		/* the far end goes on (nobody hears it) past the wrap */
		for (uint16_t seq = 65400; seq != 40; seq++)
			cr_assert_eq(rtp_send(&tx, pkt, seq, 0x55, &len), SRTP_STREAM_OK);

		cr_assert_eq(srtp_stream_init_rx(&rx2, &theirs), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_resume(&rx2, &theirs, &pos), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_init_rx(&fresh, &theirs), SRTP_STREAM_OK);
		cr_assert_eq(rtp_send(&tx, pkt, 40, 0x55, &len), SRTP_STREAM_OK);
		memcpy(copy, pkt, (size_t)len);
		int clen = len;
		cr_assert_eq(srtp_stream_unprotect(&rx2, pkt, &len), SRTP_STREAM_OK,
		    "suite %d", suites[i].suite);
		/* the control: a fresh stream guesses ROC 0 */
		cr_assert_eq(srtp_stream_unprotect(&fresh, copy, &clen), SRTP_STREAM_EAUTH);
		for (uint16_t seq = 41; seq < 100; seq++)
			rtp_through(&tx, &rx2, seq, 0x55);
		srtp_stream_pos_read(&rx2, &pos);
		cr_assert_eq(pos.roc, 1);
		srtp_stream_free(&fresh);
		srtp_stream_free(&rx2);
		srtp_stream_free(&tx);
		sdes_crypto_wipe(&mine);
		sdes_crypto_wipe(&theirs);
	}
}

/* An index at or behind the stored one: used (tx) or seen (rx). */
Test(srtp_stream, resume_refuses_used_indices)
{
	struct sdes_crypto mine, theirs;
	struct srtp_stream tx = { 0 }, rx = { 0 };
	struct srtp_stream_pos pos = { .have_rtp = 1, .ssrc = 7, .roc = 2,
	    .seq = 500 };
	unsigned char pkt[BUFSZ], old[BUFSZ];
	int len, oldlen;

	keys_make(SDES_AES_CM_128_HMAC_SHA1_80, &mine, &theirs);
	/* a packet the far end sent before the restart, recorded */
	cr_assert_eq(srtp_stream_init_tx(&tx, &mine), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_resume(&tx, &mine, &(struct srtp_stream_pos){
	    .have_rtp = 1, .ssrc = 7, .roc = 2, .seq = 400 }), SRTP_STREAM_OK);
	cr_assert_eq(rtp_send(&tx, old, 450, 7, &oldlen), SRTP_STREAM_OK);
	srtp_stream_free(&tx);

	cr_assert_eq(srtp_stream_init_tx(&tx, &mine), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_resume(&tx, &mine, &pos), SRTP_STREAM_OK);
	cr_assert_eq(rtp_send(&tx, pkt, 500, 7, &len), SRTP_STREAM_EREPLAY);
	cr_assert_eq(rtp_send(&tx, pkt, 499, 7, &len), SRTP_STREAM_EREPLAY);
	/* another SSRC is not held back */
	cr_assert_eq(rtp_send(&tx, pkt, 1, 8, &len), SRTP_STREAM_OK);
	cr_assert_eq(rtp_send(&tx, pkt, 501, 7, &len), SRTP_STREAM_OK);
	srtp_stream_free(&tx);

	cr_assert_eq(srtp_stream_init_rx(&rx, &theirs), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_resume(&rx, &theirs, &pos), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_unprotect(&rx, old, &oldlen), SRTP_STREAM_EREPLAY);
	srtp_stream_free(&rx);
	sdes_crypto_wipe(&mine);
	sdes_crypto_wipe(&theirs);
}

/* SRTCP: the resumed sender's index moves past what the far end saw. */
Test(srtp_stream, resume_tx_rtcp_index_moves_on)
{
	struct sdes_crypto mine, theirs;
	struct srtp_stream tx = { 0 }, rx = { 0 }, tx2 = { 0 }, fresh = { 0 };
	struct srtp_stream_pos pos;
	unsigned char pkt[BUFSZ];
	int len;

	for (int i = 0; i < NSUITES; i++) {
		keys_make(suites[i].suite, &mine, &theirs);
		cr_assert_eq(srtp_stream_init_tx(&tx, &mine), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_init_rx(&rx, &theirs), SRTP_STREAM_OK);
		for (int k = 0; k < 10; k++) {
			len = rtcp_build(pkt, 0xabc);
			cr_assert_eq(srtp_stream_protect_rtcp(&tx, pkt, &len, BUFSZ), SRTP_STREAM_OK);
			cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, pkt, &len), SRTP_STREAM_OK);
		}
		srtp_stream_pos_read(&tx, &pos);
		cr_assert(pos.have_rtcp);
		cr_assert_eq(pos.rtcp_ssrc, 0xabc);
		cr_assert_eq(pos.rtcp_count, 10);
		srtp_stream_free(&tx);

		cr_assert_eq(srtp_stream_init_tx(&tx2, &mine), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_resume(&tx2, &mine, &pos), SRTP_STREAM_OK);
		len = rtcp_build(pkt, 0xabc);
		cr_assert_eq(srtp_stream_protect_rtcp(&tx2, pkt, &len, BUFSZ), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, pkt, &len), SRTP_STREAM_OK);
		srtp_stream_pos_read(&tx2, &pos);
		cr_assert_eq(pos.rtcp_count, 10 + SRTP_STREAM_RTCP_MARGIN + 1);

		/* The control: a fresh sender reuses index 1, refused. */
		cr_assert_eq(srtp_stream_init_tx(&fresh, &mine), SRTP_STREAM_OK);
		len = rtcp_build(pkt, 0xabc);
		cr_assert_eq(srtp_stream_protect_rtcp(&fresh, pkt, &len, BUFSZ), SRTP_STREAM_OK);
		cr_assert_eq(srtp_stream_unprotect_rtcp(&rx, pkt, &len), SRTP_STREAM_EREPLAY);
		srtp_stream_free(&fresh);
		srtp_stream_free(&tx2);
		srtp_stream_free(&rx);
		sdes_crypto_wipe(&mine);
		sdes_crypto_wipe(&theirs);
	}
}

Test(srtp_stream, resume_errors)
{
	struct sdes_crypto mine, theirs, other;
	struct srtp_stream tx = { 0 };
	struct srtp_stream_pos pos = { .have_rtcp = 1, .rtcp_ssrc = 1,
	    .rtcp_count = SRTP_STREAM_RTCP_RESUME_MAX + 1 };

	keys_make(SDES_AES_CM_128_HMAC_SHA1_80, &mine, &theirs);
	cr_assert_eq(srtp_stream_resume(&tx, &mine, &pos), SRTP_STREAM_EINVAL);
	cr_assert_eq(srtp_stream_init_tx(&tx, &mine), SRTP_STREAM_OK);
	cr_assert_eq(srtp_stream_resume(&tx, &mine, &pos), SRTP_STREAM_EINVAL);
	cr_assert_eq(srtp_stream_resume(&tx, NULL, &pos), SRTP_STREAM_EINVAL);
	other = mine;
	other.keylen = 3;
	pos.rtcp_count = 5;
	cr_assert_eq(srtp_stream_resume(&tx, &other, &pos), SRTP_STREAM_EINVAL);
	cr_assert_eq(srtp_stream_resume(&tx, &mine, &pos), SRTP_STREAM_OK);
	srtp_stream_free(&tx);
	sdes_crypto_wipe(&mine);
	sdes_crypto_wipe(&theirs);
	sdes_crypto_wipe(&other);
}
