/* cloud_uri.c - Request-URI toward the cloud (RFC 4904 tgrp). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cloud_uri.h"

struct uri_buf {
	char	*buf;
	size_t	 len;
	size_t	 off;
	int	 overflow;
};

static void
ub_add(struct uri_buf *ub, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ub_add(struct uri_buf *ub, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ub->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(ub->buf + ub->off, ub->len - ub->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= ub->len - ub->off)
		ub->overflow = 1;
	else
		ub->off += (size_t)n;
}

/*
 * Characters that would end or corrupt the user part or the header the
 * URI goes into; the PBX's escaping is otherwise kept as it was.
 */
static int
user_valid(const char *user)
{
	const unsigned char *p;

	if (user == NULL || *user == '\0' || *user == ';')
		return 0;
	for (p = (const unsigned char *)user; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '@' || *p == '<' ||
		    *p == '>' || *p == '"')
			return 0;
	return 1;
}

/* The parameter at p (n bytes, no ';') is one we set ourselves. */
static int
param_is_ours(const char *p, size_t n)
{
	static const char *const ours[] = { "tgrp", "trunk-context", NULL };

	for (int i = 0; ours[i] != NULL; i++) {
		size_t k = strlen(ours[i]);
		if (n >= k && strncasecmp(p, ours[i], k) == 0 &&
		    (n == k || p[k] == '='))
			return 1;
	}
	return 0;
}

/* Copy the user's parameters after the first ';', minus ours. */
static void
add_other_params(struct uri_buf *ub, const char *params)
{
	const char *p = params, *end;
	size_t n;

	while (p != NULL && *p != '\0') {
		end = strchr(p, ';');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n > 0 && !param_is_ours(p, n))
			ub_add(ub, ";%.*s", (int)n, p);
		p = end ? end + 1 : NULL;
	}
}

int
cloud_uri_format(char *buf, size_t len, const char *user, const char *tgrp,
    const char *trunk_context, const char *host, uint16_t port)
{
	struct uri_buf ub = { buf, len, 0, 0 };
	const char *params;
	size_t ulen;
	int v6;

	if (buf == NULL || len == 0)
		return -1;
	buf[0] = '\0';
	if (!user_valid(user) || tgrp == NULL || *tgrp == '\0' ||
	    trunk_context == NULL || *trunk_context == '\0' ||
	    host == NULL || *host == '\0' || port == 0)
		return -1;

	params = strchr(user, ';');
	ulen = params ? (size_t)(params - user) : strlen(user);
	/* An IPv6 literal host needs brackets (RFC 3261 hostport). */
	v6 = strchr(host, ':') != NULL && host[0] != '[';

	ub_add(&ub, "sip:%.*s;tgrp=%s;trunk-context=%s", (int)ulen, user,
	    tgrp, trunk_context);
	add_other_params(&ub, params);
	ub_add(&ub, "@%s%s%s:%u;transport=tls", v6 ? "[" : "", host,
	    v6 ? "]" : "", port);
	if (ub.overflow) {
		buf[0] = '\0';
		return -1;
	}
	return (int)ub.off;
}
