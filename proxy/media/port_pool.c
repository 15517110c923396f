/* port_pool.c - a round-robin pool of RTP port pairs. */
#include <errno.h>
#include <stdlib.h>

#include "port_pool.h"

int
port_pool_init(struct port_pool *pp, int port_min, int port_max)
{
	int base = port_min + (port_min & 1);

	pp->base = (uint16_t)base;
	pp->npairs = port_max > base ? (unsigned)(port_max - base + 1) / 2 : 0;
	pp->next = 0;
	pp->used = 0;
	pp->busy = calloc(pp->npairs ? pp->npairs : 1, 1);
	return pp->busy == NULL ? -ENOMEM : 0;
}

void
port_pool_free(struct port_pool *pp)
{
	free(pp->busy);
	pp->busy = NULL;
}

int
port_pool_get(struct port_pool *pp)
{
	for (unsigned i = 0; i < pp->npairs; i++) {
		unsigned n = (pp->next + i) % pp->npairs;
		if (!pp->busy[n]) {
			pp->busy[n] = 1;
			pp->used++;
			pp->next = (n + 1) % pp->npairs;
			return pp->base + 2 * (int)n;
		}
	}
	return -1;
}

void
port_pool_put(struct port_pool *pp, int port)
{
	unsigned n = (unsigned)(port - pp->base) / 2;

	if (port < pp->base || n >= pp->npairs || !pp->busy[n])
		return;
	pp->busy[n] = 0;
	pp->used--;
}

int
port_pool_take(struct port_pool *pp, int port)
{
	unsigned n = (unsigned)(port - pp->base) / 2;

	if (port < pp->base || (port & 1) != (pp->base & 1) || n >= pp->npairs)
		return -ERANGE;
	if (pp->busy[n])
		return -EBUSY;
	pp->busy[n] = 1;
	pp->used++;
	return 0;
}
