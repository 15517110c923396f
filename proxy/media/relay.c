/*
 * relay.c - the per-packet path, on a media worker thread.  First what
 * arrived is told apart by its first byte (RFC 7983): only RTP and RTCP
 * go on, STUN keep-alives, DTLS and junk are counted apart and dropped.
 * PBX -> cloud: accept only from the PBX networks, protect, send.  Cloud
 * -> PBX: unprotect (which proves the sender holds the key), then latch
 * onto its real address (NAT) and send plain to the PBX.  Nothing leaves
 * toward the cloud without a key.  No allocation, no lock per packet.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netaddr.h"
#include "relay.h"
#include "sippath.h"

#define RELAY_MTU	2048	/* the most we relay from one datagram */
#define RELAY_ROOM	256	/* room after it for the SRTP trailer */

static void
stat_add(uint64_t *v, uint64_t n)
{
	/* Single writer: a plain load and an atomic store, no locked op. */
	__atomic_store_n(v, *v + n, __ATOMIC_RELAXED);
}

#define RTP_MIN		12	/* fixed RTP header */
#define RTCP_MIN	8	/* RTCP header + SSRC: an empty RR */
#define STUN_MIN	20	/* STUN header (RFC 5389 6) */

enum relay_pkt
relay_classify(const uint8_t *p, size_t n, int rtcp_port)
{
	if (n < 1)
		return RELAY_PKT_OTHER;
	/* RFC 7983 7: the first byte tells the protocol */
	if (p[0] <= 3)
		return n >= STUN_MIN ? RELAY_PKT_STUN : RELAY_PKT_OTHER;
	if (p[0] >= 20 && p[0] <= 63)
		return RELAY_PKT_DTLS;
	if (p[0] < 128 || p[0] > 191)
		return RELAY_PKT_OTHER;		/* ZRTP, TURN channel, junk */
	/* RFC 5761 4: RTCP packet types 192..223 share a port with RTP */
	if (rtcp_port || (n >= 2 && p[1] >= 192 && p[1] <= 223))
		return n >= RTCP_MIN ? RELAY_PKT_RTCP : RELAY_PKT_OTHER;
	return n >= RTP_MIN ? RELAY_PKT_RTP : RELAY_PKT_OTHER;
}

const char *
relay_drop_name(enum relay_drop why)
{
	static const char *const name[RELAY_DROP_N] = {
		[RELAY_DROP_SOURCE] = "source",
		[RELAY_DROP_NOKEY] = "no_key",
		[RELAY_DROP_STUN] = "stun",
		[RELAY_DROP_DTLS] = "dtls",
		[RELAY_DROP_MALFORMED] = "malformed",
		[RELAY_DROP_OVERSIZED] = "oversized",
		[RELAY_DROP_AUTH] = "auth",
		[RELAY_DROP_REPLAY] = "replay",
		[RELAY_DROP_REUSED] = "reused_index",
		[RELAY_DROP_SRTP_ERROR] = "srtp_error",
	};

	return (unsigned)why < RELAY_DROP_N ? name[why] : "unknown";
}

static const char *
side_name(const struct relay_leg *lg)
{
	return sip_side_name[lg->side];
}

/*
 * Count a drop; the first of its kind on a leg is logged (one line per
 * leg and reason: a flood must not flood the log).  STUN is normal
 * traffic (ICE, NAT keep-alives), so debug only.
 */
static void
relay_drop(struct relay_leg *lg, enum relay_drop why, int rtcp,
    const uint8_t *p, ssize_t n)
{
	uint64_t *c = &lg->st.dropped[why];

	if (*c == 0) {
		const char *what = rtcp ? "RTCP" : "RTP";
		if (lg->side == SIDE_CLOUD)
			what = rtcp ? "SRTCP" : "SRTP";
		switch (why) {
		case RELAY_DROP_STUN:
			log_debug(lg->rl->callid, "media: STUN on the %s leg dropped"
			    " (keep-alive; not relayed)", side_name(lg));
			break;
		case RELAY_DROP_DTLS:
			log_warn(lg->rl->callid, "media: DTLS on the %s leg dropped"
			    " (the peer expects DTLS-SRTP; keys here are SDES)",
			    side_name(lg));
			break;
		case RELAY_DROP_MALFORMED:
			log_warn(lg->rl->callid, "media: packet from %s dropped: "
			    "malformed packet (%zd bytes, first byte 0x%02x)",
			    side_name(lg), n, n > 0 ? p[0] : 0);
			break;
		case RELAY_DROP_AUTH:
		case RELAY_DROP_REPLAY:
		case RELAY_DROP_SRTP_ERROR:
			log_warn(lg->rl->callid, "media: %s from %s dropped: %s",
			    what, side_name(lg), why == RELAY_DROP_AUTH ?
			    "authentication failed" : why == RELAY_DROP_REPLAY ?
			    "replayed or too old" : "libsrtp refused it");
			break;
		case RELAY_DROP_REUSED:
			log_warn(lg->rl->callid, "media: RTP toward cloud dropped: "
			    "sequence number already used with another payload");
			break;
		default:
			break;
		}
	}
	stat_add(c, 1);
}

