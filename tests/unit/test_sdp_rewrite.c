/* test_sdp_rewrite.c - SDP inspection and AVP <-> SAVP rewriting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sdp_rewrite.h"

#define CRLF	"\r\n"

#define PBX_OFFER \
	"v=0" CRLF \
	"o=PBX 1234 5678 IN IP4 192.168.1.10" CRLF \
	"s=PBX call" CRLF \
	"c=IN IP4 192.168.1.10" CRLF \
	"t=0 0" CRLF \
	"m=audio 10000 RTP/AVP 0 8 101" CRLF \
	"a=rtpmap:0 PCMU/8000" CRLF \
	"a=rtpmap:8 PCMA/8000" CRLF \
	"a=rtpmap:101 telephone-event/8000" CRLF \
	"a=fmtp:101 0-16" CRLF \
	"a=ptime:20" CRLF \
	"a=sendrecv" CRLF

#define CLOUD_ANSWER \
	"v=0" CRLF \
	"o=- 3958823462 3958823463 IN IP4 52.1.2.3" CRLF \
	"s=Genesys" CRLF \
	"c=IN IP4 52.1.2.3" CRLF \
	"t=0 0" CRLF \
	"m=audio 16384 RTP/SAVP 0 101" CRLF \
	"a=rtpmap:0 PCMU/8000" CRLF \
	"a=rtpmap:101 telephone-event/8000" CRLF \
	"a=fmtp:101 0-15" CRLF \
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 " \
	    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^31" CRLF \
	"a=ptime:20" CRLF \
	"a=sendrecv" CRLF

#define KEY1	"1 AES_CM_128_HMAC_SHA1_80 " \
	"inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4"
#define KEY2	"2 AES_CM_128_HMAC_SHA1_32 " \
	"inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:4"

#define OUR4	"203.0.113.5"
#define OUR6	"2001:db8::5"

static struct sdp_info info;

static int
inspect(const char *s)
{
	return sdp_inspect(s, strlen(s), &info);
}

/* An edit keeping every one of n m= lines at OUR4, port 20000 + 2i. */
static void
edit_init(struct sdp_edit *e, int n, int proto)
{
	memset(e, 0, sizeof(*e));
	e->nmedia = n;
	for (int i = 0; i < n; i++) {
		e->m[i].keep = 1;
		e->m[i].proto = proto;
		strcpy(e->m[i].addr, OUR4);
		e->m[i].port = 20000 + 2 * (unsigned)i;
	}
}

