/* test_numplan.c - the number plan (issue 17): rules, routes, checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "numplan.h"

static struct numplan *np;
static struct np_error err;
static const char *const pbxs[] = { "pbx-a", "pbx-b", "pbx-c" };
static const char *const trunks[] = { "t1", "t2", "t3" };

static void
setup(void)
{
	cr_assert_not_null(np = calloc(1, sizeof(*np)));
	memset(&err, 0, sizeof(err));
}

static void
teardown(void)
{
	numplan_free(np);
	free(np);
}

TestSuite(numplan, .init = setup, .fini = teardown);

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && e[-1] == ' ')
		*--e = '\0';
	return s;
}

/*
 * What config.c does with a file: "[section]" and "key = value" lines,
 * numbered from 1; a repeated [section] hands its keys on under the same
 * name with the new header line.
 */
static int
feed(const char *text)
{
	char buf[8192], section[64] = "", *line, *next, *eq;
	int n = 0, hdr = 0;

	snprintf(buf, sizeof(buf), "%s", text);
	for (line = buf; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		n++;
		line = trim(line);
		if (*line == '\0')
			continue;
		if (*line == '[') {
			line[strlen(line) - 1] = '\0';
			snprintf(section, sizeof(section), "%s", line + 1);
			hdr = n;
			continue;
		}
		cr_assert_not_null(eq = strchr(line, '='), "line %d", n);
		*eq = '\0';
		if (numplan_set(np, section, trim(line), trim(eq + 1), n, hdr,
		    &err) < 0)
			return -1;
	}
	return 0;
}

static int
load(const char *text, int npbx, int ntrunks)
{
	if (feed(text) < 0)
		return -1;
	return numplan_finish(np, pbxs, npbx, trunks, ntrunks, &err);
}

/* An error at line, [section] key, exactly why. */
static void
want_err(int line, const char *section, const char *key, const char *why)
{
	cr_assert_str_eq(err.why, why);
	cr_assert_str_eq(err.section, section);
	cr_assert_str_eq(err.key, key);
	cr_assert_eq(err.line, line, "line %d, want %d", err.line, line);
}

static const char *
route(int dir, int src, const char *ruri, const char *to)
{
	const struct np_route *rt = numplan_route(np, dir, src, ruri, to);

	return rt != NULL ? rt->name : "(none)";
}

static int
rule_index(const char *name)
{
	for (int i = 0; i < np->nrules; i++)
		if (strcmp(np->rules[i].name, name) == 0)
			return i;
	cr_assert_fail("no rule %s", name);
	return -1;
}

static char applied[128];
static const char *failed;

/* Rules (comma-separated names) on in; the result, or "FAIL:rule". */
static const char *
apply(const char *names, const char *in)
{
	static char num[NP_NUM_MAX + 8], out[NP_NUM_MAX + 16];
	char list[256], *save, *name;
	int idx[NP_MAX_STEPS], n = 0;

	snprintf(list, sizeof(list), "%s", names);
	for (name = strtok_r(list, ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save))
		idx[n++] = rule_index(name);
	snprintf(num, sizeof(num), "%s", in);
	if (numplan_apply(np, idx, n, num, NP_NUM_MAX, applied,
	    sizeof(applied), &failed) < 0) {
		cr_assert_not_null(failed);
		snprintf(out, sizeof(out), "FAIL:%s:%s", failed, num);
		return out;
	}
	cr_assert_null(failed);
	return num;
}

/* lead then '5's, n characters in all (four results live at once). */
static const char *
digits(int n, const char *lead)
{
	static char bufs[4][128];
	static int next;
	char *buf = bufs[next++ % 4];
	size_t l = strlen(lead);

	memcpy(buf, lead, l);
	memset(buf + l, '5', (size_t)n - l);
	buf[n] = '\0';
	return buf;
}

/* Rules */

Test(numplan, edit_strip_and_prefix)
{
	cr_assert_eq(load("[rule a]\nstrip = 1\nprefix = +49\n"
	    "[rule s]\nstrip = 2\n[rule p]\nprefix = 9\n"
	    "[rule z]\nstrip = 0\n", 1, 1), 0, "%s", err.why);
	cr_assert_str_eq(apply("a", "030123"), "+4930123");
	cr_assert_str_eq(applied, "a");
	cr_assert_str_eq(apply("s", "0049301"), "49301");
	cr_assert_str_eq(apply("p", "123"), "9123");
	cr_assert_str_eq(apply("z", "123"), "123");
	cr_assert_str_eq(applied, "");
	cr_assert_str_eq(apply("p,s", "00"), "0");
	cr_assert_str_eq(applied, "p,s");
	/* Stripping everything leaves no number: refused. */
	cr_assert_str_eq(apply("s", "12"), "FAIL:s:12");
	cr_assert_str_eq(apply("s", "1"), "FAIL:s:1");
}

