/*
 * admin.c - a deliberately small HTTP/1.0 responder on the signaling
 * loop: one GET per connection, answered and closed.  Requests over 4 KiB
 * or slower than 5 s are dropped.  Loopback by default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "dialog.h"
#include "log.h"
#include "metrics.h"
#include "txn.h"

#define ADMIN_MAX_REQ	4096
#define ADMIN_TIMEOUT	5000

struct admin_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct proxy *px;
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

static int
admin_cloud_up(const struct proxy *px)
{
	int n = 0;

	/* A proxy that left the SRV set takes no calls, up or not. */
	for (int i = 0; i < px->cloud.nhosts; i++)
		n += px->cloud.hosts[i].active && px->cloud.hosts[i].up;
	return n;
}

static void
admin_healthz(struct admin_conn *ac)
{
	struct proxy *px = ac->px;
	struct mbuf b = { 0 };
	int up = admin_cloud_up(px);
	const char *why = NULL;

	if (px->stopping)
		why = "stopping";
	else if (px->draining)
		why = "draining";
	else if (up == 0)
		why = "no cloud proxy is up";
	if (why != NULL)
		mbuf_printf(&b, "{\"status\":\"unavailable\",\"reason\":\"%s\",\"cloud_proxies_up\":%d}\n",
		    why, up);
	else
		mbuf_printf(&b, "{\"status\":\"ok\",\"cloud_proxies_up\":%d,\"calls_active\":%zu}\n",
		    up, dialog_count(px));
	admin_reply(ac, why ? 503 : 200, "application/json", &b);
}

static void
admin_metrics(struct admin_conn *ac)
{
	struct proxy *px = ac->px;
	struct mbuf b = { 0 };

	metrics_print(&px->metrics, px->conns.tls, &b);
	mbuf_printf(&b, "# HELP tlstrunk_calls_active Calls set up or in progress.\n"
	    "# TYPE tlstrunk_calls_active gauge\ntlstrunk_calls_active %zu\n",
	    dialog_count(px));
	mbuf_printf(&b, "# HELP tlstrunk_invites_unanswered New calls' INVITEs the next hop has not answered yet.\n"
	    "# TYPE tlstrunk_invites_unanswered gauge\ntlstrunk_invites_unanswered %d\n",
	    txn_unanswered(px));
	mbuf_printf(&b, "# HELP tlstrunk_cloud_proxy_up 1 when the cloud proxy answers.\n"
	    "# TYPE tlstrunk_cloud_proxy_up gauge\n");
	for (int i = 0; i < px->cloud.nhosts; i++)
		mbuf_printf(&b, "tlstrunk_cloud_proxy_up{proxy=\"%s\"} %d\n",
		    px->cloud.hosts[i].name, px->cloud.hosts[i].active && px->cloud.hosts[i].up);
	mbuf_printf(&b, "# HELP tlstrunk_cloud_proxy_rtt_seconds Last OPTIONS round trip.\n"
	    "# TYPE tlstrunk_cloud_proxy_rtt_seconds gauge\n");
	for (int i = 0; i < px->cloud.nhosts; i++)
		mbuf_printf(&b, "tlstrunk_cloud_proxy_rtt_seconds{proxy=\"%s\"} %.3f\n",
		    px->cloud.hosts[i].name, (double)px->cloud.hosts[i].rtt_ms / 1000.0);
	mbuf_printf(&b, "# HELP tlstrunk_certificate_expiry_seconds Seconds until our certificate's notAfter.\n"
	    "# TYPE tlstrunk_certificate_expiry_seconds gauge\n"
	    "tlstrunk_certificate_expiry_seconds{cert=\"tls_server\"} %lld\n",
	    (long long)(px->cert_not_after - time(NULL)));
	for (int i = 0; i < px->cloud.nhosts; i++)
		if (px->cloud.hosts[i].cert_not_after != 0)
			mbuf_printf(&b, "tlstrunk_certificate_expiry_seconds{cert=\"cloud:%s\"} %lld\n",
			    px->cloud.hosts[i].name,
			    (long long)(px->cloud.hosts[i].cert_not_after - time(NULL)));
	mbuf_printf(&b, "# HELP tlstrunk_draining 1 while SIGTERM drains calls.\n"
	    "# TYPE tlstrunk_draining gauge\ntlstrunk_draining %d\n", px->draining);
	if (px->hooks.on_metrics != NULL)
		px->hooks.on_metrics(px->hooks.ctx, &b);
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
	struct proxy *px = server->data;
	struct admin_conn *ac;

	if (status < 0 || (ac = calloc(1, sizeof(*ac))) == NULL)
		return;
	ac->px = px;
	uv_tcp_init(px->loop, &ac->tcp);
	uv_timer_init(px->loop, &ac->timer);
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
admin_listen(struct proxy *px)
{
	const struct config *cfg = px->cfg;
	int r;

	if (cfg->general.admin_listen.port == 0)
		return 0;
	if ((r = uv_tcp_init(px->loop, &px->admin)) < 0)
		return r;
	px->admin.data = px;
	px->have_admin = 1;
	if ((r = uv_tcp_bind(&px->admin, (const struct sockaddr *)
	    &cfg->general.admin_listen.ss, 0)) < 0 ||
	    (r = uv_listen((uv_stream_t *)&px->admin, 64, admin_on_connect)) < 0) {
		log_error(NULL, "admin_listen %s:%u: %s", cfg->general.admin_listen.host,
		    cfg->general.admin_listen.port, uv_strerror(r));
		return r;
	}
	log_info(NULL, "admin HTTP on %s:%u (/metrics, /healthz)",
	    cfg->general.admin_listen.host, cfg->general.admin_listen.port);
	return 0;
}

void
admin_close(struct proxy *px)
{
	if (px->have_admin && !uv_is_closing((uv_handle_t *)&px->admin))
		uv_close((uv_handle_t *)&px->admin, NULL);
}
