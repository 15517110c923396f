/*
 * media.c - offer/answer across the two legs.  A call's first offer opens
 * its relay; the cloud leg always gets RTP/SAVP with our a=crypto, the
 * PBX leg always plain RTP/AVP.  Keys: ours come from OpenSSL's RNG and
 * stay for the life of the call unless the suite changes; the cloud's are
 * installed from its a=crypto.  A stream is re-keyed (ROC and replay state
 * restarted) only when its key really changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>

#include "config.h"
#include "log.h"
#include "media.h"
#include "netaddr.h"
#include "relay.h"
#include "sdes.h"
#include "sdp_rewrite.h"
#include "sipmsg.h"

struct media_call {
	struct media *md;
	const char *callid;		/* stored after local[] */
	struct relay *rl;		/* lives on a media worker */
	int pbx_port, cloud_port;
	int offer_from;			/* side with an offer pending, -1 none */
	int established;		/* a 2xx carried an answer */
	int ai;				/* index of the relayed audio m= line */
	int nlocal;
	struct sdes_crypto tx_key, rx_key;	/* in use */
	int have_tx, have_rx;
	struct sdes_crypto rx_offered;	/* the cloud's key in an offer: in
					   use once the PBX answers it */
	int have_rx_offered;
	uint64_t in_hash[2];		/* last body seen from each side */
	char *out_body[2];		/* and what we made of it */
	size_t out_len[2];
	uv_timer_t timer;		/* media timeout */
	struct sdes_crypto local[];	/* ours, offered/answered: one per
					   configured suite (md->nsuites) */
};

static void media_call_end(struct media_call *mc, const char *why);

/* ---- helpers ---- */

static uint64_t
media_hash(const char *p, size_t n)
{
	return strmap_hash_bytes(p, n) | 1;	/* never 0: "nothing cached" */
}

static int
media_is_any(const char *ip)
{
	return ip[0] == '\0' || netaddr_is_any(ip);
}

static int
media_set_body(msg_t *msg, sip_t *sip, const char *body, size_t len)
{
	su_home_t *home = msg_home(msg);
	sip_payload_t *pl = sip_payload_create(home, body, (isize_t)len);
	char cl[32];

	if (pl == NULL)
		return -ENOMEM;
	if (sip->sip_payload != NULL)
		msg_header_replace(msg, (msg_pub_t *)sip,
		    (msg_header_t *)sip->sip_payload, (msg_header_t *)pl);
	else
		msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)pl);
	snprintf(cl, sizeof(cl), "%zu", len);
	if (sip->sip_content_length != NULL)
		msg_header_remove(msg, (msg_pub_t *)sip,
		    (msg_header_t *)sip->sip_content_length);
	return sip_add_make(msg, sip, sip_content_length_class, cl) < 0 ?
	    -ENOMEM : 0;
}

static int
media_has_sdp(sip_t const *sip)
{
	return sip->sip_payload != NULL && sip->sip_payload->pl_len > 0 &&
	    sip->sip_content_type != NULL && sip->sip_content_type->c_type &&
	    strcasecmp(sip->sip_content_type->c_type, "application/sdp") == 0;
}

/*
 * A body we cannot inspect on a message that may carry an offer or an
 * answer: multipart/mixed with an SDP part (RFC 5621), or no Content-Type
 * at all.  Passed on, its SDP would reach the other leg unrewritten (plain
 * RTP toward the cloud, our relay bypassed), so it is refused instead.
 */
static int
media_body_opaque(sip_t const *sip)
{
	return sip->sip_payload != NULL && sip->sip_payload->pl_len > 0 &&
	    !media_has_sdp(sip);
}

/* ---- call life ---- */

static void
media_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
media_call_end(struct media_call *mc, const char *why)
{
	struct media *md = mc->md;
	struct relay_stats p, c;

	relay_stats_read(mc->rl, SIDE_PBX, &p);
	relay_stats_read(mc->rl, SIDE_CLOUD, &c);
	{
		uint64_t m[5] = { p.pkts_in, p.pkts_out, c.pkts_in, c.pkts_out,
		    p.srtp_fail + c.srtp_fail };
		md->ev.call_media(md->ev.ctx, mc->callid, m);
	}
	log_info(mc->callid, "media: call ended (%s): pbx in %llu out %llu, "
	    "cloud in %llu out %llu, srtp failures %llu", why,
	    (unsigned long long)p.pkts_in, (unsigned long long)p.pkts_out,
	    (unsigned long long)c.pkts_in, (unsigned long long)c.pkts_out,
	    (unsigned long long)(c.srtp_fail + p.srtp_fail));
	relay_stats_add(&md->done[SIDE_PBX], &p);
	relay_stats_add(&md->done[SIDE_CLOUD], &c);
	relay_close(mc->rl);	/* the worker frees it */
	mc->rl = NULL;
	strmap_del(&md->calls, mc->callid);
	md->ncalls--;
	port_pool_put(&md->pool, mc->pbx_port);
	port_pool_put(&md->pool, mc->cloud_port);
	for (int i = 0; i < md->nsuites; i++)
		sdes_crypto_wipe(&mc->local[i]);
	sdes_crypto_wipe(&mc->tx_key);
	sdes_crypto_wipe(&mc->rx_key);
	sdes_crypto_wipe(&mc->rx_offered);
	free(mc->out_body[0]);
	free(mc->out_body[1]);
	mc->out_body[0] = mc->out_body[1] = NULL;
	uv_close((uv_handle_t *)&mc->timer, media_timer_closed);
}

