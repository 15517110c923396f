/*
 * route.c - the proxy's decisions.  PBX -> cloud: Request-URI rewritten
 * to the trunk URI of a cloud proxy, TLS only.  Cloud -> PBX: delivered
 * to the configured PBX.  Both: our Via, a double Record-Route (RFC 5658)
 * on dialog-creating requests, our Route entries popped on the way back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

#include "branch.h"
#include "cloud_uri.h"
#include "conn.h"
#include "dest.h"
#include "dialog.h"
#include "hdr.h"
#include "health.h"
#include "admission.h"
#include "log.h"
#include "netaddr.h"
#include "plan.h"
#include "reply.h"
#include "route.h"
#include "sipmsg.h"
#include "txn.h"


/* A response of our own to a request we will not forward. */
static void
route_reply(struct proxy *px, msg_t *req, const struct sip_src *src,
    int status, const char *phrase)
{
	msg_t *resp;
	char *buf;
	size_t len;

	if (sip_object(req)->sip_request == NULL ||
	    sip_object(req)->sip_request->rq_method == sip_method_ack)
		return;		/* never answer an ACK */
	if ((resp = sipmsg_response(req, 0, status, phrase)) == NULL)
		return;
	if ((buf = sipmsg_print(resp, &len)) != NULL) {
		reply_upstream(px, src, resp, buf, len);
		free(buf);
	}
	msg_destroy(resp);
}

/* ---- targets ---- */

/* Where a new call goes and whom it came from, for the dialog and logs. */
struct route_call {
	int trunk;			/* cfg->trunks index */
	int pbx;			/* cfg->pbxs index */
	struct plan_choice pc;
};

/* The number plan's verdict, logged the way an operator searches for it. */
static int
route_plan(struct proxy *px, msg_t *msg, sip_t *sip, int dir, int src,
    struct route_call *rc)
{
	const struct config *cfg = px->cfg;
	const char *cid = sipmsg_callid(sip);
	const char *from = src < 0 ? "an unknown trunk" : dir == NP_TO_CLOUD ?
	    cfg->pbxs[src].name : cfg->trunks[src].name;
	int r = plan_apply(cfg, msg, sip, dir, src, &rc->pc);

	if (r < 0 && r != -ENOMEM)
		px->metrics.no_route[dir == NP_TO_CLOUD ? SIDE_PBX : SIDE_CLOUD]++;
	if (r == -ENOENT)
		log_warn(cid, "no route for number '%s' from %s %s: 404",
		    rc->pc.number, dir == NP_TO_CLOUD ? "pbx" : "trunk", from);
	else if (r == -EINVAL)
		log_warn(cid, "number '%s' from %s: rule %s made no number of "
		    "it: 404", rc->pc.number, from,
		    rc->pc.failed ? rc->pc.failed : "?");
	else if (r == 0 && rc->pc.route != NULL)
		log_info(cid, "route %s: number '%s' from %s -> %s %s%s%s",
		    rc->pc.route->name, rc->pc.number, from,
		    dir == NP_TO_CLOUD ? "trunk" : "pbx", dir == NP_TO_CLOUD ?
		    cfg->trunks[rc->pc.target].name :
		    cfg->pbxs[rc->pc.target].name, rc->pc.applied[0] ? "; " : "",
		    rc->pc.applied);
	return r < 0 ? (r == -ENOMEM ? r : -ENOENT) : 0;
}

/* Out-of-dialog request from a PBX: its route's trunk, the trunk URI of
 * one of that trunk's proxies. */
static int
route_target_cloud_new(struct proxy *px, msg_t *msg, sip_t *sip,
    struct sip_dest *d, struct cloud_host **chp, struct route_call *rc)
{
	struct cloud_host *ch;
	int r;

