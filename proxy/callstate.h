/*
 * callstate.h - calls that outlive the process (issue 15): each answered
 * call's dialog and media state goes to Redis (state/store.h) as a
 * record (state/callrec.h), and a process started with the same [state]
 * finds its calls there, sets them up again and carries on.
 *
 * When a record is written: the call was answered; something it needs
 * to go on changed (dialog strings or CSeqs, keys, a peer latched, an
 * SSRC or rollover counter, the SRTCP count moved by
 * SRTP_STREAM_RTCP_STEP); and every refresh interval, so that the stored
 * sequence numbers stay close enough for the rollover guess and the key
 * does not expire.  Compared every CALLSTATE_TICK_MS on the signaling
 * loop; the packet path never waits for it.  Deleted when the call ends.
 */
#ifndef TLSTRUNK_CALLSTATE_H
#define TLSTRUNK_CALLSTATE_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "core.h"
#include "media.h"
#include "metrics.h"
#include "store.h"
#include "strmap.h"
#include "vip.h"

#define CALLSTATE_TICK_MS	500
/* How long start-up waits for Redis before it listens without the
 * stored calls. */
#define CALLSTATE_LOAD_WAIT_MS	3000

struct callstate {
	uv_loop_t *loop;
	const struct config *cfg;
	struct proxy *px;
	struct media *md;
	int on;				/* [state] redis set */
	struct store store;
	struct strmap calls;		/* Call-ID -> struct cs_call */
	uv_timer_t tick;
	uv_timer_t wait;		/* start-up: Redis's answer */
	void (*ready)(void *ctx);	/* start-up done (listen now) */
	void *ready_ctx;
	int loading;			/* records wanted (start, takeover) */
	int load_started;
	int starting;			/* ready() not called yet */
	int take_others;		/* restore other nodes' records too */
	/* A virtual IP ([pbx] listen) shared with other nodes: the node
	 * holding it is active, owns the calls and writes them; the others
	 * stand by and take the calls over when the address comes to them. */
	struct vip vip;
	int watching;
	int active;
	uint64_t refresh_ms;
	uint64_t restored, restore_failed, skipped;
};

/* Off (0, nothing else happens) unless [state] redis is set. */
int callstate_init(struct callstate *cs, uv_loop_t *loop,
    const struct config *cfg, struct proxy *px, struct media *md);
/* Load this node's calls, set them up, then ready(ctx); at once when
 * off, after CALLSTATE_LOAD_WAIT_MS without them when Redis is away. */
void callstate_start(struct callstate *cs, void (*ready)(void *ctx), void *ctx);
/* core_params.on_call */
void callstate_on_call(void *ctx, const char *callid, int up);
void callstate_metrics(struct callstate *cs, struct mbuf *b);
/* Stop writing (shutdown): records stay for the next process. */
void callstate_close(struct callstate *cs);

#endif
