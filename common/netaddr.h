/*
 * netaddr.h - textual addresses: "host:port", "[v6]:port", IP literals,
 * host names and CIDR networks, as written in the configuration and
 * printed in logs.
 */
#ifndef TLSTRUNK_NETADDR_H
#define TLSTRUNK_NETADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest "[v6]:port" netaddr_ntop() prints, NUL included. */
#define NETADDR_STRLEN	(46 + 2 + 6 + 1)

struct netaddr_cidr {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];		/* network, host bits cleared */
	int prefix;
};

/*
 * Split "host:port", "[v6]:port", "[v6]", a bare IPv6 literal or a bare
 * host into host (brackets removed) and port.  A missing port takes
 * default_port; default_port -1 makes the port required.  Ports are
 * 1..65535.  Returns 0, or -1 on a syntax error or when host does not fit.
 */
int netaddr_parse_hostport(const char *s, char *host, size_t hostlen,
    uint16_t *port, int default_port);

/* 1 when host is an IPv4 or IPv6 literal (no brackets, no zone). */
int netaddr_is_ip(const char *host);

/* 1 when ip is the IPv4 or IPv6 unspecified address (0.0.0.0, ::). */
int netaddr_is_any(const char *ip);

/*
 * 1 when s is a DNS host name usable as a certificate name: letters,
 * digits and '-' in dot-separated labels of 1..63, at most 253 in all,
 * no label starting or ending with '-', no trailing dot, not all-numeric
 * in the last label (so "10.0.0" is not a name).  No '_', no '*'.
 */
int netaddr_is_hostname(const char *s);

/* Fill ss from an IP literal and a port.  Returns 0, or -1 if not an IP. */
int netaddr_to_sockaddr(const char *ip, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *len);

/*
 * Parse "a.b.c.d/n", "v6/n" or a bare IP (/32, /128).  Host bits are
 * cleared.  Returns 0, 1 when host bits had to be cleared (the caller
 * may consider that a typo), or -1 on a syntax error.
 */
int cidr_parse(const char *s, struct netaddr_cidr *out);

/*
 * 1 when sa lies in c.  An IPv4-mapped IPv6 source (::ffff:a.b.c.d, what
 * a dual-stack socket reports) matches IPv4 networks.
 */
int cidr_match(const struct netaddr_cidr *c, const struct sockaddr *sa);

/* "ip:port" or "[v6]:port" into buf; returns buf ("?" if unprintable). */
const char *netaddr_ntop(const struct sockaddr *sa, char *buf, size_t len);

/* 1 when a and b have the same family, address and port. */
int netaddr_equal(const struct sockaddr *a, const struct sockaddr *b);

/* 1 when a and b have the same IP address (ports ignored). */
int netaddr_same_ip(const struct sockaddr *a, const struct sockaddr *b);

/* The IP (no brackets) and the port of sa.  0, or -1 for other families. */
int netaddr_ip_port(const struct sockaddr *sa, char *ip, size_t len,
    uint16_t *port);

/* Let fd bind an address not (yet) on this host: 0 or a negative errno. */
int netaddr_freebind(int fd, int family);

#endif
