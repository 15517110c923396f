/* test_netaddr.c - host:port, IP literals, host names, CIDR. */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <criterion/criterion.h>

#include "netaddr.h"

static struct sockaddr_storage ss;

/* A sockaddr for ip (port 0). */
static const struct sockaddr *
sa(const char *ip)
{
	socklen_t len;

	cr_assert_eq(netaddr_to_sockaddr(ip, 0, &ss, &len), 0, "%s", ip);
	return (const struct sockaddr *)&ss;
}

static void
hp_ok(const char *s, int def, const char *host, uint16_t port)
{
	char h[64];
	uint16_t p = 0;

	cr_assert_eq(netaddr_parse_hostport(s, h, sizeof(h), &p, def), 0,
	    "rejected %s", s);
	cr_assert_str_eq(h, host, "%s", s);
	cr_assert_eq(p, port, "%s", s);
}

static void
hp_bad(const char *s, int def)
{
	char h[64];
	uint16_t p;

	cr_assert_eq(netaddr_parse_hostport(s, h, sizeof(h), &p, def), -1,
	    "accepted %s", s);
}

Test(netaddr, hostport_ok)
{
	hp_ok("10.0.0.1:5060", -1, "10.0.0.1", 5060);
	hp_ok("sbc.example.com:5061", -1, "sbc.example.com", 5061);
	hp_ok("[2001:db8::1]:5061", -1, "2001:db8::1", 5061);
	hp_ok("[::]:1", -1, "::", 1);
	hp_ok("x:65535", -1, "x", 65535);
	hp_ok("10.0.0.1", 5060, "10.0.0.1", 5060);
	hp_ok("host", 7, "host", 7);
	hp_ok("[::1]", 5060, "::1", 5060);
	hp_ok("2001:db8::1", 5060, "2001:db8::1", 5060);
}

Test(netaddr, hostport_bad)
{
	hp_bad("10.0.0.1", -1);
	hp_bad("[::1]", -1);
	hp_bad("2001:db8::1", -1);
	hp_bad("", 5060);
	hp_bad(":5060", 5060);
	hp_bad("host:", 5060);
	hp_bad("host:0", 5060);
	hp_bad("host:65536", 5060);
	hp_bad("host:5x", 5060);
	hp_bad("host:+5", 5060);
	hp_bad("host: 5", 5060);
	hp_bad("host:050600", 5060);
	hp_bad("[10.0.0.1]:5060", 5060);
	hp_bad("[::1", 5060);
	hp_bad("[::1]5060", 5060);
	hp_bad("[]:5060", 5060);
	hp_bad("a:b:c", 5060);
	cr_assert_eq(netaddr_parse_hostport(NULL, NULL, 0, NULL, 0), -1);
}

Test(netaddr, hostport_host_too_long)
{
	char h[8];
	uint16_t p;

	cr_assert_eq(netaddr_parse_hostport("1234567:1", h, sizeof(h), &p, -1),
	    0);
	cr_assert_eq(netaddr_parse_hostport("12345678:1", h, sizeof(h), &p,
	    -1), -1);
	cr_assert_eq(netaddr_parse_hostport("[2001:db8::1]:1", h, sizeof(h),
	    &p, -1), -1);
}

Test(netaddr, is_ip_and_any)
{
	cr_assert(netaddr_is_ip("10.0.0.1"));
	cr_assert(netaddr_is_ip("::1"));
	cr_assert(netaddr_is_ip("::ffff:10.0.0.1"));
	cr_assert_not(netaddr_is_ip("[::1]"));
	cr_assert_not(netaddr_is_ip("10.0.0"));
	cr_assert_not(netaddr_is_ip("host.example.com"));
	cr_assert_not(netaddr_is_ip(""));

	cr_assert(netaddr_is_any("0.0.0.0"));
	cr_assert(netaddr_is_any("::"));
	cr_assert_not(netaddr_is_any("127.0.0.1"));
	cr_assert_not(netaddr_is_any("host"));
}