static void
media_on_timer(uv_timer_t *t)
{
	struct media_call *mc = t->data;
	const struct config *cfg = mc->md->cfg;
	struct relay_stats p, c;
	uint64_t now = uv_now(t->loop), last;

	relay_stats_read(mc->rl, SIDE_PBX, &p);
	relay_stats_read(mc->rl, SIDE_CLOUD, &c);
	last = p.last_rx > c.last_rx ? p.last_rx : c.last_rx;
	if (now - last >= (uint64_t)cfg->media.timeout * 1000) {
		struct media *md = mc->md;
		char *callid;

		log_warn(mc->callid, "media: no packets for %d s", cfg->media.timeout);
		/* Media first: its counters go into the call's summary line. */
		if ((callid = strdup(mc->callid)) == NULL)
			return;		/* the next tick tries again */
		media_call_end(mc, "media timeout");
		md->ev.call_end(md->ev.ctx, callid, "media timeout");
		free(callid);
	}
}

static struct media_call *
media_call_alloc(struct media *md, const char *callid)
{
	size_t n = strlen(callid) + 1;
	struct media_call *mc = calloc(1, sizeof(*mc) +
	    (size_t)md->nsuites * sizeof(mc->local[0]) + n);

	if (mc == NULL)
		return NULL;
	mc->md = md;
	mc->offer_from = -1;
	mc->ai = -1;
	mc->callid = memcpy(&mc->local[md->nsuites], callid, n);
	return mc;
}

/* A relay bound on mc's ports: 0, or a negative errno (the relay gone). */
static int
media_call_bind(struct media_call *mc)
{
	struct media *md = mc->md;
	int r;

	if ((mc->rl = relay_new(md->cfg, mc->callid)) == NULL)
		return -ENOMEM;
	if ((r = relay_bind(mc->rl, md->pbx_ip, mc->pbx_port, md->cloud_ip,
	    mc->cloud_port)) < 0) {
		relay_discard(mc->rl);
		mc->rl = NULL;
	}
	return r;
}

/* The relay bound: hand it to a worker, watch the call's media.  On
 * failure mc and its ports are given back. */
static int
media_call_start(struct media_call *mc, uint64_t idle_ms)
{
	struct media *md = mc->md;
	uint64_t iv;

	relay_set_idle(mc->rl, idle_ms);
	if (relay_start(mc->rl, media_workers_pick(&md->workers)) < 0) {
		port_pool_put(&md->pool, mc->pbx_port);
		port_pool_put(&md->pool, mc->cloud_port);
		free(mc);
		return -ENOMEM;
	}
	uv_timer_init(md->loop, &mc->timer);
	mc->timer.data = mc;
	strmap_put(&md->calls, mc->callid, mc);
	md->ncalls++;
	/* Check often enough to end a dead call within a few seconds of
	 * its timeout, rarely enough to cost nothing. */
	iv = (uint64_t)md->cfg->media.timeout * 1000 / 4;
	iv = iv < 500 ? 500 : iv > 5000 ? 5000 : iv;
	uv_timer_start(&mc->timer, media_on_timer, iv, iv);
	log_debug(mc->callid, "media: relay pbx %s:%d cloud %s:%d", md->pbx_ip,
	    mc->pbx_port, md->cloud_ip, mc->cloud_port);
	return 0;
}

