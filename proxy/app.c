/*
 * app.c - the application around the SIP core: start-up, listeners
 * (accept checks: allowed sources, connection budgets), signals, drain,
 * certificate reload and expiry, the admin pages and HEP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "admission.h"
#include "app.h"
#include "certfile.h"
#include "conn.h"
#include "dialog.h"
#include "log.h"
#include "netaddr.h"
#include "tls.h"
#include "txn.h"
#include "udp.h"

/* Days to a certificate's notAfter: a warning, then an error, as
 * config.h's CFG_CERT_*_DAYS say.  what: "certificate FILE", "cloud X's
 * certificate". */
static void
app_expiry_log(const char *what, time_t not_after)
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
app_on_cloud_cert(void *ctx, const char *name, time_t not_after)
{
	char what[CFG_HOST_MAX + 32];

	snprintf(what, sizeof(what), "cloud %s: its certificate", name);
	app_expiry_log(what, not_after);
}

/* ---- listeners ---- */

/*
 * Close a connection refused at accept.  Floods and scans come from few
 * sources in bursts: one warning per source per minute, the rest counted.
 */
static void
app_conn_refuse(struct app *a, struct conn *c, int limit, const char *why)
{
	unsigned n = 0;

	a->px.metrics.conns_refused[limit ? 1 : 0]++;
	if (admission_log_due(&a->px, (struct sockaddr *)&c->peer, &n))
		log_warn(NULL, "%s connection from %s refused: %s (%u more from "
		    "it in the last minute not logged)", conn_kind(c),
		    c->peer_str, why, n);
	c->quiet = 1;
	conn_close(c, "refused: %s", why);
}

static void
app_on_accept(uv_stream_t *server, int status, int side, int tls)
{
	struct app *a = server->data;
	const struct config *cfg = a->cfg;
	struct conn *c;
	int per_source, per_listener;

	if (status < 0) {
		log_warn(NULL, "accept: %s", uv_strerror(status));
		return;
	}
	if ((c = conn_accept(&a->px.conns, server, side,
	    tls ? a->tls_server : NULL)) == NULL)
		return;
	if (side == SIDE_PBX &&
	    !config_pbx_allowed(cfg, (struct sockaddr *)&c->peer)) {
		app_conn_refuse(a, c, 0, "source not in [pbx] allow");
		return;
	}
	if (side == SIDE_CLOUD &&
	    !config_cloud_allowed(cfg, (struct sockaddr *)&c->peer)) {
		app_conn_refuse(a, c, 0, "source not in [tls_server] allow");
		return;
	}
	/* Each listener has its own budget: a flood on the public TLS port
	 * must not lock the PBX out of its TCP port, nor the reverse. */
	per_listener = conn_set_inbound(&a->px.conns, side,
	    (struct sockaddr *)&c->peer, &per_source);
	if (per_listener > cfg->limits.max_connections) {
		app_conn_refuse(a, c, 1, "too many connections");
		return;
	}
	if (per_source > cfg->limits.max_connections_per_source) {
		app_conn_refuse(a, c, 1, "too many connections from this source");
		return;
	}
	conn_start(c);
}

static void
app_on_pbx_tcp(uv_stream_t *server, int status)
{
	app_on_accept(server, status, SIDE_PBX, 0);
}

static void
app_on_tls(uv_stream_t *server, int status)
{
	app_on_accept(server, status, SIDE_CLOUD, 1);
}

/* With calls kept in Redis, the listeners may be on a virtual IP that
 * another node holds now and this one takes over later. */
static int
app_freebind(const struct app *a)
{
	return a->cfg->state.redis[0] != '\0';
}

static int
app_tcp_listen(struct app *a, uv_tcp_t *h, const struct cfg_addr *at,
    uv_connection_cb cb)
{
	uv_os_fd_t fd;
	int r;

	if ((r = uv_tcp_init_ex(a->loop, h, at->ss.ss_family)) < 0)
		return r;
	h->data = a;
	if (app_freebind(a) && ((r = uv_fileno((uv_handle_t *)h, &fd)) < 0 ||
	    (r = netaddr_freebind(fd, at->ss.ss_family)) < 0))
		return r;
	if ((r = uv_tcp_bind(h, (const struct sockaddr *)&at->ss, 0)) < 0 ||
	    (r = uv_listen((uv_stream_t *)h, 511, cb)) < 0)
		return r;
	return 0;
}

