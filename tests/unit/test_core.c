/*
 * test_core.c - the SIP core's decisions without a socket: messages go in
 * through core_recv(), and what the core would put on the network is
 * recorded by a struct sip_wire of the test's own (sip/core.h).  Routing
 * both ways, our answers (100, 403, 481, 503), retransmissions absorbed,
 * responses back to their source, failover when a send fails, admission.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <criterion/criterion.h>

#include "branch.h"
#include "core.h"
#include "dest.h"
#include "dialog.h"
#include "txn.h"
#include "unit_sip.h"

#define MAXOUT	16

/* What left, in order: sends (to a destination) and replies (to where
 * a request came from). */
struct out {
	int reply;
	struct sip_dest d;
	struct sip_src src;
	char *buf;
};

static struct config cfg;
static struct proxy px;
static uv_loop_t loop;
static struct out outs[MAXOUT];
static int nout;
static int fail_sends;		/* the next n sends fail */

static int
wire_send(void *ctx, const struct sip_dest *d, const char *buf, size_t len,
    uint64_t *used, const char **why)
{
	cr_assert_lt(nout, MAXOUT);
	outs[nout].d = *d;
	outs[nout].buf = strndup(buf, len);
	nout++;
	*used = 0;
	if (fail_sends > 0) {
		fail_sends--;
		*why = "test: refused";
		return -ECONNREFUSED;
	}
	return (int)len;
}

static int
wire_reply(void *ctx, const struct sip_src *src, const char *buf, size_t len)
{
	cr_assert_lt(nout, MAXOUT);
	outs[nout].reply = 1;
	outs[nout].src = *src;
	outs[nout].buf = strndup(buf, len);
	nout++;
	return (int)len;
}

static void
start(const char *extra)
{
	static SSL_CTX *no_ctx;
	struct core_params p = { .tls_client = &no_ctx };

	unit_config_hosts(&cfg, "lb01.voice.use1.pure.cloud, "
	    "lb02.voice.use1.pure.cloud", extra);
	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(core_init(&px, &loop, &cfg, &p), 0);
	px.wire.send = wire_send;
	px.wire.reply = wire_reply;
	px.wire.ctx = NULL;
	nout = 0;
	fail_sends = 0;
}

static void
setup(void)
{
	start("");
}

static void
teardown(void)
{
	core_stop(&px);
	uv_run(&loop, UV_RUN_DEFAULT);
	core_free(&px);
	cr_assert_eq(uv_loop_close(&loop), 0, "a handle outlived core_stop");
	for (int i = 0; i < nout; i++)
		free(outs[i].buf);
}

TestSuite(core, .init = setup, .fini = teardown);

static struct sip_src
pbx_src(const char *ip)
{
	struct sip_src s = { .side = SIDE_PBX, .tp = TP_UDP };
	struct sockaddr_in *in = (struct sockaddr_in *)&s.addr;

	in->sin_family = AF_INET;
	in->sin_port = htons(5090);
	inet_pton(AF_INET, ip, &in->sin_addr);
	s.addrlen = sizeof(*in);
	return s;
}

static struct sip_src
cloud_src(void)
{
	struct sip_src s = { .side = SIDE_CLOUD, .tp = TP_TLS, .conn_id = 7 };
	struct sockaddr_in *in = (struct sockaddr_in *)&s.addr;

	in->sin_family = AF_INET;
	in->sin_port = htons(5061);
	inet_pton(AF_INET, "127.0.0.9", &in->sin_addr);
	s.addrlen = sizeof(*in);
	return s;
}

static void
feed(const char *text, struct sip_src src)
{
	core_recv(&px, unit_parse(text), &src);
}

static const char *
invite_from_pbx(const char *cid)
{
	static char text[1024];

	snprintf(text, sizeof(text),
	    "INVITE sip:+15551234567@127.0.0.1:15060 SIP/2.0\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-%s\n"
	    "Max-Forwards: 70\n"
	    "From: <sip:100@127.0.0.1>;tag=pbx1\n"
	    "To: <sip:+15551234567@127.0.0.1>\n"
	    "Call-ID: %s\n"
	    "CSeq: 1 INVITE\n"
	    "Contact: <sip:100@127.0.0.1:5090>\n"
	    "Content-Length: 0\n\n", cid, cid);
	return text;
}

/* The response line of outs[i], e.g. "SIP/2.0 100 Trying". */
static int
out_status(int i)
{
	int st = 0;

	cr_assert_lt(i, nout);
	sscanf(outs[i].buf, "SIP/2.0 %d", &st);
	return st;
}

/* A message as it left (CRLF already). */
static msg_t *
parse_out(int i)
{
	size_t n = strlen(outs[i].buf);
	msg_t *m = msg_create(sip_default_mclass(), 0);
	void *b;

	cr_assert_not_null(m);
	b = msg_buf_alloc(m, n + 1);
	memcpy(b, outs[i].buf, n);
	msg_buf_commit(m, n, 1);
	cr_assert_gt(msg_extract(m), 0, "unparsable: %s", outs[i].buf);
	return m;
}