	*chp = NULL;
	if ((r = route_plan(px, msg, sip, NP_TO_CLOUD, rc->pbx, rc)) < 0)
		return r;
	rc->trunk = rc->pc.target;
	ch = health_pick(&px->clouds[rc->trunk], 0, sipmsg_callid(sip));
	*chp = ch;
	if (ch == NULL)
		return -EINVAL;
	if ((r = hdr_retarget_cloud(px, msg, ch)) < 0)
		return r;
	dest_cloud(d, rc->trunk, ch->name, ch->port);
	return 0;
}

/*
 * The trunk a request from the cloud came in on: the one whose own
 * connection carried it, else the first whose allow lists its source;
 * -1 when neither (only routes without from_trunk take it).
 */
static int
route_src_trunk(struct proxy *px, const struct sip_src *src)
{
	struct conn *c = src->conn_id ? conn_find_id(&px->conns, src->conn_id) :
	    NULL;
	int t = c != NULL ? cloud_conn_trunk(px->clouds, px->nclouds, c) : -1;

	return t >= 0 ? t : config_trunk_by_source(px->cfg,
	    (const struct sockaddr *)&src->addr);
}

/* Out-of-dialog request from the cloud: its route's PBX. */
static int
route_target_pbx_new(struct proxy *px, msg_t *msg, sip_t *sip,
    struct sip_dest *d, const struct sip_src *src, struct route_call *rc)
{
	const struct cfg_pbx *pbx;
	int tp, src_trunk = route_src_trunk(px, src), r;
	char uri[1024];

	if ((r = route_plan(px, msg, sip, NP_TO_PBX, src_trunk, rc)) < 0)
		return r;
	rc->trunk = src_trunk >= 0 ? src_trunk : 0;
	rc->pbx = rc->pc.target;
	pbx = &px->cfg->pbxs[rc->pbx];
	tp = pbx->address_transport == CFG_TP_TCP ? TP_TCP : TP_UDP;
	if (plan_pbx_uri(pbx, sip->sip_request->rq_url->url_user, uri,
	    sizeof(uri)) < 0 || hdr_set_ruri(msg, sip, uri) < 0)
		return -EINVAL;
	return dest_pbx(px, d, pbx->address.host, pbx->address.port, tp);
}

/* ---- requests ---- */

/* A PBX sends only on the transports its section lists. */
static int
route_pbx_transport_ok(const struct config *cfg, int pbx, int tp)
{
	unsigned want = tp == TP_TCP ? CFG_TP_TCP : CFG_TP_UDP;

	return pbx >= 0 && (cfg->pbxs[pbx].transports & want) != 0;
}

/*
 * The PBX a request comes from (its cfg->pbxs index; 0 for the cloud
 * side, whose trunk route.c finds later), or -1 when no PBX may send it.
 */
static int
route_source_pbx(struct proxy *px, msg_t *msg, const struct sip_src *src)
{
	char a[64];
	unsigned n = 0;
	int pbx;

	if (src->side != SIDE_PBX)
		return 0;
	pbx = config_pbx_find(px->cfg, (const struct sockaddr *)&src->addr);
	if (route_pbx_transport_ok(px->cfg, pbx, src->tp))
		return pbx;
	/* Toll fraud probes come in floods: a line per source per minute. */
	px->metrics.refused_sources++;
	if (admission_log_due(px, (const struct sockaddr *)&src->addr, &n))
		log_warn(sipmsg_callid(sip_object(msg)),
		    "refused request from %s: no [pbx] allow lists it for this "
		    "transport (%u more from it in the last minute not logged)", dest_src_str(src, a, sizeof(a)), n);
	return -1;
}

static int
route_max_forwards(msg_t *msg, sip_t *sip)
{
	if (sip->sip_max_forwards == NULL)
		return sip_add_make(msg, sip, sip_max_forwards_class, "70") < 0 ?
		    -ENOMEM : 0;
	if (sip->sip_max_forwards->mf_count == 0)
		return -ELOOP;
	sip->sip_max_forwards->mf_count--;
	msg_fragment_clear(sip->sip_max_forwards->mf_common);
	return 0;
}

