/*
 * dest.c - choosing the connection a message leaves on.  Toward the cloud
 * only TLS connections whose certificate was verified for the target name
 * (or the connection the dialog's peer opened itself) are used; toward the
 * PBX only the configured PBX networks are reachable.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "dest.h"
#include "health.h"
#include "log.h"
#include "netaddr.h"
#include "udp.h"

#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	30000

const char *
dest_src_str(const struct sip_src *src, char *buf, size_t len)
{
	return netaddr_ntop((const struct sockaddr *)&src->addr, buf, len);
}

int
dest_pbx(struct proxy *px, struct sip_dest *d, const char *host, uint16_t port,
    int tp)
{
	const struct config *cfg = px->cfg;

	memset(d, 0, sizeof(*d));
	d->side = SIDE_PBX;
	d->tp = tp;
	d->port = port;
	snprintf(d->host, sizeof(d->host), "%s", host);
	if (netaddr_to_sockaddr(host, port, &d->addr, &d->addrlen) < 0)
		return -EINVAL;
	if (netaddr_equal((struct sockaddr *)&d->addr,
	    (const struct sockaddr *)&cfg->pbx.address.ss))
		return 0;
	if (!config_pbx_allowed(cfg, (struct sockaddr *)&d->addr))
		return -EPERM;
	return 0;
}

void
dest_cloud(struct sip_dest *d, const char *host, uint16_t port)
{
	memset(d, 0, sizeof(*d));
	d->side = SIDE_CLOUD;
	d->tp = TP_TLS;
	snprintf(d->host, sizeof(d->host), "%s", host);
	d->port = port != 0 ? port : 5061;
}

/* An open connection to the cloud that may carry a message for name:port. */
static struct conn *
dest_cloud_conn(struct proxy *px, const struct sip_dest *d)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct conn *c;

	if (d->conn_id != 0 && (c = conn_find_id(&px->conns, d->conn_id)) != NULL &&
	    c->side == SIDE_CLOUD)
		return c;
	LIST_FOREACH(c, &px->conns.list, link)
		if (c->side == SIDE_CLOUD && c->outbound && !c->retired &&
		    c->port == d->port && strcasecmp(c->name, d->host) == 0)
			return c;
	/* An IP target can only use a connection that already exists. */
	if (netaddr_to_sockaddr(d->host, d->port, &ss, &sslen) == 0)
		return conn_find_addr(&px->conns, SIDE_CLOUD, (struct sockaddr *)&ss);
	return NULL;
}

static int
dest_send_cloud(struct proxy *px, const struct sip_dest *d, const char *buf,
    size_t len, uint64_t *used, const char **why)
{
	struct cloud_host *ch;
	struct conn *c;
	int r;

	if ((c = dest_cloud_conn(px, d)) == NULL) {
		if (netaddr_is_ip(d->host)) {
			*why = "no connection to that IP, and a certificate "
			    "name cannot be verified for an IP address";
			return -EPERM;
		}
		/* No backoff here: a call may always try (one connection per
		 * proxy, shared by every waiting request); the backoff only
		 * paces our own reconnects and pings. */
		ch = proxy_host_find(px, d->host, d->port);
		if ((c = conn_connect(&px->conns, SIDE_CLOUD, px->tls_client, d->host, d->port)) == NULL) {
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

static int
dest_send_pbx(struct proxy *px, const struct sip_dest *d, const char *buf,
    size_t len, uint64_t *used, const char **why)
{
	struct conn *c = NULL;
	int r;

	if (d->tp == TP_UDP) {
		if ((r = udp_sock_send(&px->pbx_udp, (struct sockaddr *)&d->addr, buf, len)) < 0)
			*why = "UDP send failed";
		return r;
	}
	if (d->conn_id != 0)
		c = conn_find_id(&px->conns, d->conn_id);
	if (c == NULL || c->side != SIDE_PBX)
		c = conn_find_addr(&px->conns, SIDE_PBX, (struct sockaddr *)&d->addr);
	if (c == NULL)
		c = conn_connect(&px->conns, SIDE_PBX, NULL, d->host, d->port);
	if (c == NULL) {
		*why = "cannot connect to the PBX";
		return -EIO;
	}
	*used = c->id;
	if ((r = conn_send(c, buf, len)) < 0)
		*why = "TCP connection to the PBX failed";
	return r;
}

const char *
dest_too_large(const struct proxy *px, int side, int tp, size_t len)
{
	/* One message too large for the cloud's reader can make it drop
	 * the shared connection, and every call on it. */
	if (side == SIDE_CLOUD && len > px->cfg->cloud.max_message_size)
		return "larger than [cloud] max_message_size";
	if (side == SIDE_PBX && tp == TP_UDP && len > DEST_UDP_MAX)
		return "larger than a UDP datagram";
	return NULL;
}

int
dest_send(struct proxy *px, const struct sip_dest *d, const char *buf,
    size_t len, uint64_t *used, const char **why)
{
	*used = 0;
	if ((*why = dest_too_large(px, d->side, d->tp, len)) != NULL)
		return -EMSGSIZE;
	metrics_sip(&px->metrics, d->side, 1, buf, len);
	if (d->side == SIDE_PBX)
		return dest_send_pbx(px, d, buf, len, used, why);
	return dest_send_cloud(px, d, buf, len, used, why);
}

void
dest_cloud_host_connect(struct cloud_host *ch)
{
	struct conn *c;

	if ((c = conn_connect(&ch->px->conns, SIDE_CLOUD, ch->px->tls_client, ch->name, ch->port)) != NULL &&
	    c->state != CONN_CLOSING) {
		ch->conn = c;
		c->user = ch;
	}
}

static void
dest_cloud_reconnect(uv_timer_t *t)
{
	struct cloud_host *ch = t->data;
	struct proxy *px = ch->px;

	if (ch->conn != NULL || px->stopping || !ch->active)
		return;
	log_info(NULL, "cloud %s:%u: reconnecting", ch->name, ch->port);
	dest_cloud_host_connect(ch);
}

void
dest_cloud_conn_lost(struct proxy *px, struct conn *c)
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
	if (ch->wanted && !px->stopping)
		uv_timer_start(&ch->reconnect, dest_cloud_reconnect,
		    ch->backoff_ms, 0);
}
