/*
 * sofia_probe.c - what sofia-sip's parser makes of a SIP message, the way
 * tlstrunk hands it over (msg_create(sip_default_mclass(), 0),
 * msg_buf_alloc/commit, msg_extract).  A manual tool, not part of the build:
 *
 *   gcc -Wall -O1 -o /tmp/sofia_probe tests/torture/sofia_probe.c \
 *       $(pkg-config --cflags --libs sofia-sip-ua)
 *   /tmp/sofia_probe [-r] [-s] [-t udp|tcp|tls] FILE...
 *
 * A FILE is a torture case (tests/torture/cases/NN-name.sip), expanded as
 * tests/torture/sipsend.py does for the PBX side (the TLS side for -t tls):
 * leading '#' lines dropped, CR dropped, LF sent as CRLF, the placeholders
 * (@CALLID@ @BRANCH@ @TAG@ @TP@ @TPL@ @LOCAL@ @TARGET@ @SDP@ @PROTO@
 * @CRYPTO@ @NUL@ @PAD:N:C@ @CL@) replaced by fixed values.  With -r the
 * file is taken byte for byte (an RFC 4475 .dat file, say).
 *
 * Default: the UDP way, the whole buffer committed with eos=1 and one
 * msg_extract.  -s: the stream way (tlstrunk's TCP/TLS framer): committed
 * with eos=0, msg_extract until it wants more, msg_next for what follows.
 *
 * Printed per message: msg_extract's result, the msg flags, each header
 * sofia could not parse (sip_error: the header class it failed in, and
 * the raw text where sofia kept it), the unknown headers, and which of
 * sip_request/status, sip_via, sip_from, sip_to, sip_call_id, sip_cseq,
 * sip_content_length were parsed (with their main fields).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_parser.h>

/* ---- case expansion (sipsend.py's build(), fixed values) ---- */

struct buf {
	char *p;
	size_t n, cap;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL) {
			perror("realloc");
			exit(2);
		}
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static const char *side = "pbx", *tp = "udp";

static void
sdp(struct buf *b)
{
	int cloud = strcmp(side, "cloud") == 0;

	puts_(b, "v=0\r\no=torture 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
	    "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 ");
	puts_(b, cloud ? "RTP/SAVP" : "RTP/AVP");
	puts_(b, " 0\r\na=rtpmap:0 PCMU/8000");
	if (cloud)
		puts_(b, "\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 "
		    "inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e");
}

/* Replace the placeholders of one part (head or body); @CL@ is kept. */
static void
subst(struct buf *out, const char *s, size_t n)
{
	int cloud = strcmp(side, "cloud") == 0;
	char up[4];
	size_t i = 0;

	snprintf(up, sizeof(up), "%s", tp);
	for (char *u = up; *u; u++)
		*u = (char)(*u - 'a' + 'A');
	while (i < n) {
		size_t j = i + 1;
		if (s[i] != '@') {
			put(out, s + i, 1);
			i++;
			continue;
		}
		if (n - i > 5 && strncmp(s + i, "@PAD:", 5) == 0) {
			/* @PAD:N:C@: digits, ':', one character, '@' */
			size_t e = i + 5;
			long cnt = 0;
			while (e < n && s[e] >= '0' && s[e] <= '9')
				cnt = cnt * 10 + (s[e++] - '0');
			if (e > i + 5 && e + 2 < n && s[e] == ':' &&
			    s[e + 1] != '\n' && s[e + 2] == '@') {
				for (long k = 0; k < cnt; k++)
					put(out, s + e + 1, 1);
				i = e + 3;
				continue;
			}
		}
		while (j < n && s[j] >= 'A' && s[j] <= 'Z')
			j++;
		if (j == i + 1 || j >= n || s[j] != '@') {
			put(out, s + i, 1);
			i++;
			continue;
		}
		{
			char key[32];
			size_t kl = j - i - 1;
			snprintf(key, sizeof(key), "%.*s", (int)(kl < 31 ? kl : 31),
			    s + i + 1);
			if (strcmp(key, "CALLID") == 0)
				puts_(out, "torture-probe@127.0.0.1");
			else if (strcmp(key, "BRANCH") == 0)
				puts_(out, "z9hG4bK-probe");
			else if (strcmp(key, "TAG") == 0)
				puts_(out, "t-probe");
			else if (strcmp(key, "TP") == 0)
				puts_(out, up);
			else if (strcmp(key, "TPL") == 0)
				puts_(out, tp);
			else if (strcmp(key, "LOCAL") == 0)
				puts_(out, "127.0.0.1:40404");
			else if (strcmp(key, "TARGET") == 0)
				puts_(out, cloud ? "sbc.test.example:15061;transport=tls" :
				    "127.0.0.1:15060");
			else if (strcmp(key, "SDP") == 0)
				sdp(out);
			else if (strcmp(key, "PROTO") == 0)
				puts_(out, cloud ? "RTP/SAVP" : "RTP/AVP");
			else if (strcmp(key, "CRYPTO") == 0)
				puts_(out, cloud ? "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
				    "inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e" : "");
			else if (strcmp(key, "NUL") == 0)
				put(out, "", 1);
			else {	/* @CL@ and anything unknown stay */
				put(out, s + i, j - i + 1);
			}
			i = j + 1;
		}
	}
}

