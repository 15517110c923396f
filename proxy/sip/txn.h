/*
 * txn.h - one proxied transaction: the server side facing where the
 * request came from and the client side facing where it went (no
 * forking, so one of each).  RFC 3261 section 17 timers run on one
 * libuv timer per transaction.
 */
#ifndef TLSTRUNK_TXN_H
#define TLSTRUNK_TXN_H

#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

#include "branch.h"
#include "dest.h"
#include "core.h"

enum txn_state {
	TXN_TRYING = 0,		/* forwarded, no response yet */
	TXN_PROCEEDING,		/* provisional response seen */
	TXN_COMPLETED,		/* final response sent upstream */
	TXN_CONFIRMED,		/* ACK for our non-2xx final received */
};

struct txn {
	LIST_ENTRY(txn) link;		/* in px->txns.all */
	struct proxy *px;
	uv_timer_t timer;
	int state;
	sip_method_t method;
	char *skey;			/* server key (branch, sent-by, method) */
	char branch[BRANCH_MAX];		/* our Via branch downstream */
	struct sip_src src;		/* upstream */
	struct sip_dest dst;		/* downstream */
	uint64_t dst_conn;		/* stream it left on, 0 for UDP */
	msg_t *req;			/* the request as we forwarded it; NULL
					 * once an INVITE's 2xx went upstream */
	char *req_buf;
	size_t req_len;
	char *resp_buf;			/* last response sent upstream */
	size_t resp_len;
	int resp_status;
	char *ack_buf;			/* our ACK for a non-2xx final */
	size_t ack_len;
	char *cancel_buf;		/* our CANCEL downstream */
	size_t cancel_len;
	int cancel_pending;		/* upstream cancelled before any 1xx */
	int cancel_answered;
	struct cloud_host *ch;		/* a new call's proxy: may fail over */
	unsigned tried;			/* proxies tried, a bit per index */
	uint64_t failover_at;		/* 0 = none */
	int fwd_1xx;			/* a provisional went upstream */
	int unanswered;			/* a new call's INVITE, no response yet
					   (counted in px->txns.unanswered) */
	struct txn_attempt {		/* attempts we gave up on */
		char branch[BRANCH_MAX];
		msg_t *req;
		struct sip_dest dst;
	} *old;				/* CFG_MAX_HOSTS of them, on failover */
	int nold;
	uint64_t retx_at;		/* 0 = none */
	unsigned retx_iv;
	uint64_t deadline;
	char callid[];			/* for log lines */
};

/* Server key of a request: branch + sent-by + method (ACK -> INVITE). */
int txn_skey(sip_t const *sip, int for_invite, char *buf, size_t len);

struct txn *txn_new(struct proxy *px, const char *skey,
    const struct sip_src *src, sip_t const *sip);
struct txn *txn_by_skey(struct proxy *px, const char *skey);
struct txn *txn_by_branch(struct proxy *px, const char *branch);
void txn_free(struct txn *t);

/* Forward t->req to t->dst; 503 upstream when there is no path. */
int txn_forward(struct txn *t);

/* Answer upstream with our own response (100, 408, 487, 503...). */
void txn_reply(struct txn *t, int status, const char *phrase);
/* Pass a downstream response (top Via already ours) upstream. Takes msg. */
void txn_response(struct txn *t, msg_t *msg, sip_t *sip);
/* Upstream sent the request again / sent ACK for our non-2xx / CANCEL. */
void txn_upstream_retransmit(struct txn *t);
void txn_upstream_ack(struct txn *t);
void txn_upstream_cancel(struct txn *t);
/* The stream a request went out on is gone. */
void txn_conn_lost(struct txn *t);

/* The transaction table, txn.c's alone: set up, emptied (shutdown), freed. */
int txn_table_init(struct proxy *px);
void txn_table_close(struct proxy *px);
void txn_table_free(struct proxy *px);
/* Connection conn_id closed: each transaction that sent on it hears so. */
void txn_conn_closed(struct proxy *px, uint64_t conn_id);
/* Transactions not yet answered finally (a draining exit waits for them). */
int txn_pending(struct proxy *px);
/* New calls' INVITEs without any response yet (overload, /metrics). */
int txn_unanswered(const struct proxy *px);

#endif
