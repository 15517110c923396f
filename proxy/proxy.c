/* proxy.c - start-up, listeners, dispatch and shutdown of the core. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include <sofia-sip/sip_header.h>

#include "conn.h"
#include "dest.h"
#include "dialog.h"
#include "health.h"
#include "log.h"
#include "netaddr.h"
#include "proxy.h"
#include "route.h"
#include "tls.h"
#include "txn.h"
#include "udp.h"

uint64_t
proxy_now(const struct proxy *px)
{
	return uv_now(px->loop);
}

void
proxy_recv(struct proxy *px, msg_t *msg, const struct sip_src *src)
{
	sip_t *sip = sip_object(msg);

	if (px->stopping || sip == NULL) {
		msg_destroy(msg);
		return;
	}
	if (sip->sip_request != NULL)
		route_request(px, msg, sip, src);
	else if (sip->sip_status != NULL)
		route_response(px, msg, sip, src);
	else
		msg_destroy(msg);
}

int
proxy_call_end(struct proxy *px, const char *callid, const char *why)
{
	return dialog_terminate(px, callid, why);
}

void
proxy_conn_closed(struct proxy *px, struct conn *c)
{
	struct txn *t, *next;

	dest_cloud_conn_lost(px, c);
	if (px->stopping)
		return;
	for (t = px->txns; t != NULL; t = next) {
		next = t->next;
		if (t->dst_conn == c->id)
			txn_conn_lost(t);
	}
}

/* ---- listeners ---- */

static void
proxy_on_accept(uv_stream_t *server, int status, int side, int tls)
{
	struct proxy *px = server->data;
	const struct config *cfg = px->cfg;
	struct conn *c;
	int per_source = 0;

	if (status < 0) {
		log_warn(NULL, "accept: %s", uv_strerror(status));
		return;
	}
	if ((c = conn_accept(px, server, side, tls)) == NULL)
		return;
	if (side == SIDE_PBX &&
	    !config_pbx_allowed(cfg, (struct sockaddr *)&c->peer)) {
		conn_close(c, "source not in [pbx] allow");
		return;
	}
	if (px->nconns > cfg->limits.max_connections) {
		conn_close(c, "too many connections (%d)", cfg->limits.max_connections);
		return;
	}
	for (struct conn *o = px->conns; o != NULL; o = o->next)
		if (!o->outbound && netaddr_same_ip((struct sockaddr *)&o->peer,
		    (struct sockaddr *)&c->peer))
			per_source++;
	if (per_source > cfg->limits.max_connections_per_source) {
		conn_close(c, "too many connections from this source (%d)",
		    cfg->limits.max_connections_per_source);
		return;
	}
	conn_start(c);
}

static void
proxy_on_pbx_tcp(uv_stream_t *server, int status)
{
	proxy_on_accept(server, status, SIDE_PBX, 0);
}

static void
proxy_on_tls(uv_stream_t *server, int status)
{
	proxy_on_accept(server, status, SIDE_CLOUD, 1);
}

static int
proxy_tcp_listen(struct proxy *px, uv_tcp_t *h, const struct cfg_addr *a,
    uv_connection_cb cb)
{
	int r;

	if ((r = uv_tcp_init(px->loop, h)) < 0)
		return r;
	h->data = px;
	if ((r = uv_tcp_bind(h, (const struct sockaddr *)&a->ss, 0)) < 0 ||
	    (r = uv_listen((uv_stream_t *)h, 511, cb)) < 0)
		return r;
	return 0;
}

static int
proxy_listen(struct proxy *px)
{
	const struct config *cfg = px->cfg;
	char a[64];
	int r;

	netaddr_ntop((const struct sockaddr *)&cfg->pbx.listen.ss, a, sizeof(a));
	if ((cfg->pbx.transports & CFG_TP_UDP) &&
	    (r = udp_listen(px, (const struct sockaddr *)&cfg->pbx.listen.ss)) < 0) {
		log_error(NULL, "pbx udp %s: %s", a, uv_strerror(r));
		return r;
	}
	if (cfg->pbx.transports & CFG_TP_TCP) {
		px->have_tcp = 1;
		if ((r = proxy_tcp_listen(px, &px->pbx_tcp, &cfg->pbx.listen,
		    proxy_on_pbx_tcp)) < 0) {
			log_error(NULL, "pbx tcp %s: %s", a, uv_strerror(r));
			return r;
		}
	}
	px->have_tls = 1;
	if ((r = proxy_tcp_listen(px, &px->tls_listen, &cfg->tls_server.listen,
	    proxy_on_tls)) < 0) {
		netaddr_ntop((const struct sockaddr *)&cfg->tls_server.listen.ss, a,
		    sizeof(a));
		log_error(NULL, "tls %s: %s", a, uv_strerror(r));
		return r;
	}
	return 0;
}

