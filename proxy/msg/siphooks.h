/*
 * siphooks.h - what a module beside the SIP core (the media bridge) sees
 * of each message the core forwards, handed to the core as callbacks so
 * that neither includes the other.  A non-zero return from on_request or
 * on_response is the SIP status refusing the message.
 */
#ifndef TLSTRUNK_SIPHOOKS_H
#define TLSTRUNK_SIPHOOKS_H

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

#include "metrics.h"

struct proxy_hooks {
	void *ctx;
	int (*on_request)(void *ctx, msg_t *msg, sip_t *sip, int from_side);
	int (*on_response)(void *ctx, msg_t *msg, sip_t *sip, int from_side);
	void (*on_shutdown)(void *ctx);
	void (*on_metrics)(void *ctx, struct mbuf *out);
};

/* What such a module may ask of the core about a call. */
struct call_events {
	void *ctx;
	/* End the call on both legs (media timeout...). */
	void (*call_end)(void *ctx, const char *callid, const char *why);
	/* Its media counters for the summary line: pbx in, pbx out, cloud
	 * in, cloud out, SRTP failures. */
	void (*call_media)(void *ctx, const char *callid, const uint64_t m[5]);
};

#endif
