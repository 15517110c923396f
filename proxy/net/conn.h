/*
 * conn.h - one stream connection (TCP, or TLS over TCP through memory
 * BIOs), with SIP framing by sipframe.c.  Connections belong to a
 * conn_set, which frees them; the set hands what happens up through the
 * callbacks it was given and never calls its user by name (libuv style).
 */
#ifndef TLSTRUNK_CONN_H
#define TLSTRUNK_CONN_H

#include <stdint.h>
#include <sys/queue.h>
#include <time.h>
#include <uv.h>
#include <openssl/ssl.h>
#include <sofia-sip/msg.h>

#include "config.h"
#include "metrics.h"
#include "sipframe.h"
#include "sippath.h"
#include "tls.h"

struct conn;

struct conn_events {
	void *ctx;
	/* A whole message; the callee owns msg. */
	sip_recv_fn on_message;
	/* c reached CONN_UP (TLS: verified). */
	void (*on_up)(void *ctx, struct conn *c);
	/* c is closed (c->why says why).  Called from the loop once its
	 * socket is closed, never from inside a conn_* call: whoever was
	 * sending on it has had its error return first.  c is freed after. */
	void (*on_closed)(void *ctx, struct conn *c);
	/* An inbound connection closed for being slow or idle: 1 to log it,
	 * 0 to keep quiet (floods); *n = such closes not logged since.  NULL:
	 * always log. */
	int (*log_due)(void *ctx, const struct sockaddr *peer, unsigned *n);
	sip_tap_fn on_tap;		/* NULL: no copies */
	void *tap_ctx;
};

/* Every stream connection, and what is counted of them. */
struct conn_set {
	uv_loop_t *loop;
	const struct config *cfg;
	LIST_HEAD(conn_list, conn) list;
	int n;
	uint64_t next_id;
	uint64_t tls[MT_NTLS];		/* TLS handshake outcomes */
	struct conn_events ev;
};

void conn_set_init(struct conn_set *s, uv_loop_t *loop,
    const struct config *cfg, const struct conn_events *ev);
/* Inbound connections on side's listener (the one just accepted too);
 * *from_peer: how many of them come from peer's IP. */
int conn_set_inbound(const struct conn_set *s, int side,
    const struct sockaddr *peer, int *from_peer);
/* Close every connection (shutdown). */
void conn_set_close_all(struct conn_set *s, const char *why);

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
	struct conn_set *set;
	LIST_ENTRY(conn) link;		/* in set->list */
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
	void *user;			/* the user's tag (its cloud host) */
	struct tls_verify_note note;	/* first certificate failure */
	int was_up;			/* reached CONN_UP once */
	int quiet;			/* close logged by the caller already */
	int retired;			/* its proxy moved: no new requests */
	char why[320];			/* why it closed, for those who ask */
};

/* Outbound: to name:port (at: where to connect instead of looking name
 * up, port taken from port; NULL: DNS) or to an IP literal; TLS when ctx
 * is not NULL, verifying name. */
struct conn *conn_connect(struct conn_set *s, int side, SSL_CTX *ctx,
    const char *name, uint16_t port, const struct sockaddr *at);
/* Inbound: accept from a listening handle (TLS when ctx is not NULL);
 * nothing is read until the caller, having looked at c->peer, calls
 * conn_start(). */
struct conn *conn_accept(struct conn_set *s, uv_stream_t *server, int side,
    SSL_CTX *ctx);
void conn_start(struct conn *c);

/* Queue one whole SIP message; one SSL_write (one record) per message. */
int conn_send(struct conn *c, const char *buf, size_t len);
/* Close with a logged reason; safe to call twice. */
void conn_close(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "tls" or "tcp", for log lines. */
const char *conn_kind(const struct conn *c);
struct conn *conn_find_id(const struct conn_set *s, uint64_t id);
struct conn *conn_find_addr(const struct conn_set *s, int side,
    const struct sockaddr *sa);
/* The peer certificate's notAfter (TLS, up), or 0. */
time_t conn_peer_not_after(const struct conn *c);

#endif
