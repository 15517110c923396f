/*
 * relay.h - the media path of one call: a PBX leg (plain RTP/RTCP) and a
 * cloud leg (SRTP/SRTCP), each a port pair on its own address.  Packets
 * from one leg are converted and sent from the other leg's sockets.
 *
 * Ownership: the signaling thread creates a relay and binds its sockets
 * (so a busy port is known at once), then hands it to a media worker.
 * From then on only that worker touches it; the signaling thread changes
 * it by posting jobs, reads its counters (atomically), and ends it with
 * relay_close(), after which the worker frees it.
 */
#ifndef TLSTRUNK_RELAY_H
#define TLSTRUNK_RELAY_H

#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <uv.h>

#include "config.h"
#include "media_worker.h"
#include "sdes.h"
#include "srtp_stream.h"

struct relay;
struct relay_leg;

/* A bound UDP socket watched for readability; we do the I/O ourselves
 * (one recvmmsg per wake-up, sendto), libuv only polls. */
struct relay_sock {
	uv_poll_t h;
	int fd;				/* ours until the worker closes it */
	struct relay_leg *leg;
	uint32_t last_wake;		/* ms (loop time) of the last read */
	uint8_t rtcp;			/* the odd port */
	uint8_t open;			/* h is initialised */
};

/*
 * What arrives on a media port, told apart by its first byte (RFC 7983)
 * and, on the RTP port, RTCP by its packet type (RFC 5761: 192..223).
 * RTP and RTCP are SRTP and SRTCP on the cloud leg.  STUN is an ICE or
 * NAT keep-alive; DTLS a peer that expects DTLS-SRTP; neither is media
 * here (the keys come by SDES).  OTHER: anything else, or too short to
 * be what its first byte says.
 */
enum relay_pkt {
	RELAY_PKT_RTP,
	RELAY_PKT_RTCP,
	RELAY_PKT_STUN,
	RELAY_PKT_DTLS,
	RELAY_PKT_OTHER
};

/* The class of the n bytes at p arriving on an RTP (rtcp_port 0) or an
 * RTCP port.  A few compares, no parsing: the relay does it per packet. */
enum relay_pkt relay_classify(const uint8_t *p, size_t n, int rtcp_port);

/* Why a packet was not relayed: each drop counts under one reason. */
enum relay_drop {
	RELAY_DROP_SOURCE,		/* PBX leg: source not in [pbx] allow */
	RELAY_DROP_NOKEY,		/* no SRTP key yet for that direction */
	RELAY_DROP_STUN,
	RELAY_DROP_DTLS,
	RELAY_DROP_MALFORMED,		/* RELAY_PKT_OTHER, or a bad header */
	RELAY_DROP_OVERSIZED,		/* longer than the relay takes */
	RELAY_DROP_AUTH,		/* SRTP failure: tag did not verify */
	RELAY_DROP_REPLAY,		/* SRTP failure: index seen or too old */
	RELAY_DROP_REUSED,		/* SRTP failure, toward the cloud: an
					   index already used, another payload */
	RELAY_DROP_SRTP_ERROR,		/* any other libsrtp2 refusal */
	RELAY_DROP_N
};

/* The reason's label in /metrics (tlstrunk_media_dropped_total). */
const char *relay_drop_name(enum relay_drop why);

/* Written by the worker, read by anyone: relaxed atomics.  pkts_in and
 * bytes_in count every datagram that fits RELAY_MTU, relayed or not. */
struct relay_stats {
	uint64_t pkts_in, pkts_out, bytes_in, bytes_out;
	uint64_t dropped[RELAY_DROP_N];
	uint64_t srtp_fail;		/* auth + replay + reused: summed
					   when read, not counted apart */
	uint64_t last_rx;		/* ms, monotonic */
};

/* A peer's address: an IP socket address, not a 128-byte storage. */
union relay_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct relay_leg {
	struct relay *rl;
	int side;			/* 0: PBX, 1: cloud (enum sip_side) */
	int port;
	struct relay_sock rtp, rtcp;
	union relay_addr peer_rtp, peer_rtcp;
	int have_peer;
	int rtcp_mux;			/* peer multiplexes RTCP on RTP */
	unsigned peer_gen;		/* odd while the worker changes the
					   peer (relay_peer_read retries) */
	struct srtp_stream tx, rx;	/* cloud leg only */
	struct relay_stats st;
};

struct relay {
	struct media_worker *w;		/* NULL until started */
	const struct config *cfg;
	struct relay_leg leg[2];
	int handles;
	char callid[];			/* for log lines */
};

struct relay *relay_new(const struct config *cfg, const char *callid);
/* Bind both legs (signaling thread).  0 or a negative errno. */
int relay_bind(struct relay *rl, const char *pbx_ip, int pbx_port,
    const char *cloud_ip, int cloud_port);
/* Hand the relay to w.  On failure the relay is freed here. */
int relay_start(struct relay *rl, struct media_worker *w);
/* Free a relay that was never started (its sockets too). */
void relay_discard(struct relay *rl);

/* Posted to the worker: where a leg's peer receives (from its SDP);
 * ip NULL or port 0 stops sending to it (hold the old way). */
int relay_set_peer(struct relay *rl, int side, const char *ip,
    unsigned port, unsigned rtcp_port, int rtcp_mux);
/* Posted: the cloud leg's outbound (tx) or inbound key.  A new key
 * restarts the stream (ROC, replay window); callers post only changes. */
int relay_set_key(struct relay *rl, int tx, const struct sdes_crypto *c);
/*
 * Posted: as relay_set_key, then the stream carries on from at, where
 * another process left it (srtp_stream_resume); at NULL: from the start.
 */
int relay_set_key_at(struct relay *rl, int tx, const struct sdes_crypto *c,
    const struct srtp_stream_pos *at);
/* Before relay_start: the leg's last packet came idle_ms ago (a call
 * carried over from another process keeps its media-timeout clock). */
void relay_set_idle(struct relay *rl, uint64_t idle_ms);

/* A leg's peer as the worker has it now (as latched); any thread. */
struct relay_peer {
	union relay_addr rtp, rtcp;
	int have, rtcp_mux;
};
void relay_peer_read(const struct relay *rl, int side, struct relay_peer *out);
/* Where the cloud leg's SRTP streams stand; any thread. */
void relay_pos_read(const struct relay *rl, struct srtp_stream_pos *tx,
    struct srtp_stream_pos *rx);

/* Posted: close every socket; the worker frees rl afterwards. */
void relay_close(struct relay *rl);

/* Add the counters of src to sum (last_rx not summed). */
void relay_stats_add(struct relay_stats *sum, const struct relay_stats *src);

/* Counters of one leg, safe from any thread while rl lives. */
void relay_stats_read(const struct relay *rl, int side, struct relay_stats *out);

#endif