/* Rewrite s per e; the result must be NUL-terminated at *outlen. */
static char *
rewrite(const char *s, const struct sdp_edit *e)
{
	size_t n = 12345;
	char *out = sdp_rewrite(s, strlen(s), e, &n);

	if (out != NULL)
		cr_assert_eq(n, strlen(out));
	else
		cr_assert_eq(n, 0);
	return out;
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

Test(sdp_inspect, pbx_offer)
{
	cr_assert_eq(inspect(PBX_OFFER), 0);
	cr_assert_eq(info.nmedia, 1);
	cr_assert(info.m[0].audio);
	cr_assert_eq(info.m[0].proto, SDP_PROTO_AVP);
	cr_assert_eq(info.m[0].port, 10000);
	cr_assert_str_eq(info.m[0].addr, "192.168.1.10");
	cr_assert_eq(info.m[0].dir, SDP_SENDRECV);
	cr_assert_eq(info.m[0].hold, 0);
	cr_assert_eq(info.m[0].rtcp_mux, 0);
	cr_assert_eq(info.m[0].rtcp_port, 0);
	cr_assert_eq(info.m[0].ncrypto, 0);
}

Test(sdp_rewrite, pbx_offer_to_savp)
{
	struct sdp_edit e;
	char *out;

	edit_init(&e, 1, SDP_PROTO_SAVP);
	e.m[0].crypto[0] = KEY1;
	e.m[0].crypto[1] = KEY2;
	e.m[0].ncrypto = 2;
	e.origin_addr = OUR4;
	cr_assert_not_null(out = rewrite(PBX_OFFER, &e));

	cr_assert_eq(inspect(out), 0, "%s", out);
	cr_assert_eq(info.nmedia, 1);
	cr_assert_eq(info.m[0].proto, SDP_PROTO_SAVP);
	cr_assert_eq(info.m[0].port, 20000);
	cr_assert_str_eq(info.m[0].addr, OUR4);
	cr_assert_eq(info.m[0].dir, SDP_SENDRECV);
	cr_assert_eq(info.m[0].ncrypto, 2);
	cr_assert_str_eq(info.m[0].crypto[0], KEY1);
	cr_assert_str_eq(info.m[0].crypto[1], KEY2);

	/* Codecs and attributes verbatim; o= keeps name, id, version. */
	cr_assert_not_null(strstr(out, CRLF "o=PBX 1234 5678 IN IP4 " OUR4
	    CRLF "s=PBX call" CRLF "c=IN IP4 " OUR4 CRLF "t=0 0" CRLF));
	cr_assert_not_null(strstr(out, CRLF "m=audio 20000 RTP/SAVP 0 8 101"
	    CRLF "a=rtpmap:0 PCMU/8000" CRLF "a=rtpmap:8 PCMA/8000" CRLF
	    "a=rtpmap:101 telephone-event/8000" CRLF "a=fmtp:101 0-16" CRLF
	    "a=ptime:20" CRLF "a=sendrecv" CRLF), "%s", out);
	cr_assert_not_null(strstr(out, "a=crypto:" KEY1 CRLF "a=crypto:"
	    KEY2 CRLF));
	cr_assert_null(strstr(out, "192.168.1.10"), "%s", out);
	cr_assert_eq(count(out, "c="), 1);
	cr_assert_eq(strncmp(out, "v=0" CRLF, 5), 0);
	free(out);
}

Test(sdp_rewrite, cloud_answer_to_avp)
{
	struct sdp_edit e;
	char *out;

	cr_assert_eq(inspect(CLOUD_ANSWER), 0);
	cr_assert_eq(info.m[0].proto, SDP_PROTO_SAVP);
	cr_assert_eq(info.m[0].ncrypto, 1);
	cr_assert_str_eq(info.m[0].crypto[0], "1 AES_CM_128_HMAC_SHA1_80 "
	    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^31");

	edit_init(&e, 1, SDP_PROTO_AVP);
	strcpy(e.m[0].addr, "192.168.1.2");
	e.m[0].port = 30000;
	cr_assert_not_null(out = rewrite(CLOUD_ANSWER, &e));
	cr_assert_eq(inspect(out), 0);
	cr_assert_eq(info.m[0].proto, SDP_PROTO_AVP);
	cr_assert_eq(info.m[0].ncrypto, 0);
	cr_assert_eq(info.m[0].port, 30000);
	cr_assert_str_eq(info.m[0].addr, "192.168.1.2");
	cr_assert_null(strstr(out, "crypto"));
	cr_assert_null(strstr(out, "SAVP"));
	cr_assert_null(strstr(out, "c=IN IP4 52.1.2.3"));
	/* origin_addr NULL: o= untouched. */
	cr_assert_not_null(strstr(out,
	    "o=- 3958823462 3958823463 IN IP4 52.1.2.3" CRLF));
	cr_assert_not_null(strstr(out, "m=audio 30000 RTP/AVP 0 101" CRLF
	    "a=rtpmap:0 PCMU/8000" CRLF "a=rtpmap:101 telephone-event/8000"
	    CRLF "a=fmtp:101 0-15" CRLF "a=ptime:20" CRLF "a=sendrecv" CRLF),
	    "%s", out);
	free(out);
}

/* New keys go where the first old one was; every old one goes. */
Test(sdp_rewrite, crypto_replaced_in_place)
{
	const char *s = "v=0" CRLF "o=- 1 1 IN IP4 52.1.2.3" CRLF "s=-" CRLF
	    "c=IN IP4 52.1.2.3" CRLF "t=0 0" CRLF
	    "a=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:c2Vzc2lvbg==" CRLF
	    "m=audio 16384 RTP/SAVP 0" CRLF "a=ptime:20" CRLF
	    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:b2xkMQ==" CRLF
	    "a=maxptime:40" CRLF
	    "a=CRYPTO:2 AES_CM_128_HMAC_SHA1_32 inline:b2xkMg==" CRLF
	    "m=audio 16386 RTP/SAVP 0" CRLF "k=clear:b2xkMw==" CRLF;
	struct sdp_edit e;
	char *out;

	edit_init(&e, 2, SDP_PROTO_SAVP);
	e.m[0].crypto[0] = KEY2;
	e.m[0].ncrypto = 1;
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_null(strstr(out, "k="));
	cr_assert_not_null(strstr(out, "a=ptime:20" CRLF "a=crypto:" KEY2
	    CRLF "a=maxptime:40" CRLF), "%s", out);
	cr_assert_eq(count(out, "crypto"), 1);
	cr_assert_null(strstr(out, "b2xk"));
	cr_assert_null(strstr(out, "c2Vzc2lvbg"));
	free(out);
}

Test(sdp_rewrite, video_disabled)
{
	const char *s = "v=0" CRLF "o=PBX 1 2 IN IP4 192.168.1.10" CRLF
	    "s=-" CRLF "t=0 0" CRLF
	    "m=audio 10000 RTP/AVP 0 101" CRLF
	    "c=IN IP4 192.168.1.10" CRLF
	    "a=rtpmap:101 telephone-event/8000" CRLF
	    "m=video 10002 RTP/AVP 96 97" CRLF
	    "c=IN IP4 192.168.1.11" CRLF
	    "b=AS:512" CRLF
	    "a=rtpmap:96 H264/90000" CRLF
	    "a=fmtp:96 profile-level-id=42e01f" CRLF
	    "a=rtpmap:97 VP8/90000" CRLF
	    "a=rtcp:10003" CRLF;
	struct sdp_edit e;
	char *out;

	cr_assert_eq(inspect(s), 0);
	cr_assert_eq(info.nmedia, 2);
	cr_assert_eq(info.m[1].audio, 0);
	cr_assert_str_eq(info.m[1].addr, "192.168.1.11");
	cr_assert_eq(info.m[1].rtcp_port, 10003);

	edit_init(&e, 2, SDP_PROTO_SAVP);
	e.m[1].keep = 0;
	e.origin_addr = OUR4;
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_not_null(strstr(out, "m=video 0 RTP/AVP 96 97" CRLF
	    "b=AS:512" CRLF "a=rtpmap:96 H264/90000" CRLF
	    "a=fmtp:96 profile-level-id=42e01f" CRLF "a=rtpmap:97 VP8/90000"
	    CRLF), "%s", out);
	cr_assert_null(strstr(out, "192.168.1."), "%s", out);
	cr_assert_null(strstr(out, "a=rtcp"), "%s", out);
	cr_assert_eq(inspect(out), 0);
	cr_assert_eq(info.m[0].port, 20000);
	cr_assert_eq(info.m[0].proto, SDP_PROTO_SAVP);
	cr_assert_eq(info.m[1].port, 0);
	cr_assert_eq(info.m[1].proto, SDP_PROTO_AVP);
	cr_assert_str_eq(info.m[1].addr, OUR4);
	free(out);
}

Test(sdp_inspect, session_vs_media_c)
{
	const char *s = "v=0" CRLF "o=- 1 2 IN IP4 192.168.1.10" CRLF
	    "s=-" CRLF "c=IN IP4 192.168.1.10" CRLF "t=0 0" CRLF
	    "m=audio 10000 RTP/AVP 0" CRLF
	    "m=audio 10002 RTP/AVP 8" CRLF "c=IN IP4 192.168.1.20" CRLF;

	cr_assert_eq(inspect(s), 0);
	cr_assert_str_eq(info.m[0].addr, "192.168.1.10");
	cr_assert_str_eq(info.m[1].addr, "192.168.1.20");
}

/* One shared address: one session c=, no media c= left behind. */
Test(sdp_rewrite, media_c_to_session_c)
{
	const char *s = "v=0" CRLF "o=- 1 2 IN IP4 192.168.1.10" CRLF
	    "s=-" CRLF "c=IN IP4 192.168.1.10" CRLF "t=0 0" CRLF
	    "m=audio 10000 RTP/AVP 0" CRLF "c=IN IP4 192.168.1.30" CRLF
	    "m=audio 10002 RTP/AVP 8" CRLF "c=IN IP4 192.168.1.20" CRLF;
	struct sdp_edit e;
	char *out;

	edit_init(&e, 2, SDP_PROTO_SAVP);
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_eq(count(out, "c="), 1, "%s", out);
	cr_assert_not_null(strstr(out, "s=-" CRLF "c=IN IP4 " OUR4 CRLF));
	cr_assert_null(strstr(out, "192.168.1.2"));
	cr_assert_null(strstr(out, "192.168.1.3"));
	cr_assert_eq(inspect(out), 0);
	cr_assert_str_eq(info.m[0].addr, OUR4);
	cr_assert_str_eq(info.m[1].addr, OUR4);
	cr_assert_eq(info.m[1].port, 20002);
	free(out);
}

/* Different addresses: the second m= line gets its own c=. */
Test(sdp_rewrite, session_c_to_media_c)
{
	const char *s = "v=0" CRLF "o=- 1 2 IN IP4 192.168.1.10" CRLF
	    "s=-" CRLF "c=IN IP4 192.168.1.10" CRLF "t=0 0" CRLF
	    "m=audio 10000 RTP/AVP 0" CRLF
	    "m=audio 10002 RTP/AVP 8" CRLF;
	struct sdp_edit e;
	char *out;

	edit_init(&e, 2, SDP_PROTO_AVP);
	strcpy(e.m[1].addr, "198.51.100.7");
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_eq(count(out, "c="), 2, "%s", out);
	cr_assert_not_null(strstr(out, "m=audio 20002 RTP/AVP 8" CRLF
	    "c=IN IP4 198.51.100.7" CRLF));
	cr_assert_null(strstr(out, "192.168.1.10" CRLF "t="));
	cr_assert_eq(inspect(out), 0);
	cr_assert_str_eq(info.m[0].addr, OUR4);
	cr_assert_str_eq(info.m[1].addr, "198.51.100.7");
	free(out);
}

Test(sdp_rewrite, rtcp_mux_kept)
{
	const char *s = PBX_OFFER "a=rtcp-mux" CRLF;
	struct sdp_edit e;
	char *out;

	cr_assert_eq(inspect(s), 0);
	cr_assert_eq(info.m[0].rtcp_mux, 1);
	edit_init(&e, 1, SDP_PROTO_SAVP);
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_not_null(strstr(out, "a=sendrecv" CRLF "a=rtcp-mux" CRLF));
	cr_assert_eq(inspect(out), 0);
	cr_assert_eq(info.m[0].rtcp_mux, 1);
	free(out);
}

Test(sdp_rewrite, rtcp_rewritten)
{
	const char *s = PBX_OFFER "a=rtcp:10001 IN IP4 192.168.1.10" CRLF;
	struct sdp_edit e;
	char *out;

	cr_assert_eq(inspect(s), 0);
	cr_assert_eq(info.m[0].rtcp_port, 10001);
	edit_init(&e, 1, SDP_PROTO_SAVP);
	e.origin_addr = OUR4;
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_not_null(strstr(out, "a=rtcp:20001 IN IP4 " OUR4 CRLF),
	    "%s", out);
	cr_assert_null(strstr(out, "192.168.1.10"));
	cr_assert_eq(inspect(out), 0);
	cr_assert_eq(info.m[0].rtcp_port, 20001);
	free(out);

	/* Port-only form; no port above 65535 to point at: removed. */
	s = PBX_OFFER "a=rtcp:10001" CRLF;
	e.m[0].port = 65535;
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_null(strstr(out, "a=rtcp:"), "%s", out);
	free(out);
}

Test(sdp_inspect, hold_sendonly)
{
	const char *s = "v=0" CRLF "o=- 1 3 IN IP4 192.168.1.10" CRLF
	    "s=-" CRLF "c=IN IP4 192.168.1.10" CRLF "t=0 0" CRLF
	    "m=audio 10000 RTP/AVP 0" CRLF "a=sendonly" CRLF;

	cr_assert_eq(inspect(s), 0);
	cr_assert_eq(info.m[0].dir, SDP_SENDONLY);
	cr_assert_eq(info.m[0].hold, 1);
}

Test(sdp_inspect, hold_inactive_session_level)
{
	const char *s = "v=0" CRLF "o=- 1 3 IN IP4 192.168.1.10" CRLF
	    "s=-" CRLF "c=IN IP4 192.168.1.10" CRLF "t=0 0" CRLF
	    "a=inactive" CRLF
	    "m=audio 10000 RTP/AVP 0" CRLF
	    "m=audio 10002 RTP/AVP 0" CRLF "a=recvonly" CRLF;

	cr_assert_eq(inspect(s), 0);
	cr_assert_eq(info.m[0].dir, SDP_INACTIVE);
	cr_assert_eq(info.m[0].hold, 1);
	cr_assert_eq(info.m[1].dir, SDP_RECVONLY);
	cr_assert_eq(info.m[1].hold, 0);
}

Test(sdp_inspect, hold_c_zero)
{
	const char *s = "v=0" CRLF "o=- 1 3 IN IP4 192.168.1.10" CRLF
	    "s=-" CRLF "c=IN IP4 0.0.0.0" CRLF "t=0 0" CRLF
	    "m=audio 10000 RTP/AVP 0" CRLF;

	cr_assert_eq(inspect(s), 0);
	cr_assert_str_eq(info.m[0].addr, "0.0.0.0");
	cr_assert_eq(info.m[0].dir, SDP_SENDRECV);
	cr_assert_eq(info.m[0].hold, 1);
}

/* The direction passes through the rewrite as it was. */
Test(sdp_rewrite, direction_kept)
{
	const char *s = "v=0" CRLF "o=- 1 3 IN IP4 192.168.1.10" CRLF
	    "s=-" CRLF "c=IN IP4 192.168.1.10" CRLF "t=0 0" CRLF
	    "a=sendonly" CRLF "m=audio 10000 RTP/AVP 0" CRLF
	    "m=audio 10002 RTP/AVP 0" CRLF "a=inactive" CRLF;
	struct sdp_edit e;
	char *out;

	edit_init(&e, 2, SDP_PROTO_SAVP);
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_not_null(strstr(out, "t=0 0" CRLF "a=sendonly" CRLF));
	cr_assert_not_null(strstr(out, "RTP/SAVP 0" CRLF "a=inactive" CRLF));
	cr_assert_eq(count(out, "a=sendonly"), 1);
	cr_assert_eq(inspect(out), 0);
	cr_assert_eq(info.m[0].dir, SDP_SENDONLY);
	cr_assert_eq(info.m[1].dir, SDP_INACTIVE);
	free(out);
}

Test(sdp_rewrite, ipv6)
{
	const char *s = "v=0" CRLF "o=- 1 2 IN IP6 fd00::10" CRLF "s=-" CRLF
	    "c=IN IP6 fd00::10" CRLF "t=0 0" CRLF
	    "m=audio 10000 RTP/AVP 0" CRLF "a=rtcp:10001" CRLF;
	struct sdp_edit e;
	char *out;

	cr_assert_eq(inspect(s), 0);
	cr_assert_str_eq(info.m[0].addr, "fd00::10");

	edit_init(&e, 1, SDP_PROTO_SAVP);
	strcpy(e.m[0].addr, OUR6);
	e.origin_addr = OUR6;
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_not_null(strstr(out, "o=- 1 2 IN IP6 " OUR6 CRLF));
	cr_assert_not_null(strstr(out, "c=IN IP6 " OUR6 CRLF));
	cr_assert_not_null(strstr(out, "a=rtcp:20001 IN IP6 " OUR6 CRLF));
	cr_assert_null(strstr(out, "fd00"));
	cr_assert_eq(inspect(out), 0);
	cr_assert_str_eq(info.m[0].addr, OUR6);
	free(out);

	/* IPv6 plain side, IPv4 cloud side. */
	edit_init(&e, 1, SDP_PROTO_SAVP);
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_not_null(strstr(out, "c=IN IP4 " OUR4 CRLF));
	cr_assert_not_null(strstr(out, "a=rtcp:20001 IN IP4 " OUR4 CRLF));
	free(out);
}

Test(sdp_rewrite, all_rejected)
{
	struct sdp_edit e;
	char *out;

	edit_init(&e, 1, SDP_PROTO_SAVP);
	e.m[0].keep = 0;
	e.m[0].addr[0] = '\0';
	/* No address at all: the old session c= cannot stay. */
	cr_assert_null(rewrite(PBX_OFFER, &e));
	e.origin_addr = OUR4;
	cr_assert_not_null(out = rewrite(PBX_OFFER, &e));
	cr_assert_not_null(strstr(out, "c=IN IP4 " OUR4 CRLF));
	cr_assert_not_null(strstr(out, "m=audio 0 RTP/AVP 0 8 101" CRLF));
	cr_assert_null(strstr(out, "192.168"));
	free(out);
}

/* A proxy may be handed the same body twice (retransmission). */
Test(sdp_rewrite, deterministic)
{
	struct sdp_edit e;
	char *a, *b, *c;

	edit_init(&e, 1, SDP_PROTO_SAVP);
	e.m[0].crypto[0] = KEY1;
	e.m[0].ncrypto = 1;
	cr_assert_not_null(a = rewrite(PBX_OFFER, &e));
	cr_assert_not_null(b = rewrite(PBX_OFFER, &e));
	cr_assert_str_eq(a, b);
	/* And rewriting our own output changes nothing. */
	cr_assert_not_null(c = rewrite(a, &e));
	cr_assert_str_eq(a, c);
	free(a);
	free(b);
	free(c);
}

/* body need not be NUL-terminated: nothing past len is read. */
Test(sdp_rewrite, length_not_nul)
{
	/* What follows len would add an m= line and a bad line. */
	const char buf[] = PBX_OFFER "m=video 9 RTP/AVP 96" CRLF "XXXXXXXX";
	struct sdp_edit e;
	size_t n;
	char *out;

	cr_assert_eq(sdp_inspect(buf, strlen(PBX_OFFER), &info), 0);
	cr_assert_eq(info.nmedia, 1);
	edit_init(&e, 1, SDP_PROTO_SAVP);
	cr_assert_not_null(out = sdp_rewrite(buf, strlen(PBX_OFFER), &e, &n));
	cr_assert_null(strstr(out, "video"));
	free(out);
}

Test(sdp_rewrite, bad_edits)
{
	const char *s = PBX_OFFER "m=image 10004 udptl t38" CRLF;
	struct sdp_edit e;
	char *out;

	edit_init(&e, 2, SDP_PROTO_SAVP);
	e.m[1].keep = 0;
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_not_null(strstr(out, "m=image 0 udptl t38" CRLF));
	free(out);

	e.nmedia = 1;				/* count mismatch */
	cr_assert_null(rewrite(s, &e));
	e.nmedia = 3;
	cr_assert_null(rewrite(s, &e));
	e.nmedia = SDP_MAX_MEDIA + 1;
	cr_assert_null(rewrite(s, &e));
	e.nmedia = -1;
	cr_assert_null(rewrite(s, &e));

	edit_init(&e, 2, SDP_PROTO_SAVP);	/* T.38 kept as RTP */
	cr_assert_null(rewrite(s, &e));

	edit_init(&e, 1, SDP_PROTO_SAVP);
	cr_assert_not_null(out = rewrite(PBX_OFFER, &e));
	free(out);
	strcpy(e.m[0].addr, "pbx.example.com");
	cr_assert_null(rewrite(PBX_OFFER, &e));
	strcpy(e.m[0].addr, "1.2.3.4" CRLF "a=x");
	cr_assert_null(rewrite(PBX_OFFER, &e));
	memset(e.m[0].addr, '1', sizeof(e.m[0].addr));	/* no NUL */
	cr_assert_null(rewrite(PBX_OFFER, &e));
	strcpy(e.m[0].addr, "");
	cr_assert_null(rewrite(PBX_OFFER, &e));

	edit_init(&e, 1, SDP_PROTO_SAVP);
	e.m[0].port = 0;
	cr_assert_null(rewrite(PBX_OFFER, &e));
	e.m[0].port = 65536;
	cr_assert_null(rewrite(PBX_OFFER, &e));

	edit_init(&e, 1, SDP_PROTO_OTHER);
	cr_assert_null(rewrite(PBX_OFFER, &e));

	edit_init(&e, 1, SDP_PROTO_SAVP);
	e.m[0].crypto[0] = KEY1 CRLF "a=crypto:9 x";
	e.m[0].ncrypto = 1;
	cr_assert_null(rewrite(PBX_OFFER, &e));
	e.m[0].crypto[0] = "";
	cr_assert_null(rewrite(PBX_OFFER, &e));
	e.m[0].crypto[0] = NULL;
	cr_assert_null(rewrite(PBX_OFFER, &e));
	e.m[0].crypto[0] = KEY1;
	e.m[0].ncrypto = SDP_MAX_CRYPTO + 1;
	cr_assert_null(rewrite(PBX_OFFER, &e));
	e.m[0].ncrypto = -1;
	cr_assert_null(rewrite(PBX_OFFER, &e));

	edit_init(&e, 1, SDP_PROTO_SAVP);
	e.origin_addr = "host.example.com";
	cr_assert_null(rewrite(PBX_OFFER, &e));

	cr_assert_null(sdp_rewrite(PBX_OFFER, strlen(PBX_OFFER), NULL, NULL));
}

Test(sdp_inspect, max_media)
{
	char s[2048] = "v=0" CRLF "o=- 1 2 IN IP4 192.168.1.10" CRLF "s=-"
	    CRLF "c=IN IP4 192.168.1.10" CRLF "t=0 0" CRLF;
	struct sdp_edit e;
	char *out;

	for (int i = 0; i < SDP_MAX_MEDIA; i++)
		strcat(s, "m=audio 10000 RTP/AVP 0" CRLF);
	cr_assert_eq(inspect(s), 0);
	cr_assert_eq(info.nmedia, SDP_MAX_MEDIA);
	edit_init(&e, SDP_MAX_MEDIA, SDP_PROTO_SAVP);
	cr_assert_not_null(out = rewrite(s, &e));
	free(out);

	strcat(s, "m=audio 10000 RTP/AVP 0" CRLF);
	cr_assert_eq(inspect(s), -E2BIG);
	cr_assert_eq(info.nmedia, 0);
	e.nmedia = SDP_MAX_MEDIA;
	cr_assert_null(rewrite(s, &e));
}

Test(sdp_inspect, malformed)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"\x01\x02\x03\xff\xfe",
		/* No v=. */
		"o=- 1 2 IN IP4 1.2.3.4" CRLF "s=-" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "t=0 0" CRLF "m=audio 1000 RTP/AVP 0" CRLF,
		/* No o=. */
		"v=0" CRLF "s=-" CRLF "c=IN IP4 1.2.3.4" CRLF "t=0 0" CRLF
		    "m=audio 1000 RTP/AVP 0" CRLF,
		/* No c= anywhere. */
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "s=-" CRLF "t=0 0"
		    CRLF "m=audio 1000 RTP/AVP 0" CRLF,
		/* Truncated m= lines. */
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=audio 1000" CRLF,
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=audio 1000 RTP/AVP" CRLF,
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=audio" CRLF,
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=" CRLF,
		/* Bad port, bad payload type, bad a=rtcp. */
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=audio 70000 RTP/AVP 0" CRLF,
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=audio x RTP/AVP 0" CRLF,
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=audio 1000 RTP/AVP 200" CRLF,
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=audio 1000 RTP/AVP 0" CRLF "a=rtcp:99999" CRLF,
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=audio 1000 RTP/AVP 0" CRLF "a=rtcp:" CRLF,
		/* a=crypto without a value. */
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=audio 1000 RTP/SAVP 0" CRLF "a=crypto" CRLF,
		/* Lines sofia-sip would silently stop at. */
		"v=0" CRLF "x" CRLF,
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=audio 1000 RTP/AVP 0" CRLF "  " CRLF "a=x" CRLF,
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4 1.2.3.4"
		    CRLF "m=audio 1000 RTP/AVP 0" CRLF "a" CRLF,
		/* Bad c=. */
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=XX IP4 1.2.3.4"
		    CRLF "m=audio 1000 RTP/AVP 0" CRLF,
		"v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "c=IN IP4" CRLF
		    "m=audio 1000 RTP/AVP 0" CRLF,
		NULL
	};
	struct sdp_edit e;

	edit_init(&e, 1, SDP_PROTO_SAVP);
	for (int i = 0; bad[i] != NULL; i++) {
		memset(&info, 0xa5, sizeof(info));
		cr_assert_lt(inspect(bad[i]), 0, "accepted #%d", i);
		cr_assert_eq(info.nmedia, 0);
		cr_assert_null(rewrite(bad[i], &e), "rewrote #%d", i);
	}
	cr_assert_eq(sdp_inspect(NULL, 10, &info), -EINVAL);
	cr_assert_eq(sdp_inspect(PBX_OFFER, strlen(PBX_OFFER), NULL), -EINVAL);
}

