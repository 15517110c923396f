/* proxy.c - start-up, listeners, dispatch and shutdown of the core. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sofia-sip/sip_header.h>

#include "admin.h"
#include "certfile.h"
#include "conn.h"
#include "dest.h"
#include "dialog.h"
#include "health.h"
#include "hep.h"
#include "admission.h"
#include "log.h"
#include "netaddr.h"
#include "proxy.h"
#include "route.h"
#include "tls.h"
#include "txn.h"
#include "udp.h"

void
proxy_recv(struct proxy *px, msg_t *msg, const struct sip_src *src)
{
	sip_t *sip = sip_object(msg);

	char line[48];

	if (px->stopping || sip == NULL) {
		msg_destroy(msg);
		return;
	}
	if (sip->sip_request != NULL)
		snprintf(line, sizeof(line), "%s ", sip->sip_request->rq_method_name);
	else if (sip->sip_status != NULL)
		snprintf(line, sizeof(line), "SIP/2.0 %03d", sip->sip_status->st_status);
	else
		line[0] = '\0';
	metrics_sip(&px->metrics, src->side, 0, line, strlen(line));
	if (sip->sip_request != NULL)
		route_request(px, msg, sip, src);
	else if (sip->sip_status != NULL)
		route_response(px, msg, sip, src);
	else
		msg_destroy(msg);
}

static void
proxy_call_end(void *ctx, const char *callid, const char *why)
{
	dialog_terminate(ctx, callid, why);
}

static void
proxy_call_media(void *ctx, const char *callid, const uint64_t m[5])
{
	dialog_media(ctx, callid, m);
}

void
proxy_call_events(struct proxy *px, struct call_events *ev)
{
	ev->ctx = px;
	ev->call_end = proxy_call_end;
	ev->call_media = proxy_call_media;
}

static void
proxy_on_message(void *ctx, msg_t *msg, const struct sip_src *src)
{
	proxy_recv(ctx, msg, src);
}

/* A connection closed (told from the loop, after the fact). */
static void
proxy_on_conn_closed(void *ctx, struct conn *c)
{
	struct proxy *px = ctx;

	cloud_conn_lost(&px->cloud, c);
	if (!px->stopping)
		txn_conn_closed(px, c->id);
}

/* Days to a certificate's notAfter: a warning, then an error, as
 * config.h's CFG_CERT_*_DAYS say.  what: "certificate FILE", "cloud X's
 * certificate". */
static void
proxy_expiry_log(const char *what, time_t not_after)
{
	long days = (long)((not_after - time(NULL)) / 86400);

	if (days < CFG_CERT_ERROR_DAYS)
		log_error(NULL, "%s expires in %ld day(s)", what, days);
	else if (days < CFG_CERT_WARN_DAYS)
		log_warn(NULL, "%s expires in %ld days", what, days);
}

/* The cloud proxy's certificate (rotation is the cloud's job, but we see
 * it first). */
static void
proxy_on_conn_up(void *ctx, struct conn *c)
{
	struct cloud_host *ch = c->user;
	char what[CFG_HOST_MAX + 32];

	if (!c->tls || !c->outbound || ch == NULL ||
	    (ch->cert_not_after = conn_peer_not_after(c)) == 0)
		return;
	snprintf(what, sizeof(what), "cloud %s: its certificate", c->name);
	proxy_expiry_log(what, ch->cert_not_after);
}

static int
proxy_log_due(void *ctx, const struct sockaddr *peer, unsigned *n)
{
	return admission_log_due(ctx, peer, n);
}

/* What the transports hand up, and to whom. */
static void
proxy_transports_init(struct proxy *px)
{
	const struct config *cfg = px->cfg;
	struct conn_events ev = {
		.ctx = px,
		.on_message = proxy_on_message,
		.on_up = proxy_on_conn_up,
		.on_closed = proxy_on_conn_closed,
		.log_due = proxy_log_due,
		.on_tap = cfg->trace.hep_collector.port != 0 ? hep_capture : NULL,
		.tap_ctx = &px->hep,
	};

	conn_set_init(&px->conns, px->loop, cfg, &ev);
	px->pbx_udp.side = SIDE_PBX;
	px->pbx_udp.maxsize = cfg->limits.max_message_size;
	px->pbx_udp.ctx = px;
	px->pbx_udp.on_recv = proxy_on_message;
	px->pbx_udp.on_tap = ev.on_tap;
	px->pbx_udp.tap_ctx = &px->hep;
}

