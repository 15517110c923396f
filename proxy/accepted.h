/*
 * accepted.h - INVITEs whose 2xx went upstream, remembered for 32 s
 * (RFC 6026 "Accepted") by their server key alone.  The transaction
 * itself is gone by then: retransmitted INVITEs are absorbed here, a
 * CANCEL still gets its 200, and 2xx retransmissions travel statelessly
 * by Via.  A key and a list link instead of a whole transaction keeps
 * the calls set up in the last 32 s cheap.
 */
#ifndef TLSTRUNK_ACCEPTED_H
#define TLSTRUNK_ACCEPTED_H

#include <stdint.h>
#include <uv.h>

#include "strmap.h"

struct accepted_entry;

struct accepted {
	struct strmap keys;		/* server key -> entry */
	struct accepted_entry *head;	/* oldest first: one lifetime for */
	struct accepted_entry *tail;	/* all, so this is expiry order */
	uv_timer_t timer;
	uint64_t ttl;			/* ms */
	int count;
};

int accepted_init(struct accepted *a, uv_loop_t *loop, uint64_t ttl_ms);
/* 0, or -ENOMEM (the caller then simply forgets the INVITE sooner). */
int accepted_add(struct accepted *a, const char *skey);
int accepted_has(const struct accepted *a, const char *skey);
/* Close the timer; accepted_free() after the loop has run it. */
void accepted_close(struct accepted *a);
void accepted_free(struct accepted *a);

#endif
