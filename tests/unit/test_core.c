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
#include "metrics.h"
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

/* The core on the configuration in cfg. */
static void
start_core(void)
{
	static SSL_CTX *no_ctx[CFG_MAX_TRUNKS];	/* one per trunk */
	struct core_params p = { .tls_client = no_ctx };

	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(core_init(&px, &loop, &cfg, &p), 0);
	px.wire.send = wire_send;
	px.wire.reply = wire_reply;
	px.wire.ctx = NULL;
	nout = 0;
	fail_sends = 0;
}

static void
start(const char *extra)
{
	unit_config_hosts(&cfg, "lb01.voice.use1.pure.cloud, "
	    "lb02.voice.use1.pure.cloud", extra);
	start_core();
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
	nout = 0;
	config_free(&cfg);
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

/* ---- Several PBXs and trunks, routed by the number plan (issue 17) ---- */

/*
 * PBX a (127.0.0.1) and PBX b (127.0.0.2); trunk x (proxy
 * x1.trunk-x.example, calls from 127.0.1.0/24) and trunk y (y1 and y2,
 * from 127.0.2.0/24).  a's national numbers leave on x as E.164 with a's DID
 * prefix on the caller; b's calls leave on y.  From the cloud: x's
 * +442079461* to a, y's +44207946200..299 to b, both made national.
 */
static const char multi_text[] =
    "[pbx]\n"
    "transports = udp,tcp\n"
    "[pbx a]\n"
    "address = 127.0.0.1:5090\n"
    "allow = 127.0.0.1/32\n"
    "[pbx b]\n"
    "address = 127.0.0.2:5092\n"
    "allow = 127.0.0.2/32\n"
    "[cloud]\n"
    "trunk_context = c.example\n"
    "[trunk x]\n"
    "hosts = x1.trunk-x.example\n"
    "tgrp = TX\n"
    "trunk_context = x.example\n"
    "allow = 127.0.1.0/24\n"
    "[trunk y]\n"
    "hosts = y1.trunk-y.example, y2.trunk-y.example\n"
    "tgrp = TY\n"
    "trunk_context = y.example\n"
    "allow = 127.0.2.0/24\n"
    "[tls_server]\n"
    "cert_file = /x.pem\n"
    "key_file = /x.key\n"
    "advertised_name = sbc.test.example\n"
    "listen = 127.0.0.1:15061\n"
    "[rule uk]\n"
    "to_e164 = 44\n"
    "[rule uk-national]\n"
    "from_e164 = 44\n"
    "[rule a-did]\n"
    "prefix = +442079460\n"
    "only = 1*\n"
    "[route a-out]\n"
    "direction = to_cloud\n"
    "from_pbx = a\n"
    "number = 0*\n"
    "called = uk\n"
    "calling = a-did\n"
    "trunk = x\n"
    "[route b-out]\n"
    "direction = to_cloud\n"
    "from_pbx = b\n"
    "called = uk\n"
    "trunk = y\n"
    "[route in-a]\n"
    "direction = to_pbx\n"
    "from_trunk = x\n"
    "number = +442079461*\n"
    "called = uk-national\n"
    "pbx = a\n"
    "[route in-b]\n"
    "direction = to_pbx\n"
    "from_trunk = y\n"
    "number = +44207946200-+44207946299\n"
    "called = uk-national\n"
    "pbx = b\n";

enum { TRUNK_X, TRUNK_Y };
enum { PBX_A, PBX_B };

static void
start_multi(void)
{
	teardown();
	memset(&cfg, 0, sizeof(cfg));
	unit_config_text(&cfg, multi_text);
	cr_assert_eq(cfg.ntrunks, 2);
	cr_assert_eq(cfg.npbx, 2);
	start_core();
}

/* A source on the cloud side: no connection of ours, known by address. */
static struct sip_src
cloud_src_ip(const char *ip)
{
	struct sip_src s = cloud_src();
	struct sockaddr_in *in = (struct sockaddr_in *)&s.addr;

	inet_pton(AF_INET, ip, &in->sin_addr);
	s.conn_id = 0;
	return s;
}

/* A new call from a PBX at ip: caller 'from', called 'to', with a PAI. */
static const char *
pbx_invite(const char *cid, const char *ip, const char *from, const char *to)
{
	static char text[1024];

	snprintf(text, sizeof(text),
	    "INVITE sip:%s@127.0.0.1:15060 SIP/2.0\n"
	    "Via: SIP/2.0/UDP %s:5090;branch=z9hG4bK-%s\n"
	    "Max-Forwards: 70\n"
	    "From: <sip:%s@%s>;tag=pbx1\n"
	    "To: <sip:%s@%s>\n"
	    "P-Asserted-Identity: <sip:%s@%s>\n"
	    "Call-ID: %s\n"
	    "CSeq: 1 INVITE\n"
	    "Contact: <sip:%s@%s:5090>\n"
	    "Content-Length: 0\n\n", to, ip, cid, from, ip, to, ip, from, ip,
	    cid, from, ip);
	return text;
}

/* A new call from the cloud: caller +15559990000, called 'to'. */
static const char *
cloud_invite(const char *cid, const char *ip, const char *to)
{
	static char text[1024];

	snprintf(text, sizeof(text),
	    "INVITE sip:%s@sbc.test.example:15061;transport=tls SIP/2.0\n"
	    "Via: SIP/2.0/TLS %s:5061;branch=z9hG4bK-%s\n"
	    "Max-Forwards: 70\n"
	    "From: <sip:+15559990000@cloud.example>;tag=cl1\n"
	    "To: <sip:%s@sbc.test.example>\n"
	    "Call-ID: %s\nCSeq: 1 INVITE\n"
	    "Contact: <sip:%s:5061;transport=tls>\n"
	    "Content-Length: 0\n\n", to, ip, cid, to, cid, ip);
	return text;
}

/* The request line of outs[i], without its CRLF. */
static const char *
out_first_line(int i)
{
	static char line[1024];
	const char *e;

	cr_assert_lt(i, nout);
	e = strstr(outs[i].buf, "\r\n");
	cr_assert_not_null(e, "%s", outs[i].buf);
	snprintf(line, sizeof(line), "%.*s", (int)(e - outs[i].buf), outs[i].buf);
	return line;
}

/* 1 when outs[i] holds the header line exactly (CRLF on both sides). */
static int
out_has_line(int i, const char *line)
{
	char want[1024];

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	return strstr(outs[i].buf, want) != NULL;
}

#define assert_line(i, line)						\
	cr_assert(out_has_line((i), (line)), "no \"%s\" in:\n%s", (line),	\
	    outs[(i)].buf)

/*
 * A response to the request outs[k] carried, from the side it went to:
 * its Vias, From, Call-ID and CSeq as sent, To with a tag.
 */
static void
answer_out(int k, int status, const char *phrase, struct sip_src from,
    const char *contact)
{
	char text[4096];
	size_t off;
	const char *p = strstr(outs[k].buf, "\r\n") + 2;

	off = (size_t)snprintf(text, sizeof(text), "SIP/2.0 %d %s\n", status,
	    phrase);
	while (*p != '\0' && strncmp(p, "\r\n", 2) != 0) {
		const char *e = strstr(p, "\r\n");
		int n = (int)(e - p);
		if (strncmp(p, "Via:", 4) == 0 || strncmp(p, "From:", 5) == 0 ||
		    strncmp(p, "Call-ID:", 8) == 0 || strncmp(p, "CSeq:", 5) == 0)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    "%.*s\n", n, p);
		else if (strncmp(p, "To:", 3) == 0)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    "%.*s;tag=callee1\n", n, p);
		p = e + 2;
	}
	snprintf(text + off, sizeof(text) - off, "Contact: <%s>\n"
	    "Content-Length: 0\n\n", contact);
	feed(text, from);
}