/* ---- listeners ---- */

/*
 * Close a connection refused at accept.  Floods and scans come from few
 * sources in bursts: one warning per source per minute, the rest counted.
 */
static void
proxy_conn_refuse(struct proxy *px, struct conn *c, int limit, const char *why)
{
	unsigned n = 0;

	px->metrics.conns_refused[limit ? 1 : 0]++;
	if (admission_log_due(px, (struct sockaddr *)&c->peer, &n))
		log_warn(NULL, "%s connection from %s refused: %s (%u more from "
		    "it in the last minute not logged)", conn_kind(c),
		    c->peer_str, why, n);
	c->quiet = 1;
	conn_close(c, "refused: %s", why);
}

static void
proxy_on_accept(uv_stream_t *server, int status, int side, int tls)
{
	struct proxy *px = server->data;
	const struct config *cfg = px->cfg;
	struct conn *c, *o;
	int per_source = 0, per_listener = 0;

	if (status < 0) {
		log_warn(NULL, "accept: %s", uv_strerror(status));
		return;
	}
	if ((c = conn_accept(&px->conns, server, side,
	    tls ? px->tls_server : NULL)) == NULL)
		return;
	if (side == SIDE_PBX &&
	    !config_pbx_allowed(cfg, (struct sockaddr *)&c->peer)) {
		proxy_conn_refuse(px, c, 0, "source not in [pbx] allow");
		return;
	}
	if (side == SIDE_CLOUD &&
	    !config_cloud_allowed(cfg, (struct sockaddr *)&c->peer)) {
		proxy_conn_refuse(px, c, 0, "source not in [tls_server] allow");
		return;
	}
	/* Each listener has its own budget: a flood on the public TLS port
	 * must not lock the PBX out of its TCP port, nor the reverse. */
	LIST_FOREACH(o, &px->conns.list, link) {
		if (o->outbound || o->side != side)
			continue;
		per_listener++;
		if (netaddr_same_ip((struct sockaddr *)&o->peer,
		    (struct sockaddr *)&c->peer))
			per_source++;
	}
	if (per_listener > cfg->limits.max_connections) {
		proxy_conn_refuse(px, c, 1, "too many connections");
		return;
	}
	if (per_source > cfg->limits.max_connections_per_source) {
		proxy_conn_refuse(px, c, 1, "too many connections from this source");
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
	    (r = udp_sock_listen(&px->pbx_udp, px->loop,
	    (const struct sockaddr *)&cfg->pbx.listen.ss)) < 0) {
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

/* ---- drain, reload ---- */

static void
proxy_on_drain(uv_timer_t *t)
{
	struct proxy *px = t->data;
	uint64_t waited = uv_now(px->loop) - px->drain_started;

	/* A BYE ends its dialog when it passes; wait for its 200 too. */
	if (dialog_count(px) == 0 && txn_pending(px) == 0) {
		log_info(NULL, "drain: no call left, exiting");
		proxy_shutdown(px);
	} else if (waited >= 1000 * (uint64_t)px->cfg->cloud.drain_timeout) {
		log_warn(NULL, "drain: %zu call(s) still up after %d s, exiting",
		    dialog_count(px), px->cfg->cloud.drain_timeout);
		proxy_shutdown(px);
	}
}

/* SIGTERM: refuse new calls (503), let the others end, then exit 0. */
void
proxy_drain(struct proxy *px)
{
	px->draining = 1;
	px->drain_started = uv_now(px->loop);
	log_info(NULL, "SIGTERM: draining %zu call(s), at most %d s; new calls get 503",
	    dialog_count(px), px->cfg->cloud.drain_timeout);
	uv_timer_start(&px->drain, proxy_on_drain, 0, 250);
}

/* Our certificate's days left. */
static void
proxy_cert_check(struct proxy *px)
{
	char what[sizeof(px->cfg->tls_server.cert_file) + 16];

	px->cert_not_after = certfile_not_after(px->cfg->tls_server.cert_file);
	snprintf(what, sizeof(what), "certificate %s",
	    px->cfg->tls_server.cert_file);
	proxy_expiry_log(what, px->cert_not_after);
}

static void
proxy_on_daily(uv_timer_t *t)
{
	proxy_cert_check(t->data);
}

/*
 * New TLS contexts from the files on disk, swapped in for new handshakes;
 * connections up keep the context they started with (OpenSSL counts the
 * references).  A broken file leaves the old contexts in force.
 */
void
proxy_reload(struct proxy *px, const char *why)
{
	struct config *fresh = calloc(1, sizeof(*fresh));
	SSL_CTX *client = NULL, *server = NULL;
	char err[1024];

	if (fresh == NULL)
		return;
	if (config_load(fresh, px->cfg->path, err, sizeof(err)) < 0 ||
	    config_check_files(fresh, err, sizeof(err)) < 0 ||
	    (client = tls_client_ctx_new(fresh, err, sizeof(err))) == NULL ||
	    (server = tls_server_ctx_new(fresh, err, sizeof(err))) == NULL) {
		log_error(NULL, "%s: reload refused, the running certificates stay: %s",
		    why, err);
		SSL_CTX_free(client);
		free(fresh);
		return;
	}
	SSL_CTX_free(px->tls_client);
	SSL_CTX_free(px->tls_server);
	px->tls_client = client;
	px->tls_server = server;
	proxy_cert_check(px);
	log_info(NULL, "%s: TLS certificates, keys and CAs reloaded; other "
	    "settings need a restart", why);
	free(fresh);
}

/* Certificate files renewed in place (ACME): reload a second later, once
 * the writer is done with both files. */
static void
proxy_on_cert_settled(uv_timer_t *t)
{
	proxy_reload(t->data, "certificate files changed");
}

static void
proxy_on_cert_dir(uv_fs_event_t *h, const char *name, int events, int status)
{
	struct proxy *px = h->data;
	const struct config *cfg = px->cfg;
	const char *files[2] = { cfg->tls_server.cert_file, cfg->tls_server.key_file };

	if (status < 0 || name == NULL)
		return;
	/* Kubernetes swaps a hidden "..data" symlink when a Secret changes:
	 * no event names the certificate files themselves. */
	if (strncmp(name, "..data", 6) == 0) {
		uv_timer_start(&px->cert_settle, proxy_on_cert_settled, 1000, 0);
		return;
	}
	for (int i = 0; i < 2; i++) {
		const char *base = strrchr(files[i], '/');
		if (strcmp(base ? base + 1 : files[i], name) == 0) {
			uv_timer_start(&px->cert_settle, proxy_on_cert_settled, 1000, 0);
			return;
		}
	}
}

static void
proxy_watch_certs(struct proxy *px)
{
	char dir[PATH_MAX];
	const char *f = px->cfg->tls_server.cert_file, *slash = strrchr(f, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - f) : 1,
	    slash ? f : ".");
	if (dir[0] == '\0')
		snprintf(dir, sizeof(dir), "/");
	uv_timer_init(px->loop, &px->cert_settle);
	px->cert_settle.data = px;
	uv_fs_event_init(px->loop, &px->cert_watch);
	px->cert_watch.data = px;
	if (uv_fs_event_start(&px->cert_watch, proxy_on_cert_dir, dir, 0) < 0)
		log_warn(NULL, "cannot watch %s for certificate renewals", dir);
}

/* ---- signals ---- */

static void
proxy_on_signal(uv_signal_t *s, int signum)
{
	struct proxy *px = s->data;

	if (signum == SIGHUP) {
		proxy_reload(px, "SIGHUP");
		return;
	}
	if (signum == SIGTERM && !px->draining && !px->stopping) {
		proxy_drain(px);
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

/*
 * Every connection and every relay socket is a descriptor, and running
 * out fails calls without a word: take the hard limit, and say so at
 * start when what [limits] allows can need more.
 */
static void
proxy_nofile(const struct config *cfg)
{
	struct rlimit rl;
	unsigned long long need = 2ULL * (unsigned)cfg->limits.max_connections +
	    4ULL * (unsigned)cfg->limits.max_calls + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn(NULL, "open files limit %llu is below what [limits] may "
		    "need (%llu: 2 x max_connections + 4 x max_calls + 64): "
		    "raise it (LimitNOFILE=, ulimit -n) or lower the limits",
		    (unsigned long long)rl.rlim_cur, need);
}

int
proxy_init(struct proxy *px, uv_loop_t *loop, const struct config *cfg)
{
	unsigned char salt[4];
	char err[512];
	int r;

	memset(px, 0, sizeof(*px));
	px->loop = loop;
	px->cfg = cfg;
	proxy_transports_init(px);
	proxy_nofile(cfg);
	RAND_bytes(salt, sizeof(salt));
	snprintf(px->branch_salt, sizeof(px->branch_salt), "%02x%02x%02x%02x",
	    salt[0], salt[1], salt[2], salt[3]);
	snprintf(px->pbx_host, sizeof(px->pbx_host), "%s", cfg->pbx.advertised_address);
	px->pbx_port = cfg->pbx.listen.port;
	snprintf(px->tls_name, sizeof(px->tls_name), "%s", cfg->tls_server.advertised_name);
	px->tls_port = cfg->tls_server.listen.port;
	if (txn_table_init(px) < 0 ||
	    accepted_init(&px->accepted, loop, 64 * 500 /* 64 x T1 */) < 0 ||
	    dialog_table_init(px) < 0 || admission_init(px) < 0)
		return -ENOMEM;
	if ((px->tls_client = tls_client_ctx_new(cfg, err, sizeof(err))) == NULL ||
	    (px->tls_server = tls_server_ctx_new(cfg, err, sizeof(err))) == NULL) {
		log_error(NULL, "TLS: %s", err);
		return -EINVAL;
	}
	px->cloud.loop = loop;
	px->cloud.cfg = cfg;
	px->cloud.conns = &px->conns;
	px->cloud.metrics = &px->metrics;
	px->cloud.tls_client = &px->tls_client;
	px->cloud.salt = px->branch_salt;
	px->cloud.via_host = px->tls_name;
	px->cloud.via_port = px->tls_port;
	cloud_init(&px->cloud);
	proxy_signals(px);
	uv_timer_init(loop, &px->drain);
	px->drain.data = px;
	proxy_cert_check(px);
	uv_timer_init(loop, &px->cert_daily);
	px->cert_daily.data = px;
	uv_timer_start(&px->cert_daily, proxy_on_daily, 86400000, 86400000);
	proxy_watch_certs(px);
	if ((r = proxy_listen(px)) < 0 || (r = admin_listen(px)) < 0 ||
	    (r = hep_open(&px->hep, loop, cfg)) < 0)
		return r;
	cloud_start(&px->cloud);
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
	if (px->pbx_udp.open)
		proxy_close_handle((uv_handle_t *)&px->pbx_udp.h);
	if (px->have_tcp)
		proxy_close_handle((uv_handle_t *)&px->pbx_tcp);
	if (px->have_tls)
		proxy_close_handle((uv_handle_t *)&px->tls_listen);
	conn_set_close_all(&px->conns, "shutting down");
	txn_table_close(px);
	accepted_close(&px->accepted);
	cloud_stop(&px->cloud);
	admin_close(px);
	hep_close(&px->hep);
	proxy_close_handle((uv_handle_t *)&px->drain);
	proxy_close_handle((uv_handle_t *)&px->cert_watch);
	proxy_close_handle((uv_handle_t *)&px->cert_settle);
	proxy_close_handle((uv_handle_t *)&px->cert_daily);
	proxy_close_handle((uv_handle_t *)&px->sig_int);
	proxy_close_handle((uv_handle_t *)&px->sig_term);
	proxy_close_handle((uv_handle_t *)&px->sig_hup);
}

void
proxy_free(struct proxy *px)
{
	txn_table_free(px);
	accepted_free(&px->accepted);
	dialog_table_free(px);
	admission_free(px);
	SSL_CTX_free(px->tls_client);
	SSL_CTX_free(px->tls_server);
}
