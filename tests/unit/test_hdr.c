/*
 * test_hdr.c - the proxy's header decisions without a socket: what names
 * us, our Route entries popped, loops seen in Via, the next hop of an
 * in-dialog request, and the server transaction key (RFC 3261 17.2.3
 * for RFC 2543 hops).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include "branch.h"
#include "unit_sip.h"
#include "hdr.h"
#include "txn.h"

static struct config cfg;
static struct proxy px;

static void
setup(void)
{
	unit_config(&cfg, "");
	memset(&px, 0, sizeof(px));
	px.cfg = &cfg;
	snprintf(px.tls_name, sizeof(px.tls_name), "sbc.test.example");
	px.tls_port = 15061;
	snprintf(px.pbx_host, sizeof(px.pbx_host), "127.0.0.1");
	px.pbx_port = 15060;
	snprintf(px.branch_salt, sizeof(px.branch_salt), "0badf00d");
}

TestSuite(hdr, .init = setup);

static su_home_t home[1] = { SU_HOME_INIT(home) };

static url_t *
url(const char *s)
{
	return url_make(home, s);
}

Test(hdr, what_names_us)
{
	cr_assert_eq(hdr_url_side(&px, url("sip:sbc.test.example:15061;transport=tls;lr")),
	    SIDE_CLOUD);
	cr_assert_eq(hdr_url_side(&px, url("sip:127.0.0.1:15060;lr")), SIDE_PBX);
	cr_assert_eq(hdr_url_side(&px, url("sip:127.0.0.1:15060;transport=tcp")),
	    SIDE_PBX);
	cr_assert_eq(hdr_url_side(&px, url("sip:sbc.test.example:5061;transport=tls")),
	    -1, "another port is not us");
	cr_assert_eq(hdr_url_side(&px, url("sip:127.0.0.1:5090")), -1, "the PBX");
	cr_assert_eq(hdr_url_side(&px, url("sip:lb01.voice.use1.pure.cloud:5061")),
	    -1);
	su_home_deinit(home);
}

#define REQ_HEAD \
	"BYE sip:+1555@127.0.0.1:5090 SIP/2.0\n" \
	"Via: SIP/2.0/TLS 127.0.0.2:5061;branch=z9hG4bK-cloud-1\n"
#define REQ_TAIL \
	"From: <sip:a@lb01.voice.use1.pure.cloud>;tag=c1\n" \
	"To: <sip:+1555@127.0.0.1>;tag=p1\n" \
	"Call-ID: hdr-1@test\nCSeq: 2 BYE\nMax-Forwards: 70\n" \
	"Content-Length: 0\n\n"

Test(hdr, our_two_route_entries_popped_with_the_token)
{
	msg_t *m = unit_parse(REQ_HEAD
	    "Route: <sip:sbc.test.example:15061;transport=tls;lr;ttc=1a>\n"
	    "Route: <sip:127.0.0.1:15060;lr>\n"
	    "Route: <sip:pbx-proxy.example;lr>\n" REQ_TAIL);
	sip_t *sip = sip_object(m);
	uint64_t ttc = 0;

	hdr_pop_ours(&px, m, sip, &ttc);
	cr_assert_eq(ttc, 0x1a);
	cr_assert_not_null(sip->sip_route);
	cr_assert_str_eq(sip->sip_route->r_url->url_host, "pbx-proxy.example");
	msg_destroy(m);
}

Test(hdr, a_via_of_ours_is_a_loop)
{
	char b[BRANCH_MAX], text[2048];
	msg_t *m;

	branch_make(b, px.branch_salt, BRANCH_TXN, 7);
	snprintf(text, sizeof(text), REQ_HEAD
	    "Via: SIP/2.0/UDP 127.0.0.1:15060;branch=%s\n" REQ_TAIL, b);
	m = unit_parse(text);
	cr_assert(hdr_via_loop(&px, sip_object(m)));
	msg_destroy(m);
	m = unit_parse(REQ_HEAD REQ_TAIL);
	cr_assert(!hdr_via_loop(&px, sip_object(m)));
	msg_destroy(m);
	/* Another process's salt: not ours, not a loop. */
	branch_make(b, "feedface", BRANCH_TXN, 7);
	snprintf(text, sizeof(text), REQ_HEAD
	    "Via: SIP/2.0/UDP 127.0.0.1:15060;branch=%s\n" REQ_TAIL, b);
	m = unit_parse(text);
	cr_assert(!hdr_via_loop(&px, sip_object(m)));
	msg_destroy(m);
}

