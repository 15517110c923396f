/* hdr.h - our Via, Record-Route and Request-URI; what names us. */
#ifndef TLSTRUNK_HDR_H
#define TLSTRUNK_HDR_H

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/url.h>

#include "dest.h"
#include "core.h"

/* A branch this process made (msg/branch.h). */
int hdr_branch_ours(struct proxy *px, const char *branch);
/* RFC 3261 16.3 step 4: a Via of ours is already in the request. */
int hdr_via_loop(struct proxy *px, sip_t const *sip);
/* Which of our two faces u names: SIDE_PBX, SIDE_CLOUD, or -1. */
int hdr_url_side(struct proxy *px, url_t const *u);
/* 1 when u names one of our two faces. */
int hdr_url_is_ours(struct proxy *px, url_t const *u);
/* Pop the (at most two) Route entries naming us; *ttc: our connection
 * token in them, 0 when none. */
void hdr_pop_ours(struct proxy *px, msg_t *msg, sip_t *sip, uint64_t *ttc);
/* received= and rport= on the top Via (RFC 3261 18.2.1, RFC 3581). */
void hdr_via_received(msg_t *msg, sip_t *sip, const struct sip_src *src);
int hdr_add_via(struct proxy *px, msg_t *msg, sip_t *sip,
    const struct sip_dest *d, const char *branch);
/* Double Record-Route (RFC 5658); ttc names the cloud's own connection. */
int hdr_add_rr(struct proxy *px, msg_t *msg, sip_t *sip, int to_side,
    int pbx_tp, uint64_t ttc);
int hdr_set_ruri(msg_t *msg, sip_t *sip, const char *uri);
/* Point a new call's request at cloud proxy ch (its trunk URI). */
int hdr_retarget_cloud(struct proxy *px, msg_t *msg, struct cloud_host *ch);
/* Our Via anew, with branch, toward d. */
int hdr_replace_via(struct proxy *px, msg_t *msg, const struct sip_dest *d,
    const char *branch);
/* In-dialog: the next hop is the top Route left after ours, else the
 * Request-URI. */
int hdr_dialog_target(struct proxy *px, sip_t *sip, int to_side, uint64_t ttc,
    struct sip_dest *d);
/* Where a response goes: the Via of the hop before us. */
int hdr_dest_from_via(struct proxy *px, int side, sip_via_t const *v,
    struct sip_dest *d);

#endif
