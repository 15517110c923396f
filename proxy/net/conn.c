/*
 * conn.c - stream connections.  Bytes from libuv go through a memory BIO
 * into OpenSSL (TLS) or straight (TCP) into sofia-sip's streaming parser;
 * whole messages go up to the proxy core.  Outgoing messages queue while
 * the connection is still resolving, connecting or handshaking.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <netdb.h>
#include <time.h>
#include <openssl/x509.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/sip_header.h>

#include "certfile.h"
#include "conn.h"
#include "sipmsg.h"
#include "log.h"
#include "netaddr.h"

#define CONN_READ_BUF	65536

static void conn_flush_tls(struct conn *c);
static void conn_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

const char *
conn_kind(const struct conn *c)
{
	return c->tls ? "tls" : "tcp";
}

/* The last of the handles and requests holding c lets it go. */
static void
conn_unref(struct conn *c)
{
	struct conn_pending *p, *next;

	if (--c->handles > 0)
		return;
	for (p = c->pending; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	sipframe_free(&c->frame);
	SSL_free(c->ssl);	/* frees both BIOs */
	free(c);
}

static void
conn_handle_closed(uv_handle_t *h)
{
	conn_unref(h->data);
}

void
conn_set_init(struct conn_set *s, uv_loop_t *loop, const struct config *cfg,
    const struct conn_events *ev)
{
	uint32_t base = 0;

	memset(s, 0, sizeof(*s));
	LIST_INIT(&s->list);
	s->loop = loop;
	s->cfg = cfg;
	s->ev = *ev;
	/*
	 * Ids start at a random point of their own per process: a dialog's
	 * Record-Route names its cloud connection by id (;ttc=), and a
	 * process that carries the call on after a restart or a failover
	 * must not find another connection under that number.  (RAND_bytes
	 * failing leaves 0: ids from 1, as before.)
	 */
	(void)RAND_bytes((unsigned char *)&base, sizeof(base));
	s->next_id = (uint64_t)base << 16;
}

void
conn_set_close_all(struct conn_set *s, const char *why)
{
	while (!LIST_EMPTY(&s->list))
		conn_close(LIST_FIRST(&s->list), "%s", why);
}

/* The TCP handle is closed: the user hears of it now, from the loop. */
static void
conn_tcp_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (c->set->ev.on_closed != NULL)
		c->set->ev.on_closed(c->set->ev.ctx, c);
	conn_unref(c);
}

static struct conn *
conn_new(struct conn_set *set, int side, int tls, int outbound)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->set = set;
	c->id = ++set->next_id;
	c->side = side;
	c->tls = tls;
	c->outbound = outbound;
	c->pending_tail = &c->pending;
	c->last_io = uv_now(set->loop);
	sipframe_init(&c->frame, set->cfg->limits.max_message_size);
	if (uv_tcp_init(set->loop, &c->tcp) < 0) {
		free(c);
		return NULL;
	}
	c->tcp.data = c;
	c->handles++;
	uv_timer_init(set->loop, &c->timer);
	c->timer.data = c;
	c->handles++;
	LIST_INSERT_HEAD(&set->list, c, link);
	set->n++;
	return c;
}

static int
conn_new_ssl(struct conn *c, SSL_CTX *ctx)
{
	c->ssl = SSL_new(ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		c->rbio = c->wbio = NULL;
		return -ENOMEM;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_app_data(c->ssl, &c->note);
	return 0;
}

void
conn_close(struct conn *c, const char *fmt, ...)
{
	char reason[384];
	va_list ap;

	if (c->state == CONN_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_msg(c->quiet ? LOG_DEBUG : LOG_INFO, NULL,
	    "%s conn #%llu %s %s closed: %s", conn_kind(c),
	    (unsigned long long)c->id, c->outbound ? "to" : "from",
	    c->peer_str, reason);
	c->state = CONN_CLOSING;
	snprintf(c->why, sizeof(c->why), "%.300s", reason);
	/* Unlink first so that the core never picks a dying connection. */
	LIST_REMOVE(c, link);
	c->set->n--;
	if (c->resolving)
		uv_cancel((uv_req_t *)&c->gai);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, conn_tcp_closed);
}

/* ---- writing ---- */

struct conn_write {
	uv_write_t req;
	struct conn *c;
	char data[];
};

static void
conn_on_write(uv_write_t *req, int status)
{
	struct conn_write *w = (struct conn_write *)req;

	if (status < 0 && status != UV_ECANCELED)
		conn_close(w->c, "write: %s", uv_strerror(status));
	free(w);
}

static int
conn_write_raw(struct conn *c, const char *buf, size_t len)
{
	struct conn_write *w;
	uv_buf_t b;
	int r;

	if (c->state == CONN_CLOSING)
		return -EPIPE;
	/* Fast path: the socket takes it all now, nothing to keep. */
	b = uv_buf_init((char *)buf, (unsigned)len);
	r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (r == (int)len)
		return 0;
	if (r < 0 && r != UV_EAGAIN) {
		conn_close(c, "write: %s", uv_strerror(r));
		return r;
	}
	if (r > 0) {
		buf += r;
		len -= (size_t)r;
	}
	if ((w = malloc(sizeof(*w) + len)) == NULL)
		return -ENOMEM;
	w->c = c;
	memcpy(w->data, buf, len);
	b = uv_buf_init(w->data, (unsigned)len);
	r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write);
	if (r < 0) {
		free(w);
		conn_close(c, "write: %s", uv_strerror(r));
	}
	return r;
}

