/*
 * hep.h - HEP v3 (Homer/sngrep) copies of every SIP message on both legs,
 * as tlstrunk sees them: decrypted, with the real addresses and transport.
 * Off unless [trace] hep_collector is set.
 */
#ifndef TLSTRUNK_HEP_H
#define TLSTRUNK_HEP_H

#include <stddef.h>
#include <sys/socket.h>

#include <uv.h>

#include "config.h"

/* The HEP sender: one UDP handle toward the collector.  Its own state. */
struct hep {
	uv_udp_t h;
	int open;
	struct sockaddr_storage to;
	unsigned id;			/* capture agent id */
};

/* Off (0, nothing opened) when [trace] hep_collector is empty. */
int hep_open(struct hep *hp, uv_loop_t *loop, const struct config *cfg);
void hep_close(struct hep *hp);
/* proto: IPPROTO_UDP or IPPROTO_TCP (TLS is TCP on the wire).  Takes
 * void * so that it can be handed to a transport as its tap. */
void hep_capture(void *hp, const struct sockaddr *src,
    const struct sockaddr *dst, int proto, const char *buf, size_t len);
/* Pack one HEP3 packet into out; its length, or 0 when it does not fit. */
size_t hep_pack(char *out, size_t cap, const struct sockaddr *src,
    const struct sockaddr *dst, int proto, unsigned agent_id,
    const char *payload, size_t len);

#endif
