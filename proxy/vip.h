/*
 * vip.h - is a given address on this host?  For an active/standby pair
 * on a virtual IP that keepalived (VRRP) moves between nodes: each node
 * binds the address whether it holds it or not (IP_FREEBIND) and learns
 * from the kernel (netlink address events) when it gains or loses it.
 * keepalived needs no script for us.
 */
#ifndef TLSTRUNK_VIP_H
#define TLSTRUNK_VIP_H

#include <sys/socket.h>
#include <uv.h>

struct vip {
	uv_loop_t *loop;
	struct sockaddr_storage addr;	/* the address watched */
	int fd;				/* NETLINK_ROUTE, -1 when closed */
	uv_poll_t poll;
	int open;			/* poll initialised */
	int held;			/* on one of our interfaces now */
	void (*on_change)(void *ctx, int held);
	void *ctx;
};

/*
 * Watch addr: v->held says at once whether it is here; on_change(ctx,
 * held) when that changes.  0 or a negative errno.
 */
int vip_watch(struct vip *v, uv_loop_t *loop, const struct sockaddr *addr,
    void (*on_change)(void *ctx, int held), void *ctx);
/* 1 when sa is on one of this host's interfaces now. */
int vip_is_local(const struct sockaddr *sa);
void vip_close(struct vip *v);

#endif
