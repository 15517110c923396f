/*
 * test_sipframe.c - stream framing: real messages cut at every byte and
 * in random pieces come out whole, in order, with nothing left over.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include "sipframe.h"

#define NMSG_MAX	16

/* One expected message: its Call-ID and body. */
struct want {
	char callid[64];
	char *body;
	size_t body_len;
	int status;		/* 0 for a request */
};

struct stream {
	char *buf;
	size_t len, cap;
	struct want want[NMSG_MAX];
	int nwant;
	int pings;		/* double CRLFs put between messages */
};

/* What came out of the framer. */
struct seen {
	const struct stream *s;
	int next;		/* the expected message that comes next */
	int nmsg, npings, ntoobig, nbad;
	int bad;		/* a message differed from the one expected */
};

static void
put(struct stream *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->buf = realloc(s->buf, s->cap);
		cr_assert_not_null(s->buf);
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
}

/* An SDP-like body of about n bytes (a real offer, padded). */
static char *
make_body(size_t n, unsigned seed)
{
	char *b = malloc(n + 1);
	size_t len = 0;
	char line[96];

	cr_assert_not_null(b);
	b[0] = '\0';
	while (len < n) {
		int k = snprintf(line, sizeof(line), len == 0 ? "v=0\r\n" :
		    "a=x-pad:%u-%zu abcdefghijklmnopqrstuvwxyz\r\n", seed, len);
		if (len + (size_t)k > n)
			k = (int)(n - len);
		memcpy(b + len, line, (size_t)k);
		len += (size_t)k;
	}
	b[n] = '\0';
	return b;
}

static void
add_msg(struct stream *s, int status, size_t body_len)
{
	struct want *w = &s->want[s->nwant];
	char hdr[1024];
	int n;

	cr_assert(s->nwant < NMSG_MAX);
	snprintf(w->callid, sizeof(w->callid), "frame-%d-%zu@test", s->nwant,
	    body_len);
	w->status = status;
	w->body_len = body_len;
	w->body = make_body(body_len, (unsigned)s->nwant);
	if (status == 0)
		n = snprintf(hdr, sizeof(hdr),
		    "INVITE sip:+13175550100@sbc.test.example SIP/2.0\r\n"
		    "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-%d\r\n"
		    "Max-Forwards: 70\r\n"
		    "From: <sip:1000@pbx.example>;tag=a%d\r\n"
		    "To: <sip:+13175550100@sbc.test.example>\r\n"
		    "Call-ID: %s\r\n"
		    "CSeq: 1 INVITE\r\n"
		    "Contact: <sip:1000@127.0.0.1:5070;transport=tcp>\r\n"
		    "%s"
		    "Content-Length: %zu\r\n\r\n", s->nwant, s->nwant, w->callid,
		    body_len ? "Content-Type: application/sdp\r\n" : "", body_len);
	else
		n = snprintf(hdr, sizeof(hdr),
		    "SIP/2.0 %d OK\r\n"
		    "Via: SIP/2.0/TLS 127.0.0.1:15061;branch=z9hG4bK-%d\r\n"
		    "From: <sip:1000@pbx.example>;tag=a%d\r\n"
		    "To: <sip:+13175550100@sbc.test.example>;tag=b%d\r\n"
		    "Call-ID: %s\r\n"
		    "CSeq: 1 INVITE\r\n"
		    "%s"
		    "Content-Length: %zu\r\n\r\n", status, s->nwant, s->nwant,
		    s->nwant, w->callid,
		    body_len ? "Content-Type: application/sdp\r\n" : "", body_len);
	put(s, hdr, (size_t)n);
	put(s, w->body, body_len);
	s->nwant++;
}

static void
add_ping(struct stream *s)
{
	put(s, "\r\n\r\n", 4);
	s->pings++;
}

