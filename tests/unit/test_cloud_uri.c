/* test_cloud_uri.c - Request-URI toward the cloud (RFC 4904). */
#include <string.h>

#include <criterion/criterion.h>

#include "cloud_uri.h"

#define HOST	"lb01.voice.use1.pure.cloud"
#define CTX	"myorg.byoc.example.com"

static char buf[512];

static int
fmt(const char *user)
{
	return cloud_uri_format(buf, sizeof(buf), user, "MyTrunk", CTX, HOST,
	    5061);
}

Test(cloud_uri, spec_example)
{
	const char *want = "sip:+13175550100;tgrp=MyTrunk;trunk-context="
	    CTX "@lb01.voice.use1.pure.cloud:5061;transport=tls";

	cr_assert_eq(fmt("+13175550100"), (int)strlen(want));
	cr_assert_str_eq(buf, want);
}

Test(cloud_uri, spec_example_literal_namespace)
{
	int n = cloud_uri_format(buf, sizeof(buf), "+13175550100", "MyTrunk",
	    "<namespace>", HOST, 5061);

	cr_assert_str_eq(buf, "sip:+13175550100;tgrp=MyTrunk;trunk-context="
	    "<namespace>@lb01.voice.use1.pure.cloud:5061;transport=tls");
	cr_assert_eq(n, (int)strlen(buf));
}

Test(cloud_uri, replaces_existing_trunk_params)
{
	fmt("+13175550100;tgrp=Old;trunk-context=old.example.com");
	cr_assert_str_eq(buf, "sip:+13175550100;tgrp=MyTrunk;trunk-context="
	    CTX "@" HOST ":5061;transport=tls");

	/* Parameter names compare case-insensitively; one of each is left. */
	fmt("+13175550100;TGRP=a;tgrp=b;Trunk-Context=c");
	cr_assert_str_eq(buf, "sip:+13175550100;tgrp=MyTrunk;trunk-context="
	    CTX "@" HOST ":5061;transport=tls");
	cr_assert_null(strstr(buf + 20, "tgrp=MyTrunk;tgrp"));
}

Test(cloud_uri, keeps_other_user_params)
{
	fmt("+13175550100;isub=1234;tgrp=Old;tgrpx=keep;");
	cr_assert_str_eq(buf, "sip:+13175550100;tgrp=MyTrunk;trunk-context="
	    CTX ";isub=1234;tgrpx=keep@" HOST ":5061;transport=tls");
}

Test(cloud_uri, user_kept_verbatim)
{
	fmt("%2B1317%20555");
	cr_assert_str_eq(buf, "sip:%2B1317%20555;tgrp=MyTrunk;trunk-context="
	    CTX "@" HOST ":5061;transport=tls");
}

Test(cloud_uri, rejects_bad_users)
{
	const char *bad[] = { "", "a@b", "a b", "a\tb", "<a", "a>", "a\"b",
		"a\x01z", "a\x7fz", "a\r\nb", ";tgrp=x", NULL };

	for (int i = 0; bad[i] != NULL; i++) {
		strcpy(buf, "junk");
		cr_assert_eq(fmt(bad[i]), -1, "accepted \"%s\"", bad[i]);
		cr_assert_str_eq(buf, "");
	}
	cr_assert_eq(fmt(NULL), -1);
}

Test(cloud_uri, rejects_missing_parts)
{
	cr_assert_eq(cloud_uri_format(buf, sizeof(buf), "1", "", CTX, HOST,
	    5061), -1);
	cr_assert_eq(cloud_uri_format(buf, sizeof(buf), "1", "t", "", HOST,
	    5061), -1);
	cr_assert_eq(cloud_uri_format(buf, sizeof(buf), "1", "t", CTX, "",
	    5061), -1);
	cr_assert_eq(cloud_uri_format(buf, sizeof(buf), "1", "t", CTX, HOST,
	    0), -1);
	cr_assert_eq(cloud_uri_format(buf, sizeof(buf), "1", NULL, CTX, HOST,
	    5061), -1);
	cr_assert_eq(cloud_uri_format(NULL, 10, "1", "t", CTX, HOST, 5061), -1);
	cr_assert_eq(cloud_uri_format(buf, 0, "1", "t", CTX, HOST, 5061), -1);
}

Test(cloud_uri, truncation)
{
	char small[128];
	int need = fmt("+13175550100");

	cr_assert_gt(need, 0);
	cr_assert_lt(need, (int)sizeof(small));
	/* Exactly enough: length plus NUL. */
	cr_assert_eq(cloud_uri_format(small, (size_t)need + 1, "+13175550100",
	    "MyTrunk", CTX, HOST, 5061), need);
	cr_assert_str_eq(small, buf);
	/* One byte short: nothing half-written. */
	cr_assert_eq(cloud_uri_format(small, (size_t)need, "+13175550100",
	    "MyTrunk", CTX, HOST, 5061), -1);
	cr_assert_str_eq(small, "");
	cr_assert_eq(cloud_uri_format(small, 5, "+13175550100", "MyTrunk", CTX,
	    HOST, 5061), -1);
	cr_assert_str_eq(small, "");
}

Test(cloud_uri, ipv6_host_bracketed)
{
	cloud_uri_format(buf, sizeof(buf), "100", "T", "c", "2001:db8::1", 5061);
	cr_assert_str_eq(buf,
	    "sip:100;tgrp=T;trunk-context=c@[2001:db8::1]:5061;transport=tls");
}