static int
app_listen(struct app *a)
{
	const struct config *cfg = a->cfg;
	char at[64];
	int r;

	netaddr_ntop((const struct sockaddr *)&cfg->pbx.listen.ss, at, sizeof(at));
	if ((cfg->pbx.transports & CFG_TP_UDP) &&
	    (r = udp_sock_listen(&a->px.pbx_udp, a->loop,
	    (const struct sockaddr *)&cfg->pbx.listen.ss, app_freebind(a))) < 0) {
		log_error(NULL, "pbx udp %s: %s", at, uv_strerror(r));
		return r;
	}
	if (cfg->pbx.transports & CFG_TP_TCP) {
		a->have_tcp = 1;
		if ((r = app_tcp_listen(a, &a->pbx_tcp, &cfg->pbx.listen,
		    app_on_pbx_tcp)) < 0) {
			log_error(NULL, "pbx tcp %s: %s", at, uv_strerror(r));
			return r;
		}
	}
	a->have_tls = 1;
	if ((r = app_tcp_listen(a, &a->tls_listen, &cfg->tls_server.listen,
	    app_on_tls)) < 0) {
		netaddr_ntop((const struct sockaddr *)&cfg->tls_server.listen.ss, at,
		    sizeof(at));
		log_error(NULL, "tls %s: %s", at, uv_strerror(r));
		return r;
	}
	return 0;
}

/* ---- drain, reload ---- */

static void
app_on_drain(uv_timer_t *t)
{
	struct app *a = t->data;
	uint64_t waited = uv_now(a->loop) - a->drain_started;

	if (core_idle(&a->px)) {
		log_info(NULL, "drain: no call left, exiting");
		app_shutdown(a);
	} else if (waited >= 1000 * (uint64_t)a->cfg->cloud.drain_timeout) {
		log_warn(NULL, "drain: %zu call(s) still up after %d s, exiting",
		    dialog_count(&a->px), a->cfg->cloud.drain_timeout);
		app_shutdown(a);
	}
}

/* SIGTERM: refuse new calls (503), let the others end, then exit 0. */
void
app_drain(struct app *a)
{
	a->draining = 1;
	core_drain(&a->px);
	a->drain_started = uv_now(a->loop);
	log_info(NULL, "SIGTERM: draining %zu call(s), at most %d s; new calls get 503",
	    dialog_count(&a->px), a->cfg->cloud.drain_timeout);
	uv_timer_start(&a->drain, app_on_drain, 0, 250);
}

/* Our certificate's days left. */
static void
app_cert_check(struct app *a)
{
	char what[sizeof(a->cfg->tls_server.cert_file) + 16];

	a->cert_not_after = certfile_not_after(a->cfg->tls_server.cert_file);
	snprintf(what, sizeof(what), "certificate %s",
	    a->cfg->tls_server.cert_file);
	app_expiry_log(what, a->cert_not_after);
}

static void
app_on_daily(uv_timer_t *t)
{
	app_cert_check(t->data);
}

/* Every context of one configuration: each trunk's client, the server.
 * 0, or -1 with err (nothing left allocated). */
static int
app_tls_new(const struct config *cfg, SSL_CTX **client, SSL_CTX **server,
    char *err, size_t errlen)
{
	for (int i = 0; i < cfg->ntrunks; i++) {
		if ((client[i] = tls_client_ctx_new(cfg, &cfg->trunks[i], err,
		    errlen)) == NULL)
			goto fail;
	}
	if ((*server = tls_server_ctx_new(cfg, err, errlen)) != NULL)
		return 0;
fail:
	for (int i = 0; i < cfg->ntrunks; i++) {
		SSL_CTX_free(client[i]);
		client[i] = NULL;
	}
	return -1;
}

static void
app_tls_free(SSL_CTX **client, SSL_CTX *server)
{
	for (int i = 0; i < CFG_MAX_TRUNKS; i++)
		SSL_CTX_free(client[i]);
	SSL_CTX_free(server);
}

/* A reload swaps TLS contexts per trunk: the trunks must be the same
 * ones, in the same order (adding one needs a restart). */
