/*
 * metrics.h - counters for /metrics.  Incremented on the signaling
 * thread only (the media workers keep their own, read atomically).
 */
#ifndef TLSTRUNK_METRICS_H
#define TLSTRUNK_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum metrics_result { MR_ANSWERED, MR_FAILED, MR_CANCELLED, MR_NRESULTS };
enum metrics_tls { MT_OK, MT_VERIFY, MT_HANDSHAKE, MT_TIMEOUT, MT_NTLS };

#define METRICS_NMETHODS 15

struct metrics {
	uint64_t calls[2][MR_NRESULTS];		/* by caller side */
	uint64_t requests[2][2][METRICS_NMETHODS];	/* leg, dir (0 in), method */
	uint64_t responses[2][2][7];		/* leg, dir, status class */
	uint64_t refused_sources;
	uint64_t conns_refused[2];	/* [0] source not allowed, [1] a limit */
	uint64_t calls_refused;		/* limits: 503 to new calls */
	/* The same calls by trunk and PBX (cfg->trunks, cfg->pbxs). */
	uint64_t route_calls[2][CFG_MAX_TRUNKS][CFG_MAX_PBX][MR_NRESULTS];
	uint64_t no_route[2];		/* by caller side: 404, no route */
};

/* A growing text buffer for the exposition. */
struct mbuf {
	char *p;
	size_t len, cap;
	int oom;
};
void mbuf_printf(struct mbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Count a message by its start line (bytes as sent or received). */
void metrics_sip(struct metrics *m, int leg, int out, const char *buf,
    size_t len);
/* tls: handshake outcomes, counted by the connections (conn.h). */
void metrics_print(const struct metrics *m, const struct config *cfg,
    const uint64_t tls[MT_NTLS], struct mbuf *b);

#endif
