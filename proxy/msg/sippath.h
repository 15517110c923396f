/*
 * sippath.h - where a SIP message comes from and goes: the two sides, the
 * transports, and the callbacks a transport hands messages up with.  The
 * one place these names live (transports, the core and media share it).
 */
#ifndef TLSTRUNK_SIPPATH_H
#define TLSTRUNK_SIPPATH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sofia-sip/msg.h>

enum sip_side { SIDE_PBX = 0, SIDE_CLOUD = 1 };
enum sip_tp { TP_UDP = 0, TP_TCP = 1, TP_TLS = 2 };

/* "pbx", "cloud": for log lines. */
extern const char *const sip_side_name[2];

/* Where a message came from: enough to answer it on the same path. */
struct sip_src {
	int side;			/* enum sip_side */
	int tp;				/* enum sip_tp */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t conn_id;		/* stream transports; 0 for UDP */
};

/* A whole message from a transport; the callee owns msg. */
typedef void (*sip_recv_fn)(void *ctx, msg_t *msg, const struct sip_src *src);

/* A copy of the bytes of one message as sent or received (HEP); proto is
 * IPPROTO_UDP or IPPROTO_TCP. */
typedef void (*sip_tap_fn)(void *ctx, const struct sockaddr *from,
    const struct sockaddr *to, int proto, const char *buf, size_t len);

#endif
