/*
 * numplan.c - the number plan (issue 17): [rule NAME] and [route NAME]
 * sections read key by key, checked as a whole once the file is read,
 * then asked per call which route it takes and how its numbers change.
 *
 * A zeroed struct numplan is an empty plan.  Everything a call needs is
 * made by numplan_finish (compiled regexes, their match data, resolved
 * indexes): numplan_route and numplan_apply allocate nothing and log
 * nothing.  A number is at most NP_NUM_MAX - 1 characters, its '+'
 * included.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cfglist.h"
#include "numplan.h"

#define NP_ANY_SOURCE	UINT32_MAX	/* from_mask of a route without from */
#define NP_STRIP_MAX	32
#define NP_LIST_MAX	512		/* "(trunks: a, b)" in an error */

/* Where a rule's keys are remembered (key_line), in file order. */
enum {
	RK_STRIP, RK_PREFIX, RK_CC, RK_NATIONAL, RK_INTERNATIONAL,
	RK_MATCH, RK_REPLACE, RK_ONLY
};
enum {
	TK_DIRECTION, TK_FROM_PBX, TK_FROM_TRUNK, TK_NUMBER, TK_NUMBER_IN,
	TK_TRUNK, TK_PBX, TK_CALLED, TK_CALLING
};

struct np_key {
	const char	*name;
	int		 slot;		/* index in key_line */
	int		 kind;		/* rules: the kind the key makes, or 0 */
};

/* to_e164 and from_e164 share a slot: a rule has one of them at most. */
static const struct np_key rule_keys[] = {
	{ "strip", RK_STRIP, NP_RULE_EDIT },
	{ "prefix", RK_PREFIX, NP_RULE_EDIT },
	{ "to_e164", RK_CC, NP_RULE_TO_E164 },
	{ "from_e164", RK_CC, NP_RULE_FROM_E164 },
	{ "national_prefix", RK_NATIONAL, 0 },
	{ "international_prefix", RK_INTERNATIONAL, 0 },
	{ "match", RK_MATCH, NP_RULE_REGEX },
	{ "replace", RK_REPLACE, NP_RULE_REGEX },
	{ "only", RK_ONLY, 0 },
	{ NULL, 0, 0 }
};

static const struct np_key route_keys[] = {
	{ "direction", TK_DIRECTION, 0 },
	{ "from_pbx", TK_FROM_PBX, 0 },
	{ "from_trunk", TK_FROM_TRUNK, 0 },
	{ "number", TK_NUMBER, 0 },
	{ "number_in", TK_NUMBER_IN, 0 },
	{ "trunk", TK_TRUNK, 0 },
	{ "pbx", TK_PBX, 0 },
	{ "called", TK_CALLED, 0 },
	{ "calling", TK_CALLING, 0 },
	{ NULL, 0, 0 }
};

static const char *const dir_names[] = { "to_cloud", "to_pbx" };
static const char bad_name[] = "a name is 1..31 of A-Z a-z 0-9 _ . -";

