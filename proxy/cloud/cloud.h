/*
 * cloud.h - the cloud proxies (lb01..lb04, or an SRV set) and the one
 * persistent, name-verified TLS connection to each: the host table, its
 * connections and their reconnects.  health.c says which proxies take
 * calls, resolver.c follows DNS.  The SIP core reaches a proxy only
 * through cloud_send(); nothing here knows the SIP core.
 */
#ifndef TLSTRUNK_CLOUD_H
#define TLSTRUNK_CLOUD_H

#include <stdint.h>
#include <time.h>
#include <uv.h>
#include <openssl/ssl.h>

#include "config.h"
#include "conn.h"
#include "metrics.h"
#include "resolver.h"

struct cloud;

/* One cloud proxy: its persistent TLS connection and its health. */
struct cloud_host {
	struct cloud *cl;
	char name[CFG_HOST_MAX];
	uint16_t port;
	struct conn *conn;		/* outbound connection, or NULL */
	unsigned backoff_ms;
	int wanted;			/* reconnect on loss: it carried traffic */
	uv_timer_t reconnect;
	int index;			/* in cl->hosts */
	int up;				/* answers: takes new calls */
	uint64_t rtt_ms;		/* last OPTIONS round trip */
	time_t cert_not_after;		/* its certificate, 0 until seen */
	uint64_t ping_sent;		/* ms the pending OPTIONS left, 0 none */
	uint32_t ping_seq;
	uv_timer_t health;
	int active;			/* in the proxy set (SRV may drop it) */
	unsigned prio;			/* SRV priority: lowest preferred */
	uv_getaddrinfo_t gai;		/* address check (resolver.c) */
	int resolving;
};

/* One trunk's proxies (proxy/sip/core.h keeps one per trunk). */
struct cloud {
	uv_loop_t *loop;
	const struct config *cfg;
	const struct cfg_cloud *tc;	/* this trunk's settings */
	int index;			/* in cfg->trunks */
	struct conn_set *conns;		/* the connections (the core's set) */
	struct metrics *metrics;	/* the pings are counted there too */
	SSL_CTX *const *tls_client;	/* the current client context: a
					   reload swaps it */
	const char *salt;		/* our branches' (msg/branch.h) */
	const char *via_host;		/* our TLS face, for the pings' Via */
	uint16_t via_port;
	struct cloud_host hosts[CFG_MAX_HOSTS];
	int nhosts;
	unsigned rr_next;
	struct resolver resolver;
	int stopping;
};

/* The configured proxies into the table (the caller fills the fields
 * above the table first); cloud_start() begins pings and DNS. */
void cloud_init(struct cloud *cl);
void cloud_start(struct cloud *cl);
/* No new connections, pings or lookups; close the timers. */
void cloud_stop(struct cloud *cl);

/* The proxy name:port, or NULL. */
struct cloud_host *cloud_host_find(struct cloud *cl, const char *name,
    uint16_t port);
/* The proxy name:port, added (inactive, timers ready) if new; NULL when
 * the table is full. */
struct cloud_host *cloud_host_add(struct cloud *cl, const char *name,
    uint16_t port);

/*
 * Send one whole message to the cloud proxy host:port: on conn_id when
 * that connection is still there (a dialog's own), else on the proxy's
 * verified connection, opened if need be.  *used: the connection it went
 * to.  A negative code with *why when no secure path exists.
 */
int cloud_send(struct cloud *cl, const char *host, uint16_t port,
    uint64_t conn_id, const char *buf, size_t len, uint64_t *used,
    const char **why);
/* A connection came up: a proxy's notes its certificate's notAfter,
 * returned (0: not a proxy's, or no certificate). */
time_t cloud_conn_up(struct cloud *cl, struct conn *c);
/* Proxies that take calls now (up and in the proxy set). */
int cloud_proxies_up(const struct cloud *cl);
/* Each proxy's state and round trip, of the n trunks at cls, for /metrics. */
void cloud_metrics_print(const struct cloud *cls, int n, struct mbuf *b);
/* Their tlstrunk_certificate_expiry_seconds lines (the HELP/TYPE lines
 * are the caller's, which prints our own certificate's first). */
void cloud_cert_metrics_print(const struct cloud *cls, int n,
    struct mbuf *b);
/* Open a proxy's persistent connection (ch->conn). */
void cloud_host_connect(struct cloud_host *ch);
/* The index (cl->index) of the trunk among cls[0..n) whose proxy c is
 * an outbound connection of, or -1. */
int cloud_conn_trunk(const struct cloud *cls, int n, const struct conn *c);
/* A connection closed: if it was a proxy's, that proxy reconnects. */
void cloud_conn_lost(struct cloud *cl, struct conn *c);

#endif
