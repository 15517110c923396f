/* branch.c - our Via branches (the format: branch.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "branch.h"

#define BRANCH_PREFIX	"z9hG4bKtt"

void
branch_make(char *buf, const char *salt, int kind, uint64_t id)
{
	if (kind == BRANCH_TXN)
		snprintf(buf, BRANCH_MAX, BRANCH_PREFIX "%s%llx", salt,
		    (unsigned long long)id);
	else
		snprintf(buf, BRANCH_MAX, BRANCH_PREFIX "%s%c%llx", salt, kind,
		    (unsigned long long)id);
}

int
branch_kind(const char *branch, const char *salt, uint64_t *id)
{
	size_t pl = strlen(BRANCH_PREFIX), sl = strlen(salt);
	const char *p;
	char *end;
	int kind = BRANCH_TXN;
	unsigned long long v;

	if (branch == NULL || strncmp(branch, BRANCH_PREFIX, pl) != 0 ||
	    strncmp(branch + pl, salt, sl) != 0)
		return -1;
	p = branch + pl + sl;
	if (*p == BRANCH_UAC || *p == BRANCH_ACK || *p == BRANCH_PING)
		kind = *p++;
	if (*p == '\0')
		return -1;
	v = strtoull(p, &end, 16);
	if (*end != '\0')
		return -1;
	if (id != NULL)
		*id = v;
	return kind;
}