static void
np_err(struct np_error *err, int line, const char *section, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
np_err(struct np_error *err, int line, const char *section, const char *key,
    const char *fmt, ...)
{
	va_list ap;

	err->line = line;
	snprintf(err->section, sizeof(err->section), "%s", section);
	snprintf(err->key, sizeof(err->key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(err->why, sizeof(err->why), fmt, ap);
	va_end(ap);
}

static int
name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n < NP_NAME_MAX && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* '+'? then [0-9*#]*, at most NP_NUM_MAX - 1 characters in all. */
static int
numberish(const char *s)
{
	const char *d = s + (*s == '+');
	size_t n = strspn(d, "0123456789*#");

	return d[n] == '\0' && (size_t)(d + n - s) < NP_NUM_MAX;
}

int
numplan_is_number(const char *s)
{
	return s != NULL && numberish(s) && s[*s == '+'] != '\0';
}

static int
all_digits(const char *s)
{
	return strspn(s, "0123456789") == strlen(s);
}

/* Same length, same '+' or none: what a range's ends and members share. */
static int
same_form(const char *a, const char *b)
{
	return strlen(a) == strlen(b) && (a[0] == '+') == (b[0] == '+');
}

/* Patterns */

static int
range_parse(const char *s, const char *dash, struct np_pattern *p, char *why,
    size_t len)
{
	size_t n = (size_t)(dash - s);

	if (n >= sizeof(p->lo) || strlen(dash + 1) >= sizeof(p->hi))
		goto bad;
	memcpy(p->lo, s, n);
	p->lo[n] = '\0';
	snprintf(p->hi, sizeof(p->hi), "%s", dash + 1);
	if (!same_form(p->lo, p->hi) || !numplan_is_number(p->lo) ||
	    !all_digits(p->lo + (p->lo[0] == '+')) ||
	    !all_digits(p->hi + (p->hi[0] == '+')))
		goto bad;
	if (strcmp(p->lo, p->hi) > 0) {
		snprintf(why, len, "range \"%s\": %s is above %s", s, p->lo,
		    p->hi);
		return -1;
	}
	p->kind = NP_PAT_RANGE;
	return 0;
bad:
	snprintf(why, len, "range \"%s\": two numbers of the same length and "
	    "the same '+', digits only", s);
	return -1;
}

static int
pattern_parse(const char *s, struct np_pattern *p, char *why, size_t len)
{
	const char *dash = strchr(s, '-');
	size_t n = strlen(s);

	memset(p, 0, sizeof(*p));
	if (strcmp(s, "*") == 0) {
		p->kind = NP_PAT_ANY;
		return 0;
	}
	if (dash != NULL)
		return range_parse(s, dash, p, why, len);
	if (n > 1 && n <= sizeof(p->lo) && s[n - 1] == '*') {
		/* A prefix may be "+" alone: every international number. */
		memcpy(p->lo, s, n - 1);
		if (numberish(p->lo)) {
			p->kind = NP_PAT_PREFIX;
			return 0;
		}
	} else if (numplan_is_number(s)) {
		memcpy(p->lo, s, n + 1);	/* n < NP_NUM_MAX */
		p->kind = NP_PAT_EXACT;
		return 0;
	}
	snprintf(why, len, "\"%s\" is not a number pattern (*, PREFIX*, LO-HI "
	    "or a number: '+' then 0-9 * #, at most %d characters)", s,
	    NP_NUM_MAX - 1);
	return -1;
}

static int
patterns_parse(const char *val, struct np_pattern *pat, int *npat, char *why,
    size_t len)
{
	char item[NP_NUM_MAX * 2 + 2];
	int r;

	*npat = 0;
	while ((r = cfg_list_next(&val, item, sizeof(item))) != 0) {
		if (r < 0) {
			snprintf(why, len, "an empty or overlong pattern");
			return -1;
		}
		if (*npat == NP_MAX_PATTERNS) {
			snprintf(why, len, "at most %d patterns", NP_MAX_PATTERNS);
			return -1;
		}
		if (pattern_parse(item, &pat[*npat], why, len) < 0)
			return -1;
		(*npat)++;
	}
	return 0;
}

/* num (a number) against p. */
static int
pattern_match(const struct np_pattern *p, const char *num)
{
	switch (p->kind) {
	case NP_PAT_ANY:
		return 1;
	case NP_PAT_PREFIX:
		return strncmp(num, p->lo, strlen(p->lo)) == 0;
	case NP_PAT_RANGE:
		return same_form(num, p->lo) &&
		    all_digits(num + (num[0] == '+')) &&
		    strcmp(num, p->lo) >= 0 && strcmp(num, p->hi) <= 0;
	default:
		return strcmp(num, p->lo) == 0;
	}
}

/* Any user against a list; none = "*".  Only "*" takes a non-number. */
static int
patterns_match(const struct np_pattern *pat, int npat, const char *user)
{
	int number = numplan_is_number(user);

	if (npat == 0)
		return 1;
	for (int i = 0; i < npat; i++)
		if ((number || pat[i].kind == NP_PAT_ANY) &&
		    pattern_match(&pat[i], user))
			return 1;
	return 0;
}

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* 1 when every number b matches also matches a. */
static int
pattern_covers(const struct np_pattern *a, const struct np_pattern *b)
{
	if (a->kind == NP_PAT_ANY)
		return 1;
	switch (b->kind) {
	case NP_PAT_ANY:
		return 0;
	case NP_PAT_PREFIX:
		return a->kind == NP_PAT_PREFIX && starts_with(b->lo, a->lo);
	case NP_PAT_RANGE:
		if (a->kind == NP_PAT_PREFIX)
			return starts_with(b->lo, a->lo) &&
			    starts_with(b->hi, a->lo);
		return a->kind == NP_PAT_RANGE && same_form(a->lo, b->lo) &&
		    strcmp(a->lo, b->lo) <= 0 && strcmp(b->hi, a->hi) <= 0;
	default:
		return pattern_match(a, b->lo);
	}
}

/* Sections and their keys */

static const char *
slot_name(const struct np_key *keys, int slot)
{
	for (; keys->name != NULL; keys++)
		if (keys->slot == slot)
			return keys->name;
	return "";
}

static const struct np_key *
key_find(const struct np_key *keys, const char *name)
{
	for (; keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

/* "rule NAME" -> 'r' or 'R' (route) and NAME; 0 for anything else. */
static int
section_split(const char *section, const char **name)
{
	int type;
	size_t n;

	if (strncmp(section, "route", 5) == 0) {
		type = 'R';
		n = 5;
	} else if (strncmp(section, "rule", 4) == 0) {
		type = 'r';
		n = 4;
	} else
		return 0;
	if (section[n] != '\0' && section[n] != ' ' && section[n] != '\t')
		return 0;
	section += n;
	while (*section == ' ' || *section == '\t')
		section++;
	*name = section;
	return type;
}

int
numplan_section(const char *section)
{
	const char *name;

	return section_split(section, &name) != 0;
}

static int
names_parse(const char *val, char (*names)[NP_NAME_MAX], int *n, int max,
    char *why, size_t len)
{
	char item[NP_NAME_MAX];
	int r;

	*n = 0;
	while ((r = cfg_list_next(&val, item, sizeof(item))) != 0) {
		if (r < 0 || !name_valid(item)) {
			snprintf(why, len, "%s", bad_name);
			return -1;
		}
		if (*n == max) {
			snprintf(why, len, "at most %d names", max);
			return -1;
		}
		snprintf(names[(*n)++], NP_NAME_MAX, "%s", item);
	}
	return 0;
}

static int
string_set(char *dst, size_t size, const char *val, char *why, size_t len)
{
	if (strlen(val) >= size) {
		snprintf(why, len, "too long (at most %zu characters)", size - 1);
		return -1;
	}
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

/* national_prefix may be empty, international_prefix may not. */
static int
digits_set(char *dst, size_t size, const char *val, int empty_ok, char *why,
    size_t len)
{
	if (!all_digits(val) || strlen(val) >= size ||
	    (!empty_ok && *val == '\0')) {
		snprintf(why, len, "\"%s\": %s1..%zu digits", val,
		    empty_ok ? "empty or " : "", size - 1);
		return -1;
	}
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

static int
rule_value(struct np_rule *r, int slot, const char *val, char *why,
    size_t len)
{
	char *end;
	long v;

	switch (slot) {
	case RK_STRIP:
		v = strtol(val, &end, 10);
		if (!isdigit((unsigned char)*val) || *end != '\0' ||
		    v > NP_STRIP_MAX) {
			snprintf(why, len, "\"%s\": 0..%d", val, NP_STRIP_MAX);
			return -1;
		}
		r->strip = (int)v;
		return 0;
	case RK_PREFIX:
		if (*val == '\0' || !numberish(val)) {
			snprintf(why, len, "\"%s\": '+' and/or 0-9 * #, at most "
			    "%d characters", val, NP_NUM_MAX - 1);
			return -1;
		}
		return string_set(r->prefix, sizeof(r->prefix), val, why, len);
	case RK_CC:
		return digits_set(r->cc, sizeof(r->cc), val, 0, why, len);
	case RK_NATIONAL:
		return digits_set(r->national_prefix,
		    sizeof(r->national_prefix), val, 1, why, len);
	case RK_INTERNATIONAL:
		return digits_set(r->international_prefix,
		    sizeof(r->international_prefix), val, 0, why, len);
	case RK_MATCH:
		return string_set(r->match, sizeof(r->match), val, why, len);
	case RK_REPLACE:
		return string_set(r->replace, sizeof(r->replace), val, why, len);
	default:
		return patterns_parse(val, r->only, &r->nonly, why, len);
	}
}

/* The key that gave the rule its kind (the first one in the file). */
static const struct np_key *
kind_key(const struct np_rule *r)
{
	const struct np_key *k, *first = NULL;

	for (k = rule_keys; k->name != NULL; k++)
		if (k->kind == r->kind && r->key_line[k->slot] != 0 &&
		    (first == NULL ||
		    r->key_line[k->slot] < r->key_line[first->slot]))
			first = k;
	return first;
}

/* A key of another kind than the rule's: -1 with why. */
static int
kind_check(const struct np_rule *r, const struct np_key *k, char *why,
    size_t len)
{
	const struct np_key *had;

	if (k->kind == 0 || r->kind == 0 || k->kind == r->kind)
		return 0;
	had = kind_key(r);
	snprintf(why, len, "does not go with %s (line %d): one kind of "
	    "rewrite per rule", had->name, r->key_line[had->slot]);
	return -1;
}

/* val is zero or one; 0, or -1 for anything else. */
static int
keyword_set(int *dst, const char *val, const char *zero, const char *one,
    char *why, size_t len)
{
	if (strcmp(val, zero) == 0 || strcmp(val, one) == 0) {
		*dst = strcmp(val, one) == 0;
		return 0;
	}
	snprintf(why, len, "\"%s\": %s or %s", val, zero, one);
	return -1;
}

static int
route_value(struct np_route *rt, int slot, const char *val, char *why,
    size_t len)
{
	switch (slot) {
	case TK_DIRECTION:
		return keyword_set(&rt->dir, val, "to_cloud", "to_pbx", why, len);
	case TK_NUMBER_IN:
		return keyword_set(&rt->number_in, val, "ruri", "to", why, len);
	case TK_FROM_PBX:	/* the one wrong for the direction: finish */
	case TK_FROM_TRUNK:
		return names_parse(val, rt->from_names, &rt->nfrom,
		    NP_MAX_TARGETS, why, len);
	case TK_NUMBER:
		return patterns_parse(val, rt->pat, &rt->npat, why, len);
	case TK_TRUNK:
	case TK_PBX:
		if (!name_valid(val)) {
			snprintf(why, len, "%s", bad_name);
			return -1;
		}
		memcpy(rt->target_name, val, strlen(val) + 1);
		return 0;
	case TK_CALLED:
		return names_parse(val, rt->called_names, &rt->ncalled,
		    NP_MAX_STEPS, why, len);
	default:
		return names_parse(val, rt->calling_names, &rt->ncalling,
		    NP_MAX_STEPS, why, len);
	}
}

/* Checks common to both kinds of section, then the value. */
static int
key_set(struct np_rule *r, struct np_route *rt, const char *key,
    const char *val, int line, char *why, size_t len)
{
	const struct np_key *k = key_find(r != NULL ? rule_keys : route_keys,
	    key);
	int *lines = r != NULL ? r->key_line : rt->key_line;

	if (k == NULL) {
		snprintf(why, len, "unknown key");
		return -1;
	}
	/* Before the duplicate check: to_e164 and from_e164 share a slot. */
	if (r != NULL && kind_check(r, k, why, len) < 0)
		return -1;
	if (lines[k->slot] != 0) {
		snprintf(why, len, "duplicate key (first set on line %d)",
		    lines[k->slot]);
		return -1;
	}
	if ((r != NULL ? rule_value(r, k->slot, val, why, len) :
	    route_value(rt, k->slot, val, why, len)) < 0)
		return -1;
	lines[k->slot] = line;
	if (r != NULL && k->kind != 0)
		r->kind = k->kind;
	return 0;
}

static struct np_rule *
rule_get(struct numplan *np, const char *name, int hdr_line)
{
	struct np_rule *r;

	for (int i = 0; i < np->nrules; i++)
		if (strcmp(np->rules[i].name, name) == 0)
			return &np->rules[i];
	if (np->nrules == NP_MAX_RULES)
		return NULL;
	r = &np->rules[np->nrules++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->line = hdr_line;
	strcpy(r->national_prefix, "0");
	strcpy(r->international_prefix, "00");
	return r;
}

static struct np_route *
route_get(struct numplan *np, const char *name, int hdr_line)
{
	struct np_route *rt;

	for (int i = 0; i < np->nroutes; i++)
		if (strcmp(np->routes[i].name, name) == 0)
			return &np->routes[i];
	if (np->nroutes == NP_MAX_ROUTES)
		return NULL;
	rt = &np->routes[np->nroutes++];
	memset(rt, 0, sizeof(*rt));
	snprintf(rt->name, sizeof(rt->name), "%s", name);
	rt->line = hdr_line;
	rt->dir = -1;
	rt->target = -1;
	return rt;
}

int
numplan_set(struct numplan *np, const char *section, const char *key,
    const char *val, int line, int hdr_line, struct np_error *err)
{
	struct np_rule *r = NULL;
	struct np_route *rt = NULL;
	const char *name;
	char why[sizeof(err->why)];
	int type = section_split(section, &name), had;

	if (type == 0 || !name_valid(name)) {
		np_err(err, hdr_line, section, "", "%s", type == 0 ?
		    "not a [rule NAME] or [route NAME] section" : bad_name);
		return -1;
	}
	if ((type == 'r' && (r = rule_get(np, name, hdr_line)) == NULL) ||
	    (type == 'R' && (rt = route_get(np, name, hdr_line)) == NULL)) {
		np_err(err, hdr_line, section, "", "too many [%s] sections (at "
		    "most %d)", type == 'r' ? "rule" : "route", type == 'r' ?
		    NP_MAX_RULES : NP_MAX_ROUTES);
		return -1;
	}
	/* inih hands a repeated [rule X] on as more keys of the first. */
	had = r != NULL ? r->line : rt->line;
	if (had != hdr_line) {
		np_err(err, hdr_line, section, "", "already defined on line %d",
		    had);
		return -1;
	}
	why[0] = '\0';
	if (key_set(r, rt, key, val, line, why, sizeof(why)) < 0) {
		np_err(err, line, section, key, "%s", why);
		return -1;
	}
	return 0;
}

/* numplan_finish */

/* "a, b, c" into buf, as much as fits. */
static void
names_join(char *buf, size_t len, const char *const *names, int n)
{
	size_t at = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s",
		    i > 0 ? ", " : "", names[i]);
}

static int
name_index(const char *name, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

/* Names a route refers to, checked against one list of known ones. */
struct np_names {
	const char *const *names;
	int n;
	const char *what;	/* "trunk", "PBX", "rule" */
	const char *plural;
};

static int
resolve(const struct np_route *rt, int slot, const char *name,
    const struct np_names *known, int *idx, struct np_error *err)
{
	char list[NP_LIST_MAX], sect[NP_NAME_MAX + 8];

	if ((*idx = name_index(name, known->names, known->n)) >= 0)
		return 0;
	names_join(list, sizeof(list), known->names, known->n);
	snprintf(sect, sizeof(sect), "route %s", rt->name);
	np_err(err, rt->key_line[slot], sect, slot_name(route_keys, slot),
	    "unknown %s \"%s\" (%s: %s)", known->what, name, known->plural,
	    known->n > 0 ? list : "none");
	return -1;
}

static int
regex_template_check(struct np_rule *r, char *why, size_t len)
{
	char ref[NP_NAME_MAX];
	const char *p, *s;
	uint32_t ngroups;
	size_t n;
	int brace;

	pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &ngroups);
	for (p = r->replace; (p = strchr(p, '$')) != NULL; p = s + n + brace) {
		brace = p[1] == '{';
		s = p + 1 + brace;
		if (!brace && *s == '$') {
			n = 1;
			continue;
		}
		n = isdigit((unsigned char)*s) ? strspn(s, "0123456789") :
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_");
		if (n == 0 || n >= sizeof(ref) || (brace && s[n] != '}')) {
			snprintf(why, len, "'$' at %td: $1, ${1}, ${name} or $$",
			    p - r->replace);
			return -1;
		}
		memcpy(ref, s, n);
		ref[n] = '\0';
		if (isdigit((unsigned char)*ref) ? strtoul(ref, NULL, 10) >
		    ngroups : pcre2_substring_number_from_name(r->re,
		    (PCRE2_SPTR)ref) < 0) {
			snprintf(why, len, "$%s: the match has no such group (%u "
			    "groups)", ref, ngroups);
			return -1;
		}
	}
	return 0;
}

/* Compile match, check replace against it, JIT when the platform can. */
static int
regex_compile(struct np_rule *r, struct np_error *err, const char *sect)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	char why[sizeof(err->why)];
	int code;

	if ((r->re = pcre2_compile((PCRE2_SPTR)r->match, PCRE2_ZERO_TERMINATED,
	    0, &code, &off, NULL)) == NULL) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		np_err(err, r->key_line[RK_MATCH], sect, "match", "does not "
		    "compile at offset %zu: %s", (size_t)off, (char *)msg);
		return -1;
	}
	if (regex_template_check(r, why, sizeof(why)) < 0) {
		np_err(err, r->key_line[RK_REPLACE], sect, "replace", "%s", why);
		return -1;
	}
	(void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);	/* else interpreted */
	if ((r->md = pcre2_match_data_create_from_pattern(r->re, NULL)) ==
	    NULL) {
		np_err(err, r->line, sect, "", "out of memory");
		return -1;
	}
	return 0;
}

static int
rule_finish(struct np_rule *r, struct np_error *err)
{
	char sect[NP_NAME_MAX + 8];
	int e164 = r->kind == NP_RULE_TO_E164 || r->kind == NP_RULE_FROM_E164;

	snprintf(sect, sizeof(sect), "rule %s", r->name);
	if (r->kind == 0) {
		np_err(err, r->line, sect, "", "no rewrite: strip/prefix, "
		    "to_e164, from_e164 or match/replace");
		return -1;
	}
	for (int slot = RK_NATIONAL; !e164 && slot <= RK_INTERNATIONAL; slot++)
		if (r->key_line[slot] != 0) {
			np_err(err, r->key_line[slot], sect,
			    slot_name(rule_keys, slot), "only for to_e164 and "
			    "from_e164");
			return -1;
		}
	if (r->kind != NP_RULE_REGEX)
		return 0;
	if (r->key_line[RK_MATCH] == 0 || r->key_line[RK_REPLACE] == 0) {
		np_err(err, r->key_line[RK_MATCH] + r->key_line[RK_REPLACE],
		    sect, r->key_line[RK_MATCH] != 0 ? "match" : "replace",
		    "match and replace go together");
		return -1;
	}
	return regex_compile(r, err, sect);
}

static int
route_steps(const struct numplan *np, struct np_route *rt, int slot,
    char (*names)[NP_NAME_MAX], int *idx, int n, struct np_error *err)
{
	const char *rn[NP_MAX_RULES];
	struct np_names known = { rn, np->nrules, "rule", "rules" };

	for (int i = 0; i < np->nrules; i++)
		rn[i] = np->rules[i].name;
	for (int i = 0; i < n; i++)
		if (resolve(rt, slot, names[i], &known, &idx[i], err) < 0)
			return -1;
	return 0;
}

/* direction, then the keys it allows and requires, then the names. */
static int
route_finish(const struct numplan *np, struct np_route *rt,
    const struct np_names *pbxs, const struct np_names *trunks,
    struct np_error *err)
{
	static const int wrong[2][2] = {
		{ TK_FROM_TRUNK, TK_PBX }, { TK_FROM_PBX, TK_TRUNK }
	};
	const struct np_names *from, *to;
	char sect[NP_NAME_MAX + 8];
	int slot, bit, target_slot;

	snprintf(sect, sizeof(sect), "route %s", rt->name);
	if (rt->key_line[TK_DIRECTION] == 0) {
		np_err(err, rt->line, sect, "direction", "missing (to_cloud or "
		    "to_pbx)");
		return -1;
	}
	for (int i = 0; i < 2; i++)
		if (rt->key_line[slot = wrong[rt->dir][i]] != 0) {
			np_err(err, rt->key_line[slot], sect,
			    slot_name(route_keys, slot), "not with direction = %s",
			    dir_names[rt->dir]);
			return -1;
		}
	from = rt->dir == NP_TO_CLOUD ? pbxs : trunks;
	to = rt->dir == NP_TO_CLOUD ? trunks : pbxs;
	target_slot = rt->dir == NP_TO_CLOUD ? TK_TRUNK : TK_PBX;
	if (rt->key_line[target_slot] == 0) {
		np_err(err, rt->line, sect, slot_name(route_keys, target_slot),
		    "missing: a %s route names its %s", dir_names[rt->dir],
		    to->what);
		return -1;
	}
	if (resolve(rt, target_slot, rt->target_name, to, &rt->target,
	    err) < 0)
		return -1;
	slot = rt->dir == NP_TO_CLOUD ? TK_FROM_PBX : TK_FROM_TRUNK;
	rt->from_mask = rt->nfrom == 0 ? NP_ANY_SOURCE : 0;
	for (int i = 0; i < rt->nfrom; i++) {
		if (resolve(rt, slot, rt->from_names[i], from, &bit, err) < 0)
			return -1;
		rt->from_mask |= UINT32_C(1) << bit;
	}
	return route_steps(np, rt, TK_CALLED, rt->called_names, rt->called,
	    rt->ncalled, err) < 0 || route_steps(np, rt, TK_CALLING,
	    rt->calling_names, rt->calling, rt->ncalling, err) < 0 ? -1 : 0;
}

/* A list that matches every user: none, or one with "*". */
static int
takes_all(const struct np_route *rt)
{
	for (int i = 0; i < rt->npat; i++)
		if (rt->pat[i].kind == NP_PAT_ANY)
			return 1;
	return rt->npat == 0;
}

/* 1 when a (earlier) takes every call b would match. */
static int
route_covers(const struct np_route *a, const struct np_route *b)
{
	static const struct np_pattern any = { NP_PAT_ANY, "", "" };
	const struct np_pattern *pb;
	int covered;

	if (a->dir != b->dir || (a->from_mask & b->from_mask) != b->from_mask)
		return 0;
	if (takes_all(a))
		return 1;
	/* Patterns of a on another user than b's cover nothing of b. */
	if (a->number_in != b->number_in)
		return 0;
	for (int j = 0; j < (b->npat > 0 ? b->npat : 1); j++) {
		pb = b->npat > 0 ? &b->pat[j] : &any;
		covered = 0;
		for (int i = 0; i < a->npat && !covered; i++)
			covered = pattern_covers(&a->pat[i], pb);
		if (!covered)
			return 0;
	}
	return 1;
}

static int
shadow_check(struct numplan *np, struct np_error *err)
{
	const struct np_route *a, *b;
	char sect[NP_NAME_MAX + 8];

	for (int j = 1; j < np->nroutes; j++)
		for (int i = 0; i < j; i++) {
			a = &np->routes[i];
			b = &np->routes[j];
			if (!route_covers(a, b))
				continue;
			snprintf(sect, sizeof(sect), "route %s", b->name);
			np_err(err, b->key_line[TK_NUMBER] != 0 ?
			    b->key_line[TK_NUMBER] : b->line, sect,
			    b->key_line[TK_NUMBER] != 0 ? "number" : "",
			    "can never match: route \"%s\" (line %d) takes "
			    "every call it would", a->name, a->line);
			return -1;
		}
	return 0;
}

/* from_mask has a bit per target. */
static int
targets_max(const struct np_names *known, struct np_error *err)
{
	if (known->n > NP_MAX_TARGETS) {
		np_err(err, 0, "route", "", "at most %d %s", NP_MAX_TARGETS,
		    known->plural);
		return -1;
	}
	return 0;
}

static int
targets_check(const struct numplan *np, const struct np_names *known,
    int dir, struct np_error *err)
{
	if (np->explicit_dir[dir] == 0 && known->n > 1) {
		np_err(err, 0, "route", "direction", "%d %s and no [route] with "
		    "direction = %s", known->n, known->plural, dir_names[dir]);
		return -1;
	}
	return 0;
}

int
numplan_finish(struct numplan *np, const char *const *pbx_names,
    int npbx, const char *const *trunk_names, int ntrunks,
    struct np_error *err)
{
	const struct np_names pbxs = { pbx_names, npbx, "PBX", "PBXs" };
	const struct np_names trunks = { trunk_names, ntrunks, "trunk",
	    "trunks" };

	/* Again after an earlier finish: compile afresh. */
	numplan_free(np);
	np->explicit_dir[0] = np->explicit_dir[1] = 0;
	if (targets_max(&pbxs, err) < 0 || targets_max(&trunks, err) < 0)
		return -1;
	for (int i = 0; i < np->nrules; i++)
		if (rule_finish(&np->rules[i], err) < 0)
			return -1;
	for (int i = 0; i < np->nroutes; i++) {
		if (route_finish(np, &np->routes[i], &pbxs, &trunks, err) < 0)
			return -1;
		np->explicit_dir[np->routes[i].dir]++;
	}
	if (targets_check(np, &pbxs, NP_TO_PBX, err) < 0 ||
	    targets_check(np, &trunks, NP_TO_CLOUD, err) < 0)
		return -1;
	return shadow_check(np, err);
}

void
numplan_free(struct numplan *np)
{
	for (int i = 0; i < np->nrules; i++) {
		pcre2_match_data_free(np->rules[i].md);
		pcre2_code_free(np->rules[i].re);
		np->rules[i].md = NULL;
		np->rules[i].re = NULL;
	}
}

/* Per call */

const struct np_route *
numplan_route(const struct numplan *np, int dir, int src,
    const char *ruri_user, const char *to_user)
{
	const struct np_route *rt;
	uint32_t bit = src >= 0 && src < NP_MAX_TARGETS ? UINT32_C(1) << src :
	    0;

	for (int i = 0; i < np->nroutes; i++) {
		rt = &np->routes[i];
		if (rt->dir != dir || (rt->nfrom > 0 && !(rt->from_mask & bit)))
			continue;
		if (patterns_match(rt->pat, rt->npat, rt->number_in ==
		    NP_IN_TO ? (to_user ? to_user : "") :
		    (ruri_user ? ruri_user : "")))
			return rt;
	}
	return NULL;
}

int
numplan_implicit(const struct numplan *np, int dir)
{
	return np->explicit_dir[dir] == 0 ? 0 : -1;
}

/*
 * One rule on num into out (NP_NUM_MAX): 1 rewritten, 0 the rule does not
 * apply, -1 an error (the result is too long, the regex failed to run).
 */
static int
rule_apply(const struct np_rule *r, const char *num, char *out)
{
	PCRE2_SIZE outlen = NP_NUM_MAX;
	size_t n;
	int rc;

	switch (r->kind) {
	case NP_RULE_EDIT:
		/* Stripping it all leaves "" or the prefix: checked after. */
		n = strlen(num);
		rc = snprintf(out, NP_NUM_MAX, "%s%s", r->prefix,
		    num + (n < (size_t)r->strip ? n : (size_t)r->strip));
		break;
	case NP_RULE_TO_E164:
		/*
		 * "00" starts with "0": the international prefix first.  An
		 * empty national_prefix takes every other number (NANP:
		 * 2125551234 -> +12125551234; "1" would take 1NXX... instead).
		 */
		if (*num == '+')
			return 0;
		if (starts_with(num, r->international_prefix))
			rc = snprintf(out, NP_NUM_MAX, "+%s",
			    num + strlen(r->international_prefix));
		else if (starts_with(num, r->national_prefix))
			rc = snprintf(out, NP_NUM_MAX, "+%s%s", r->cc,
			    num + strlen(r->national_prefix));
		else
			return 0;
		break;
	case NP_RULE_FROM_E164:
		if (*num != '+')
			return 0;
		if (starts_with(num + 1, r->cc))
			rc = snprintf(out, NP_NUM_MAX, "%s%s", r->national_prefix,
			    num + 1 + strlen(r->cc));
		else
			rc = snprintf(out, NP_NUM_MAX, "%s%s",
			    r->international_prefix, num + 1);
		break;
	default:
		/*
		 * The first match is replaced, the rest kept (anchor with ^$
		 * for the whole number); an unset group is "".  PCRE2 keeps
		 * its working memory in md, and its default match limit
		 * stops a pattern that backtracks without end.
		 */
		rc = pcre2_substitute(r->re, (PCRE2_SPTR)num,
		    PCRE2_ZERO_TERMINATED, 0, PCRE2_SUBSTITUTE_UNSET_EMPTY,
		    r->md, NULL, (PCRE2_SPTR)r->replace, PCRE2_ZERO_TERMINATED,
		    (PCRE2_UCHAR *)out, &outlen);
		return rc < 0 ? -1 : rc > 0;
	}
	return rc < 0 || rc >= NP_NUM_MAX ? -1 : 1;
}

/* ",name" at the end of applied, cut to what fits. */
static void
applied_add(char *applied, size_t len, const char *name)
{
	size_t at;

	if (applied == NULL || len == 0)
		return;
	at = strlen(applied);
	if (at + 1 < len)
		snprintf(applied + at, len - at, "%s%s", at > 0 ? "," : "",
		    name);
}

/*
 * On an error num is left as the rules before the failed one made it
 * (the call is refused: it is for the log line).
 */
int
numplan_apply(const struct numplan *np, const int *rules, int n,
    char *num, size_t len, char *applied, size_t applied_len,
    const char **failed)
{
	const struct np_rule *r;
	char out[NP_NUM_MAX];
	int rc;

	if (applied != NULL && applied_len > 0)
		applied[0] = '\0';
	if (failed != NULL)
		*failed = NULL;
	for (int i = 0; i < n; i++) {
		if (rules[i] < 0 || rules[i] >= np->nrules)
			continue;
		r = &np->rules[rules[i]];
		if (!numplan_is_number(num) || (r->nonly > 0 &&
		    !patterns_match(r->only, r->nonly, num)))
			continue;
		if ((rc = rule_apply(r, num, out)) == 0 ||
		    (rc == 1 && strcmp(out, num) == 0))
			continue;
		if (rc < 0 || !numplan_is_number(out) || strlen(out) >= len) {
			if (failed != NULL)
				*failed = r->name;
			return -1;
		}
		memcpy(num, out, strlen(out) + 1);
		applied_add(applied, applied_len, r->name);
	}
	return 0;
}

/* numplan_print */

static void
print_patterns(const struct np_pattern *pat, int npat, FILE *out)
{
	if (npat == 0)
		fputs("*", out);
	for (int i = 0; i < npat; i++) {
		fputs(i > 0 ? "," : "", out);
		if (pat[i].kind == NP_PAT_ANY)
			fputs("*", out);
		else
			fprintf(out, "%s%s%s", pat[i].lo,
			    pat[i].kind == NP_PAT_PREFIX ? "*" :
			    pat[i].kind == NP_PAT_RANGE ? "-" : "", pat[i].hi);
	}
}

static void
print_names(const char *label, const char (*names)[NP_NAME_MAX], int n,
    FILE *out)
{
	for (int i = 0; i < n; i++)
		fprintf(out, "%s%s", i == 0 ? label : ",", names[i]);
}

static void
print_route(const struct np_route *rt, FILE *out)
{
	fprintf(out, "route %s: %s", rt->name, dir_names[rt->dir]);
	print_names(rt->dir == NP_TO_CLOUD ? " from_pbx=" : " from_trunk=",
	    rt->from_names, rt->nfrom, out);
	fputs(" number=", out);
	print_patterns(rt->pat, rt->npat, out);
	fprintf(out, " (%s) -> %s %s", rt->number_in == NP_IN_TO ? "to" :
	    "ruri", rt->dir == NP_TO_CLOUD ? "trunk" : "pbx", rt->target_name);
	if (rt->ncalled + rt->ncalling > 0)
		fputs(";", out);
	print_names(" called=", rt->called_names, rt->ncalled, out);
	print_names(" calling=", rt->calling_names, rt->ncalling, out);
	fprintf(out, " (line %d)\n", rt->line);
}

static void
print_rule(const struct np_rule *r, FILE *out)
{
	fprintf(out, "rule %s:", r->name);
	if (r->kind == NP_RULE_EDIT)
		fprintf(out, " strip %d, prefix \"%s\"", r->strip, r->prefix);
	else if (r->kind == NP_RULE_REGEX)
		fprintf(out, " match %s replace %s", r->match, r->replace);
	else
		fprintf(out, " %s %s, national_prefix \"%s\", "
		    "international_prefix \"%s\"", r->kind == NP_RULE_TO_E164 ?
		    "to_e164" : "from_e164", r->cc, r->national_prefix,
		    r->international_prefix);
	if (r->nonly > 0) {
		fputs(", only ", out);
		print_patterns(r->only, r->nonly, out);
	}
	fprintf(out, " (line %d)\n", r->line);
}

void
numplan_print(const struct numplan *np, const char *const *pbx_names,
    const char *const *trunk_names, FILE *out)
{
	for (int i = 0; i < np->nroutes; i++)
		print_route(&np->routes[i], out);
	if (numplan_implicit(np, NP_TO_CLOUD) == 0 && trunk_names != NULL)
		fprintf(out, "route (implicit): to_cloud number=* -> trunk %s "
		    "(the only trunk)\n", trunk_names[0]);
	if (numplan_implicit(np, NP_TO_PBX) == 0 && pbx_names != NULL)
		fprintf(out, "route (implicit): to_pbx number=* -> pbx %s "
		    "(the only PBX)\n", pbx_names[0]);
	for (int i = 0; i < np->nrules; i++)
		print_rule(&np->rules[i], out);
}