Test(hdr, next_hop_of_an_in_dialog_request)
{
	msg_t *m = unit_parse(REQ_HEAD REQ_TAIL);
	struct sip_dest d;

	/* Toward the PBX: the Request-URI, an allowed address, UDP. */
	cr_assert_eq(hdr_dialog_target(&px, sip_object(m), SIDE_PBX, 0, &d), 0);
	cr_assert_eq(d.side, SIDE_PBX);
	cr_assert_eq(d.tp, TP_UDP);
	cr_assert_eq(d.port, 5090);
	msg_destroy(m);
	/* Outside [pbx] allow: refused, never sent. */
	m = unit_parse("BYE sip:+1555@10.9.9.9:5090 SIP/2.0\n"
	    "Via: SIP/2.0/TLS 127.0.0.2:5061;branch=z9hG4bK-cloud-2\n" REQ_TAIL);
	cr_assert_lt(hdr_dialog_target(&px, sip_object(m), SIDE_PBX, 0, &d), 0);
	msg_destroy(m);
	/* Toward the cloud: the top Route, TLS, its name to verify. */
	m = unit_parse("BYE sip:+1555@10.1.1.1:5090 SIP/2.0\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-pbx-1\n"
	    "Route: <sip:lb01.voice.use1.pure.cloud:5061;transport=tls;lr>\n"
	    REQ_TAIL);
	cr_assert_eq(hdr_dialog_target(&px, sip_object(m), SIDE_CLOUD, 0x2b, &d),
	    0);
	cr_assert_eq(d.side, SIDE_CLOUD);
	cr_assert_eq(d.tp, TP_TLS);
	cr_assert_str_eq(d.host, "lb01.voice.use1.pure.cloud");
	cr_assert_eq(d.conn_id, 0x2b, "the connection the dialog came on");
	msg_destroy(m);
}

/* RFC 3261 17.2.3: without a magic-cookie branch a request is known by
 * Request-URI, From tag, Call-ID, CSeq number and top Via. */
Test(hdr, rfc2543_hop_transaction_key)
{
	static const char inv[] =
	    "INVITE sip:+1555@example.com SIP/2.0\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5070\n"
	    "From: <sip:a@x>;tag=f1\nTo: <sip:+1555@example.com>\n"
	    "Call-ID: old-1@test\nCSeq: 5 INVITE\nContent-Length: 0\n\n";
	static const char ack[] =
	    "ACK sip:+1555@example.com SIP/2.0\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5070\n"
	    "From: <sip:a@x>;tag=f1\nTo: <sip:+1555@example.com>;tag=t9\n"
	    "Call-ID: old-1@test\nCSeq: 5 ACK\nContent-Length: 0\n\n";
	static const char next[] =
	    "INVITE sip:+1555@example.com SIP/2.0\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5070\n"
	    "From: <sip:a@x>;tag=f1\nTo: <sip:+1555@example.com>\n"
	    "Call-ID: old-1@test\nCSeq: 6 INVITE\nContent-Length: 0\n\n";
	char k1[512], k2[512], k3[512], k4[512];
	msg_t *m1 = unit_parse(inv), *m2 = unit_parse(inv), *m3 = unit_parse(ack),
	    *m4 = unit_parse(next);

	cr_assert_eq(txn_skey(sip_object(m1), 0, k1, sizeof(k1)), 0);
	cr_assert_eq(txn_skey(sip_object(m2), 0, k2, sizeof(k2)), 0);
	cr_assert_eq(txn_skey(sip_object(m3), 1, k3, sizeof(k3)), 0);
	cr_assert_eq(txn_skey(sip_object(m4), 0, k4, sizeof(k4)), 0);
	cr_assert_str_eq(k1, k2, "a retransmission is the same transaction");
	cr_assert_str_eq(k1, k3, "the ACK of a non-2xx matches its INVITE");
	cr_assert_str_neq(k1, k4, "another CSeq is another transaction");
	msg_destroy(m1);
	msg_destroy(m2);
	msg_destroy(m3);
	msg_destroy(m4);
}
