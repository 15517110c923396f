/*
 * resolver.c - the cloud proxies in DNS while we run.
 *
 * With [cloud] domain the proxies are the targets of _sips._tcp.<domain>
 * (RFC 3263 4.2), looked up again when the records' TTL (or, sooner,
 * resolve_interval) runs out; the set we use follows the answer.  Every
 * proxy's address is looked up again each resolve_interval: a proxy whose
 * connection goes to an address DNS no longer gives has moved, and gets a
 * new connection for new requests while the old one lives 32 s more for
 * the transactions on it.
 *
 * libc's resolver (res_nquery) is blocking, so SRV lookups run on libuv's
 * thread pool like uv_getaddrinfo does; the answer is parsed there with
 * libc's ns_* functions and handed back whole.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cloud.h"
#include "conn.h"
#include "health.h"
#include "log.h"
#include "netaddr.h"
#include "resolver.h"

#define SRV_RETRY_MS	30000	/* after a failed lookup; the old set stays */
#define SRV_MIN_MS	1000
#define RETIRE_MS	32000	/* 64*T1: transactions on the old connection end */

int
resolver_in_domain(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == d)
		return strncasecmp(name, domain, d) == 0;
	return n > d && name[n - d - 1] == '.' &&
	    strncasecmp(name + n - d, domain, d) == 0;
}

int
resolver_srv_parse(struct srv_lookup *lk, const unsigned char *msg, int len)
{
	struct srv_target *t;
	const unsigned char *rd;
	ns_msg m;
	ns_rr rr;
	int n;

	lk->ntargets = 0;
	if (ns_initparse(msg, len, &m) < 0)
		return -1;
	n = ns_msg_count(m, ns_s_an);
	for (int i = 0; i < n; i++) {
		if (ns_parserr(&m, ns_s_an, i, &rr) < 0)
			return -1;
		if (ns_rr_type(rr) != ns_t_srv || ns_rr_class(rr) != ns_c_in)
			continue;	/* a CNAME on the way, say */
		if (ns_rr_rdlen(rr) < 7)
			return -1;
		if (lk->ntargets == RESOLVER_MAX_SRV)
			break;
		t = &lk->targets[lk->ntargets];
		rd = ns_rr_rdata(rr);
		t->prio = ns_get16(rd);
		t->weight = ns_get16(rd + 2);
		t->port = ns_get16(rd + 4);
		t->ttl = ns_rr_ttl(rr);
		if (dn_expand(ns_msg_base(m), ns_msg_end(m), rd + 6, t->name,
		    sizeof(t->name)) < 0)
			return -1;
		lk->ntargets++;
	}
	return 0;
}

/* ---- SRV: on the thread pool ---- */

static int
srv_target_cmp(const void *a, const void *b)
{
	const struct srv_target *x = a, *y = b;

	/* Lowest priority first; the heavier weight first within one. */
	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return (int)y->weight - (int)x->weight;
}

void
resolver_srv_query(struct srv_lookup *lk)
{
	struct __res_state st;
	unsigned char ans[8192];
	int n;

	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) < 0) {
		lk->rcode = NO_RECOVERY;
		return;
	}
	n = res_nquery(&st, lk->qname, ns_c_in, ns_t_srv, ans, sizeof(ans));
	if (n < 0)
		lk->rcode = st.res_h_errno != 0 ? st.res_h_errno : NO_RECOVERY;
	else if (resolver_srv_parse(lk, ans, n < (int)sizeof(ans) ? n :
	    (int)sizeof(ans)) < 0)
		lk->rcode = NO_RECOVERY;
	res_nclose(&st);
	qsort(lk->targets, (size_t)lk->ntargets, sizeof(lk->targets[0]),
	    srv_target_cmp);
}

static void
resolver_srv_work(uv_work_t *w)
{
	resolver_srv_query(w->data);
}

/* ---- SRV: back on the loop ---- */

static void resolver_srv_lookup(uv_timer_t *t);

static void
resolver_srv_schedule(struct cloud *cl, uint64_t ms)
{
	uv_timer_start(&cl->resolver.srv_timer, resolver_srv_lookup, ms, 0);
}

