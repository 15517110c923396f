/*
 * test_resolver.c - SRV answers as a DNS server sends them (name
 * compression, a CNAME on the way, truncated and lying messages) and the
 * "inside the domain" rule for SRV targets.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "resolver.h"

/* A DNS message under construction. */
struct dnsmsg {
	unsigned char b[1024];
	int len;
};

static void
put16(struct dnsmsg *m, unsigned v)
{
	m->b[m->len++] = (unsigned char)(v >> 8);
	m->b[m->len++] = (unsigned char)v;
}

static void
put32(struct dnsmsg *m, unsigned v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void
put_name(struct dnsmsg *m, const char *name)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		m->b[m->len++] = (unsigned char)n;
		memcpy(m->b + m->len, name, n);
		m->len += (int)n;
		name += n + (dot ? 1 : 0);
	}
	m->b[m->len++] = 0;
}

/* Header and question for qname; ancount answers follow. */
static void
start(struct dnsmsg *m, const char *qname, int ancount)
{
	memset(m, 0, sizeof(*m));
	put16(m, 0x1234);
	put16(m, 0x8180);
	put16(m, 1);
	put16(m, (unsigned)ancount);
	put16(m, 0);
	put16(m, 0);
	put_name(m, qname);
	put16(m, 33);
	put16(m, 1);
}

/* An SRV answer for the question's name (pointer 0xc00c); target either
 * spelled out or, with ptr, a compression pointer. */
static void
add_srv(struct dnsmsg *m, unsigned prio, unsigned weight, unsigned port,
    const char *target, unsigned ptr, unsigned ttl)
{
	int rdlen_at;

	put16(m, 0xc00c);
	put16(m, 33);
	put16(m, 1);
	put32(m, ttl);
	rdlen_at = m->len;
	put16(m, 0);
	put16(m, prio);
	put16(m, weight);
	put16(m, port);
	if (target != NULL)
		put_name(m, target);
	else
		put16(m, 0xc000 | ptr);
	m->b[rdlen_at] = (unsigned char)((m->len - rdlen_at - 2) >> 8);
	m->b[rdlen_at + 1] = (unsigned char)(m->len - rdlen_at - 2);
}

static struct srv_lookup lk;

Test(resolver, two_targets)
{
	struct dnsmsg m;

	start(&m, "_sips._tcp.voice.example", 2);
	add_srv(&m, 10, 50, 5061, "lb01.voice.example", 0, 300);
	add_srv(&m, 20, 0, 5062, "lb02.voice.example", 0, 60);
	cr_assert_eq(resolver_srv_parse(&lk, m.b, m.len), 0);
	cr_assert_eq(lk.ntargets, 2);
	cr_assert_str_eq(lk.targets[0].name, "lb01.voice.example");
	cr_assert_eq(lk.targets[0].prio, 10);
	cr_assert_eq(lk.targets[0].weight, 50);
	cr_assert_eq(lk.targets[0].port, 5061);
	cr_assert_eq(lk.targets[0].ttl, 300);
	cr_assert_str_eq(lk.targets[1].name, "lb02.voice.example");
	cr_assert_eq(lk.targets[1].port, 5062);
	cr_assert_eq(lk.targets[1].ttl, 60);
}

Test(resolver, compressed_target)
{
	struct dnsmsg m;

	/* The target "voice.example" points into the question's name:
	 * offset 12 + len("_sips") + 1 + len("_tcp") + 1 + 2 = 24. */
	start(&m, "_sips._tcp.voice.example", 1);
	add_srv(&m, 0, 0, 5061, NULL, 12 + 6 + 5, 30);
	cr_assert_eq(resolver_srv_parse(&lk, m.b, m.len), 0);
	cr_assert_eq(lk.ntargets, 1);
	cr_assert_str_eq(lk.targets[0].name, "voice.example");
}

Test(resolver, other_types_skipped)
{
	struct dnsmsg m;

	start(&m, "_sips._tcp.voice.example", 2);
	/* A CNAME first, then the SRV. */
	put16(&m, 0xc00c);
	put16(&m, 5);
	put16(&m, 1);
	put32(&m, 60);
	put16(&m, 2);
	put16(&m, 0xc00c);
	add_srv(&m, 1, 1, 5061, "lb01.voice.example", 0, 60);
	cr_assert_eq(resolver_srv_parse(&lk, m.b, m.len), 0);
	cr_assert_eq(lk.ntargets, 1);
	cr_assert_str_eq(lk.targets[0].name, "lb01.voice.example");
}

Test(resolver, malformed)
{
	struct dnsmsg m;

	start(&m, "_sips._tcp.voice.example", 1);
	add_srv(&m, 10, 0, 5061, "lb01.voice.example", 0, 60);
	/* Cut inside the answer. */
	cr_assert_eq(resolver_srv_parse(&lk, m.b, m.len - 5), -1);
	/* Claims two answers, holds one. */
	m.b[7] = 2;
	cr_assert_eq(resolver_srv_parse(&lk, m.b, m.len), -1);
	/* rdata too short for an SRV. */
	start(&m, "_sips._tcp.voice.example", 1);
	put16(&m, 0xc00c);
	put16(&m, 33);
	put16(&m, 1);
	put32(&m, 60);
	put16(&m, 3);
	put16(&m, 1);
	m.b[m.len++] = 0;
	cr_assert_eq(resolver_srv_parse(&lk, m.b, m.len), -1);
	/* A compression pointer that loops onto itself. */
	start(&m, "_sips._tcp.voice.example", 1);
	add_srv(&m, 0, 0, 5061, NULL, (unsigned)m.len + 18, 30);
	cr_assert_eq(resolver_srv_parse(&lk, m.b, m.len), -1);
	/* Garbage. */
	cr_assert_eq(resolver_srv_parse(&lk, (const unsigned char *)"\x01", 1), -1);
}

Test(resolver, many_targets_capped)
{
	struct dnsmsg m;
	char name[64];

	start(&m, "_sips._tcp.voice.example", RESOLVER_MAX_SRV + 4);
	for (int i = 0; i < RESOLVER_MAX_SRV + 4; i++) {
		snprintf(name, sizeof(name), "lb%02d.voice.example", i);
		add_srv(&m, 10, 0, 5061, name, 0, 60);
	}
	cr_assert_eq(resolver_srv_parse(&lk, m.b, m.len), 0);
	cr_assert_eq(lk.ntargets, RESOLVER_MAX_SRV);
}

Test(resolver, in_domain)
{
	cr_assert(resolver_in_domain("lb01.voice.use1.pure.cloud",
	    "voice.use1.pure.cloud"));
	cr_assert(resolver_in_domain("LB01.Voice.use1.pure.cloud.",
	    "voice.use1.pure.cloud"));
	cr_assert(resolver_in_domain("voice.use1.pure.cloud",
	    "voice.use1.pure.cloud"));
	cr_assert_not(resolver_in_domain("evilvoice.use1.pure.cloud",
	    "voice.use1.pure.cloud"));
	cr_assert_not(resolver_in_domain("lb01.voice.use1.pure.cloud.evil.net",
	    "voice.use1.pure.cloud"));
	cr_assert_not(resolver_in_domain("cloud", "voice.use1.pure.cloud"));
	cr_assert_not(resolver_in_domain("", "voice.use1.pure.cloud"));
}
