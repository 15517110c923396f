/*
 * test_callrec.c - the call record codec: a full record and a minimal one
 * back field by field, odd Call-IDs escaped, and every kind of damaged
 * input refused with a reason that names the field.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "callrec.h"
#include "log.h"
#include "sippath.h"

static char why[256];

static void
setup(void)
{
	log_init(LOG_ERROR, 0);
	why[0] = '\0';
}

TestSuite(callrec, .init = setup);

static void
key_make(struct sdes_crypto *c, int tag, int suite)
{
	cr_assert_eq(sdes_crypto_generate(tag, suite, c), SDES_OK);
}

/* Every field set, none to its zero value where that can be avoided. */
static void
fill_full(struct callrec *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->node, sizeof(r->node), "node-a.example");
	r->written_unix_ms = UINT64_C(1765000000123);
	r->d.callid = "a84b4c76e66710@pbx.example.com";
	r->d.caller_side = SIDE_CLOUD;
	r->d.confirmed = 1;
	r->d.caller = "\"Alice\" <sip:alice@pbx.example.com>;tag=1928301774";
	r->d.callee = "<sip:+15551234567@cloud.example>;tag=a6c85cf";
	r->d.caller_target = "<sip:alice@192.168.10.20:5060>";
	r->d.callee_target = "<sip:lb01.cloud.example:5061;transport=tls>";
	r->d.route_to_caller = "<sip:192.168.10.1:5060;lr;r2=on>";
	r->d.route_to_callee = "<sip:sbc.example.com:5061;transport=tls;lr;"
	    "r2=on>, <sip:lb01.cloud.example:5061;transport=tls;lr>";
	r->d.proxy = "lb01.voice.use1.pure.cloud";
	r->d.trunk = "eu-west.2";
	r->d.pbx = "site_a";
	r->d.cseq[SIDE_PBX] = 314159;
	r->d.cseq[SIDE_CLOUD] = UINT32_MAX;
	r->d.started_unix_ms = UINT64_C(1764999990000);
	r->d.src_ip = "2001:db8::20";
	r->have_media = 1;
	r->m.pbx_port = 20000;
	r->m.cloud_port = 29998;
	r->m.ai = 1;
	r->m.have_tx = 1;
	r->m.have_rx = 1;
	/* MKI, lifetime and WSH: what sdes_crypto_format leaves out. */
	key_make(&r->m.tx_key, 7, SDES_AES_256_CM_HMAC_SHA1_80);
	r->m.tx_key.has_mki = 1;
	r->m.tx_key.mki = 1066;
	r->m.tx_key.mki_len = 4;
	r->m.tx_key.lifetime = UINT64_C(1) << 31;
	r->m.tx_key.wsh = 128;
	key_make(&r->m.rx_key, 1, SDES_AES_CM_128_HMAC_SHA1_80);
	r->m.rx_key.has_mki = 1;
	r->m.rx_key.mki = UINT64_MAX;
	r->m.rx_key.mki_len = 32;
	r->m.rx_key.wsh = 32767;
	snprintf(r->m.peer[SIDE_PBX].ip, sizeof(r->m.peer[0].ip),
	    "192.168.10.20");
	r->m.peer[SIDE_PBX].port = 4000;
	r->m.peer[SIDE_PBX].rtcp_port = 4001;
	r->m.peer[SIDE_PBX].rtcp_mux = 0;
	snprintf(r->m.peer[SIDE_CLOUD].ip, sizeof(r->m.peer[1].ip),
	    "2001:db8:ffff:ffff:ffff:ffff:ffff:fff7");
	r->m.peer[SIDE_CLOUD].port = 65535;
	r->m.peer[SIDE_CLOUD].rtcp_port = 65535;
	r->m.peer[SIDE_CLOUD].rtcp_mux = 1;
	r->m.tx_pos = (struct srtp_stream_pos){ 1, 1, 0xdeadbeef, 7, 65535,
	    0xdeadbeef, 1234 };
	r->m.rx_pos = (struct srtp_stream_pos){ 1, 0, 0x12345678, UINT32_MAX,
	    1, 0, 0 };
	r->m.idle_ms = 2500;
}

/* The smallest record: no media, no optional string. */
static void
fill_min(struct callrec *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->node, sizeof(r->node), "b");
	r->d.callid = "x";
}