static struct media_call *
media_call_new(struct media *md, const char *callid)
{
	const struct config *cfg = md->cfg;
	struct media_call *mc = media_call_alloc(md, callid);
	int r = -ENOMEM;

	if (mc == NULL)
		return NULL;
	mc->pbx_port = port_pool_get(&md->pool);
	mc->cloud_port = port_pool_get(&md->pool);
	if (mc->pbx_port < 0 || mc->cloud_port < 0) {
		log_error(callid, "media: port range %d-%d exhausted",
		    cfg->media.port_min, cfg->media.port_max);
		goto fail;
	}
	r = media_call_bind(mc);
	/* A port another program holds: leave that pair marked busy in the
	 * pool and take the next one, a few times. */
	for (int tries = 0; r == -EADDRINUSE && tries < 8; tries++) {
		int p = port_pool_get(&md->pool), c = port_pool_get(&md->pool);
		log_warn(callid, "media: ports %d/%d busy, trying %d/%d",
		    mc->pbx_port, mc->cloud_port, p, c);
		mc->pbx_port = p;
		mc->cloud_port = c;
		if (p < 0 || c < 0)
			break;
		r = media_call_bind(mc);
	}
	if (r < 0 || mc->pbx_port < 0 || mc->cloud_port < 0) {
		log_error(callid, "media: cannot open relay ports %d/%d: %s",
		    mc->pbx_port, mc->cloud_port, strerror(r < 0 ? -r : EADDRINUSE));
		goto fail;
	}
	return media_call_start(mc, 0) < 0 ? NULL : mc;
fail:
	port_pool_put(&md->pool, mc->pbx_port);
	port_pool_put(&md->pool, mc->cloud_port);
	free(mc);
	return NULL;
}

/* ---- keys ---- */

/* [trace] srtp_keylog: one line per key installed, for decrypting a
 * capture of the cloud leg.  Off by default; loud when on. */
static void
media_keylog(struct media_call *mc, const char *dir, const struct sdes_crypto *c)
{
	const struct config *cfg = mc->md->cfg;
	static FILE *f;
	char val[SDES_FORMAT_MAX];

	if (cfg->trace.srtp_keylog[0] == '\0')
		return;
	if (f == NULL) {
		if ((f = fopen(cfg->trace.srtp_keylog, "a")) == NULL) {
			log_error(NULL, "srtp_keylog %s: cannot open", cfg->trace.srtp_keylog);
			return;
		}
		log_warn(NULL, "SRTP KEY LOGGING IS ON (%s): anyone who reads this "
		    "file can decrypt the media; turn it off after debugging",
		    cfg->trace.srtp_keylog);
	}
	if (sdes_crypto_format(c, val, sizeof(val)) < 0)
		return;
	fprintf(f, "%lld %s %s cloud-port=%d a=crypto:%s\n", (long long)time(NULL),
	    mc->callid, dir, mc->cloud_port, val);
	fflush(f);
	OPENSSL_cleanse(val, sizeof(val));
}

static int
media_install_tx(struct media_call *mc, const struct sdes_crypto *c)
{
	if (mc->have_tx && sdes_crypto_same_key(&mc->tx_key, c))
		return 0;
	if (sdes_suite_get(c->suite) == NULL || relay_set_key(mc->rl, 1, c) < 0)
		return -EINVAL;
	media_keylog(mc, "tx", c);
	mc->tx_key = *c;
	mc->have_tx = 1;
	return 0;
}

/* The cloud's offer was answered or refused: its key is no longer pending. */
static void
media_offer_drop(struct media_call *mc)
{
	sdes_crypto_wipe(&mc->rx_offered);
	mc->have_rx_offered = 0;
}

static int
media_install_rx(struct media_call *mc, const struct sdes_crypto *c)
{
	if (mc->have_rx && sdes_crypto_same_key(&mc->rx_key, c))
		return 0;
	if (sdes_suite_get(c->suite) == NULL || relay_set_key(mc->rl, 0, c) < 0)
		return -EINVAL;
	media_keylog(mc, "rx", c);
	mc->rx_key = *c;
	mc->have_rx = 1;
	return 0;
}

static int
media_suite_ok(struct media *md, int suite)
{
	for (int i = 0; i < md->nsuites; i++)
		if (md->suites[i] == suite)
			return 1;
	return 0;
}

/* ---- the four cases ---- */

static void
media_edit_init(struct sdp_edit *e, const struct sdp_info *in, int ai,
    const char *addr, unsigned port, int proto, const char *origin)
{
	memset(e, 0, sizeof(*e));
	e->nmedia = in->nmedia;
	e->origin_addr = origin;
	if (ai >= 0) {
		e->m[ai].keep = in->m[ai].port != 0;
		e->m[ai].proto = proto;
		snprintf(e->m[ai].addr, sizeof(e->m[ai].addr), "%.63s", addr);
		e->m[ai].port = port;
	}
}

