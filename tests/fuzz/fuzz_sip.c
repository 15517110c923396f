/*
 * fuzz_sip.c - libFuzzer target: SIP messages from either side through
 * the whole handling path (proxy core, transactions, dialogs, the media
 * bridge's SDP work) up to the bytes tlstrunk sends.
 *
 * Each input runs against a fresh tlstrunk (fuzz_common.c) on a real
 * libuv loop, torn down afterwards, so nothing carries over from one
 * input to the next and memory cannot grow.  Sends go to stand-ins on
 * this process's own loopback address: the PBX's UDP socket (every
 * datagram that reaches it must parse as SIP and have Via, From, To,
 * Call-ID and CSeq), a cloud listener that never answers the TLS
 * handshake, and a refused address.
 *
 * Input: either one message (from the PBX over UDP), or records:
 *
 *   #!P\n<message>   from the PBX over UDP (an allowed source)
 *   #!T\n<message>   from the PBX over TCP (a connection id we never had)
 *   #!X\n<message>   over UDP from a source outside [pbx] allow
 *   #!C\n<message>   from the cloud over TLS (a connection id we never had)
 *   #!D\n<message>   from the cloud over TLS, on the live connection tlstrunk
 *                    opened toward the cloud (else as #!C)
 *   #!W<n>\n         n seconds pass (default 1, at most 600): timers fire
 *
 * A message runs up to the next line that starts with "#!".  Our Via
 * branches are z9hG4bKttf0f0f0f0<n> (n = 1, 2... in hex): seeds answer
 * them.  tests/fuzz/seeds.py writes the seed corpus.
 *
 * Environment: FUZZ_LOG=debug (tlstrunk's log), FUZZ_SIP_NO_OUTPUT_CHECK=1,
 * FUZZ_SIP_ALLOW_NO_VIA=1 (see check_datagram), FUZZ_GAI_DELAY_MS=N (a
 * slow resolver: fuzz_common.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/sip_header.h>

#include "conn.h"
#include "fuzz_common.h"

#define MAX_RECORDS	64

static struct config *cfg;
static struct fz_proxy fp;
static int check_output = 1;
static int allow_no_via;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("FUZZ_SIP_NO_OUTPUT_CHECK");

	check_output = e == NULL || *e == '\0' || *e == '0';
	/* Known finding (RFC 3261 16.7 step 3): a response whose only Via
	 * was ours goes on to the PBX with none.  Set to fuzz past it. */
	e = getenv("FUZZ_SIP_ALLOW_NO_VIA");
	allow_no_via = e != NULL && *e != '\0' && *e != '0';
	cfg = fz_proxy_setup();
	return 0;
}

static msg_t *
parse(const char *data, size_t n)
{
	msg_t *msg;
	void *b;

	if (n == 0 || n > cfg->limits.max_message_size)
		return NULL;
	/* As udp.c does it. */
	if ((msg = msg_create(sip_default_mclass(), 0)) == NULL)
		return NULL;
	if ((b = msg_buf_alloc(msg, n)) == NULL) {
		msg_destroy(msg);
		return NULL;
	}
	memcpy(b, data, n);
	msg_buf_commit(msg, n, 1);
	if (msg_extract(msg) <= 0) {
		msg_destroy(msg);
		return NULL;
	}
	return msg;
}

static int
own_response(sip_t const *sip)
{
	return sip->sip_status != NULL && sip->sip_server != NULL &&
	    sip->sip_server->g_string != NULL &&
	    strncmp(sip->sip_server->g_string, "tlstrunk/", 9) == 0;
}