static void
str_eq(const char *a, const char *b, const char *what)
{
	if (a == NULL || b == NULL)
		cr_expect(a == b, "%s: %s vs %s", what, a ? a : "NULL",
		    b ? b : "NULL");
	else
		cr_expect_str_eq(a, b, "%s", what);
}

static void
key_eq(const struct sdes_crypto *a, const struct sdes_crypto *b,
    const char *what)
{
	cr_expect_eq(a->tag, b->tag, "%s tag", what);
	cr_expect_eq(a->suite, b->suite, "%s suite", what);
	cr_expect_eq(a->keylen, b->keylen, "%s keylen", what);
	cr_expect(memcmp(a->key, b->key, sizeof(a->key)) == 0, "%s key",
	    what);
	cr_expect_eq(a->lifetime, b->lifetime, "%s lifetime", what);
	cr_expect_eq(a->has_mki, b->has_mki, "%s has_mki", what);
	cr_expect_eq(a->mki, b->mki, "%s mki", what);
	cr_expect_eq(a->mki_len, b->mki_len, "%s mki_len", what);
	cr_expect_eq(a->wsh, b->wsh, "%s wsh", what);
}

static void
pos_eq(const struct srtp_stream_pos *a, const struct srtp_stream_pos *b,
    const char *what)
{
	cr_expect_eq(a->have_rtp, b->have_rtp, "%s have_rtp", what);
	cr_expect_eq(a->have_rtcp, b->have_rtcp, "%s have_rtcp", what);
	cr_expect_eq(a->ssrc, b->ssrc, "%s ssrc", what);
	cr_expect_eq(a->roc, b->roc, "%s roc", what);
	cr_expect_eq(a->seq, b->seq, "%s seq", what);
	cr_expect_eq(a->rtcp_ssrc, b->rtcp_ssrc, "%s rtcp_ssrc", what);
	cr_expect_eq(a->rtcp_count, b->rtcp_count, "%s rtcp_count", what);
}

/* Every field of the struct, written out (not through the codec's
 * table, so that a field the table forgot shows here). */
static void
rec_eq(const struct callrec *a, const struct callrec *b)
{
	cr_expect_str_eq(a->node, b->node, "node");
	cr_expect_eq(a->written_unix_ms, b->written_unix_ms, "written");
	str_eq(a->d.callid, b->d.callid, "callid");
	cr_expect_eq(a->d.caller_side, b->d.caller_side, "caller_side");
	cr_expect_eq(a->d.confirmed, b->d.confirmed, "confirmed");
	str_eq(a->d.caller, b->d.caller, "caller");
	str_eq(a->d.callee, b->d.callee, "callee");
	str_eq(a->d.caller_target, b->d.caller_target, "caller_target");
	str_eq(a->d.callee_target, b->d.callee_target, "callee_target");
	str_eq(a->d.route_to_caller, b->d.route_to_caller, "route_to_caller");
	str_eq(a->d.route_to_callee, b->d.route_to_callee, "route_to_callee");
	str_eq(a->d.proxy, b->d.proxy, "proxy");
	str_eq(a->d.trunk, b->d.trunk, "trunk");
	str_eq(a->d.pbx, b->d.pbx, "pbx_name");
	cr_expect_eq(a->d.cseq[0], b->d.cseq[0], "cseq[0]");
	cr_expect_eq(a->d.cseq[1], b->d.cseq[1], "cseq[1]");
	cr_expect_eq(a->d.started_unix_ms, b->d.started_unix_ms, "started");
	str_eq(a->d.src_ip, b->d.src_ip, "src_ip");
	cr_expect_eq(a->have_media, b->have_media, "have_media");
	cr_expect_eq(a->m.pbx_port, b->m.pbx_port, "pbx_port");
	cr_expect_eq(a->m.cloud_port, b->m.cloud_port, "cloud_port");
	cr_expect_eq(a->m.ai, b->m.ai, "ai");
	cr_expect_eq(a->m.have_tx, b->m.have_tx, "have_tx");
	cr_expect_eq(a->m.have_rx, b->m.have_rx, "have_rx");
	key_eq(&a->m.tx_key, &b->m.tx_key, "tx_key");
	key_eq(&a->m.rx_key, &b->m.rx_key, "rx_key");
	for (int i = 0; i < 2; i++) {
		cr_expect_str_eq(a->m.peer[i].ip, b->m.peer[i].ip, "peer ip");
		cr_expect_eq(a->m.peer[i].port, b->m.peer[i].port, "peer port");
		cr_expect_eq(a->m.peer[i].rtcp_port, b->m.peer[i].rtcp_port,
		    "peer rtcp_port");
		cr_expect_eq(a->m.peer[i].rtcp_mux, b->m.peer[i].rtcp_mux,
		    "peer rtcp_mux");
	}
	pos_eq(&a->m.tx_pos, &b->m.tx_pos, "tx_pos");
	pos_eq(&a->m.rx_pos, &b->m.rx_pos, "rx_pos");
	cr_expect_eq(a->m.idle_ms, b->m.idle_ms, "idle_ms");
	cr_expect(callrec_equal(a, b), "callrec_equal");
}