Test(netaddr, hostname)
{
	char label64[80], long_name[300];

	cr_assert(netaddr_is_hostname("sbc.example.com"));
	cr_assert(netaddr_is_hostname("lb01.voice.use2.us-gov-pure.cloud"));
	cr_assert(netaddr_is_hostname("localhost"));
	cr_assert(netaddr_is_hostname("a1.example.c0m"));
	cr_assert_not(netaddr_is_hostname(""));
	cr_assert_not(netaddr_is_hostname(NULL));
	cr_assert_not(netaddr_is_hostname("10.0.0.1"));
	cr_assert_not(netaddr_is_hostname("10.0.0"));
	cr_assert_not(netaddr_is_hostname("::1"));
	cr_assert_not(netaddr_is_hostname("_sips._tcp.example.com"));
	cr_assert_not(netaddr_is_hostname("*.example.com"));
	cr_assert_not(netaddr_is_hostname("example.com."));
	cr_assert_not(netaddr_is_hostname(".example.com"));
	cr_assert_not(netaddr_is_hostname("a..b"));
	cr_assert_not(netaddr_is_hostname("-a.example.com"));
	cr_assert_not(netaddr_is_hostname("a-.example.com"));
	cr_assert_not(netaddr_is_hostname("a b.com"));
	cr_assert_not(netaddr_is_hostname("host:5060"));

	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".com");
	cr_assert_not(netaddr_is_hostname(label64));
	strcpy(label64 + 63, ".com");
	cr_assert(netaddr_is_hostname(label64));

	/* 254 characters in all is one too many. */
	memset(long_name, 0, sizeof(long_name));
	for (int i = 0; i < 254; i++)
		long_name[i] = (i % 50 == 49) ? '.' : 'a';
	cr_assert_not(netaddr_is_hostname(long_name));
	long_name[253] = '\0';
	cr_assert(netaddr_is_hostname(long_name));
}

Test(netaddr, to_sockaddr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	cr_assert_eq(netaddr_to_sockaddr("192.0.2.1", 5060, &ss, &len), 0);
	cr_assert_eq(sin->sin_family, AF_INET);
	cr_assert_eq(ntohs(sin->sin_port), 5060);
	cr_assert_eq(sin->sin_addr.s_addr, inet_addr("192.0.2.1"));
	cr_assert_eq(len, sizeof(struct sockaddr_in));

	cr_assert_eq(netaddr_to_sockaddr("2001:db8::1", 5061, &ss, &len), 0);
	cr_assert_eq(sin6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(sin6->sin6_port), 5061);
	cr_assert_eq(len, sizeof(struct sockaddr_in6));

	cr_assert_eq(netaddr_to_sockaddr("example.com", 1, &ss, &len), -1);
}

Test(netaddr, cidr_parse_ok)
{
	struct netaddr_cidr c;

	cr_assert_eq(cidr_parse("10.0.0.0/8", &c), 0);
	cr_assert_eq(c.family, AF_INET);
	cr_assert_eq(c.prefix, 8);
	cr_assert_eq(c.addr[0], 10);

	cr_assert_eq(cidr_parse("192.168.1.7", &c), 0);
	cr_assert_eq(c.prefix, 32);
	cr_assert_eq(c.addr[3], 7);

	cr_assert_eq(cidr_parse("2001:db8::/32", &c), 0);
	cr_assert_eq(c.family, AF_INET6);
	cr_assert_eq(c.prefix, 32);

	cr_assert_eq(cidr_parse("::1", &c), 0);
	cr_assert_eq(c.prefix, 128);

	cr_assert_eq(cidr_parse("0.0.0.0/0", &c), 0);
	cr_assert_eq(c.prefix, 0);
}

