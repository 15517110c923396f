/* netaddr.c - parsing and printing of addresses and CIDR networks. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "netaddr.h"

/* Copy n bytes of src into dst as a string; -1 when it does not fit. */
static int
copy_n(char *dst, size_t dstlen, const char *src, size_t n)
{
	if (n >= dstlen)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* Decimal port 1..65535, digits only (strtol would accept " +5060"). */
static int
parse_port(const char *s, uint16_t *port)
{
	long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
apply_default_port(uint16_t *port, int default_port)
{
	if (default_port < 0 || default_port > 65535)
		return -1;
	*port = (uint16_t)default_port;
	return 0;
}

/* "[v6]" or "[v6]:port". */
static int
parse_bracketed(const char *s, char *host, size_t hostlen, uint16_t *port,
    int default_port)
{
	const char *end = strchr(s, ']');

	if (end == NULL || end == s + 1)
		return -1;
	if (copy_n(host, hostlen, s + 1, (size_t)(end - s - 1)) == -1)
		return -1;
	/* Brackets are only for IPv6 literals (RFC 3986 IP-literal). */
	if (strchr(host, ':') == NULL || !netaddr_is_ip(host))
		return -1;
	if (end[1] == '\0')
		return apply_default_port(port, default_port);
	if (end[1] != ':')
		return -1;
	return parse_port(end + 2, port);
}

int
netaddr_parse_hostport(const char *s, char *host, size_t hostlen,
    uint16_t *port, int default_port)
{
	const char *colon;

	if (s == NULL || *s == '\0')
		return -1;
	if (*s == '[')
		return parse_bracketed(s, host, hostlen, port, default_port);

	colon = strchr(s, ':');
	if (colon != NULL && strchr(colon + 1, ':') != NULL) {
		/* Several colons and no brackets: only a bare IPv6 literal. */
		if (copy_n(host, hostlen, s, strlen(s)) == -1 ||
		    !netaddr_is_ip(host))
			return -1;
		return apply_default_port(port, default_port);
	}
	if (colon == NULL) {
		if (copy_n(host, hostlen, s, strlen(s)) == -1)
			return -1;
		return apply_default_port(port, default_port);
	}
	if (colon == s)
		return -1;
	if (copy_n(host, hostlen, s, (size_t)(colon - s)) == -1)
		return -1;
	return parse_port(colon + 1, port);
}

int
netaddr_is_ip(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;
}

int
netaddr_is_any(const char *ip)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, ip, &a4) == 1)
		return a4.s_addr == htonl(INADDR_ANY);
	if (inet_pton(AF_INET6, ip, &a6) == 1)
		return IN6_IS_ADDR_UNSPECIFIED(&a6);
	return 0;
}

/* One label: 1..63 letters, digits or '-', not starting or ending in '-'. */
static int
label_valid(const char *s, size_t n)
{
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int
netaddr_is_hostname(const char *s)
{
	const char *label = s, *dot;
	int numeric = 1;

	if (s == NULL || *s == '\0' || strlen(s) > 253 || netaddr_is_ip(s))
		return 0;
	for (;;) {
		dot = strchr(label, '.');
		size_t n = dot ? (size_t)(dot - label) : strlen(label);
		if (!label_valid(label, n))
			return 0;
		if (dot == NULL) {
			/* RFC 3696 2: a top-level label is never all-numeric. */
			for (size_t i = 0; i < n; i++)
				if (!isdigit((unsigned char)label[i]))
					numeric = 0;
			return !numeric;
		}
		label = dot + 1;
	}
}

int
netaddr_to_sockaddr(const char *ip, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Decimal prefix 0..max, digits only. */
static int
parse_prefix(const char *s, int max)
{
	int v = 0;

	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v <= max ? v : -1;
}

/* Clear the bits past prefix; 1 if any was set. */
static int
clear_host_bits(uint8_t *addr, int bytes, int prefix)
{
	int dirty = 0;

	for (int i = 0; i < bytes; i++) {
		int keep = prefix - i * 8;
		uint8_t mask = keep >= 8 ? 0xff :
		    keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		if (addr[i] & ~mask)
			dirty = 1;
		addr[i] &= mask;
	}
	return dirty;
}

int
cidr_parse(const char *s, struct netaddr_cidr *out)
{
	char ip[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	memset(out, 0, sizeof(*out));
	if (copy_n(ip, sizeof(ip), s, n) == -1)
		return -1;
	if (inet_pton(AF_INET, ip, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, ip, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	out->prefix = slash ? parse_prefix(slash + 1, max) : max;
	if (out->prefix == -1)
		return -1;
	return clear_host_bits(out->addr, max / 8, out->prefix);
}

/* First prefix bits of a and b are equal. */
static int
prefix_equal(const uint8_t *a, const uint8_t *b, int prefix)
{
	int full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int
cidr_match(const struct netaddr_cidr *c, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET && c->family == AF_INET)
		return prefix_equal(c->addr,
		    (const uint8_t *)&sin->sin_addr, c->prefix);
	if (sa->sa_family != AF_INET6)
		return 0;
	if (c->family == AF_INET6)
		return prefix_equal(c->addr, sin6->sin6_addr.s6_addr, c->prefix);
	if (c->family == AF_INET && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return prefix_equal(c->addr, sin6->sin6_addr.s6_addr + 12,
		    c->prefix);
	return 0;
}

const char *
netaddr_ntop(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	char ip[INET6_ADDRSTRLEN];
	int n = -1;

	if (sa != NULL && sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip)) != NULL)
		n = snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
	else if (sa != NULL && sa->sa_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip)) != NULL)
		n = snprintf(buf, len, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	if ((n < 0 || (size_t)n >= len) && len > 0)
		snprintf(buf, len, "?");
	return buf;
}

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

int
netaddr_freebind(int fd, int family)
{
	int on = 1;

	/* Bind an address this host does not hold yet (a virtual IP that
	 * keepalived moves here later): IP_FREEBIND, IPV6_FREEBIND. */
	if (family == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &on,
		    sizeof(on)) < 0 ? -errno : 0;
	return setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on)) < 0 ?
	    -errno : 0;
}