/* encode(in), decode it into out; returns the text (free it). */
static char *
round_trip(const struct callrec *in, struct callrec *out, size_t *len)
{
	char *text;
	int r;

	r = callrec_encode(in, &text, len);
	cr_assert_eq(r, 0, "encode: %d", r);
	cr_assert_eq(strlen(text), *len);
	r = callrec_decode(text, *len, out, why, sizeof(why));
	cr_assert_eq(r, 0, "decode: %s\n%s", why, text);
	return text;
}

Test(callrec, full_round_trip)
{
	struct callrec in, out;
	char *text;
	size_t len;

	fill_full(&in);
	text = round_trip(&in, &out, &len);
	cr_expect(strncmp(text, "v=1\nnode=node-a.example\n", 24) == 0,
	    "%s", text);
	cr_expect_eq(text[len - 1], '\n');
	cr_expect_not_null(strstr(text, "\ntx_key=7 AES_256_CM_HMAC_SHA1_80 "
	    "inline:"), "%s", text);
	cr_expect_not_null(strstr(text, "|2147483648|1066:4 WSH=128\n"),
	    "%s", text);
	cr_expect_not_null(strstr(text, "|18446744073709551615:32 "
	    "WSH=32767\n"), "%s", text);
	cr_expect_not_null(strstr(text, "\ncseq.cloud=4294967295\n"));
	cr_expect_not_null(strstr(text, "\npeer.cloud.ip=2001:db8:ffff:"));
	rec_eq(&in, &out);
	/* The strings are decode's own, not the input's. */
	cr_expect(out.d.callid != in.d.callid);
	callrec_free(&out);
	for (size_t i = 0; i < sizeof(out); i++)
		cr_assert_eq(((unsigned char *)&out)[i], 0, "not wiped at %zu",
		    i);
	callrec_text_free(text, len);
	sdes_crypto_wipe(&in.m.tx_key);
	sdes_crypto_wipe(&in.m.rx_key);
}

/* One direction only, and the other suites. */
Test(callrec, one_key_each_suite)
{
	struct callrec in, out;
	char *text;
	size_t len;

	for (int s = 0; s < SDES_NSUITES; s++) {
		fill_full(&in);
		in.m.have_tx = 0;
		memset(&in.m.tx_key, 0, sizeof(in.m.tx_key));
		key_make(&in.m.rx_key, 999999999, s);
		text = round_trip(&in, &out, &len);
		cr_expect_null(strstr(text, "tx_key="));
		rec_eq(&in, &out);
		callrec_free(&out);
		callrec_text_free(text, len);
	}
}

Test(callrec, minimal_round_trip)
{
	struct callrec in, out;
	char *text;
	size_t len;

	fill_min(&in);
	text = round_trip(&in, &out, &len);
	cr_expect_str_eq(text, "v=1\nnode=b\nwritten=0\ncallid=x\n"
	    "caller_side=0\nconfirmed=0\ncseq.pbx=0\ncseq.cloud=0\n"
	    "started=0\nmedia=0\n");
	rec_eq(&in, &out);
	cr_expect_null(out.d.caller);
	cr_expect_null(out.d.route_to_callee);
	cr_expect_null(out.d.src_ip);
	callrec_free(&out);
	callrec_text_free(text, len);

	/* Present but empty is not absent. */
	in.d.proxy = "";
	text = round_trip(&in, &out, &len);
	cr_expect_not_null(strstr(text, "\nproxy=\n"));
	cr_assert_not_null(out.d.proxy);
	cr_expect_str_eq(out.d.proxy, "");
	callrec_free(&out);
	callrec_text_free(text, len);
}

