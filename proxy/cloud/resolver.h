/*
 * resolver.h - the cloud proxies in DNS while we run: the SRV set of
 * [cloud] domain, and every proxy's address again each resolve_interval
 * so that a proxy that moved gets a fresh connection.
 */
#ifndef TLSTRUNK_RESOLVER_H
#define TLSTRUNK_RESOLVER_H

#include <stdint.h>
#include <uv.h>

#include "config.h"

struct cloud;

#define RESOLVER_MAX_SRV	16

struct srv_target {
	char name[CFG_HOST_MAX];
	uint16_t port, prio, weight;
	uint32_t ttl;
};

/* One SRV lookup on the thread pool: filled there, read on the loop. */
struct srv_lookup {
	uv_work_t work;
	struct cloud *cl;
	char qname[CFG_HOST_MAX + 16];
	int rcode;			/* 0 ok, else a resolver error (herror) */
	int ntargets;			/* records; may exceed what we keep */
	struct srv_target targets[RESOLVER_MAX_SRV];
};

/* A connection left behind by a proxy that moved, closed at 'at' (ms). */
struct retired_conn {
	uint64_t id, at;
};

struct resolver {
	uv_timer_t srv_timer;		/* next SRV lookup */
	uv_timer_t addr_timer;		/* next address check of every proxy */
	uv_timer_t retire_timer;	/* closes moved proxies' old connections */
	struct srv_lookup *lookup;	/* in flight, or NULL */
	char last_set[512];		/* the SRV set last logged */
	struct retired_conn retired[CFG_MAX_HOSTS];
	int started;
};

void resolver_start(struct cloud *cl);
void resolver_stop(struct cloud *cl);

/*
 * Parse an SRV answer (a DNS message) into lk->targets: 0, or -1 when
 * the message is malformed.  Exposed for the unit tests and the fuzzer.
 */
int resolver_srv_parse(struct srv_lookup *lk, const unsigned char *msg,
    int len);
/* The blocking lookup of lk->qname (thread pool, or tlstrunk doctor):
 * targets sorted by priority, then weight; lk->rcode as h_errno. */
void resolver_srv_query(struct srv_lookup *lk);
/* 1 when name is domain or lies under it ("a.b.example" under "example"). */
int resolver_in_domain(const char *name, const char *domain);

#endif
