/* reply.h - responses upstream. */
#ifndef TLSTRUNK_REPLY_H
#define TLSTRUNK_REPLY_H

#include <sofia-sip/msg.h>

#include "core.h"

/* Send a response upstream: on the connection the request came in on,
 * else (connection gone) to the Via sent-by of resp (RFC 3261 18.2.2). */
int reply_upstream(struct proxy *px, const struct sip_src *src,
    msg_t *resp, const char *buf, size_t len);

#endif
