/*
 * hep.h - HEP v3 (Homer/sngrep) copies of every SIP message on both legs,
 * as tlstrunk sees them: decrypted, with the real addresses and transport.
 * Off unless [trace] hep_collector is set.
 */
#ifndef TLSTRUNK_HEP_H
#define TLSTRUNK_HEP_H

#include <stddef.h>
#include <sys/socket.h>

#include "proxy.h"

int hep_open(struct proxy *px);
void hep_close(struct proxy *px);
/* proto: IPPROTO_UDP or IPPROTO_TCP (TLS is TCP on the wire). */
void hep_capture(struct proxy *px, const struct sockaddr *src,
    const struct sockaddr *dst, int proto, const char *buf, size_t len);
/* Pack one HEP3 packet into out; its length, or 0 when it does not fit. */
size_t hep_pack(char *out, size_t cap, const struct sockaddr *src,
    const struct sockaddr *dst, int proto, unsigned agent_id,
    const char *payload, size_t len);

#endif
