/* test_hep.c - HEP v3 packets decode to what was captured. */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <criterion/criterion.h>

#include "hep.h"

/* Find chunk `type` in a HEP3 packet; its value and length. */
static const unsigned char *
chunk(const unsigned char *p, size_t n, uint16_t type, size_t *len)
{
	size_t off = 6;

	while (off + 6 <= n) {
		uint16_t vendor = (uint16_t)(p[off] << 8 | p[off + 1]);
		uint16_t t = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
		uint16_t l = (uint16_t)(p[off + 4] << 8 | p[off + 5]);
		cr_assert_geq(l, 6);
		cr_assert_leq(off + l, n);
		if (vendor == 0 && t == type) {
			*len = l - 6u;
			return p + off + 6;
		}
		off += l;
	}
	return NULL;
}

Test(hep, ipv4_udp_sip)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(5070) };
	struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons(15060) };
	const char msg[] = "OPTIONS sip:x SIP/2.0\r\n\r\n";
	unsigned char pkt[512];
	const unsigned char *v;
	size_t n, len;

	inet_pton(AF_INET, "10.1.2.3", &s.sin_addr);
	inet_pton(AF_INET, "10.9.8.7", &d.sin_addr);
	n = hep_pack((char *)pkt, sizeof(pkt), (struct sockaddr *)&s,
	    (struct sockaddr *)&d, IPPROTO_UDP, 2001, msg, strlen(msg));
	cr_assert_gt(n, 0);
	cr_assert_eq(memcmp(pkt, "HEP3", 4), 0);
	cr_assert_eq((size_t)(pkt[4] << 8 | pkt[5]), n);
	cr_assert_not_null(v = chunk(pkt, n, 0x0001, &len));
	cr_assert_eq(v[0], AF_INET);
	cr_assert_not_null(v = chunk(pkt, n, 0x0002, &len));
	cr_assert_eq(v[0], IPPROTO_UDP);
	cr_assert_not_null(v = chunk(pkt, n, 0x0003, &len));
	cr_assert_eq(memcmp(v, &s.sin_addr, 4), 0);
	cr_assert_not_null(v = chunk(pkt, n, 0x0004, &len));
	cr_assert_eq(memcmp(v, &d.sin_addr, 4), 0);
	cr_assert_not_null(v = chunk(pkt, n, 0x0007, &len));
	cr_assert_eq(v[0] << 8 | v[1], 5070);
	cr_assert_not_null(v = chunk(pkt, n, 0x0008, &len));
	cr_assert_eq(v[0] << 8 | v[1], 15060);
	cr_assert_not_null(v = chunk(pkt, n, 0x000b, &len));
	cr_assert_eq(v[0], 1);
	cr_assert_not_null(v = chunk(pkt, n, 0x000c, &len));
	cr_assert_eq((v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]), 2001);
	cr_assert_not_null(v = chunk(pkt, n, 0x000f, &len));
	cr_assert_eq(len, strlen(msg));
	cr_assert_eq(memcmp(v, msg, len), 0);
}

Test(hep, ipv6_and_too_small_buffer)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
	struct sockaddr_in6 d = { .sin6_family = AF_INET6, .sin6_port = htons(2) };
	unsigned char pkt[512];
	const unsigned char *v;
	size_t n, len;

	inet_pton(AF_INET6, "2001:db8::1", &s.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::2", &d.sin6_addr);
	n = hep_pack((char *)pkt, sizeof(pkt), (struct sockaddr *)&s,
	    (struct sockaddr *)&d, IPPROTO_TCP, 7, "x", 1);
	cr_assert_gt(n, 0);
	cr_assert_not_null(v = chunk(pkt, n, 0x0005, &len));
	cr_assert_eq(len, 16);
	cr_assert_eq(memcmp(v, &s.sin6_addr, 16), 0);
	cr_assert_not_null(v = chunk(pkt, n, 0x0006, &len));
	cr_assert_eq(memcmp(v, &d.sin6_addr, 16), 0);
	cr_assert_eq(hep_pack((char *)pkt, 40, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, IPPROTO_TCP, 7, "x", 1), 0);
}
