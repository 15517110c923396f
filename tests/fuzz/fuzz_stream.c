/*
 * fuzz_stream.c - libFuzzer target: a stream of bytes on a real
 * connection to tlstrunk's listeners, i.e. SIP framing (conn.c: accept,
 * conn_on_read, TLS records, conn_frame with sofia-sip's streaming
 * parser, CRLF keepalives) and whatever the framed messages then do.
 *
 * conn_frame() is static, so rather than a seam in conn.c the harness
 * is the peer: a fresh tlstrunk (fuzz_common.c) per input, one TCP
 * connection from this process's allowed address to the PBX listener,
 * or one TLS connection (harness-side OpenSSL client) to the cloud
 * listener, and the input written in chunks.  After each chunk the loop
 * runs until tlstrunk has read all of it (nothing left unsent on our
 * side, nothing unread on its side), so each chunk is one read on
 * tlstrunk's side: a split is where the input says, not where the kernel
 * happens to put it.
 *
 * Input: 3 header bytes, then the stream.
 *   byte 0: bit 0      0 = PBX over TCP, 1 = cloud over TLS
 *           bits 1-2   max_message_size: 65536, 1024, 4096, 16384
 *           bit 3      half-close (FIN) after the last chunk
 *           bit 4      do not read what tlstrunk sends back (its
 *                      writes queue once the socket buffer is full)
 *           bit 5      pauses: after each chunk the (fake) clock moves
 *                      on 0..2.5 s, the seed choosing; past [limits]
 *                      message_timeout an unfinished message is cut
 *   bytes 1-2: chunking: 0 = the whole stream in one write; else a
 *           seed for chunk lengths of 1..(1 << (byte1 & 15)) bytes
 *           (at most MAX_CHUNKS chunks, then the rest at once).
 *
 * Before the proxy sees it, the same stream goes through the framer
 * alone (sipframe.c) twice, whole and cut by the same schedule: the
 * messages that come out must be the same, in the same order (of an
 * unparsable one handed up for its 400, the fields the 400 copies).  Framing
 * that depends on where the network cut is the bug this guards.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include "conn.h"
#include "fuzz_common.h"
#include "sipframe.h"
#include "sipmsg.h"

#define MAX_CHUNKS	128

static struct config *cfg;
static struct fz_proxy fp;
static SSL_CTX *client_ctx;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	cfg = fz_proxy_setup();
	if ((client_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fz_die("SSL_CTX_new");
	/* Whatever tlstrunk's policy is, this client can meet it. */
	SSL_CTX_set_min_proto_version(client_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
	return 0;
}

/* tlstrunk's end of our connection, NULL once it is gone. */
static struct conn *
server_conn(void)
{
	struct conn *c;

	LIST_FOREACH(c, &fp.app.px.conns.list, link)
		if (!c->outbound)
			return c;
	return NULL;
}

static int
server_fd(void)
{
	struct conn *c = server_conn();
	uv_os_fd_t fd;

	if (c == NULL || uv_fileno((uv_handle_t *)&c->tcp, &fd) < 0)
		return -1;
	return fd;
}

/* Read and drop whatever tlstrunk sent us. */
static void
drain(int fd, SSL *ssl)
{
	char buf[16384];

	if (ssl != NULL) {
		while (SSL_read(ssl, buf, sizeof(buf)) > 0)
			;
		ERR_clear_error();
		return;
	}
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
}

/* Run the loop until tlstrunk has read everything we sent (or closed). */
static void
settle(int fd, SSL *ssl, int read_back)
{
	for (int i = 0; i < 200; i++) {
		int sfd, inq = 0, outq = 0;

		fz_uv_run(&fp.loop, 1);
		if (read_back)
			drain(fd, ssl);
		if ((sfd = server_fd()) < 0)
			return;
		/* Not SIOCOUTQ: delayed ACKs would keep it up for 40 ms. */
		ioctl(fd, SIOCOUTQNSD, &outq);
		ioctl(sfd, FIONREAD, &inq);
		if (outq == 0 && inq == 0)
			return;
	}
}

