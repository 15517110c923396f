/*
 * plan.c - route a new call by the number plan and rewrite its numbers.
 * Only the user part of each URI changes; a header whose user is no
 * number (numplan_is_number) is left as it came.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/su_alloc.h>

#include "plan.h"

/* Apply rules to one URL's user, in place (a copy in msg's home). */
static int
plan_url(const struct config *cfg, msg_t *msg, url_t *u, const int *rules,
    int n, char *applied, size_t alen, const char **failed)
{
	char num[NP_NUM_MAX];
	char *copy;

	if (u == NULL || u->url_user == NULL || n == 0 ||
	    strlen(u->url_user) >= sizeof(num))
		return 0;
	memcpy(num, u->url_user, strlen(u->url_user) + 1);
	if (numplan_apply(&cfg->plan, rules, n, num, sizeof(num), applied,
	    alen, failed) < 0)
		return -EINVAL;
	if (strcmp(num, u->url_user) == 0)
		return 0;
	if ((copy = su_strdup(msg_home(msg), num)) == NULL)
		return -ENOMEM;
	u->url_user = copy;
	return 1;
}

/* A header's URL rewritten: its printed form must be made again. */
static int
plan_header(const struct config *cfg, msg_t *msg, sip_header_t *h, url_t *u,
    const int *rules, int n, char *applied, size_t alen,
    const char **failed)
{
	int r;

	if (h == NULL)
		return 0;
	if ((r = plan_url(cfg, msg, u, rules, n, applied, alen, failed)) > 0)
		msg_fragment_clear(h->sh_common);
	return r < 0 ? r : 0;
}

/*
 * P-Asserted-Identity is no header sofia's default class parses: each one
 * is parsed here with its own class, rewritten and put back as text.
 */
static int
plan_pai(const struct config *cfg, msg_t *msg, sip_t *sip, const int *rules,
    int n, char *applied, size_t alen, const char **failed)
{
	for (sip_unknown_t *un = sip->sip_unknown; un != NULL; un = un->un_next) {
		sip_p_asserted_identity_t *pai;
		char *s;
		int r = 0;
		if (un->un_name == NULL ||
		    strcasecmp(un->un_name, "P-Asserted-Identity") != 0)
			continue;
		pai = sip_p_asserted_identity_make(msg_home(msg), un->un_value);
		for (sip_p_asserted_identity_t *p = pai; p && r >= 0; p = p->paid_next)
			r = plan_url(cfg, msg, p->paid_url, rules, n, applied,
			    alen, failed);
		if (r < 0)
			return r;
		if (pai == NULL || (s = sip_header_as_string(msg_home(msg),
		    (sip_header_t *)pai)) == NULL)
			continue;
		un->un_value = s;
		msg_fragment_clear(un->un_common);
	}
	return 0;
}

static void
plan_note(struct plan_choice *pc, const char *what, const char *names)
{
	size_t n = strlen(pc->applied);

	if (names[0] != '\0')
		snprintf(pc->applied + n, sizeof(pc->applied) - n, "%s%s:%s",
		    n ? " " : "", what, names);
}

/* The route's rules on the called number (R-URI, To), then the caller's. */
static int
plan_rewrite(const struct config *cfg, msg_t *msg, sip_t *sip,
    const struct np_route *rt, struct plan_choice *pc)
{
	char called[128] = "", calling[128] = "";
	int r;

	if ((r = plan_url(cfg, msg, (url_t *)sip->sip_request->rq_url,
	    rt->called, rt->ncalled, called, sizeof(called), &pc->failed)) < 0)
		return r;
	if (r > 0)
		msg_fragment_clear(sip->sip_request->rq_common);
	if ((r = plan_header(cfg, msg, (sip_header_t *)sip->sip_to,
	    sip->sip_to ? sip->sip_to->a_url : NULL, rt->called, rt->ncalled,
	    called, sizeof(called), &pc->failed)) < 0 ||
	    (r = plan_header(cfg, msg, (sip_header_t *)sip->sip_from,
	    sip->sip_from ? sip->sip_from->a_url : NULL, rt->calling,
	    rt->ncalling, calling, sizeof(calling), &pc->failed)) < 0 ||
	    (r = plan_pai(cfg, msg, sip, rt->calling, rt->ncalling, calling,
	    sizeof(calling), &pc->failed)) < 0)
		return r;
	plan_note(pc, "called", called);
	plan_note(pc, "calling", calling);
	return 0;
}

int
plan_apply(const struct config *cfg, msg_t *msg, sip_t *sip, int dir,
    int src, struct plan_choice *pc)
{
	const char *ruser = sip->sip_request->rq_url->url_user;
	const char *tuser = sip->sip_to && sip->sip_to->a_url->url_user ?
	    sip->sip_to->a_url->url_user : "";

	memset(pc, 0, sizeof(*pc));
	snprintf(pc->number, sizeof(pc->number), "%s", ruser ? ruser : "");
	if ((pc->target = numplan_implicit(&cfg->plan, dir)) >= 0)
		return 0;
	pc->route = numplan_route(&cfg->plan, dir, src, ruser ? ruser : "",
	    tuser);
	if (pc->route == NULL)
		return -ENOENT;
	if (pc->route->number_in == NP_IN_TO)
		snprintf(pc->number, sizeof(pc->number), "%s", tuser);
	pc->target = pc->route->target;
	return plan_rewrite(cfg, msg, sip, pc->route, pc);
}

int
plan_pbx_uri(const struct cfg_pbx *pbx, const char *user, char *buf,
    size_t len)
{
	char host[80];
	int n;

	/* An IPv6 literal needs its brackets back inside a URI. */
	snprintf(host, sizeof(host), strchr(pbx->address.host, ':') ?
	    "[%s]" : "%s", pbx->address.host);
	n = snprintf(buf, len, "sip:%s%s%s:%u%s", user ? user : "",
	    user ? "@" : "", host, pbx->address.port,
	    pbx->address_transport == CFG_TP_TCP ? ";transport=tcp" : "");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
