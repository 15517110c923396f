/*
 * relay.c - the per-packet path.  PBX -> cloud: accept only from the
 * PBX networks, protect, send.  Cloud -> PBX: unprotect (which proves the
 * sender holds the key), then latch onto its real address (NAT) and send
 * plain to the PBX.  Nothing leaves toward the cloud without a key.
 */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "netaddr.h"
#include "relay.h"

#define RELAY_MTU	2048	/* the most we read from one datagram */

/* RFC 5761: RTCP packet types 192..223 share a port with RTP. */
static int
relay_is_rtcp(const uint8_t *p, ssize_t n)
{
	return n >= 2 && p[1] >= 192 && p[1] <= 223;
}

static void
relay_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	/* Room past RELAY_MTU for the SRTP trailer we append in place. */
	static char rbuf[RELAY_MTU + 256];

	buf->base = rbuf;
	buf->len = RELAY_MTU;
}

static void
relay_send(struct relay_leg *out, int rtcp, const void *pkt, int len)
{
	uv_buf_t b = uv_buf_init((char *)pkt, (unsigned)len);
	struct relay_sock *s = rtcp && !out->rtcp_mux ? &out->rtcp : &out->rtp;
	const struct sockaddr *to = (const struct sockaddr *)
	    (rtcp && !out->rtcp_mux ? &out->peer_rtcp : &out->peer_rtp);

	if (!out->have_peer)
		return;
	/* A full socket buffer drops the packet, as the network would. */
	if (uv_udp_try_send(&s->h, &b, 1, to) >= 0) {
		out->st.pkts_out++;
		out->st.bytes_out += (uint64_t)len;
	}
}

/* Follow the peer to where its packets really come from. */
static void
relay_latch(struct relay_leg *lg, int rtcp, const struct sockaddr *from)
{
	struct sockaddr_storage *cur = rtcp && !lg->rtcp_mux ?
	    &lg->peer_rtcp : &lg->peer_rtp;
	char a[64], b[64];

	if (lg->have_peer && netaddr_equal((struct sockaddr *)cur, from))
		return;
	log_info(lg->rl->callid, "media: %s leg %s latched %s -> %s",
	    lg->side == SIDE_PBX ? "pbx" : "cloud", rtcp ? "rtcp" : "rtp",
	    lg->have_peer ? netaddr_ntop((struct sockaddr *)cur, a, sizeof(a)) : "-",
	    netaddr_ntop(from, b, sizeof(b)));
	memcpy(cur, from, from->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	if (!rtcp && !lg->rtcp_mux && !lg->have_peer) {
		/* Until RTCP shows up itself, assume the next port. */
		memcpy(&lg->peer_rtcp, from, sizeof(lg->peer_rtp));
		((struct sockaddr_in *)&lg->peer_rtcp)->sin_port =
		    htons((uint16_t)(ntohs(((const struct sockaddr_in *)from)->sin_port) + 1));
	}
	lg->have_peer = 1;
}

static void
relay_from_pbx(struct relay_leg *in, int rtcp, uint8_t *p, int n,
    const struct sockaddr *from)
{
	struct relay_leg *out = &in->rl->leg[SIDE_CLOUD];
	const struct config *cfg = in->rl->px->cfg;
	int r;

	if (!config_pbx_allowed(cfg, from)) {
		in->st.dropped_source++;
		return;
	}
	relay_latch(in, rtcp, from);
	if (out->tx.session == NULL) {
		in->st.dropped_nokey++;	/* never plain toward the cloud */
		return;
	}
	r = rtcp ? srtp_stream_protect_rtcp(&out->tx, p, &n, RELAY_MTU + 256) :
	    srtp_stream_protect(&out->tx, p, &n, RELAY_MTU + 256);
	if (r < 0) {
		out->st.srtp_fail++;
		return;
	}
	relay_send(out, rtcp, p, n);
}

static void
relay_from_cloud(struct relay_leg *in, int rtcp, uint8_t *p, int n,
    const struct sockaddr *from)
{
	struct relay_leg *out = &in->rl->leg[SIDE_PBX];
	int r;

	if (in->rx.session == NULL) {
		in->st.dropped_nokey++;
		return;
	}
	r = rtcp ? srtp_stream_unprotect_rtcp(&in->rx, p, &n) :
	    srtp_stream_unprotect(&in->rx, p, &n);
	if (r < 0) {
		if (in->st.srtp_fail++ == 0)
			log_warn(in->rl->callid, "media: SRTP%s from cloud dropped: %s",
			    rtcp ? "CP" : "", srtp_stream_strerror(r));
		return;
	}
	/* Only a sender holding the key gets here: safe to latch. */
	relay_latch(in, rtcp, from);
	relay_send(out, rtcp, p, n);
}

static void
relay_on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
    const struct sockaddr *from, unsigned flags)
{
	struct relay_sock *s = h->data;
	struct relay_leg *in = s->leg;
	uint8_t *p = (uint8_t *)buf->base;
	int rtcp;

	if (n <= 0 || from == NULL || (flags & UV_UDP_PARTIAL) || n < 12)
		return;
	rtcp = s->rtcp || relay_is_rtcp(p, n);
	in->st.pkts_in++;
	in->st.bytes_in += (uint64_t)n;
	in->last_rx = uv_now(h->loop);
	if (in->side == SIDE_PBX)
		relay_from_pbx(in, rtcp, p, (int)n, from);
	else
		relay_from_cloud(in, rtcp, p, (int)n, from);
}