/* Move whatever OpenSSL produced to the socket. */
static void
conn_flush_tls(struct conn *c)
{
	char buf[16384 + 512];
	int n;

	while ((n = BIO_read(c->wbio, buf, sizeof(buf))) > 0)
		if (conn_write_raw(c, buf, (size_t)n) < 0)
			return;
}

static int
conn_write_msg(struct conn *c, const char *buf, size_t len)
{
	int r;

	c->last_io = uv_now(c->tcp.loop);
	if (len > 4 && c->set->ev.on_tap != NULL)	/* not a keepalive */
		c->set->ev.on_tap(c->set->ev.tap_ctx, (struct sockaddr *)&c->local,
		    (struct sockaddr *)&c->peer, IPPROTO_TCP, buf, len);
	if (!c->tls)
		return conn_write_raw(c, buf, len);
	/* SSL_MODE_ENABLE_PARTIAL_WRITE: one record (16 KiB) per call; the
	 * memory BIO takes all, so this ends (a message cut short would
	 * put the stream out of step for every call on it). */
	while (len > 0) {
		r = SSL_write(c->ssl, buf, (int)len);
		if (r <= 0) {
			char e[256];
			tls_last_error(e, sizeof(e));
			conn_close(c, "TLS write: %s", e);
			return -EIO;
		}
		buf += r;
		len -= (size_t)r;
	}
	conn_flush_tls(c);
	return 0;
}

int
conn_send(struct conn *c, const char *buf, size_t len)
{
	struct conn_pending *p;

	if (c->state == CONN_CLOSING)
		return -EPIPE;
	if (c->state == CONN_UP)
		return conn_write_msg(c, buf, len);
	if ((p = malloc(sizeof(*p) + len)) == NULL)
		return -ENOMEM;
	p->next = NULL;
	p->len = len;
	memcpy(p->buf, buf, len);
	*c->pending_tail = p;
	c->pending_tail = &p->next;
	return 0;
}

/* ---- keepalive and deadlines ---- */

static void conn_on_timer(uv_timer_t *t);

/* Wake at the first deadline we watch: idle, incomplete message, ping. */
static void
conn_timer_arm(struct conn *c)
{
	const struct config *cfg = c->set->cfg;
	uint64_t now = uv_now(c->tcp.loop), at = UINT64_MAX, d;

	if (c->outbound)
		at = c->last_io + 1000 * (uint64_t)cfg->cloud.keepalive_interval;
	else
		at = c->last_io + 1000 * (uint64_t)cfg->limits.idle_timeout;
	if (c->rx_started != 0) {
		d = c->rx_started + 1000 * (uint64_t)cfg->limits.message_timeout;
		if (d < at)
			at = d;
	}
	uv_timer_start(&c->timer, conn_on_timer, at > now ? at - now : 1, 0);
}

/*
 * An inbound connection we end for taking too long.  A slowloris or a
 * scan ends thousands of them: a line per source per minute, the rest
 * at debug level.
 */
static void
conn_close_slow(struct conn *c, const char *why)
{
	unsigned n = 0;

	if (!c->outbound && c->set->ev.log_due != NULL &&
	    !c->set->ev.log_due(c->set->ev.ctx, (struct sockaddr *)&c->peer, &n))
		c->quiet = 1;
	if (n > 0)
		conn_close(c, "%s (%u more such closes from it in the last "
		    "minute not logged)", why, n);
	else
		conn_close(c, "%s", why);
}