/* LF -> CRLF (CRs dropped before). */
static void
crlf(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			put(out, "\r\n", 2);
		else
			put(out, s + i, 1);
	}
}

static char *
expand(const char *raw, size_t rawlen, size_t *len)
{
	struct buf t = { 0 }, head = { 0 }, body = { 0 }, hs = { 0 }, bs = { 0 },
	    out = { 0 };
	size_t i = 0, sep;
	char *p, cl[32];
	int have_sep;

	/* Drop CRs, then the leading '#' lines (and a line that is only
	 * @CRYPTO@ on the PBX side). */
	for (size_t k = 0; k < rawlen; k++)
		if (raw[k] != '\r')
			put(&t, raw + k, 1);
	put(&t, "", 0);
	while (i < t.n && t.p[i] == '#') {
		char *nl = memchr(t.p + i, '\n', t.n - i);
		i = nl ? (size_t)(nl - t.p) + 1 : t.n;
	}
	if (strcmp(side, "pbx") == 0) {
		struct buf u = { 0 };
		size_t k = i;
		put(&u, "", 0);
		while (k < t.n) {
			char *nl = memchr(t.p + k, '\n', t.n - k);
			size_t e = nl ? (size_t)(nl - t.p) : t.n;
			if (!(e - k == 8 && memcmp(t.p + k, "@CRYPTO@", 8) == 0))
				put(&u, t.p + k, e - k + (nl ? 1 : 0));
			else if (!nl && u.n > 0)
				u.n--;	/* it was the last line: no LF either */
			k = nl ? e + 1 : t.n;
		}
		free(t.p);
		t = u;
		i = 0;
	}
	p = NULL;
	for (size_t k = i; k + 1 < t.n; k++)
		if (t.p[k] == '\n' && t.p[k + 1] == '\n') {
			p = t.p + k;
			break;
		}
	have_sep = p != NULL;
	sep = have_sep ? (size_t)(p - t.p) : t.n;
	put(&head, "", 0);
	put(&body, "", 0);
	crlf(&head, t.p + i, sep - i);
	if (have_sep)
		crlf(&body, p + 2, t.n - sep - 2);
	put(&hs, "", 0);
	put(&bs, "", 0);
	subst(&hs, head.p, head.n);
	subst(&bs, body.p, body.n);
	snprintf(cl, sizeof(cl), "%zu", bs.n);
	put(&out, "", 0);
	for (size_t k = 0; k < hs.n; k++) {
		if (hs.n - k >= 4 && memcmp(hs.p + k, "@CL@", 4) == 0) {
			puts_(&out, cl);
			k += 3;
		} else
			put(&out, hs.p + k, 1);
	}
	if (have_sep)
		put(&out, "\r\n\r\n", 4);
	put(&out, bs.p, bs.n);
	free(t.p), free(head.p), free(body.p), free(hs.p), free(bs.p);
	*len = out.n;
	return out.p;
}