/* CANCEL: answered here, passed on as our own CANCEL (hop by hop). */
static void
route_cancel(struct proxy *px, msg_t *msg, sip_t *sip, const struct sip_src *src)
{
	char skey[512];
	struct txn *t = NULL;

	if (txn_skey(sip, 1, skey, sizeof(skey)) == 0)
		t = txn_by_skey(px, skey);
	if (t == NULL && accepted_has(&px->accepted, skey)) {
		route_reply(px, msg, src, 200, "OK");	/* too late: no effect */
		return;
	}
	if (t == NULL) {
		route_reply(px, msg, src, 481, "Call/Transaction Does Not Exist");
		return;
	}
	route_reply(px, msg, src, 200, "OK");
	log_info(t->callid, "CANCEL from %s", sip_side_name[src->side]);
	txn_upstream_cancel(t);
}

/* ACK for a 2xx, and anything else we pass without a transaction. */
static void
route_stateless(struct proxy *px, msg_t *msg, sip_t *sip,
    const struct sip_dest *d)
{
	char branch[BRANCH_MAX], *buf;
	const char *why;
	const char *in = sip->sip_via->v_branch ? sip->sip_via->v_branch : "";
	uint64_t used, h;
	size_t len;

	/* Same incoming branch, same outgoing branch: retransmissions of
	 * the ACK stay recognisable downstream. */
	h = strmap_hash_bytes(in, strlen(in));
	branch_make(branch, px->branch_salt, BRANCH_ACK, h);
	if (hdr_add_via(px, msg, sip, d, branch) < 0 ||
	    (buf = sipmsg_print(msg, &len)) == NULL)
		return;
	if (dest_send(px, d, buf, len, &used, &why) < 0)
		log_warn(sipmsg_callid(sip), "%s to %s dropped: %s",
		    sip->sip_request->rq_method_name, d->host, why);
	free(buf);
}

static int
route_creates_dialog(sip_t const *sip)
{
	sip_method_t m = sip->sip_request->rq_method;

	return m == sip_method_invite || m == sip_method_subscribe ||
	    m == sip_method_refer || m == sip_method_notify;
}