/* sofia-sip would read the body only up to a NUL. */
Test(sdp_inspect, embedded_nul)
{
	const char s[] = PBX_OFFER "a=x-y:1\0" CRLF "a=crypto:1 z" CRLF;
	struct sdp_edit e;
	size_t n;

	cr_assert_eq(sdp_inspect(s, sizeof(s) - 1, &info), -EINVAL);
	edit_init(&e, 1, SDP_PROTO_SAVP);
	cr_assert_null(sdp_rewrite(s, sizeof(s) - 1, &e, &n));
}

static char *
with_attr(size_t vlen, const char *name)
{
	size_t base = strlen(PBX_OFFER), nlen = strlen(name);
	char *s = malloc(base + nlen + vlen + 8);

	cr_assert_not_null(s);
	memcpy(s, PBX_OFFER, base);
	memcpy(s + base, "a=", 2);
	memcpy(s + base + 2, name, nlen);
	memset(s + base + 2 + nlen, 'A', vlen);
	strcpy(s + base + 2 + nlen + vlen, CRLF);
	return s;
}

Test(sdp_inspect, huge_attributes)
{
	struct sdp_edit e;
	char *s, *out;

	/* Over the body limit. */
	s = with_attr(SDP_MAX_LEN, "x-big:");
	cr_assert_eq(inspect(s), -E2BIG);
	edit_init(&e, 1, SDP_PROTO_SAVP);
	cr_assert_null(rewrite(s, &e));
	free(s);

	/* Within it: passes through whole. */
	s = with_attr(SDP_MAX_LEN - 1024, "x-big:");
	cr_assert_eq(inspect(s), 0);
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_gt(strlen(out), SDP_MAX_LEN - 1024);
	free(out);
	free(s);

	/* A crypto value that does not fit sdp_media_info. */
	s = with_attr(SDP_CRYPTO_LEN, "crypto:");
	cr_assert_eq(inspect(s), -E2BIG);
	cr_assert_eq(info.nmedia, 0);
	/* The rewrite replaces it, so it need not fit anywhere. */
	cr_assert_not_null(out = rewrite(s, &e));
	cr_assert_null(strstr(out, "AAAA"));
	free(out);
	free(s);

	s = with_attr(SDP_CRYPTO_LEN - 2, "crypto:");
	cr_assert_eq(inspect(s), 0);
	cr_assert_eq(strlen(info.m[0].crypto[0]), SDP_CRYPTO_LEN - 2);
	free(s);
}

