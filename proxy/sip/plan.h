/*
 * plan.h - the number plan (config/numplan.h) applied to a new call:
 * which route it takes, and its numbers rewritten in the Request-URI,
 * To, From and P-Asserted-Identity.  The same function serves real
 * calls (route.c) and the dry-run (`tlstrunk route`), so the two agree.
 */
#ifndef TLSTRUNK_PLAN_H
#define TLSTRUNK_PLAN_H

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

#include "config.h"

struct plan_choice {
	const struct np_route *route;	/* NULL: the direction's only target */
	int target;			/* trunk (to the cloud) or PBX index */
	char applied[160];		/* "called:r1,r2 calling:r3", for logs */
	char number[NP_NUM_MAX];	/* the called number as matched */
	const char *failed;		/* the rule whose result was refused */
};

/*
 * Choose the route of a new request (dir: enum np_dir) from src (PBX or
 * trunk index, -1 when unknown) and rewrite its numbers with the route's
 * rules.  0; -ENOENT when no route takes it; -EINVAL when a rule's result
 * is not a number (pc->failed names it); -ENOMEM.
 */
int plan_apply(const struct config *cfg, msg_t *msg, sip_t *sip, int dir,
    int src, struct plan_choice *pc);

/* The Request-URI toward a PBX for user (NULL: none): 0, or -1 when it
 * does not fit. */
int plan_pbx_uri(const struct cfg_pbx *pbx, const char *user, char *buf,
    size_t len);

#endif
