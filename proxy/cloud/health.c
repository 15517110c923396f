/* health.c - OPTIONS pings to the cloud proxies and proxy selection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>

#include "branch.h"
#include "health.h"
#include "log.h"
#include "sipmsg.h"
#include "strmap.h"

#define PING_TIMEOUT_MS	5000

void
health_mark(struct cloud_host *ch, int up, const char *why)
{
	if (ch->up == up)
		return;
	ch->up = up;
	if (up)
		log_info(NULL, "cloud %s:%u is up (%s)", ch->name, ch->port, why);
	else
		log_warn(NULL, "cloud %s:%u is down: %s", ch->name, ch->port, why);
}

/* The lowest SRV priority among the proxies that are up (0 without SRV). */
static unsigned
health_best_prio(struct cloud *cl, unsigned tried)
{
	unsigned best = ~0u;

	for (int i = 0; i < cl->nhosts; i++) {
		struct cloud_host *ch = &cl->hosts[i];
		if (ch->active && ch->up && (tried & (1u << ch->index)) == 0 &&
		    ch->prio < best)
			best = ch->prio;
	}
	return best;
}

/*
 * Where the search for a proxy starts.  Round robin: after the last one
 * picked.  call-id-hash: a slot of the Call-ID's own, so that every call
 * with that Call-ID starts at the same proxy and, while it is down, moves
 * to the same next one (the table's order).
 */
static unsigned
health_start_slot(const struct cloud *cl, const char *callid)
{
	uint64_t h;

	if (cl->tc->balance != CFG_BALANCE_CALLID_HASH || callid == NULL)
		return cl->rr_next;
	h = strmap_hash_bytes(callid, strlen(callid));
	return (unsigned)((h ^ (h >> 32)) % (unsigned)cl->nhosts);
}

struct cloud_host *
health_pick(struct cloud *cl, unsigned tried, const char *callid)
{
	unsigned best = health_best_prio(cl, tried), start;

	if (cl->nhosts == 0)
		return NULL;
	start = health_start_slot(cl, callid);
	/* Pass 0: up, best priority; pass 1: anything left to try. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < cl->nhosts; i++) {
			struct cloud_host *ch = &cl->hosts[(start + (unsigned)i) %
			    (unsigned)cl->nhosts];
			if (!ch->active || (tried & (1u << ch->index)) != 0 ||
			    (pass == 0 && (!ch->up || ch->prio != best)))
				continue;
			cl->rr_next = (unsigned)ch->index + 1;
			return ch;
		}
	}
	return NULL;
}

static void
health_ping(struct cloud_host *ch)
{
	struct cloud *cl = ch->cl;
	char line[512], buf[2048], branch[BRANCH_MAX];
	const char *why;
	uint64_t used;
	int n;

	/* Written out, not built: a fixed, tiny message we fully control. */
	ch->ping_seq++;
	snprintf(line, sizeof(line), "sip:%s:%u;transport=tls", ch->name, ch->port);
	branch_make(branch, cl->salt, BRANCH_PING,
	    (uint64_t)ch->index << 32 | ch->ping_seq);
	n = snprintf(buf, sizeof(buf),
	    "OPTIONS %s SIP/2.0\r\n"
	    "Via: SIP/2.0/TLS %s:%u;branch=%s;alias\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:tlstrunk@%s>;tag=tt%s%d\r\n"
	    "To: <%s>\r\n"
	    "Call-ID: tlstrunk-ping-%s-%d@%s\r\n"
	    "CSeq: %u OPTIONS\r\n"
	    "Content-Length: 0\r\n\r\n",
	    line, cl->via_host, cl->via_port, branch, cl->via_host, cl->salt, ch->index, line,
	    cl->salt, ch->index, cl->via_host, ch->ping_seq);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	ch->ping_sent = uv_now(cl->loop);
	metrics_sip(cl->metrics, SIDE_CLOUD, 1, buf, (size_t)n);
	if (cloud_send(cl, ch->name, ch->port, 0, buf, (size_t)n, &used,
	    &why) < 0) {
		health_mark(ch, 0, why);
		ch->ping_sent = 0;
	}
}

static void
health_on_timer(uv_timer_t *t)
{
	struct cloud_host *ch = t->data;
	const struct cfg_cloud *tc = ch->cl->tc;
	uint64_t now = uv_now(ch->cl->loop);

	if (!ch->active) {		/* left the SRV set: no more pings */
		ch->ping_sent = 0;
		return;
	}
	if (ch->ping_sent != 0 && now - ch->ping_sent >= PING_TIMEOUT_MS) {
		health_mark(ch, 0, "no answer to OPTIONS");
		ch->ping_sent = 0;
	}
	if (ch->ping_sent == 0)
		health_ping(ch);
	/* Come back for the timeout of this ping, then at the interval. */
	uv_timer_start(t, health_on_timer, ch->ping_sent != 0 ? PING_TIMEOUT_MS :
	    1000 * (uint64_t)(ch->up ? tc->options_interval :
	    tc->options_interval_down), 0);
}

int
health_response(struct cloud *cl, sip_t const *sip)
{
	struct cloud_host *ch;
	uint64_t id;
	unsigned idx, seq;
	uint64_t now = uv_now(cl->loop);
	const struct cfg_cloud *tc = cl->tc;
	char why[64];

	if (branch_kind(sip->sip_via->v_branch, cl->salt, &id) !=
	    BRANCH_PING || (idx = (unsigned)(id >> 32)) >= (unsigned)cl->nhosts)
		return 0;
	seq = (unsigned)id;
	ch = &cl->hosts[idx];
	if (seq != ch->ping_seq || ch->ping_sent == 0)
		return 1;	/* late answer to an older ping */
	ch->rtt_ms = now - ch->ping_sent;
	ch->ping_sent = 0;
	if (sip->sip_status->st_status == 503) {
		health_mark(ch, 0, "OPTIONS answered 503");
	} else {
		snprintf(why, sizeof(why), "OPTIONS answered %d in %llu ms",
		    sip->sip_status->st_status, (unsigned long long)ch->rtt_ms);
		health_mark(ch, 1, why);
	}
	uv_timer_start(&ch->health, health_on_timer, 1000 * (uint64_t)(ch->up ?
	    tc->options_interval : tc->options_interval_down), 0);
	return 1;
}

void
health_conn_failed(struct cloud_host *ch, const char *why)
{
	const struct cfg_cloud *tc = ch->cl->tc;

	health_mark(ch, 0, why);
	if (ch->ping_sent == 0 || ch->cl->stopping)
		return;
	/* The ping died with its connection: no use waiting for an answer. */
	ch->ping_sent = 0;
	uv_timer_start(&ch->health, health_on_timer,
	    1000 * (uint64_t)tc->options_interval_down, 0);
}

void
health_host_start(struct cloud_host *ch)
{
	/* Optimistic until shown otherwise; the first ping goes now and
	 * opens the persistent connection before the first call. */
	ch->up = 1;
	ch->ping_sent = 0;
	uv_timer_start(&ch->health, health_on_timer, 10, 0);
}

void
health_start(struct cloud *cl)
{
	for (int i = 0; i < cl->nhosts; i++)
		if (cl->hosts[i].active)
			health_host_start(&cl->hosts[i]);
}

void
health_stop(struct cloud *cl)
{
	for (int i = 0; i < cl->nhosts; i++)
		if (!uv_is_closing((uv_handle_t *)&cl->hosts[i].health))
			uv_close((uv_handle_t *)&cl->hosts[i].health, NULL);
}