/* stderr (the log) into a file from here to capture_end(). */
static FILE *capture_fp;
static int capture_saved = -1;

static void
capture_start(void)
{
	fflush(stderr);
	cr_assert_not_null(capture_fp = tmpfile());
	cr_assert_neq(capture_saved = dup(STDERR_FILENO), -1);
	cr_assert_neq(dup2(fileno(capture_fp), STDERR_FILENO), -1);
}

static const char *
capture_end(void)
{
	static char text[16384];
	size_t n;

	fflush(stderr);
	dup2(capture_saved, STDERR_FILENO);
	close(capture_saved);
	rewind(capture_fp);
	n = fread(text, 1, sizeof(text) - 1, capture_fp);
	text[n] = '\0';
	fclose(capture_fp);
	return text;
}

static uint64_t
route_calls(int side, int trunk, int pbx, int result)
{
	return px.metrics.route_calls[side][trunk][pbx][result];
}

/* Every route_calls cell is 0. */
static int
route_calls_zero(void)
{
	for (int d = 0; d < 2; d++)
		for (int t = 0; t < CFG_MAX_TRUNKS; t++)
			for (int p = 0; p < CFG_MAX_PBX; p++)
				for (int r = 0; r < MR_NRESULTS; r++)
					if (route_calls(d, t, p, r) != 0)
						return 0;
	return 1;
}

