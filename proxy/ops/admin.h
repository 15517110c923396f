/*
 * admin.h - the operator's HTTP listener: /metrics and /healthz.  It
 * knows nothing of what it reports: the pages come from the callbacks it
 * was given.
 */
#ifndef TLSTRUNK_ADMIN_H
#define TLSTRUNK_ADMIN_H

#include <uv.h>

#include "config.h"
#include "metrics.h"

struct admin {
	uv_loop_t *loop;
	uv_tcp_t listen;
	int open;
	void *ctx;
	/* /metrics: Prometheus text into b. */
	void (*metrics)(void *ctx, struct mbuf *b);
	/* /healthz: a JSON body into b; 0 when healthy, else 503 is sent. */
	int (*healthz)(void *ctx, struct mbuf *b);
};

/* Listen on a (no-op when its port is 0); a's callbacks set first. */
int admin_listen(struct admin *a, uv_loop_t *loop, const struct cfg_addr *at);
void admin_close(struct admin *a);

#endif
