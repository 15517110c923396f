/*
 * uac.c - requests tlstrunk originates itself (RFC 3261 8.1 as a UAC):
 * the ACK and BYE that end a dialog it must refuse, the BYEs that end a
 * call from the middle.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/url.h>

#include "branch.h"
#include "dest.h"
#include "dialog.h"
#include "hdr.h"
#include "log.h"
#include "sipmsg.h"
#include "uac.h"

int
uac_send(struct proxy *px, msg_t *msg, int to_side)
{
	sip_t *sip = sip_object(msg);
	struct sip_dest d;
	char branch[BRANCH_MAX], *buf;
	const char *why;
	uint64_t used;
	size_t len;
	int r;

	/* Our own Record-Route entries lead back to us: drop them. */
	while (sip->sip_route != NULL && hdr_url_side(px, sip->sip_route->r_url) >= 0)
		sip_header_remove(msg, sip, (sip_header_t *)sip->sip_route);
	branch_make(branch, px->branch_salt, BRANCH_UAC, ++px->uac_seq);
	if ((r = hdr_dialog_target(px, sip, to_side, 0, &d)) < 0)
		return r;
	if (to_side == SIDE_CLOUD)
		d.trunk = dialog_trunk(px, sipmsg_callid(sip));
	if ((r = hdr_add_via(px, msg, sip, &d, branch)) < 0)
		return r;
	if ((buf = sipmsg_print(msg, &len)) == NULL)
		return -ENOMEM;
	if ((r = dest_send(px, &d, buf, len, &used, &why)) < 0)
		log_warn(sipmsg_callid(sip), "%s to %s not sent: %s",
		    sip->sip_request->rq_method_name, d.host, why);
	else
		log_debug(sipmsg_callid(sip), "%s of ours sent to %s:%u",
		    sip->sip_request->rq_method_name, d.host, d.port);
	free(buf);
	return r;
}

/*
 * A 2xx we must not pass on (its SDP cannot be secured): ACK it and BYE
 * the dialog it created, toward the side that sent it.
 */
void
uac_abort_2xx(struct proxy *px, msg_t *invite, sip_t const *resp, int side)
{
	sip_method_t ms[2] = { sip_method_ack, sip_method_bye };

	for (int i = 0; i < 2; i++) {
		msg_t *m = sipmsg_dialog_request(invite, resp, ms[i]);
		if (m == NULL)
			continue;
		uac_send(px, m, side);
		msg_destroy(m);
	}
}
