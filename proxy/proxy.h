/*
 * proxy.h - the application: start-up, listeners, signals, drain, reload,
 * around the SIP proxy core (sip/core.h).
 */
#ifndef TLSTRUNK_PROXY_H
#define TLSTRUNK_PROXY_H

#include "core.h"

int proxy_init(struct proxy *px, uv_loop_t *loop, const struct config *cfg);
/* Close every handle; uv_run() then returns and proxy_free() releases. */
void proxy_shutdown(struct proxy *px);
void proxy_free(struct proxy *px);
/* SIGTERM: 503 to new calls, exit when the last one ends (drain_timeout). */
void proxy_drain(struct proxy *px);
/* SIGHUP / certificate files changed: new TLS contexts for new handshakes. */
void proxy_reload(struct proxy *px, const char *why);

/* A message from a transport (the callee owns msg). */
void proxy_recv(struct proxy *px, msg_t *msg, const struct sip_src *src);


/* What the media bridge may ask of the core (struct call_events). */
void proxy_call_events(struct proxy *px, struct call_events *ev);

#endif