Test(sdp_inspect, too_many_crypto)
{
	const char *line = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUFB" CRLF;
	char s[4096] = PBX_OFFER;

	for (int i = 0; i < SDP_MAX_CRYPTO; i++)
		strcat(s, line);
	cr_assert_eq(inspect(s), 0);
	cr_assert_eq(info.m[0].ncrypto, SDP_MAX_CRYPTO);
	strcat(s, line);
	cr_assert_eq(inspect(s), -E2BIG);
}

Test(sdp_inspect, other_protos)
{
	const char *s = "v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "s=-" CRLF
	    "c=IN IP4 1.2.3.4" CRLF "t=0 0" CRLF
	    "m=audio 1000 RTP/SAVPF 0" CRLF
	    "m=audio 1002 UDP/TLS/RTP/SAVP 0" CRLF
	    "m=image 1004 udptl t38" CRLF
	    "m=audio 0 RTP/AVP 0" CRLF
	    "m=video 1006 RTP/SAVP 96" CRLF;

	cr_assert_eq(inspect(s), 0);
	cr_assert_eq(info.nmedia, 5);
	cr_assert_eq(info.m[0].proto, SDP_PROTO_OTHER);
	cr_assert_eq(info.m[1].proto, SDP_PROTO_OTHER);
	cr_assert_eq(info.m[2].proto, SDP_PROTO_OTHER);
	cr_assert_eq(info.m[2].audio, 0);
	cr_assert_eq(info.m[3].proto, SDP_PROTO_AVP);
	cr_assert_eq(info.m[3].port, 0);
	cr_assert_eq(info.m[4].proto, SDP_PROTO_SAVP);
	cr_assert_eq(info.m[4].audio, 0);
}

