/*
 * media.h - the media bridge's signaling half: SDP offers and answers of
 * each call rewritten between the PBX leg (RTP/AVP) and the cloud leg
 * (RTP/SAVP with SDES), and the relay they set up.  The proxy core calls
 * it through struct proxy_hooks.
 */
#ifndef TLSTRUNK_MEDIA_H
#define TLSTRUNK_MEDIA_H

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

#include "media_worker.h"
#include "port_pool.h"
#include "relay.h"
#include "sdp_rewrite.h"
#include "config.h"
#include "siphooks.h"
#include "sippath.h"
#include "strmap.h"

struct media {
	uv_loop_t *loop;
	const struct config *cfg;
	struct call_events ev;		/* the core, for calls it must end */
	struct port_pool pool;
	struct media_workers workers;
	struct strmap calls;		/* Call-ID -> struct media_call */
	char pbx_ip[CFG_HOST_MAX];		/* PBX leg: bind and SDP */
	char cloud_ip[CFG_HOST_MAX];		/* cloud leg: bind */
	char cloud_sdp_ip[CFG_HOST_MAX];		/* cloud leg: SDP (public_address) */
	int suites[8];			/* sdes suite ids, preference order */
	int nsuites;
	int ncalls;
	struct relay_stats done[2];	/* ended calls, by leg */
	struct sdp_info scratch;	/* the SDP being looked at (one
					   thread, one body at a time) */
};

/*
 * What one call's media needs to go on in another process (issue 15):
 * the relay's ports, the keys in use, where each leg's peer receives (as
 * latched), each SRTP direction's position and when a packet last came.
 * Plain values: state/callrec.c writes and reads them.
 */
struct media_peer_state {
	char ip[46];			/* "" when the leg has no peer */
	uint16_t port, rtcp_port;
	uint8_t rtcp_mux;
};

struct media_state {
	int pbx_port, cloud_port;
	int ai;				/* the relayed m= line */
	int have_tx, have_rx;
	struct sdes_crypto tx_key, rx_key;
	struct media_peer_state peer[2];	/* enum sip_side */
	struct srtp_stream_pos tx_pos, rx_pos;
	uint64_t idle_ms;		/* since the last packet on either leg */
};

int media_init(struct media *md, uv_loop_t *loop, const struct config *cfg,
    const struct call_events *ev);
/* Fill the hooks the SIP core calls for each message it forwards. */
void media_attach(struct media *md, struct proxy_hooks *hooks);
/* End every call (shutdown). */
void media_shutdown(void *ctx);
void media_free(struct media *md);

/* Hooks: 0 when the message may go on (its SDP rewritten), else the
 * SIP status that refuses it. */
int media_on_request(void *ctx, msg_t *msg, sip_t *sip, int from_side);
int media_on_response(void *ctx, msg_t *msg, sip_t *sip, int from_side);

/*
 * The call's state as it stands, for storing: 0, or -ENOENT (no relay
 * for callid, or not yet established).  Keys are copied: wipe out after.
 */
int media_state_get(struct media *md, const char *callid, struct media_state *out);
/*
 * A call stored by another process, set up again: the same ports (taken
 * from the pool), keys, peers and SRTP positions.  0, -EEXIST, -EBUSY (a
 * port already in use), -EINVAL (a key or address that does not parse).
 */
int media_state_restore(struct media *md, const char *callid,
    const struct media_state *in);

#endif
