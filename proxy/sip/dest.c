/*
 * dest.c - choosing the connection a message leaves on.  Toward the PBX
 * only the configured PBX networks are reachable; toward the cloud
 * cloud_send() (cloud/cloud.c) picks the verified connection.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cloud.h"
#include "conn.h"
#include "dest.h"
#include "log.h"
#include "netaddr.h"
#include "udp.h"


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
	for (int i = 0; i < cfg->npbx; i++)
		if (netaddr_equal((struct sockaddr *)&d->addr,
		    (const struct sockaddr *)&cfg->pbxs[i].address.ss))
			return 0;
	if (!config_pbx_allowed(cfg, (struct sockaddr *)&d->addr))
		return -EPERM;
	return 0;
}

void
dest_cloud(struct sip_dest *d, int trunk, const char *host, uint16_t port)
{
	memset(d, 0, sizeof(*d));
	d->trunk = trunk;
	d->side = SIDE_CLOUD;
	d->tp = TP_TLS;
	snprintf(d->host, sizeof(d->host), "%s", host);
	d->port = port != 0 ? port : 5061;
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
		c = conn_connect(&px->conns, SIDE_PBX, NULL, d->host, d->port,
		    (const struct sockaddr *)&d->addr);
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
	return px->wire.send(px->wire.ctx, d, buf, len, used, why);
}

/* ---- the proxy's wire: its sockets ---- */

static int
dest_net_send(void *ctx, const struct sip_dest *d, const char *buf,
    size_t len, uint64_t *used, const char **why)
{
	struct proxy *px = ctx;

	if (d->side == SIDE_PBX)
		return dest_send_pbx(px, d, buf, len, used, why);
	if (d->trunk < 0 || d->trunk >= px->nclouds) {
		*why = "no such trunk";
		return -EINVAL;
	}
	return cloud_send(&px->clouds[d->trunk], d->host, d->port, d->conn_id,
	    buf, len, used, why);
}

static int
dest_net_reply(void *ctx, const struct sip_src *src, const char *buf,
    size_t len)
{
	struct proxy *px = ctx;
	struct conn *c;

	if (src->tp == TP_UDP)
		return udp_sock_send(&px->pbx_udp,
		    (const struct sockaddr *)&src->addr, buf, len);
	if ((c = conn_find_id(&px->conns, src->conn_id)) != NULL)
		return conn_send(c, buf, len);
	return -ENOTCONN;
}

void
dest_wire_init(struct proxy *px)
{
	px->wire.ctx = px;
	px->wire.send = dest_net_send;
	px->wire.reply = dest_net_reply;
}
