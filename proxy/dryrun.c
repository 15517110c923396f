/*
 * dryrun.c - `tlstrunk route -c FILE --from IP --to NUMBER`: a request
 * made up from the arguments goes through the number plan exactly as a
 * real one would (plan_apply, the same URI builders as route.c), and
 * what would be sent is printed.  No socket is opened.
 */
#include <stdio.h>
#include <string.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/su_alloc.h>

#include "cloud_uri.h"
#include "dryrun.h"
#include "netaddr.h"
#include "plan.h"

/* The request a PBX or a proxy would send, as text, then parsed. */
static msg_t *
dryrun_request(const struct dryrun_args *a)
{
	const char *calling = a->calling ? a->calling : "anonymous";
	char buf[2048];
	int n;

	n = snprintf(buf, sizeof(buf),
	    "INVITE sip:%s@dryrun.invalid SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-dryrun\r\n"
	    "From: <sip:%s@dryrun.invalid>;tag=dryrun\r\n"
	    "To: <sip:%s@dryrun.invalid>\r\n"
	    "%s%s%s"
	    "Call-ID: dryrun\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
	    "Content-Length: 0\r\n\r\n", a->to, calling, a->to,
	    a->calling ? "P-Asserted-Identity: <sip:" : "",
	    a->calling ? a->calling : "",
	    a->calling ? "@dryrun.invalid>\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return msg_make(sip_default_mclass(), 0, buf, (size_t)n);
}

static void
dryrun_header(FILE *out, const char *key, msg_t *msg, sip_header_t *h)
{
	char *s;

	if (h == NULL || (s = sip_header_as_string(msg_home(msg), h)) == NULL)
		return;
	fprintf(out, "%s: %s\n", key, s);
}

static void
dryrun_pai(FILE *out, sip_t *sip)
{
	for (sip_unknown_t *un = sip->sip_unknown; un != NULL; un = un->un_next)
		if (un->un_name != NULL &&
		    strcasecmp(un->un_name, "P-Asserted-Identity") == 0)
			fprintf(out, "p-asserted-identity: %s\n", un->un_value);
}

/* The Request-URI the call would leave with. */
static int
dryrun_ruri(const struct config *cfg, int dir, int target, sip_t *sip,
    char *uri, size_t len)
{
	const char *user = sip->sip_request->rq_url->url_user;
	const struct cfg_cloud *tc;

	if (dir == NP_TO_PBX)
		return plan_pbx_uri(&cfg->pbxs[target], user, uri, len);
	tc = &cfg->trunks[target];
	/* The first proxy stands for whichever takes the call. */
	return cloud_uri_format(uri, len, user ? user : "", tc->tgrp,
	    tc->trunk_context, tc->nhosts > 0 ? tc->hosts[0] : tc->domain,
	    tc->port);
}

/* Which PBX or trunk the source is, by the same tables as a real call. */
static int
dryrun_source(const struct config *cfg, const struct sockaddr *sa, int *dir)
{
	int pbx = config_pbx_find(cfg, sa);

	if (*dir == -1)
		*dir = pbx >= 0 ? NP_TO_CLOUD : NP_TO_PBX;
	return *dir == NP_TO_CLOUD ? pbx : config_trunk_by_source(cfg, sa);
}

int
dryrun_run(const struct config *cfg, const struct dryrun_args *a, FILE *out)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct plan_choice pc;
	char uri[1024];
	msg_t *msg;
	sip_t *sip;
	int dir = a->dir, src, rc = 1;

	if (netaddr_to_sockaddr(a->from, 5060, &ss, &sslen) < 0) {
		fprintf(stderr, "tlstrunk route: --from \"%s\" is not an IP "
		    "address\n", a->from);
		return 2;
	}
	src = dryrun_source(cfg, (struct sockaddr *)&ss, &dir);
	fprintf(out, "direction: %s\n", dir == NP_TO_CLOUD ? "to_cloud" :
	    "to_pbx");
	if (dir == NP_TO_CLOUD && src < 0) {
		fprintf(out, "source: %s is in no [pbx] allow\nroute: none\n"
		    "answer: 403 Forbidden\n", a->from);
		return 1;
	}
	fprintf(out, "source: %s %s\n", dir == NP_TO_CLOUD ? "pbx" : "trunk",
	    src < 0 ? "(none)" : dir == NP_TO_CLOUD ? cfg->pbxs[src].name :
	    cfg->trunks[src].name);
	if ((msg = dryrun_request(a)) == NULL || (sip = sip_object(msg)) ==
	    NULL || sip->sip_request == NULL) {
		fprintf(stderr, "tlstrunk route: \"%s\" cannot be a SIP user\n",
		    a->to);
		rc = 2;
		goto done;
	}
	if (plan_apply(cfg, msg, sip, dir, src, &pc) < 0) {
		fprintf(out, "route: none\nanswer: 404 Not Found\n");
		if (pc.failed != NULL)
			fprintf(out, "refused-by-rule: %s\n", pc.failed);
		goto done;
	}
	fprintf(out, "route: %s\n", pc.route ? pc.route->name : "(only one "
	    "target)");
	fprintf(out, "%s: %s\n", dir == NP_TO_CLOUD ? "trunk" : "pbx",
	    dir == NP_TO_CLOUD ? cfg->trunks[pc.target].name :
	    cfg->pbxs[pc.target].name);
	fprintf(out, "rules: %s\n", pc.applied[0] ? pc.applied : "(none)");
	if (dryrun_ruri(cfg, dir, pc.target, sip, uri, sizeof(uri)) >= 0)
		fprintf(out, "request-uri: %s\n", uri);
	dryrun_header(out, "to", msg, (sip_header_t *)sip->sip_to);
	dryrun_header(out, "from", msg, (sip_header_t *)sip->sip_from);
	dryrun_pai(out, sip);
	rc = 0;
done:
	if (msg != NULL)
		msg_destroy(msg);
	return rc;
}
