/*
 * app.h - the application around the SIP core (sip/core.h): start-up,
 * listeners, signals, drain, certificate reload and watch, the admin
 * pages and HEP.  Only app.c touches these fields.
 */
#ifndef TLSTRUNK_APP_H
#define TLSTRUNK_APP_H

#include <time.h>
#include <uv.h>
#include <openssl/ssl.h>

#include "admin.h"
#include "callstate.h"
#include "core.h"
#include "hep.h"
#include "media.h"

struct app {
	struct proxy px;		/* the SIP core */
	uv_loop_t *loop;
	const struct config *cfg;
	SSL_CTX *tls_client[CFG_MAX_TRUNKS];	/* one per trunk; a reload
					   swaps them and tls_server */
	SSL_CTX *tls_server;

	uv_tcp_t pbx_tcp;
	uv_tcp_t tls_listen;
	int have_tcp, have_tls;

	struct admin admin;		/* /metrics, /healthz */
	struct hep hep;			/* HEP v3 copies, [trace] */
	struct callstate cs;		/* calls kept in Redis, [state] */
	time_t cert_not_after;		/* our certificate, for /metrics */
	uv_fs_event_t cert_watch;	/* its directory, for renewals */
	uv_timer_t cert_settle;
	uv_timer_t cert_daily;		/* expiry checks once a day */

	uv_signal_t sig_int, sig_term, sig_hup;
	uv_timer_t drain;
	int draining;			/* SIGTERM: no new calls */
	uint64_t drain_started;
	int stopping;
	int failed;			/* start-up failed after app_start */
};

/* Everything but the SIP listeners; 0 or a negative errno. */
int app_init(struct app *a, uv_loop_t *loop, const struct config *cfg);
/*
 * The media bridge is up: calls stored by an earlier process are set up
 * again first ([state]), then the PBX and TLS listeners open.  A listener
 * that cannot open shuts the application down (a->failed).
 */
int app_start(struct app *a, struct media *md);
/* Close every handle; uv_run() then returns and app_free() releases. */
void app_shutdown(struct app *a);
void app_free(struct app *a);
/* SIGTERM: 503 to new calls, exit when the last one ends (drain_timeout). */
void app_drain(struct app *a);
/* SIGHUP / certificate files changed: new TLS contexts for new handshakes. */
void app_reload(struct app *a, const char *why);

#endif
