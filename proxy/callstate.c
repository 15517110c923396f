/*
 * callstate.c - answered calls to Redis and back (callstate.h).  The
 * application glue between the SIP core's dialogs, the media bridge and
 * the store: neither of them knows the other or Redis.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "callrec.h"
#include "callstate.h"
#include "dialog.h"
#include "log.h"
#include "wallclock.h"
#include "netaddr.h"

struct cs_call {
	uint64_t fp;			/* what was last written, hashed */
	uint64_t written;		/* loop ms of the last write */
	char callid[];
};


/* ---- writing ---- */

static uint64_t
cs_mix(uint64_t h, const void *p, size_t n)
{
	return h * 1099511628211ull ^ strmap_hash_bytes(p, n);
}

static uint64_t
cs_mix_str(uint64_t h, const char *s)
{
	return s != NULL ? cs_mix(h, s, strlen(s)) : cs_mix(h, "", 1);
}

/*
 * What a record holds that the next process needs, hashed: a change
 * means a write.  Not the sequence numbers (they move with every
 * packet; the rollover guess covers half their range) nor the SRTCP
 * count below SRTP_STREAM_RTCP_STEP (the resume margin covers it).
 */
static uint64_t
cs_fingerprint(const struct dialog_state *d, const struct media_state *m,
    int have_media)
{
	uint64_t h = 14695981039346656037ull;
	const char *s[] = { d->caller, d->callee, d->caller_target,
	    d->callee_target, d->route_to_caller, d->route_to_callee, d->proxy };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		h = cs_mix_str(h, s[i]);
	h = cs_mix(h, d->cseq, sizeof(d->cseq));
	h = cs_mix(h, &d->confirmed, sizeof(d->confirmed));
	if (!have_media)
		return h;
	h = cs_mix(h, m->tx_key.key, m->tx_key.keylen);
	h = cs_mix(h, m->rx_key.key, m->rx_key.keylen);
	h = cs_mix(h, m->peer, sizeof(m->peer));
	for (int k = 0; k < 2; k++) {
		const struct srtp_stream_pos *p = k ? &m->rx_pos : &m->tx_pos;
		uint32_t v[4] = { p->ssrc, p->roc, p->rtcp_ssrc,
		    p->rtcp_count / SRTP_STREAM_RTCP_STEP };
		h = cs_mix(h, v, sizeof(v));
	}
	return h;
}

/* Write c's record when it changed or is due; 1 when written. */
static int
cs_sync(struct callstate *cs, struct cs_call *c, uint64_t now)
{
	struct callrec r;
	char *text = NULL;
	size_t len;
	uint64_t fp;
	int wrote = 0;

	memset(&r, 0, sizeof(r));
	if (dialog_state_get(cs->px, c->callid, &r.d) < 0 || !r.d.confirmed)
		return 0;
	r.have_media = media_state_get(cs->md, c->callid, &r.m) == 0;
	fp = cs_fingerprint(&r.d, &r.m, r.have_media);
	if (fp == c->fp && now - c->written < cs->refresh_ms)
		goto out;
	snprintf(r.node, sizeof(r.node), "%s", cs->cfg->state.node);
	r.written_unix_ms = wallclock_ms();
	/* Once per change, written or not: a record that cannot be encoded
	 * (a Call-ID longer than a record takes) is said once, not per tick. */
	c->fp = fp;
	c->written = now;
	if (callrec_encode(&r, &text, &len) < 0) {
		log_warn(c->callid, "state: record not written (cannot encode it): "
		    "this call will not survive a restart");
		goto out;
	}
	wrote = store_put(&cs->store, c->callid, text, len) == 0;
	callrec_text_free(text, len);
out:
	OPENSSL_cleanse(&r.m, sizeof(r.m));
	return wrote;
}

static void
cs_on_tick(uv_timer_t *t)
{
	struct callstate *cs = t->data;
	uint64_t now = uv_now(cs->loop);

	if (!cs->active)
		return;
	for (size_t i = 0; i < cs->calls.nbuckets; i++)
		for (struct strmap_entry *e = cs->calls.buckets[i]; e; e = e->next)
			cs_sync(cs, e->val, now);
}