static void
media_peer(struct media_call *mc, int side, const struct sdp_media_info *m)
{
	/* c=0.0.0.0 is hold the old way: send nothing until resumed. */
	if (media_is_any(m->addr) || m->port == 0)
		relay_set_peer(mc->rl, side, NULL, 0, 0, m->rtcp_mux);
	else
		relay_set_peer(mc->rl, side, m->addr, m->port, m->rtcp_port,
		    m->rtcp_mux);
}

/* PBX offers plain RTP: the cloud gets RTP/SAVP and our keys. */
static int
media_offer_from_pbx(struct media_call *mc, const struct sdp_info *in,
    struct sdp_edit *e, char cbuf[][SDP_CRYPTO_LEN])
{
	struct media *md = mc->md;

	mc->ai = -1;
	for (int i = 0; i < in->nmedia; i++)
		if (in->m[i].audio && in->m[i].proto == SDP_PROTO_AVP &&
		    in->m[i].port != 0) {
			mc->ai = i;
			break;
		}
	if (mc->ai < 0)
		return 488;
	media_peer(mc, SIDE_PBX, &in->m[mc->ai]);
	if (mc->have_tx) {
		/* Re-offer: only the active line, same key (no rekey). */
		mc->local[0] = mc->tx_key;
		mc->nlocal = 1;
	} else {
		mc->nlocal = 0;
		for (int i = 0; i < md->nsuites && i < SDP_MAX_CRYPTO; i++)
			if (sdes_crypto_generate(i + 1, md->suites[i],
			    &mc->local[mc->nlocal]) == 0)
				mc->nlocal++;
	}
	media_edit_init(e, in, mc->ai, md->cloud_sdp_ip, (unsigned)mc->cloud_port,
	    SDP_PROTO_SAVP, md->cloud_sdp_ip);
	for (int i = 0; i < mc->nlocal; i++) {
		if (sdes_crypto_format(&mc->local[i], cbuf[i], SDP_CRYPTO_LEN) < 0)
			return 500;
		e->m[mc->ai].crypto[i] = cbuf[i];
	}
	e->m[mc->ai].ncrypto = mc->nlocal;
	return 0;
}

/* The cloud answers our RTP/SAVP offer: install keys, PBX gets plain. */
static int
media_answer_from_cloud(struct media_call *mc, const struct sdp_info *in,
    struct sdp_edit *e)
{
	struct media *md = mc->md;
	const struct sdp_media_info *m;
	struct sdes_crypto theirs;

	if (mc->ai < 0 || mc->ai >= in->nmedia)
		return 488;
	m = &in->m[mc->ai];
	media_edit_init(e, in, mc->ai, md->pbx_ip, (unsigned)mc->pbx_port,
	    SDP_PROTO_AVP, md->pbx_ip);
	if (m->port == 0)
		return 0;	/* audio declined: nothing to relay */
	if (m->proto != SDP_PROTO_SAVP) {
		log_warn(mc->callid, "media: cloud answered without RTP/SAVP: refused");
		return 488;
	}
	for (int i = 0; i < m->ncrypto; i++) {
		if (sdes_crypto_parse(m->crypto[i], &theirs) < 0)
			continue;
		for (int j = 0; j < mc->nlocal; j++) {
			if (mc->local[j].tag != theirs.tag ||
			    mc->local[j].suite != theirs.suite)
				continue;
			if (media_install_rx(mc, &theirs) < 0 ||
			    media_install_tx(mc, &mc->local[j]) < 0) {
				sdes_crypto_wipe(&theirs);
				return 488;
			}
			sdes_crypto_wipe(&theirs);
			media_peer(mc, SIDE_CLOUD, m);
			log_info(mc->callid, "media: SRTP %s with cloud %s:%u",
			    sdes_suite_get(mc->tx_key.suite)->name, m->addr, m->port);
			return 0;
		}
		sdes_crypto_wipe(&theirs);
	}
	log_warn(mc->callid, "media: no acceptable a=crypto in the cloud's answer: refused");
	return 488;
}

/* The cloud offers RTP/SAVP: take its key, offer plain RTP to the PBX. */
static int
media_offer_from_cloud(struct media_call *mc, const struct sdp_info *in,
    struct sdp_edit *e)
{
	struct media *md = mc->md;
	struct sdes_crypto theirs;

