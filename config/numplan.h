/*
 * numplan.h - the number plan (issue 17): named number rules and routes,
 * read from the configuration file's [rule NAME] and [route NAME]
 * sections, checked at load (a route that can never match, a name that
 * does not exist, a regex that does not compile: file:line:key), then
 * evaluated per call.  It knows numbers and names, nothing of SIP: the
 * SIP core asks it which route a call takes and hands it the user parts
 * of the Request-URI, To, From and P-Asserted-Identity to rewrite.
 *
 * Regexes are PCRE2 (Debian libpcre2-8), JIT-compiled when available;
 * replacement is pcre2_substitute's ($1, ${name}).
 */
#ifndef TLSTRUNK_NUMPLAN_H
#define TLSTRUNK_NUMPLAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NP_NAME_MAX	32	/* rule, route, PBX, trunk names, NUL included:
				   [A-Za-z0-9_.-], 1..31 characters */
#define NP_NUM_MAX	65	/* longest number, NUL included */
#define NP_MAX_RULES	64
#define NP_MAX_ROUTES	128
#define NP_MAX_PATTERNS	16	/* number patterns per route or rule */
#define NP_MAX_STEPS	8	/* rules per called/calling list */
#define NP_MAX_TARGETS	32	/* PBXs, trunks: from_* is a bit mask */

enum np_dir { NP_TO_CLOUD = 0, NP_TO_PBX = 1 };

/* Which user a route's number patterns are matched against. */
enum np_number_in { NP_IN_RURI = 0, NP_IN_TO = 1 };

/*
 * A number pattern: "*" any (also a non-numeric user), "PREFIX*"
 * (e.g. "0*", "+4930*"), "LO-HI" an inclusive range of numbers of the
 * same length and the same '+' ("+4930100-+4930199"), else one exact
 * number.  Numbers: an optional leading '+', then digits, '*', '#'.
 */
enum np_pat_kind { NP_PAT_ANY, NP_PAT_PREFIX, NP_PAT_RANGE, NP_PAT_EXACT };
struct np_pattern {
	int kind;
	char lo[NP_NUM_MAX];	/* prefix, exact number, or range start */
	char hi[NP_NUM_MAX];	/* range end */
};

/*
 * A rule: one kind of rewrite, optionally only for numbers matching
 * `only`.  Kinds (keys of [rule NAME]):
 *   strip = N and/or prefix = DIGITS   remove N leading characters, then
 *                                      put DIGITS in front
 *   to_e164 = CC                       "+..." unchanged; international_prefix
 *                                      -> "+"; national_prefix -> "+CC";
 *                                      anything else unchanged
 *   from_e164 = CC                     "+CC..." -> national_prefix + rest;
 *                                      other "+..." -> international_prefix
 *                                      + digits; without '+' unchanged
 *   national_prefix = 0, international_prefix = 00 (for the two above)
 *   match = REGEX, replace = TEMPLATE  pcre2_substitute on the number
 *   only = PATTERN[,PATTERN]           the rule applies only to these
 * A rule applies only to a number (see np_pattern); any other user (empty,
 * "alice") is left as it is.  A result that is not a number, or longer
 * than NP_NUM_MAX - 1, is an error: the call is refused.
 */
enum np_rule_kind {
	NP_RULE_EDIT = 1,	/* strip and/or prefix */
	NP_RULE_TO_E164,
	NP_RULE_FROM_E164,
	NP_RULE_REGEX,
};
struct np_rule {
	char name[NP_NAME_MAX];
	int line;			/* of its [rule NAME] header */
	int kind;
	int strip;
	char prefix[NP_NUM_MAX];
	char cc[4];			/* country code, 1-3 digits */
	char national_prefix[8];	/* default "0", may be "" */
	char international_prefix[8];	/* default "00" */
	char match[256];		/* the regex as written */
	char replace[256];
	void *re;			/* pcre2_code_8 * */
	void *md;			/* pcre2_match_data_8 * */
	struct np_pattern only[NP_MAX_PATTERNS];
	int nonly;
	int key_line[8];		/* private to numplan.c */
};

