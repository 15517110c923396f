/*
 * cloud.c - the cloud proxy table and the persistent connection to each.
 * Toward the cloud only TLS connections whose certificate was verified
 * for the target name (or the connection the dialog's peer opened
 * itself) are used.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cloud.h"
#include "health.h"
#include "log.h"
#include "netaddr.h"

#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	30000

void
cloud_init(struct cloud *cl)
{
	for (int i = 0; i < cl->tc->nhosts; i++)
		cloud_host_add(cl, cl->tc->hosts[i], cl->tc->port)->active = 1;
}

void
cloud_start(struct cloud *cl)
{
	health_start(cl);
	resolver_start(cl);
}

void
cloud_stop(struct cloud *cl)
{
	cl->stopping = 1;
	for (int i = 0; i < cl->nhosts; i++)
		if (!uv_is_closing((uv_handle_t *)&cl->hosts[i].reconnect))
			uv_close((uv_handle_t *)&cl->hosts[i].reconnect, NULL);
	health_stop(cl);
	resolver_stop(cl);
}

struct cloud_host *
cloud_host_find(struct cloud *cl, const char *name, uint16_t port)
{
	for (int i = 0; i < cl->nhosts; i++)
		if (cl->hosts[i].port == port &&
		    strcasecmp(cl->hosts[i].name, name) == 0)
			return &cl->hosts[i];
	return NULL;
}

struct cloud_host *
cloud_host_add(struct cloud *cl, const char *name, uint16_t port)
{
	struct cloud_host *ch;

	if ((ch = cloud_host_find(cl, name, port)) != NULL)
		return ch;
	/* Full: a proxy that left the set and holds nothing makes room. */
	for (int i = 0; cl->nhosts == CFG_MAX_HOSTS && i < cl->nhosts; i++) {
		struct cloud_host *o = &cl->hosts[i];
		if (!o->active && o->conn == NULL && o->ping_sent == 0 &&
		    !o->resolving) {
			ch = o;
			break;
		}
	}
	if (ch != NULL) {
		ch->up = 0;
		ch->rtt_ms = 0;
		ch->cert_not_after = 0;
		ch->backoff_ms = 0;
		ch->wanted = 0;
	} else if (cl->nhosts < CFG_MAX_HOSTS) {
		ch = &cl->hosts[cl->nhosts];
		ch->cl = cl;
		ch->index = cl->nhosts++;
		uv_timer_init(cl->loop, &ch->reconnect);
		ch->reconnect.data = ch;
		uv_timer_init(cl->loop, &ch->health);
		ch->health.data = ch;
	} else
		return NULL;
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	ch->port = port;
	return ch;
}

/*
 * Each trunk has its own connections, even to a proxy another trunk also
 * uses (the same region): an outbound connection is this trunk's when its
 * proxy entry is (c->user is always a cloud_host, set here).
 */
static int
cloud_conn_ours(const struct cloud *cl, const struct conn *c)
{
	const struct cloud_host *ch = c->user;

	return ch == NULL || ch->cl == cl;
}

/* Open a verified connection to name:port, at the trunk's resolve
 * address for name if it names one. */
static struct conn *
cloud_connect(struct cloud *cl, const char *name, uint16_t port)
{
	const struct cfg_resolve *res = config_resolve_find(cl->tc, name);

	return conn_connect(cl->conns, SIDE_CLOUD, *cl->tls_client, name, port,
	    res != NULL ? (const struct sockaddr *)&res->ss : NULL);
}

/* An open connection to the cloud that may carry a message for name:port. */
static struct conn *
cloud_conn(struct cloud *cl, const char *host, uint16_t port, uint64_t conn_id)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct conn *c;

	if (conn_id != 0 && (c = conn_find_id(cl->conns, conn_id)) != NULL &&
	    c->side == SIDE_CLOUD)
		return c;
	LIST_FOREACH(c, &cl->conns->list, link)
		if (c->side == SIDE_CLOUD && c->outbound && !c->retired &&
		    cloud_conn_ours(cl, c) && c->port == port &&
		    strcasecmp(c->name, host) == 0)
			return c;
	/* An IP target can only use a connection that already exists. */
	if (netaddr_to_sockaddr(host, port, &ss, &sslen) == 0)
		return conn_find_addr(cl->conns, SIDE_CLOUD, (struct sockaddr *)&ss);
	return NULL;
}

int
cloud_send(struct cloud *cl, const char *host, uint16_t port, uint64_t conn_id,
    const char *buf, size_t len, uint64_t *used, const char **why)
{
	struct cloud_host *ch;
	struct conn *c;
	int r;

	if ((c = cloud_conn(cl, host, port, conn_id)) == NULL) {
		if (netaddr_is_ip(host)) {
			*why = "no connection to that IP, and a certificate "
			    "name cannot be verified for an IP address";
			return -EPERM;
		}
		/* No backoff here: a call may always try (one connection per
		 * proxy, shared by every waiting request); the backoff only
		 * paces our own reconnects and pings. */
		ch = cloud_host_find(cl, host, port);
		if ((c = cloud_connect(cl, host, port)) == NULL) {
			*why = "cannot open a TLS connection";
			return -EIO;
		}
		if (ch != NULL && c->state != CONN_CLOSING) {
			ch->conn = c;
			ch->wanted = 1;
			c->user = ch;
		}
	}
	*used = c->id;
	if ((r = conn_send(c, buf, len)) < 0)
		*why = "TLS connection failed";
	return r;
}

