/*
 * admin.c - a deliberately small HTTP/1.0 responder on the signaling
 * loop: one GET per connection, answered and closed.  Requests over 4 KiB
 * or slower than 5 s are dropped.  Loopback by default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "log.h"

#define ADMIN_MAX_REQ	4096
#define ADMIN_TIMEOUT	5000

struct admin_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct admin *a;
	int handles;
	size_t len;
	char req[ADMIN_MAX_REQ];
};

struct admin_write {
	uv_write_t w;
	struct admin_conn *ac;
	char *body;
};

static void
admin_closed(uv_handle_t *h)
{
	struct admin_conn *ac = h->data;

	if (--ac->handles == 0)
		free(ac);
}

static void
admin_conn_close(struct admin_conn *ac)
{
	if (!uv_is_closing((uv_handle_t *)&ac->tcp))
		uv_close((uv_handle_t *)&ac->tcp, admin_closed);
	if (!uv_is_closing((uv_handle_t *)&ac->timer))
		uv_close((uv_handle_t *)&ac->timer, admin_closed);
}

static void
admin_on_written(uv_write_t *w, int status)
{
	struct admin_write *aw = (struct admin_write *)w;

	admin_conn_close(aw->ac);
	free(aw->body);
	free(aw);
}

static void
admin_reply(struct admin_conn *ac, int code, const char *ctype, struct mbuf *body)
{
	struct mbuf out = { 0 };
	struct admin_write *aw;
	uv_buf_t b;

	mbuf_printf(&out, "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%.*s", code,
	    code == 200 ? "OK" : code == 404 ? "Not Found" : code == 503 ?
	    "Service Unavailable" : "Bad Request", ctype, body->len,
	    (int)body->len, body->p ? body->p : "");
	free(body->p);
	if (out.oom || (aw = calloc(1, sizeof(*aw))) == NULL) {
		free(out.p);
		admin_conn_close(ac);
		return;
	}
	aw->ac = ac;
	aw->body = out.p;
	b = uv_buf_init(out.p, (unsigned)out.len);
	if (uv_write(&aw->w, (uv_stream_t *)&ac->tcp, &b, 1, admin_on_written) < 0) {
		free(out.p);
		free(aw);
		admin_conn_close(ac);
	}
}

static void
admin_healthz(struct admin_conn *ac)
{
	struct admin *a = ac->a;
	struct mbuf b = { 0 };
	int r = a->healthz(a->ctx, &b);

	admin_reply(ac, r == 0 ? 200 : 503, "application/json", &b);
}

static void
admin_metrics(struct admin_conn *ac)
{
	struct admin *a = ac->a;
	struct mbuf b = { 0 };

	a->metrics(a->ctx, &b);
	admin_reply(ac, 200, "text/plain; version=0.0.4", &b);
}

static void
admin_dispatch(struct admin_conn *ac)
{
	struct mbuf b = { 0 };
	char path[64];

	if (sscanf(ac->req, "GET %63s HTTP/1.%*c", path) != 1) {
		mbuf_printf(&b, "bad request\n");
		admin_reply(ac, 400, "text/plain", &b);
	} else if (strcmp(path, "/metrics") == 0) {
		admin_metrics(ac);
	} else if (strcmp(path, "/healthz") == 0) {
		admin_healthz(ac);
	} else {
		mbuf_printf(&b, "not found\n");
		admin_reply(ac, 404, "text/plain", &b);
	}
}

static void
admin_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct admin_conn *ac = h->data;

	buf->base = ac->req + ac->len;
	buf->len = sizeof(ac->req) - 1 - ac->len;
}

static void
admin_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct admin_conn *ac = s->data;

	if (n < 0 || (n == 0 && ac->len >= sizeof(ac->req) - 1)) {
		admin_conn_close(ac);
		return;
	}
	ac->len += (size_t)n;
	ac->req[ac->len] = '\0';
	if (strstr(ac->req, "\r\n\r\n") == NULL && strstr(ac->req, "\n\n") == NULL) {
		if (ac->len >= sizeof(ac->req) - 1)
			admin_conn_close(ac);	/* oversized: no answer */
		return;
	}
	uv_read_stop(s);
	admin_dispatch(ac);
}

static void
admin_on_timeout(uv_timer_t *t)
{
	admin_conn_close(t->data);
}

static void
admin_on_connect(uv_stream_t *server, int status)
{
	struct admin *a = server->data;
	struct admin_conn *ac;

	if (status < 0 || (ac = calloc(1, sizeof(*ac))) == NULL)
		return;
	ac->a = a;
	uv_tcp_init(a->loop, &ac->tcp);
	uv_timer_init(a->loop, &ac->timer);
	ac->tcp.data = ac->timer.data = ac;
	ac->handles = 2;
	if (uv_accept(server, (uv_stream_t *)&ac->tcp) < 0 ||
	    uv_read_start((uv_stream_t *)&ac->tcp, admin_alloc, admin_on_read) < 0) {
		admin_conn_close(ac);
		return;
	}
	uv_timer_start(&ac->timer, admin_on_timeout, ADMIN_TIMEOUT, 0);
}

int
admin_listen(struct admin *a, uv_loop_t *loop, const struct cfg_addr *at)
{
	int r;

	if (at->port == 0)
		return 0;
	a->loop = loop;
	if ((r = uv_tcp_init(loop, &a->listen)) < 0)
		return r;
	a->listen.data = a;
	a->open = 1;
	if ((r = uv_tcp_bind(&a->listen, (const struct sockaddr *)&at->ss, 0)) < 0 ||
	    (r = uv_listen((uv_stream_t *)&a->listen, 64, admin_on_connect)) < 0) {
		log_error(NULL, "admin_listen %s:%u: %s", at->host, at->port,
		    uv_strerror(r));
		return r;
	}
	log_info(NULL, "admin HTTP on %s:%u (/metrics, /healthz)", at->host,
	    at->port);
	return 0;
}

void
admin_close(struct admin *a)
{
	if (a->open && !uv_is_closing((uv_handle_t *)&a->listen))
		uv_close((uv_handle_t *)&a->listen, NULL);
}
