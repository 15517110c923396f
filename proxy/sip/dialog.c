/*
 * dialog.c - the dialogs that cross tlstrunk, kept as a handful of
 * strings.  To end one we speak for each party toward the other: toward
 * the callee as the caller (Route from the callee's half of the
 * Record-Route, reversed) and toward the caller as the callee (Route from
 * the caller's half, in order), with a CSeq above anything seen.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/su_alloc.h>

#include "dialog.h"
#include "admission.h"
#include "log.h"
#include "wallclock.h"
#include "hdr.h"
#include "reply.h"
#include "uac.h"
#include "sipmsg.h"


int
dialog_table_init(struct proxy *px)
{
	return strmap_init(&px->dialogs, 256);
}

static void
dialog_free(struct dialog *dg)
{
	free(dg->callid);
	free(dg->proxy);
	free(dg->caller);
	free(dg->callee);
	free(dg->caller_target);
	free(dg->callee_target);
	free(dg->route_to_caller);
	free(dg->route_to_callee);
	free(dg);
}

size_t
dialog_count(const struct proxy *px)
{
	return px->dialogs.count;
}

void
dialog_table_free(struct proxy *px)
{
	for (size_t i = 0; i < px->dialogs.nbuckets; i++)
		for (struct strmap_entry *e = px->dialogs.buckets[i]; e; e = e->next)
			dialog_free(e->val);
	strmap_free(&px->dialogs);
}

/* A header's value ("<sip:a@b>;tag=x"): sofia prints it without name. */
static char *
dialog_hdr(sip_header_t const *h)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	char *s, *out = NULL;

	if (h == NULL)
		return NULL;
	if ((s = sip_header_as_string(home, h)) != NULL)
		out = strdup(s);
	su_home_deinit(home);
	return out;
}

static char *
dialog_url(url_t const *u)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	char *s = url_as_string(home, u), *out = s ? strdup(s) : NULL;

	su_home_deinit(home);
	return out;
}

void
dialog_open(struct proxy *px, sip_t const *invite, int from_side,
    const struct sockaddr *src, int trunk, int pbx)
{
	const char *cid = sipmsg_callid(invite);
	struct dialog *dg;

	if (strmap_get(&px->dialogs, cid) != NULL)
		return;
	if ((dg = calloc(1, sizeof(*dg))) == NULL)
		return;
	dg->callid = strdup(cid);
	dg->caller_side = from_side;
	dg->trunk = trunk;
	dg->pbx = pbx;
	dg->caller = dialog_hdr((sip_header_t const *)invite->sip_from);
	if (invite->sip_contact != NULL)
		dg->caller_target = dialog_url(invite->sip_contact->m_url);
	dg->cseq[from_side] = invite->sip_cseq->cs_seq;
	dg->started = uv_now(px->loop);
	admission_ip(src, dg->src_ip, sizeof(dg->src_ip));
	if (dg->callid == NULL || strmap_put(&px->dialogs, dg->callid, dg) < 0) {
		dialog_free(dg);
		return;
	}
	admission_call_start(px, dg->src_ip);
}

/* Join the Record-Route entries [from, to) as one Route value, in the
 * given direction. */
static char *
dialog_route(sip_record_route_t const **rr, int from, int to, int reverse)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	size_t len = 0, n;
	char *out = NULL;

	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < to - from; k++) {
			int i = reverse ? to - 1 - k : from + k;
			char *u = url_as_string(home, rr[i]->r_url);
			if (u == NULL)
				continue;
			n = strlen(u) + 4;
			if (pass == 1)
				snprintf(out + strlen(out), n + 1, "%s<%s>",
				    strlen(out) ? ", " : "", u);
			else
				len += n;
		}
		if (pass == 0) {
			if (len == 0 || (out = calloc(1, len + 1)) == NULL)
				break;
		}
	}
	su_home_deinit(home);
	return out;
}

void
dialog_confirm(struct proxy *px, sip_t const *resp, const char *proxy)
{
	struct dialog *dg = strmap_get(&px->dialogs, sipmsg_callid(resp));
	sip_record_route_t const *rr[64];
	int n = 0, first = -1, last = -1;

	if (dg == NULL || dg->confirmed)
		return;
	dg->confirmed = 1;
	dg->status = resp->sip_status->st_status;
	dg->proxy = proxy != NULL && proxy[0] ? strdup(proxy) : NULL;
	dg->callee = dialog_hdr((sip_header_t const *)resp->sip_to);
	if (resp->sip_contact != NULL)
		dg->callee_target = dialog_url(resp->sip_contact->m_url);
	for (sip_record_route_t const *r = resp->sip_record_route; r && n < 64;
	    r = r->r_next, n++) {
		rr[n] = r;
		if (hdr_url_is_ours(px, r->r_url)) {
			if (first < 0)
				first = n;
			last = n;
		}
	}
	if (first < 0)
		first = last = n;	/* not record-routed by us: all callee's */
	/* The list runs from the callee (top) to the caller (bottom). */
	dg->route_to_callee = dialog_route(rr, 0, first, 1);
	dg->route_to_caller = dialog_route(rr, last + 1, n, 0);
	if (px->params.on_call != NULL)
		px->params.on_call(px->params.ctx, dg->callid, 1);
}