static void
conn_on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	const struct config *cfg = c->set->cfg;
	uint64_t now = uv_now(c->tcp.loop);
	uint64_t ka = (uint64_t)cfg->cloud.keepalive_interval * 1000;
	uint64_t idle = (uint64_t)cfg->limits.idle_timeout * 1000;
	char why[64];

	if (c->state != CONN_UP) {
		if (c->state == CONN_HANDSHAKE)
			c->set->tls[MT_TIMEOUT]++;
		conn_close_slow(c, c->state == CONN_HANDSHAKE ?
		    "handshake timeout" : "connect timeout");
		return;
	}
	if (!c->outbound && now - c->last_io >= idle) {
		snprintf(why, sizeof(why), "idle for %d s", cfg->limits.idle_timeout);
		conn_close_slow(c, why);
		return;
	}
	if (c->rx_started != 0 &&
	    now - c->rx_started >= 1000 * (uint64_t)cfg->limits.message_timeout) {
		snprintf(why, sizeof(why), "message still incomplete after %d s",
		    cfg->limits.message_timeout);
		conn_close_slow(c, why);
		return;
	}
	/* RFC 5626 double-CRLF ping on our own idle connections. */
	if (c->outbound && now - c->last_io >= ka)
		conn_write_msg(c, "\r\n\r\n", 4);
	if (c->state == CONN_UP)
		conn_timer_arm(c);
}

time_t
conn_peer_not_after(const struct conn *c)
{
	X509 *x = c->ssl != NULL ? SSL_get1_peer_certificate(c->ssl) : NULL;
	time_t t;

	if (x == NULL)
		return 0;
	t = certfile_time(X509_get0_notAfter(x));
	X509_free(x);
	return t;
}

