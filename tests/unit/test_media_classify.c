/* test_media_classify.c - what arrives on a relay port (relay_classify,
 * RFC 7983 by first byte, RFC 5761 RTCP by packet type) and the drop
 * reasons' labels in /metrics. */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "relay.h"

/* n bytes, first two given, the rest zero. */
static enum relay_pkt
cls(uint8_t b0, uint8_t b1, size_t n, int rtcp_port)
{
	uint8_t p[64] = { 0 };

	p[0] = b0;
	p[1] = b1;
	cr_assert_leq(n, sizeof(p));
	return relay_classify(p, n, rtcp_port);
}

/* A STUN Binding request as a keep-alive: 20 bytes, magic cookie. */
Test(media_classify, stun_keepalive)
{
	static const uint8_t bind[20] = {
		0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	};
	static const uint8_t indication[20] = {
		0x00, 0x11, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	};

	for (int port = 0; port < 2; port++) {
		cr_assert_eq(relay_classify(bind, sizeof(bind), port), RELAY_PKT_STUN);
		cr_assert_eq(relay_classify(indication, sizeof(indication), port),
		    RELAY_PKT_STUN);
	}
	/* every first byte 0..3, any length from the header on */
	for (int b = 0; b <= 3; b++) {
		cr_assert_eq(cls((uint8_t)b, 1, 20, 0), RELAY_PKT_STUN);
		cr_assert_eq(cls((uint8_t)b, 1, 64, 1), RELAY_PKT_STUN);
		/* shorter than a STUN header: junk */
		cr_assert_eq(cls((uint8_t)b, 1, 19, 0), RELAY_PKT_OTHER);
	}
}

Test(media_classify, dtls)
{
	for (int b = 20; b <= 63; b++)
		cr_assert_eq(cls((uint8_t)b, 0xfe, 13, 0), RELAY_PKT_DTLS, "byte %d", b);
}

Test(media_classify, rtp_and_rtcp)
{
	/* version 2, any padding/extension/CC bits: first byte 128..191 */
	for (int b = 128; b <= 191; b++) {
		cr_assert_eq(cls((uint8_t)b, 0, 12, 0), RELAY_PKT_RTP, "byte %d", b);
		cr_assert_eq(cls((uint8_t)b, 0x80 | 101, 16, 0), RELAY_PKT_RTP);
		cr_assert_eq(cls((uint8_t)b, 200, 8, 1), RELAY_PKT_RTCP);
	}
	/* RFC 5761: packet types 192..223 on the RTP port are RTCP */
	for (int pt = 192; pt <= 223; pt++)
		cr_assert_eq(cls(0x80, (uint8_t)pt, 8, 0), RELAY_PKT_RTCP, "pt %d", pt);
	cr_assert_eq(cls(0x80, 191, 12, 0), RELAY_PKT_RTP);
	cr_assert_eq(cls(0x80, 224, 12, 0), RELAY_PKT_RTP);
	/* the RTCP port takes RTCP whatever the second byte */
	cr_assert_eq(cls(0x80, 0, 12, 1), RELAY_PKT_RTCP);
	/* an empty receiver report is 8 bytes: RTCP, not too short */
	cr_assert_eq(cls(0x80, 201, 8, 0), RELAY_PKT_RTCP);
	cr_assert_eq(cls(0x80, 201, 8, 1), RELAY_PKT_RTCP);
}

Test(media_classify, too_short_or_unknown)
{
	cr_assert_eq(relay_classify((const uint8_t *)"", 0, 0), RELAY_PKT_OTHER);
	cr_assert_eq(cls(0x80, 0, 11, 0), RELAY_PKT_OTHER);	/* RTP < 12 */
	cr_assert_eq(cls(0x80, 200, 7, 0), RELAY_PKT_OTHER);	/* RTCP < 8 */
	cr_assert_eq(cls(0x80, 0, 7, 1), RELAY_PKT_OTHER);
	cr_assert_eq(cls(0x80, 0, 1, 0), RELAY_PKT_OTHER);
	/* RFC 7983 ranges that are not ours: ZRTP 16..19, TURN channels
	 * 64..79, and the unassigned ones; version 0, 1, 3 RTP */
	static const int other[] = { 4, 15, 16, 19, 64, 79, 80, 127, 192, 255 };
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		cr_assert_eq(cls((uint8_t)other[i], 0, 40, 0), RELAY_PKT_OTHER,
		    "byte %d", other[i]);
		cr_assert_eq(cls((uint8_t)other[i], 200, 40, 1), RELAY_PKT_OTHER);
	}
}

/* The classification stops at the length given (no read past it). */
Test(media_classify, reads_only_n_bytes)
{
	uint8_t one = 0x80;

	cr_assert_eq(relay_classify(&one, 1, 0), RELAY_PKT_OTHER);
	cr_assert_eq(relay_classify(&one, 1, 1), RELAY_PKT_OTHER);
}

/* /metrics labels: the two that existed keep their names; each reason
 * has its own. */
Test(media_classify, drop_names)
{
	cr_assert_str_eq(relay_drop_name(RELAY_DROP_SOURCE), "source");
	cr_assert_str_eq(relay_drop_name(RELAY_DROP_NOKEY), "no_key");
	cr_assert_str_eq(relay_drop_name(RELAY_DROP_STUN), "stun");
	cr_assert_str_eq(relay_drop_name(RELAY_DROP_REPLAY), "replay");
	cr_assert_str_eq(relay_drop_name(RELAY_DROP_AUTH), "auth");
	for (int i = 0; i < RELAY_DROP_N; i++) {
		const char *a = relay_drop_name((enum relay_drop)i);
		cr_assert_not_null(a);
		cr_assert_str_neq(a, "unknown", "reason %d has no name", i);
		for (int k = 0; k < i; k++)
			cr_assert_str_neq(a, relay_drop_name((enum relay_drop)k));
	}
	cr_assert_str_eq(relay_drop_name(RELAY_DROP_N), "unknown");
}
