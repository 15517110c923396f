/* txn.c - transaction state, retransmission and timeouts (RFC 3261 17). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

#include "accepted.h"
#include "branch.h"
#include "conn.h"
#include "dest.h"
#include "dialog.h"
#include "netaddr.h"
#include "health.h"
#include "log.h"
#include "hdr.h"
#include "reply.h"
#include "uac.h"
#include "sipmsg.h"
#include "strmap.h"
#include "txn.h"
#include "udp.h"

#define T1	500u
#define T2	4000u
#define TIMER_B	(64u * T1)	/* also F, H, J, D: 32 s */
#define TIMER_C	180000u		/* INVITE after a provisional */
#define TIMER_I	5000u

/*
 * A previous hop of RFC 2543's time puts no unique branch in its Via
 * (none, or one without the magic cookie): its request is known by what
 * RFC 3261 17.2.3 lists instead, Request-URI, From tag, Call-ID, CSeq
 * number and the Via itself, hashed to keep the key short.
 */
static uint64_t
txn_rfc2543_id(sip_t const *sip)
{
	char buf[4096];
	size_t n;
	int k;

	if (url_e(buf, sizeof(buf), sip->sip_request->rq_url) < 0)
		buf[0] = '\0';
	n = strnlen(buf, sizeof(buf));
	k = snprintf(buf + n, sizeof(buf) - n, "|%s|%s|%u",
	    sip->sip_from->a_tag ? sip->sip_from->a_tag : "",
	    sip->sip_call_id->i_id, sip->sip_cseq->cs_seq);
	if (k > 0)
		n += (size_t)k < sizeof(buf) - n ? (size_t)k : sizeof(buf) - n - 1;
	return strmap_hash_bytes(buf, n);
}

