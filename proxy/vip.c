/*
 * vip.c - the kernel tells us (RTM_NEWADDR / RTM_DELADDR) that addresses
 * changed; we then ask whether ours is local now (a bind).
 * Events are few (an address moves a few times a year), so the simple
 * look beats parsing every message.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "log.h"
#include "netaddr.h"
#include "vip.h"

/*
 * The kernel's own answer: a socket binds an address without IP_FREEBIND
 * only when it is local (an interface's, or in a local route such as
 * 127.0.0.0/8 on lo).
 */
int
vip_is_local(const struct sockaddr *sa)
{
	struct sockaddr_storage ss;
	socklen_t len = sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd, ok;

	memcpy(&ss, sa, len);
	if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	else
		((struct sockaddr_in *)&ss)->sin_port = 0;
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
	close(fd);
	return ok;
}

static void
vip_check(struct vip *v)
{
	int held = vip_is_local((struct sockaddr *)&v->addr);

	if (held == v->held)
		return;
	v->held = held;
	v->on_change(v->ctx, held);
}

static void
vip_on_readable(uv_poll_t *h, int status, int events)
{
	struct vip *v = h->data;
	char buf[8192];

	/* Drain what is queued (the content does not matter), then look.
	 * ENOBUFS: events were lost; looking covers them too. */
	while (recv(v->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0 || errno == ENOBUFS)
		;
	vip_check(v);
}

int
vip_watch(struct vip *v, uv_loop_t *loop, const struct sockaddr *addr,
    void (*on_change)(void *ctx, int held), void *ctx)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK,
	    .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	int r;

	memset(v, 0, sizeof(*v));
	v->loop = loop;
	v->on_change = on_change;
	v->ctx = ctx;
	memcpy(&v->addr, addr, addr->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	v->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_ROUTE);
	if (v->fd < 0)
		return -errno;
	if (bind(v->fd, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = uv_poll_init(loop, &v->poll, v->fd)) < 0)
		goto fail;
	v->open = 1;
	v->poll.data = v;
	if ((r = uv_poll_start(&v->poll, UV_READABLE, vip_on_readable)) < 0)
		goto fail;
	/* Subscribed first, looked second: no change falls in between. */
	v->held = vip_is_local(addr);
	return 0;
fail:
	vip_close(v);
	return r;
}

static void
vip_closed(uv_handle_t *h)
{
	struct vip *v = h->data;

	close(v->fd);
	v->fd = -1;
}

void
vip_close(struct vip *v)
{
	if (v->open) {
		v->open = 0;
		uv_close((uv_handle_t *)&v->poll, vip_closed);
	} else if (v->fd >= 0) {
		close(v->fd);
		v->fd = -1;
	}
}
