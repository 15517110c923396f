/* test_sipmsg.c - messages we build ourselves are whole SIP messages. */
#include <string.h>
#include <stdlib.h>
#include <criterion/criterion.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/sip_header.h>

#include "sipmsg.h"

static const char invite[] =
    "INVITE sip:+1555;tgrp=T;trunk-context=c@lb01.voice.use1.pure.cloud:5061;transport=tls SIP/2.0\r\n"
    "Via: SIP/2.0/TLS sbc.example:5061;branch=z9hG4bKtt1;alias\r\n"
    "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-pbx;rport=5060;received=10.0.0.5\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-third\r\n"
    "Route: <sip:lb01.voice.use1.pure.cloud:5061;transport=tls;lr>\r\n"
    "Route: <sip:second.example;lr>\r\n"
    "From: <sip:1000@10.0.0.5>;tag=f1\r\n"
    "To: <sip:+1555@10.0.0.9>\r\n"
    "Call-ID: c1@10.0.0.5\r\n"
    "CSeq: 7 INVITE\r\n"
    "Contact: <sip:1000@10.0.0.5:5060>\r\n"
    "Max-Forwards: 69\r\n"
    "Content-Length: 0\r\n\r\n";

static msg_t *
parse(const char *s, size_t len)
{
	msg_t *m = msg_create(sip_default_mclass(), 0);
	void *b = msg_buf_alloc(m, len);

	memcpy(b, s, len);
	msg_buf_commit(m, len, 1);
	cr_assert_gt(msg_extract(m), 0, "unparsable: %.*s", (int)len, s);
	return m;
}

/* What a stream peer needs: the message ends with the empty line, and
 * the streaming parser finds exactly one complete message in it. */
static void
assert_whole(const char *buf, size_t len)
{
	msg_t *m = msg_create(sip_default_mclass(), 0);
	void *b = msg_buf_alloc(m, len);

	cr_assert_geq(len, 4);
	cr_assert_eq(memcmp(buf + len - 4, "\r\n\r\n", 4), 0, "%.*s", (int)len, buf);
	memcpy(b, buf, len);
	msg_buf_commit(m, len, 0);	/* not end of stream: framing must work */
	cr_assert_gt(msg_extract(m), 0, "%.*s", (int)len, buf);
	msg_destroy(m);
}

Test(sipmsg, response_is_whole_and_tagged)
{
	msg_t *req = parse(invite, strlen(invite));
	msg_t *resp = sipmsg_response(req, 1, 503, NULL);
	size_t len;
	char *buf = sipmsg_print(resp, &len);
	sip_t *sip;

	cr_assert_not_null(buf);
	assert_whole(buf, len);
	cr_assert(strncmp(buf, "SIP/2.0 503 ", 12) == 0, "%s", buf);
	/* Our own Via skipped: the response goes to the PBX. */
	cr_assert_null(strstr(buf, "sbc.example"), "%s", buf);
	cr_assert_not_null(strstr(buf, "branch=z9hG4bK-pbx"));
	sip = sip_object(resp);
	cr_assert_not_null(sip->sip_to->a_tag);
	free(buf);
	msg_destroy(resp);
	msg_destroy(req);
}

Test(sipmsg, cancel_matches_invite)
{
	msg_t *req = parse(invite, strlen(invite));
	msg_t *c = sipmsg_hop_request(req, NULL, sip_method_cancel);
	size_t len;
	char *buf = sipmsg_print(c, &len);

	cr_assert_not_null(buf);
	assert_whole(buf, len);
	/* RFC 3261 9.1: same Request-URI, top Via, Route, CSeq number. */
	cr_assert(strncmp(buf, "CANCEL sip:+1555;tgrp=T;trunk-context=c@lb01.voice.use1.pure.cloud:5061;transport=tls SIP/2.0\r\n",
	    strlen("CANCEL sip:+1555;tgrp=T;trunk-context=c@lb01.voice.use1.pure.cloud:5061;transport=tls SIP/2.0\r\n")) == 0, "%s", buf);
	cr_assert_not_null(strstr(buf, "branch=z9hG4bKtt1"));
	cr_assert_null(strstr(buf, "z9hG4bK-pbx"), "only our Via: %s", buf);
	cr_assert_not_null(strstr(buf, "CSeq: 7 CANCEL"), "%s", buf);
	cr_assert_not_null(strstr(buf, "Route: <sip:lb01.voice.use1.pure.cloud:5061;transport=tls;lr>"));
	free(buf);
	msg_destroy(c);
	msg_destroy(req);
}

Test(sipmsg, dialog_bye_follows_record_route_reversed)
{
	static const char ok[] =
	    "SIP/2.0 200 OK\r\n"
	    "Via: SIP/2.0/TLS sbc.example:5061;branch=z9hG4bKtt1;alias\r\n"
	    "Record-Route: <sip:far.example;lr>, <sip:near.example;lr>\r\n"
	    "From: <sip:1000@10.0.0.5>;tag=f1\r\n"
	    "To: <sip:+1555@10.0.0.9>;tag=t9\r\n"
	    "Call-ID: c1@10.0.0.5\r\n"
	    "CSeq: 7 INVITE\r\n"
	    "Contact: <sip:agent@192.0.2.7:5080>\r\n"
	    "Content-Length: 0\r\n\r\n";
	msg_t *req = parse(invite, strlen(invite)), *resp = parse(ok, strlen(ok));
	msg_t *bye = sipmsg_dialog_request(req, sip_object(resp), sip_method_bye);
	size_t len;
	char *buf = sipmsg_print(bye, &len);
	char *near, *far;

	cr_assert_not_null(buf);
	assert_whole(buf, len);
	cr_assert(strncmp(buf, "BYE sip:agent@192.0.2.7:5080 SIP/2.0", 36) == 0, "%s", buf);
	cr_assert_not_null(strstr(buf, "CSeq: 8 BYE"), "%s", buf);
	cr_assert_not_null(strstr(buf, ";tag=t9"));
	near = strstr(buf, "near.example");
	far = strstr(buf, "far.example");
	cr_assert(near != NULL && far != NULL && near < far, "route order: %s", buf);
	free(buf);
	msg_destroy(bye);
	msg_destroy(resp);
	msg_destroy(req);
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

Test(sipmsg, response_keeps_via_order_once_each)
{
	msg_t *req = parse(invite, strlen(invite));
	msg_t *resp = sipmsg_response(req, 1, 488, NULL);
	size_t len;
	char *buf = sipmsg_print(resp, &len);
	char *pbx = strstr(buf, "z9hG4bK-pbx"), *third = strstr(buf, "z9hG4bK-third");

	cr_assert_eq(count(buf, "Via:"), 2, "%s", buf);
	cr_assert(pbx != NULL && third != NULL && pbx < third, "%s", buf);
	free(buf);
	msg_destroy(resp);
	msg_destroy(req);
}

Test(sipmsg, cancel_copies_route_list_once_in_order)
{
	msg_t *req = parse(invite, strlen(invite));
	msg_t *c = sipmsg_hop_request(req, NULL, sip_method_cancel);
	size_t len;
	char *buf = sipmsg_print(c, &len);
	char *a = strstr(buf, "lb01.voice"), *b = strstr(buf, "second.example");

	cr_assert_eq(count(buf, "Route:"), 2, "%s", buf);
	cr_assert_eq(count(buf, "Via:"), 1, "%s", buf);
	cr_assert(a != NULL && b != NULL && a < b, "%s", buf);
	free(buf);
	msg_destroy(c);
	msg_destroy(req);
}