/* ---- signals ---- */

static void
proxy_on_signal(uv_signal_t *s, int signum)
{
	struct proxy *px = s->data;

	if (signum == SIGHUP) {
		log_info(NULL, "SIGHUP: reload is not supported yet, ignored");
		return;
	}
	log_info(NULL, "%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
	proxy_shutdown(px);
}

static void
proxy_signals(struct proxy *px)
{
	uv_signal_t *sigs[] = { &px->sig_int, &px->sig_term, &px->sig_hup };
	int nums[] = { SIGINT, SIGTERM, SIGHUP };

	for (int i = 0; i < 3; i++) {
		uv_signal_init(px->loop, sigs[i]);
		sigs[i]->data = px;
		uv_signal_start(sigs[i], proxy_on_signal, nums[i]);
	}
}

/* ---- life cycle ---- */

int
proxy_init(struct proxy *px, uv_loop_t *loop, const struct config *cfg)
{
	unsigned char salt[4];
	char err[512];
	int r;

	memset(px, 0, sizeof(*px));
	px->loop = loop;
	px->cfg = cfg;
	RAND_bytes(salt, sizeof(salt));
	snprintf(px->branch_salt, sizeof(px->branch_salt), "%02x%02x%02x%02x",
	    salt[0], salt[1], salt[2], salt[3]);
	snprintf(px->pbx_host, sizeof(px->pbx_host), "%s", cfg->pbx.advertised_address);
	px->pbx_port = cfg->pbx.listen.port;
	snprintf(px->tls_name, sizeof(px->tls_name), "%s", cfg->tls_server.advertised_name);
	px->tls_port = cfg->tls_server.listen.port;
	if (strmap_init(&px->txn_by_skey, 1024) < 0 ||
	    strmap_init(&px->txn_by_branch, 1024) < 0 ||
	    dialog_table_init(px) < 0)
		return -ENOMEM;
	if ((px->tls_client = tls_client_ctx_new(cfg, err, sizeof(err))) == NULL ||
	    (px->tls_server = tls_server_ctx_new(cfg, err, sizeof(err))) == NULL) {
		log_error(NULL, "TLS: %s", err);
		return -EINVAL;
	}
	for (int i = 0; i < cfg->cloud.nhosts; i++) {
		struct cloud_host *ch = &px->hosts[i];
		ch->px = px;
		snprintf(ch->name, sizeof(ch->name), "%s", cfg->cloud.hosts[i]);
		ch->port = cfg->cloud.port;
		ch->index = i;
		uv_timer_init(loop, &ch->reconnect);
		ch->reconnect.data = ch;
		px->nhosts++;
	}
	proxy_signals(px);
	if ((r = proxy_listen(px)) < 0)
		return r;
	health_start(px);
	return 0;
}

static void
proxy_close_handle(uv_handle_t *h)
{
	if (h->loop != NULL && !uv_is_closing(h))
		uv_close(h, NULL);
}

void
proxy_shutdown(struct proxy *px)
{
	if (px->stopping)
		return;
	px->stopping = 1;
	if (px->hooks.on_shutdown != NULL)
		px->hooks.on_shutdown(px->hooks.ctx);
	if (px->have_udp)
		proxy_close_handle((uv_handle_t *)&px->pbx_udp);
	if (px->have_tcp)
		proxy_close_handle((uv_handle_t *)&px->pbx_tcp);
	if (px->have_tls)
		proxy_close_handle((uv_handle_t *)&px->tls_listen);
	while (px->conns != NULL)
		conn_close(px->conns, "shutting down");
	while (px->txns != NULL)
		txn_free(px->txns);
	for (int i = 0; i < px->nhosts; i++)
		proxy_close_handle((uv_handle_t *)&px->hosts[i].reconnect);
	health_stop(px);
	proxy_close_handle((uv_handle_t *)&px->sig_int);
	proxy_close_handle((uv_handle_t *)&px->sig_term);
	proxy_close_handle((uv_handle_t *)&px->sig_hup);
}

void
proxy_free(struct proxy *px)
{
	strmap_free(&px->txn_by_skey);
	strmap_free(&px->txn_by_branch);
	dialog_table_free(px);
	SSL_CTX_free(px->tls_client);
	SSL_CTX_free(px->tls_server);
}