	mc->ai = -1;
	for (int i = 0; i < in->nmedia && mc->ai < 0; i++) {
		const struct sdp_media_info *m = &in->m[i];
		if (!m->audio || m->port == 0 || m->proto != SDP_PROTO_SAVP)
			continue;
		for (int j = 0; j < m->ncrypto; j++) {
			if (sdes_crypto_parse(m->crypto[j], &theirs) < 0 ||
			    !media_suite_ok(md, theirs.suite) ||
			    sdes_suite_get(theirs.suite) == NULL) {
				sdes_crypto_wipe(&theirs);
				continue;
			}
			/*
			 * Not in use yet: until the PBX answers, the cloud
			 * still sends under the old key, and a refused
			 * re-INVITE leaves it there (RFC 3261 14.1).
			 */
			mc->rx_offered = theirs;
			mc->have_rx_offered = 1;
			/* Our key: kept while the suite holds (no needless rekey). */
			if (mc->have_tx && mc->tx_key.suite == theirs.suite) {
				mc->local[0] = mc->tx_key;
				mc->local[0].tag = theirs.tag;
			} else if (sdes_crypto_generate(theirs.tag, theirs.suite,
			    &mc->local[0]) < 0) {
				sdes_crypto_wipe(&theirs);
				return 500;
			}
			mc->nlocal = 1;
			mc->ai = i;
			sdes_crypto_wipe(&theirs);
			break;
		}
	}
	if (mc->ai < 0) {
		log_warn(mc->callid, "media: cloud offer has no RTP/SAVP audio "
		    "with a supported a=crypto: refused");
		return 488;
	}
	media_peer(mc, SIDE_CLOUD, &in->m[mc->ai]);
	media_edit_init(e, in, mc->ai, md->pbx_ip, (unsigned)mc->pbx_port,
	    SDP_PROTO_AVP, md->pbx_ip);
	return 0;
}

/* The PBX answers plain: the cloud gets exactly one a=crypto, ours. */
static int
media_answer_from_pbx(struct media_call *mc, const struct sdp_info *in,
    struct sdp_edit *e, char cbuf[][SDP_CRYPTO_LEN])
{
	struct media *md = mc->md;
	const struct sdp_media_info *m;

	if (mc->ai < 0 || mc->ai >= in->nmedia)
		return 488;
	m = &in->m[mc->ai];
	media_edit_init(e, in, mc->ai, md->cloud_sdp_ip, (unsigned)mc->cloud_port,
	    SDP_PROTO_SAVP, md->cloud_sdp_ip);
	if (m->port == 0) {
		media_offer_drop(mc);
		return 0;
	}
	media_peer(mc, SIDE_PBX, m);
	/* The answer makes the cloud's offered key the one it sends with. */
	if (mc->have_rx_offered) {
		int r = media_install_rx(mc, &mc->rx_offered);
		media_offer_drop(mc);
		if (r < 0)
			return 488;
	}
	if (media_install_tx(mc, &mc->local[0]) < 0 ||
	    sdes_crypto_format(&mc->local[0], cbuf[0], SDP_CRYPTO_LEN) < 0)
		return 488;
	e->m[mc->ai].crypto[0] = cbuf[0];
	e->m[mc->ai].ncrypto = 1;
	log_info(mc->callid, "media: SRTP %s with cloud", sdes_suite_get(
	    mc->tx_key.suite)->name);
	return 0;
}

/* ---- one SDP body ---- */

static int
media_body(struct media *md, msg_t *msg, sip_t *sip, int from_side,
    int final_answer, int may_create)
{
	const char *cid = sipmsg_callid(sip);
	const char *body = sip->sip_payload->pl_data;
	size_t len = sip->sip_payload->pl_len;
	char cbuf[SDP_MAX_CRYPTO][SDP_CRYPTO_LEN];
	struct media_call *mc;
	struct sdp_info *in = &md->scratch;
	struct sdp_doc *doc = NULL;
	struct sdp_edit e;
	uint64_t h = media_hash(body, len);
	char *out;
	size_t outlen;
	int status, offer;

	mc = strmap_get(&md->calls, cid);
	if (mc != NULL && mc->in_hash[from_side] == h && mc->out_body[from_side]) {
		/* The same body again (a 2xx retransmission): same answer. */
		if (final_answer && mc->offer_from != from_side)
			mc->offer_from = -1;
		return media_set_body(msg, sip, mc->out_body[from_side],
		    mc->out_len[from_side]) < 0 ? 500 : 0;
	}
	/* One parse serves the look and the rewrite. */
	if ((doc = sdp_doc_load(body, len, &status)) == NULL ||
	    sdp_doc_inspect(doc, in) < 0) {
		log_warn(cid, "media: malformed SDP from %s",
		    from_side == SIDE_PBX ? "pbx" : "cloud");
		status = status == -ENOMEM ? 500 : 488;
		goto out;
	}
	if (mc == NULL && !may_create) {
		/* A late answer (a 2xx retransmitted after the BYE) belongs to
		 * no call any more: it must not open a relay that nothing ends. */
		status = 0;
		goto out;
	}
	if (mc == NULL && (mc = media_call_new(md, cid)) == NULL) {
		status = 503;
		goto out;
	}
	offer = mc->offer_from < 0 || mc->offer_from == from_side;
	if (from_side == SIDE_PBX)
		status = offer ? media_offer_from_pbx(mc, in, &e, cbuf) :
		    media_answer_from_pbx(mc, in, &e, cbuf);
	else
		status = offer ? media_offer_from_cloud(mc, in, &e) :
		    media_answer_from_cloud(mc, in, &e);
	if (status != 0)
		goto out;
	if ((out = sdp_doc_rewrite(doc, &e, &outlen)) == NULL) {
		log_warn(cid, "media: SDP rewrite failed");
		status = 488;
		goto out;
	}
	if (media_set_body(msg, sip, out, outlen) < 0) {
		free(out);
		status = 500;
		goto out;
	}
	free(mc->out_body[from_side]);
	mc->out_body[from_side] = out;
	mc->out_len[from_side] = outlen;
	mc->in_hash[from_side] = h;
	if (offer)
		mc->offer_from = from_side;
	else if (final_answer) {
		mc->offer_from = -1;
		mc->established = 1;
	}
out:
	/* A call refused before it ever carried media gives its ports back
	 * now: no final response will pass here to do it. */
	if (status != 0 && mc != NULL && !mc->established)
		media_call_end(mc, "refused");
	sdp_doc_free(doc);
	return status;
}