/*
 * sofia-sip 1.12.11 allocates forever on an m= format that does not
 * start with a token character (fuzzer finding); never let it see one.
 */
Test(sdp_inspect, mline_format_not_token, .timeout = 10)
{
	static const char *const bad[] = {
		"m=audio 0 RTP/AVPX inline:b2xkMQ==|2^20|1:4",
		"m=audio 1000 UDP /a",
		"m=audio 1000 UDP a=b",
		"m=audio 1000 RTP/AVP 0/8",
		"m=audio\t1000 RTP/AVP 0",
		"m=audio 1000 RTP/AVP 0 \"",
		"m=audio 10000V+RTP /AP 8 0",
		"m=audio 10000 RTP/ 8",
		"m=audio 10000/ RTP/AVP 8",
		"m=audio 10000 RTP/AVP ",
		" m=audio 10000 RTP/AVP 0",
		NULL
	};
	char s[512];

	for (int i = 0; bad[i] != NULL; i++) {
		snprintf(s, sizeof(s), "v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF
		    "s=-" CRLF "c=IN IP4 1.2.3.4" CRLF "t=0 0" CRLF "%s" CRLF,
		    bad[i]);
		cr_assert_eq(inspect(s), -EINVAL, "accepted %s", bad[i]);
	}
	/* Spaces around the fields are fine. */
	cr_assert_eq(inspect("v=0" CRLF "o=- 1 2 IN IP4 1.2.3.4" CRLF "s=-"
	    CRLF "c=IN IP4 1.2.3.4" CRLF "t=0 0" CRLF
	    "m=audio  1000 udp  x-y.z " CRLF), 0);
	cr_assert_eq(info.m[0].proto, SDP_PROTO_OTHER);
}