Test(numplan, edit_leaves_other_users)
{
	cr_assert_eq(load("[rule a]\nprefix = 0\n", 1, 1), 0);
	cr_assert_str_eq(apply("a", ""), "");
	cr_assert_str_eq(apply("a", "alice"), "alice");
	cr_assert_str_eq(apply("a", "+"), "+");
	cr_assert_str_eq(apply("a", "12a"), "12a");
	cr_assert_str_eq(applied, "");
	cr_assert_str_eq(apply("a", "*21#"), "0*21#");
}

Test(numplan, to_e164)
{
	cr_assert_eq(load("[rule e]\nto_e164 = 49\n", 1, 1), 0);
	cr_assert_str_eq(apply("e", "030123"), "+4930123");
	/* "00" before "0": not +49044... */
	cr_assert_str_eq(apply("e", "00441234"), "+441234");
	cr_assert_str_eq(applied, "e");
	cr_assert_str_eq(apply("e", "+4930"), "+4930");
	cr_assert_str_eq(apply("e", "12345"), "12345");
	cr_assert_str_eq(applied, "");
	cr_assert_str_eq(apply("e", "alice"), "alice");
	cr_assert_str_eq(apply("e", ""), "");
	/* "00" alone would be "+": not a number. */
	cr_assert_str_eq(apply("e", "00"), "FAIL:e:00");
}

Test(numplan, to_e164_own_prefixes)
{
	cr_assert_eq(load("[rule e]\nto_e164 = 33\nnational_prefix = 0\n"
	    "international_prefix = 00\n[rule us]\nto_e164 = 1\n"
	    "national_prefix = 1\ninternational_prefix = 011\n", 1, 1), 0);
	cr_assert_str_eq(apply("e", "0140"), "+33140");
	cr_assert_str_eq(apply("us", "12125551234"), "+12125551234");
	cr_assert_str_eq(apply("us", "011442071234567"), "+442071234567");
	cr_assert_str_eq(apply("us", "2125551234"), "2125551234");
}

Test(numplan, to_e164_nanp_empty_national_prefix)
{
	cr_assert_eq(load("[rule us]\nto_e164 = 1\nnational_prefix =\n"
	    "international_prefix = 011\n", 1, 1), 0, "%s", err.why);
	cr_assert_str_eq(apply("us", "2125551234"), "+12125551234");
	cr_assert_str_eq(apply("us", "011442071234567"), "+442071234567");
	cr_assert_str_eq(apply("us", "+12125551234"), "+12125551234");
}

Test(numplan, from_e164)
{
	cr_assert_eq(load("[rule d]\nfrom_e164 = 49\n[rule us]\n"
	    "from_e164 = 1\nnational_prefix = 1\ninternational_prefix = 011\n"
	    "[rule bare]\nfrom_e164 = 1\nnational_prefix =\n", 1, 1), 0);
	cr_assert_str_eq(apply("d", "+4930123"), "030123");
	cr_assert_str_eq(apply("d", "+441234"), "00441234");
	cr_assert_str_eq(apply("d", "030123"), "030123");
	cr_assert_str_eq(applied, "");
	cr_assert_str_eq(apply("us", "+12125551234"), "12125551234");
	cr_assert_str_eq(apply("us", "+442071234567"), "011442071234567");
	cr_assert_str_eq(apply("bare", "+12125551234"), "2125551234");
	/* "+1" alone: nothing left without a national prefix. */
	cr_assert_str_eq(apply("bare", "+1"), "FAIL:bare:+1");
}

Test(numplan, regex_groups)
{
	cr_assert_eq(load("[rule r]\nmatch = ^0(\\d+)$\nreplace = +49$1\n"
	    "[rule n]\nmatch = ^(?<area>\\d{3})(?<sub>\\d+)$\n"
	    "replace = +1${area}${sub}\n[rule part]\nmatch = 99\n"
	    "replace = $$\n[rule x]\nmatch = ^(1)(2)?\nreplace = 7$2$1\n",
	    1, 1), 0, "%s", err.why);
	cr_assert_str_eq(apply("r", "030123"), "+4930123");
	cr_assert_str_eq(applied, "r");
	cr_assert_str_eq(apply("r", "+4930"), "+4930");
	cr_assert_str_eq(applied, "");
	cr_assert_str_eq(apply("n", "2125551234"), "+12125551234");
	/* Only the match is replaced; '$' is not a number. */
	cr_assert_str_eq(apply("part", "1993"), "FAIL:part:1993");
	/* An unset group is empty. */
	cr_assert_str_eq(apply("x", "13"), "713");
	cr_assert_str_eq(apply("x", "123"), "7213");
}

Test(numplan, regex_does_not_compile)
{
	cr_assert_eq(load("[rule r]\nmatch = ^(0\nreplace = 1\n", 1, 1), -1);
	want_err(2, "rule r", "match",
	    "does not compile at offset 3: missing closing parenthesis");
}