Test(callrec, odd_callids_escaped)
{
	static const struct {
		const char *callid, *line;
	} cases[] = {
		{ "with spaces in it@host", "callid=with spaces in it@host\n" },
		{ "100%=done", "callid=100%25=done\n" },
		{ "a=b=c", "callid=a=b=c\n" },
		{ "caf\xc3\xa9-\xe2\x82\xac@h\xc3\xb6st",
		    "callid=caf%C3%A9-%E2%82%AC@h%C3%B6st\n" },
		{ "tab\there \x80\xff", "callid=tab%09here %80%FF\n" },
		{ "%00", "callid=%2500\n" },
	};
	struct callrec in, out;
	char *text;
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fill_full(&in);
		in.d.callid = cases[i].callid;
		in.d.caller = cases[i].callid;
		text = round_trip(&in, &out, &len);
		cr_expect_not_null(strstr(text, cases[i].line), "want %s in %s",
		    cases[i].line, text);
		/* No value may hold a newline or a raw 8-bit byte. */
		for (size_t j = 0; j < len; j++)
			cr_expect((unsigned char)text[j] < 0x7f, "raw byte");
		rec_eq(&in, &out);
		callrec_free(&out);
		callrec_text_free(text, len);
		sdes_crypto_wipe(&in.m.tx_key);
		sdes_crypto_wipe(&in.m.rx_key);
	}
}

/* The full record as text, with the line starting "name=" replaced by
 * repl (NULL: removed; a line without '\n' is appended as is). */
static char *
full_text_with(const char *name, const char *repl, size_t *len)
{
	static char buf[CALLREC_MAX * 2];
	struct callrec in;
	char *text, *p, *eol, key[64];
	size_t n;

	fill_full(&in);
	cr_assert_eq(callrec_encode(&in, &text, &n), 0);
	sdes_crypto_wipe(&in.m.tx_key);
	sdes_crypto_wipe(&in.m.rx_key);
	cr_assert_lt(n + 1, sizeof(buf));
	memcpy(buf, text, n + 1);
	callrec_text_free(text, n);
	*len = n;
	if (name == NULL)
		return buf;
	snprintf(key, sizeof(key), "\n%s=", name);
	p = strstr(buf, key);
	cr_assert_not_null(p, "no %s", name);
	p++;
	eol = strchr(p, '\n') + 1;
	memmove(p, eol, strlen(eol) + 1);
	*len -= (size_t)(eol - p);
	if (repl != NULL) {
		size_t m = strlen(repl);

		memmove(p + m, p, strlen(p) + 1);
		memcpy(p, repl, m);
		*len += m;
	}
	return buf;
}

/* Decoding n bytes at text must fail, why naming field and reason. */
static void
expect_bad(const char *text, size_t n, const char *field, const char *reason)
{
	struct callrec out;
	char want[64];
	int r;

	memset(&out, 0x5a, sizeof(out));
	r = callrec_decode(text, n, &out, why, sizeof(why));
	cr_assert_eq(r, -EINVAL, "accepted (%d): %s wanted", r, field);
	snprintf(want, sizeof(want), "%s: ", field);
	cr_expect(strncmp(why, want, strlen(want)) == 0,
	    "want field \"%s\", got \"%s\"", field, why);
	cr_expect_not_null(strstr(why, reason), "want \"%s\" in \"%s\"",
	    reason, why);
	/* Nothing left behind: no strings, no keys. */
	cr_expect_null(out.strings);
	cr_expect_eq(out.m.tx_key.keylen, 0);
}

static void
bad_line(const char *name, const char *repl, const char *field,
    const char *reason)
{
	size_t len;
	const char *t = full_text_with(name, repl, &len);

	expect_bad(t, len, field, reason);
}

