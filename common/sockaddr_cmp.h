/* sockaddr_cmp.h - comparing and splitting socket addresses. */
#ifndef TLSTRUNK_SOCKADDR_CMP_H
#define TLSTRUNK_SOCKADDR_CMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* 1 when a and b have the same family, address and port. */
int netaddr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* 1 when a and b have the same IP address (ports ignored). */
int netaddr_same_ip(const struct sockaddr *a, const struct sockaddr *b);
/* The IP (no brackets) and the port of sa.  0, or -1 for other families. */
int netaddr_ip_port(const struct sockaddr *sa, char *ip, size_t len,
    uint16_t *port);

#endif