Test(sdp_rewrite, ice_and_dtls_attributes_do_not_cross)
{
	const char *ice =
	    "v=0" CRLF "o=PBX 1 1 IN IP4 192.168.1.10" CRLF "s=-" CRLF
	    "c=IN IP4 192.168.1.10" CRLF "t=0 0" CRLF
	    "a=ice-lite" CRLF "a=fingerprint:sha-256 AB:CD" CRLF
	    "m=audio 10000 RTP/AVP 0" CRLF
	    "a=ice-ufrag:abcd" CRLF "a=ice-pwd:0123456789abcdef0123456789" CRLF
	    "a=candidate:1 1 UDP 2130706431 192.168.1.10 10000 typ host" CRLF
	    "a=setup:actpass" CRLF "a=sendrecv" CRLF;
	struct sdp_edit e;
	char *out;

	edit_init(&e, 1, SDP_PROTO_SAVP);
	e.m[0].crypto[0] = KEY1;
	e.m[0].ncrypto = 1;
	e.origin_addr = OUR4;
	cr_assert_not_null(out = rewrite(ice, &e));
	cr_assert_null(strstr(out, "candidate"), "%s", out);
	cr_assert_null(strstr(out, "ice-"), "%s", out);
	cr_assert_null(strstr(out, "fingerprint"), "%s", out);
	cr_assert_null(strstr(out, "setup"), "%s", out);
	cr_assert_null(strstr(out, "192.168.1.10"), "%s", out);
	cr_assert_not_null(strstr(out, "a=sendrecv"), "%s", out);
	free(out);
}
