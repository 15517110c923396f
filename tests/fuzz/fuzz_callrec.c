/*
 * fuzz_callrec.c - callrec_decode() on arbitrary bytes, as a record read
 * back from Redis may be anything (stale, foreign, damaged, planted).
 *
 * Oracles beyond "no crash, no leak, no UB":
 * - a refused input always comes with a reason naming a field
 *   ("field: why");
 * - an accepted record round-trips: callrec_encode() takes what decode
 *   accepted, the text decodes again to an equal record
 *   (callrec_equal), and encoding that gives the very same bytes (the
 *   writer's form is canonical).
 *
 *   tests/fuzz/run.sh 60 callrec
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callrec.h"
#include "log.h"

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_callrec: %s (%s)\n", what, why);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(LOG_ERROR, 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct callrec a, b;
	char why[256], *t1 = NULL, *t2 = NULL;
	size_t n1 = 0, n2 = 0;
	int r;

	why[0] = '\0';
	r = callrec_decode((const char *)data, size, &a, why, sizeof(why));
	if (r == -EINVAL) {
		if (strstr(why, ": ") == NULL || strlen(why) < 4)
			die("refused without a reason", why);
		return 0;
	}
	if (r != 0)
		return 0;	/* -ENOMEM */
	if ((r = callrec_encode(&a, &t1, &n1)) != 0) {
		callrec_check(&a, why, sizeof(why));
		die("accepted but not encodable", why);
	}
	if (callrec_decode(t1, n1, &b, why, sizeof(why)) != 0)
		die("own text refused", why);
	if (!callrec_equal(&a, &b))
		die("round trip changed the record", "callrec_equal");
	if (callrec_encode(&b, &t2, &n2) != 0)
		die("decoded own text not encodable", "");
	if (n1 != n2 || memcmp(t1, t2, n1) != 0)
		die("text not canonical", "second encoding differs");
	callrec_text_free(t1, n1);
	callrec_text_free(t2, n2);
	callrec_free(&a);
	callrec_free(&b);
	return 0;
}