static int
connect_to(uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		fz_die("socket: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* From the allowed address, not 127.0.0.1. */
	fz_sockaddr(&ss, &len, fz_ip, 0);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		fz_die("bind %s: %s", fz_ip, strerror(errno));
	fz_sockaddr(&ss, &len, fz_ip, port);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
		fz_die("connect %s:%u: %s", fz_ip, port, strerror(errno));
	/* Until tlstrunk has accepted it. */
	for (int i = 0; i < 200 && server_conn() == NULL; i++)
		fz_uv_run(&fp.loop, 1);
	if (server_conn() == NULL)
		fz_die("tlstrunk did not accept the connection");
	return fd;
}

static SSL *
tls_connect(int fd)
{
	SSL *ssl = SSL_new(client_ctx);

	if (ssl == NULL || !SSL_set_fd(ssl, fd))
		fz_die("SSL_new");
	SSL_set_tlsext_host_name(ssl, FZ_SBC_NAME);
	for (int i = 0; i < 400; i++) {
		int r = SSL_connect(ssl), e;
		if (r == 1)
			return ssl;
		e = SSL_get_error(ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			fz_die("TLS handshake with tlstrunk failed (%d)", e);
		fz_uv_run(&fp.loop, 1);
	}
	fz_die("TLS handshake with tlstrunk did not end");
}

/* Write all of buf (the loop runs while the socket is full). */
static int
send_all(int fd, SSL *ssl, const uint8_t *buf, size_t len, int read_back)
{
	while (len > 0) {
		ssize_t n;

		if (server_conn() == NULL)
			return -1;
		if (ssl != NULL) {
			int r = SSL_write(ssl, buf, len > 16384 ? 16384 : (int)len);
			n = r > 0 ? r : -1;
			if (r <= 0 && SSL_get_error(ssl, r) != SSL_ERROR_WANT_WRITE &&
			    SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
				return -1;
		} else {
			n = send(fd, buf, len, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				return -1;
		}
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
		settle(fd, ssl, read_back);
	}
	return 0;
}

/* xorshift32: chunk lengths (and pauses) the input chooses. */
static unsigned
next_rand(unsigned *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* What the framer delivered: each message printed, one after another. */
struct frame_log {
	char *buf;
	size_t len, cap;
	int events;
	int first_odd;		/* kind of the first oversized or unparsable
				   message, -1 while there was none */
	size_t before_odd;	/* bytes of the log before it */
};

static int
frame_log_add(void *ctx, enum sipframe_event ev, msg_t *msg)
{
	struct frame_log *fl = ctx;
	char head[32], *text = NULL;
	size_t n = 0, hl;

	if ((ev == SIPFRAME_TOOBIG || ev == SIPFRAME_BAD) &&
	    fl->first_odd == -1) {
		fl->first_odd = (int)ev;
		fl->before_odd = fl->len;
	}
	if (msg != NULL && ev == SIPFRAME_BAD) {
		/* A message the parser gave up on: how much of the rest it
		 * had parsed depends on where the reads ended, and no promise
		 * is made of it; what the 400 needs (sipmsg_answerable) is. */
		sip_t const *sip = sip_object(msg);
		char key[512];
		int k = snprintf(key, sizeof(key), "%s|%s|%u %s",
		    sip->sip_call_id->i_id, sip->sip_via->v_branch ?
		    sip->sip_via->v_branch : "", sip->sip_cseq->cs_seq,
		    sip->sip_cseq->cs_method_name);
		n = k > 0 ? ((size_t)k < sizeof(key) ? (size_t)k :
		    sizeof(key) - 1) : 0;
		text = strndup(key, n);
	} else if (msg != NULL) {
		text = sipmsg_print(msg, &n);
	}
	hl = (size_t)snprintf(head, sizeof(head), "|%d:%zu|", (int)ev, n);
	if (fl->len + hl + n > fl->cap) {
		fl->cap = (fl->len + hl + n) * 2;
		if ((fl->buf = realloc(fl->buf, fl->cap)) == NULL)
			fz_die("out of memory");
	}
	memcpy(fl->buf + fl->len, head, hl);
	fl->len += hl;
	if (text != NULL)
		memcpy(fl->buf + fl->len, text, n);
	fl->len += n;
	fl->events++;
	free(text);
	if (msg != NULL)
		msg_destroy(msg);
	return 0;
}

/* Feed data to a fresh framer, in pieces when seed != 0. */
static int
frame_run(struct frame_log *fl, const uint8_t *data, size_t size,
    unsigned seed, unsigned maxchunk, size_t maxsize)
{
	struct sipframe f;
	int r = 0;

	sipframe_init(&f, maxsize);
	for (int chunks = 0; size > 0 && r == 0; chunks++) {
		size_t n = size;
		if (seed != 0 && chunks < MAX_CHUNKS) {
			n = 1 + next_rand(&seed) % maxchunk;
			next_rand(&seed);	/* the pause's draw */
			if (n > size)
				n = size;
		}
		r = sipframe_feed(&f, (const char *)data, n, frame_log_add, fl);
		data += n;
		size -= n;
	}
	sipframe_free(&f);
	return r;
}

/* Whole and cut, the framer must deliver the same messages. */
static void
frame_check(const uint8_t *data, size_t size, unsigned seed,
    unsigned maxchunk, size_t maxsize)
{
	struct frame_log whole = { .first_odd = -1 }, cut = { .first_odd = -1 };
	size_t wl, cl;
	int rw, rc;

	if (seed == 0)
		return;
	rw = frame_run(&whole, data, size, 0, maxchunk, maxsize);
	rc = frame_run(&cut, data, size, seed, maxchunk, maxsize);
	/*
	 * Up to the first error, after which the stream is closed, or the
	 * first oversized or unparsable message: an oversized header may be
	 * refused at a different byte depending on the cuts (buffers grow by
	 * them); an unparsable stream may be given up at a different message
	 * (not yet understood: the closing note of issue 14 says so); how
	 * much of an oversized message was parsed, and whether the stream
	 * goes on after it, depend on where the reads ended (the whole
	 * stream is refused at the size, a cut one may get past it: found by
	 * CI's fuzz run of 2026-12-07, left open in that closing note).
	 * What came before must be the same.
	 */
	wl = whole.first_odd != -1 ? whole.before_odd : whole.len;
	cl = cut.first_odd != -1 ? cut.before_odd : cut.len;
	if (whole.first_odd != -1 || cut.first_odd != -1 || rw < 0 || rc < 0) {
		size_t n = wl < cl ? wl : cl;
		if (n > 0 && memcmp(whole.buf, cut.buf, n) != 0)
			fz_die("framer: cut stream gave other messages than whole");
	} else if (rw != rc || whole.len != cut.len || (whole.len > 0 &&
	    memcmp(whole.buf, cut.buf, whole.len) != 0)) {
		fz_die("framer: cut stream gave other messages than whole "
		    "(%d/%d events, rc %d/%d)", whole.events, cut.events, rw, rc);
	}
	free(whole.buf);
	free(cut.buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxsize[] = { 65536, 1024, 4096, 16384 };
	struct linger lg = { 1, 0 };
	int tls, halfclose, read_back, pauses, fd;
	unsigned seed, maxchunk;
	SSL *ssl = NULL;

	if (size < 3)
		return 0;
	tls = data[0] & 1;
	cfg->limits.max_message_size = maxsize[(data[0] >> 1) & 3];
	halfclose = data[0] & 8;
	read_back = !(data[0] & 16);
	pauses = data[0] & 32;
	seed = (unsigned)data[1] << 8 | data[2];
	maxchunk = 1u << (data[1] & 15);
	data += 3;
	size -= 3;
	frame_check(data, size, seed, maxchunk, cfg->limits.max_message_size);

	fz_proxy_start(&fp, cfg);
	fd = connect_to(tls ? 5061 : 5060);
	if (tls)
		ssl = tls_connect(fd);
	for (int chunks = 0; size > 0; chunks++) {
		size_t n = size;
		/* At most MAX_CHUNKS splits: the rest goes in one write. */
		unsigned pause = 0;
		if (seed != 0 && chunks < MAX_CHUNKS) {
			n = 1 + next_rand(&seed) % maxchunk;
			pause = next_rand(&seed) % 2500;
			if (n > size)
				n = size;
		}
		if (send_all(fd, ssl, data, n, read_back) < 0)
			break;
		if (pauses && pause > 0) {
			fz_clock_skip_ms += pause;
			fz_uv_run(&fp.loop, 1);
		}
		data += n;
		size -= n;
	}
	if (halfclose && server_conn() != NULL) {
		if (ssl != NULL)
			SSL_shutdown(ssl);
		shutdown(fd, SHUT_WR);
		settle(fd, ssl, 1);
	}
	fz_uv_run(&fp.loop, 2);
	/* RST, not FIN: no TIME_WAIT piles up over millions of runs. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	SSL_free(ssl);
	close(fd);
	fz_uv_run(&fp.loop, 2);
	fz_proxy_stop(&fp);
	cfg->limits.max_message_size = 65536;
	return 0;
}
