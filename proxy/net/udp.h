/*
 * udp.h - a SIP datagram socket: each datagram one message, handed to the
 * callback it was given (it never knows its user); datagrams out.
 */
#ifndef TLSTRUNK_UDP_H
#define TLSTRUNK_UDP_H

#include <stddef.h>
#include <uv.h>

#include "sippath.h"

struct udp_sock {
	uv_udp_t h;
	int open;
	int side;			/* enum sip_side of what arrives */
	size_t maxsize;			/* larger: flagged MSG_FLG_TOOLARGE */
	struct sockaddr_storage local;
	void *ctx;
	sip_recv_fn on_recv;
	sip_tap_fn on_tap;		/* NULL: no copies */
	void *tap_ctx;
};

/* Bind sa and start reading; u->on_recv and the rest set by the caller
 * before (see struct udp_sock).  freebind: sa may be an address this
 * host does not hold yet (a virtual IP). */
int udp_sock_listen(struct udp_sock *u, uv_loop_t *loop,
    const struct sockaddr *sa, int freebind);
int udp_sock_send(struct udp_sock *u, const struct sockaddr *to,
    const char *buf, size_t len);

#endif