Test(numplan, regex_bad_references)
{
	cr_assert_eq(load("[rule r]\nmatch = ^0(\\d+)$\nreplace = $2\n", 1,
	    1), -1);
	want_err(3, "rule r", "replace",
	    "$2: the match has no such group (1 groups)");
	numplan_free(np);
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[rule r]\nmatch = (?<a>1)\nreplace = ${b}\n", 1,
	    1), -1);
	cr_assert_str_eq(err.why, "$b: the match has no such group (1 groups)");
	numplan_free(np);
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[rule r]\nmatch = 1\nreplace = 2$\n", 1, 1), -1);
	cr_assert_str_eq(err.why, "'$' at 1: $1, ${1}, ${name} or $$");
}

Test(numplan, regex_needs_both_keys)
{
	cr_assert_eq(load("[rule r]\nmatch = ^0\n", 1, 1), -1);
	want_err(2, "rule r", "match", "match and replace go together");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("\n[rule r]\nreplace = 0\n", 1, 1), -1);
	want_err(3, "rule r", "replace", "match and replace go together");
}

Test(numplan, only)
{
	cr_assert_eq(load("[rule a]\nprefix = 9\nonly = 0*, 100-199\n", 1,
	    1), 0, "%s", err.why);
	cr_assert_str_eq(apply("a", "030"), "9030");
	cr_assert_str_eq(apply("a", "150"), "9150");
	cr_assert_str_eq(apply("a", "200"), "200");
	cr_assert_str_eq(apply("a", "1500"), "1500");
	cr_assert_str_eq(applied, "");
}

Test(numplan, rules_in_order_and_applied_list)
{
	cr_assert_eq(load("[rule nat]\nto_e164 = 49\n[rule back]\n"
	    "from_e164 = 49\n[rule never]\nprefix = 1\nonly = 7*\n", 1, 1), 0);
	cr_assert_str_eq(apply("nat,never,back", "030"), "030");
	cr_assert_str_eq(applied, "nat,back");
}

Test(numplan, applied_truncated)
{
	char num[NP_NUM_MAX] = "1", small[6];
	int idx[3];

	cr_assert_eq(load("[rule aaaa]\nprefix = 1\n[rule bbbb]\nprefix = 2\n"
	    "[rule cccc]\nprefix = 3\n", 1, 1), 0);
	for (int i = 0; i < 3; i++)
		idx[i] = i;
	cr_assert_eq(numplan_apply(np, idx, 3, num, sizeof(num), small,
	    sizeof(small), NULL), 0);
	cr_assert_str_eq(num, "3211");
	cr_assert_str_eq(small, "aaaa,");
	cr_assert_eq(numplan_apply(np, idx, 3, num, sizeof(num), NULL, 0,
	    NULL), 0);
	cr_assert_str_eq(num, "3213211");
}

Test(numplan, long_numbers)
{
	char num[NP_NUM_MAX + 1], want[128];
	int idx = 0;

	cr_assert(numplan_is_number(digits(64, "")));
	cr_assert(numplan_is_number(digits(64, "+")));
	cr_assert_not(numplan_is_number(digits(65, "")));
	cr_assert_not(numplan_is_number(digits(65, "+")));
	cr_assert_not(numplan_is_number("+"));
	cr_assert_not(numplan_is_number(""));
	cr_assert_not(numplan_is_number(NULL));
	cr_assert_not(numplan_is_number("12 3"));
	cr_assert(numplan_is_number("*#0"));
	cr_assert_eq(load("[rule p]\nprefix = 12\n[rule e]\nto_e164 = 49\n",
	    1, 1), 0);
	/* 62 + 2 fits; 63 + 2 does not: refused, num unchanged. */
	cr_assert_str_eq(apply("p", digits(62, "")), digits(64, "12"));
	snprintf(want, sizeof(want), "FAIL:p:%s", digits(63, ""));
	cr_assert_str_eq(apply("p", digits(63, "")), want);
	/* 65 characters is no number: left alone. */
	cr_assert_str_eq(apply("p", digits(65, "")), digits(65, ""));
	snprintf(want, sizeof(want), "FAIL:e:%s", digits(64, "0"));
	cr_assert_str_eq(apply("e", digits(64, "0")), want);
	/* A smaller buffer than NP_NUM_MAX bounds the result too. */
	snprintf(num, sizeof(num), "12345");
	cr_assert_eq(numplan_apply(np, &idx, 1, num, 7, NULL, 0, &failed), -1);
	cr_assert_str_eq(failed, "p");
	cr_assert_str_eq(num, "12345");
	snprintf(num, sizeof(num), "1234");
	cr_assert_eq(numplan_apply(np, &idx, 1, num, 7, NULL, 0, &failed), 0);
	cr_assert_str_eq(num, "121234");
}

Test(numplan, regex_result_too_long)
{
	char want[128];

	cr_assert_eq(load("[rule r]\nmatch = ^(.*)$\nreplace = $1$1\n", 1,
	    1), 0);
	cr_assert_str_eq(apply("r", digits(32, "")), digits(64, ""));
	snprintf(want, sizeof(want), "FAIL:r:%s", digits(33, ""));
	cr_assert_str_eq(apply("r", digits(33, "")), want);
}