static struct cs_call *
cs_track(struct callstate *cs, const char *callid)
{
	size_t n = strlen(callid) + 1;
	struct cs_call *c = strmap_get(&cs->calls, callid);

	if (c != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c) + n)) == NULL)
		return NULL;
	memcpy(c->callid, callid, n);
	if (strmap_put(&cs->calls, c->callid, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

void
callstate_on_call(void *ctx, const char *callid, int up)
{
	struct callstate *cs = ctx;
	struct cs_call *c;

	if (!cs->on || !cs->active)
		return;		/* standby: the active node owns the records */
	if (up) {
		if ((c = cs_track(cs, callid)) == NULL)
			log_warn(callid, "state: call not kept (out of memory)");
		return;		/* written at the next tick, media and all */
	}
	if ((c = strmap_del(&cs->calls, callid)) == NULL)
		return;
	free(c);
	store_del(&cs->store, callid);
}

/* ---- restoring ---- */

/* A record fit to restore: named after its call, answered, and young
 * enough that the call can still be alive (whichever node wrote it). */
static const char *
cs_record_unfit(struct callstate *cs, const char *id, const struct callrec *r)
{
	uint64_t now = wallclock_ms(), age;
	uint64_t dead = (uint64_t)cs->cfg->media.timeout * 1000 + cs->refresh_ms;

	if (strcmp(r->d.callid, id) != 0)
		return "its Call-ID is not the one it is stored under";
	age = r->written_unix_ms < now ? now - r->written_unix_ms : 0;
	if (age + (r->have_media ? r->m.idle_ms : 0) > dead)
		return "stale (no media for longer than [media] timeout)";
	if (!r->d.confirmed)
		return "the call was never answered";
	return NULL;	/* another node's is the caller's to judge */
}

static int
cs_restore(struct callstate *cs, const struct callrec *r)
{
	const char *id = r->d.callid;
	int rv;

	if ((rv = dialog_state_restore(cs->px, &r->d)) < 0)
		return rv;
	if (r->have_media && (rv = media_state_restore(cs->md, id, &r->m)) < 0) {
		/* Signaling without its media: end it cleanly, both legs, and
		 * its record with it (nobody tracks it to delete it later). */
		dialog_terminate(cs->px, id, "media not restored");
		store_del(&cs->store, id);
		return rv;
	}
	if (cs_track(cs, id) == NULL)
		return -ENOMEM;
	log_info(id, "state: call restored (%s->%s, relay ports %d/%d, written %llu ms ago)",
	    sip_side_name[r->d.caller_side], sip_side_name[!r->d.caller_side],
	    r->have_media ? r->m.pbx_port : 0, r->have_media ? r->m.cloud_port : 0,
	    (unsigned long long)(wallclock_ms() - r->written_unix_ms));
	return 0;
}

static void
cs_on_record(void *ctx, const char *id, const char *val, size_t len)
{
	struct callstate *cs = ctx;
	struct callrec r;
	char why[128];
	const char *unfit;
	int rv;

	if (!cs->loading)
		return;		/* too late: given up waiting */
	if (callrec_decode(val, len, &r, why, sizeof(why)) < 0) {
		log_warn(NULL, "state: record %.80s skipped: %s", id, why);
		cs->skipped++;
		return;
	}
	if ((unfit = cs_record_unfit(cs, id, &r)) != NULL) {
		log_warn(id, "state: record skipped: %s", unfit);
		cs->skipped++;
	} else if (strcmp(r.node, cs->cfg->state.node) != 0 && !cs->take_others) {
		log_debug(id, "state: record of node %s left alone", r.node);
	} else if ((rv = cs_restore(cs, &r)) == -EEXIST) {
		log_debug(id, "state: call already here");
	} else if (rv < 0) {
		log_warn(id, "state: call not restored: %s", strerror(-rv));
		cs->restore_failed++;
	} else
		cs->restored++;
	callrec_free(&r);
}

/* The load is over (done, or given up): listen, if not yet. */
static void
cs_ready(struct callstate *cs)
{
	cs->loading = 0;
	uv_timer_stop(&cs->wait);
	if (cs->starting) {
		cs->starting = 0;
		cs->ready(cs->ready_ctx);
	}
}

static void
cs_on_loaded(void *ctx, int err)
{
	struct callstate *cs = ctx;

	if (!cs->loading)
		return;
	if (err < 0 && !cs->starting) {
		/* A takeover: nobody else will carry those calls, so read them
		 * again when Redis is back (cs_on_up). */
		log_error(NULL, "state: cannot read the stored calls: %s; taking "
		    "them over when Redis is back", strerror(-err));
		cs->load_started = 0;
		return;
	}
	if (err < 0)
		log_error(NULL, "state: cannot read the stored calls: %s; "
		    "going on without them", strerror(-err));
	else
		log_info(NULL, "state: %llu call(s) restored, %llu failed, %llu "
		    "record(s) skipped", (unsigned long long)cs->restored,
		    (unsigned long long)cs->restore_failed,
		    (unsigned long long)cs->skipped);
	cs_ready(cs);
}

static void
cs_on_wait(uv_timer_t *t)
{
	struct callstate *cs = t->data;

	if (!cs->starting) {
		/* A takeover waits for Redis as long as it takes (cs_on_up). */
		log_error(NULL, "state: REDIS %s DID NOT ANSWER WITHIN %d ms: the "
		    "calls of the node that held the address are taken over when "
		    "it does", cs->cfg->state.redis, CALLSTATE_LOAD_WAIT_MS);
		return;
	}
	log_error(NULL, "state: REDIS %s DID NOT ANSWER WITHIN %d ms: going on "
	    "WITHOUT the stored calls; calls from now on are written when it "
	    "comes back", cs->cfg->state.redis, CALLSTATE_LOAD_WAIT_MS);
	cs_ready(cs);
}

/* Start-up's read of the stored calls, once Redis is there. */
static void
cs_load(struct callstate *cs)
{
	int r;

	if (!cs->loading || cs->load_started)
		return;
	if ((r = store_load(&cs->store, cs_on_record, cs_on_loaded, cs)) == -ENOTCONN)
		return;		/* again from cs_on_up, or the wait ends */
	cs->load_started = 1;
	if (r < 0)
		cs_on_loaded(cs, r);
}

static void
cs_on_up(void *ctx)
{
	cs_load(ctx);
}

/* Read the stored calls and set them up (start-up, takeover). */
static void
cs_load_begin(struct callstate *cs)
{
	cs->loading = 1;
	cs->load_started = 0;
	uv_timer_start(&cs->wait, cs_on_wait, CALLSTATE_LOAD_WAIT_MS, 0);
	cs_load(cs);
}

/* Standby: the calls are the new active node's now.  Drop ours without
 * a BYE and without touching their records. */
static void
cs_release(struct callstate *cs)
{
	size_t n = dialog_count(cs->px);

	cs->loading = 0;
	media_shutdown(cs->md);
	dialog_forget_all(cs->px, "handed over to another node");
	for (size_t i = 0; i < cs->calls.nbuckets; i++)
		while (cs->calls.buckets[i] != NULL)
			free(strmap_del(&cs->calls, cs->calls.buckets[i]->key));
	if (n > 0)
		log_warn(NULL, "state: %zu call(s) left to the node that holds "
		    "the address now", n);
}

static void
cs_on_vip(void *ctx, int held)
{
	struct callstate *cs = ctx;
	char ip[64];

	netaddr_ntop((struct sockaddr *)&cs->vip.addr, ip, sizeof(ip));
	log_warn(NULL, "state: %s is %s: %s", ip, held ? "here" : "gone",
	    held ? "active, taking the calls over" : "standby");
	cs->active = held;
	if (held) {
		cs->take_others = 1;
		cs_load_begin(cs);
	} else
		cs_release(cs);
}

void
callstate_start(struct callstate *cs, void (*ready)(void *ctx), void *ctx)
{
	char ip[64];

	cs->ready = ready;
	cs->ready_ctx = ctx;
	cs->starting = 1;
	if (!cs->on) {
		cs_ready(cs);
		return;
	}
	if (cs->watching) {
		netaddr_ntop((struct sockaddr *)&cs->vip.addr, ip, sizeof(ip));
		if (cs->vip.held)
			log_info(NULL, "state: %s is here: active", ip);
		else
			log_warn(NULL, "state: %s IS NOT ON THIS HOST: standby, keeping "
			    "no calls until it comes here (a virtual IP another node "
			    "holds, or a [pbx] listen address that is wrong)", ip);
	}
	cs->active = !cs->watching || cs->vip.held;
	/*
	 * Another node's calls are taken only when the address comes here
	 * while we run (cs_on_vip): at start, holding it says nothing about
	 * whether that node is gone, and two sidecars that share one Redis
	 * (and no address) must never take each other's calls.
	 */
	cs->take_others = 0;
	if (!cs->active) {
		cs_ready(cs);
		return;
	}
	cs_load_begin(cs);
}

/* ---- life ---- */

int
callstate_init(struct callstate *cs, uv_loop_t *loop, const struct config *cfg,
    struct proxy *px, struct media *md)
{
	struct store_params p = {
		.addr = cfg->state.redis,
		.password = cfg->state.redis_password[0] ? cfg->state.redis_password : NULL,
		.prefix = cfg->state.key_prefix,
		.ttl_s = (unsigned)cfg->state.ttl,
		.max_pending = 4 * (size_t)cfg->limits.max_calls + 1024,
		.on_up = cs_on_up,
		.ctx = cs,
	};
	uint64_t timeout_ms = (uint64_t)cfg->media.timeout * 1000;
	int r;

	memset(cs, 0, sizeof(*cs));
	cs->loop = loop;
	cs->cfg = cfg;
	cs->px = px;
	cs->md = md;
	if (cfg->state.redis[0] == '\0') {
		log_info(NULL, "state: [state] redis is not set: calls end with "
		    "this process (no restart or failover keeps them)");
		return 0;
	}
	/* Often enough that a record is never older than a third of the
	 * media timeout, nor of the key's expiry. */
	cs->refresh_ms = timeout_ms / 3;
	if (cs->refresh_ms > (uint64_t)cfg->state.ttl * 1000 / 3)
		cs->refresh_ms = (uint64_t)cfg->state.ttl * 1000 / 3;
	if (cs->refresh_ms > 60000)
		cs->refresh_ms = 60000;
	if (cs->refresh_ms < 1000)
		cs->refresh_ms = 1000;
	if ((r = strmap_init(&cs->calls, 256)) < 0)
		return r;
	if ((r = store_init(&cs->store, loop, &p)) < 0)
		return r;
	cs->on = 1;
	/* [pbx] listen on one address: perhaps a virtual IP (vip.h). */
	if (cfg->pbx.listen.is_ip && !netaddr_is_any(cfg->pbx.listen.host)) {
		if ((r = vip_watch(&cs->vip, loop,
		    (const struct sockaddr *)&cfg->pbx.listen.ss, cs_on_vip, cs)) < 0)
			return r;
		cs->watching = 1;
	}
	uv_timer_init(loop, &cs->tick);
	cs->tick.data = cs;
	uv_timer_init(loop, &cs->wait);
	cs->wait.data = cs;
	uv_timer_start(&cs->tick, cs_on_tick, CALLSTATE_TICK_MS, CALLSTATE_TICK_MS);
	log_info(NULL, "state: calls kept in redis %s as node %s (prefix %s)",
	    cfg->state.redis, cfg->state.node, cfg->state.key_prefix);
	return 0;
}

void
callstate_metrics(struct callstate *cs, struct mbuf *b)
{
	struct store_status st = { 0 };

	if (cs->on)
		store_status(&cs->store, &st);
	mbuf_printf(b, "# HELP tlstrunk_state_enabled 1 when calls are kept in Redis ([state] redis).\n"
	    "# TYPE tlstrunk_state_enabled gauge\ntlstrunk_state_enabled %d\n", cs->on);
	if (!cs->on)
		return;
	mbuf_printf(b, "# HELP tlstrunk_state_active 1 while this node owns its calls "
	    "(holds the [pbx] listen address, or no address is shared).\n"
	    "# TYPE tlstrunk_state_active gauge\ntlstrunk_state_active %d\n", cs->active);
	mbuf_printf(b, "# HELP tlstrunk_state_redis_up 1 while the connection to Redis is up.\n"
	    "# TYPE tlstrunk_state_redis_up gauge\ntlstrunk_state_redis_up %d\n"
	    "# HELP tlstrunk_state_writes_pending Call records waiting for Redis.\n"
	    "# TYPE tlstrunk_state_writes_pending gauge\ntlstrunk_state_writes_pending %llu\n"
	    "# HELP tlstrunk_state_writes_total Call records written to Redis.\n"
	    "# TYPE tlstrunk_state_writes_total counter\ntlstrunk_state_writes_total %llu\n"
	    "# HELP tlstrunk_state_writes_failed_total Call records Redis never got (refused, or dropped while it was away).\n"
	    "# TYPE tlstrunk_state_writes_failed_total counter\ntlstrunk_state_writes_failed_total %llu\n"
	    "# HELP tlstrunk_state_calls_restored_total Calls taken over from Redis at start.\n"
	    "# TYPE tlstrunk_state_calls_restored_total counter\ntlstrunk_state_calls_restored_total %llu\n"
	    "# HELP tlstrunk_state_restore_failures_total Stored calls that could not be set up again.\n"
	    "# TYPE tlstrunk_state_restore_failures_total counter\ntlstrunk_state_restore_failures_total %llu\n"
	    "# HELP tlstrunk_state_records_skipped_total Stored records refused: corrupt, foreign or stale.\n"
	    "# TYPE tlstrunk_state_records_skipped_total counter\ntlstrunk_state_records_skipped_total %llu\n",
	    st.connected, (unsigned long long)st.pending,
	    (unsigned long long)st.written_total, (unsigned long long)st.failed_total,
	    (unsigned long long)cs->restored, (unsigned long long)cs->restore_failed,
	    (unsigned long long)cs->skipped);
}

static void
cs_forget_all(struct callstate *cs)
{
	for (size_t i = 0; i < cs->calls.nbuckets; i++)
		for (struct strmap_entry *e = cs->calls.buckets[i]; e; e = e->next)
			free(e->val);
	strmap_free(&cs->calls);
}

void
callstate_close(struct callstate *cs)
{
	if (!cs->on)
		return;
	/* Stop writing before the media shuts down: what is stored stays
	 * as it was, for the process that comes next. */
	cs->on = 0;
	if (cs->watching)
		vip_close(&cs->vip);
	uv_timer_stop(&cs->tick);
	uv_close((uv_handle_t *)&cs->tick, NULL);
	uv_close((uv_handle_t *)&cs->wait, NULL);
	store_close(&cs->store);
	cs_forget_all(cs);
}
