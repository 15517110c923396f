/*
 * test_dialog.c - what the core keeps of a call, without a socket: the
 * route sets each side's requests take (split around our two
 * Record-Route entries), CSeq tracking, and the per-source call count
 * (admission) that opening and forgetting a dialog keeps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include "admission.h"
#include "unit_sip.h"
#include "dialog.h"

static struct config cfg;
static struct proxy px;
static uv_loop_t loop;

static void
setup(void)
{
	unit_config(&cfg, "[limits]\nmax_calls_per_source = 2\n");
	cr_assert_eq(uv_loop_init(&loop), 0);
	memset(&px, 0, sizeof(px));
	px.loop = &loop;
	px.cfg = &cfg;
	snprintf(px.tls_name, sizeof(px.tls_name), "sbc.test.example");
	px.tls_port = 15061;
	snprintf(px.pbx_host, sizeof(px.pbx_host), "127.0.0.1");
	px.pbx_port = 15060;
	cr_assert_eq(dialog_table_init(&px), 0);
	cr_assert_eq(admission_init(&px), 0);
}

static void
teardown(void)
{
	dialog_table_free(&px);
	admission_free(&px);
	uv_loop_close(&loop);
}

TestSuite(dialog, .init = setup, .fini = teardown);

static struct sockaddr_in pbx_src;

static void
open_call(const char *cid)
{
	char text[1024];
	msg_t *m;

	snprintf(text, sizeof(text),
	    "INVITE sip:+1555@sbc.test.example SIP/2.0\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-%s\n"
	    "From: <sip:1000@127.0.0.1>;tag=pbx1\n"
	    "To: <sip:+1555@sbc.test.example>\n"
	    "Call-ID: %s\nCSeq: 10 INVITE\n"
	    "Contact: <sip:1000@127.0.0.1:5070>\nContent-Length: 0\n\n", cid, cid);
	m = unit_parse(text);
	pbx_src.sin_family = AF_INET;
	pbx_src.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dialog_open(&px, sip_object(m), SIDE_PBX, (struct sockaddr *)&pbx_src, 0, 0);
	msg_destroy(m);
}

/* The cloud's 2xx as it reaches us: the cloud proxy's own entry on top,
 * then our two (cloud face, PBX face), then one the PBX side added. */
Test(dialog, route_sets_split_around_our_entries)
{
	msg_t *m;
	struct dialog *dg;

	open_call("dlg-1@test");
	m = unit_parse("SIP/2.0 200 OK\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-dlg-1@test\n"
	    "Record-Route: <sip:lb01.voice.use1.pure.cloud:5061;transport=tls;lr>\n"
	    "Record-Route: <sip:sbc.test.example:15061;transport=tls;lr;r2=on>\n"
	    "Record-Route: <sip:127.0.0.1:15060;lr;r2=on>\n"
	    "Record-Route: <sip:pbx-edge.example;lr>\n"
	    "From: <sip:1000@127.0.0.1>;tag=pbx1\n"
	    "To: <sip:+1555@sbc.test.example>;tag=cloud9\n"
	    "Call-ID: dlg-1@test\nCSeq: 10 INVITE\n"
	    "Contact: <sip:+1555@10.20.30.40:5061;transport=tls>\n"
	    "Content-Length: 0\n\n");
	dialog_confirm(&px, sip_object(m), "lb01.voice.use1.pure.cloud");
	msg_destroy(m);
	dg = strmap_get(&px.dialogs, "dlg-1@test");
	cr_assert_not_null(dg);
	cr_assert(dg->confirmed);
	cr_assert_str_eq(dg->route_to_callee,
	    "<sip:lb01.voice.use1.pure.cloud:5061;transport=tls;lr>");
	cr_assert_str_eq(dg->route_to_caller, "<sip:pbx-edge.example;lr>");
	cr_assert_str_eq(dg->callee_target,
	    "sip:+1555@10.20.30.40:5061;transport=tls");
	cr_assert_str_eq(dg->caller_target, "sip:1000@127.0.0.1:5070");
	cr_assert_str_eq(dg->proxy, "lb01.voice.use1.pure.cloud");
}

