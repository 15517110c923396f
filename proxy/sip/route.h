/* route.h - what the proxy does with each request and response. */
#ifndef TLSTRUNK_ROUTE_H
#define TLSTRUNK_ROUTE_H

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

#include "dest.h"
#include "proxy.h"

/* Both take ownership of msg. */
void route_request(struct proxy *px, msg_t *msg, sip_t *sip,
    const struct sip_src *src);
void route_response(struct proxy *px, msg_t *msg, sip_t *sip,
    const struct sip_src *src);

/* Send a response upstream: on the connection the request came in on,
 * else (connection gone) to the Via sent-by of resp (RFC 3261 18.2.2). */
int route_send_upstream(struct proxy *px, const struct sip_src *src,
    msg_t *resp, const char *buf, size_t len);

/* Send a request we built ourselves (no Via yet) toward to_side, along
 * its Route/Request-URI; our own Route entries on top are dropped. */
int route_send_request(struct proxy *px, msg_t *msg, int to_side);

/* 1 when u names one of our two faces (PBX side or cloud side). */
int route_url_is_ours(struct proxy *px, url_t const *u);

/* Failover: point a new call's request at another cloud proxy, and give
 * it our Via with a new branch toward d. */
int route_retarget_cloud(struct proxy *px, msg_t *msg, struct cloud_host *ch);
int route_replace_via(struct proxy *px, msg_t *msg, const struct sip_dest *d,
    const char *branch);

/* ACK and BYE a dialog whose 2xx (resp, answering invite) is refused. */
void route_abort_2xx(struct proxy *px, msg_t *invite, sip_t const *resp,
    int side);

#endif
