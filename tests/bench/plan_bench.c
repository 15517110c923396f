/*
 * plan_bench.c - what the number plan adds to one call, without the
 * noise of a whole call: sip_bench's INVITE parsed, routed and rewritten
 * (plan_apply, as route.c does) and printed, against the same INVITE
 * parsed and printed only, in alternating rounds on this process's CPU
 * clock.  plan_bench CONFIG [ROUNDS] prints the medians in ns per INVITE.
 * Run by tests/bench/plan_bench.sh, which writes the configurations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include "config.h"
#include "log.h"
#include "plan.h"
#include "sipmsg.h"

#define PER_ROUND	20000

/* sip_bench_uac.xml's INVITE as tlstrunk receives it. */
static const char invite[] =
    "INVITE sip:+13175550100@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.2:5090;branch=z9hG4bK-1;rport\r\n"
    "From: \"PBX\" <sip:1000@127.0.0.2:5090>;tag=1SIPpTag001\r\n"
    "To: <sip:+13175550100@127.0.0.1:5060>\r\n"
    "Call-ID: 1-1@127.0.0.2\r\nCSeq: 1 INVITE\r\n"
    "Contact: <sip:1000@127.0.0.2:5090;transport=UDP>\r\n"
    "Max-Forwards: 70\r\nAllow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"
    "Subject: tlstrunk benchmark call\r\n"
    "Content-Type: application/sdp\r\nContent-Length: 129\r\n\r\n"
    "v=0\r\no=pbx 53655765 2353687637 IN IP4 127.0.0.2\r\ns=-\r\n"
    "c=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

static double
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One round: ns per INVITE, with or without the plan. */
static double
round_ns(const struct config *cfg, int with_plan)
{
	struct plan_choice pc;
	double t0 = cpu_ns();
	size_t len;

	for (int i = 0; i < PER_ROUND; i++) {
		msg_t *m = msg_make(sip_default_mclass(), 0, invite,
		    sizeof(invite) - 1);
		sip_t *sip = sip_object(m);
		char *buf;
		if (with_plan && plan_apply(cfg, m, sip, NP_TO_CLOUD, 0,
		    &pc) < 0) {
			fprintf(stderr, "plan_bench: no route took the call\n");
			exit(1);
		}
		if ((buf = sipmsg_print(m, &len)) == NULL)
			exit(1);
		free(buf);
		msg_destroy(m);
	}
	return (cpu_ns() - t0) / PER_ROUND;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	int rounds = argc > 2 ? atoi(argv[2]) : 15;
	double *base, *plan;
	char err[1024];

	if (argc < 2 || rounds < 1) {
		fprintf(stderr, "usage: plan_bench CONFIG [ROUNDS]\n");
		return 2;
	}
	log_init(LOG_ERROR, 0);
	if (config_load(&cfg, argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	base = calloc((size_t)rounds, sizeof(*base));
	plan = calloc((size_t)rounds, sizeof(*plan));
	if (base == NULL || plan == NULL)
		return 1;
	for (int r = 0; r < rounds; r++) {
		base[r] = round_ns(&cfg, 0);
		plan[r] = round_ns(&cfg, 1);
	}
	qsort(base, (size_t)rounds, sizeof(*base), cmp_double);
	qsort(plan, (size_t)rounds, sizeof(*plan), cmp_double);
	printf("parse+print %.0f ns, parse+route+rewrite+print %.0f ns: "
	    "the plan adds %.0f ns per INVITE (median of %d rounds of %d)\n",
	    base[rounds / 2], plan[rounds / 2],
	    plan[rounds / 2] - base[rounds / 2], rounds, PER_ROUND);
	free(base);
	free(plan);
	config_free(&cfg);
	return 0;
}