int
dialog_trunk(struct proxy *px, const char *callid)
{
	struct dialog *dg = strmap_get(&px->dialogs, callid);

	return dg != NULL ? dg->trunk : 0;
}

int
dialog_parties(struct proxy *px, const char *callid, int *trunk, int *pbx)
{
	struct dialog *dg = strmap_get(&px->dialogs, callid);

	if (dg == NULL)
		return -ENOENT;
	*trunk = dg->trunk;
	*pbx = dg->pbx;
	return 0;
}

void
dialog_request(struct proxy *px, sip_t const *req, int from_side)
{
	struct dialog *dg = strmap_get(&px->dialogs, sipmsg_callid(req));

	if (dg != NULL && req->sip_cseq->cs_seq > dg->cseq[from_side])
		dg->cseq[from_side] = req->sip_cseq->cs_seq;
}

/* "trunk=eu pbx=london " when the file names them; "" for the one
 * trunk and PBX of a file without names (its lines stay as they were). */
static void
dialog_parties_str(const struct proxy *px, const struct dialog *dg,
    char *buf, size_t len)
{
	const struct config *cfg = px->cfg;

	buf[0] = '\0';
	if (cfg->ntrunks > 1 || cfg->trunks[0].line != 0 || cfg->npbx > 1 ||
	    strcmp(cfg->pbxs[0].name, CFG_DEFAULT_NAME) != 0)
		snprintf(buf, len, "trunk=%s pbx=%s ", cfg->trunks[dg->trunk].name,
		    cfg->pbxs[dg->pbx].name);
}

void
dialog_forget(struct proxy *px, const char *callid, const char *why)
{
	struct dialog *dg = strmap_del(&px->dialogs, callid);
	char parties[2 * NP_NAME_MAX + 16];

	if (dg == NULL)
		return;
	if (px->params.on_call != NULL)
		px->params.on_call(px->params.ctx, callid, 0);
	admission_call_end(px, dg->src_ip);
	/* One summary line per call, for whoever reads the log afterwards. */
	dialog_parties_str(px, dg, parties, sizeof(parties));
	log_info(callid, "call summary: %s->%s %sproxy=%s duration=%llums "
	    "status=%d end=\"%s\" media pbx in/out=%llu/%llu cloud in/out="
	    "%llu/%llu srtp_failures=%llu", sip_side_name[dg->caller_side],
	    sip_side_name[!dg->caller_side], parties,
	    dg->proxy != NULL ? dg->proxy : "-",
	    (unsigned long long)(uv_now(px->loop) - dg->started), dg->status, why,
	    (unsigned long long)dg->media[0], (unsigned long long)dg->media[1],
	    (unsigned long long)dg->media[2], (unsigned long long)dg->media[3],
	    (unsigned long long)dg->media[4]);
	dialog_free(dg);
}

void
dialog_forget_all(struct proxy *px, const char *why)
{
	for (size_t i = 0; i < px->dialogs.nbuckets; i++)
		while (px->dialogs.buckets[i] != NULL) {
			struct dialog *dg = px->dialogs.buckets[i]->val;
			dialog_forget(px, dg->callid, why);
		}
}

void
dialog_status(struct proxy *px, const char *callid, int status)
{
	struct dialog *dg = strmap_get(&px->dialogs, callid);

	if (dg != NULL)
		dg->status = status;
}

void
dialog_media(struct proxy *px, const char *callid, const uint64_t m[5])
{
	struct dialog *dg = strmap_get(&px->dialogs, callid);

	if (dg == NULL)
		return;
	memcpy(dg->media, m, sizeof(dg->media));
	dg->have_media = 1;
}

/* One BYE, speaking for the party on !to_side toward the one on to_side. */
static void
dialog_bye(struct proxy *px, struct dialog *dg, int to_side)
{
	int to_caller = to_side == dg->caller_side;
	const char *target = to_caller ? dg->caller_target : dg->callee_target;
	const char *route = to_caller ? dg->route_to_caller : dg->route_to_callee;
	char cseq[32];
	msg_t *msg;
	sip_t *sip;

	log_debug(dg->callid, "BYE toward the %s: %s via %s", sip_side_name[to_side],
	    target ? target : "(no target)", route ? route : "(no route)");
	if (target == NULL || (msg = msg_create(sip_default_mclass(), 0)) == NULL)
		return;
	sip = sip_object(msg);
	/* A CSeq above anything this party sent, so the peer accepts it. */
	snprintf(cseq, sizeof(cseq), "%u BYE", dg->cseq[!to_side] + 1);
	if (msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)
	    sip_request_create(msg_home(msg), sip_method_bye, "BYE",
	    URL_STRING_MAKE(target), NULL)) < 0 ||
	    (route != NULL && sip_add_make(msg, sip, sip_route_class, route) < 0) ||
	    sip_add_make(msg, sip, sip_max_forwards_class, "70") < 0 ||
	    sip_add_make(msg, sip, sip_from_class,
	    to_caller ? dg->callee : dg->caller) < 0 ||
	    sip_add_make(msg, sip, sip_to_class,
	    to_caller ? dg->caller : dg->callee) < 0 ||
	    sip_add_make(msg, sip, sip_call_id_class, dg->callid) < 0 ||
	    sip_add_make(msg, sip, sip_cseq_class, cseq) < 0 ||
	    sip_add_make(msg, sip, sip_content_length_class, "0") < 0) {
		log_warn(dg->callid, "cannot build a BYE toward the %s",
		    sip_side_name[to_side]);
		msg_destroy(msg);
		return;
	}
	uac_send(px, msg, to_side);
	msg_destroy(msg);
}

