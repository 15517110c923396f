/*
 * health.h - is each cloud proxy (lb01..lb04) taking calls?  SIP OPTIONS
 * on its TLS connection every options_interval seconds (options_interval_
 * down while it is down); a failed connection, a failed TLS check, no
 * answer or a 503 marks it down until it answers again.
 */
#ifndef TLSTRUNK_HEALTH_H
#define TLSTRUNK_HEALTH_H

#include <sofia-sip/sip.h>

#include "cloud.h"

void health_start(struct cloud *cl);
/* Start pinging one proxy (new in the SRV set, or back in it). */
void health_host_start(struct cloud_host *ch);
void health_stop(struct cloud *cl);
/* Mark a proxy up or down, logging the change and why. */
void health_mark(struct cloud_host *ch, int up, const char *why);
/* The connection to ch failed before it came up: down now, and the next
 * ping at options_interval_down rather than after a ping timeout. */
void health_conn_failed(struct cloud_host *ch, const char *why);
/* A response to one of our pings (its branch says so): 1 when it was. */
int health_response(struct cloud *cl, sip_t const *sip);
/* The healthy proxy for a new call ([cloud] balance: round robin, or by
 * callid's hash), skipping those in `tried` (a bit per host index); NULL
 * when none is left.  When every proxy is down, down ones are tried too:
 * the cloud decides, not us. */
struct cloud_host *health_pick(struct cloud *cl, unsigned tried,
    const char *callid);

#endif