Test(core, pbx_a_national_number_leaves_on_trunk_x_rewritten)
{
	start_multi();
	feed(pbx_invite("m1", "127.0.0.1", "100", "0201234567"),
	    pbx_src("127.0.0.1"));
	cr_assert_eq(nout, 2, "a 100 and the INVITE, got %d", nout);
	cr_assert(outs[0].reply);
	cr_assert_eq(out_status(0), 100);
	cr_assert_not(outs[1].reply);
	cr_assert_eq(outs[1].d.side, SIDE_CLOUD);
	cr_assert_eq(outs[1].d.tp, TP_TLS);
	cr_assert_eq(outs[1].d.trunk, TRUNK_X);
	cr_assert_str_eq(outs[1].d.host, "x1.trunk-x.example");
	cr_assert_eq(outs[1].d.port, 5061);
	cr_assert_str_eq(out_first_line(1), "INVITE sip:+44201234567;tgrp=TX;"
	    "trunk-context=x.example@x1.trunk-x.example:5061;transport=tls "
	    "SIP/2.0");
	/* Called: to_e164 on To too; calling: a's DID prefix on From, PAI. */
	assert_line(1, "To: <sip:+44201234567@127.0.0.1>");
	assert_line(1, "From: <sip:+442079460100@127.0.0.1>;tag=pbx1");
	assert_line(1, "P-Asserted-Identity: <sip:+442079460100@127.0.0.1>");
	cr_assert_null(strstr(outs[1].buf, "sip:100@127.0.0.1>"),
	    "an old caller left: %s", outs[1].buf);
	cr_assert_null(strstr(outs[1].buf, "TY"), "%s", outs[1].buf);
	cr_assert_eq(dialog_count(&px), 1);
	cr_assert_eq(px.metrics.no_route[SIDE_PBX], 0);
}

Test(core, pbx_b_call_leaves_on_trunk_y)
{
	start_multi();
	feed(pbx_invite("m2", "127.0.0.2", "200", "0201234567"),
	    pbx_src("127.0.0.2"));
	cr_assert_eq(nout, 2, "got %d", nout);
	cr_assert_eq(out_status(0), 100);
	cr_assert_eq(outs[1].d.side, SIDE_CLOUD);
	cr_assert_eq(outs[1].d.trunk, TRUNK_Y);
	cr_assert_str_eq(outs[1].d.host, "y1.trunk-y.example");
	cr_assert_str_eq(out_first_line(1), "INVITE sip:+44201234567;tgrp=TY;"
	    "trunk-context=y.example@y1.trunk-y.example:5061;transport=tls "
	    "SIP/2.0");
	assert_line(1, "To: <sip:+44201234567@127.0.0.2>");
	/* b-out has no calling rules: the caller as b sent it. */
	assert_line(1, "From: <sip:200@127.0.0.2>;tag=pbx1");
	assert_line(1, "P-Asserted-Identity: <sip:200@127.0.0.2>");
}

Test(core, pbx_a_number_no_route_takes_is_404)
{
	start_multi();
	/* a-out takes 0* only; b-out is b's. */
	feed(pbx_invite("m3", "127.0.0.1", "100", "+15551234567"),
	    pbx_src("127.0.0.1"));
	cr_assert_eq(nout, 1, "only our 404, got %d", nout);
	cr_assert(outs[0].reply);
	cr_assert_eq(out_status(0), 404, "%s", outs[0].buf);
	cr_assert_eq(outs[0].src.side, SIDE_PBX);
	cr_assert_eq(dialog_count(&px), 0);
	cr_assert_eq(px.metrics.no_route[SIDE_PBX], 1);
	cr_assert_eq(px.metrics.no_route[SIDE_CLOUD], 0);
}

