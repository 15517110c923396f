/* dryrun.h - `tlstrunk route`: where a call would go, nothing sent. */
#ifndef TLSTRUNK_DRYRUN_H
#define TLSTRUNK_DRYRUN_H

#include <stdio.h>

#include "config.h"

struct dryrun_args {
	const char *from;		/* source IP (a PBX's or a trunk's) */
	const char *to;			/* the called number (R-URI and To user) */
	const char *calling;		/* From and P-Asserted-Identity user */
	int dir;			/* enum np_dir, or -1: by the source */
};

/* Print "key: value" lines; 0 when a route takes the call, 1 when none
 * does or the source is refused, 2 for bad arguments. */
int dryrun_run(const struct config *cfg, const struct dryrun_args *a,
    FILE *out);

#endif
