/* regions.c - region code to cloud SIP proxy host names. */
#include <stdio.h>
#include <string.h>

#include "regions.h"

static const char *const region_table[] = {
	"use1", "use2", "usw2", "cac1", "sae1", "euw1", "euw2", "euc1",
	"euc2", "mec1", "apne1", "apne2", "apne3", "apse2", "aps1", NULL
};

int
region_valid(const char *region)
{
	if (region == NULL)
		return 0;
	for (int i = 0; region_table[i] != NULL; i++)
		if (strcmp(region, region_table[i]) == 0)
			return 1;
	return 0;
}

/* use2 is the government cloud, the only region in its own domain. */
static const char *
region_domain(const char *region)
{
	return strcmp(region, "use2") == 0 ? "us-gov-pure.cloud" : "pure.cloud";
}

int
region_host(const char *region, int n, char *buf, size_t len)
{
	int r;

	if (!region_valid(region) || n < 1 || n > REGION_NHOSTS || len == 0)
		return -1;
	r = snprintf(buf, len, "lb%02d.voice.%s.%s", n, region,
	    region_domain(region));
	if (r < 0 || (size_t)r >= len) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

const char *const *
region_names(void)
{
	return region_table;
}