static void
route_request_forward(struct proxy *px, msg_t *msg, sip_t *sip,
    const struct sip_src *src, int pbx, const char *skey)
{
	const char *cid = sipmsg_callid(sip);
	int to_side = src->side == SIDE_PBX ? SIDE_CLOUD : SIDE_PBX;
	int in_dialog = sip->sip_to->a_tag != NULL;
	sip_method_t m = sip->sip_request->rq_method;
	struct sip_dest d;
	struct cloud_host *ch = NULL;
	struct route_call rc = { .trunk = 0, .pbx = pbx };
	struct txn *t;
	const char *why;
	uint64_t ttc;
	int r, want_rr = 0;

	hdr_pop_ours(px, msg, sip, &ttc);
	/* The ACK of a final response we made ourselves (403, 483, 488...)
	 * names us as its target: it ends here, quietly. */
	if (m == sip_method_ack && hdr_url_side(px, sip->sip_route ?
	    sip->sip_route->r_url : sip->sip_request->rq_url) >= 0)
		goto done;
	if (sip->sip_route != NULL && hdr_url_side(px, sip->sip_route->r_url) >= 0) {
		/* Our two entries are gone and the next still names us. */
		log_warn(cid, "%s from %s: its Route set leads back to us",
		    sip->sip_request->rq_method_name, sip_side_name[src->side]);
		route_reply(px, msg, src, 482, "Loop Detected");
		goto done;
	}
	if (in_dialog && sip->sip_route == NULL &&
	    hdr_url_side(px, sip->sip_request->rq_url) >= 0) {
		/* In a dialog with us as the far end: we are no party to any
		 * dialog, so this one does not exist here (RFC 3261 12.2.2). */
		log_info(cid, "%s from %s for a dialog we do not know: 481",
		    sip->sip_request->rq_method_name, sip_side_name[src->side]);
		route_reply(px, msg, src, 481, "Call/Transaction Does Not Exist");
		goto done;
	}
	if (px->draining && !in_dialog && m == sip_method_invite) {
		log_info(cid, "INVITE refused: draining for shutdown");
		route_reply(px, msg, src, 503, "Service Unavailable");
		goto done;
	}
	if (!in_dialog && m == sip_method_invite && (r = admission_call_check(px,
	    (const struct sockaddr *)&src->addr, &why)) != 0) {
		unsigned n = 0;
		if (admission_log_due(px, (const struct sockaddr *)&src->addr, &n))
			log_warn(cid, "INVITE from %s refused: %s (%u more refusals "
			    "from it not logged)", sip_side_name[src->side], why, n);
		px->metrics.calls_refused++;
		route_reply(px, msg, src, r, NULL);
		goto done;
	}
	if (!in_dialog && sip->sip_route == NULL) {
		if (m == sip_method_options && (src->side == SIDE_CLOUD ||
		    sip->sip_request->rq_url->url_user == NULL)) {
			/* Keepalive for us (the cloud's, or the PBX's own). */
			route_reply(px, msg, src, 200, "OK");
			goto done;
		}
		if (m == sip_method_register) {
			route_reply(px, msg, src, 405, "Method Not Allowed");
			goto done;
		}
		r = to_side == SIDE_CLOUD ?
		    route_target_cloud_new(px, msg, sip, &d, &ch, &rc) :
		    route_target_pbx_new(px, msg, sip, &d, src, &rc);
		if (r == -ENOENT) {
			route_reply(px, msg, src, 404, "Not Found");
			goto done;
		}
		if (r < 0) {
			log_warn(cid, "%s from %s: no valid target (user '%s')",
			    sip->sip_request->rq_method_name, sip_side_name[src->side],
			    sip->sip_request->rq_url->url_user ?
			    sip->sip_request->rq_url->url_user : "");
			route_reply(px, msg, src, r == -EPERM ? 403 : 404,
			    r == -EPERM ? "Forbidden" : "Not Found");
			goto done;
		}
		want_rr = route_creates_dialog(sip);
	} else if (hdr_dialog_target(px, sip, to_side, ttc, &d) < 0) {
		log_warn(cid, "%s from %s: next hop not allowed",
		    sip->sip_request->rq_method_name, sip_side_name[src->side]);
		route_reply(px, msg, src, 403, "Forbidden");
		goto done;
	} else if (to_side == SIDE_CLOUD) {
		d.trunk = dialog_trunk(px, cid);
	}
	if (px->hooks.on_request != NULL &&
	    (r = px->hooks.on_request(px->hooks.ctx, msg, sip, src->side)) != 0) {
		log_warn(cid, "%s from %s refused with %d by the media bridge",
		    sip->sip_request->rq_method_name, sip_side_name[src->side], r);
		route_reply(px, msg, src, r, NULL);
		goto done;
	}
	if (m == sip_method_ack) {
		route_stateless(px, msg, sip, &d);
		goto done;
	}
	if ((t = txn_new(px, skey, src, sip)) == NULL)
		goto fail;
	t->dst = d;
	/* Via first, then Record-Route: each lands on top of its own kind,
	 * and the Vias stay together in the printed message. */
	if (hdr_add_via(px, msg, sip, &d, t->branch) < 0 ||
	    (want_rr && hdr_add_rr(px, msg, sip, to_side,
	    to_side == SIDE_PBX ? d.tp : src->tp,
	    src->side == SIDE_CLOUD ? src->conn_id : 0) < 0)) {
		txn_free(t);
		goto fail;
	}
	t->req = msg;
	if (ch != NULL && m == sip_method_invite) {
		/* A new call may move to the next proxy if this one fails. */
		t->ch = ch;
		t->tried = 1u << ch->index;
	}
	if (!in_dialog && m == sip_method_invite)
		dialog_open(px, sip, src->side, (const struct sockaddr *)&src->addr,
		    rc.trunk, rc.pbx);
	else if (in_dialog)
		dialog_request(px, sip, src->side);
	if (in_dialog && m == sip_method_bye)
		dialog_forget(px, cid, src->side == SIDE_PBX ? "BYE from pbx" :
		    "BYE from cloud");
	if (m == sip_method_invite) {
		log_info(cid, "INVITE %s -> %s %s", sip_side_name[src->side],
		    sip_side_name[to_side], d.host);
		txn_reply(t, 100, "Trying");
	}
	txn_forward(t);
	return;
fail:
	route_reply(px, msg, src, 500, "Server Internal Error");
done:
	msg_destroy(msg);
}