static int
app_trunks_same(const struct config *now, const struct config *fresh,
    char *err, size_t errlen)
{
	int same = now->ntrunks == fresh->ntrunks;

	for (int i = 0; same && i < now->ntrunks; i++)
		same = strcmp(now->trunks[i].name, fresh->trunks[i].name) == 0;
	if (!same)
		snprintf(err, errlen, "the trunks changed: that needs a restart");
	return same ? 0 : -1;
}

static int
app_proxy_count(const struct proxy *px)
{
	int n = 0;

	for (int i = 0; i < px->nclouds; i++)
		n += px->clouds[i].nhosts;
	return n;
}

/*
 * Anyone who reaches the TLS port could place calls to the PBXs: the
 * cloud publishes its signaling addresses per region, and they belong
 * in [tls_server] allow.
 */
static void
app_warn_open_tls(const struct config *cfg)
{
	if (cfg->tls_server.allow.n == 0)
		log_warn(NULL, "%s: [tls_server] allow is empty: any address "
		    "that reaches %s:%u may send calls toward the PBX; list "
		    "the cloud's signaling addresses for your region there",
		    cfg->path, cfg->tls_server.listen.host,
		    cfg->tls_server.listen.port);
}

/*
 * New TLS contexts from the files on disk, swapped in for new handshakes;
 * connections up keep the context they started with (OpenSSL counts the
 * references).  A broken file leaves the old contexts in force.
 */
void
app_reload(struct app *a, const char *why)
{
	struct config *fresh = calloc(1, sizeof(*fresh));
	SSL_CTX *client[CFG_MAX_TRUNKS] = { NULL }, *server = NULL;
	char err[1024];

	if (fresh == NULL)
		return;
	if (config_load(fresh, a->cfg->path, err, sizeof(err)) < 0 ||
	    config_check_files(fresh, err, sizeof(err)) < 0 ||
	    app_trunks_same(a->cfg, fresh, err, sizeof(err)) < 0 ||
	    app_tls_new(fresh, client, &server, err, sizeof(err)) < 0) {
		log_error(NULL, "%s: reload refused, the running certificates stay: %s",
		    why, err);
		config_free(fresh);
		free(fresh);
		return;
	}
	app_tls_free(a->tls_client, a->tls_server);
	memcpy(a->tls_client, client, sizeof(client));
	a->tls_server = server;
	app_cert_check(a);
	log_info(NULL, "%s: TLS certificates, keys and CAs reloaded; other "
	    "settings need a restart", why);
	config_free(fresh);
	free(fresh);
}

/* Certificate files renewed in place (ACME): reload a second later, once
 * the writer is done with both files. */
static void
app_on_cert_settled(uv_timer_t *t)
{
	app_reload(t->data, "certificate files changed");
}

static void
app_on_cert_dir(uv_fs_event_t *h, const char *name, int events, int status)
{
	struct app *a = h->data;
	const struct config *cfg = a->cfg;
	const char *files[2] = { cfg->tls_server.cert_file, cfg->tls_server.key_file };

	if (status < 0 || name == NULL)
		return;
	/* Kubernetes swaps a hidden "..data" symlink when a Secret changes:
	 * no event names the certificate files themselves. */
	if (strncmp(name, "..data", 6) == 0) {
		uv_timer_start(&a->cert_settle, app_on_cert_settled, 1000, 0);
		return;
	}
	for (int i = 0; i < 2; i++) {
		const char *base = strrchr(files[i], '/');
		if (strcmp(base ? base + 1 : files[i], name) == 0) {
			uv_timer_start(&a->cert_settle, app_on_cert_settled, 1000, 0);
			return;
		}
	}
}

static void
app_watch_certs(struct app *a)
{
	char dir[PATH_MAX];
	const char *f = a->cfg->tls_server.cert_file, *slash = strrchr(f, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - f) : 1,
	    slash ? f : ".");
	if (dir[0] == '\0')
		snprintf(dir, sizeof(dir), "/");
	uv_timer_init(a->loop, &a->cert_settle);
	a->cert_settle.data = a;
	uv_fs_event_init(a->loop, &a->cert_watch);
	a->cert_watch.data = a;
	if (uv_fs_event_start(&a->cert_watch, app_on_cert_dir, dir, 0) < 0)
		log_warn(NULL, "cannot watch %s for certificate renewals", dir);
}