int
txn_skey(sip_t const *sip, int for_invite, char *buf, size_t len)
{
	sip_via_t const *v = sip->sip_via;
	const char *m = for_invite ? "INVITE" : sip->sip_request->rq_method_name;
	int n;

	if (v->v_branch != NULL && strncmp(v->v_branch, "z9hG4bK", 7) == 0)
		n = snprintf(buf, len, "%s|%s|%s:%s", m, v->v_branch,
		    v->v_host, v->v_port ? v->v_port : "");
	else
		n = snprintf(buf, len, "%s|2543:%016llx|%s:%s", m,
		    (unsigned long long)txn_rfc2543_id(sip), v->v_host,
		    v->v_port ? v->v_port : "");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int txn_initial(const struct txn *t);
static int txn_fit_udp(struct txn *t);

/* The next hop answered (or we did): no longer a sign of overload. */
static void
txn_answered(struct txn *t)
{
	if (!t->unanswered)
		return;
	t->unanswered = 0;
	t->px->txns.unanswered--;
}

static void
txn_closed(uv_handle_t *h)
{
	struct txn *t = h->data;

	for (int i = 0; i < t->nold; i++)
		msg_destroy(t->old[i].req);
	free(t->old);
	if (t->req != NULL)
		msg_destroy(t->req);
	free(t->skey);
	free(t->req_buf);
	free(t->resp_buf);
	free(t->ack_buf);
	free(t->cancel_buf);
	free(t);
}

void
txn_free(struct txn *t)
{
	struct proxy *px = t->px;

	txn_answered(t);
	strmap_del(&px->txns.by_skey, t->skey);
	if (t->branch[0] != '\0')
		strmap_del(&px->txns.by_branch, t->branch);
	for (int i = 0; i < t->nold; i++)
		strmap_del(&px->txns.by_branch, t->old[i].branch);
	LIST_REMOVE(t, link);
	px->txns.n--;
	uv_close((uv_handle_t *)&t->timer, txn_closed);
}

struct txn *
txn_new(struct proxy *px, const char *skey, const struct sip_src *src,
    sip_t const *sip)
{
	const char *cid = sipmsg_callid(sip);
	size_t n = strlen(cid) + 1;
	struct txn *t = calloc(1, sizeof(*t) + n);

	if (t == NULL)
		return NULL;
	if ((t->skey = strdup(skey)) == NULL) {
		free(t);
		return NULL;
	}
	t->px = px;
	t->src = *src;
	t->method = sip->sip_request->rq_method;
	memcpy(t->callid, cid, n);
	branch_make(t->branch, px->branch_salt, BRANCH_TXN, ++px->txns.seq);
	if (strmap_put(&px->txns.by_skey, skey, t) < 0 ||
	    strmap_put(&px->txns.by_branch, t->branch, t) < 0) {
		strmap_del(&px->txns.by_skey, skey);
		free(t->skey);
		free(t);
		return NULL;
	}
	uv_timer_init(px->loop, &t->timer);
	t->timer.data = t;
	LIST_INSERT_HEAD(&px->txns.all, t, link);
	px->txns.n++;
	return t;
}

struct txn *
txn_by_skey(struct proxy *px, const char *skey)
{
	return strmap_get(&px->txns.by_skey, skey);
}

struct txn *
txn_by_branch(struct proxy *px, const char *branch)
{
	return strmap_get(&px->txns.by_branch, branch);
}

/* ---- timers ---- */

static void txn_on_timer(uv_timer_t *h);
static void txn_failover(struct txn *t, const char *why, int keep_old);

static void
txn_arm(struct txn *t)
{
	uint64_t now = uv_now(t->px->loop);
	uint64_t next = t->deadline;

	if (t->retx_at != 0 && t->retx_at < next)
		next = t->retx_at;
	/* Failover is for a request nothing has answered yet. */
	if (t->state != TXN_TRYING)
		t->failover_at = 0;
	if (t->failover_at != 0 && t->failover_at < next)
		next = t->failover_at;
	uv_timer_start(&t->timer, txn_on_timer, next > now ? next - now : 0, 0);
}

static int
txn_dst_udp(const struct txn *t)
{
	return t->dst.side == SIDE_PBX && t->dst.tp == TP_UDP;
}

static void
txn_send_down(struct txn *t, const char *buf, size_t len)
{
	const char *why;
	uint64_t used;

	if (dest_send(t->px, &t->dst, buf, len, &used, &why) < 0)
		log_debug(t->callid, "resend downstream failed: %s", why);
}

static void
txn_send_up_buf(struct txn *t)
{
	if (t->resp_buf != NULL)
		reply_upstream(t->px, &t->src, NULL, t->resp_buf, t->resp_len);
}

static void
txn_timeout(struct txn *t)
{
	if (t->state == TXN_COMPLETED || t->state == TXN_CONFIRMED) {
		txn_free(t);
		return;
	}
	if (t->method == sip_method_invite && t->state == TXN_PROCEEDING) {
		/* Timer C: give up on the callee, cancel downstream. */
		txn_upstream_cancel(t);
	}
	log_warn(t->callid, "%s to %s: no final response, answering 408",
	    t->req ? sip_object(t->req)->sip_request->rq_method_name : "request",
	    t->dst.host);
	txn_reply(t, 408, "Request Timeout");
}

static void
txn_on_timer(uv_timer_t *h)
{
	struct txn *t = h->data;
	uint64_t now = uv_now(t->px->loop);

	if (t->failover_at != 0 && now >= t->failover_at && t->state == TXN_TRYING) {
		char why[64];
		snprintf(why, sizeof(why), "no response in %d s",
		    t->px->cfg->trunks[t->dst.trunk].failover_timeout);
		txn_failover(t, why, 1);
		return;
	}
	if (now >= t->deadline) {
		txn_timeout(t);
		return;
	}
	if (t->retx_at != 0 && now >= t->retx_at) {
		if (t->state == TXN_TRYING || t->state == TXN_PROCEEDING) {
			/* Timer A / E: our request toward a UDP PBX. */
			if (t->state == TXN_TRYING || t->method != sip_method_invite)
				txn_send_down(t, t->req_buf, t->req_len);
			if (t->cancel_buf != NULL && !t->cancel_answered)
				txn_send_down(t, t->cancel_buf, t->cancel_len);
			t->retx_iv *= 2;
			if (t->method != sip_method_invite && t->retx_iv > T2)
				t->retx_iv = T2;
		} else if (t->state == TXN_COMPLETED) {
			/* Timer G: our non-2xx final toward a UDP source. */
			txn_send_up_buf(t);
			t->retx_iv = t->retx_iv * 2 > T2 ? T2 : t->retx_iv * 2;
		}
		t->retx_at = now + t->retx_iv;
	}
	txn_arm(t);
}

/* ---- sending ---- */

int
txn_forward(struct txn *t)
{
	const char *why = NULL;
	int r;

	if ((t->req_buf = sipmsg_print(t->req, &t->req_len)) == NULL ||
	    txn_fit_udp(t) < 0) {
		txn_reply(t, 500, "Server Internal Error");
		return -ENOMEM;
	}
	t->state = TXN_TRYING;
	t->deadline = uv_now(t->px->loop) + TIMER_B;
	t->failover_at = t->ch != NULL ? uv_now(t->px->loop) +
	    1000 * (uint64_t)t->px->cfg->trunks[t->dst.trunk].failover_timeout : 0;
	if (txn_dst_udp(t)) {
		t->retx_iv = T1;
		t->retx_at = uv_now(t->px->loop) + T1;
	}
	if (t->method == sip_method_invite && txn_initial(t) && !t->unanswered) {
		t->unanswered = 1;
		t->px->txns.unanswered++;
	}
	r = dest_send(t->px, &t->dst, t->req_buf, t->req_len, &t->dst_conn, &why);
	if (r < 0) {
		log_warn(t->callid, "cannot forward %s (%zu bytes) to %s:%u: %s",
		    sip_object(t->req)->sip_request->rq_method_name, t->req_len,
		    t->dst.host, t->dst.port, why ? why : "send failed");
		if (r == -EMSGSIZE)	/* no other proxy takes it either */
			txn_reply(t, 513, "Message Too Large");
		else if (t->ch != NULL)
			txn_failover(t, why ? why : "send failed", 0);
		else
			txn_reply(t, 503, "Service Unavailable");
		return r;
	}
	log_debug(t->callid, "%s forwarded to %s:%u",
	    sip_object(t->req)->sip_request->rq_method_name, t->dst.host, t->dst.port);
	txn_arm(t);
	return 0;
}

/* The PBX at d's address is configured for TCP. */
static int
txn_pbx_tcp(const struct config *cfg, const struct sip_dest *d)
{
	for (int i = 0; i < cfg->npbx; i++)
		if (netaddr_equal((const struct sockaddr *)&d->addr,
		    (const struct sockaddr *)&cfg->pbxs[i].address.ss))
			return cfg->pbxs[i].address_transport == CFG_TP_TCP;
	return 0;
}

/*
 * A request too large for a datagram goes to the PBX over TCP when the
 * PBX is configured for TCP (RFC 3261 18.1.1), with its Via saying so;
 * otherwise dest_send refuses it and the sender gets 513.
 */
static int
txn_fit_udp(struct txn *t)
{
	struct proxy *px = t->px;

	if (t->dst.side != SIDE_PBX || !txn_pbx_tcp(px->cfg, &t->dst) ||
	    dest_too_large(px, SIDE_PBX, t->dst.tp, t->req_len) == NULL)
		return 0;
	log_info(t->callid, "%zu-byte request to the PBX goes over TCP",
	    t->req_len);
	t->dst.tp = TP_TCP;
	t->dst.conn_id = 0;
	free(t->req_buf);
	t->req_buf = NULL;
	if (hdr_replace_via(px, t->req, &t->dst, t->branch) < 0 ||
	    (t->req_buf = sipmsg_print(t->req, &t->req_len)) == NULL)
		return -ENOMEM;
	return 0;
}

/* An INVITE outside any dialog: its outcome opens or ends a call. */
static int
txn_initial(const struct txn *t)
{
	return t->req != NULL && sip_object(t->req)->sip_to->a_tag == NULL;
}

/* The request (parsed and printed): nothing after the final needs it. */
static void
txn_drop_request(struct txn *t)
{
	if (t->req != NULL)
		msg_destroy(t->req);
	t->req = NULL;
	free(t->req_buf);
	t->req_buf = NULL;
}

/*
 * A final response from downstream went upstream; keep only what the
 * rest of the transaction's life needs.
 * - INVITE 2xx: absorbing retransmissions, which the server key does as
 *   well as the whole transaction (accepted.h).  One with attempts given
 *   up on stays for its 32 s, for their late finals need our hop-by-hop
 *   ACK, but without the request and the 2xx (2xx retransmissions pass
 *   statelessly).
 * - Other methods: a copy of the request arriving again gets the final
 *   again (Timer J, 64 x T1 on UDP); nothing else needs the request.  On
 *   a stream Timer J is 0: the transaction ends here (RFC 3261 17.2.2).
 * An INVITE's non-2xx waits for its ACK as it is.
 */
static void
txn_finish(struct txn *t, int status)
{
	if (t->method == sip_method_invite) {
		if (status >= 300)
			return;
		if (t->nold == 0 &&
		    accepted_add(&t->px->accepted, t->skey, t->branch) == 0) {
			txn_free(t);
			return;
		}
		free(t->resp_buf);
		t->resp_buf = NULL;
		t->resp_len = 0;
	} else if (t->src.tp != TP_UDP) {
		txn_free(t);
		return;
	}
	txn_drop_request(t);
}

/* A new call's outcome, in all and by its trunk and PBX. */
static void
txn_count_call(struct txn *t, int result)
{
	struct metrics *m = &t->px->metrics;
	int trunk, pbx;

	m->calls[t->src.side][result]++;
	if (dialog_parties(t->px, t->callid, &trunk, &pbx) == 0)
		m->route_calls[t->src.side][trunk][pbx][result]++;
}

/* Remember what went upstream; start Timer G / the wait for the end. */
static void
txn_store_response(struct txn *t, char *buf, size_t len, int status)
{
	uint64_t now = uv_now(t->px->loop);

	free(t->resp_buf);
	t->resp_buf = buf;
	t->resp_len = len;
	t->resp_status = status;
	if (status < 200)
		return;
	if (t->method == sip_method_invite && txn_initial(t))
		txn_count_call(t, status < 300 ? MR_ANSWERED : status == 487 ?
		    MR_CANCELLED : MR_FAILED);
	if (status >= 300 && t->method == sip_method_invite && txn_initial(t)) {
		char why[32];
		dialog_status(t->px, t->callid, status);
		snprintf(why, sizeof(why), "INVITE answered %d", status);
		dialog_forget(t->px, t->callid, why);
	}
	t->state = TXN_COMPLETED;
	t->retx_at = 0;
	t->deadline = now + TIMER_B;
	if (t->method == sip_method_invite && status >= 300 &&
	    t->src.tp == TP_UDP) {
		t->retx_iv = T1;
		t->retx_at = now + T1;
	}
	txn_arm(t);
}

void
txn_reply(struct txn *t, int status, const char *phrase)
{
	msg_t *resp;
	char *buf;
	size_t len;

	if (t->state >= TXN_COMPLETED)
		return;
	if (status >= 200)
		txn_answered(t);	/* by us: a timeout, no proxy left... */
	/* Upstream's Vias are those of t->req below our own. */
	resp = sipmsg_response(t->req, 1, status, phrase);
	if (resp == NULL)
		return;
	if (status >= 300 && t->px->hooks.on_response != NULL)
		t->px->hooks.on_response(t->px->hooks.ctx, resp, sip_object(resp),
		    t->dst.side);
	buf = sipmsg_print(resp, &len);
	if (buf != NULL) {
		reply_upstream(t->px, &t->src, resp, buf, len);
		if (status >= 200)
			log_info(t->callid, "%s answered %d %s",
			    sip_object(t->req)->sip_request->rq_method_name, status,
			    sip_object(resp)->sip_status->st_phrase);
		txn_store_response(t, buf, len, status);
	}
	msg_destroy(resp);
}

static void
txn_send_ack(struct txn *t, sip_t *resp)
{
	msg_t *ack;

	/* A non-2xx after the 2xx we passed on (txn_finish): the transaction
	 * is over on that branch, nothing to ACK it for (found by fuzzing). */
	if (t->req == NULL)
		return;
	if ((ack = sipmsg_hop_request(t->req, resp, sip_method_ack)) == NULL)
		return;
	free(t->ack_buf);
	t->ack_buf = sipmsg_print(ack, &t->ack_len);
	if (t->ack_buf != NULL)
		txn_send_down(t, t->ack_buf, t->ack_len);
	msg_destroy(ack);
}

static void
txn_send_cancel(struct txn *t)
{
	msg_t *c;

	t->cancel_pending = 0;
	if (t->req == NULL ||
	    (c = sipmsg_hop_request(t->req, NULL, sip_method_cancel)) == NULL)
		return;
	free(t->cancel_buf);
	t->cancel_buf = sipmsg_print(c, &t->cancel_len);
	if (t->cancel_buf != NULL) {
		log_info(t->callid, "CANCEL forwarded to %s", t->dst.host);
		txn_send_down(t, t->cancel_buf, t->cancel_len);
	}
	msg_destroy(c);
}

/* A response the media bridge will not pass: end the call downstream,
 * refuse it upstream. */
static void
txn_refuse(struct txn *t, sip_t *sip, int status)
{
	int st = sip->sip_status->st_status;

	if (st >= 200 && st < 300 && t->method == sip_method_invite) {
		/* Without t->req a 2xx went upstream already: the call is on. */
		if (t->req != NULL)
			uac_abort_2xx(t->px, t->req, sip, t->dst.side);
	}
	else if (st < 200)
		txn_upstream_cancel(t);
	if (t->state < TXN_COMPLETED)
		txn_reply(t, status, NULL);
}

/* A response on the branch of an attempt we abandoned after a timeout:
 * that proxy woke up late.  Keep exactly one call: end this one. */
static void
txn_old_response(struct txn *t, sip_t *sip)
{
	int st = sip->sip_status->st_status;
	struct txn_attempt *a = NULL;
	const char *why;
	uint64_t used;
	msg_t *m = NULL;
	char *buf;
	size_t len;

	for (int i = 0; i < t->nold; i++)
		if (strcmp(t->old[i].branch, sip->sip_via->v_branch) == 0)
			a = &t->old[i];
	if (a == NULL || sip->sip_cseq->cs_method != sip_method_invite)
		return;
	if (st >= 200 && st < 300) {
		log_warn(t->callid, "late 2xx from %s after failover: ending it",
		    a->dst.host);
		uac_abort_2xx(t->px, a->req, sip, SIDE_CLOUD);
		return;
	}
	m = sipmsg_hop_request(a->req, st >= 300 ? sip : NULL,
	    st >= 300 ? sip_method_ack : sip_method_cancel);
	if (m != NULL && (buf = sipmsg_print(m, &len)) != NULL) {
		dest_send(t->px, &a->dst, buf, len, &used, &why);
		free(buf);
	}
	if (m != NULL)
		msg_destroy(m);
}

/*
 * The proxy this new call went to failed it (no connection, TLS check
 * failed, no response in failover_timeout, 503): mark it down and send
 * the same INVITE to the next healthy one.  The PBX sees one call.
 */
static void
txn_failover(struct txn *t, const char *why, int keep_old)
{
	struct proxy *px = t->px;
	struct cloud_host *next;
	struct sip_dest d;
	char branch[BRANCH_MAX];

	health_mark(t->ch, 0, why);
	next = health_pick(&px->clouds[t->dst.trunk], t->tried, t->callid);
	if (next == NULL || t->nold >= CFG_MAX_HOSTS) {
		log_warn(t->callid, "no other cloud proxy to try after %s: %s",
		    t->ch->name, why);
		txn_reply(t, 503, "Service Unavailable");
		return;
	}
	log_warn(t->callid, "INVITE to %s failed (%s): trying %s", t->ch->name,
	    why, next->name);
	/* A proxy that only timed out may still answer: keep its branch
	 * pointing here, with enough to end that call (txn_old_response).
	 * Rare, so the room for it is made only now. */
	if (keep_old && t->old == NULL)
		t->old = calloc(CFG_MAX_HOSTS, sizeof(*t->old));
	if (keep_old && t->old != NULL &&
	    (t->old[t->nold].req = msg_dup(t->req)) != NULL) {
		struct txn_attempt *a = &t->old[t->nold++];
		snprintf(a->branch, sizeof(a->branch), "%s", t->branch);
		a->dst = t->dst;
	} else {
		strmap_del(&px->txns.by_branch, t->branch);
	}
	branch_make(branch, px->branch_salt, BRANCH_TXN, ++px->txns.seq);
	dest_cloud(&d, t->dst.trunk, next->name, next->port);
	if (hdr_retarget_cloud(px, t->req, next) < 0 ||
	    hdr_replace_via(px, t->req, &d, branch) < 0 ||
	    strmap_put(&px->txns.by_branch, branch, t) < 0) {
		txn_reply(t, 503, "Service Unavailable");
		return;
	}
	snprintf(t->branch, sizeof(t->branch), "%s", branch);
	t->ch = next;
	t->tried |= 1u << next->index;
	t->dst = d;
	t->dst_conn = 0;
	free(t->req_buf);
	t->req_buf = NULL;
	txn_forward(t);
}

void
txn_response(struct txn *t, msg_t *msg, sip_t *sip)
{
	int status = sip->sip_status->st_status;
	uint64_t now = uv_now(t->px->loop);
	char *buf;
	size_t len;
	int refuse;

	if (strcmp(sip->sip_via->v_branch, t->branch) != 0) {
		txn_old_response(t, sip);	/* an attempt we gave up on */
		goto done;
	}
	txn_answered(t);
	if (sip->sip_cseq->cs_method == sip_method_cancel) {
		t->cancel_answered = 1;		/* hop-by-hop: ends here */
		goto done;
	}
	if (status == 503 && t->ch != NULL && !t->fwd_1xx &&
	    t->state < TXN_COMPLETED) {
		txn_send_ack(t, sip);
		txn_failover(t, "INVITE answered 503", 0);
		goto done;
	}
	if (t->state >= TXN_COMPLETED) {
		/* A retransmitted final: re-ACK a non-2xx, pass a 2xx on. */
		if (status >= 300 && t->method == sip_method_invite && t->ack_buf)
			txn_send_down(t, t->ack_buf, t->ack_len);
		else if (status >= 300 && t->method == sip_method_invite)
			txn_send_ack(t, sip);	/* final after we answered (487) */
		else if (status >= 200 && status < 300 && t->method == sip_method_invite)
			goto forward;
		goto done;
	}
	if (status < 200) {
		t->state = TXN_PROCEEDING;
		t->failover_at = 0;	/* the proxy is alive and on it */
		if (t->ch != NULL)
			health_mark(t->ch, 1, "answered an INVITE");
		if (status > 100)
			t->fwd_1xx = 1;
		if (t->method == sip_method_invite) {
			t->retx_at = 0;
			t->deadline = now + TIMER_C;
		} else if (t->retx_at != 0) {
			t->retx_iv = T2;
		}
		if (t->cancel_pending)
			txn_send_cancel(t);
		txn_arm(t);
		if (status == 100)
			goto done;	/* hop-by-hop; we sent our own */
	} else {
		if (t->method == sip_method_invite && status >= 300)
			txn_send_ack(t, sip);
		if (t->method == sip_method_invite && txn_initial(t) && status < 300)
		{
			char from[64];
			dialog_confirm(t->px, sip, t->dst.side == SIDE_CLOUD ?
			    t->dst.host : dest_src_str(&t->src, from, sizeof(from)));
		}
		log_info(t->callid, "%s answered %d by %s",
		    sip_object(t->req)->sip_request->rq_method_name, status,
		    t->dst.host);
	}
forward:
	/* Our Via is on top; the rest of the response goes upstream as is. */
	sip_header_remove(msg, sip, (sip_header_t *)sip->sip_via);
	if (sip->sip_via == NULL) {
		/* RFC 3261 16.7 step 3: a response with no Via left is ours
		 * to consume, not to forward. */
		log_warn(t->callid, "response %d with only our Via dropped", status);
		goto done;
	}
	if (t->px->hooks.on_response != NULL && (refuse = t->px->hooks.on_response(
	    t->px->hooks.ctx, msg, sip, t->dst.side)) != 0) {
		txn_refuse(t, sip, refuse);
		goto done;
	}
	if ((buf = sipmsg_print(msg, &len)) == NULL)
		goto done;
	reply_upstream(t->px, &t->src, msg, buf, len);
	if (t->state >= TXN_COMPLETED)
		free(buf);
	else
		txn_store_response(t, buf, len, status);
	if (status >= 200)
		txn_finish(t, status);
done:
	msg_destroy(msg);
}

void
txn_upstream_retransmit(struct txn *t)
{
	txn_send_up_buf(t);
}

void
txn_upstream_ack(struct txn *t)
{
	if (t->state != TXN_COMPLETED || t->resp_status < 300)
		return;
	t->state = TXN_CONFIRMED;
	t->retx_at = 0;
	t->deadline = uv_now(t->px->loop) + (t->src.tp == TP_UDP ? TIMER_I : 0);
	txn_arm(t);
}

void
txn_upstream_cancel(struct txn *t)
{
	if (t->state >= TXN_COMPLETED || t->cancel_buf != NULL)
		return;
	if (t->state == TXN_PROCEEDING)
		txn_send_cancel(t);
	else
		t->cancel_pending = 1;	/* RFC 3261 9.1: wait for a 1xx */
}

void
txn_conn_lost(struct txn *t)
{
	/* Nothing but (at most) a 100 came back on it: the call is still ours
	 * to place elsewhere.  After a ringing the PBX has seen, answer it
	 * now rather than at Timer C. */
	if (t->state == TXN_TRYING || (t->state == TXN_PROCEEDING && !t->fwd_1xx)) {
		if (t->ch != NULL)
			txn_failover(t, "connection lost", t->state == TXN_PROCEEDING);
		else
			txn_reply(t, 503, "Service Unavailable");
	} else if (t->state == TXN_PROCEEDING && t->method == sip_method_invite) {
		log_warn(t->callid, "connection to %s lost while the call rang",
		    t->dst.host);
		txn_reply(t, 503, "Service Unavailable");
	}
}

int
txn_table_init(struct proxy *px)
{
	LIST_INIT(&px->txns.all);
	if (strmap_init(&px->txns.by_skey, 1024) < 0 ||
	    strmap_init(&px->txns.by_branch, 1024) < 0)
		return -ENOMEM;
	return 0;
}

void
txn_table_close(struct proxy *px)
{
	while (!LIST_EMPTY(&px->txns.all))
		txn_free(LIST_FIRST(&px->txns.all));
}

void
txn_table_free(struct proxy *px)
{
	strmap_free(&px->txns.by_skey);
	strmap_free(&px->txns.by_branch);
}

void
txn_conn_closed(struct proxy *px, uint64_t conn_id)
{
	struct txn *t, *next;

	for (t = LIST_FIRST(&px->txns.all); t != NULL; t = next) {
		next = LIST_NEXT(t, link);
		if (t->dst_conn == conn_id)
			txn_conn_lost(t);
	}
}

int
txn_pending(struct proxy *px)
{
	struct txn *t;
	int n = 0;

	LIST_FOREACH(t, &px->txns.all, link)
		n += t->state < TXN_COMPLETED;
	return n;
}

int
txn_unanswered(const struct proxy *px)
{
	return px->txns.unanswered;
}
