/*
 * core.c - the SIP core's life: its tables and transports set up, what the
 * transports hand up dispatched to route.c, and its end.  The application
 * (proxy/app.c) owns the listeners, signals and certificates around it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/rand.h>
#include <sofia-sip/sip_header.h>

#include "accepted.h"
#include "admission.h"
#include "core.h"
#include "dest.h"
#include "dialog.h"
#include "route.h"
#include "txn.h"

void
core_recv(struct proxy *px, msg_t *msg, const struct sip_src *src)
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
core_on_message(void *ctx, msg_t *msg, const struct sip_src *src)
{
	core_recv(ctx, msg, src);
}

/* A connection closed (told from the loop, after the fact). */
static void
core_on_conn_closed(void *ctx, struct conn *c)
{
	struct proxy *px = ctx;

	for (int i = 0; i < px->nclouds; i++)
		cloud_conn_lost(&px->clouds[i], c);
	if (!px->stopping)
		txn_conn_closed(px, c->id);
}

/* A connection is up: a cloud proxy's certificate is noted, and the
 * application hears of it. */
static void
core_on_conn_up(void *ctx, struct conn *c)
{
	struct proxy *px = ctx;
	time_t not_after = 0;

	for (int i = 0; i < px->nclouds && not_after == 0; i++)
		not_after = cloud_conn_up(&px->clouds[i], c);

	if (not_after != 0 && px->params.on_cloud_cert != NULL)
		px->params.on_cloud_cert(px->params.ctx, c->name, not_after);
}

static int
core_log_due(void *ctx, const struct sockaddr *peer, unsigned *n)
{
	return admission_log_due(ctx, peer, n);
}

/* What the transports hand up, and to whom. */
static void
core_transports_init(struct proxy *px, const struct core_params *p)
{
	const struct config *cfg = px->cfg;
	struct conn_events ev = {
		.ctx = px,
		.on_message = core_on_message,
		.on_up = core_on_conn_up,
		.on_closed = core_on_conn_closed,
		.log_due = core_log_due,
		.on_tap = p->on_tap,
		.tap_ctx = p->tap_ctx,
	};

	conn_set_init(&px->conns, px->loop, cfg, &ev);
	px->pbx_udp.side = SIDE_PBX;
	px->pbx_udp.maxsize = cfg->limits.max_message_size;
	px->pbx_udp.ctx = px;
	px->pbx_udp.on_recv = core_on_message;
	px->pbx_udp.on_tap = p->on_tap;
	px->pbx_udp.tap_ctx = p->tap_ctx;
	dest_wire_init(px);
}

/* One proxy table per trunk, each with its own TLS client context. */
static void
core_cloud_init(struct proxy *px, const struct core_params *p)
{
	px->nclouds = px->cfg->ntrunks;
	for (int i = 0; i < px->nclouds; i++) {
		struct cloud *cl = &px->clouds[i];
		cl->loop = px->loop;
		cl->cfg = px->cfg;
		cl->tc = &px->cfg->trunks[i];
		cl->index = i;
		cl->conns = &px->conns;
		cl->metrics = &px->metrics;
		cl->tls_client = &p->tls_client[i];
		cl->salt = px->branch_salt;
		cl->via_host = px->tls_name;
		cl->via_port = px->tls_port;
		cloud_init(cl);
	}
}

int
core_init(struct proxy *px, uv_loop_t *loop, const struct config *cfg,
    const struct core_params *p)
{
	unsigned char salt[4];

	memset(px, 0, sizeof(*px));
	px->loop = loop;
	px->cfg = cfg;
	px->params = *p;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return -EIO;
	snprintf(px->branch_salt, sizeof(px->branch_salt), "%02x%02x%02x%02x",
	    salt[0], salt[1], salt[2], salt[3]);
	snprintf(px->pbx_host, sizeof(px->pbx_host), "%s", cfg->pbx.advertised_address);
	px->pbx_port = cfg->pbx.listen.port;
	snprintf(px->tls_name, sizeof(px->tls_name), "%s", cfg->tls_server.advertised_name);
	px->tls_port = cfg->tls_server.listen.port;
	core_transports_init(px, p);
	if (txn_table_init(px) < 0 ||
	    accepted_init(&px->accepted, loop, 64 * 500 /* 64 x T1 */) < 0 ||
	    dialog_table_init(px) < 0 || admission_init(px) < 0)
		return -ENOMEM;
	core_cloud_init(px, p);
	return 0;
}

void
core_drain(struct proxy *px)
{
	px->draining = 1;
}

int
core_idle(struct proxy *px)
{
	/* A BYE ends its dialog when it passes; wait for its 200 too. */
	return dialog_count(px) == 0 && txn_pending(px) == 0;
}

void
core_stop(struct proxy *px)
{
	if (px->stopping)
		return;
	px->stopping = 1;
	if (px->hooks.on_shutdown != NULL)
		px->hooks.on_shutdown(px->hooks.ctx);
	if (px->pbx_udp.open && !uv_is_closing((uv_handle_t *)&px->pbx_udp.h))
		uv_close((uv_handle_t *)&px->pbx_udp.h, NULL);
	conn_set_close_all(&px->conns, "shutting down");
	txn_table_close(px);
	accepted_close(&px->accepted);
	for (int i = 0; i < px->nclouds; i++)
		cloud_stop(&px->clouds[i]);
}

void
core_free(struct proxy *px)
{
	txn_table_free(px);
	accepted_free(&px->accepted);
	dialog_table_free(px);
	admission_free(px);
}

static void
core_call_end(void *ctx, const char *callid, const char *why)
{
	dialog_terminate(ctx, callid, why);
}

static void
core_call_media(void *ctx, const char *callid, const uint64_t m[5])
{
	dialog_media(ctx, callid, m);
}

void
core_call_events(struct proxy *px, struct call_events *ev)
{
	ev->ctx = px;
	ev->call_end = core_call_end;
	ev->call_media = core_call_media;
}