Test(core, cloud_call_on_trunk_y_reaches_pbx_b_rewritten)
{
	start_multi();
	feed(cloud_invite("m4", "127.0.2.5", "+44207946201"),
	    cloud_src_ip("127.0.2.5"));
	cr_assert_eq(nout, 2, "got %d", nout);
	cr_assert_eq(out_status(0), 100);
	cr_assert_eq(outs[0].src.side, SIDE_CLOUD);
	cr_assert_not(outs[1].reply);
	cr_assert_eq(outs[1].d.side, SIDE_PBX);
	cr_assert_eq(outs[1].d.tp, TP_UDP);
	cr_assert_str_eq(outs[1].d.host, "127.0.0.2");
	cr_assert_eq(outs[1].d.port, 5092);
	cr_assert_str_eq(out_first_line(1),
	    "INVITE sip:0207946201@127.0.0.2:5092 SIP/2.0");
	assert_line(1, "To: <sip:0207946201@sbc.test.example>");
	assert_line(1, "From: <sip:+15559990000@cloud.example>;tag=cl1");
	cr_assert_eq(dialog_count(&px), 1);
}

Test(core, cloud_call_on_trunk_x_reaches_pbx_a)
{
	start_multi();
	feed(cloud_invite("m5", "127.0.1.5", "+442079461234"),
	    cloud_src_ip("127.0.1.5"));
	cr_assert_eq(nout, 2, "got %d", nout);
	cr_assert_eq(outs[1].d.side, SIDE_PBX);
	cr_assert_str_eq(outs[1].d.host, "127.0.0.1");
	cr_assert_eq(outs[1].d.port, 5090);
	cr_assert_str_eq(out_first_line(1),
	    "INVITE sip:02079461234@127.0.0.1:5090 SIP/2.0");
}

Test(core, cloud_unknown_number_is_404_and_no_pbx_hears_of_it)
{
	start_multi();
	feed(cloud_invite("m6", "127.0.2.5", "+15550001111"),
	    cloud_src_ip("127.0.2.5"));
	cr_assert_eq(nout, 1, "only our 404, got %d", nout);
	cr_assert(outs[0].reply);
	cr_assert_eq(out_status(0), 404, "%s", outs[0].buf);
	cr_assert_eq(outs[0].src.side, SIDE_CLOUD);
	for (int i = 0; i < nout; i++)
		cr_assert_neq(outs[i].d.side == SIDE_PBX && !outs[i].reply, 1,
		    "sent toward a PBX: %s", outs[i].buf);
	cr_assert_eq(dialog_count(&px), 0);
	cr_assert_eq(px.metrics.no_route[SIDE_CLOUD], 1);
	cr_assert_eq(px.metrics.no_route[SIDE_PBX], 0);
}

Test(core, cloud_call_from_the_wrong_trunk_is_404)
{
	start_multi();
	/* b's number, but from x's proxies: in-b wants from_trunk = y. */
	feed(cloud_invite("m7", "127.0.1.5", "+44207946201"),
	    cloud_src_ip("127.0.1.5"));
	cr_assert_eq(nout, 1, "got %d", nout);
	cr_assert_eq(out_status(0), 404, "%s", outs[0].buf);
	/* From no trunk's allow at all: only routes without from_trunk. */
	feed(cloud_invite("m8", "127.0.3.5", "+44207946201"),
	    cloud_src_ip("127.0.3.5"));
	cr_assert_eq(nout, 2, "got %d", nout);
	cr_assert(outs[1].reply);
	cr_assert_eq(out_status(1), 404, "%s", outs[1].buf);
	cr_assert_eq(px.metrics.no_route[SIDE_CLOUD], 2);
	cr_assert_eq(dialog_count(&px), 0);
}