Test(callrec, rejects_truncated_and_foreign)
{
	size_t len;
	const char *t = full_text_with(NULL, NULL, &len);

	expect_bad(t, len - 1, "idle_ms", "truncated");
	expect_bad(t, len - 4, "idle_ms", "truncated");
	bad_line("idle_ms", NULL, "idle_ms", "missing");
	expect_bad("v=1\n", 4, "node", "missing");
	expect_bad("", 0, "v", "empty");
	expect_bad("v=1", 3, "v", "truncated");
	expect_bad("v=2\nnode=a\n", 11, "v", "version 2 not supported");
	expect_bad("v=10\n", 5, "v", "version 10");
	expect_bad("hello world\n", 12, "v", "missing");
	expect_bad("GET / HTTP/1.1\r\n\r\n", 18, "v", "missing");
	expect_bad("\x89PNG\r\n\x1a\n\0\0\0", 11, "v", "missing");
	expect_bad("v=1\nv=1\n", 8, "v", "version line not first");
	expect_bad("v=1\x00garbage\n", 12, "v", "NUL");
	t = full_text_with("callid", "callid\n", &len);
	expect_bad(t, len, "callid", "no '='");
	t = full_text_with("callid", "Call ID=x\n", &len);
	expect_bad(t, len, "line 4", "not a field name");
	t = full_text_with("callid", "\n", &len);
	expect_bad(t, len, "line 4", "not name=value");
}

Test(callrec, rejects_fields)
{
	bad_line("callid", NULL, "callid", "missing");
	bad_line("callid", "callid=\n", "callid", "empty");
	bad_line("node", "node=\n", "node", "empty");
	bad_line("callid", "callid=a\ncallid=b\n", "callid", "duplicate");
	bad_line("callid", "callid=a\ncolor=blue\n", "color", "unknown field");
	bad_line("caller_side", "caller_side=2\n", "caller_side",
	    "2 out of range (0..1)");
	bad_line("confirmed", "confirmed=yes\n", "confirmed", "not a number");
	bad_line("cseq.pbx", "cseq.pbx=4294967296\n", "cseq.pbx",
	    "out of range");
	bad_line("written", "written=18446744073709551616\n", "written",
	    "out of range");
	bad_line("written", "written=99999999999999999999999\n", "written",
	    "out of range");
	bad_line("written", "written=\n", "written", "empty");
	bad_line("started", "started= 1\n", "started", "not a number");
	bad_line("started", "started=+1\n", "started", "not a number");
	bad_line("media", "media=0\n", "pbx_port", "present without media");
	bad_line("have_tx", "have_tx=0\n", "tx_key", "present without have_tx");
	bad_line("tx_key", NULL, "tx_key", "missing");
	/* Issue 17's names: absent in older records (the first trunk and
	 * PBX), never empty, never longer than a configured name can be. */
	bad_line("trunk", "trunk=\n", "trunk", "empty");
	bad_line("pbx_name", "pbx_name=0123456789012345678901234567890123\n",
	    "pbx_name", "too long");
}

Test(callrec, rejects_ports_addresses_keys)
{
	bad_line("pbx_port", "pbx_port=80\n", "pbx_port",
	    "80 out of range (1024..65534)");
	bad_line("pbx_port", "pbx_port=20001\n", "pbx_port", "20001 is odd");
	bad_line("cloud_port", "cloud_port=65536\n", "cloud_port",
	    "out of range");
	bad_line("cloud_port", "cloud_port=-2\n", "cloud_port", "not a number");
	bad_line("cloud_port", "cloud_port=0x10\n", "cloud_port",
	    "not a number");
	bad_line("peer.pbx.port", "peer.pbx.port=65536\n", "peer.pbx.port",
	    "out of range");
	bad_line("peer.cloud.rtcp_mux", "peer.cloud.rtcp_mux=2\n",
	    "peer.cloud.rtcp_mux", "out of range");
	bad_line("ai", "ai=64\n", "ai", "out of range");
	bad_line("tx.seq", "tx.seq=65536\n", "tx.seq", "out of range");
	bad_line("peer.pbx.ip", "peer.pbx.ip=192.168.10.300\n", "peer.pbx.ip",
	    "not an IP address");
	bad_line("peer.pbx.ip", "peer.pbx.ip=pbx.example.com\n", "peer.pbx.ip",
	    "not an IP address");
	bad_line("peer.cloud.ip", "peer.cloud.ip=[2001:db8::1]\n",
	    "peer.cloud.ip", "not an IP address");
	bad_line("peer.cloud.ip", "peer.cloud.ip=2001:db8:ffff:ffff:ffff:ffff:"
	    "ffff:ffff:ffff:ffff\n", "peer.cloud.ip", "too long");
	bad_line("tx_key", "tx_key=1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=\n",
	    "tx_key", "not a valid crypto value");
	bad_line("tx_key", "tx_key=1 NULL_CIPHER inline:"
	    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\n", "tx_key",
	    "unknown suite");
	bad_line("rx_key", "rx_key=1 AES_CM_128_HMAC_SHA1_80 inline:"
	    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP\n",
	    "rx_key", "not a valid crypto value");
	bad_line("rx_key", "rx_key=garbage\n", "rx_key",
	    "not a valid crypto value");
}

