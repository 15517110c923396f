/* test_branch.c - our Via branches: made and recognised in one format. */
#include <criterion/criterion.h>

#include "branch.h"

Test(branch, each_kind_round_trips)
{
	static const int kinds[] = { BRANCH_TXN, BRANCH_UAC, BRANCH_ACK,
	    BRANCH_PING };
	char b[BRANCH_MAX];
	uint64_t id;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		uint64_t want = (uint64_t)3 << 32 | (i + 1) * 0x1234567;
		branch_make(b, "0badf00d", kinds[i], want);
		cr_assert(strncmp(b, "z9hG4bK", 7) == 0, "RFC 3261 magic cookie: %s", b);
		cr_assert_eq(branch_kind(b, "0badf00d", &id), kinds[i], "%s", b);
		cr_assert_eq(id, want, "%s", b);
	}
}

Test(branch, others_are_not_ours)
{
	char b[BRANCH_MAX];

	branch_make(b, "0badf00d", BRANCH_PING, 1);
	cr_assert_eq(branch_kind(b, "feedface", NULL), -1, "another process's");
	cr_assert_eq(branch_kind("z9hG4bK-sipp-1", "0badf00d", NULL), -1);
	cr_assert_eq(branch_kind("z9hG4bKtt0badf00d", "0badf00d", NULL), -1,
	    "no id");
	cr_assert_eq(branch_kind("z9hG4bKtt0badf00dq12", "0badf00d", NULL), -1,
	    "unknown kind");
	cr_assert_eq(branch_kind("z9hG4bKtt0badf00dh1g", "0badf00d", NULL), -1,
	    "not hex");
	cr_assert_eq(branch_kind(NULL, "0badf00d", NULL), -1);
}