Test(numplan, failure_keeps_earlier_rules)
{
	cr_assert_eq(load("[rule a]\nprefix = 1\n[rule bad]\nmatch = 1\n"
	    "replace = x\n", 1, 1), 0);
	cr_assert_str_eq(apply("a,bad", "2"), "FAIL:bad:12");
}

/* Rule keys */

Test(numplan, kinds_do_not_mix)
{
	cr_assert_eq(load("[rule r]\nstrip = 1\nto_e164 = 49\n", 1, 1), -1);
	want_err(3, "rule r", "to_e164",
	    "does not go with strip (line 2): one kind of rewrite per rule");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[rule r]\nto_e164 = 49\nfrom_e164 = 49\n", 1, 1),
	    -1);
	want_err(3, "rule r", "from_e164",
	    "does not go with to_e164 (line 2): one kind of rewrite per rule");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[rule r]\nmatch = 1\nprefix = 2\n", 1, 1), -1);
	cr_assert_str_eq(err.why,
	    "does not go with match (line 2): one kind of rewrite per rule");
}

Test(numplan, national_prefix_only_for_e164)
{
	cr_assert_eq(load("[rule r]\nnational_prefix = 0\nstrip = 1\n", 1, 1),
	    -1);
	want_err(2, "rule r", "national_prefix",
	    "only for to_e164 and from_e164");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[rule r]\nmatch = 1\nreplace = 2\n"
	    "international_prefix = 00\n", 1, 1), -1);
	want_err(4, "rule r", "international_prefix",
	    "only for to_e164 and from_e164");
}

Test(numplan, rule_without_action)
{
	cr_assert_eq(load("[rule r]\nonly = 0*\n", 1, 1), -1);
	want_err(1, "rule r", "",
	    "no rewrite: strip/prefix, to_e164, from_e164 or match/replace");
}

Test(numplan, rule_values)
{
	static const struct {
		const char *key, *val, *why;
	} bad[] = {
		{ "strip", "33", "\"33\": 0..32" },
		{ "strip", "-1", "\"-1\": 0..32" },
		{ "strip", "1x", "\"1x\": 0..32" },
		{ "strip", "", "\"\": 0..32" },
		{ "prefix", "", "\"\": '+' and/or 0-9 * #, at most 64 "
		    "characters" },
		{ "prefix", "0a", "\"0a\": '+' and/or 0-9 * #, at most 64 "
		    "characters" },
		{ "to_e164", "1234", "\"1234\": 1..3 digits" },
		{ "to_e164", "", "\"\": 1..3 digits" },
		{ "from_e164", "+1", "\"+1\": 1..3 digits" },
		{ "national_prefix", "O", "\"O\": empty or 1..7 digits" },
		{ "international_prefix", "", "\"\": 1..7 digits" },
		{ "only", "0*,", "an empty or overlong pattern" },
		{ "nosuch", "1", "unknown key" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(np, 0, sizeof(*np));
		cr_assert_eq(numplan_set(np, "rule r", bad[i].key, bad[i].val,
		    5, 4, &err), -1, "%s", bad[i].key);
		want_err(5, "rule r", bad[i].key, bad[i].why);
	}
	memset(np, 0, sizeof(*np));
	cr_assert_eq(numplan_set(np, "rule r", "prefix", "+", 2, 1, &err), 0);
	cr_assert_eq(numplan_set(np, "rule r", "strip", "32", 3, 1, &err), 0);
}

Test(numplan, duplicate_key_and_section)
{
	cr_assert_eq(load("[rule r]\nstrip = 1\nstrip = 2\n", 1, 1), -1);
	want_err(3, "rule r", "strip", "duplicate key (first set on line 2)");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[rule r]\nstrip = 1\n[route x]\ndirection = to_pbx\n"
	    "[rule r]\nprefix = 2\n", 1, 1), -1);
	want_err(5, "rule r", "", "already defined on line 1");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[route x]\ndirection = to_pbx\n[route x]\n"
	    "pbx = pbx-a\n", 1, 1), -1);
	want_err(3, "route x", "", "already defined on line 1");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[route x]\nnumber = 1\nnumber = 2\n", 1, 1), -1);
	want_err(3, "route x", "number", "duplicate key (first set on line 2)");
}

Test(numplan, sections_and_names)
{
	cr_assert(numplan_section("rule e164"));
	cr_assert(numplan_section("route site-a-out"));
	cr_assert(numplan_section("rule"));
	cr_assert_not(numplan_section("rules x"));
	cr_assert_not(numplan_section("router x"));
	cr_assert_not(numplan_section("pbx"));
	cr_assert_not(numplan_section(""));
	cr_assert_eq(numplan_set(np, "rule a/b", "strip", "1", 2, 1, &err), -1);
	want_err(1, "rule a/b", "", "a name is 1..31 of A-Z a-z 0-9 _ . -");
	cr_assert_eq(numplan_set(np, "rule", "strip", "1", 2, 1, &err), -1);
	cr_assert_eq(numplan_set(np, "route "
	    "abcdefghijabcdefghijabcdefghij12", "pbx", "x", 2, 1, &err), -1);
	cr_assert_eq(numplan_set(np, "route "
	    "abcdefghijabcdefghijabcdefghij1", "pbx", "x", 2, 1, &err), 0);
	cr_assert_eq(numplan_set(np, "route ok", "pbx", "a b", 3, 1, &err), -1);
	want_err(3, "route ok", "pbx", "a name is 1..31 of A-Z a-z 0-9 _ . -");
	cr_assert_eq(numplan_set(np, "route ok", "pbx", "a,b", 3, 1, &err), -1);
	want_err(3, "route ok", "pbx", "a name is 1..31 of A-Z a-z 0-9 _ . -");
}