static int
relay_sock_open(struct relay *rl, struct relay_leg *lg, struct relay_sock *s,
    const char *ip, int port, int rtcp)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int r;

	if (netaddr_to_sockaddr(ip, (uint16_t)port, &ss, &len) < 0)
		return -EINVAL;
	if ((r = uv_udp_init(rl->px->loop, &s->h)) < 0)
		return r;
	rl->handles++;
	s->h.data = s;
	s->leg = lg;
	s->rtcp = rtcp;
	if ((r = uv_udp_bind(&s->h, (struct sockaddr *)&ss, 0)) < 0)
		return r;
	return uv_udp_recv_start(&s->h, relay_alloc, relay_on_recv);
}

static int
relay_leg_open(struct relay *rl, int side, const char *ip, int port)
{
	struct relay_leg *lg = &rl->leg[side];
	int r;

	lg->rl = rl;
	lg->side = side;
	lg->port = port;
	if ((r = relay_sock_open(rl, lg, &lg->rtp, ip, port, 0)) < 0)
		return r;
	return relay_sock_open(rl, lg, &lg->rtcp, ip, port + 1, 1);
}

int
relay_open(struct relay *rl, struct proxy *px, const char *pbx_ip,
    int pbx_port, const char *cloud_ip, int cloud_port)
{
	int r;

	rl->px = px;
	if ((r = relay_leg_open(rl, SIDE_PBX, pbx_ip, pbx_port)) < 0)
		return r;
	return relay_leg_open(rl, SIDE_CLOUD, cloud_ip, cloud_port);
}

int
relay_set_peer(struct relay_leg *lg, const char *ip, unsigned port,
    unsigned rtcp_port, int rtcp_mux)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (netaddr_to_sockaddr(ip, (uint16_t)port, &ss, &len) < 0)
		return -EINVAL;
	/* A peer that moved in a re-INVITE is followed at once. */
	memcpy(&lg->peer_rtp, &ss, sizeof(ss));
	memcpy(&lg->peer_rtcp, &ss, sizeof(ss));
	((struct sockaddr_in *)&lg->peer_rtcp)->sin_port =
	    htons((uint16_t)(rtcp_port ? rtcp_port : port + 1));
	lg->rtcp_mux = rtcp_mux;
	lg->have_peer = port != 0;
	return 0;
}

static void
relay_handle_closed(uv_handle_t *h)
{
	struct relay_sock *s = h->data;
	struct relay *rl = s->leg->rl;

	if (--rl->handles == 0 && rl->on_closed != NULL)
		rl->on_closed(rl);
}

void
relay_close(struct relay *rl)
{
	for (int i = 0; i < 2; i++) {
		struct relay_leg *lg = &rl->leg[i];
		srtp_stream_free(&lg->tx);
		srtp_stream_free(&lg->rx);
		if (lg->rtp.leg != NULL && !uv_is_closing((uv_handle_t *)&lg->rtp.h))
			uv_close((uv_handle_t *)&lg->rtp.h, relay_handle_closed);
		if (lg->rtcp.leg != NULL && !uv_is_closing((uv_handle_t *)&lg->rtcp.h))
			uv_close((uv_handle_t *)&lg->rtcp.h, relay_handle_closed);
	}
	if (rl->handles == 0 && rl->on_closed != NULL)
		rl->on_closed(rl);
}
