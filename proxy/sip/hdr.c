/*
 * hdr.c - the header work of a proxy: what our Via, Record-Route and
 * Request-URI say, what names us, where a request's own headers point
 * next.  No decisions (route.c) and no sending (dest.c, reply.c, uac.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/url.h>

#include "branch.h"
#include "cloud_uri.h"
#include "dest.h"
#include "hdr.h"
#include "netaddr.h"
#include "sipmsg.h"

int
hdr_dest_from_via(struct proxy *px, int side, sip_via_t const *v,
    struct sip_dest *d)
{
	const char *host;
	uint16_t port;
	int tp;

	if (side == SIDE_CLOUD) {
		port = v->v_port ? (uint16_t)atoi(v->v_port) : 5061;
		/* The trunk is the dialog's: the caller knows it. */
		dest_cloud(d, 0, v->v_host, port);
		return 0;
	}
	tp = v->v_protocol && strcasecmp(v->v_protocol, "SIP/2.0/TCP") == 0 ?
	    TP_TCP : TP_UDP;
	host = v->v_received ? v->v_received : v->v_host;
	port = v->v_rport && v->v_rport[0] ? (uint16_t)atoi(v->v_rport) :
	    v->v_port ? (uint16_t)atoi(v->v_port) : 5060;
	return dest_pbx(px, d, host, port, tp);
}

/* A branch this process made (msg/branch.h). */
int
hdr_branch_ours(struct proxy *px, const char *branch)
{
	return branch_kind(branch, px->branch_salt, NULL) >= 0;
}

/* RFC 3261 16.3 step 4: a request carrying a Via of ours came round. */
int
hdr_via_loop(struct proxy *px, sip_t const *sip)
{
	for (sip_via_t const *v = sip->sip_via; v != NULL; v = v->v_next)
		if (hdr_branch_ours(px, v->v_branch))
			return 1;
	return 0;
}

static int
hdr_url_port(url_t const *u, int tls)
{
	if (u->url_port != NULL && u->url_port[0] != '\0')
		return atoi(u->url_port);
	return tls ? 5061 : 5060;
}

/* The transport a SIP URI asks for: TP_UDP when it names none. */
static int
hdr_url_tp(url_t const *u)
{
	char val[16];

	if (u->url_type == url_sips)
		return TP_TLS;
	if (u->url_params == NULL ||
	    url_param(u->url_params, "transport", val, sizeof(val)) <= 0)
		return TP_UDP;
	if (strcasecmp(val, "tls") == 0)
		return TP_TLS;
	return strcasecmp(val, "tcp") == 0 ? TP_TCP : TP_UDP;
}

/* Which of our two faces a URI names: SIDE_PBX, SIDE_CLOUD, or -1. */
int
hdr_url_side(struct proxy *px, url_t const *u)
{
	int tls = hdr_url_tp(u) == TP_TLS;

	if (u->url_host == NULL)
		return -1;
	if (strcasecmp(u->url_host, px->tls_name) == 0 &&
	    hdr_url_port(u, 1) == px->tls_port)
		return SIDE_CLOUD;
	if (strcasecmp(u->url_host, px->pbx_host) == 0 &&
	    hdr_url_port(u, tls) == px->pbx_port)
		return SIDE_PBX;
	return -1;
}

/* Pop the Route entries that name us; remember our connection token. */
void
hdr_pop_ours(struct proxy *px, msg_t *msg, sip_t *sip, uint64_t *ttc)
{
	char val[32];

	*ttc = 0;
	for (int i = 0; i < 2 && sip->sip_route != NULL; i++) {
		url_t const *u = sip->sip_route->r_url;
		if (hdr_url_side(px, u) < 0)
			break;
		if (u->url_params && url_param(u->url_params, "ttc", val,
		    sizeof(val)) > 0)
			*ttc = strtoull(val, NULL, 16);
		sip_header_remove(msg, sip, (sip_header_t *)sip->sip_route);
	}
}

/* received= and rport= on the top Via (RFC 3261 18.2.1, RFC 3581). */
void
hdr_via_received(msg_t *msg, sip_t *sip, const struct sip_src *src)
{
	sip_via_t *v = sip->sip_via;
	char ip[64], param[80];
	uint16_t port;

	if (netaddr_ip_port((const struct sockaddr *)&src->addr, ip, sizeof(ip),
	    &port) < 0)
		return;
	if (strcmp(v->v_host, ip) != 0 || v->v_rport != NULL) {
		snprintf(param, sizeof(param), "received=%s", ip);
		sipmsg_via_param(msg, v, param);
	}
	if (v->v_rport != NULL && v->v_rport[0] == '\0') {
		snprintf(param, sizeof(param), "rport=%u", port);
		sipmsg_via_param(msg, v, param);
	}
}