void
cloud_host_connect(struct cloud_host *ch)
{
	struct cloud *cl = ch->cl;
	struct conn *c;

	if ((c = cloud_connect(cl, ch->name, ch->port)) != NULL &&
	    c->state != CONN_CLOSING) {
		ch->conn = c;
		c->user = ch;
	}
}

static void
cloud_reconnect(uv_timer_t *t)
{
	struct cloud_host *ch = t->data;

	if (ch->conn != NULL || ch->cl->stopping || !ch->active)
		return;
	log_info(NULL, "cloud %s:%u: reconnecting", ch->name, ch->port);
	cloud_host_connect(ch);
}

void
cloud_conn_lost(struct cloud *cl, struct conn *c)
{
	struct cloud_host *ch = c->user;

	if (ch == NULL || ch->conn != c)
		return;
	ch->conn = NULL;
	c->user = NULL;
	if (!c->was_up)
		health_conn_failed(ch, c->why[0] ? c->why : "connection failed");
	if (c->was_up)
		ch->backoff_ms = BACKOFF_MIN_MS;
	else if (ch->backoff_ms < BACKOFF_MAX_MS)
		ch->backoff_ms = ch->backoff_ms ? ch->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (ch->backoff_ms > BACKOFF_MAX_MS)
		ch->backoff_ms = BACKOFF_MAX_MS;
	if (ch->wanted && !cl->stopping)
		uv_timer_start(&ch->reconnect, cloud_reconnect, ch->backoff_ms, 0);
}

int
cloud_conn_trunk(const struct cloud *cls, int n, const struct conn *c)
{
	const struct cloud_host *ch = c->user;

	for (int i = 0; c->outbound && ch != NULL && i < n; i++)
		if (ch->cl == &cls[i])
			return cls[i].index;
	return -1;
}

time_t
cloud_conn_up(struct cloud *cl, struct conn *c)
{
	struct cloud_host *ch = c->user;

	if (!c->tls || !c->outbound || ch == NULL || ch->cl != cl)
		return 0;
	return ch->cert_not_after = conn_peer_not_after(c);
}

static int
cloud_host_takes_calls(const struct cloud_host *ch)
{
	/* A proxy that left the SRV set takes no calls, up or not. */
	return ch->active && ch->up;
}

int
cloud_proxies_up(const struct cloud *cl)
{
	int n = 0;

	for (int i = 0; i < cl->nhosts; i++)
		n += cloud_host_takes_calls(&cl->hosts[i]);
	return n;
}

/* Prometheus wants each metric's samples together: every trunk's here. */
void
cloud_metrics_print(const struct cloud *cls, int n, struct mbuf *b)
{
	mbuf_printf(b, "# HELP tlstrunk_cloud_proxy_up 1 when the cloud proxy answers.\n"
	    "# TYPE tlstrunk_cloud_proxy_up gauge\n");
	for (const struct cloud *cl = cls; cl < cls + n; cl++)
		for (int i = 0; i < cl->nhosts; i++)
			mbuf_printf(b, "tlstrunk_cloud_proxy_up{trunk=\"%s\","
			    "proxy=\"%s\"} %d\n", cl->tc->name,
			    cl->hosts[i].name,
			    cloud_host_takes_calls(&cl->hosts[i]));
	mbuf_printf(b, "# HELP tlstrunk_cloud_proxy_rtt_seconds Last OPTIONS round trip.\n"
	    "# TYPE tlstrunk_cloud_proxy_rtt_seconds gauge\n");
	for (const struct cloud *cl = cls; cl < cls + n; cl++)
		for (int i = 0; i < cl->nhosts; i++)
			mbuf_printf(b, "tlstrunk_cloud_proxy_rtt_seconds{trunk="
			    "\"%s\",proxy=\"%s\"} %.3f\n", cl->tc->name,
			    cl->hosts[i].name,
			    (double)cl->hosts[i].rtt_ms / 1000.0);
}

void
cloud_cert_metrics_print(const struct cloud *cls, int n, struct mbuf *b)
{
	time_t now = time(NULL);

	for (const struct cloud *cl = cls; cl < cls + n; cl++)
		for (int i = 0; i < cl->nhosts; i++)
			if (cl->hosts[i].cert_not_after != 0)
				mbuf_printf(b, "tlstrunk_certificate_expiry_"
				    "seconds{cert=\"cloud:%s\",trunk=\"%s\"} "
				    "%lld\n", cl->hosts[i].name, cl->tc->name,
				    (long long)(cl->hosts[i].cert_not_after -
				    now));
}