/*
 * The status for a request sipmsg_check refused.  A SIP version other than
 * 2.0 is 505 (RFC 3261 21.5.6); a Request-URI scheme we do not route
 * (foo:, tel:, ...) is no syntax error either: RFC 3261 16.3 item 2 wants
 * 416 Unsupported URI Scheme for it.  Anything else is 400.
 */
static int
route_bad_status(sip_t const *sip)
{
	url_t const *u = sip->sip_request->rq_url;

	if (!sipmsg_version_ok(sip))
		return 505;
	return u != NULL && u->url_type != url_sip && u->url_type != url_sips ?
	    416 : 400;
}

void
route_request(struct proxy *px, msg_t *msg, sip_t *sip,
    const struct sip_src *src)
{
	const char *cid = sipmsg_callid(sip), *bad;
	char skey[512];
	struct txn *t;
	int pbx;

	if ((pbx = route_source_pbx(px, msg, src)) < 0) {
		route_reply(px, msg, src, 403, "Forbidden");
		goto done;
	}
	if (msg_get_flags(msg, MSG_FLG_TOOLARGE)) {
		log_warn(cid, "%s from %s over [limits] max_message_size (%zu "
		    "bytes) refused: 513", sip->sip_request->rq_method_name,
		    sip_side_name[src->side], px->cfg->limits.max_message_size);
		route_reply(px, msg, src, 513, "Message Too Large");
		goto done;
	}
	if ((bad = sipmsg_check(msg, sip)) != NULL ||
	    txn_skey(sip, sip->sip_request->rq_method == sip_method_ack,
	    skey, sizeof(skey)) < 0) {
		log_warn(cid, "bad request from %s: %s", sip_side_name[src->side],
		    bad ? bad : "oversized Via");
		if (sipmsg_answerable(sip))
			route_reply(px, msg, src, route_bad_status(sip),
			    bad ? bad : "Bad Request");
		goto done;
	}
	if (sipmsg_header_count(msg) > px->cfg->limits.max_headers) {
		log_warn(cid, "request from %s with more than %d header fields refused",
		    sip_side_name[src->side], px->cfg->limits.max_headers);
		route_reply(px, msg, src, 400, "Too Many Header Fields");
		goto done;
	}
	if (src->tp != TP_TLS)
		hdr_via_received(msg, sip, src);
	t = txn_by_skey(px, skey);
	if (t != NULL && sip->sip_request->rq_method == sip_method_ack &&
	    t->resp_status >= 300) {
		txn_upstream_ack(t);	/* ends our non-2xx: hop by hop */
		goto done;
	}
	if (t != NULL && sip->sip_request->rq_method != sip_method_ack) {
		txn_upstream_retransmit(t);
		goto done;
	}
	if (t == NULL && sip->sip_request->rq_method == sip_method_invite &&
	    accepted_has(&px->accepted, skey))
		goto done;	/* a retransmission after our 2xx: absorbed */
	if (sip->sip_request->rq_method == sip_method_cancel) {
		route_cancel(px, msg, sip, src);
		goto done;
	}
	if (hdr_via_loop(px, sip)) {
		/* The ACK of our own 482 comes round too: nothing to say. */
		if (sip->sip_request->rq_method == sip_method_ack) {
			log_debug(cid, "looped ACK dropped");
			goto done;
		}
		log_warn(cid, "%s from %s already passed through us: loop",
		    sip->sip_request->rq_method_name, sip_side_name[src->side]);
		route_reply(px, msg, src, 482, "Loop Detected");
		goto done;
	}
	if (route_max_forwards(msg, sip) < 0) {
		log_warn(cid, "Max-Forwards exhausted");
		route_reply(px, msg, src, 483, "Too Many Hops");
		goto done;
	}
	route_request_forward(px, msg, sip, src, pbx, skey);
	return;
done:
	msg_destroy(msg);
}

