/*
 * cloud_uri.h - the Request-URI of an INVITE sent to the cloud: the
 * PBX's user part plus the RFC 4904 trunk-group parameters that select
 * the BYOC trunk, and the proxy's certificate name as host so that
 * subject-name validation holds (shared/spec/byoc-tls.md).
 */
#ifndef TLSTRUNK_CLOUD_URI_H
#define TLSTRUNK_CLOUD_URI_H

#include <stddef.h>
#include <stdint.h>

/*
 * Write "sip:<user>;tgrp=<tgrp>;trunk-context=<ctx>@<host>:<port>;transport=tls"
 * into buf (len bytes, NUL included).  user is the user part copied
 * verbatim (still escaped) from the PBX's Request-URI; any tgrp or
 * trunk-context parameter it already carries is replaced by ours, other
 * user parameters are kept after ours.  Returns the length written, or
 * -1 (buf "") when it does not fit, or user is empty or holds '@',
 * whitespace, '<', '>', '"' or control characters.
 */
int cloud_uri_format(char *buf, size_t len, const char *user,
    const char *tgrp, const char *trunk_context, const char *host,
    uint16_t port);

#endif
