/* admission.c - what one source may do, kept in a map by IP address. */
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "dialog.h"
#include "netaddr.h"
#include "txn.h"

#define LIMITS_MAX_SOURCES	65536	/* beyond: forget idle sources */

struct source {
	int calls;			/* concurrent */
	double tokens;			/* new calls allowed right now */
	uint64_t filled_at;		/* ms of the last refill */
	uint64_t logged_at;		/* ms of the last refusal log line */
	unsigned suppressed;
};

int
admission_init(struct proxy *px)
{
	return strmap_init(&px->sources, 256);
}

void
admission_free(struct proxy *px)
{
	for (size_t i = 0; i < px->sources.nbuckets; i++)
		for (struct strmap_entry *e = px->sources.buckets[i]; e; e = e->next)
			free(e->val);
	strmap_free(&px->sources);
}

const char *
admission_ip(const struct sockaddr *sa, char *buf, size_t len)
{
	uint16_t port;

	if (netaddr_ip_port(sa, buf, len, &port) < 0)
		snprintf(buf, len, "?");
	return buf;
}

/* Drop sources with nothing going on, when the map grows too big
 * (a flood of one-off sources must not grow memory without bound). */
static void
admission_prune(struct proxy *px)
{
	for (size_t i = 0; i < px->sources.nbuckets; i++) {
		struct strmap_entry *e = px->sources.buckets[i], *next;
		for (; e != NULL; e = next) {
			struct source *s = e->val;
			next = e->next;
			if (s->calls == 0) {
				free(strmap_del(&px->sources, e->key));
			}
		}
	}
}

static struct source *
admission_source(struct proxy *px, const char *ip)
{
	struct source *s = strmap_get(&px->sources, ip);

	if (s != NULL)
		return s;
	if (px->sources.count >= LIMITS_MAX_SOURCES)
		admission_prune(px);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->tokens = px->cfg->limits.max_cps_per_source;
	s->filled_at = uv_now(px->loop);
	if (strmap_put(&px->sources, ip, s) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

int
admission_call_check(struct proxy *px, const struct sockaddr *src, const char **why)
{
	const struct config *cfg = px->cfg;
	uint64_t now = uv_now(px->loop);
	double rate = cfg->limits.max_cps_per_source;
	struct source *s;
	char ip[64];

	if ((int)dialog_count(px) >= cfg->limits.max_calls) {
		*why = "max_calls reached";
		return 503;
	}
	/* The next hop (or we) fall behind: refuse at once what would only
	 * time out, and keep the calls already on their way. */
	if (txn_unanswered(px) >= cfg->limits.max_unanswered_invites) {
		*why = "overload: max_unanswered_invites INVITEs wait for a first answer";
		return 503;
	}
	if ((s = admission_source(px, admission_ip(src, ip, sizeof(ip)))) == NULL) {
		*why = "out of memory";
		return 503;
	}
	/* Token bucket: rate per second, a burst of one second's worth. */
	s->tokens += rate * (double)(now - s->filled_at) / 1000.0;
	if (s->tokens > rate)
		s->tokens = rate;
	s->filled_at = now;
	if (s->calls >= cfg->limits.max_calls_per_source) {
		*why = "max_calls_per_source reached";
		return 503;
	}
	if (s->tokens < 1.0) {
		*why = "max_cps_per_source exceeded";
		return 503;
	}
	s->tokens -= 1.0;
	return 0;
}

void
admission_call_start(struct proxy *px, const char *ip)
{
	struct source *s = admission_source(px, ip);

	if (s != NULL)
		s->calls++;
}

void
admission_call_end(struct proxy *px, const char *ip)
{
	struct source *s = strmap_get(&px->sources, ip);

	if (s != NULL && s->calls > 0)
		s->calls--;
}

int
admission_log_due(struct proxy *px, const struct sockaddr *src, unsigned *suppressed)
{
	uint64_t now = uv_now(px->loop);
	struct source *s;
	char ip[64];

	if ((s = admission_source(px, admission_ip(src, ip, sizeof(ip)))) == NULL)
		return 0;
	if (s->logged_at != 0 && now - s->logged_at < 60000) {
		s->suppressed++;
		return 0;
	}
	*suppressed = s->suppressed;
	s->suppressed = 0;
	s->logged_at = now;
	return 1;
}
