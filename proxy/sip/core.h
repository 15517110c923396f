/*
 * core.h - the SIP proxy's state: one libuv loop carrying the plaintext
 * PBX leg (UDP, TCP) and the TLS cloud leg, a transaction-stateful proxy
 * between them (RFC 3261 section 16).  Defined here, in sip/, so that the
 * SIP modules need nothing from the application above them; the
 * application (listeners, signals, certificates, admin) keeps its own
 * state in struct app (proxy/app.h).
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
struct sip_dest;

/*
 * Where the core's messages leave: dest.c's sockets in the proxy, a
 * recorder in the unit tests (nothing else in sip/ sends).
 *   send:  one whole message to d; *used gets the stream it went on
 *          (0: UDP); a negative code and *why when it cannot go.
 *   reply: a response back on the stream or socket src came from;
 *          -ENOTCONN when that stream is gone (the caller then sends by
 *          the Via).
 */
struct sip_wire {
	void *ctx;
	int (*send)(void *ctx, const struct sip_dest *d, const char *buf,
	    size_t len, uint64_t *used, const char **why);
	int (*reply)(void *ctx, const struct sip_src *src, const char *buf,
	    size_t len);
};

/* txn.c's alone. */
struct txn_table {
	LIST_HEAD(txn_list, txn) all;	/* every live transaction */
	int n;
	int unanswered;			/* new calls' INVITEs with no response
					   from the next hop yet (overload) */
	struct strmap by_skey;		/* server key -> txn */
	struct strmap by_branch;	/* our branch -> txn */
	uint64_t seq;			/* our branches' ids */
};

/*
 * What the core hands to the transports it sets up, beside its own
 * callbacks: where copies of each message go (HEP), and who hears of a
 * cloud proxy's certificate (the application checks expiry dates).
 */
struct core_params {
	SSL_CTX *const *tls_client;	/* the current client context of each
					   trunk (cfg->trunks order) */
	sip_tap_fn on_tap;		/* NULL: no copies */
	void *tap_ctx;
	/* A cloud proxy's connection came up with this certificate. */
	void (*on_cloud_cert)(void *ctx, const char *name, time_t not_after);
	/* A call was answered (up 1) or ended (up 0): whoever keeps calls
	 * beyond this process (proxy/callstate.c).  NULL: nobody. */
	void (*on_call)(void *ctx, const char *callid, int up);
	void *ctx;
};

/*
 * The SIP core: a transaction-stateful proxy (RFC 3261 section 16)
 * between the PBX leg and the cloud leg.  Each table has one owner that
 * alone touches its fields (txn.c, dialog.c, admission.c, accepted.c,
 * conn.c's set, cloud.c); core.c sets them up and takes messages in.
 */
struct proxy {
	uv_loop_t *loop;
	const struct config *cfg;
	struct proxy_hooks hooks;	/* the media bridge */
	struct sip_wire wire;
	struct core_params params;	/* the application's, from core_init */

	struct udp_sock pbx_udp;	/* the PBX's UDP socket */
	struct conn_set conns;		/* every stream connection */
	struct cloud clouds[CFG_MAX_TRUNKS];	/* each trunk's proxies
					   (cloud/cloud.h), cfg->trunks order */
	int nclouds;
	struct metrics metrics;

	struct txn_table txns;
	struct accepted accepted;	/* INVITEs past their 2xx (32 s) */
	struct strmap dialogs;		/* dialog.c's: Call-ID -> dialog */
	struct strmap sources;		/* admission.c's: IP -> limits */
	char branch_salt[17];		/* this process's (msg/branch.h) */
	uint64_t uac_seq;		/* uac.c's branch ids */

	/* What we put in Via/Record-Route on each leg. */
	char pbx_host[CFG_HOST_MAX];
	uint16_t pbx_port;
	char tls_name[CFG_HOST_MAX];
	uint16_t tls_port;

	int draining;			/* no new calls (core_drain) */
	int stopping;			/* messages dropped (core_stop) */
};

/* Tables, transports' callbacks and the cloud table; no socket is opened
 * (the application listens, cloud_start() connects).  0 or -ENOMEM. */
int core_init(struct proxy *px, uv_loop_t *loop, const struct config *cfg,
    const struct core_params *p);
/* A message from a transport (the callee owns msg). */
void core_recv(struct proxy *px, msg_t *msg, const struct sip_src *src);
/* Refuse new calls with 503 from now on (SIGTERM). */
void core_drain(struct proxy *px);
/* Drop what arrives, close connections, transactions and the cloud. */
void core_stop(struct proxy *px);
void core_free(struct proxy *px);
/* Calls up and transactions unanswered: a drain waits for both. */
int core_idle(struct proxy *px);
/* Fill ev with what the media bridge may ask of the core. */
void core_call_events(struct proxy *px, struct call_events *ev);

#endif