Test(dialog, cseq_only_moves_up)
{
	msg_t *m;
	struct dialog *dg;

	open_call("dlg-2@test");
	m = unit_parse("BYE sip:+1555@10.20.30.40 SIP/2.0\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-b\n"
	    "From: <sip:1000@127.0.0.1>;tag=pbx1\n"
	    "To: <sip:+1555@sbc.test.example>;tag=cloud9\n"
	    "Call-ID: dlg-2@test\nCSeq: 9 BYE\nContent-Length: 0\n\n");
	dialog_request(&px, sip_object(m), SIDE_PBX);
	dg = strmap_get(&px.dialogs, "dlg-2@test");
	cr_assert_eq(dg->cseq[SIDE_PBX], 10, "an older CSeq changes nothing");
	msg_destroy(m);
	m = unit_parse("BYE sip:+1555@10.20.30.40 SIP/2.0\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-c\n"
	    "From: <sip:1000@127.0.0.1>;tag=pbx1\n"
	    "To: <sip:+1555@sbc.test.example>;tag=cloud9\n"
	    "Call-ID: dlg-2@test\nCSeq: 11 BYE\nContent-Length: 0\n\n");
	dialog_request(&px, sip_object(m), SIDE_PBX);
	cr_assert_eq(dg->cseq[SIDE_PBX], 11);
	cr_assert_eq(dg->cseq[SIDE_CLOUD], 0);
	msg_destroy(m);
}

/* [limits] max_calls_per_source = 2: two open dialogs from one source
 * refuse a third call; forgetting one makes room again. */
Test(dialog, per_source_calls_counted_by_open_and_forget)
{
	const char *why = NULL;

	open_call("dlg-3@test");
	open_call("dlg-3@test");	/* a retransmission: not a new call */
	cr_assert_eq(admission_call_check(&px, (struct sockaddr *)&pbx_src,
	    &why), 0, "one call up: %s", why ? why : "");
	open_call("dlg-4@test");
	cr_assert_neq(admission_call_check(&px, (struct sockaddr *)&pbx_src,
	    &why), 0, "two calls up from the source");
	dialog_forget(&px, "dlg-4@test", "test");
	cr_assert_null(strmap_get(&px.dialogs, "dlg-4@test"));
	cr_assert_eq(admission_call_check(&px, (struct sockaddr *)&pbx_src,
	    &why), 0, "room again after the BYE: %s", why ? why : "");
}

/* A stored call names its trunk and PBX (issue 17): restored onto the
 * same names, refused when this configuration no longer has them, and a
 * record from before names existed takes the first of each. */
Test(dialog, restore_by_trunk_and_pbx_names)
{
	struct dialog_state st = {
		.callid = "r1", .caller_side = SIDE_PBX, .confirmed = 1,
		.caller = "<sip:1000@127.0.0.1>;tag=a",
		.callee = "<sip:+1555@sbc.test.example>;tag=b",
		.trunk = "default", .pbx = "default", .src_ip = "127.0.0.1",
	};
	struct dialog_state out;
	int trunk = -1, pbx = -1;

	cr_assert_eq(dialog_state_restore(&px, &st), 0);
	cr_assert_eq(dialog_parties(&px, "r1", &trunk, &pbx), 0);
	cr_assert_eq(trunk, 0);
	cr_assert_eq(pbx, 0);
	cr_assert_eq(dialog_state_get(&px, "r1", &out), 0);
	cr_assert_str_eq(out.trunk, "default");
	cr_assert_str_eq(out.pbx, "default");

	st.callid = "r2";
	st.trunk = "gone";
	cr_assert_eq(dialog_state_restore(&px, &st), -ENOENT);
	st.trunk = "default";
	st.pbx = "gone";
	cr_assert_eq(dialog_state_restore(&px, &st), -ENOENT);
	cr_assert_eq(dialog_count(&px), 1);

	st.callid = "r3";
	st.trunk = st.pbx = NULL;
	cr_assert_eq(dialog_state_restore(&px, &st), 0);
	cr_assert_eq(dialog_trunk(&px, "r3"), 0);
	dialog_forget_all(&px, "test over");
}