int
media_on_request(void *ctx, msg_t *msg, sip_t *sip, int from_side)
{
	struct media *md = ctx;
	struct media_call *mc = strmap_get(&md->calls, sipmsg_callid(sip));
	sip_method_t m = sip->sip_request->rq_method;

	if (m == sip_method_bye) {
		if (mc != NULL)
			media_call_end(mc, "BYE");
		return 0;
	}
	if (m != sip_method_invite && m != sip_method_update &&
	    m != sip_method_ack && m != sip_method_prack)
		return 0;
	if (media_body_opaque(sip)) {
		log_warn(sipmsg_callid(sip), "media: %s from %s with a body that is "
		    "not application/sdp refused", sip->sip_request->rq_method_name,
		    from_side == SIDE_PBX ? "pbx" : "cloud");
		return 415;	/* sipmsg_response adds Accept: application/sdp */
	}
	if (!media_has_sdp(sip))
		return 0;
	if (m == sip_method_ack && mc == NULL)
		return 0;
	/* Only an INVITE (or UPDATE) offer may open a relay. */
	return media_body(md, msg, sip, from_side, m == sip_method_ack,
	    m == sip_method_invite || m == sip_method_update);
}

int
media_on_response(void *ctx, msg_t *msg, sip_t *sip, int from_side)
{
	struct media *md = ctx;
	struct media_call *mc = strmap_get(&md->calls, sipmsg_callid(sip));
	int status = sip->sip_status->st_status;
	sip_method_t m = sip->sip_cseq->cs_method;

	if (m != sip_method_invite && m != sip_method_update &&
	    m != sip_method_prack)
		return 0;
	if (status >= 300) {
		if (mc != NULL && m == sip_method_invite && !mc->established)
			media_call_end(mc, "call failed");
		else if (mc != NULL && mc->offer_from != from_side) {
			mc->offer_from = -1;	/* the offer was refused */
			media_offer_drop(mc);	/* its key never came in use */
		}
		return 0;
	}
	if (status < 180)
		return 0;
	if (media_body_opaque(sip)) {
		log_warn(sipmsg_callid(sip), "media: %d from %s with a body that is "
		    "not application/sdp refused", status,
		    from_side == SIDE_PBX ? "pbx" : "cloud");
		return 488;
	}
	if (!media_has_sdp(sip))
		return 0;
	return media_body(md, msg, sip, from_side, status >= 200, 0);
}

/* ---- a call carried to another process (issue 15) ---- */

static void
media_peer_state(const struct relay_peer *p, struct media_peer_state *out)
{
	char ip[sizeof(out->ip)];

	memset(out, 0, sizeof(*out));
	if (!p->have || netaddr_ip_port(&p->rtcp.sa, ip, sizeof(ip),
	    &out->rtcp_port) < 0 || netaddr_ip_port(&p->rtp.sa, out->ip,
	    sizeof(out->ip), &out->port) < 0)
		memset(out, 0, sizeof(*out));
	out->rtcp_mux = (uint8_t)p->rtcp_mux;
}