Test(numplan, too_many_sections)
{
	char name[32];

	for (int i = 0; i < NP_MAX_RULES; i++) {
		snprintf(name, sizeof(name), "rule r%d", i);
		cr_assert_eq(numplan_set(np, name, "strip", "1", i + 1, i + 1,
		    &err), 0);
	}
	cr_assert_eq(numplan_set(np, "rule last", "strip", "1", 99, 99, &err),
	    -1);
	want_err(99, "rule last", "", "too many [rule] sections (at most 64)");
}

/* Patterns */

Test(numplan, bad_patterns)
{
	static const struct {
		const char *val, *why;
	} bad[] = {
		{ "12a", "\"12a\" is not a number pattern (*, PREFIX*, LO-HI or "
		    "a number: '+' then 0-9 * #, at most 64 characters)" },
		{ "+*+", "\"+*+\" is not a number pattern (*, PREFIX*, LO-HI or "
		    "a number: '+' then 0-9 * #, at most 64 characters)" },
		{ "100-19", "range \"100-19\": two numbers of the same length "
		    "and the same '+', digits only" },
		{ "+100-2000", "range \"+100-2000\": two numbers of the same "
		    "length and the same '+', digits only" },
		{ "1*0-190", "range \"1*0-190\": two numbers of the same length "
		    "and the same '+', digits only" },
		{ "-", "range \"-\": two numbers of the same length and the "
		    "same '+', digits only" },
		{ "+-+", "range \"+-+\": two numbers of the same length and the "
		    "same '+', digits only" },
		{ "199-100", "range \"199-100\": 199 is above 100" },
		{ "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
		    "at most 16 patterns" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(np, 0, sizeof(*np));
		cr_assert_eq(numplan_set(np, "route x", "number", bad[i].val,
		    2, 1, &err), -1, "%s", bad[i].val);
		want_err(2, "route x", "number", bad[i].why);
	}
	memset(np, 0, sizeof(*np));
	cr_assert_eq(numplan_set(np, "route x", "number",
	    "*, +*, 0*, **, +4930100-+4930199, *21#, 5-5", 2, 1, &err), 0);
	cr_assert_eq(np->routes[0].npat, 7);
	cr_assert_eq(np->routes[0].pat[1].kind, NP_PAT_PREFIX);
	cr_assert_str_eq(np->routes[0].pat[3].lo, "*");
	cr_assert_eq(np->routes[0].pat[5].kind, NP_PAT_EXACT);
}

/* Routes */

static const char two_way[] =
    "[route out-a]\n"			/* 1 */
    "direction = to_cloud\n"
    "from_pbx = pbx-a\n"
    "number = 0*, +4930*\n"
    "trunk = t1\n"			/* 5 */
    "[route out-any]\n"
    "direction = to_cloud\n"
    "trunk = t2\n"
    "[route in-b]\n"
    "direction = to_pbx\n"		/* 10 */
    "from_trunk = t2\n"
    "number = +4930100-+4930199\n"
    "pbx = pbx-b\n"
    "called = fromE164\n"
    "calling = fromE164, mark\n"	/* 15 */
    "[route in-to]\n"
    "direction = to_pbx\n"
    "number = 200\n"
    "number_in = to\n"
    "pbx = pbx-b\n"			/* 20 */
    "[route in-rest]\n"
    "direction = to_pbx\n"
    "pbx = pbx-a\n"
    "[rule fromE164]\n"
    "from_e164 = 49\n"			/* 25 */
    "[rule mark]\n"
    "prefix = 9\n";

Test(numplan, routes_both_directions)
{
	const struct np_route *rt;

	cr_assert_eq(load(two_way, 2, 2), 0, "%s (line %d)", err.why,
	    err.line);
	cr_assert_eq(np->explicit_dir[NP_TO_CLOUD], 2);
	cr_assert_eq(np->explicit_dir[NP_TO_PBX], 3);
	cr_assert_eq(numplan_implicit(np, NP_TO_CLOUD), -1);
	cr_assert_eq(numplan_implicit(np, NP_TO_PBX), -1);
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "030123", NULL), "out-a");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "+4930123", NULL), "out-a");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "+4940123", NULL), "out-any");
	cr_assert_str_eq(route(NP_TO_CLOUD, 1, "030123", NULL), "out-any");
	cr_assert_str_eq(route(NP_TO_CLOUD, -1, "030123", NULL), "out-any");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "alice", NULL), "out-any");
	rt = numplan_route(np, NP_TO_PBX, 1, "+4930150", "x");
	cr_assert_not_null(rt);
	cr_assert_str_eq(rt->name, "in-b");
	cr_assert_eq(rt->target, 1);
	cr_assert_eq(rt->from_mask, 2);
	cr_assert_eq(rt->ncalled, 1);
	cr_assert_eq(rt->called[0], 0);
	cr_assert_eq(rt->ncalling, 2);
	cr_assert_eq(rt->calling[1], 1);
	cr_assert_str_eq(route(NP_TO_PBX, 0, "+4930150", "x"), "in-rest");
	cr_assert_str_eq(route(NP_TO_PBX, -1, "+4930150", "x"), "in-rest");
	/* number_in = to: the To user decides, not the R-URI's. */
	cr_assert_str_eq(route(NP_TO_PBX, 0, "999", "200"), "in-to");
	cr_assert_str_eq(route(NP_TO_PBX, 0, "200", "999"), "in-rest");
	cr_assert_str_eq(route(NP_TO_PBX, 0, "200", NULL), "in-rest");
	cr_assert_eq(numplan_route(np, NP_TO_CLOUD + 5, 0, "1", "1"), NULL);
}

