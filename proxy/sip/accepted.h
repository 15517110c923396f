/*
 * accepted.h - INVITEs whose 2xx went upstream, remembered for 32 s
 * (RFC 6026 "Accepted") by their server key and our branch alone.  The
 * transaction itself is gone by then: retransmitted INVITEs are absorbed
 * here, a CANCEL still gets its 200, a late provisional or non-2xx final
 * (a 180 overtaken by the 200) is dropped, and 2xx retransmissions travel
 * statelessly by Via.  Two keys and a list link instead of a whole
 * transaction keep the calls set up in the last 32 s cheap.
 */
#ifndef TLSTRUNK_ACCEPTED_H
#define TLSTRUNK_ACCEPTED_H

#include <stdint.h>
#include <uv.h>

#include "strmap.h"

struct accepted_entry;

struct accepted {
	struct strmap keys;		/* server key -> entry */
	struct strmap branches;		/* our branch downstream -> entry */
	struct accepted_entry *head;	/* oldest first: one lifetime for */
	struct accepted_entry *tail;	/* all, so this is expiry order */
	uv_timer_t timer;
	uint64_t ttl;			/* ms */
	int count;
};

int accepted_init(struct accepted *a, uv_loop_t *loop, uint64_t ttl_ms);
/* 0, or -ENOMEM (the caller then simply forgets the INVITE sooner). */
int accepted_add(struct accepted *a, const char *skey, const char *branch);
int accepted_has(const struct accepted *a, const char *skey);
int accepted_has_branch(const struct accepted *a, const char *branch);
/* Close the timer; accepted_free() after the loop has run it. */
void accepted_close(struct accepted *a);
void accepted_free(struct accepted *a);

#endif
