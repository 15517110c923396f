/*
 * conn.h - one stream connection (TCP, or TLS over TCP through memory
 * BIOs), with SIP framing by sofia-sip's streaming parser.  Owned by the
 * proxy's connection list; freed only from its close callback.
 */
#ifndef TLSTRUNK_CONN_H
#define TLSTRUNK_CONN_H

#include <stdint.h>
#include <uv.h>
#include <openssl/ssl.h>
#include <sofia-sip/msg.h>

#include "proxy.h"
#include "sipframe.h"
#include "tls.h"

enum conn_state {
	CONN_RESOLVING = 0,
	CONN_CONNECTING,
	CONN_HANDSHAKE,
	CONN_UP,
	CONN_CLOSING,
};

struct conn_pending {
	struct conn_pending *next;
	size_t len;
	char buf[];
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;		/* handshake deadline, then keepalive */
	uv_getaddrinfo_t gai;
	struct proxy *px;
	struct conn *next, *prev;
	uint64_t id;
	int side;			/* enum sip_side */
	int tls;
	int outbound;
	int state;			/* enum conn_state */
	int handles;			/* open uv handles; free at 0 */
	int resolving;
	SSL *ssl;
	BIO *rbio, *wbio;
	char name[CFG_HOST_MAX];	/* the name verified (outbound TLS) */
	uint16_t port;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct sockaddr_storage local;	/* our end, for HEP copies */
	char peer_str[64];
	struct sipframe frame;		/* bytes in, messages out */
	struct conn_pending *pending, **pending_tail;
	uint64_t rx_started;		/* ms the unfinished message began, 0 none */
	uint64_t rx_count;		/* messages framed */
	uint64_t last_io;
	struct cloud_host *host;	/* the cloud host this serves, if any */
	struct tls_verify_note note;	/* first certificate failure */
	int was_up;			/* reached CONN_UP once */
	int quiet;			/* close logged by the caller already */
	int retired;			/* its proxy moved: no new requests */
	char why[320];			/* why it closed, for those who ask */
};

/* Outbound: to name:port (resolved via [cloud] resolve, then DNS) or to an
 * IP literal.  TLS connections verify name. */
struct conn *conn_connect(struct proxy *px, int side, int tls,
    const char *name, uint16_t port);
/* Inbound: accept from a listening handle; nothing is read until the
 * caller, having looked at c->peer, calls conn_start(). */
struct conn *conn_accept(struct proxy *px, uv_stream_t *server, int side,
    int tls);
void conn_start(struct conn *c);

/* Queue one whole SIP message; one SSL_write (one record) per message. */
int conn_send(struct conn *c, const char *buf, size_t len);
/* Close with a logged reason; safe to call twice. */
void conn_close(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "tls" or "tcp", for log lines. */
const char *conn_kind(const struct conn *c);
struct conn *conn_find_id(struct proxy *px, uint64_t id);
struct conn *conn_find_addr(struct proxy *px, int side,
    const struct sockaddr *sa);

/* Called by the proxy core, implemented in proxy.c. */
void proxy_conn_closed(struct proxy *px, struct conn *c);

#endif