Test(numplan, from_mask_and_unknown_source)
{
	cr_assert_eq(load("[route ab]\ndirection = to_cloud\n"
	    "from_pbx = pbx-a, pbx-c\ntrunk = t1\n[route b]\n"
	    "direction = to_cloud\nfrom_pbx = pbx-b\ntrunk = t2\n[route in]\n"
	    "direction = to_pbx\npbx = pbx-c\n", 3, 2), 0, "%s", err.why);
	cr_assert_eq(np->routes[0].from_mask, 5);
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "1", NULL), "ab");
	cr_assert_str_eq(route(NP_TO_CLOUD, 1, "1", NULL), "b");
	cr_assert_str_eq(route(NP_TO_CLOUD, 2, "1", NULL), "ab");
	cr_assert_str_eq(route(NP_TO_CLOUD, -1, "1", NULL), "(none)");
	cr_assert_str_eq(route(NP_TO_CLOUD, 40, "1", NULL), "(none)");
	cr_assert_str_eq(route(NP_TO_PBX, 1, "1", NULL), "in");
}

Test(numplan, non_numbers_take_only_any)
{
	cr_assert_eq(load("[route n]\ndirection = to_cloud\nnumber = 1*, 5\n"
	    "trunk = t1\n[route any]\ndirection = to_cloud\nnumber = 7, *\n"
	    "trunk = t2\n", 1, 2), 0, "%s", err.why);
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "123", NULL), "n");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "", NULL), "any");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, NULL, NULL), "any");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "1alice", NULL), "any");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, digits(64, "1"), NULL), "n");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, digits(65, "1"), NULL), "any");
	/* '+' is significant. */
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "+123", NULL), "any");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "5", NULL), "n");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "55", NULL), "any");
}

Test(numplan, range_edges)
{
	cr_assert_eq(load("[route r]\ndirection = to_cloud\n"
	    "number = +4930100-+4930199, 0100-0199\ntrunk = t1\n"
	    "[route rest]\ndirection = to_cloud\ntrunk = t2\n", 1, 2), 0,
	    "%s", err.why);
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "+4930100", NULL), "r");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "+4930199", NULL), "r");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "+4930099", NULL), "rest");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "+4930200", NULL), "rest");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "+49301000", NULL), "rest");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "+493010", NULL), "rest");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "4930150", NULL), "rest");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "0100", NULL), "r");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "0199", NULL), "r");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "0200", NULL), "rest");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "01#5", NULL), "rest");
	cr_assert_str_eq(route(NP_TO_CLOUD, 0, "+0150", NULL), "rest");
}

