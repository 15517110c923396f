/*
 * fuzz_srv.c - libFuzzer target: an SRV answer as a DNS server (or an
 * attacker on the path) may send it, through resolver_srv_parse().  What
 * parses must hold at most RESOLVER_MAX_SRV targets with terminated
 * names that fit their buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolver.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct srv_lookup lk;

	if (size > 65535)
		return 0;
	if (resolver_srv_parse(&lk, data, (int)size) == 0) {
		if (lk.ntargets < 0 || lk.ntargets > RESOLVER_MAX_SRV)
			abort();
		for (int i = 0; i < lk.ntargets; i++)
			if (memchr(lk.targets[i].name, '\0',
			    sizeof(lk.targets[i].name)) == NULL)
				abort();
	}
	return 0;
}