/* ---- responses ---- */

void
route_response(struct proxy *px, msg_t *msg, sip_t *sip,
    const struct sip_src *src)
{
	const char *cid = sipmsg_callid(sip), *bad;
	struct sip_dest d;
	struct txn *t;
	const char *why;
	uint64_t used;
	char *buf;
	size_t len;

	if (msg_get_flags(msg, MSG_FLG_TOOLARGE)) {
		log_warn(cid, "response %d from %s over [limits] max_message_size "
		    "(%zu bytes) dropped", sip->sip_status->st_status,
		    sip_side_name[src->side], px->cfg->limits.max_message_size);
		goto done;
	}
	if (sipmsg_header_count(msg) > px->cfg->limits.max_headers) {
		log_warn(cid, "response from %s with more than %d header fields dropped",
		    sip_side_name[src->side], px->cfg->limits.max_headers);
		goto done;
	}
	if ((bad = sipmsg_check(msg, sip)) != NULL || sip->sip_via->v_branch == NULL) {
		log_warn(cid, "bad response from %s dropped: %s",
		    sip_side_name[src->side], bad ? bad : "no branch");
		goto done;
	}
	if ((t = txn_by_branch(px, sip->sip_via->v_branch)) != NULL) {
		if (t->dst.side != src->side) {
			log_warn(cid, "response from the wrong side dropped");
			goto done;
		}
		txn_response(t, msg, sip);
		return;
	}
	for (int i = 0; src->side == SIDE_CLOUD && i < px->nclouds; i++)
		if (health_response(&px->clouds[i], sip))
			goto done;
	if (accepted_has_branch(&px->accepted, sip->sip_via->v_branch) &&
	    (sip->sip_status->st_status < 200 || sip->sip_status->st_status >= 300)) {
		/* After the 2xx only 2xx go on (RFC 6026 8.4): a provisional
		 * the 2xx overtook must not reach the caller after it. */
		log_debug(cid, "%d after the 2xx dropped", sip->sip_status->st_status);
		goto done;
	}
	/* No transaction (a 2xx retransmission after it ended): by Via. */
	if (!hdr_branch_ours(px, sip->sip_via->v_branch) ||
	    sip->sip_via->v_next == NULL) {
		log_debug(cid, "stray response %d dropped", sip->sip_status->st_status);
		goto done;
	}
	sip_header_remove(msg, sip, (sip_header_t *)sip->sip_via);
	if (px->hooks.on_response != NULL &&
	    px->hooks.on_response(px->hooks.ctx, msg, sip, src->side) != 0)
		goto done;	/* the transaction already refused it */
	if (hdr_dest_from_via(px, !src->side, sip->sip_via, &d) < 0) {
		log_warn(cid, "response toward a forbidden address dropped");
		goto done;
	}
	if (d.side == SIDE_CLOUD)
		d.trunk = dialog_trunk(px, cid);
	if ((buf = sipmsg_print(msg, &len)) != NULL) {
		dest_send(px, &d, buf, len, &used, &why);
		free(buf);
	}
done:
	msg_destroy(msg);
}
