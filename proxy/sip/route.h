/* route.h - what the proxy does with each request and response. */
#ifndef TLSTRUNK_ROUTE_H
#define TLSTRUNK_ROUTE_H

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

#include "dest.h"
#include "core.h"

/* Both take ownership of msg. */
void route_request(struct proxy *px, msg_t *msg, sip_t *sip,
    const struct sip_src *src);
void route_response(struct proxy *px, msg_t *msg, sip_t *sip,
    const struct sip_src *src);

#endif
