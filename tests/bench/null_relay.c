/*
 * null_relay.c - the "floor" system of tests/bench/media_bench.sh: the
 * cheapest userspace relay hop there can be, to read the real relays'
 * figures against.
 *
 * Per call two UDP sockets: the PBX leg (sut_pbx_ip:sut_pbx_port) and the
 * cloud leg (sut_cloud_ip:sut_cloud_port).  A datagram arriving on the PBX
 * leg leaves from the cloud leg for cloud_ep_ip:cloud_ep_port, one
 * arriving on the cloud leg leaves from the PBX leg for
 * pbx_ep_ip:pbx_ep_port.  Level-triggered epoll (as libuv uses it), up to
 * 256 events per wait, and per readable event exactly one recvfrom() and
 * one sendto(): no crypto, no latching, no copy beyond the receive buffer,
 * no batching (recvmmsg/sendmmsg) either, so that what it costs is one
 * wake-up's share plus one receive and one send per packet.
 *
 *   null_relay --calls-file FILE          serve; exits on SIGTERM/SIGINT
 *   null_relay --make-calls N --out FILE --ip IP --port-base B
 *              --pbx-ep-ip A --cloud-ep-ip C --ep-base E
 *       write the calls file for media_load (--plain): call i's legs on
 *       IP:B+4i (PBX) and IP:B+4i+2 (cloud), its endpoints on A:E+2i and
 *       C:E+2i, keys "-"
 *
 * Calls file (media_load.c's format), one call a line:
 *   idx pbx_ep_ip pbx_ep_port sut_pbx_ip sut_pbx_port
 *       cloud_ep_ip cloud_ep_port sut_cloud_ip sut_cloud_port sut_key our_key
 *
 * Build: cc -O2 -Wall -Wextra -o null_relay null_relay.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct leg {
	int fd;				/* where packets for this leg arrive */
	int out_fd;			/* the other leg's socket: sends from there */
	struct sockaddr_in to;		/* the far endpoint of the other leg */
};

static volatile sig_atomic_t stop_now;

static void
on_signal(int sig)
{
	(void)sig;
	stop_now = 1;
}

static void
die(const char *what, const char *arg)
{
	fprintf(stderr, "null_relay: %s %s: %s\n", what, arg, strerror(errno));
	exit(2);
}

static void
addr_set(struct sockaddr_in *a, const char *ip, int port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, ip, &a->sin_addr) != 1) {
		errno = EINVAL;
		die("bad address", ip);
	}
}

static int
bound_socket(const char *ip, int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	addr_set(&a, ip, port);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind", ip);
	return fd;
}

static int
make_calls(int n, const char *out, const char *ip, int base, const char *pep,
    const char *cep, int ep_base)
{
	FILE *f = fopen(out, "w");

	if (f == NULL)
		die("cannot write", out);
	for (int i = 0; i < n; i++)
		fprintf(f, "%d %s %d %s %d %s %d %s %d - -\n", i, pep, ep_base + 2 * i,
		    ip, base + 4 * i, cep, ep_base + 2 * i, ip, base + 4 * i + 2);
	return fclose(f) == 0 ? 0 : 1;
}

static int
serve(const char *file, const sigset_t *during_wait)
{
	FILE *f = fopen(file, "r");
	char line[1024], pip[64], spip[64], cip[64], scip[64];
	int idx, pp, spp, cp, scp, ep, n, ncalls = 0;
	struct epoll_event ev, evs[256];
	struct rlimit rl;
	static char buf[65536];

	if (f == NULL)
		die("cannot open", file);
	/* two sockets a call: as many descriptors as we may have */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1", "");
	while (fgets(line, sizeof(line), f) != NULL) {
		struct leg *p, *c;

		if (sscanf(line, "%d %63s %d %63s %d %63s %d %63s %d", &idx, pip, &pp,
		    spip, &spp, cip, &cp, scip, &scp) != 9)
			continue;		/* comments, blank lines */
		if ((p = calloc(2, sizeof(*p))) == NULL)
			die("calloc", "");
		c = p + 1;
		p->fd = bound_socket(spip, spp);
		c->fd = bound_socket(scip, scp);
		p->out_fd = c->fd;		/* PBX leg in: out of the cloud leg */
		addr_set(&p->to, cip, cp);	/* ... to the cloud endpoint */
		c->out_fd = p->fd;		/* cloud leg in: out of the PBX leg */
		addr_set(&c->to, pip, pp);	/* ... to the PBX endpoint */
		ev.events = EPOLLIN;		/* level-triggered */
		ev.data.ptr = p;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev) < 0)
			die("epoll_ctl", spip);
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			die("epoll_ctl", scip);
		ncalls++;
	}
	fclose(f);
	if (ncalls == 0) {
		errno = ENOENT;
		die("no calls in", file);
	}
	fprintf(stderr, "null_relay: %d calls from %s\n", ncalls, file);

	while (!stop_now) {
		/* epoll_wait, with SIGTERM/SIGINT let through only here */
		n = epoll_pwait(ep, evs, 256, -1, during_wait);
		if (n < 0 && errno != EINTR)
			die("epoll_wait", "");
		for (int i = 0; i < n; i++) {
			struct leg *l = evs[i].data.ptr;
			ssize_t len = recvfrom(l->fd, buf, sizeof(buf), MSG_DONTWAIT,
			    NULL, NULL);

			/* a failed send (full buffer) loses the packet,
			 * as in any relay */
			if (len >= 0)
				sendto(l->out_fd, buf, (size_t)len, 0,
				    (struct sockaddr *)&l->to, sizeof(l->to));
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *file = NULL, *out = NULL, *ip = NULL, *pep = NULL, *cep = NULL;
	int n = 0, base = 0, ep_base = 0, bad = argc % 2 == 0;
	struct sigaction sa;
	sigset_t term, during_wait;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];

		if (strcmp(a, "--calls-file") == 0)
			file = v;
		else if (strcmp(a, "--make-calls") == 0)
			n = atoi(v);
		else if (strcmp(a, "--out") == 0)
			out = v;
		else if (strcmp(a, "--ip") == 0)
			ip = v;
		else if (strcmp(a, "--port-base") == 0)
			base = atoi(v);
		else if (strcmp(a, "--pbx-ep-ip") == 0)
			pep = v;
		else if (strcmp(a, "--cloud-ep-ip") == 0)
			cep = v;
		else if (strcmp(a, "--ep-base") == 0)
			ep_base = atoi(v);
		else
			bad = 1;
	}
	if (!bad && file == NULL && n > 0 && out && ip && pep && cep && base > 0 &&
	    ep_base > 0)
		return make_calls(n, out, ip, base, pep, cep, ep_base);
	if (bad || file == NULL || argc != 3) {
		fprintf(stderr, "usage: null_relay --calls-file FILE\n"
		    "       null_relay --make-calls N --out FILE --ip IP --port-base B\n"
		    "                  --pbx-ep-ip A --cloud-ep-ip C --ep-base E\n");
		return 2;
	}
	/* SIGTERM/SIGINT set stop_now; they are blocked except inside
	 * epoll_pwait, so that one arriving just before the wait still ends
	 * it (EINTR) instead of waiting for the next packet. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, &during_wait);
	sigdelset(&during_wait, SIGTERM);
	sigdelset(&during_wait, SIGINT);
	return serve(file, &during_wait);
}