static void
conn_became_up(struct conn *c)
{
	struct conn_pending *p, *next;

	c->state = CONN_UP;
	c->was_up = 1;
	if (c->tls)
		c->set->tls[MT_OK]++;
	if (c->set->ev.on_up != NULL)
		c->set->ev.on_up(c->set->ev.ctx, c);
	if (c->state != CONN_UP)
		return;
	if (c->tls)
		log_info(NULL, "tls conn #%llu %s %s up: %s %s", (unsigned long long)c->id,
		    c->outbound ? "to" : "from", c->peer_str,
		    SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
	else
		log_debug(NULL, "tcp conn #%llu %s %s up", (unsigned long long)c->id,
		    c->outbound ? "to" : "from", c->peer_str);
	uv_timer_stop(&c->timer);
	conn_on_timer(&c->timer);
	p = c->pending;
	c->pending = NULL;
	c->pending_tail = &c->pending;
	for (; p != NULL; p = next) {
		next = p->next;
		if (c->state == CONN_UP)
			conn_write_msg(c, p->buf, p->len);
		free(p);
	}
}

/* ---- reading: TLS, then framing ---- */

/* A HEP copy of a message received on a stream (printed again: the
 * framer does not keep the original bytes). */
static void
conn_hep_in(struct conn *c, msg_t *m)
{
	size_t len;
	char *buf = sipmsg_print(m, &len);

	if (buf != NULL)
		c->set->ev.on_tap(c->set->ev.tap_ctx, (struct sockaddr *)&c->peer,
		    (struct sockaddr *)&c->local, IPPROTO_TCP, buf, len);
	free(buf);
}

/* A framed message goes up to the core. */
static void
conn_deliver(struct conn *c, msg_t *m)
{
	struct sip_src src;

	memset(&src, 0, sizeof(src));
	src.side = c->side;
	src.tp = c->tls ? TP_TLS : TP_TCP;
	memcpy(&src.addr, &c->peer, c->peerlen);
	src.addrlen = c->peerlen;
	src.conn_id = c->id;
	c->rx_count++;
	if (c->set->ev.on_tap != NULL)
		conn_hep_in(c, m);
	c->set->ev.on_message(c->set->ev.ctx, m, &src);
}

static int
conn_on_frame(void *ctx, enum sipframe_event ev, msg_t *m)
{
	struct conn *c = ctx;

	switch (ev) {
	case SIPFRAME_PING:
		conn_write_msg(c, "\r\n", 2);
		break;
	case SIPFRAME_TOOBIG:	/* flagged: the core answers 513, logs it */
	case SIPFRAME_BAD:	/* flagged: the core answers 400; we close */
	case SIPFRAME_MSG:
		conn_deliver(c, m);
		break;
	}
	return c->state != CONN_UP;
}

/*
 * Feed plaintext into the SIP framer.  The slowloris clock runs while a
 * message is unfinished, from the read that began it.
 */
static void
conn_frame(struct conn *c, const char *data, size_t len)
{
	uint64_t before = c->rx_count;
	int r = sipframe_feed(&c->frame, data, len, conn_on_frame, c);

	if (c->state != CONN_UP)
		return;
	if (r == -EMSGSIZE) {
		conn_close(c, "message larger than %zu bytes",
		    c->frame.maxsize);
		return;
	}
	if (r < 0) {
		conn_close(c, "%s", r == -EBADMSG ? "unparsable SIP message" :
		    "out of memory");
		return;
	}
	if (!sipframe_open(&c->frame)) {
		c->rx_started = 0;
	} else if (c->rx_started == 0 || c->rx_count != before) {
		c->rx_started = uv_now(c->tcp.loop);
		conn_timer_arm(c);
	}
}

static void
conn_tls_handshake(struct conn *c)
{
	int r = SSL_do_handshake(c->ssl);

	conn_flush_tls(c);
	if (c->state == CONN_CLOSING)
		return;
	if (r == 1) {
		conn_became_up(c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return;
	default:
		c->set->tls[c->note.text[0] ? MT_VERIFY : MT_HANDSHAKE]++;
		if (c->note.text[0] != '\0') {
			ERR_clear_error();
			conn_close(c, "TLS handshake with %s: %s",
			    c->name[0] ? c->name : c->peer_str, c->note.text);
		} else {
			char e[256];
			tls_last_error(e, sizeof(e));
			conn_close(c, "TLS handshake with %s: %s",
			    c->name[0] ? c->name : c->peer_str, e);
		}
	}
}

static void
conn_tls_read(struct conn *c, const char *data, size_t len)
{
	char buf[16384];
	int r = 0;

	if (BIO_write(c->rbio, data, (int)len) != (int)len) {
		conn_close(c, "out of memory");
		return;
	}
	if (c->state == CONN_HANDSHAKE) {
		conn_tls_handshake(c);
		if (c->state != CONN_UP)
			return;
	}
	while (c->state == CONN_UP && (r = SSL_read(c->ssl, buf, sizeof(buf))) > 0)
		conn_frame(c, buf, (size_t)r);
	if (c->state != CONN_UP)
		return;
	r = SSL_get_error(c->ssl, r);
	if (r == SSL_ERROR_ZERO_RETURN) {
		conn_close(c, "TLS close_notify");
		return;
	}
	if (r != SSL_ERROR_WANT_READ && r != SSL_ERROR_WANT_WRITE) {
		char e[256];
		tls_last_error(e, sizeof(e));
		conn_close(c, "TLS read: %s", e);
		return;
	}
	conn_flush_tls(c);
}

static void
conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	/* One loop, one reader at a time: a static buffer is enough. */
	static char rbuf[CONN_READ_BUF];

	buf->base = rbuf;
	buf->len = sizeof(rbuf);
}

static void
conn_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (n == 0)
		return;
	if (n < 0) {
		conn_close(c, "%s", n == UV_EOF ? "peer closed" : uv_strerror((int)n));
		return;
	}
	c->last_io = uv_now(c->tcp.loop);
	if (c->tls)
		conn_tls_read(c, buf->base, (size_t)n);
	else
		conn_frame(c, buf->base, (size_t)n);
}

void
conn_start(struct conn *c)
{
	int r, len;

	uv_tcp_nodelay(&c->tcp, 1);
	len = sizeof(c->local);
	uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&c->local, &len);
	r = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_on_read);
	if (r < 0) {
		conn_close(c, "read: %s", uv_strerror(r));
		return;
	}
	if (!c->tls) {
		conn_became_up(c);
		return;
	}
	c->state = CONN_HANDSHAKE;
	uv_timer_start(&c->timer, conn_on_timer,
	    (uint64_t)c->set->cfg->limits.handshake_timeout * 1000, 0);
	if (c->outbound)
		conn_tls_handshake(c);
}

/* ---- outbound ---- */

static void
conn_on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->data;

	free(req);
	if (c->state == CONN_CLOSING)
		return;
	if (status < 0) {
		conn_close(c, "connect: %s", uv_strerror(status));
		return;
	}
	conn_start(c);
}

