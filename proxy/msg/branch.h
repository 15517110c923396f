/*
 * branch.h - our Via branches, in one format: "z9hG4bK" (RFC 3261's magic
 * cookie), "tt", this process's salt (8 hex digits: a branch of a
 * restarted process is not taken for ours), then what made it and an id:
 *   <hex id>      a transaction we forward (id: a counter)
 *   x<hex id>     a request we originate (uac.c)
 *   a<hex id>     a stateless ACK (id: the hash of the incoming branch,
 *                 so that its retransmissions keep one branch)
 *   h<hex id>     a health ping (id: host index << 32 | ping sequence)
 */
#ifndef TLSTRUNK_BRANCH_H
#define TLSTRUNK_BRANCH_H

#include <stddef.h>
#include <stdint.h>

#define BRANCH_MAX	64

enum branch_kind {
	BRANCH_TXN = 0,
	BRANCH_UAC = 'x',
	BRANCH_ACK = 'a',
	BRANCH_PING = 'h',
};

/* Write one into buf (BRANCH_MAX bytes). */
void branch_make(char *buf, const char *salt, int kind, uint64_t id);
/* The kind of a branch we made with salt, or -1; *id (may be NULL) its id. */
int branch_kind(const char *branch, const char *salt, uint64_t *id);

#endif
