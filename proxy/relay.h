/*
 * relay.h - the media path of one call: a PBX leg (plain RTP/RTCP) and a
 * cloud leg (SRTP/SRTCP), each a port pair on its own address.  Packets
 * from one leg are converted and sent from the other leg's sockets.
 */
#ifndef TLSTRUNK_RELAY_H
#define TLSTRUNK_RELAY_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "proxy.h"
#include "srtp_stream.h"

struct relay;
struct relay_leg;

struct relay_sock {
	uv_udp_t h;
	struct relay_leg *leg;
	int rtcp;			/* the odd port */
};

struct relay_stats {
	uint64_t pkts_in, pkts_out, bytes_in, bytes_out;
	uint64_t srtp_fail, dropped_source, dropped_nokey;
};

struct relay_leg {
	struct relay *rl;
	int side;			/* enum sip_side */
	int port;			/* even RTP port */
	struct relay_sock rtp, rtcp;
	struct sockaddr_storage peer_rtp, peer_rtcp;
	int have_peer;
	int rtcp_mux;			/* peer multiplexes RTCP on RTP */
	struct srtp_stream tx, rx;	/* cloud leg only */
	uint64_t last_rx;		/* loop ms of the last good packet */
	struct relay_stats st;
};

struct relay {
	struct proxy *px;
	struct relay_leg leg[2];	/* indexed by enum sip_side */
	int handles;			/* open uv handles */
	void (*on_closed)(struct relay *);
	void *data;
	char callid[128];
};

/* Open both legs: PBX leg on pbx_ip:pbx_port, cloud leg on cloud_ip:
 * cloud_port (RTP on the even port, RTCP on the next). */
int relay_open(struct relay *rl, struct proxy *px, const char *pbx_ip,
    int pbx_port, const char *cloud_ip, int cloud_port);
/* Where the leg's peer said it receives (from its SDP). */
int relay_set_peer(struct relay_leg *lg, const char *ip, unsigned port,
    unsigned rtcp_port, int rtcp_mux);
/* Close every socket; on_closed runs when the last one is gone. */
void relay_close(struct relay *rl);

#endif