Test(numplan, route_keys_by_direction)
{
	static const struct {
		const char *text, *key, *why;
		int line;
	} bad[] = {
		{ "[route x]\ntrunk = t1\n", "direction",
		    "missing (to_cloud or to_pbx)", 1 },
		{ "[route x]\ndirection = up\n", "direction",
		    "\"up\": to_cloud or to_pbx", 2 },
		{ "[route x]\ndirection = to_cloud\n", "trunk",
		    "missing: a to_cloud route names its trunk", 1 },
		{ "[route x]\ndirection = to_pbx\n", "pbx",
		    "missing: a to_pbx route names its PBX", 1 },
		{ "[route x]\ndirection = to_pbx\npbx = pbx-a\nfrom_pbx = pbx-a\n",
		    "from_pbx", "not with direction = to_pbx", 4 },
		{ "[route x]\nfrom_trunk = t1\ndirection = to_cloud\n"
		    "trunk = t1\n", "from_trunk", "not with direction = to_cloud",
		    2 },
		{ "[route x]\ndirection = to_pbx\ntrunk = t1\n", "trunk",
		    "not with direction = to_pbx", 3 },
		{ "[route x]\ntrunk = t1\npbx = pbx-a\ndirection = to_cloud\n",
		    "pbx", "not with direction = to_cloud", 3 },
		{ "[route x]\nfrom_pbx = pbx-a\nfrom_trunk = t1\n"
		    "direction = to_pbx\npbx = pbx-a\n", "from_pbx",
		    "not with direction = to_pbx", 2 },
		{ "[route x]\nnumber_in = from\n", "number_in",
		    "\"from\": ruri or to", 2 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(np, 0, sizeof(*np));
		memset(&err, 0, sizeof(err));
		cr_assert_eq(load(bad[i].text, 1, 1), -1, "%zu", i);
		want_err(bad[i].line, "route x", bad[i].key, bad[i].why);
	}
}

Test(numplan, unknown_names)
{
	cr_assert_eq(load("[route x]\ndirection = to_cloud\ntrunk = t9\n", 1,
	    2), -1);
	want_err(3, "route x", "trunk", "unknown trunk \"t9\" (trunks: t1, t2)");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[route x]\ndirection = to_pbx\npbx = pbx-z\n", 3,
	    1), -1);
	want_err(3, "route x", "pbx",
	    "unknown PBX \"pbx-z\" (PBXs: pbx-a, pbx-b, pbx-c)");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[route x]\ndirection = to_cloud\ntrunk = t1\n"
	    "from_pbx = pbx-a, pbx-b\n", 1, 1), -1);
	want_err(4, "route x", "from_pbx",
	    "unknown PBX \"pbx-b\" (PBXs: pbx-a)");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[route x]\ndirection = to_cloud\ntrunk = t1\n"
	    "calling = nope\n", 1, 1), -1);
	want_err(4, "route x", "calling",
	    "unknown rule \"nope\" (rules: none)");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[rule a]\nstrip = 1\n[rule b]\nstrip = 2\n"
	    "[route x]\ndirection = to_cloud\ntrunk = t1\ncalled = a, c\n", 1,
	    1), -1);
	want_err(8, "route x", "called", "unknown rule \"c\" (rules: a, b)");
}

Test(numplan, direction_without_routes)
{
	/* One target each way: both implicit; an unused rule is fine. */
	cr_assert_eq(load("[rule unused]\nstrip = 1\n", 1, 1), 0);
	cr_assert_eq(numplan_implicit(np, NP_TO_CLOUD), 0);
	cr_assert_eq(numplan_implicit(np, NP_TO_PBX), 0);
	cr_assert_null(numplan_route(np, NP_TO_CLOUD, 0, "1", "1"));
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("", 1, 2), -1);
	want_err(0, "route", "direction",
	    "2 trunks and no [route] with direction = to_cloud");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[route x]\ndirection = to_cloud\ntrunk = t2\n", 3,
	    2), -1);
	want_err(0, "route", "direction",
	    "3 PBXs and no [route] with direction = to_pbx");
	memset(np, 0, sizeof(*np));
	cr_assert_eq(load("[route x]\ndirection = to_cloud\ntrunk = t2\n", 1,
	    2), 0);
	cr_assert_eq(numplan_implicit(np, NP_TO_CLOUD), -1);
	cr_assert_eq(numplan_implicit(np, NP_TO_PBX), 0);
}

Test(numplan, too_many_targets)
{
	const char *many[NP_MAX_TARGETS + 1];

	for (int i = 0; i <= NP_MAX_TARGETS; i++)
		many[i] = "p";
	cr_assert_eq(numplan_finish(np, many, NP_MAX_TARGETS + 1, trunks, 1,
	    &err), -1);
	want_err(0, "route", "", "at most 32 PBXs");
}

/* Shadowed routes */

/* Two to_cloud routes: a (first) and b, each given as extra keys. */
static int
pair(const char *a, const char *b)
{
	char text[1024];

	numplan_free(np);
	memset(np, 0, sizeof(*np));
	memset(&err, 0, sizeof(err));
	snprintf(text, sizeof(text), "[route a]\ndirection = to_cloud\n"
	    "trunk = t1\n%s\n[route b]\ndirection = to_cloud\ntrunk = t2\n%s\n"
	    "[route in]\ndirection = to_pbx\npbx = pbx-a\n", a, b);
	return load(text, 2, 2);
}

