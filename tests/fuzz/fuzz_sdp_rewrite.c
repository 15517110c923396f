/*
 * fuzz_sdp_rewrite.c - libFuzzer target: sdp_inspect() then
 * sdp_rewrite() with a fixed edit on any input; checks that whatever
 * the rewrite accepts comes out as SDP that says what the edit asked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp_rewrite.h"

#define OUR4	"203.0.113.5"
#define OUR6	"2001:db8::5"
#define KEY1	"1 AES_CM_128_HMAC_SHA1_80 " \
	"inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4"
#define KEY2	"2 AES_CM_128_HMAC_SHA1_32 " \
	"inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:4"

static struct sdp_info in, out;

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "check failed: %s (line %d)\n", #c,	\
		    __LINE__);						\
		abort();						\
	}								\
} while (0)

/*
 * Keep the RTP m= lines, alternately as SAVP with two keys and AVP
 * without, on IPv4 and IPv6; reject the others.
 */
static void
edit_make(const struct sdp_info *info, struct sdp_edit *e)
{
	int i;

	memset(e, 0, sizeof(*e));
	e->nmedia = info->nmedia;
	e->origin_addr = OUR4;
	for (i = 0; i < info->nmedia; i++) {
		struct sdp_media_edit *me = &e->m[i];

		me->keep = info->m[i].proto != SDP_PROTO_OTHER;
		me->proto = i % 2 ? SDP_PROTO_AVP : SDP_PROTO_SAVP;
		strcpy(me->addr, i % 3 == 2 ? OUR6 : OUR4);
		me->port = i == 1 ? 65535 : 20000 + 2 * (unsigned)i;
		if (me->proto == SDP_PROTO_SAVP) {
			me->crypto[0] = KEY1;
			me->crypto[1] = KEY2;
			me->ncrypto = 2;
		}
	}
}

/* sdp holds the line "a=crypto:<v>", v not one of ours. */
static int
crypto_line(const char *sdp, const char *v)
{
	char line[SDP_CRYPTO_LEN + 16];

	if (strcmp(v, KEY1) == 0 || strcmp(v, KEY2) == 0)
		return 0;
	snprintf(line, sizeof(line), "\na=crypto:%s\r\n", v);
	return strstr(sdp, line) != NULL;
}

static void
result_check(const struct sdp_edit *e, const char *sdp, size_t len)
{
	int i;

	CHECK(strlen(sdp) == len);
	CHECK(sdp_inspect(sdp, len, &out) == 0);
	CHECK(out.nmedia == e->nmedia);
	for (i = 0; i < e->nmedia; i++) {
		const struct sdp_media_edit *me = &e->m[i];
		const struct sdp_media_info *mi = &out.m[i];

		CHECK(mi->ncrypto == me->ncrypto);
		CHECK(mi->ncrypto == 0 || strcmp(mi->crypto[0], KEY1) == 0);
		CHECK(mi->audio == in.m[i].audio);
		CHECK(mi->rtcp_mux == in.m[i].rtcp_mux);
		CHECK(mi->dir == in.m[i].dir);
		if (!me->keep) {
			CHECK(mi->port == 0);
			CHECK(mi->rtcp_port == 0);
			continue;
		}
		CHECK(mi->port == me->port);
		CHECK(mi->proto == me->proto);
		CHECK(strcmp(mi->addr, me->addr) == 0);
		CHECK(mi->rtcp_port == 0 || mi->rtcp_port == me->port + 1);
		CHECK(in.m[i].rtcp_port == 0 || me->port == 65535 ||
		    mi->rtcp_port == me->port + 1);
	}
	/* No key of the other leg is left. */
	CHECK(strstr(sdp, "\nk=") == NULL);
	for (i = 0; i < in.nmedia; i++)
		for (int k = 0; k < in.m[i].ncrypto; k++)
			CHECK(!crypto_line(sdp, in.m[i].crypto[k]));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_edit e;
	char *sdp, *again;
	size_t len, len2;

	if (sdp_inspect((const char *)data, size, &in) != 0) {
		/*
		 * Refused, or only too many or too long keys for
		 * sdp_media_info, which the rewrite replaces: try it.
		 */
		memset(&in, 0, sizeof(in));
		edit_make(&in, &e);
		for (int i = 0; i < SDP_MAX_MEDIA; i++)
			e.m[i].keep = 1;
		for (e.nmedia = 0; e.nmedia <= SDP_MAX_MEDIA; e.nmedia++) {
			sdp = sdp_rewrite((const char *)data, size, &e, &len);
			free(sdp);
		}
		return 0;
	}
	edit_make(&in, &e);
	if ((sdp = sdp_rewrite((const char *)data, size, &e, &len)) == NULL)
		return 0;
	result_check(&e, sdp, len);
	/* Our own output goes through unchanged. */
	again = sdp_rewrite(sdp, len, &e, &len2);
	CHECK(again != NULL && len2 == len && memcmp(again, sdp, len) == 0);
	free(again);
	free(sdp);
	return 0;
}
