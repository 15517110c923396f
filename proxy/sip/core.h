/*
 * core.h - the SIP proxy's state: one libuv loop carrying the plaintext
 * PBX leg (UDP, TCP) and the TLS cloud leg, a transaction-stateful proxy
 * between them (RFC 3261 section 16).  Defined here, in sip/, so that the
 * SIP modules need nothing from the application above them; the
 * application's own fields (listeners, signals, certificate watch, admin)
 * ride along and only proxy.c and admin.c touch them.
 */
#ifndef TLSTRUNK_CORE_H
#define TLSTRUNK_CORE_H

#include <stdint.h>
#include <sys/queue.h>
#include <time.h>
#include <sys/socket.h>
#include <uv.h>
#include <openssl/ssl.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

#include "accepted.h"
#include "config.h"
#include "conn.h"
#include "hep.h"
#include "metrics.h"
#include "cloud.h"
#include "siphooks.h"
#include "sippath.h"
#include "strmap.h"
#include "udp.h"

struct conn;

struct proxy {
	uv_loop_t *loop;
	struct proxy_hooks hooks;
	const struct config *cfg;
	SSL_CTX *tls_client;
	SSL_CTX *tls_server;

	struct udp_sock pbx_udp;
	uv_tcp_t pbx_tcp;
	uv_tcp_t tls_listen;
	int have_tcp, have_tls;

	struct conn_set conns;		/* every stream connection */

	struct cloud cloud;		/* the cloud proxies (cloud/cloud.h) */

	LIST_HEAD(txn_list, txn) txns;	/* every live transaction */
	int ntxns;
	int unanswered;			/* new calls' INVITEs with no response
					   from the next hop yet (overload) */
	struct strmap txn_by_skey;	/* server key -> txn */
	struct strmap txn_by_branch;	/* our branch -> txn */
	struct accepted accepted;	/* INVITEs past their 2xx (32 s) */
	struct strmap dialogs;		/* Call-ID -> struct dialog */
	struct strmap sources;		/* source IP -> limits */
	uint64_t branch_seq;
	char branch_salt[17];

	/* What we put in Via/Record-Route on each leg. */
	char pbx_host[CFG_HOST_MAX];
	uint16_t pbx_port;
	char tls_name[CFG_HOST_MAX];
	uint16_t tls_port;

	uv_tcp_t admin;
	int have_admin;
	struct hep hep;			/* HEP v3 copies, [trace] */
	struct metrics metrics;
	time_t cert_not_after;		/* our certificate, for /metrics */
	uv_fs_event_t cert_watch;	/* its directory, for renewals */
	uv_timer_t cert_settle;
	uv_timer_t cert_daily;		/* expiry checks once a day */

	uv_signal_t sig_int, sig_term, sig_hup;
	uv_timer_t drain;
	int draining;			/* SIGTERM: no new calls */
	uint64_t drain_started;
	int stopping;
};

#endif