Test(core, source_in_no_pbx_allow_is_403)
{
	start_multi();
	/* 127.0.0.1/32 and 127.0.0.2/32 only. */
	feed(pbx_invite("m9", "127.0.0.3", "100", "0201234567"),
	    pbx_src("127.0.0.3"));
	cr_assert_eq(nout, 1, "got %d", nout);
	cr_assert(outs[0].reply);
	cr_assert_eq(out_status(0), 403, "%s", outs[0].buf);
	cr_assert_eq(dialog_count(&px), 0);
	cr_assert_eq(px.metrics.refused_sources, 1);
	cr_assert_eq(px.metrics.no_route[SIDE_PBX], 0, "no route was asked");
}

Test(core, answered_pbx_call_counted_by_trunk_and_pbx)
{
	struct mbuf b = { 0 };
	uint64_t tls[MT_NTLS] = { 0 };
	const char *log;
	char bye[1024];

	start_multi();
	feed(pbx_invite("m10", "127.0.0.2", "200", "0201234567"),
	    pbx_src("127.0.0.2"));
	cr_assert_eq(nout, 2, "got %d", nout);
	/* One call no route takes, on the way. */
	feed(pbx_invite("m11", "127.0.0.1", "100", "+15551234567"),
	    pbx_src("127.0.0.1"));
	cr_assert_eq(nout, 3, "got %d", nout);
	cr_assert_eq(out_status(2), 404);

	answer_out(1, 200, "OK", cloud_src_ip("127.0.2.5"),
	    "sip:+44201234567@y1.trunk-y.example:5061;transport=tls");
	cr_assert_eq(nout, 4, "the 200 toward b, got %d", nout);
	cr_assert(outs[3].reply);
	cr_assert_eq(out_status(3), 200, "%s", outs[3].buf);
	cr_assert_eq(outs[3].src.side, SIDE_PBX);
	cr_assert_eq(route_calls(SIDE_PBX, TRUNK_Y, PBX_B, MR_ANSWERED), 1);

	snprintf(bye, sizeof(bye),
	    "BYE sip:+44201234567@y1.trunk-y.example:5061;transport=tls SIP/2.0\n"
	    "Via: SIP/2.0/UDP 127.0.0.2:5090;branch=z9hG4bK-m10bye\n"
	    "Max-Forwards: 70\n"
	    "From: <sip:200@127.0.0.2>;tag=pbx1\n"
	    "To: <sip:0201234567@127.0.0.2>;tag=callee1\n"
	    "Call-ID: m10\nCSeq: 2 BYE\nContent-Length: 0\n\n");
	capture_start();
	feed(bye, pbx_src("127.0.0.2"));
	log = capture_end();
	cr_assert_eq(nout, 5, "the BYE toward y, got %d", nout);
	cr_assert_eq(outs[4].d.side, SIDE_CLOUD);
	cr_assert_eq(outs[4].d.trunk, TRUNK_Y, "the dialog's trunk");
	cr_assert_str_eq(outs[4].d.host, "y1.trunk-y.example");
	cr_assert(strncmp(outs[4].buf, "BYE sip:+44201234567@y1.trunk-y."
	    "example:5061;transport=tls SIP/2.0\r\n", 63) == 0, "%s",
	    outs[4].buf);
	cr_assert_eq(dialog_count(&px), 0);
	cr_assert_not_null(strstr(log, "call summary: pbx->cloud trunk=y "
	    "pbx=b proxy="), "log: %s", log);

	/* Counted once, in its own cell only. */
	cr_assert_eq(route_calls(SIDE_PBX, TRUNK_Y, PBX_B, MR_ANSWERED), 1);
	px.metrics.route_calls[SIDE_PBX][TRUNK_Y][PBX_B][MR_ANSWERED] = 0;
	cr_assert(route_calls_zero(), "another cell counted");
	px.metrics.route_calls[SIDE_PBX][TRUNK_Y][PBX_B][MR_ANSWERED] = 1;
	cr_assert_eq(px.metrics.no_route[SIDE_PBX], 1);
	cr_assert_eq(px.metrics.no_route[SIDE_CLOUD], 0);

	metrics_print(&px.metrics, &cfg, tls, &b);
	cr_assert_not(b.oom);
	cr_assert_not_null(strstr(b.p, "\ntlstrunk_trunk_calls_total{direction="
	    "\"pbx_to_cloud\",trunk=\"y\",pbx=\"b\",result=\"answered\"} 1\n"),
	    "%s", b.p);
	cr_assert_not_null(strstr(b.p, "\ntlstrunk_trunk_calls_total{direction="
	    "\"pbx_to_cloud\",trunk=\"x\",pbx=\"b\",result=\"answered\"} 0\n"),
	    "%s", b.p);
	cr_assert_not_null(strstr(b.p, "\ntlstrunk_calls_no_route_total{"
	    "direction=\"pbx_to_cloud\"} 1\n"), "%s", b.p);
	cr_assert_not_null(strstr(b.p, "\ntlstrunk_calls_no_route_total{"
	    "direction=\"cloud_to_pbx\"} 0\n"), "%s", b.p);
	free(b.p);
}

