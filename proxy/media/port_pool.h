/* port_pool.h - even/odd RTP/RTCP port pairs from [media] port_min..max. */
#ifndef TLSTRUNK_PORT_POOL_H
#define TLSTRUNK_PORT_POOL_H

#include <stdint.h>

struct port_pool {
	uint16_t base;		/* first even port */
	unsigned npairs;
	unsigned next;		/* rotate so a freed pair rests a while */
	unsigned used;
	uint8_t *busy;		/* one byte per pair */
};

int port_pool_init(struct port_pool *pp, int port_min, int port_max);
void port_pool_free(struct port_pool *pp);
/* An even port whose pair is free, marked busy; -1 when exhausted. */
int port_pool_get(struct port_pool *pp);
void port_pool_put(struct port_pool *pp, int port);
/* This very pair (a call carried over from another process): 0, -EBUSY
 * when taken, -ERANGE when not a pair of the pool. */
int port_pool_take(struct port_pool *pp, int port);

#endif