int
dialog_terminate(struct proxy *px, const char *callid, const char *why)
{
	struct dialog *dg = strmap_get(&px->dialogs, callid);

	if (dg == NULL || !dg->confirmed || dg->callee == NULL)
		return -1;
	log_warn(callid, "ending the call on both legs: %s", why);
	dialog_bye(px, dg, SIDE_PBX);
	dialog_bye(px, dg, SIDE_CLOUD);
	dialog_forget(px, callid, why);
	return 0;
}

/* ---- a call carried to another process (issue 15) ---- */


int
dialog_state_get(struct proxy *px, const char *callid, struct dialog_state *out)
{
	struct dialog *dg = strmap_get(&px->dialogs, callid);
	uint64_t age;

	if (dg == NULL)
		return -ENOENT;
	age = uv_now(px->loop) - dg->started;
	memset(out, 0, sizeof(*out));
	out->callid = dg->callid;
	out->caller_side = dg->caller_side;
	out->confirmed = dg->confirmed;
	out->caller = dg->caller;
	out->callee = dg->callee;
	out->caller_target = dg->caller_target;
	out->callee_target = dg->callee_target;
	out->route_to_caller = dg->route_to_caller;
	out->route_to_callee = dg->route_to_callee;
	out->proxy = dg->proxy;
	out->trunk = px->cfg->trunks[dg->trunk].name;
	out->pbx = px->cfg->pbxs[dg->pbx].name;
	out->cseq[0] = dg->cseq[0];
	out->cseq[1] = dg->cseq[1];
	out->started_unix_ms = wallclock_ms() - age;
	out->src_ip = dg->src_ip;
	return 0;
}

/* A copy of s, or NULL for NULL; *bad when the copy failed. */
static char *
dialog_dup(const char *s, int *bad)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*bad = 1;
	return d;
}

int
dialog_state_restore(struct proxy *px, const struct dialog_state *st)
{
	const struct config *cfg = px->cfg;
	uint64_t now = wallclock_ms(), age;
	struct dialog *dg;
	int bad = 0, trunk, pbx;

	if (st->callid == NULL || st->callid[0] == '\0' ||
	    (st->caller_side != SIDE_PBX && st->caller_side != SIDE_CLOUD))
		return -EINVAL;
	/* A record written before names existed has none: the first. */
	trunk = st->trunk ? config_trunk_named(cfg, st->trunk) : 0;
	pbx = st->pbx ? config_pbx_named(cfg, st->pbx) : 0;
	if (trunk < 0 || pbx < 0)
		return -ENOENT;	/* no longer configured */
	if (strmap_get(&px->dialogs, st->callid) != NULL)
		return -EEXIST;
	if ((dg = calloc(1, sizeof(*dg))) == NULL)
		return -ENOMEM;
	dg->callid = dialog_dup(st->callid, &bad);
	dg->caller_side = st->caller_side;
	dg->trunk = trunk;
	dg->pbx = pbx;
	dg->confirmed = st->confirmed;
	dg->status = st->confirmed ? 200 : 0;
	dg->caller = dialog_dup(st->caller, &bad);
	dg->callee = dialog_dup(st->callee, &bad);
	dg->caller_target = dialog_dup(st->caller_target, &bad);
	dg->callee_target = dialog_dup(st->callee_target, &bad);
	dg->route_to_caller = dialog_dup(st->route_to_caller, &bad);
	dg->route_to_callee = dialog_dup(st->route_to_callee, &bad);
	dg->proxy = dialog_dup(st->proxy, &bad);
	dg->cseq[0] = st->cseq[0];
	dg->cseq[1] = st->cseq[1];
	/* Loop time is this process's: the call's age carries over. */
	age = st->started_unix_ms < now ? now - st->started_unix_ms : 0;
	dg->started = uv_now(px->loop) > age ? uv_now(px->loop) - age : 0;
	snprintf(dg->src_ip, sizeof(dg->src_ip), "%s", st->src_ip ? st->src_ip : "");
	if (bad || strmap_put(&px->dialogs, dg->callid, dg) < 0) {
		dialog_free(dg);
		return -ENOMEM;
	}
	admission_call_start(px, dg->src_ip);
	return 0;
}