/* A refusal by srtp_stream, as a drop reason. */
static enum relay_drop
relay_srtp_reason(int err, int tx)
{
	switch (err) {
	case SRTP_STREAM_EAUTH:
		return RELAY_DROP_AUTH;
	case SRTP_STREAM_EREPLAY:
		return tx ? RELAY_DROP_REUSED : RELAY_DROP_REPLAY;
	case SRTP_STREAM_EPACKET:
		return RELAY_DROP_MALFORMED;
	default:
		return RELAY_DROP_SRTP_ERROR;
	}
}

/*
 * One receive batch per worker thread.  Each slot leaves room behind the
 * datagram for the SRTP trailer we append in place; a datagram longer
 * than RELAY_MTU is cut by the kernel (MSG_TRUNC) and dropped.
 */
#define RELAY_BATCH	16
#define RELAY_SLOT	(RELAY_MTU + RELAY_ROOM)

struct relay_batch {
	int ready;			/* pointers set (once per thread) */
	struct mmsghdr msg[RELAY_BATCH];
	struct iovec iov[RELAY_BATCH];
	union relay_addr from[RELAY_BATCH];
	uint8_t buf[RELAY_BATCH][RELAY_SLOT];
};

static void
relay_send(struct relay_leg *out, int rtcp, const void *pkt, int len)
{
	int mux = rtcp && !out->rtcp_mux;
	struct relay_sock *s = mux ? &out->rtcp : &out->rtp;
	const union relay_addr *to = mux ? &out->peer_rtcp : &out->peer_rtp;
	socklen_t tolen = to->sa.sa_family == AF_INET6 ?
	    sizeof(to->in6) : sizeof(to->in);

	if (!out->have_peer)
		return;
	/* A full socket buffer drops the packet, as the network would. */
	if (sendto(s->fd, pkt, (size_t)len, MSG_DONTWAIT, &to->sa, tolen) >= 0) {
		stat_add(&out->st.pkts_out, 1);
		stat_add(&out->st.bytes_out, (uint64_t)len);
	}
}

/*
 * The peer's fields change only here and in relay_job_peer (the worker),
 * rarely; the signaling thread reads them for storing (relay_peer_read).
 * A sequence lock: odd while writing, the reader retries.
 */
