/* sipmsg.h - small helpers over sofia-sip's msg/sip API. */
#ifndef TLSTRUNK_SIPMSG_H
#define TLSTRUNK_SIPMSG_H

#include <stddef.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

/* Serialize to a malloc'd buffer; free() it. NULL on failure. */
char *sipmsg_print(msg_t *msg, size_t *len);

/* 0 when the request/response has what a proxy needs, else a reason. */
const char *sipmsg_check(msg_t *msg, sip_t const *sip);

/* 1 when a response to sip can be built: the fields it copies (Via,
 * From, To, Call-ID, CSeq) parsed, whatever else did not. */
int sipmsg_answerable(sip_t const *sip);

/* 1 when the start line says SIP/2.0 (the only version we pass on). */
int sipmsg_version_ok(sip_t const *sip);

/* Our response to req: Via (all but the first skip_vias), From, To
 * (tagged if status > 100), Call-ID, CSeq copied.  NULL on failure. */
msg_t *sipmsg_response(msg_t *req, int skip_vias, int status,
    const char *phrase);

/* ACK (for a non-2xx final) or CANCEL built from the INVITE we forwarded:
 * same Request-URI, top Via, Route, From, Call-ID, CSeq number; To from
 * resp when given (ACK), else from the INVITE. */
msg_t *sipmsg_hop_request(msg_t *invite, sip_t const *resp, sip_method_t m);

/* An in-dialog ACK or BYE for the dialog resp (a 2xx) made for invite,
 * as its caller would send it: Request-URI from Contact, Route from the
 * Record-Route reversed.  NULL when resp has no Contact. */
msg_t *sipmsg_dialog_request(msg_t *invite, sip_t const *resp, sip_method_t m);

/* Header fields in msg (start line and separator included). */
int sipmsg_header_count(msg_t *msg);

/* Call-ID for log lines ("-" when missing). */
const char *sipmsg_callid(sip_t const *sip);

/* Append "name=value" as a URI/header parameter, re-encoding the header. */
int sipmsg_via_param(msg_t *msg, sip_via_t *v, const char *param);

#endif