static void
stream_free(struct stream *s)
{
	for (int i = 0; i < s->nwant; i++)
		free(s->want[i].body);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

static int
on_event(void *ctx, enum sipframe_event ev, msg_t *msg)
{
	struct seen *seen = ctx;
	const struct want *w;
	sip_t const *sip;

	if (ev == SIPFRAME_PING) {
		seen->npings++;
		return 0;
	}
	if (ev == SIPFRAME_BAD) {
		seen->nbad++;
		msg_destroy(msg);
		return 0;
	}
	if (ev == SIPFRAME_TOOBIG)
		seen->ntoobig++;
	else
		seen->nmsg++;
	sip = sip_object(msg);
	if (seen->next >= seen->s->nwant) {
		seen->bad++;
		msg_destroy(msg);
		return 0;
	}
	w = &seen->s->want[seen->next++];
	if (sip == NULL || sip->sip_call_id == NULL ||
	    strcmp(sip->sip_call_id->i_id, w->callid) != 0 ||
	    (w->status == 0) != (sip->sip_request != NULL) ||
	    (w->body_len > 0 && (sip->sip_payload == NULL ||
	    sip->sip_payload->pl_len != w->body_len ||
	    memcmp(sip->sip_payload->pl_data, w->body, w->body_len) != 0)) ||
	    (w->body_len == 0 && sip->sip_payload != NULL &&
	    sip->sip_payload->pl_len != 0))
		seen->bad++;
	msg_destroy(msg);
	return 0;
}

/* Feed s cut at the given offsets (sorted, each < s->len); check all. */
static void
feed_cuts(const struct stream *s, const size_t *cuts, int ncuts,
    size_t maxsize, const char *what)
{
	struct sipframe f;
	struct seen seen = { .s = s };
	size_t at = 0;
	int r = 0;

	sipframe_init(&f, maxsize);
	for (int i = 0; i <= ncuts && r == 0; i++) {
		size_t end = i < ncuts ? cuts[i] : s->len;
		r = sipframe_feed(&f, s->buf + at, end - at, on_event, &seen);
		at = end;
	}
	cr_assert_eq(r, 0, "%s: feed failed (%d)", what, r);
	cr_assert_eq(seen.bad, 0, "%s: %d message(s) differ", what, seen.bad);
	cr_assert_eq(seen.nmsg, s->nwant, "%s: %d of %d messages", what,
	    seen.nmsg, s->nwant);
	cr_assert_eq(seen.npings, s->pings, "%s: %d pings, %d sent", what,
	    seen.npings, s->pings);
	cr_assert_eq(seen.ntoobig + seen.nbad, 0, "%s", what);
	cr_assert(!sipframe_open(&f), "%s: bytes left over", what);
	sipframe_free(&f);
}

/* Every single cut, and every pair of cuts a step apart. */
static void
feed_every_cut(const struct stream *s, size_t maxsize)
{
	char what[64];
	size_t cuts[2];

	feed_cuts(s, NULL, 0, maxsize, "whole");
	for (size_t i = 1; i < s->len; i++) {
		cuts[0] = i;
		snprintf(what, sizeof(what), "cut at %zu", i);
		feed_cuts(s, cuts, 1, maxsize, what);
	}
	for (size_t i = 1; i + 1 < s->len; i += 7) {
		cuts[0] = i;
		cuts[1] = i + 1 + (i * 31) % (s->len - i - 1);
		snprintf(what, sizeof(what), "cuts at %zu, %zu", cuts[0], cuts[1]);
		feed_cuts(s, cuts, 2, maxsize, what);
	}
}

/* Random piece sizes, 1..maxpiece bytes, many seeds. */
static void
feed_random(const struct stream *s, size_t maxpiece, int seeds,
    size_t maxsize)
{
	size_t *cuts = malloc(sizeof(*cuts) * (s->len + 1));
	char what[64];

	cr_assert_not_null(cuts);
	for (int seed = 1; seed <= seeds; seed++) {
		unsigned x = (unsigned)seed * 2654435761u;
		size_t at = 0;
		int n = 0;

		for (;;) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			at += 1 + x % maxpiece;
			if (at >= s->len)
				break;
			cuts[n++] = at;
		}
		snprintf(what, sizeof(what), "seed %d, pieces <= %zu", seed,
		    maxpiece);
		feed_cuts(s, cuts, n, maxsize, what);
	}
	free(cuts);
}

Test(sipframe, invite_bodies_cut_everywhere)
{
	static const size_t sizes[] = { 0, 300, 2048, 8192 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct stream s = { 0 };
		add_msg(&s, 0, sizes[i]);
		feed_every_cut(&s, 65536);
		feed_random(&s, 64, 50, 65536);
		stream_free(&s);
	}
}

Test(sipframe, responses_with_sdp)
{
	struct stream s = { 0 };

	add_msg(&s, 180, 0);
	add_msg(&s, 200, 420);
	feed_every_cut(&s, 65536);
	stream_free(&s);
}

