/* sockaddr_cmp.c - comparing and splitting socket addresses. */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "sockaddr_cmp.h"

int
netaddr_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr,
		    sizeof(struct in6_addr)) == 0;
	return 0;
}

int
netaddr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	/* sin_port and sin6_port share their offset. */
	return netaddr_same_ip(a, b) &&
	    ((const struct sockaddr_in *)a)->sin_port ==
	    ((const struct sockaddr_in *)b)->sin_port;
}

int
netaddr_ip_port(const struct sockaddr *sa, char *ip, size_t len, uint16_t *port)
{
	const void *addr;

	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return -1;
	if (inet_ntop(sa->sa_family, addr, ip, (socklen_t)len) == NULL)
		return -1;
	*port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return 0;
}
