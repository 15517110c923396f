/* dest.h - where a message goes next, and getting it there. */
#ifndef TLSTRUNK_DEST_H
#define TLSTRUNK_DEST_H

#include "core.h"

struct sip_dest {
	int side;			/* enum sip_side */
	int tp;				/* enum sip_tp */
	char host[CFG_HOST_MAX];	/* cloud: the name to verify */
	uint16_t port;
	struct sockaddr_storage addr;	/* PBX: always an IP */
	socklen_t addrlen;
	uint64_t conn_id;		/* preferred stream (sticky), 0 none */
	int trunk;			/* cloud: the trunk (cfg->trunks) */
};

/* The largest SIP message one UDP datagram carries (IPv4: 65,535 less
 * the IP and UDP headers; over IPv6 20 bytes more would fit). */
#define DEST_UDP_MAX	65507

/* NULL when len bytes may go to side over tp, else why not. */
const char *dest_too_large(const struct proxy *px, int side, int tp,
    size_t len);

/*
 * Send one whole message.  On return *used holds the stream connection
 * it went to (0 for UDP) so a caller can notice its loss.  Fails with a
 * negative code when no secure path exists, -EMSGSIZE when the message
 * is larger than the next hop takes; *why then says why.
 */
int dest_send(struct proxy *px, const struct sip_dest *d, const char *buf,
    size_t len, uint64_t *used, const char **why);

/* px->wire: the UDP socket, the stream connections and cloud_send(). */
void dest_wire_init(struct proxy *px);

/* Fill d for the PBX from an IP literal host (refused unless the address
 * is the configured PBX or inside [pbx] allow). */
int dest_pbx(struct proxy *px, struct sip_dest *d, const char *host,
    uint16_t port, int tp);

/* Fill d for the cloud: TLS to host:port of trunk. */
void dest_cloud(struct sip_dest *d, int trunk, const char *host,
    uint16_t port);

/* A source's address printed as ip:port. */
const char *dest_src_str(const struct sip_src *src, char *buf, size_t len);

#endif