Test(sipframe, back_to_back_with_pings)
{
	struct stream s = { 0 };

	add_msg(&s, 0, 300);
	add_msg(&s, 200, 2048);
	add_ping(&s);
	add_msg(&s, 0, 0);
	add_ping(&s);
	add_msg(&s, 0, 8192);
	add_msg(&s, 100, 0);
	add_ping(&s);
	feed_every_cut(&s, 65536);
	feed_random(&s, 16, 40, 65536);
	feed_random(&s, 1500, 200, 65536);
	stream_free(&s);
}

/* A burst larger than the limit, of messages each under it. */
Test(sipframe, many_small_messages_in_one_read)
{
	struct stream s = { 0 };

	for (int i = 0; i < NMSG_MAX; i++)
		add_msg(&s, i % 2 ? 200 : 0, 500);
	cr_assert_gt(s.len, 8192);
	feed_cuts(&s, NULL, 0, 1500, "one read, limit 1500");
	feed_random(&s, 3000, 50, 1500);
	stream_free(&s);
}

/* A message exactly at the limit passes, one byte more does not. */
Test(sipframe, size_limit_exact)
{
	struct stream s = { 0 };
	struct sipframe f;
	struct seen seen = { .s = &s };
	int r;

	size_t first;

	add_msg(&s, 0, 2048);
	first = s.len;
	feed_cuts(&s, NULL, 0, first, "at the limit");
	feed_random(&s, 700, 30, first);
	/* One byte over: refused whole, and the next message still comes. */
	add_msg(&s, 0, 300);
	sipframe_init(&f, first - 1);
	r = sipframe_feed(&f, s.buf, s.len, on_event, &seen);
	cr_assert_eq(r, 0);
	cr_assert_eq(seen.ntoobig, 1, "headers parsed: the core can answer 513");
	cr_assert_eq(seen.nmsg, 1);
	cr_assert_eq(seen.bad, 0, "each came whole, in order");
	sipframe_free(&f);
	stream_free(&s);
}

/* One message fed whole to a fresh framer: the feed's result. */
static int
feed_once(const char *m, struct seen *seen)
{
	struct sipframe f;
	int r;

	sipframe_init(&f, 65536);
	r = sipframe_feed(&f, m, strlen(m), on_event, seen);
	sipframe_free(&f);
	return r;
}

/* A body announced larger than the limit is refused before it comes. */
Test(sipframe, huge_content_length)
{
	struct stream s = { 0 };
	struct seen seen = { .s = &s };

	cr_assert_eq(feed_once(
	    "INVITE sip:1@x SIP/2.0\r\nVia: SIP/2.0/TCP 1.2.3.4;branch=z9hG4bK1\r\n"
	    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: big@x\r\n"
	    "CSeq: 1 INVITE\r\nContent-Length: 900000\r\n\r\nv=0\r\n", &seen),
	    -EMSGSIZE);
	cr_assert_eq(seen.ntoobig, 1);
}

Test(sipframe, garbage_is_an_error)
{
	struct stream s = { 0 };
	struct seen seen = { .s = &s };

	cr_assert_eq(feed_once("\x16\x03\x01\x02\x01\xfc\x03\x03 not sip\r\n"
	    "at all\r\n\r\n", &seen), -EBADMSG);
	cr_assert_eq(seen.nmsg + seen.nbad, 0, "nothing to answer");
}

/* Unframable, but what a 400 needs parsed: handed over, then the end. */
Test(sipframe, unparsable_but_answerable)
{
	struct stream s = { 0 };
	struct seen seen = { .s = &s };

	cr_assert_eq(feed_once(
	    "INVITE sip:1@x SIP/2.0\r\nVia: SIP/2.0/TCP 1.2.3.4;branch=z9hG4bK2\r\n"
	    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: bad@x\r\n"
	    "CSeq: 1 INVITE\r\nContent-Length: x12\r\n\r\nv=0\r\n", &seen),
	    -EBADMSG);
	cr_assert_eq(seen.nbad, 1);
	cr_assert_eq(seen.nmsg, 0);
}

/* The callback stops the stream: nothing more is delivered or leaked. */
static int
stop_at_first(void *ctx, enum sipframe_event ev, msg_t *msg)
{
	int *n = ctx;

	if (msg != NULL)
		msg_destroy(msg);
	return ++*n;
}

Test(sipframe, callback_stops)
{
	struct stream s = { 0 };
	struct sipframe f;
	int n = 0;

	add_msg(&s, 0, 300);
	add_msg(&s, 0, 300);
	sipframe_init(&f, 65536);
	cr_assert_eq(sipframe_feed(&f, s.buf, s.len, stop_at_first, &n), 1);
	cr_assert_eq(n, 1);
	sipframe_free(&f);
	stream_free(&s);
}