Test(callrec, rejects_bytes_and_sizes)
{
	static char big[CALLREC_MAX + 2];
	char callid[700], line[800];
	size_t len;
	const char *t;

	t = full_text_with("callid", "callid=ab%00cd\n", &len);
	expect_bad(t, len, "callid", "NUL byte (%00)");
	t = full_text_with("callid", "callid=ab\x01" "cd\n", &len);
	expect_bad(t, len, "callid", "raw byte 0x01");
	t = full_text_with("callid", "callid=ab_cd\n", &len);
	{
		char *nul = memchr(t, '_', len);

		cr_assert_not_null(nul);
		*nul = '\0';
		expect_bad(t, len, "callid", "NUL byte");
	}
	bad_line("caller", "caller=caf\xc3\xa9\n", "caller", "raw byte 0xc3");
	/* Escaped or not, no control byte but tab: no log line forged. */
	bad_line("callid", "callid=a%0D%0Afake log line\n", "callid",
	    "control byte 0x0d");
	bad_line("callee", "callee=b%7F\n", "callee", "control byte 0x7f");
	bad_line("node", "node=n%1B[31m\n", "node", "control byte 0x1b");
	bad_line("caller", "caller=100%\n", "caller", "bad %-escape");
	bad_line("caller", "caller=%G1\n", "caller", "bad %-escape");
	bad_line("caller", "caller=%4\n", "caller", "bad %-escape");
	bad_line("src_ip", "src_ip=0123456789012345678901234567890123456789"
	    "012345678901234567890123\n", "src_ip", "too long");
	bad_line("node", "node=0123456789012345678901234567890123456789"
	    "012345678901234567890123\n", "node", "too long");

	memset(callid, 'c', sizeof(callid) - 1);
	callid[sizeof(callid) - 1] = '\0';
	snprintf(line, sizeof(line), "callid=%s\n", callid);
	bad_line("callid", line, "callid", "too long (at most 512 bytes)");

	t = full_text_with(NULL, NULL, &len);
	memset(big, 'x', sizeof(big));
	memcpy(big, t, len);
	expect_bad(big, CALLREC_MAX + 1, "record", "too long");
}

/* What the reader would refuse, the writer does not write. */
Test(callrec, encode_refuses_what_decode_would)
{
	struct callrec in;
	char *text = (char *)"x";
	size_t len = 1;

	fill_full(&in);
	in.m.pbx_port = 20001;
	cr_expect_eq(callrec_encode(&in, &text, &len), -EINVAL);
	cr_expect_null(text);
	cr_expect_eq(len, 0);
	cr_expect_eq(callrec_check(&in, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why, "pbx_port: 20001 is odd");

	fill_full(&in);
	in.d.callid = NULL;
	cr_expect_eq(callrec_encode(&in, &text, &len), -EINVAL);
	fill_full(&in);
	in.m.tx_key.suite = 99;
	cr_expect_eq(callrec_encode(&in, &text, &len), -EINVAL);
	cr_expect_eq(callrec_check(&in, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why, "tx_key: not a valid key");
	fill_full(&in);
	in.m.rx_key.wsh = 10;
	cr_expect_eq(callrec_encode(&in, &text, &len), -EINVAL);
	fill_full(&in);
	in.d.callid = "two\nlines";
	cr_expect_eq(callrec_encode(&in, &text, &len), -EINVAL);
	fill_full(&in);
	snprintf(in.m.peer[0].ip, sizeof(in.m.peer[0].ip), "nowhere");
	cr_expect_eq(callrec_encode(&in, &text, &len), -EINVAL);
	/* Media fields are not looked at without media. */
	fill_full(&in);
	in.have_media = 0;
	in.m.pbx_port = 1;
	cr_expect_eq(callrec_encode(&in, &text, &len), 0);
	cr_expect_null(strstr(text, "pbx_port"));
	cr_expect_null(strstr(text, "inline:"));
	callrec_text_free(text, len);
	sdes_crypto_wipe(&in.m.tx_key);
	sdes_crypto_wipe(&in.m.rx_key);
}