Test(netaddr, cidr_host_bits_cleared)
{
	struct netaddr_cidr c;

	cr_assert_eq(cidr_parse("10.1.2.3/8", &c), 1);
	cr_assert_eq(c.addr[0], 10);
	cr_assert_eq(c.addr[1], 0);
	cr_assert_eq(c.addr[3], 0);
	cr_assert_eq(cidr_parse("192.168.1.255/25", &c), 1);
	cr_assert_eq(c.addr[3], 128);
	cr_assert_eq(cidr_parse("2001:db8::1/64", &c), 1);
	cr_assert_eq(c.addr[15], 0);
}

Test(netaddr, cidr_parse_bad)
{
	struct netaddr_cidr c;
	const char *bad[] = { "", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/",
		"10.0.0.0/x", "10.0.0.0/-1", "10.0.0.0/8/8", "abc", "10.0.0/8",
		"10.0.0.0 /8", "host.example.com/24", "/24", NULL };

	for (int i = 0; bad[i] != NULL; i++)
		cr_assert_eq(cidr_parse(bad[i], &c), -1, "accepted %s", bad[i]);
}

Test(netaddr, cidr_match_v4)
{
	struct netaddr_cidr c;

	cidr_parse("192.168.10.0/24", &c);
	cr_assert(cidr_match(&c, sa("192.168.10.0")));
	cr_assert(cidr_match(&c, sa("192.168.10.255")));
	cr_assert_not(cidr_match(&c, sa("192.168.11.1")));
	cr_assert_not(cidr_match(&c, sa("2001:db8::1")));
	cr_assert_not(cidr_match(&c, NULL));

	cidr_parse("10.0.0.4/31", &c);
	cr_assert(cidr_match(&c, sa("10.0.0.5")));
	cr_assert_not(cidr_match(&c, sa("10.0.0.6")));

	cidr_parse("10.0.0.7", &c);
	cr_assert(cidr_match(&c, sa("10.0.0.7")));
	cr_assert_not(cidr_match(&c, sa("10.0.0.6")));

	cidr_parse("0.0.0.0/0", &c);
	cr_assert(cidr_match(&c, sa("203.0.113.9")));
	cr_assert_not(cidr_match(&c, sa("::1")));
}

Test(netaddr, cidr_match_v4_mapped)
{
	struct netaddr_cidr c;

	cidr_parse("192.168.10.0/24", &c);
	cr_assert(cidr_match(&c, sa("::ffff:192.168.10.20")));
	cr_assert_not(cidr_match(&c, sa("::ffff:192.168.11.20")));
	/* IPv4-compatible (deprecated) is not mapped. */
	cr_assert_not(cidr_match(&c, sa("::192.168.10.20")));
}

Test(netaddr, cidr_match_v6)
{
	struct netaddr_cidr c;

	cidr_parse("2001:db8:1::/48", &c);
	cr_assert(cidr_match(&c, sa("2001:db8:1::5")));
	cr_assert(cidr_match(&c, sa("2001:db8:1:ffff::1")));
	cr_assert_not(cidr_match(&c, sa("2001:db8:2::1")));
	cr_assert_not(cidr_match(&c, sa("10.0.0.1")));

	cidr_parse("2001:db8::/33", &c);
	cr_assert(cidr_match(&c, sa("2001:db8:7fff::1")));
	cr_assert_not(cidr_match(&c, sa("2001:db8:8000::1")));
}

Test(netaddr, ntop)
{
	char buf[NETADDR_STRLEN], small[6];
	socklen_t len;

	netaddr_to_sockaddr("192.0.2.1", 5060, &ss, &len);
	cr_assert_str_eq(netaddr_ntop((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "192.0.2.1:5060");
	netaddr_to_sockaddr("2001:db8::1", 5061, &ss, &len);
	cr_assert_str_eq(netaddr_ntop((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "[2001:db8::1]:5061");
	netaddr_to_sockaddr("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
	    65535, &ss, &len);
	cr_assert_str_eq(netaddr_ntop((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	cr_assert_str_eq(netaddr_ntop((struct sockaddr *)&ss, small,
	    sizeof(small)), "?");
	cr_assert_str_eq(netaddr_ntop(NULL, buf, sizeof(buf)), "?");
}
