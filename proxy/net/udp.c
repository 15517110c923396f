/* udp.c - datagrams in, one SIP message each; datagrams out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/sip_header.h>

#include "log.h"
#include "netaddr.h"
#include "sipmsg.h"
#include "udp.h"

static void
udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char rbuf[65536];

	buf->base = rbuf;
	buf->len = sizeof(rbuf);
}

/*
 * A datagram the parser gave up on, but whose request line and the
 * fields a response copies did parse: flagged, it goes on to the core,
 * which answers 400 (a request the sender would otherwise retransmit
 * into silence).
 */
static int
udp_answerable(msg_t *msg)
{
	sip_t const *sip = sip_object(msg);

	if (sip == NULL || sip->sip_request == NULL || !sipmsg_answerable(sip))
		return 0;
	msg_set_flags(msg, MSG_FLG_ERROR);
	return 1;
}

static void
udp_on_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf,
    const struct sockaddr *from, unsigned flags)
{
	struct udp_sock *us = u->data;
	struct sip_src src;
	msg_t *msg;
	void *b;

	if (n <= 0 || from == NULL)
		return;
	if (flags & UV_UDP_PARTIAL) {
		log_warn(NULL, "udp: truncated datagram dropped");
		return;
	}
	/* Keepalive pings (CRLF) carry no message. */
	if (n <= 4 && strspn(buf->base, "\r\n") >= (size_t)n)
		return;
	if (us->on_tap != NULL)
		us->on_tap(us->tap_ctx, from, (const struct sockaddr *)&us->local,
		    IPPROTO_UDP, buf->base, (size_t)n);
	memset(&src, 0, sizeof(src));
	src.side = us->side;
	src.tp = TP_UDP;
	src.addrlen = from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	memcpy(&src.addr, from, src.addrlen);

	if ((msg = msg_create(sip_default_mclass(), 0)) == NULL)
		return;
	if ((b = msg_buf_alloc(msg, (size_t)n)) == NULL) {
		msg_destroy(msg);
		return;
	}
	memcpy(b, buf->base, (size_t)n);
	msg_buf_commit(msg, (size_t)n, 1);
	if (msg_extract(msg) <= 0 && !udp_answerable(msg)) {
		char a[64];
		log_warn(NULL, "udp: unparsable message from %s dropped",
		    netaddr_ntop(from, a, sizeof(a)));
		msg_destroy(msg);
		return;
	}
	/* Over the limit: parsed all the same (a datagram is bounded), so
	 * that the core can answer 513 rather than leave the sender
	 * retransmitting into silence. */
	if ((size_t)n > us->maxsize)
		msg_set_flags(msg, MSG_FLG_TOOLARGE);
	us->on_recv(us->ctx, msg, &src);
}

int
udp_sock_listen(struct udp_sock *u, uv_loop_t *loop, const struct sockaddr *sa,
    int freebind)
{
	uv_os_fd_t fd;
	int r, size;

	if ((r = uv_udp_init_ex(loop, &u->h, sa->sa_family)) < 0)
		return r;
	u->h.data = u;
	u->open = 1;
	if (freebind && ((r = uv_fileno((uv_handle_t *)&u->h, &fd)) < 0 ||
	    (r = netaddr_freebind(fd, sa->sa_family)) < 0))
		return r;
	memcpy(&u->local, sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	if ((r = uv_udp_bind(&u->h, sa, UV_UDP_REUSEADDR)) < 0)
		return r;
	/* Bursts of calls arrive faster than one loop turn drains them:
	 * ask for buffers that hold a few thousand datagrams (the kernel caps
	 * this at net.core.rmem_max / wmem_max). */
	size = 4 << 20;
	uv_recv_buffer_size((uv_handle_t *)&u->h, &size);
	size = 4 << 20;
	uv_send_buffer_size((uv_handle_t *)&u->h, &size);
	return uv_udp_recv_start(&u->h, udp_alloc, udp_on_recv);
}

struct udp_send_req {
	uv_udp_send_t req;
	char data[];
};

static void
udp_on_sent(uv_udp_send_t *req, int status)
{
	free(req);
}

int
udp_sock_send(struct udp_sock *u, const struct sockaddr *to, const char *buf,
    size_t len)
{
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	struct udp_send_req *s;
	int r;

	if (!u->open)
		return -ENOTCONN;
	if (u->on_tap != NULL)
		u->on_tap(u->tap_ctx, (const struct sockaddr *)&u->local, to,
		    IPPROTO_UDP, buf, len);
	r = uv_udp_try_send(&u->h, &b, 1, to);
	if (r >= 0)
		return 0;
	if (r != UV_EAGAIN)
		return r;
	if ((s = malloc(sizeof(*s) + len)) == NULL)
		return -ENOMEM;
	memcpy(s->data, buf, len);
	b = uv_buf_init(s->data, (unsigned)len);
	if ((r = uv_udp_send(&s->req, &u->h, &b, 1, to, udp_on_sent)) < 0)
		free(s);
	return r;
}