static void
conn_do_connect(struct conn *c, const struct sockaddr *sa)
{
	uv_connect_t *req;
	int r;

	memcpy(&c->peer, sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	c->peerlen = sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	((struct sockaddr_in *)&c->peer)->sin_port = htons(c->port);
	netaddr_ntop((struct sockaddr *)&c->peer, c->peer_str, sizeof(c->peer_str));
	c->state = CONN_CONNECTING;
	if ((req = malloc(sizeof(*req))) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	req->data = c;
	r = uv_tcp_connect(req, &c->tcp, (struct sockaddr *)&c->peer, conn_on_connect);
	if (r < 0) {
		free(req);
		conn_close(c, "connect: %s", uv_strerror(r));
	}
}

static void
conn_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct conn *c = req->data;

	/* The lookup held a reference: libuv calls back even when cancelled,
	 * and a running lookup cannot be cancelled at all. */
	c->resolving = 0;
	if (c->state == CONN_CLOSING) {
		uv_freeaddrinfo(res);
	} else if (status < 0 || res == NULL) {
		uv_freeaddrinfo(res);
		conn_close(c, "cannot resolve %s: %s", c->name, uv_strerror(status));
	} else {
		conn_do_connect(c, res->ai_addr);
		uv_freeaddrinfo(res);
	}
	conn_unref(c);
}

struct conn *
conn_connect(struct conn_set *set, int side, SSL_CTX *ctx, const char *name,
    uint16_t port, const struct sockaddr *at)
{
	const struct config *cfg = set->cfg;
	int tls = ctx != NULL;
	struct conn *c;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct addrinfo hints;
	char portstr[8];

	if ((c = conn_new(set, side, tls, 1)) == NULL)
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->port = port;
	snprintf(c->peer_str, sizeof(c->peer_str), "%.50s:%u", name, port);
	if (tls && (conn_new_ssl(c, ctx) < 0 ||
	    tls_client_setup(c->ssl, name) < 0)) {
		conn_close(c, "TLS setup failed");
		return NULL;
	}
	if (tls)
		SSL_set_connect_state(c->ssl);
	uv_timer_start(&c->timer, conn_on_timer,
	    (uint64_t)cfg->limits.handshake_timeout * 1000, 0);
	if (netaddr_to_sockaddr(name, port, &ss, &sslen) == 0) {
		conn_do_connect(c, (struct sockaddr *)&ss);
		return c;
	}
	if (at != NULL) {
		conn_do_connect(c, at);
		return c;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	c->gai.data = c;
	c->resolving = 1;
	c->handles++;
	if (uv_getaddrinfo(set->loop, &c->gai, conn_on_resolved, name, portstr,
	    &hints) < 0) {
		c->resolving = 0;
		c->handles--;
		conn_close(c, "cannot resolve %s", name);
	}
	return c;
}

/* ---- inbound ---- */

struct conn *
conn_accept(struct conn_set *set, uv_stream_t *server, int side, SSL_CTX *ctx)
{
	struct conn *c;
	int len, r;

	if ((c = conn_new(set, side, ctx != NULL, 0)) == NULL)
		return NULL;
	if ((r = uv_accept(server, (uv_stream_t *)&c->tcp)) < 0) {
		conn_close(c, "accept: %s", uv_strerror(r));
		return NULL;
	}
	len = sizeof(c->peer);
	uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &len);
	c->peerlen = (socklen_t)len;
	netaddr_ntop((struct sockaddr *)&c->peer, c->peer_str, sizeof(c->peer_str));
	if (ctx != NULL) {
		if (conn_new_ssl(c, ctx) < 0) {
			conn_close(c, "TLS setup failed");
			return NULL;
		}
		SSL_set_accept_state(c->ssl);
	}
	return c;
}

struct conn *
conn_find_id(const struct conn_set *set, uint64_t id)
{
	struct conn *c;

	LIST_FOREACH(c, &set->list, link)
		if (c->id == id)
			return c;
	return NULL;
}

int
conn_set_inbound(const struct conn_set *set, int side,
    const struct sockaddr *peer, int *from_peer)
{
	const struct conn *c;
	int n = 0;

	*from_peer = 0;
	LIST_FOREACH(c, &set->list, link) {
		if (c->outbound || c->side != side)
			continue;
		n++;
		if (netaddr_same_ip((const struct sockaddr *)&c->peer, peer))
			(*from_peer)++;
	}
	return n;
}

struct conn *
conn_find_addr(const struct conn_set *set, int side, const struct sockaddr *sa)
{
	struct conn *c;

	LIST_FOREACH(c, &set->list, link)
		if (c->side == side && netaddr_equal((struct sockaddr *)&c->peer, sa))
			return c;
	return NULL;
}