Test(numplan, shadowed)
{
	static const char *const cases[][2] = {
		{ "", "number = 1" },
		{ "number = *", "number = 1*" },
		{ "number = 5, *", "" },
		{ "number = 0*", "number = 01*" },
		{ "number = 0*", "number = 0*" },
		{ "number = 0*", "number = 0123" },
		{ "number = 0*", "number = 0100-0199" },
		{ "number = +49*", "number = +4930100-+4930199" },
		{ "number = 100-199", "number = 150" },
		{ "number = 100-199", "number = 100-199" },
		{ "number = 100-199", "number = 120-130" },
		{ "number = 123", "number = 123" },
		{ "number = 1*, 2*", "number = 2*, 11*" },
		{ "from_pbx = pbx-a, pbx-b", "from_pbx = pbx-b" },
		{ "", "from_pbx = pbx-b\nnumber = 1" },
		{ "number = 1\nnumber_in = to", "number = 1\nnumber_in = to" },
		{ "number_in = to", "number = 1" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(pair(cases[i][0], cases[i][1]), -1, "%zu: %s / %s",
		    i, cases[i][0], cases[i][1]);
		cr_assert_str_eq(err.why, "can never match: route \"a\" (line "
		    "1) takes every call it would");
		cr_assert_str_eq(err.section, "route b");
	}
	cr_assert_eq(pair("number = 0*", "number = 01*"), -1);
	want_err(8, "route b", "number",
	    "can never match: route \"a\" (line 1) takes every call it would");
	cr_assert_eq(pair("number = *", ""), -1);
	want_err(5, "route b", "",
	    "can never match: route \"a\" (line 1) takes every call it would");
}

Test(numplan, not_shadowed)
{
	static const char *const cases[][2] = {
		{ "number = 1", "" },
		{ "number = 1", "number = *" },
		{ "number = 01*", "number = 0*" },
		{ "number = 0*", "number = +0*" },
		{ "number = 0*", "number = 1*, 01*" },
		{ "number = 01*", "number = 0100-0299" },
		{ "number = 02*", "number = 0100-0299" },
		{ "number = 100-199", "number = 100-200" },
		{ "number = 100-199", "number = 099-150" },
		{ "number = 100-199", "number = 1000-1999" },
		{ "number = 100-199", "number = 15" },
		{ "number = 100-199", "number = 15*" },
		{ "number = 100-199", "number = 1*0" },
		{ "number = 123", "number = 1234" },
		{ "number = 123", "number = 12*" },
		{ "from_pbx = pbx-a", "" },
		{ "from_pbx = pbx-a", "from_pbx = pbx-b" },
		{ "from_pbx = pbx-a", "from_pbx = pbx-a, pbx-b" },
		{ "from_pbx = pbx-a, pbx-b", "number = 1" },
		{ "number = 1\nnumber_in = to", "number = 1" },
		{ "number = 1", "number = 1\nnumber_in = to" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(pair(cases[i][0], cases[i][1]), 0, "%zu: %s / %s: %s",
		    i, cases[i][0], cases[i][1], err.why);
}

Test(numplan, shadow_only_within_a_direction)
{
	cr_assert_eq(load("[route o]\ndirection = to_cloud\ntrunk = t1\n"
	    "[route i]\ndirection = to_pbx\npbx = pbx-a\n", 1, 1), 0);
	cr_assert_eq(numplan_implicit(np, NP_TO_CLOUD), -1);
}

/* numplan_print */

static char *
printed(void)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	cr_assert_not_null(f);
	numplan_print(np, pbxs, trunks, f);
	fclose(f);
	return buf;
}

Test(numplan, print)
{
	cr_assert_eq(load(two_way, 2, 2), 0);
	cr_assert_str_eq(printed(),
	    "route out-a: to_cloud from_pbx=pbx-a number=0*,+4930* (ruri) -> "
	    "trunk t1 (line 1)\n"
	    "route out-any: to_cloud number=* (ruri) -> trunk t2 (line 6)\n"
	    "route in-b: to_pbx from_trunk=t2 number=+4930100-+4930199 (ruri) "
	    "-> pbx pbx-b; called=fromE164 calling=fromE164,mark (line 9)\n"
	    "route in-to: to_pbx number=200 (to) -> pbx pbx-b (line 16)\n"
	    "route in-rest: to_pbx number=* (ruri) -> pbx pbx-a (line 21)\n"
	    "rule fromE164: from_e164 49, national_prefix \"0\", "
	    "international_prefix \"00\" (line 24)\n"
	    "rule mark: strip 0, prefix \"9\" (line 26)\n");
}

Test(numplan, print_implicit_and_rules)
{
	cr_assert_eq(load("[rule r]\nmatch = ^0(\\d+)$\nreplace = +49$1\n"
	    "only = 0*\n[rule e]\nto_e164 = 1\nnational_prefix =\n", 1, 1), 0);
	cr_assert_str_eq(printed(),
	    "route (implicit): to_cloud number=* -> trunk t1 (the only trunk)\n"
	    "route (implicit): to_pbx number=* -> pbx pbx-a (the only PBX)\n"
	    "rule r: match ^0(\\d+)$ replace +49$1, only 0* (line 1)\n"
	    "rule e: to_e164 1, national_prefix \"\", international_prefix "
	    "\"00\" (line 5)\n");
}

Test(numplan, finish_twice_and_free)
{
	cr_assert_eq(load("[rule r]\nmatch = ^0\nreplace = +49\n", 1, 1), 0);
	cr_assert_eq(numplan_finish(np, pbxs, 1, trunks, 1, &err), 0);
	cr_assert_str_eq(apply("r", "030"), "+4930");
	numplan_free(np);
	cr_assert_null(np->rules[0].re);
	cr_assert_null(np->rules[0].md);
}