/* Use the targets of lk that lie inside the domain; retire the others. */
static void
resolver_srv_apply(struct cloud *cl, struct srv_lookup *lk)
{
	const struct cfg_cloud *tc = cl->tc;
	struct resolver *rs = &cl->resolver;
	char set[sizeof(rs->last_set)];
	size_t off = 0;
	int keep[CFG_MAX_HOSTS] = { 0 }, n = 0;

	set[0] = '\0';
	for (int i = 0; i < lk->ntargets; i++) {
		struct srv_target *t = &lk->targets[i];
		struct cloud_host *ch;
		int in = resolver_in_domain(t->name, tc->domain);

		off += (size_t)snprintf(set + off, sizeof(set) - (off < sizeof(set) ?
		    off : sizeof(set)), "%s%s:%u/%u%s", i ? " " : "", t->name,
		    t->port, t->prio, in ? "" : "(outside the domain: ignored)");
		if (off >= sizeof(set))
			off = sizeof(set) - 1;
		/* RFC 5922: DNS is not secure; a target elsewhere could carry
		 * a valid certificate for a name we never meant to call. */
		if (!in || n == CFG_MAX_HOSTS)
			continue;
		if ((ch = cloud_host_add(cl, t->name, t->port)) == NULL)
			continue;
		ch->prio = t->prio;
		if (!ch->active) {
			ch->active = 1;
			health_host_start(ch);
		}
		keep[ch->index] = 1;
		n++;
	}
	for (int i = 0; i < cl->nhosts; i++)
		if (!keep[i] && cl->hosts[i].active) {
			cl->hosts[i].active = 0;
			log_warn(NULL, "cloud %s:%u left the SRV set of %s: no new "
			    "calls to it", cl->hosts[i].name, cl->hosts[i].port,
			    tc->domain);
		}
	if (strcmp(set, rs->last_set) != 0) {
		log_msg(n > 0 ? LOG_INFO : LOG_ERROR, NULL,
		    "SRV %s: %s%s", lk->qname, set[0] ? set : "no records",
		    n > 0 ? "" : " (no usable proxy)");
		snprintf(rs->last_set, sizeof(rs->last_set), "%s", set);
	}
}

static void
resolver_srv_done(uv_work_t *w, int status)
{
	struct srv_lookup *lk = w->data;
	struct cloud *cl = lk->cl;
	const struct cfg_cloud *tc = cl->tc;
	uint64_t next = 1000 * (uint64_t)tc->resolve_interval;

	cl->resolver.lookup = NULL;
	if (status < 0 || cl->stopping)
		goto done;
	if (lk->rcode == HOST_NOT_FOUND || lk->rcode == NO_DATA ||
	    (lk->rcode == 0 && lk->ntargets == 0)) {
		/* RFC 3263 4.2: no SRV records, the domain itself on 5061. */
		lk->ntargets = 1;
		snprintf(lk->targets[0].name, sizeof(lk->targets[0].name), "%s",
		    tc->domain);
		lk->targets[0].port = tc->port;
		lk->targets[0].prio = lk->targets[0].weight = 0;
		lk->targets[0].ttl = tc->resolve_interval;
		lk->rcode = 0;
	}
	if (lk->rcode != 0) {
		log_warn(NULL, "SRV %s: lookup failed (%s); the proxies stay as "
		    "they are, again in %d s", lk->qname, hstrerror(lk->rcode),
		    SRV_RETRY_MS / 1000);
		next = SRV_RETRY_MS;
		goto done;
	}
	/* RFC 2782: "." alone says the service is not offered here. */
	if (lk->ntargets == 1 && (lk->targets[0].name[0] == '\0' ||
	    strcmp(lk->targets[0].name, ".") == 0))
		lk->ntargets = 0;
	for (int i = 0; i < lk->ntargets; i++)
		if (1000 * (uint64_t)lk->targets[i].ttl < next)
			next = 1000 * (uint64_t)lk->targets[i].ttl;
	if (next < SRV_MIN_MS)
		next = SRV_MIN_MS;
	resolver_srv_apply(cl, lk);
done:
	if (!cl->stopping)
		resolver_srv_schedule(cl, next);
	free(lk);
}

static void
resolver_srv_lookup(uv_timer_t *t)
{
	struct cloud *cl = t->data;
	struct srv_lookup *lk;
	int r;

	if (cl->stopping || cl->resolver.lookup != NULL)
		return;
	if ((lk = calloc(1, sizeof(*lk))) == NULL) {
		resolver_srv_schedule(cl, SRV_RETRY_MS);
		return;
	}
	lk->cl = cl;
	lk->work.data = lk;
	snprintf(lk->qname, sizeof(lk->qname), "_sips._tcp.%s",
	    cl->tc->domain);
	if ((r = uv_queue_work(cl->loop, &lk->work, resolver_srv_work,
	    resolver_srv_done)) < 0) {
		log_warn(NULL, "SRV %s: %s", lk->qname, uv_strerror(r));
		free(lk);
		resolver_srv_schedule(cl, SRV_RETRY_MS);
		return;
	}
	cl->resolver.lookup = lk;
}

/* ---- addresses: has a connected proxy moved? ---- */

