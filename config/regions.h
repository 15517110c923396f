/*
 * regions.h - the built-in table of cloud SIP proxies: four per region,
 * lb01..lb04 (shared/spec/byoc-tls.md).  An explicit [cloud] hosts list
 * always wins over this table.
 */
#ifndef TLSTRUNK_REGIONS_H
#define TLSTRUNK_REGIONS_H

#include <stddef.h>

#define REGION_NHOSTS	4	/* lb01..lb04 */

/* 1 when region is one of the built-in region codes (exact, lower case). */
int region_valid(const char *region);

/*
 * Host name of proxy n (1..REGION_NHOSTS) of region into buf:
 * "lb0N.voice.<region>.pure.cloud", or the us-gov-pure.cloud domain for
 * use2.  Returns 0, or -1 for an unknown region, n out of range or a
 * buffer too small.
 */
int region_host(const char *region, int n, char *buf, size_t len);

/* NULL-terminated list of the region codes. */
const char *const *region_names(void);

#endif