/* ---- printing ---- */

static void
flags(unsigned f)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ MSG_FLG_HEADERS, "HEADERS" }, { MSG_FLG_BODY, "BODY" },
		{ MSG_FLG_CHUNKS, "CHUNKS" }, { MSG_FLG_TRAILERS, "TRAILERS" },
		{ MSG_FLG_FRAGS, "FRAGS" }, { MSG_FLG_COMPLETE, "COMPLETE" },
		{ MSG_FLG_ERROR, "ERROR" }, { MSG_FLG_TOOLARGE, "TOOLARGE" },
		{ MSG_FLG_TRUNC, "TRUNC" }, { MSG_FLG_TIMEOUT, "TIMEOUT" },
		{ MSG_FLG_EXTRACT_COPY, "EXTRACT_COPY" },
		{ MSG_FLG_STREAMING, "STREAMING" },
	};
	const char *sep = "";

	printf("  flags 0x%08x", f);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit) {
			printf("%s%s", *sep ? "|" : " ", names[i].name);
			sep = "|";
		}
	printf("\n");
}

/* Raw text of a fragment, made printable and cut at 160 bytes. */
static void
show(const char *s, size_t n)
{
	size_t max = n > 160 ? 160 : n;

	for (size_t i = 0; i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r')
			printf("\\r");
		else if (c == '\n')
			printf("\\n");
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	if (n > max)
		printf("...(%zu bytes)", n);
}

static const char *
nz(const char *s)
{
	return s ? s : "(null)";
}

static void
report(msg_t *msg, int r)
{
	sip_t const *sip = sip_object(msg);
	int n = 0;

	printf("  msg_extract %d, msg_has_error %d\n", r, msg_has_error(msg));
	flags(msg_get_flags(msg, ~0u));
	if (sip == NULL) {
		printf("  no sip object\n");
		return;
	}
	for (msg_error_t const *e = sip->sip_error; e; e = e->er_next) {
		printf("  sip_error: in %s", e->er_name ? e->er_name : "(first line or unnamed)");
		if (e->er_common->h_data != NULL) {
			printf(": \"");
			show(e->er_common->h_data, e->er_common->h_len);
			printf("\"");
		}
		printf("\n");
		n++;
	}
	if (n == 0)
		printf("  sip_error: none\n");
	for (msg_unknown_t const *u = sip->sip_unknown; u; u = u->un_next) {
		printf("  unknown header: \"");
		show(u->un_name, strlen(u->un_name));
		printf("\" value \"");
		show(nz(u->un_value), strlen(nz(u->un_value)));
		printf("\"\n");
	}
	if (sip->sip_request)
		printf("  sip_request: method %d \"%s\" uri user \"%s\" host \"%s\" "
		    "version %s\n", sip->sip_request->rq_method,
		    nz(sip->sip_request->rq_method_name),
		    nz(sip->sip_request->rq_url->url_user),
		    nz(sip->sip_request->rq_url->url_host),
		    nz(sip->sip_request->rq_version));
	else
		printf("  sip_request: -\n");
	if (sip->sip_status)
		printf("  sip_status: %d \"%s\"\n", sip->sip_status->st_status,
		    nz(sip->sip_status->st_phrase));
	else
		printf("  sip_status: -\n");
	if (sip->sip_via) {
		int k = 0;
		for (sip_via_t const *v = sip->sip_via; v; v = v->v_next)
			k++;
		printf("  sip_via: %d, top %s %s:%s branch %s\n", k,
		    nz(sip->sip_via->v_protocol), nz(sip->sip_via->v_host),
		    nz(sip->sip_via->v_port), nz(sip->sip_via->v_branch));
	} else
		printf("  sip_via: -\n");
	if (sip->sip_from)
		printf("  sip_from: user \"%s\" tag \"%s\"\n",
		    nz(sip->sip_from->a_url->url_user), nz(sip->sip_from->a_tag));
	else
		printf("  sip_from: -\n");
	if (sip->sip_to)
		printf("  sip_to: user \"%s\" tag \"%s\"\n",
		    nz(sip->sip_to->a_url->url_user), nz(sip->sip_to->a_tag));
	else
		printf("  sip_to: -\n");
	if (sip->sip_call_id) {
		printf("  sip_call_id: \"");
		show(nz(sip->sip_call_id->i_id), strlen(nz(sip->sip_call_id->i_id)));
		printf("\"\n");
	} else
		printf("  sip_call_id: -\n");
	if (sip->sip_cseq)
		printf("  sip_cseq: %u %d \"%s\"\n", sip->sip_cseq->cs_seq,
		    sip->sip_cseq->cs_method, nz(sip->sip_cseq->cs_method_name));
	else
		printf("  sip_cseq: -\n");
	if (sip->sip_content_length)
		printf("  sip_content_length: %u\n", sip->sip_content_length->l_length);
	else
		printf("  sip_content_length: -\n");
	printf("  payload: %zu bytes\n", sip->sip_payload ?
	    (size_t)sip->sip_payload->pl_len : (size_t)0);
	{
		int h = 0;
		msg_header_t **head = msg_chain_head(msg);
		for (msg_header_t *x = head ? *head : NULL; x; x = x->sh_succ)
			h++;
		printf("  header fields in the chain: %d\n", h);
	}
}

static int
probe(const char *data, size_t len, int stream)
{
	msg_t *msg = msg_create(sip_default_mclass(), 0);
	void *b;
	int r, k = 1;

	if (msg == NULL || (b = msg_buf_alloc(msg, len + 1)) == NULL) {
		fprintf(stderr, "out of memory\n");
		return 2;
	}
	memcpy(b, data, len);
	msg_buf_commit(msg, len, stream ? 0 : 1);
	if (!stream) {
		r = msg_extract(msg);
		report(msg, r);
		msg_destroy(msg);
		return 0;
	}
	while (msg != NULL) {
		msg_t *next;
		/* CRLF between messages: skipped by tlstrunk's framer. */
		r = msg_extract(msg);
		printf(" stream message %d:\n", k++);
		report(msg, r);
		if (r <= 0) {
			if (r == 0)
				printf("  (incomplete: %zu bytes wait for more)\n",
				    (size_t)msg_buf_committed(msg));
			msg_destroy(msg);
			break;
		}
		next = msg_next(msg);
		msg_destroy(msg);
		msg = next;
		if (msg != NULL && msg_buf_committed(msg) == 0) {
			msg_destroy(msg);
			break;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int raw = 0, stream = 0, i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-r") == 0)
			raw = 1;
		else if (strcmp(argv[i], "-s") == 0)
			stream = 1;
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			tp = argv[++i];
			side = strcmp(tp, "tls") == 0 ? "cloud" : "pbx";
		} else {
			fprintf(stderr, "usage: %s [-r] [-s] [-t udp|tcp|tls] FILE...\n",
			    argv[0]);
			return 2;
		}
	}
	su_init();
	for (; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		struct buf in = { 0 };
		char chunk[8192], *msgtext;
		size_t n, len;

		if (f == NULL) {
			perror(argv[i]);
			return 2;
		}
		put(&in, "", 0);
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			put(&in, chunk, n);
		fclose(f);
		if (raw) {
			msgtext = in.p;
			len = in.n;
			in.p = NULL;
		} else
			msgtext = expand(in.p, in.n, &len);
		printf("== %s (%zu bytes, %s)\n", argv[i], len,
		    stream ? "stream, eos=0" : "datagram, eos=1");
		probe(msgtext, len, stream);
		free(msgtext);
		free(in.p);
	}
	su_deinit();
	return 0;
}
