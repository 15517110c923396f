/* uac.h - requests we originate. */
#ifndef TLSTRUNK_UAC_H
#define TLSTRUNK_UAC_H

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

#include "core.h"

/* Send a request we built ourselves (no Via yet) toward to_side, along
 * its Route/Request-URI; our own Route entries on top are dropped. */
int uac_send(struct proxy *px, msg_t *msg, int to_side);
/* ACK and BYE a dialog whose 2xx (resp, answering invite) is refused. */
void uac_abort_2xx(struct proxy *px, msg_t *invite, sip_t const *resp,
    int side);

#endif