/* Everything tlstrunk sends the PBX is SIP that parses again. */
static void
check_datagram(const char *buf, size_t len)
{
	const char *why = NULL;
	msg_t *msg;
	sip_t *sip = NULL;

	if (len <= 4 && strspn(buf, "\r\n") >= len)
		return;
	if ((msg = parse(buf, len)) == NULL)
		why = "does not parse";
	else if ((sip = sip_object(msg)) == NULL ||
	    (sip->sip_request == NULL && sip->sip_status == NULL))
		why = "neither request nor response";
	else if (sip->sip_via == NULL && !(allow_no_via && sip->sip_status))
		why = "no Via";
	/*
	 * Responses of our own (Server: tlstrunk/...) copy From, To, CSeq
	 * from the request through sofia-sip's encoder, which does not
	 * always print what its parser takes back (a From with port
	 * "509UDi0", a CSeq "2 B" from a duplicated CSeq): not ours to judge.
	 * What we forward keeps the bytes it came with.
	 */
	else if (!own_response(sip) &&
	    (sip->sip_call_id == NULL || sip->sip_cseq == NULL ||
	    sip->sip_from == NULL || sip->sip_to == NULL))
		why = "From, To, Call-ID or CSeq missing";
	if (why != NULL) {
		fprintf(stderr, "tlstrunk sent the PBX a datagram that is not a "
		    "whole SIP message: %s (%zu bytes):\n%.*s\n", why, len,
		    (int)len, buf);
		abort();
	}
	msg_destroy(msg);
}

static void
run(int times)
{
	fz_uv_run(&fp.loop, times);
	fz_pbx_drain(check_output ? check_datagram : NULL);
}

static uint64_t
cloud_conn_id(void)
{
	struct conn *c;

	LIST_FOREACH(c, &fp.app.px.conns.list, link)
		if (c->side == SIDE_CLOUD && c->outbound)
			return c->id;
	return 0xfffff;
}

static void
deliver(int kind, const char *data, size_t len)
{
	struct sip_src src;
	msg_t *msg;

	if ((msg = parse(data, len)) == NULL)
		return;
	memset(&src, 0, sizeof(src));
	switch (kind) {
	case 'P':
		src.side = SIDE_PBX;
		src.tp = TP_UDP;
		fz_sockaddr(&src.addr, &src.addrlen, fz_ip, 5090);
		break;
	case 'T':
		src.side = SIDE_PBX;
		src.tp = TP_TCP;
		src.conn_id = 0xffff0;
		fz_sockaddr(&src.addr, &src.addrlen, fz_ip, 40000);
		break;
	case 'X':
		src.side = SIDE_PBX;
		src.tp = TP_UDP;
		fz_sockaddr(&src.addr, &src.addrlen, fz_ip_dead, 5060);
		break;
	default:	/* C, D */
		src.side = SIDE_CLOUD;
		src.tp = TP_TLS;
		src.conn_id = kind == 'D' ? cloud_conn_id() : 0xfffff;
		fz_sockaddr(&src.addr, &src.addrlen, fz_ip, 5062);
		break;
	}
	core_recv(&fp.app.px, msg, &src);
	run(3);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	int records = 0;

	fz_proxy_start(&fp, cfg);
	if (size < 2 || memcmp(p, "#!", 2) != 0) {
		deliver('P', p, size);
		goto done;
	}
	while (p < end && end - p >= 3 && memcmp(p, "#!", 2) == 0 &&
	    records++ < MAX_RECORDS) {
		int kind = p[2];
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *body, *next;
		unsigned long arg = 0;

		for (const char *q = p + 3; q < end && *q >= '0' && *q <= '9' &&
		    arg < 100000; q++)
			arg = arg * 10 + (unsigned long)(*q - '0');
		body = nl != NULL ? nl + 1 : end;
		/* The body runs to the next line starting with "#!". */
		for (next = body; next < end; next++)
			if (end - next >= 2 && next[0] == '#' && next[1] == '!' &&
			    (next == body || next[-1] == '\n'))
				break;
		if (kind == 'W') {
			fz_clock_skip_ms += 1000 * (arg == 0 ? 1 : arg > 600 ? 600 : arg);
			run(4);
		} else if (strchr("PTXCD", kind) != NULL && kind != '\0') {
			deliver(kind, body, (size_t)(next - body));
		}
		p = next;
	}
done:
	run(2);
	fz_proxy_stop(&fp);
	return 0;
}
