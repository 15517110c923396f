/* udp.h - the PBX leg's UDP socket. */
#ifndef TLSTRUNK_UDP_H
#define TLSTRUNK_UDP_H

#include "proxy.h"

int udp_listen(struct proxy *px, const struct sockaddr *sa);
int udp_send(struct proxy *px, const struct sockaddr *to, const char *buf,
    size_t len);

#endif