struct np_route {
	char name[NP_NAME_MAX];
	int line;			/* of its [route NAME] header */
	int dir;			/* enum np_dir */
	uint32_t from_mask;		/* bit i: PBX i (to_cloud) or trunk i
					   (to_pbx) matches; all ones = any */
	char from_names[NP_MAX_TARGETS][NP_NAME_MAX];	/* as written */
	int nfrom;
	struct np_pattern pat[NP_MAX_PATTERNS];
	int npat;			/* 0 = "*" */
	int number_in;			/* enum np_number_in */
	char target_name[NP_NAME_MAX];	/* trunk = / pbx = as written */
	int target;			/* its index, after numplan_finish */
	char called_names[NP_MAX_STEPS][NP_NAME_MAX];
	int called[NP_MAX_STEPS];	/* rule indexes: R-URI user and To */
	int ncalled;
	char calling_names[NP_MAX_STEPS][NP_NAME_MAX];
	int calling[NP_MAX_STEPS];	/* rule indexes: From and PAI */
	int ncalling;
	int key_line[12];		/* private to numplan.c */
};

struct numplan {
	struct np_rule rules[NP_MAX_RULES];
	int nrules;
	struct np_route routes[NP_MAX_ROUTES];	/* file order */
	int nroutes;
	int explicit_dir[2];		/* routes written for each direction */
};

/* Where a numplan error points: the config reader formats it. */
struct np_error {
	int line;			/* 0: no line */
	char section[NP_NAME_MAX + 8];	/* "route NAME", "rule NAME" */
	char key[32];			/* "" for the section itself */
	char why[512];
};

/* 1 when section ("rule X" / "route X") is one numplan reads. */
int numplan_section(const char *section);
/*
 * One key of a [rule NAME] or [route NAME] section, at line (the first
 * key of a section creates it; hdr_line is its header's line).  0, or -1
 * with err filled.
 */
int numplan_set(struct numplan *np, const char *section, const char *key,
    const char *val, int line, int hdr_line, struct np_error *err);
/*
 * After the whole file: resolve names (rules; PBX and trunk names, in
 * their configuration order), compile regexes, check each section has
 * what it needs and that no route is shadowed by an earlier one of the
 * same direction (it could never match).  With no route for a direction
 * and exactly one target, every call takes that target; with several
 * targets and no route for a direction, an error.  0, or -1 with err.
 */
int numplan_finish(struct numplan *np, const char *const *pbx_names,
    int npbx, const char *const *trunk_names, int ntrunks,
    struct np_error *err);
/* The compiled regexes. */
void numplan_free(struct numplan *np);

/* 1 when s is a number: optional leading '+', then 1..64 of [0-9*#]. */
int numplan_is_number(const char *s);

/*
 * The first route of direction dir whose from matches src (PBX or trunk
 * index, -1 when unknown: only routes without from match) and whose
 * patterns match the R-URI user or To user (NULL taken as "").
 * NULL: no route (the caller refuses the call).
 */
const struct np_route *numplan_route(const struct numplan *np, int dir,
    int src, const char *ruri_user, const char *to_user);
/* The target a direction takes without routes, or -1 (routes exist). */
int numplan_implicit(const struct numplan *np, int dir);

/*
 * Apply rules[0..n) in order to num (a NUL-terminated user part of at
 * most len - 1 bytes), in place.  applied (may be NULL): the names of
 * the rules that changed it, comma-joined, for the log line.  0, or -1
 * when a rule's result is not a number or too long: *failed names it.
 */
int numplan_apply(const struct numplan *np, const int *rules, int n,
    char *num, size_t len, char *applied, size_t applied_len,
    const char **failed);

/* The routing table as understood, one line per route and rule (-t). */
void numplan_print(const struct numplan *np, const char *const *pbx_names,
    const char *const *trunk_names, FILE *out);

#endif
