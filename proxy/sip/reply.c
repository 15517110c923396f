/* reply.c - responses upstream, toward where their request came from. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/url.h>

#include "dest.h"
#include "dialog.h"
#include "hdr.h"
#include "log.h"
#include "reply.h"
#include "sipmsg.h"

int
reply_upstream(struct proxy *px, const struct sip_src *src,
    msg_t *resp, const char *buf, size_t len)
{
	struct sip_dest d;
	const char *why;
	uint64_t used;
	sip_t *sip;
	int r;

	if ((why = dest_too_large(px, src->side, src->tp, len)) != NULL) {
		log_warn(resp != NULL ? sipmsg_callid(sip_object(resp)) : NULL,
		    "%zu-byte response to the %s not sent: %s", len,
		    sip_side_name[src->side], why);
		return -EMSGSIZE;
	}
	if ((r = px->wire.reply(px->wire.ctx, src, buf, len)) != -ENOTCONN) {
		metrics_sip(&px->metrics, src->side, 1, buf, len);
		return r;
	}
	/* The stream it came on is gone: RFC 3261 18.2.2, by the Via. */
	if (resp == NULL || (sip = sip_object(resp)) == NULL || sip->sip_via == NULL)
		return -ENOTCONN;
	if (hdr_dest_from_via(px, src->side, sip->sip_via, &d) < 0)
		return -EPERM;
	if (d.side == SIDE_CLOUD)
		d.trunk = dialog_trunk(px, sipmsg_callid(sip));
	return dest_send(px, &d, buf, len, &used, &why);
}