int
media_state_get(struct media *md, const char *callid, struct media_state *out)
{
	struct media_call *mc = strmap_get(&md->calls, callid);
	struct relay_stats st;
	uint64_t now = uv_hrtime() / 1000000, last = 0;

	if (mc == NULL || !mc->established)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->pbx_port = mc->pbx_port;
	out->cloud_port = mc->cloud_port;
	out->ai = mc->ai;
	out->have_tx = mc->have_tx;
	out->have_rx = mc->have_rx;
	out->tx_key = mc->tx_key;
	out->rx_key = mc->rx_key;
	for (int k = 0; k < 2; k++) {
		struct relay_peer p;
		relay_peer_read(mc->rl, k, &p);
		media_peer_state(&p, &out->peer[k]);
		relay_stats_read(mc->rl, k, &st);
		last = st.last_rx > last ? st.last_rx : last;
	}
	relay_pos_read(mc->rl, &out->tx_pos, &out->rx_pos);
	out->idle_ms = now > last ? now - last : 0;
	return 0;
}

/* The stored key into the relay, carrying on from its position. */
static int
media_restore_key(struct media_call *mc, int tx, const struct sdes_crypto *c,
    const struct srtp_stream_pos *at)
{
	int moved = at->have_rtp || at->have_rtcp;

	if (sdes_suite_get(c->suite) == NULL ||
	    relay_set_key_at(mc->rl, tx, c, moved ? at : NULL) < 0)
		return -EINVAL;
	media_keylog(mc, tx ? "tx" : "rx", c);
	return 0;
}

int
media_state_restore(struct media *md, const char *callid,
    const struct media_state *in)
{
	struct media_call *mc;
	int r;

	if (strmap_get(&md->calls, callid) != NULL)
		return -EEXIST;
	if (!in->have_tx || !in->have_rx || in->ai < 0 || in->ai >= SDP_MAX_MEDIA)
		return -EINVAL;		/* never plain toward the cloud */
	if ((mc = media_call_alloc(md, callid)) == NULL)
		return -ENOMEM;
	mc->pbx_port = mc->cloud_port = -1;
	if ((r = port_pool_take(&md->pool, in->pbx_port)) < 0 ||
	    (mc->pbx_port = in->pbx_port,
	    r = port_pool_take(&md->pool, in->cloud_port)) < 0)
		goto fail;
	mc->cloud_port = in->cloud_port;
	if ((r = media_call_bind(mc)) < 0)
		goto fail;
	mc->established = 1;
	mc->ai = in->ai;
	if ((r = media_call_start(mc, in->idle_ms)) < 0)
		return r;		/* mc and its ports are gone */
	if (media_restore_key(mc, 1, &in->tx_key, &in->tx_pos) < 0 ||
	    media_restore_key(mc, 0, &in->rx_key, &in->rx_pos) < 0) {
		media_call_end(mc, "restore failed");
		return -EINVAL;
	}
	mc->tx_key = in->tx_key;
	mc->rx_key = in->rx_key;
	mc->have_tx = mc->have_rx = 1;
	mc->local[0] = in->tx_key;	/* a re-INVITE keeps our key */
	mc->nlocal = 1;
	for (int k = 0; k < 2; k++) {
		const struct media_peer_state *p = &in->peer[k];
		relay_set_peer(mc->rl, k, p->ip[0] ? p->ip : NULL, p->port,
		    p->rtcp_port, p->rtcp_mux);
	}
	return 0;
fail:
	log_warn(callid, "media: cannot restore relay ports %d/%d: %s",
	    in->pbx_port, in->cloud_port, strerror(-r));
	port_pool_put(&md->pool, mc->pbx_port);
	port_pool_put(&md->pool, mc->cloud_port);
	free(mc);
	return r == -ERANGE ? -EINVAL : r == -EADDRINUSE ? -EBUSY : r;
}

/* ---- set-up ---- */

int
media_init(struct media *md, uv_loop_t *loop, const struct config *cfg,
    const struct call_events *ev)
{
	int r;

	memset(md, 0, sizeof(*md));
	md->loop = loop;
	md->cfg = cfg;
	md->ev = *ev;
	if ((r = srtp_stream_global_init()) < 0)
		return r;
	if ((r = port_pool_init(&md->pool, cfg->media.port_min,
	    cfg->media.port_max)) < 0)
		return r;
	if ((r = strmap_init(&md->calls, 256)) < 0)
		return r;
	if ((r = media_workers_start(&md->workers, 0)) < 0)
		return r;
	snprintf(md->pbx_ip, sizeof(md->pbx_ip), "%s", cfg->media.pbx_address);
	snprintf(md->cloud_sdp_ip, sizeof(md->cloud_sdp_ip), "%s",
	    cfg->media.public_address);
	/* Bind the cloud leg where the TLS listener is, or everywhere. */
	snprintf(md->cloud_ip, sizeof(md->cloud_ip), "%s",
	    cfg->tls_server.listen.is_ip && !netaddr_is_any(cfg->tls_server.listen.host) ?
	    cfg->tls_server.listen.host : "0.0.0.0");
	for (int i = 0; i < cfg->media.nsrtp_suites && md->nsuites < 8; i++) {
		int s = sdes_suite_find(cfg->media.srtp_suites[i]);
		if (s >= 0)
			md->suites[md->nsuites++] = s;
	}
	/* config.c takes only known suites, at least one: an invariant. */
	if (md->nsuites == 0)
		fatal("media: no SRTP suite configured");
	return 0;
}