Test(core, answered_cloud_call_counted_by_trunk_and_pbx)
{
	const char *log;
	char bye[1024];
	int trunk = -1, pbx = -1;

	start_multi();
	feed(cloud_invite("m12", "127.0.1.5", "+442079461234"),
	    cloud_src_ip("127.0.1.5"));
	cr_assert_eq(nout, 2, "got %d", nout);
	cr_assert_eq(dialog_parties(&px, "m12", &trunk, &pbx), 0);
	cr_assert_eq(trunk, TRUNK_X);
	cr_assert_eq(pbx, PBX_A);
	answer_out(1, 200, "OK", pbx_src("127.0.0.1"),
	    "sip:02079461234@127.0.0.1:5090");
	cr_assert_eq(nout, 3, "the 200 toward the cloud, got %d", nout);
	cr_assert_eq(out_status(2), 200, "%s", outs[2].buf);
	cr_assert_eq(outs[2].src.side, SIDE_CLOUD);
	cr_assert_eq(route_calls(SIDE_CLOUD, TRUNK_X, PBX_A, MR_ANSWERED), 1);

	snprintf(bye, sizeof(bye),
	    "BYE sip:02079461234@127.0.0.1:5090 SIP/2.0\n"
	    "Via: SIP/2.0/TLS 127.0.1.5:5061;branch=z9hG4bK-m12bye\n"
	    "Max-Forwards: 70\n"
	    "From: <sip:+15559990000@cloud.example>;tag=cl1\n"
	    "To: <sip:02079461234@sbc.test.example>;tag=callee1\n"
	    "Call-ID: m12\nCSeq: 2 BYE\nContent-Length: 0\n\n");
	capture_start();
	feed(bye, cloud_src_ip("127.0.1.5"));
	log = capture_end();
	cr_assert_eq(nout, 4, "the BYE toward a, got %d", nout);
	cr_assert_eq(outs[3].d.side, SIDE_PBX);
	cr_assert_str_eq(outs[3].d.host, "127.0.0.1");
	cr_assert_str_eq(out_first_line(3),
	    "BYE sip:02079461234@127.0.0.1:5090 SIP/2.0");
	cr_assert_eq(dialog_count(&px), 0);
	cr_assert_not_null(strstr(log, "call summary: cloud->pbx trunk=x "
	    "pbx=a proxy="), "log: %s", log);
	px.metrics.route_calls[SIDE_CLOUD][TRUNK_X][PBX_A][MR_ANSWERED] = 0;
	cr_assert(route_calls_zero(), "another cell counted");
}

Test(core, failed_send_moves_to_the_next_proxy_of_the_same_trunk)
{
	start_multi();
	fail_sends = 1;
	feed(pbx_invite("m13", "127.0.0.2", "200", "0201234567"),
	    pbx_src("127.0.0.2"));
	cr_assert_eq(nout, 3, "100, the failed send, the retry: got %d", nout);
	cr_assert_str_eq(outs[1].d.host, "y1.trunk-y.example");
	cr_assert_eq(outs[2].d.trunk, TRUNK_Y);
	cr_assert_str_eq(outs[2].d.host, "y2.trunk-y.example");
	cr_assert_str_eq(out_first_line(2), "INVITE sip:+44201234567;tgrp=TY;"
	    "trunk-context=y.example@y2.trunk-y.example:5061;transport=tls "
	    "SIP/2.0");
}
