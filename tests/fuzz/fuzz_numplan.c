/*
 * fuzz_numplan.c - libFuzzer target: the number plan (config/numplan.c)
 * from its sections to the calls it routes.  The input is text:
 *
 *   pbxs = a, b            before any section: the PBX and trunk names
 *   trunks = t1            (default one each, at most 4)
 *   [rule NAME] / [route NAME] and key = value lines, as config.c hands
 *                          them on (a repeated header: its new line)
 *   > DIR SRC RURI TO      a call, after numplan_finish (also a few
 *                          fixed ones); missing fields are NULL
 *
 * Oracles beyond "no crash, no leak, no UB": an error names a reason;
 * a route found is of the direction asked, takes the source and names
 * a target that exists; a rewrite leaves a number that fits, a refusal
 * names one of the rules applied.
 *
 *   tests/fuzz/run.sh 60 numplan
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numplan.h"

#define MAX_TARGETS	4
#define MAX_CALLS	16

static struct numplan *np;
static FILE *devnull;

struct input {
	char names[2][MAX_TARGETS][NP_NAME_MAX];	/* PBXs, trunks */
	const char *list[2][MAX_TARGETS];
	int n[2];
	char *calls[MAX_CALLS];
	int ncalls;
};

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "check failed: %s (%s)\n", what, detail);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((np = calloc(1, sizeof(*np))) == NULL ||
	    (devnull = fopen("/dev/null", "w")) == NULL)
		die("setup", "out of memory or no /dev/null");
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void
check_error(const struct np_error *err)
{
	if (memchr(err->why, '\0', sizeof(err->why)) == NULL ||
	    err->why[0] == '\0' || err->line < 0)
		die("error without a reason", err->section);
}

/* "pbxs = a, b": names for numplan_finish, as given (even odd ones). */
static void
targets(struct input *in, int which, char *val)
{
	char *save, *name;

	in->n[which] = 0;
	for (name = strtok_r(val, ",", &save); name != NULL &&
	    in->n[which] < MAX_TARGETS; name = strtok_r(NULL, ",", &save)) {
		snprintf(in->names[which][in->n[which]], NP_NAME_MAX, "%s",
		    trim(name));
		in->n[which]++;
	}
	if (in->n[which] == 0)		/* config.c never has none */
		in->n[which] = 1;
}

/* One line of the plan; -1 when numplan refused it. */
static int
line(struct input *in, char *s, int lineno, char *section, int *hdr)
{
	struct np_error err;
	char *eq;

	s = trim(s);
	if (*s == '>') {
		if (in->ncalls < MAX_CALLS)
			in->calls[in->ncalls++] = s + 1;
		return 0;
	}
	if (*s == '[' && strchr(s, ']') != NULL) {
		*strchr(s, ']') = '\0';
		snprintf(section, 64, "%s", s + 1);
		*hdr = lineno;
		return 0;
	}
	if ((eq = strchr(s, '=')) == NULL)
		return 0;
	*eq = '\0';
	if (*section == '\0') {
		if (strcmp(trim(s), "pbxs") == 0 || strcmp(trim(s), "trunks") == 0)
			targets(in, strcmp(trim(s), "trunks") == 0, eq + 1);
		return 0;
	}
	if (!numplan_section(section))
		return 0;
	memset(&err, 0, sizeof(err));
	if (numplan_set(np, section, trim(s), trim(eq + 1), lineno, *hdr,
	    &err) == 0)
		return 0;
	check_error(&err);
	return -1;
}

static void
check_applied(const struct np_route *rt, const int *rules, int n,
    const char *before, const char *num, size_t len, int rc,
    const char *failed)
{
	int named = 0;

	if (strlen(num) >= len)
		die("rewrite overflows", num);
	if (rc == 0 && (failed != NULL || (strcmp(before, num) != 0 &&
	    !numplan_is_number(num))))
		die("rewrite accepted a non-number", num);
	if (rc == 0)
		return;
	for (int i = 0; i < n && failed != NULL; i++)
		named |= failed == np->rules[rules[i]].name;
	if (!named)
		die("refusal names no rule of the route", rt->name);
}

/* The route's rules on one user, in a buffer of len bytes. */
static void
rewrite(const struct np_route *rt, const int *rules, int n,
    const char *user, size_t len)
{
	char num[NP_NUM_MAX], before[NP_NUM_MAX], applied[24];
	const char *failed;
	int rc;

	snprintf(num, len, "%s", user != NULL ? user : "");
	memcpy(before, num, sizeof(num));
	rc = numplan_apply(np, rules, n, num, len, applied, sizeof(applied),
	    &failed);
	check_applied(rt, rules, n, before, num, len, rc, failed);
}

static void
call(const struct input *in, int dir, int src, const char *ruri,
    const char *to)
{
	const struct np_route *rt = numplan_route(np, dir, src, ruri, to);

	if (rt == NULL)
		return;
	if (rt->dir != dir || (rt->nfrom > 0 && (src < 0 || src >= 32 ||
	    !(rt->from_mask & (UINT32_C(1) << src)))))
		die("route does not fit the call", rt->name);
	if (rt->target < 0 || rt->target >= in->n[dir == NP_TO_CLOUD])
		die("route names no target", rt->name);
	rewrite(rt, rt->called, rt->ncalled, ruri, NP_NUM_MAX);
	rewrite(rt, rt->called, rt->ncalled, to, 12);
	rewrite(rt, rt->calling, rt->ncalling, ruri, 20);
}

/* "> DIR SRC RURI TO" */
static void
call_line(const struct input *in, char *s)
{
	char *f[4] = { NULL, NULL, NULL, NULL }, *save;
	int n = 0;

	for (char *t = strtok_r(s, " \t", &save); t != NULL && n < 4;
	    t = strtok_r(NULL, " \t", &save))
		f[n++] = t;
	call(in, f[0] != NULL && f[0][0] == '1', f[1] != NULL ? atoi(f[1]) :
	    -1, f[2], f[3]);
}

static void
calls(struct input *in)
{
	static const char *const users[] = {
		"", "alice", "030123", "+4930123", "0049301", "12125551234",
		"+12125551234", "*21#", "100", NULL
	};

	for (int d = 0; d < 2; d++)
		for (int i = 0; users[i] != NULL; i++)
			call(in, d, i % 3 - 1, users[i], users[(i + 1) % 9]);
	for (int i = 0; i < in->ncalls; i++)
		call_line(in, in->calls[i]);
	numplan_print(np, in->list[0], in->list[1], devnull);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;
	struct np_error err;
	char *text, *s, *next, section[64] = "";
	int lineno = 0, hdr = 0, ok = 1;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(np, 0, sizeof(*np));
	memset(&in, 0, sizeof(in));
	in.n[0] = in.n[1] = 1;
	strcpy(in.names[0][0], "pbx");
	strcpy(in.names[1][0], "trunk");
	for (s = text; s != NULL && ok; s = next) {
		if ((next = strchr(s, '\n')) != NULL)
			*next++ = '\0';
		ok = line(&in, s, ++lineno, section, &hdr) == 0;
	}
	for (int w = 0; w < 2; w++)
		for (int i = 0; i < in.n[w]; i++)
			in.list[w][i] = in.names[w][i];
	memset(&err, 0, sizeof(err));
	if (ok && numplan_finish(np, in.list[0], in.n[0], in.list[1],
	    in.n[1], &err) < 0) {
		check_error(&err);
		ok = 0;
	}
	if (ok)
		calls(&in);
	numplan_free(np);
	free(text);
	return 0;
}