/* Media counters for /metrics: ended calls plus the ones up now. */
static void
media_metrics(void *ctx, struct mbuf *b)
{
	struct media *md = ctx;
	struct relay_stats t[2];
	static const char *const leg[2] = { "pbx", "cloud" };

	memcpy(t, md->done, sizeof(t));
	for (size_t i = 0; i < md->calls.nbuckets; i++)
		for (struct strmap_entry *e = md->calls.buckets[i]; e; e = e->next) {
			struct media_call *mc = e->val;
			for (int k = 0; k < 2; k++) {
				struct relay_stats st;
				relay_stats_read(mc->rl, k, &st);
				relay_stats_add(&t[k], &st);
			}
		}
	mbuf_printf(b, "# HELP tlstrunk_media_packets_total Media packets by leg and direction.\n"
	    "# TYPE tlstrunk_media_packets_total counter\n");
	for (int k = 0; k < 2; k++)
		mbuf_printf(b, "tlstrunk_media_packets_total{leg=\"%s\",direction=\"in\"} %llu\n"
		    "tlstrunk_media_packets_total{leg=\"%s\",direction=\"out\"} %llu\n",
		    leg[k], (unsigned long long)t[k].pkts_in, leg[k],
		    (unsigned long long)t[k].pkts_out);
	mbuf_printf(b, "# HELP tlstrunk_media_bytes_total Media bytes by leg and direction.\n"
	    "# TYPE tlstrunk_media_bytes_total counter\n");
	for (int k = 0; k < 2; k++)
		mbuf_printf(b, "tlstrunk_media_bytes_total{leg=\"%s\",direction=\"in\"} %llu\n"
		    "tlstrunk_media_bytes_total{leg=\"%s\",direction=\"out\"} %llu\n",
		    leg[k], (unsigned long long)t[k].bytes_in, leg[k],
		    (unsigned long long)t[k].bytes_out);
	mbuf_printf(b, "# HELP tlstrunk_srtp_failures_total SRTP/SRTCP packets dropped: auth or replay check failed.\n"
	    "# TYPE tlstrunk_srtp_failures_total counter\n"
	    "tlstrunk_srtp_failures_total %llu\n",
	    (unsigned long long)(t[0].srtp_fail + t[1].srtp_fail));
	mbuf_printf(b, "# HELP tlstrunk_media_dropped_total Media packets not relayed, by reason "
	    "(auth, replay and reused_index are the SRTP failures).\n"
	    "# TYPE tlstrunk_media_dropped_total counter\n");
	for (int r = 0; r < RELAY_DROP_N; r++)
		mbuf_printf(b, "tlstrunk_media_dropped_total{reason=\"%s\"} %llu\n",
		    relay_drop_name((enum relay_drop)r),
		    (unsigned long long)(t[0].dropped[r] + t[1].dropped[r]));
	mbuf_printf(b, "# HELP tlstrunk_media_calls Calls with a media relay.\n"
	    "# TYPE tlstrunk_media_calls gauge\ntlstrunk_media_calls %d\n", md->ncalls);
}

void
media_attach(struct media *md, struct proxy_hooks *hooks)
{
	hooks->ctx = md;
	hooks->on_request = media_on_request;
	hooks->on_response = media_on_response;
	hooks->on_shutdown = media_shutdown;
	hooks->on_metrics = media_metrics;
}

static int
media_end_one(struct media *md)
{
	for (size_t i = 0; i < md->calls.nbuckets; i++)
		if (md->calls.buckets[i] != NULL) {
			media_call_end(md->calls.buckets[i]->val, "shutdown");
			return 1;
		}
	return 0;
}

void
media_shutdown(void *ctx)
{
	struct media *md = ctx;

	while (media_end_one(md))
		;
}

void
media_free(struct media *md)
{
	/* Every relay's close is queued before the stop: workers drain. */
	media_workers_stop(&md->workers);
	strmap_free(&md->calls);
	port_pool_free(&md->pool);
}