static int
count_lines(const char *buf, const char *prefix)
{
	int n = 0;

	for (const char *p = buf; (p = strstr(p, prefix)) != NULL; p++)
		n += p == buf || p[-1] == '\n';
	return n;
}

Test(core, invite_from_pbx_goes_to_cloud_with_trunk_uri)
{
	msg_t *m;
	sip_t *sip;

	feed(invite_from_pbx("c1"), pbx_src("127.0.0.1"));
	cr_assert_eq(nout, 2, "a 100 and the INVITE, got %d", nout);
	cr_assert(outs[0].reply);
	cr_assert_eq(out_status(0), 100);
	cr_assert_not(outs[1].reply);
	cr_assert_eq(outs[1].d.side, SIDE_CLOUD);
	cr_assert_eq(outs[1].d.tp, TP_TLS);
	cr_assert_str_eq(outs[1].d.host, "lb01.voice.use1.pure.cloud");
	cr_assert_eq(outs[1].d.port, 5061);
	cr_assert(strncmp(outs[1].buf, "INVITE sip:+15551234567;tgrp=T;"
	    "trunk-context=c.example@lb01.voice.use1.pure.cloud:5061;"
	    "transport=tls SIP/2.0\r\n", 95) == 0, "%s", outs[1].buf);
	cr_assert_eq(count_lines(outs[1].buf, "Record-Route:"), 2, "%s", outs[1].buf);
	m = parse_out(1);
	sip = sip_object(m);
	cr_assert_eq(branch_kind(sip->sip_via->v_branch, px.branch_salt, NULL),
	    BRANCH_TXN, "top Via not ours: %s", sip->sip_via->v_branch);
	cr_assert_str_eq(sip->sip_via->v_next->v_branch, "z9hG4bK-c1");
	cr_assert_eq(dialog_count(&px), 1);
	msg_destroy(m);
}

Test(core, retransmitted_invite_is_absorbed_and_answered_again)
{
	feed(invite_from_pbx("c2"), pbx_src("127.0.0.1"));
	feed(invite_from_pbx("c2"), pbx_src("127.0.0.1"));
	cr_assert_eq(nout, 3, "got %d", nout);
	cr_assert(outs[2].reply);
	cr_assert_eq(out_status(2), 100);
}

/* A response from the cloud for the INVITE outs[1] carried. */
static void
answer_from_cloud(int status, const char *phrase)
{
	msg_t *m = parse_out(1);
	sip_t *sip = sip_object(m);
	char text[2048];

	snprintf(text, sizeof(text),
	    "SIP/2.0 %d %s\n"
	    "Via: SIP/2.0/TLS %s:%u;branch=%s\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=%s;received=127.0.0.1\n"
	    "From: <sip:100@127.0.0.1>;tag=pbx1\n"
	    "To: <sip:+15551234567@127.0.0.1>;tag=cloud1\n"
	    "Call-ID: %s\n"
	    "CSeq: 1 INVITE\n"
	    "Contact: <sip:lb01.voice.use1.pure.cloud:5061;transport=tls>\n"
	    "Content-Length: 0\n\n", status, phrase,
	    sip->sip_via->v_host, 15061, sip->sip_via->v_branch,
	    sip->sip_via->v_next->v_branch, sip->sip_call_id->i_id);
	msg_destroy(m);
	feed(text, cloud_src());
}

Test(core, responses_go_back_to_where_the_request_came_from)
{
	feed(invite_from_pbx("c3"), pbx_src("127.0.0.1"));
	answer_from_cloud(180, "Ringing");
	cr_assert_eq(nout, 3);
	cr_assert(outs[2].reply);
	cr_assert_eq(out_status(2), 180);
	cr_assert_eq(outs[2].src.side, SIDE_PBX);
	cr_assert_eq(count_lines(outs[2].buf, "Via:"), 1, "our Via stays: %s",
	    outs[2].buf);
	answer_from_cloud(200, "OK");
	cr_assert_eq(nout, 4);
	cr_assert_eq(out_status(3), 200);
	cr_assert_eq(dialog_count(&px), 1);
}

Test(core, invite_from_cloud_goes_to_the_pbx)
{
	feed("INVITE sip:+15550001111@sbc.test.example:15061;transport=tls SIP/2.0\n"
	    "Via: SIP/2.0/TLS 127.0.0.9:5061;branch=z9hG4bK-in1\n"
	    "Max-Forwards: 70\n"
	    "From: <sip:+15559990000@cloud.example>;tag=cl1\n"
	    "To: <sip:+15550001111@sbc.test.example>\n"
	    "Call-ID: in1\nCSeq: 1 INVITE\n"
	    "Contact: <sip:127.0.0.9:5061;transport=tls>\n"
	    "Content-Length: 0\n\n", cloud_src());
	cr_assert_eq(nout, 2, "got %d", nout);
	cr_assert_eq(out_status(0), 100);
	cr_assert_eq(outs[1].d.side, SIDE_PBX);
	cr_assert_eq(outs[1].d.tp, TP_UDP);
	cr_assert_str_eq(outs[1].d.host, "127.0.0.1");
	cr_assert_eq(outs[1].d.port, 5090);
	cr_assert(strncmp(outs[1].buf,
	    "INVITE sip:+15550001111@127.0.0.1:5090 SIP/2.0\r\n", 48) == 0,
	    "%s", outs[1].buf);
}