/* ---- signals ---- */

static void
app_on_signal(uv_signal_t *s, int signum)
{
	struct app *a = s->data;

	if (signum == SIGHUP) {
		app_reload(a, "SIGHUP");
		return;
	}
	if (signum == SIGTERM && !a->draining && !a->stopping) {
		app_drain(a);
		return;
	}
	log_info(NULL, "%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
	app_shutdown(a);
}

static void
app_signals(struct app *a)
{
	uv_signal_t *sigs[] = { &a->sig_int, &a->sig_term, &a->sig_hup };
	int nums[] = { SIGINT, SIGTERM, SIGHUP };

	for (int i = 0; i < 3; i++) {
		uv_signal_init(a->loop, sigs[i]);
		sigs[i]->data = a;
		uv_signal_start(sigs[i], app_on_signal, nums[i]);
	}
}

/* ---- life cycle ---- */

/*
 * Every connection and every relay socket is a descriptor, and running
 * out fails calls without a word: take the hard limit, and say so at
 * start when what [limits] allows can need more.
 */
static void
app_nofile(const struct config *cfg)
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

/* /healthz: 503 while we take no calls. */
static int
app_healthz(void *ctx, struct mbuf *b)
{
	struct app *a = ctx;
	const char *why = NULL, *down = NULL;
	char reason[64 + NP_NAME_MAX];
	int up = 0;

	/* Each trunk needs a proxy: a trunk with none loses its calls. */
	for (int i = 0; i < a->px.nclouds; i++) {
		int n = cloud_proxies_up(&a->px.clouds[i]);
		if (n == 0 && down == NULL)
			down = a->px.clouds[i].tc->name;
		up += n;
	}
	snprintf(reason, sizeof(reason), a->px.nclouds > 1 ? "no cloud proxy "
	    "of trunk %s is up" : "no cloud proxy is up", down ? down : "");
	if (a->stopping)
		why = "stopping";
	else if (a->draining)
		why = "draining";
	else if (down != NULL)
		why = reason;
	if (why != NULL)
		mbuf_printf(b, "{\"status\":\"unavailable\",\"reason\":\"%s\",\"cloud_proxies_up\":%d}\n",
		    why, up);
	else
		mbuf_printf(b, "{\"status\":\"ok\",\"cloud_proxies_up\":%d,\"calls_active\":%zu}\n",
		    up, dialog_count(&a->px));
	return why != NULL ? -EAGAIN : 0;
}

static void
app_metrics(void *ctx, struct mbuf *b)
{
	struct app *a = ctx;
	struct proxy *px = &a->px;

	metrics_print(&px->metrics, a->cfg, px->conns.tls, b);
	mbuf_printf(b, "# HELP tlstrunk_calls_active Calls set up or in progress.\n"
	    "# TYPE tlstrunk_calls_active gauge\ntlstrunk_calls_active %zu\n",
	    dialog_count(px));
	mbuf_printf(b, "# HELP tlstrunk_invites_unanswered New calls' INVITEs the next hop has not answered yet.\n"
	    "# TYPE tlstrunk_invites_unanswered gauge\ntlstrunk_invites_unanswered %d\n",
	    txn_unanswered(px));
	cloud_metrics_print(px->clouds, px->nclouds, b);
	mbuf_printf(b, "# HELP tlstrunk_certificate_expiry_seconds Seconds until our certificate's notAfter.\n"
	    "# TYPE tlstrunk_certificate_expiry_seconds gauge\n"
	    "tlstrunk_certificate_expiry_seconds{cert=\"tls_server\"} %lld\n",
	    (long long)(a->cert_not_after - time(NULL)));
	cloud_cert_metrics_print(px->clouds, px->nclouds, b);
	mbuf_printf(b, "# HELP tlstrunk_draining 1 while SIGTERM drains calls.\n"
	    "# TYPE tlstrunk_draining gauge\ntlstrunk_draining %d\n",
	    a->draining);
	if (px->hooks.on_metrics != NULL)
		px->hooks.on_metrics(px->hooks.ctx, b);
	callstate_metrics(&a->cs, b);
}

static void
app_on_call(void *ctx, const char *callid, int up)
{
	struct app *a = ctx;

	callstate_on_call(&a->cs, callid, up);
}

int
app_init(struct app *a, uv_loop_t *loop, const struct config *cfg)
{
	struct core_params p = {
		.tls_client = a->tls_client,
		.on_tap = cfg->trace.hep_collector.port != 0 ? hep_capture : NULL,
		.tap_ctx = &a->hep,
		.on_cloud_cert = app_on_cloud_cert,
		.on_call = app_on_call,
		.ctx = a,
	};
	char err[512];
	int r;

	memset(a, 0, sizeof(*a));
	a->loop = loop;
	a->cfg = cfg;
	app_nofile(cfg);
	if ((r = core_init(&a->px, loop, cfg, &p)) < 0)
		return r;
	if (app_tls_new(cfg, a->tls_client, &a->tls_server, err,
	    sizeof(err)) < 0) {
		log_error(NULL, "TLS: %s", err);
		return -EINVAL;
	}
	app_signals(a);
	uv_timer_init(loop, &a->drain);
	a->drain.data = a;
	app_cert_check(a);
	uv_timer_init(loop, &a->cert_daily);
	a->cert_daily.data = a;
	uv_timer_start(&a->cert_daily, app_on_daily, 86400000, 86400000);
	app_watch_certs(a);
	a->admin.ctx = a;
	a->admin.metrics = app_metrics;
	a->admin.healthz = app_healthz;
	if ((r = admin_listen(&a->admin, loop, &cfg->general.admin_listen)) < 0 ||
	    (r = hep_open(&a->hep, loop, cfg)) < 0)
		return r;
	for (int i = 0; i < a->px.nclouds; i++)
		cloud_start(&a->px.clouds[i]);
	app_warn_open_tls(cfg);
	return 0;
}

/* Stored calls are back (or there were none): take new ones. */
static void
app_on_ready(void *ctx)
{
	struct app *a = ctx;
	struct proxy *px = &a->px;
	int r;

	if (a->stopping)
		return;
	if ((r = app_listen(a)) < 0) {
		a->failed = r;
		app_shutdown(a);
		return;
	}
	log_info(NULL, "tlstrunk %s up: pbx %s:%u, tls %s:%u, %d trunk(s), "
	    "%d PBX(s), %d cloud proxies, %zu call(s) carried over",
	    TLSTRUNK_VERSION, px->pbx_host, px->pbx_port, px->tls_name,
	    px->tls_port, px->nclouds, a->cfg->npbx, app_proxy_count(px),
	    dialog_count(px));
}

int
app_start(struct app *a, struct media *md)
{
	int r;

	if ((r = callstate_init(&a->cs, a->loop, a->cfg, &a->px, md)) < 0) {
		log_error(NULL, "state: %s", strerror(-r));
		return r;
	}
	callstate_start(&a->cs, app_on_ready, a);
	return 0;
}

static void
app_close_handle(uv_handle_t *h)
{
	if (h->loop != NULL && !uv_is_closing(h))
		uv_close(h, NULL);
}

void
app_shutdown(struct app *a)
{
	if (a->stopping)
		return;
	a->stopping = 1;
	callstate_close(&a->cs);	/* what is stored stays for the next */
	core_stop(&a->px);
	if (a->have_tcp)
		app_close_handle((uv_handle_t *)&a->pbx_tcp);
	if (a->have_tls)
		app_close_handle((uv_handle_t *)&a->tls_listen);
	admin_close(&a->admin);
	hep_close(&a->hep);
	app_close_handle((uv_handle_t *)&a->drain);
	app_close_handle((uv_handle_t *)&a->cert_watch);
	app_close_handle((uv_handle_t *)&a->cert_settle);
	app_close_handle((uv_handle_t *)&a->cert_daily);
	app_close_handle((uv_handle_t *)&a->sig_int);
	app_close_handle((uv_handle_t *)&a->sig_term);
	app_close_handle((uv_handle_t *)&a->sig_hup);
}

void
app_free(struct app *a)
{
	core_free(&a->px);
	app_tls_free(a->tls_client, a->tls_server);
}
