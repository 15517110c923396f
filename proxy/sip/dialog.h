/*
 * dialog.h - just enough of each INVITE dialog to end it from the middle
 * (media timeout, a refused answer, shutdown) with a BYE on both legs,
 * and to say how many calls are up.  Owned by the proxy core.
 */
#ifndef TLSTRUNK_DIALOG_H
#define TLSTRUNK_DIALOG_H

#include <stdint.h>
#include <sofia-sip/sip.h>

#include "core.h"

struct dialog {
	char *callid;
	int caller_side;		/* enum sip_side */
	int confirmed;			/* a 2xx went through */
	char *caller;			/* From of the INVITE, with tag */
	char *callee;			/* To of the 2xx, with tag */
	char *caller_target;		/* Contact URIs */
	char *callee_target;
	char *route_to_caller;		/* Route values, NULL when empty */
	char *route_to_callee;
	uint32_t cseq[2];		/* highest CSeq seen from each side */
	uint64_t started;		/* loop ms */
	char src_ip[64];		/* the caller's hop, for per-source limits */
	char *proxy;			/* the cloud proxy the call used */
	int trunk;			/* cfg->trunks index */
	int pbx;			/* cfg->pbxs index */
	int status;			/* final status of the INVITE, 0 none */
	int have_media;
	uint64_t media[5];		/* pbx in, pbx out, cloud in, cloud out,
					   SRTP failures */
};

/*
 * A dialog as plain values, to store and set up again in another process
 * (issue 15).  Strings: NULL when absent; from dialog_state_get they
 * point into the dialog (valid until the loop runs again).
 */
struct dialog_state {
	const char *callid;
	int caller_side, confirmed;
	const char *caller, *callee;
	const char *caller_target, *callee_target;
	const char *route_to_caller, *route_to_callee;
	const char *proxy;
	const char *trunk, *pbx;	/* names; NULL: the first one */
	uint32_t cseq[2];
	uint64_t started_unix_ms;	/* wall clock: loop time is per process */
	const char *src_ip;
};

int dialog_table_init(struct proxy *px);
void dialog_table_free(struct proxy *px);
/* Calls up (dialogs opened and not forgotten). */
size_t dialog_count(const struct proxy *px);

/* An initial INVITE (as received) goes from from_side to the other,
 * between trunk and pbx (cfg->trunks, cfg->pbxs indexes). */
void dialog_open(struct proxy *px, sip_t const *invite, int from_side,
    const struct sockaddr *src, int trunk, int pbx);
/* The trunk of the call callid; 0 when there is no such call. */
int dialog_trunk(struct proxy *px, const char *callid);
/* Its trunk and PBX: 0, or -ENOENT. */
int dialog_parties(struct proxy *px, const char *callid, int *trunk,
    int *pbx);
/* The 2xx answering it, as received from the callee. */
void dialog_confirm(struct proxy *px, sip_t const *resp, const char *proxy);
/* The INVITE's final status when it failed. */
void dialog_status(struct proxy *px, const char *callid, int status);
/* The media bridge's counters, for the call's summary line. */
void dialog_media(struct proxy *px, const char *callid, const uint64_t m[5]);
/* A request inside the dialog from from_side (CSeq tracking). */
void dialog_request(struct proxy *px, sip_t const *req, int from_side);
/* The dialog ended by itself (BYE, failed INVITE): forget it. */
void dialog_forget(struct proxy *px, const char *callid, const char *why);
/* Forget every dialog without a word to the peers (another node took
 * the calls over). */
void dialog_forget_all(struct proxy *px, const char *why);
/* End it ourselves: BYE toward both parties, then forget it. */
int dialog_terminate(struct proxy *px, const char *callid, const char *why);

/* Fill out for callid: 0 or -ENOENT. */
int dialog_state_get(struct proxy *px, const char *callid,
    struct dialog_state *out);
/* Open a dialog from st (strings copied): 0, -EEXIST, -EINVAL, -ENOMEM. */
int dialog_state_restore(struct proxy *px, const struct dialog_state *st);

#endif