static void
relay_peer_write_begin(struct relay_leg *lg)
{
	__atomic_store_n(&lg->peer_gen, lg->peer_gen + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
relay_peer_write_end(struct relay_leg *lg)
{
	__atomic_store_n(&lg->peer_gen, lg->peer_gen + 1, __ATOMIC_RELEASE);
}

void
relay_peer_read(const struct relay *rl, int side, struct relay_peer *out)
{
	const struct relay_leg *lg = &rl->leg[side];
	unsigned g;

	do {
		while ((g = __atomic_load_n(&lg->peer_gen, __ATOMIC_ACQUIRE)) & 1)
			;
		memcpy(&out->rtp, &lg->peer_rtp, sizeof(out->rtp));
		memcpy(&out->rtcp, &lg->peer_rtcp, sizeof(out->rtcp));
		out->have = lg->have_peer;
		out->rtcp_mux = lg->rtcp_mux;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (__atomic_load_n(&lg->peer_gen, __ATOMIC_RELAXED) != g);
}

void
relay_pos_read(const struct relay *rl, struct srtp_stream_pos *tx,
    struct srtp_stream_pos *rx)
{
	srtp_stream_pos_read(&rl->leg[SIDE_CLOUD].tx, tx);
	srtp_stream_pos_read(&rl->leg[SIDE_CLOUD].rx, rx);
}

/* Follow the peer to where its packets really come from. */
static void
relay_latch(struct relay_leg *lg, int rtcp, const struct sockaddr *from)
{
	union relay_addr *cur = rtcp && !lg->rtcp_mux ?
	    &lg->peer_rtcp : &lg->peer_rtp;
	socklen_t len = from->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	char a[64], b[64];

	if (lg->have_peer && netaddr_equal((struct sockaddr *)cur, from))
		return;
	log_info(lg->rl->callid, "media: %s leg %s latched %s -> %s",
	    sip_side_name[lg->side], rtcp ? "rtcp" : "rtp",
	    lg->have_peer ? netaddr_ntop((struct sockaddr *)cur, a, sizeof(a)) : "-",
	    netaddr_ntop(from, b, sizeof(b)));
	relay_peer_write_begin(lg);
	memcpy(cur, from, len);
	if (!rtcp && !lg->rtcp_mux && !lg->have_peer) {
		/* Until RTCP shows up itself, assume the next port. */
		memcpy(&lg->peer_rtcp, from, len);
		((struct sockaddr_in *)&lg->peer_rtcp)->sin_port =
		    htons((uint16_t)(ntohs(((const struct sockaddr_in *)from)->sin_port) + 1));
	}
	lg->have_peer = 1;
	relay_peer_write_end(lg);
}

static void
relay_from_pbx(struct relay_leg *in, int rtcp, uint8_t *p, int n,
    const struct sockaddr *from)
{
	struct relay_leg *out = &in->rl->leg[SIDE_CLOUD];
	int r;

	if (!config_pbx_allowed(in->rl->cfg, from)) {
		relay_drop(in, RELAY_DROP_SOURCE, rtcp, p, n);
		return;
	}
	relay_latch(in, rtcp, from);
	if (out->tx.session == NULL) {
		relay_drop(in, RELAY_DROP_NOKEY, rtcp, p, n);	/* never plain to the cloud */
		return;
	}
	/* SRTP_STREAM_REPEAT (an RFC 4733 end packet again) goes out too */
	r = rtcp ? srtp_stream_protect_rtcp(&out->tx, p, &n, RELAY_MTU + RELAY_ROOM) :
	    srtp_stream_protect(&out->tx, p, &n, RELAY_MTU + RELAY_ROOM);
	if (r < 0) {
		/* counted where it arrived: the log line names the PBX */
		relay_drop(in, relay_srtp_reason(r, 1), rtcp, p, n);
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
		relay_drop(in, RELAY_DROP_NOKEY, rtcp, p, n);
		return;
	}
	r = rtcp ? srtp_stream_unprotect_rtcp(&in->rx, p, &n) :
	    srtp_stream_unprotect(&in->rx, p, &n);
	if (r < 0) {
		relay_drop(in, relay_srtp_reason(r, 0), rtcp, p, n);
		return;
	}
	/* Only a sender holding the key gets here: safe to latch. */
	relay_latch(in, rtcp, from);
	relay_send(out, rtcp, p, n);
}

/*
 * Every datagram that fits counts as received and keeps the call alive
 * (media timeout), whatever it is; only RTP and RTCP go further.  What
 * is not media is dropped here, before the source check and latching:
 * a keep-alive must not move a leg, nor count as an SRTP failure.
 */
static void
relay_on_packet(struct relay_sock *s, uint8_t *p, ssize_t n,
    const struct sockaddr *from, uint64_t now)
{
	static const enum relay_drop not_media[] = {
		[RELAY_PKT_STUN] = RELAY_DROP_STUN,
		[RELAY_PKT_DTLS] = RELAY_DROP_DTLS,
		[RELAY_PKT_OTHER] = RELAY_DROP_MALFORMED,
	};
	struct relay_leg *in = s->leg;
	enum relay_pkt cls;
	int rtcp;

	if (n > RELAY_MTU) {		/* cut by the kernel: never relayed */
		relay_drop(in, RELAY_DROP_OVERSIZED, s->rtcp, p, n);
		return;
	}
	stat_add(&in->st.pkts_in, 1);
	stat_add(&in->st.bytes_in, (uint64_t)n);
	__atomic_store_n(&in->st.last_rx, now, __ATOMIC_RELAXED);
	cls = relay_classify(p, (size_t)n, s->rtcp);
	if (cls > RELAY_PKT_RTCP) {
		relay_drop(in, not_media[cls], s->rtcp, p, n);
		return;
	}
	rtcp = cls == RELAY_PKT_RTCP;
	if (in->side == SIDE_PBX)
		relay_from_pbx(in, rtcp, p, (int)n, from);
	else
		relay_from_cloud(in, rtcp, p, (int)n, from);
}

/*
 * A voice stream brings one packet per socket per 20 ms, so a wake-up
 * finds one datagram: recvfrom() takes it for about 60% of what
 * recvmmsg() costs (measured: 0.8 vs 1.2 us), whose second attempt would
 * fail.  A socket that was read less than 2 ms ago (video, a burst, a
 * flood) gets the batch instead.  libuv's poll is level-triggered, so
 * whatever either leaves queued wakes us again; we never read until
 * EAGAIN.
 */
static void
relay_read_one(struct relay_sock *s, struct relay_batch *b, uint64_t now)
{
	socklen_t fromlen = sizeof(b->from[0]);
	ssize_t n;

	/* MSG_TRUNC: the datagram's real length, so a cut one is seen. */
	n = recvfrom(s->fd, b->buf[0], RELAY_MTU, MSG_DONTWAIT | MSG_TRUNC,
	    &b->from[0].sa, &fromlen);
	if (n >= 0)		/* an empty datagram is a malformed one */
		relay_on_packet(s, b->buf[0], n, &b->from[0].sa, now);
}

static void
relay_read_batch(struct relay_sock *s, struct relay_batch *b, uint64_t now)
{
	int n;

	for (int i = 0; !b->ready && i < RELAY_BATCH; i++) {
		b->iov[i].iov_base = b->buf[i];
		b->iov[i].iov_len = RELAY_MTU + 1;
		b->msg[i].msg_hdr.msg_iov = &b->iov[i];
		b->msg[i].msg_hdr.msg_iovlen = 1;
		b->msg[i].msg_hdr.msg_name = &b->from[i];
		b->msg[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
	}
	b->ready = 1;
	n = recvmmsg(s->fd, b->msg, RELAY_BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		/* a cut datagram as longer than RELAY_MTU: dropped, counted */
		ssize_t len = (b->msg[i].msg_hdr.msg_flags & MSG_TRUNC) ?
		    RELAY_MTU + 1 : (ssize_t)b->msg[i].msg_len;
		relay_on_packet(s, b->buf[i], len, &b->from[i].sa, now);
		/* the kernel wrote the sender's length here: room for the next */
		b->msg[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
	}
}

/* Errors (EAGAIN, an ICMP error queued on the socket) end the wake-up; a
 * queued error is cleared by the very call that reports it. */
static void
relay_on_readable(uv_poll_t *h, int status, int events)
{
	static __thread struct relay_batch b;
	struct relay_sock *s = h->data;
	uint64_t now = uv_now(h->loop);

	if (status < 0) {
		/* libuv stops a handle on POLLERR.  Our sockets are neither
		 * connected nor IP_RECVERR, so ICMP errors do not reach them
		 * and none is expected; should one come, clear it and watch
		 * again rather than let the leg go deaf for good. */
		int e;
		socklen_t el = sizeof(e);
		(void)getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (uv_poll_start(h, UV_READABLE, relay_on_readable) < 0)
			log_error(s->leg->rl->callid, "media: cannot watch port %d again",
			    s->leg->port + s->rtcp);
		return;
	}
	if ((uint32_t)now - s->last_wake < 2)
		relay_read_batch(s, &b, now);
	else
		relay_read_one(s, &b, now);
	s->last_wake = (uint32_t)now;
}

/* ---- signaling thread: creating and binding ---- */

struct relay *
relay_new(const struct config *cfg, const char *callid)
{
	size_t n = strlen(callid) + 1;
	struct relay *rl = calloc(1, sizeof(*rl) + n);

	if (rl == NULL)
		return NULL;
	rl->cfg = cfg;
	memcpy(rl->callid, callid, n);
	for (int i = 0; i < 2; i++) {
		rl->leg[i].rl = rl;
		rl->leg[i].side = i;
		rl->leg[i].rtp.fd = rl->leg[i].rtcp.fd = -1;
		rl->leg[i].rtp.leg = rl->leg[i].rtcp.leg = &rl->leg[i];
		rl->leg[i].rtcp.rtcp = 1;
	}
	return rl;
}

static int
relay_sock_bind(struct relay_sock *s, const char *ip, int port, int freebind)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (netaddr_to_sockaddr(ip, (uint16_t)port, &ss, &len) < 0)
		return -EINVAL;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((freebind && netaddr_freebind(fd, ss.ss_family) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	s->fd = fd;
	return 0;
}

int
relay_bind(struct relay *rl, const char *pbx_ip, int pbx_port,
    const char *cloud_ip, int cloud_port)
{
	const char *ip[2] = { pbx_ip, cloud_ip };
	int port[2] = { pbx_port, cloud_port }, r;
	/* calls kept in Redis: the relay may be on a virtual IP (app.c) */
	int fb = rl->cfg->state.redis[0] != '\0';

	for (int i = 0; i < 2; i++) {
		rl->leg[i].port = port[i];
		if ((r = relay_sock_bind(&rl->leg[i].rtp, ip[i], port[i], fb)) < 0 ||
		    (r = relay_sock_bind(&rl->leg[i].rtcp, ip[i], port[i] + 1, fb)) < 0)
			return r;
	}
	return 0;
}

void
relay_discard(struct relay *rl)
{
	for (int i = 0; i < 2; i++) {
		if (rl->leg[i].rtp.fd >= 0)
			close(rl->leg[i].rtp.fd);
		if (rl->leg[i].rtcp.fd >= 0)
			close(rl->leg[i].rtcp.fd);
	}
	free(rl);
}

/* ---- worker thread: jobs ---- */

static void
relay_sock_closed(uv_handle_t *h)
{
	struct relay_sock *s = h->data;
	struct relay *rl = s->leg->rl;

	close(s->fd);		/* out of epoll already: uv_close removed it */
	s->fd = -1;
	if (--rl->handles == 0)
		free(rl);
}

static void
relay_job_start(struct media_worker *w, void *arg)
{
	struct relay *rl = arg;

	for (int i = 0; i < 2; i++) {
		struct relay_sock *ss[2] = { &rl->leg[i].rtp, &rl->leg[i].rtcp };
		for (int k = 0; k < 2; k++) {
			struct relay_sock *s = ss[k];
			if (uv_poll_init(&w->loop, &s->h, s->fd) < 0) {
				log_error(rl->callid, "media: cannot watch port %d",
				    rl->leg[i].port + k);
				continue;
			}
			s->h.data = s;
			s->open = 1;
			rl->handles++;
			if (uv_poll_start(&s->h, UV_READABLE, relay_on_readable) < 0)
				log_error(rl->callid, "media: cannot start port %d",
				    rl->leg[i].port + k);
		}
	}
}

int
relay_start(struct relay *rl, struct media_worker *w)
{
	int r;

	rl->w = w;
	for (int i = 0; i < 2; i++)
		if (rl->leg[i].st.last_rx == 0)	/* relay_set_idle's, or now */
			__atomic_store_n(&rl->leg[i].st.last_rx,
			    uv_hrtime() / 1000000, __ATOMIC_RELAXED);
	if ((r = media_worker_post(w, relay_job_start, rl)) < 0)
		relay_discard(rl);
	return r;
}

struct relay_peer_job {
	struct relay *rl;
	int side;
	struct sockaddr_storage rtp, rtcp;
	int have, mux;
};

static void
relay_job_peer(struct media_worker *w, void *arg)
{
	struct relay_peer_job *j = arg;
	struct relay_leg *lg = &j->rl->leg[j->side];

	/* A peer that moved in a re-INVITE is followed at once. */
	relay_peer_write_begin(lg);
	memcpy(&lg->peer_rtp, &j->rtp, sizeof(lg->peer_rtp));
	memcpy(&lg->peer_rtcp, &j->rtcp, sizeof(lg->peer_rtcp));
	lg->rtcp_mux = j->mux;
	lg->have_peer = j->have;
	relay_peer_write_end(lg);
	free(j);
}

int
relay_set_peer(struct relay *rl, int side, const char *ip, unsigned port,
    unsigned rtcp_port, int rtcp_mux)
{
	struct relay_peer_job *j = calloc(1, sizeof(*j));
	socklen_t len;
	int r;

	if (j == NULL)
		return -ENOMEM;
	j->rl = rl;
	j->side = side;
	j->mux = rtcp_mux;
	if (ip != NULL && port != 0 &&
	    netaddr_to_sockaddr(ip, (uint16_t)port, &j->rtp, &len) == 0) {
		j->rtcp = j->rtp;
		((struct sockaddr_in *)&j->rtcp)->sin_port =
		    htons((uint16_t)(rtcp_port ? rtcp_port : port + 1));
		j->have = 1;
	}
	if ((r = media_worker_post(rl->w, relay_job_peer, j)) < 0)
		free(j);
	return r;
}

void
relay_set_idle(struct relay *rl, uint64_t idle_ms)
{
	uint64_t now = uv_hrtime() / 1000000;

	for (int i = 0; i < 2; i++)
		rl->leg[i].st.last_rx = idle_ms < now ? now - idle_ms : 1;
}

struct relay_key_job {
	struct relay *rl;
	int tx;
	struct sdes_crypto c;
	int resume;
	struct srtp_stream_pos at;
};

static void
relay_job_key(struct media_worker *w, void *arg)
{
	struct relay_key_job *j = arg;
	struct relay_leg *lg = &j->rl->leg[SIDE_CLOUD];
	struct srtp_stream *s = j->tx ? &lg->tx : &lg->rx;
	int r;

	srtp_stream_free(s);
	r = j->tx ? srtp_stream_init_tx(s, &j->c) : srtp_stream_init_rx(s, &j->c);
	if (r < 0)
		log_error(j->rl->callid, "media: cannot install the %s key: %s",
		    j->tx ? "outbound" : "inbound", srtp_stream_strerror(r));
	else if (j->resume && (r = srtp_stream_resume(s, &j->c, &j->at)) < 0) {
		/* Better no media than an index used twice: nothing goes. */
		log_error(j->rl->callid, "media: cannot resume the %s stream: %s",
		    j->tx ? "outbound" : "inbound", srtp_stream_strerror(r));
		srtp_stream_free(s);
	}
	sdes_crypto_wipe(&j->c);
	free(j);
}

int
relay_set_key(struct relay *rl, int tx, const struct sdes_crypto *c)
{
	return relay_set_key_at(rl, tx, c, NULL);
}

int
relay_set_key_at(struct relay *rl, int tx, const struct sdes_crypto *c,
    const struct srtp_stream_pos *at)
{
	struct relay_key_job *j = calloc(1, sizeof(*j));
	int r;

	if (j == NULL)
		return -ENOMEM;
	j->rl = rl;
	j->tx = tx;
	j->c = *c;
	if (at != NULL) {
		j->resume = 1;
		j->at = *at;
	}
	if ((r = media_worker_post(rl->w, relay_job_key, j)) < 0) {
		sdes_crypto_wipe(&j->c);
		free(j);
	}
	return r;
}

static void
relay_job_close(struct media_worker *w, void *arg)
{
	struct relay *rl = arg;

	for (int i = 0; i < 2; i++) {
		struct relay_leg *lg = &rl->leg[i];
		struct relay_sock *ss[2] = { &lg->rtp, &lg->rtcp };
		srtp_stream_free(&lg->tx);
		srtp_stream_free(&lg->rx);
		for (int k = 0; k < 2; k++) {
			if (ss[k]->open)	/* the callback closes the fd */
				uv_close((uv_handle_t *)&ss[k]->h, relay_sock_closed);
			else if (ss[k]->fd >= 0)
				close(ss[k]->fd);
		}
	}
	if (rl->handles == 0)
		free(rl);
}

void
relay_close(struct relay *rl)
{
	if (media_worker_post(rl->w, relay_job_close, rl) < 0)
		log_error(rl->callid, "media: relay close lost (out of memory)");
}

void
relay_stats_read(const struct relay *rl, int side, struct relay_stats *out)
{
	const struct relay_stats *s = &rl->leg[side].st;

	out->pkts_in = __atomic_load_n(&s->pkts_in, __ATOMIC_RELAXED);
	out->pkts_out = __atomic_load_n(&s->pkts_out, __ATOMIC_RELAXED);
	out->bytes_in = __atomic_load_n(&s->bytes_in, __ATOMIC_RELAXED);
	out->bytes_out = __atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED);
	for (int i = 0; i < RELAY_DROP_N; i++)
		out->dropped[i] = __atomic_load_n(&s->dropped[i], __ATOMIC_RELAXED);
	out->srtp_fail = out->dropped[RELAY_DROP_AUTH] +
	    out->dropped[RELAY_DROP_REPLAY] + out->dropped[RELAY_DROP_REUSED];
	out->last_rx = __atomic_load_n(&s->last_rx, __ATOMIC_RELAXED);
}

void
relay_stats_add(struct relay_stats *sum, const struct relay_stats *src)
{
	sum->pkts_in += src->pkts_in;
	sum->pkts_out += src->pkts_out;
	sum->bytes_in += src->bytes_in;
	sum->bytes_out += src->bytes_out;
	sum->srtp_fail += src->srtp_fail;
	for (int i = 0; i < RELAY_DROP_N; i++)
		sum->dropped[i] += src->dropped[i];
}