static void
resolver_retire_tick(uv_timer_t *t)
{
	struct cloud *cl = t->data;
	struct resolver *rs = &cl->resolver;
	uint64_t now = uv_now(cl->loop), next = 0;
	struct conn *c;

	for (int i = 0; i < CFG_MAX_HOSTS; i++) {
		struct retired_conn *rc = &rs->retired[i];
		if (rc->id == 0)
			continue;
		if (rc->at > now) {
			if (next == 0 || rc->at - now < next)
				next = rc->at - now;
			continue;
		}
		if ((c = conn_find_id(cl->conns, rc->id)) != NULL)
			conn_close(c, "replaced: the proxy moved");
		rc->id = 0;
	}
	if (next != 0)
		uv_timer_start(t, resolver_retire_tick, next, 0);
}

/* c's proxy now lives elsewhere: new requests on a new connection. */
static void
resolver_retire(struct cloud *cl, struct cloud_host *ch, struct conn *c)
{
	struct resolver *rs = &cl->resolver;
	int i;

	for (i = 0; i < CFG_MAX_HOSTS && rs->retired[i].id != 0; i++)
		;
	if (i == CFG_MAX_HOSTS) {
		conn_close(c, "replaced: the proxy moved");
		return;
	}
	ch->conn = NULL;
	c->user = NULL;
	c->retired = 1;
	rs->retired[i].id = c->id;
	rs->retired[i].at = uv_now(cl->loop) + RETIRE_MS;
	if (!uv_is_active((uv_handle_t *)&rs->retire_timer))
		uv_timer_start(&rs->retire_timer, resolver_retire_tick,
		    RETIRE_MS, 0);
	cloud_host_connect(ch);
}

static void
resolver_addr_done(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct cloud_host *ch = req->data;
	struct cloud *cl = ch->cl;
	struct conn *c = ch->conn;
	char now[64], was[64];

	ch->resolving = 0;
	if (status < 0 || cl->stopping || c == NULL || c->state != CONN_UP)
		goto done;	/* a failure changes nothing: keep what works */
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
		if (netaddr_same_ip(ai->ai_addr, (struct sockaddr *)&c->peer))
			goto done;
	if (res == NULL)
		goto done;
	log_warn(NULL, "cloud %s:%u moved: connected to %s, DNS now gives %s; "
	    "new requests go on a new connection, the old one closes in %d s",
	    ch->name, ch->port, netaddr_ntop((struct sockaddr *)&c->peer, was,
	    sizeof(was)), netaddr_ntop(res->ai_addr, now, sizeof(now)),
	    RETIRE_MS / 1000);
	resolver_retire(cl, ch, c);
done:
	uv_freeaddrinfo(res);
}

static void
resolver_addr_check(uv_timer_t *t)
{
	struct cloud *cl = t->data;
	struct addrinfo hints;
	char port[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	for (int i = 0; i < cl->nhosts && !cl->stopping; i++) {
		struct cloud_host *ch = &cl->hosts[i];
		if (ch->resolving || ch->conn == NULL ||
		    ch->conn->state != CONN_UP ||
		    config_resolve_find(cl->tc, ch->name) != NULL)
			continue;
		snprintf(port, sizeof(port), "%u", ch->port);
		ch->gai.data = ch;
		if (uv_getaddrinfo(cl->loop, &ch->gai, resolver_addr_done,
		    ch->name, port, &hints) == 0)
			ch->resolving = 1;
	}
}

void
resolver_start(struct cloud *cl)
{
	struct resolver *rs = &cl->resolver;
	uint64_t every = 1000 * (uint64_t)cl->tc->resolve_interval;

	uv_timer_init(cl->loop, &rs->srv_timer);
	uv_timer_init(cl->loop, &rs->addr_timer);
	uv_timer_init(cl->loop, &rs->retire_timer);
	rs->srv_timer.data = rs->addr_timer.data = rs->retire_timer.data = cl;
	rs->started = 1;
	if (cl->tc->domain[0] != '\0')
		resolver_srv_schedule(cl, 0);
	uv_timer_start(&rs->addr_timer, resolver_addr_check, every, every);
}

void
resolver_stop(struct cloud *cl)
{
	struct resolver *rs = &cl->resolver;

	if (!rs->started)
		return;
	rs->started = 0;
	/* A lookup already running finishes and frees itself (stopping). */
	if (rs->lookup != NULL)
		uv_cancel((uv_req_t *)&rs->lookup->work);
	for (int i = 0; i < cl->nhosts; i++)
		if (cl->hosts[i].resolving)
			uv_cancel((uv_req_t *)&cl->hosts[i].gai);
	uv_close((uv_handle_t *)&rs->srv_timer, NULL);
	uv_close((uv_handle_t *)&rs->addr_timer, NULL);
	uv_close((uv_handle_t *)&rs->retire_timer, NULL);
}