int
hdr_add_via(struct proxy *px, msg_t *msg, sip_t *sip, const struct sip_dest *d,
    const char *branch)
{
	char buf[512];
	sip_via_t *v;

	if (d->side == SIDE_CLOUD)
		snprintf(buf, sizeof(buf), "SIP/2.0/TLS %s:%u;branch=%s;alias",
		    px->tls_name, px->tls_port, branch);
	else
		snprintf(buf, sizeof(buf), "SIP/2.0/%s %s:%u;branch=%s;rport",
		    d->tp == TP_TCP ? "TCP" : "UDP", px->pbx_host, px->pbx_port,
		    branch);
	if ((v = sip_via_make(msg_home(msg), buf)) == NULL)
		return -ENOMEM;
	return msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)v);
}

/*
 * Double Record-Route: the entry on top faces the next hop, the one below
 * faces where the request came from.  ttc names the cloud's own
 * connection so the dialog's requests toward it reuse that connection.
 */
int
hdr_add_rr(struct proxy *px, msg_t *msg, sip_t *sip, int to_side,
    int pbx_tp, uint64_t ttc)
{
	char cloud[512], pbx[512], tok[32] = "";
	sip_record_route_t *rc, *rp;

	if (ttc != 0)
		snprintf(tok, sizeof(tok), ";ttc=%llx", (unsigned long long)ttc);
	snprintf(cloud, sizeof(cloud), "<sip:%s:%u;transport=tls;lr;r2=on%s>",
	    px->tls_name, px->tls_port, tok);
	snprintf(pbx, sizeof(pbx), "<sip:%s:%u;%slr;r2=on%s>", px->pbx_host,
	    px->pbx_port, pbx_tp == TP_TCP ? "transport=tcp;" : "", tok);
	rc = sip_record_route_make(msg_home(msg), cloud);
	rp = sip_record_route_make(msg_home(msg), pbx);
	if (rc == NULL || rp == NULL)
		return -ENOMEM;
	/* msg_header_insert puts each on top: insert the far one last. */
	if (msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)
	    (to_side == SIDE_CLOUD ? rp : rc)) < 0 ||
	    msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)
	    (to_side == SIDE_CLOUD ? rc : rp)) < 0)
		return -ENOMEM;
	return 0;
}

int
hdr_set_ruri(msg_t *msg, sip_t *sip, const char *uri)
{
	sip_request_t *rq;

	rq = sip_request_create(msg_home(msg), sip->sip_request->rq_method,
	    sip->sip_request->rq_method_name, URL_STRING_MAKE(uri), NULL);
	if (rq == NULL)
		return -EINVAL;
	return msg_header_replace(msg, (msg_pub_t *)sip,
	    (msg_header_t *)sip->sip_request, (msg_header_t *)rq);
}

int
hdr_retarget_cloud(struct proxy *px, msg_t *msg, struct cloud_host *ch)
{
	const struct cfg_cloud *tc = ch->cl->tc;
	sip_t *sip = sip_object(msg);
	url_t const *ru = sip->sip_request->rq_url;
	char uri[1024];

	if (ru->url_user == NULL ||
	    cloud_uri_format(uri, sizeof(uri), ru->url_user, tc->tgrp,
	    tc->trunk_context, ch->name, ch->port) < 0)
		return -EINVAL;
	return hdr_set_ruri(msg, sip, uri) < 0 ? -ENOMEM : 0;
}

int
hdr_replace_via(struct proxy *px, msg_t *msg, const struct sip_dest *d,
    const char *branch)
{
	sip_t *sip = sip_object(msg);

	sip_header_remove(msg, sip, (sip_header_t *)sip->sip_via);
	return hdr_add_via(px, msg, sip, d, branch);
}

/* In-dialog: the top Route left after ours, else the Request-URI. */
int
hdr_dialog_target(struct proxy *px, sip_t *sip, int to_side, uint64_t ttc,
    struct sip_dest *d)
{
	url_t const *u = sip->sip_route ? sip->sip_route->r_url :
	    sip->sip_request->rq_url;
	char host[CFG_HOST_MAX];
	int tcp;

	if (u->url_host == NULL)
		return -EINVAL;
	snprintf(host, sizeof(host), "%s", u->url_host);
	/* url_host keeps IPv6 brackets; sockaddr parsing wants them off. */
	if (host[0] == '[') {
		size_t n = strlen(host);
		memmove(host, host + 1, n);
		if (n >= 2)
			host[n - 2] = '\0';
	}
	if (to_side == SIDE_CLOUD) {
		/* The trunk is the dialog's: the caller knows it. */
		dest_cloud(d, 0, host, (uint16_t)hdr_url_port(u, 1));
		d->conn_id = ttc;
		return 0;
	}
	tcp = hdr_url_tp(u) == TP_TCP;
	if (dest_pbx(px, d, host, (uint16_t)hdr_url_port(u, 0),
	    tcp ? TP_TCP : TP_UDP) < 0)
		return -EPERM;
	d->conn_id = ttc;
	return 0;
}

int
hdr_url_is_ours(struct proxy *px, url_t const *u)
{
	return hdr_url_side(px, u) >= 0;
}