Test(core, unknown_source_gets_403_and_nothing_is_sent)
{
	feed(invite_from_pbx("c4"), pbx_src("10.9.9.9"));
	cr_assert_eq(nout, 1);
	cr_assert(outs[0].reply);
	cr_assert_eq(out_status(0), 403);
	cr_assert_eq(dialog_count(&px), 0);
}

Test(core, bye_for_a_dialog_we_do_not_know_gets_481)
{
	char text[1024];

	snprintf(text, sizeof(text), "BYE sip:100@%s:%u SIP/2.0\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-b1\n"
	    "Max-Forwards: 70\n"
	    "From: <sip:100@127.0.0.1>;tag=a\nTo: <sip:200@127.0.0.1>;tag=b\n"
	    "Call-ID: nobody\nCSeq: 2 BYE\nContent-Length: 0\n\n",
	    px.pbx_host, px.pbx_port);
	feed(text, pbx_src("127.0.0.1"));
	cr_assert_eq(nout, 1, "got %d: %s", nout, nout ? outs[0].buf : "");
	cr_assert_eq(out_status(0), 481, "%s", outs[0].buf);
}

Test(core, failed_send_moves_a_new_call_to_the_next_proxy)
{
	fail_sends = 1;
	feed(invite_from_pbx("c5"), pbx_src("127.0.0.1"));
	cr_assert_eq(nout, 3, "100, the failed send, the retry: got %d", nout);
	cr_assert_str_eq(outs[1].d.host, "lb01.voice.use1.pure.cloud");
	cr_assert_str_eq(outs[2].d.host, "lb02.voice.use1.pure.cloud");
	cr_assert(strstr(outs[2].buf, "@lb02.voice.use1.pure.cloud:5061") != NULL,
	    "the Request-URI follows the proxy: %s", outs[2].buf);
}

Test(core, no_proxy_left_is_503)
{
	fail_sends = 2;
	feed(invite_from_pbx("c6"), pbx_src("127.0.0.1"));
	cr_assert_eq(nout, 4, "got %d", nout);
	cr_assert(outs[3].reply);
	cr_assert_eq(out_status(3), 503);
}

Test(core, draining_refuses_new_calls_with_503)
{
	core_drain(&px);
	feed(invite_from_pbx("c7"), pbx_src("127.0.0.1"));
	cr_assert_eq(nout, 1);
	cr_assert_eq(out_status(0), 503);
}

Test(core, calls_per_source_limit_is_503)
{
	teardown();
	start("[limits]\nmax_calls_per_source = 1\n");
	feed(invite_from_pbx("c8"), pbx_src("127.0.0.1"));
	cr_assert_eq(nout, 2);
	feed(invite_from_pbx("c9"), pbx_src("127.0.0.1"));
	cr_assert_eq(nout, 3, "got %d", nout);
	cr_assert_eq(out_status(2), 503);
	cr_assert_eq(dialog_count(&px), 1);
}

Test(core, ending_a_call_from_the_middle_sends_bye_on_both_legs)
{
	int pbx = -1, cloud = -1;

	feed(invite_from_pbx("c10"), pbx_src("127.0.0.1"));
	answer_from_cloud(200, "OK");
	cr_assert_eq(nout, 3);
	cr_assert_eq(dialog_terminate(&px, "c10", "test: media timeout"), 0);
	cr_assert_eq(nout, 5, "two BYEs, got %d", nout);
	for (int i = 3; i < 5; i++) {
		cr_assert(strncmp(outs[i].buf, "BYE ", 4) == 0, "%s", outs[i].buf);
		if (outs[i].d.side == SIDE_PBX)
			pbx = i;
		else
			cloud = i;
	}
	cr_assert(pbx >= 0 && cloud >= 0, "one BYE toward each leg");
	cr_assert(strncmp(outs[pbx].buf, "BYE sip:100@127.0.0.1:5090 ", 27) == 0,
	    "%s", outs[pbx].buf);
	cr_assert(strstr(outs[pbx].buf, "\r\nTo: <sip:100@127.0.0.1>;tag=pbx1\r\n"),
	    "the PBX is the callee of our BYE: %s", outs[pbx].buf);
	cr_assert_str_eq(outs[cloud].d.host, "lb01.voice.use1.pure.cloud");
	cr_assert_eq(outs[cloud].d.tp, TP_TLS);
	cr_assert_eq(dialog_count(&px), 0);
}
