/* test_regions.c - the built-in region table. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "regions.h"

static const char *const all_regions[] = {
	"use1", "use2", "usw2", "cac1", "sae1", "euw1", "euw2", "euc1",
	"euc2", "mec1", "apne1", "apne2", "apne3", "apse2", "aps1", NULL
};

Test(regions, all_fifteen_valid)
{
	int n = 0;

	for (int i = 0; all_regions[i] != NULL; i++, n++)
		cr_assert(region_valid(all_regions[i]), "%s", all_regions[i]);
	cr_assert_eq(n, 15);
}

Test(regions, names_list_matches)
{
	const char *const *names = region_names();
	int n = 0;

	for (; names[n] != NULL; n++)
		cr_assert_str_eq(names[n], all_regions[n]);
	cr_assert_eq(n, 15);
}

Test(regions, hosts_of_every_region)
{
	char buf[128], want[128];

	for (int i = 0; all_regions[i] != NULL; i++) {
		if (strcmp(all_regions[i], "use2") == 0)
			continue;
		for (int n = 1; n <= REGION_NHOSTS; n++) {
			snprintf(want, sizeof(want), "lb0%d.voice.%s.pure.cloud",
			    n, all_regions[i]);
			cr_assert_eq(region_host(all_regions[i], n, buf,
			    sizeof(buf)), 0);
			cr_assert_str_eq(buf, want);
		}
	}
}

Test(regions, use2_is_gov_cloud)
{
	char buf[128];

	cr_assert_eq(region_host("use2", 1, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "lb01.voice.use2.us-gov-pure.cloud");
	cr_assert_eq(region_host("use2", 4, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "lb04.voice.use2.us-gov-pure.cloud");
}

Test(regions, invalid_region)
{
	char buf[128];
	const char *bad[] = { "use3", "USE1", "", "use1 ", "euw2x", "eu-west-1",
		NULL };

	for (int i = 0; bad[i] != NULL; i++) {
		cr_assert_not(region_valid(bad[i]), "%s", bad[i]);
		cr_assert_eq(region_host(bad[i], 1, buf, sizeof(buf)), -1);
	}
	cr_assert_not(region_valid(NULL));
	cr_assert_eq(region_host(NULL, 1, buf, sizeof(buf)), -1);
}

Test(regions, bad_index_and_small_buffer)
{
	char buf[128], small[10];

	cr_assert_eq(region_host("use1", 0, buf, sizeof(buf)), -1);
	cr_assert_eq(region_host("use1", 5, buf, sizeof(buf)), -1);
	cr_assert_eq(region_host("use1", 1, small, sizeof(small)), -1);
	cr_assert_str_eq(small, "");
	/* Exactly enough room. */
	cr_assert_eq(region_host("use1", 1, buf,
	    strlen("lb01.voice.use1.pure.cloud") + 1), 0);
}
