/*
 * null_relay.c - the "floor" systems of tests/bench/media_bench.sh: the
 * cheapest userspace relay hop there can be, to read the real relays'
 * figures against.
 *
 * Per call two UDP sockets: the PBX leg (sut_pbx_ip:sut_pbx_port) and the
 * cloud leg (sut_cloud_ip:sut_cloud_port).  A datagram arriving on the PBX
 * leg leaves from the cloud leg for cloud_ep_ip:cloud_ep_port, one
 * arriving on the cloud leg leaves from the PBX leg for
 * pbx_ep_ip:pbx_ep_port.  No crypto, no latching, no copy beyond the
 * receive buffer.  How the packets are moved (--io):
 *
 *   epoll (the default; media_bench's "floor"): level-triggered epoll (as
 *       libuv uses it), up to 256 events per wait, and per readable event
 *       exactly one recvfrom() and one sendto(); no batching
 *       (recvmmsg/sendmmsg) either, so that what it costs is one wake-up's
 *       share plus one receive and one send per packet.
 *   uring (media_bench's "floor_uring", issue 19): one io_uring; one
 *       provided-buffer ring (--bufs buffers of 2048 bytes, bgid 0) shared
 *       by all sockets; on every socket one multishot IORING_OP_RECV with
 *       buffer select.  recv, not recvmsg: the relay needs only the payload
 *       and which socket it came in on (the CQE's user_data), the
 *       destination is fixed per leg, so the source address is not worth
 *       recvmsg's header in every buffer.  Per receive CQE one
 *       IORING_OP_SEND SQE from the other leg's socket, with the leg's
 *       fixed destination (io_uring_prep_send_set_addr: sendto, kernel
 *       >= 6.1), straight out of the provided buffer, which goes back to
 *       the buffer ring when the send's CQE comes.  A receive CQE without
 *       IORING_CQE_F_MORE (the multishot ended: -ENOBUFS when the buffer
 *       ring ran dry, or anything else) is counted and the receive armed
 *       again.  Per wake-up one io_uring_enter (liburing's
 *       io_uring_submit_and_wait_timeout: submits the sends queued since
 *       the last one and waits for at least one CQE), then every CQE there
 *       is, drained; the ring is IORING_SETUP_SINGLE_ISSUER |
 *       DEFER_TASKRUN (completions run inside that io_uring_enter, not as
 *       interrupting task work), or COOP_TASKRUN with --no-defer.  Nothing
 *       is allocated per packet.
 *   uring-sqpoll (media_bench's "floor_sqpoll"): the same with
 *       IORING_SETUP_SQPOLL (sq_thread_idle 100 ms): a kernel thread of
 *       this process ("iou-sqp-PID", in /proc/PID/task, its CPU time in
 *       /proc/PID/stat's utime/stime like any thread's) picks up the SQEs
 *       and runs the completions; this process enters the kernel only to
 *       sleep when no CQE is there (or to wake the SQ thread).  The SQ
 *       thread inherits the process's CPU affinity (taskset).
 *
 *   --register (uring modes): the sockets as registered files
 *       (io_uring_register_files, IOSQE_FIXED_FILE) and the ring's own fd
 *       registered (io_uring_register_ring_fd).  The receive buffers are
 *       kernel-registered either way (the provided-buffer ring); fixed
 *       buffers (io_uring_register_buffers) would only serve zero-copy
 *       sends, which cost more than they save for 172-byte datagrams.
 *
 * On SIGTERM/SIGINT the uring modes print their counters (packets, send
 * errors, receive re-arms, -ENOBUFS) to stderr.  There is no fallback: if
 * the kernel refuses io_uring (ENOSYS, EPERM under seccomp or
 * kernel.io_uring_disabled) it says so and exits 2.
 *
 *   null_relay --calls-file FILE [--io epoll|uring|uring-sqpoll]
 *              [--register] [--bufs N] [--no-defer]
 *       serve; exits on SIGTERM/SIGINT
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
 * Build: cc -O2 -Wall -Wextra -o null_relay null_relay.c -luring
 * (liburing >= 2.3, kernel >= 6.1 for the uring modes; without liburing.h
 * the same command without -luring builds the epoll mode alone)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
/* The uring modes only where liburing is (the epoll floor needs nothing). */
#if defined(__has_include)
#if __has_include(<liburing.h>)
#define HAVE_LIBURING 1
#include <liburing.h>
#endif
#endif

struct leg {
	int fd;				/* where packets for this leg arrive */
	int out_fd;			/* the other leg's socket: sends from there */
	int out_idx;			/* ... its index in legs[] (registered file) */
	struct sockaddr_in to;		/* the far endpoint of the other leg */
};

static struct leg *legs;		/* 2i: call i's PBX leg, 2i+1: its cloud leg */
static int nlegs;

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

/* Read the calls file, bind both legs of every call; sets legs, nlegs. */
static int
load_calls(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[1024], pip[64], spip[64], cip[64], scip[64];
	int idx, pp, spp, cp, scp, ncalls = 0, cap = 0;
	struct rlimit rl;

	if (f == NULL)
		die("cannot open", file);
	/* two sockets a call: as many descriptors as we may have */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct leg *p, *c;

		if (sscanf(line, "%d %63s %d %63s %d %63s %d %63s %d", &idx, pip, &pp,
		    spip, &spp, cip, &cp, scip, &scp) != 9)
			continue;		/* comments, blank lines */
		if (nlegs + 2 > cap) {
			cap = cap ? 2 * cap : 256;
			if ((legs = realloc(legs, (size_t)cap * sizeof(*legs))) == NULL)
				die("realloc", "");
		}
		p = &legs[nlegs];
		c = p + 1;
		p->fd = bound_socket(spip, spp);
		c->fd = bound_socket(scip, scp);
		p->out_fd = c->fd;		/* PBX leg in: out of the cloud leg */
		p->out_idx = nlegs + 1;
		addr_set(&p->to, cip, cp);	/* ... to the cloud endpoint */
		c->out_fd = p->fd;		/* cloud leg in: out of the PBX leg */
		c->out_idx = nlegs;
		addr_set(&c->to, pip, pp);	/* ... to the PBX endpoint */
		nlegs += 2;
		ncalls++;
	}
	fclose(f);
	if (ncalls == 0) {
		errno = ENOENT;
		die("no calls in", file);
	}
	return ncalls;
}

static int
serve_epoll(const sigset_t *during_wait)
{
	struct epoll_event ev, evs[256];
	static char buf[65536];
	int ep, n;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1", "");
	for (int i = 0; i < nlegs; i++) {
		ev.events = EPOLLIN;		/* level-triggered */
		ev.data.ptr = &legs[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, legs[i].fd, &ev) < 0)
			die("epoll_ctl", "");
	}
	fprintf(stderr, "null_relay: io epoll (level-triggered, one recvfrom + one sendto per packet)\n");

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

/* ---- io_uring ---- */
#ifdef HAVE_LIBURING

#define BUF_SIZE	2048		/* one datagram per provided buffer */
#define BGID		0
#define UD_RECV		(1ULL << 62)	/* user_data: kind | bid << 32 | leg */
#define UD_SEND		(2ULL << 62)
#define UD_KIND		(3ULL << 62)

struct uring_ctx {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	char *bufs;
	unsigned nbufs;
	int mask;
	int fixed;			/* registered files: fds are leg indices */
	int sqpoll;
	unsigned returned;		/* buffers added since the last advance */
	unsigned long long pkts, send_err, send_short, rearm, nobufs, recv_err,
	    enters, sqe_full;
};

static struct io_uring_sqe *
get_sqe(struct uring_ctx *u)
{
	struct io_uring_sqe *sqe;

	/* The SQ is full (a burst bigger than it): submit what is there. */
	while ((sqe = io_uring_get_sqe(&u->ring)) == NULL) {
		u->sqe_full++;
		io_uring_submit(&u->ring);
		if (u->sqpoll)
			io_uring_sqring_wait(&u->ring);
	}
	return sqe;
}

static void
arm_recv(struct uring_ctx *u, int i)
{
	struct io_uring_sqe *sqe = get_sqe(u);

	io_uring_prep_recv_multishot(sqe, u->fixed ? i : legs[i].fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT | (u->fixed ? IOSQE_FIXED_FILE : 0);
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, UD_RECV | (unsigned)i);
}

static void
buf_return(struct uring_ctx *u, unsigned bid)
{
	io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * BUF_SIZE, BUF_SIZE,
	    (unsigned short)bid, u->mask, (int)u->returned++);
}

static void
on_cqe(struct uring_ctx *u, const struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	unsigned i = (unsigned)(ud & 0xffffffffu);

	if ((ud & UD_KIND) == UD_SEND) {
		unsigned bid = (unsigned)((ud >> 32) & 0xffff);

		/* a failed send loses the packet, as in any relay */
		if (cqe->res < 0)
			u->send_err++;
		buf_return(u, bid);
		return;
	}
	/* a receive */
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		struct leg *l = &legs[i];

		if (cqe->res >= 0) {
			struct io_uring_sqe *sqe = get_sqe(u);

			io_uring_prep_send(sqe, u->fixed ? l->out_idx : l->out_fd,
			    u->bufs + (size_t)bid * BUF_SIZE, (size_t)cqe->res, 0);
			io_uring_prep_send_set_addr(sqe, (struct sockaddr *)&l->to,
			    sizeof(l->to));
			if (u->fixed)
				sqe->flags |= IOSQE_FIXED_FILE;
			io_uring_sqe_set_data64(sqe, UD_SEND | (uint64_t)bid << 32 | i);
			u->pkts++;
		} else
			buf_return(u, bid);
	} else if (cqe->res == -ENOBUFS)
		u->nobufs++;		/* the buffer ring ran dry */
	else if (cqe->res < 0)
		u->recv_err++;
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		u->rearm++;
		arm_recv(u, (int)i);
	}
}

static int
serve_uring(int sqpoll, int reg, unsigned nbufs, int defer,
    const sigset_t *during_wait)
{
	static struct uring_ctx uc;
	struct uring_ctx *u = &uc;
	struct io_uring_params par;
	struct io_uring_buf_reg breg;
	unsigned sq_entries = nbufs < 4096 ? nbufs : 4096;
	int ret, *fds;

	memset(&par, 0, sizeof(par));
	/* a receive and a send CQE per buffer in flight, and some */
	par.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER;
	par.cq_entries = 4 * nbufs;
	if (sqpoll) {
		par.flags |= IORING_SETUP_SQPOLL;
		par.sq_thread_idle = 100;	/* ms */
	} else if (defer)
		par.flags |= IORING_SETUP_DEFER_TASKRUN;
	else
		par.flags |= IORING_SETUP_COOP_TASKRUN;
	u->sqpoll = sqpoll;
	u->nbufs = nbufs;
	u->mask = io_uring_buf_ring_mask(nbufs);
	if ((ret = io_uring_queue_init_params(sq_entries, &u->ring, &par)) < 0) {
		fprintf(stderr, "null_relay: io_uring_queue_init (%s): %s%s\n",
		    sqpoll ? "SQPOLL" : defer ? "SINGLE_ISSUER|DEFER_TASKRUN" :
		    "SINGLE_ISSUER|COOP_TASKRUN", strerror(-ret),
		    ret == -EPERM || ret == -ENOSYS ?
		    " (io_uring refused: seccomp, a container, or sysctl "
		    "kernel.io_uring_disabled)" : "");
		exit(2);
	}
	/* the provided-buffer ring: page-aligned, registered as group BGID */
	if (posix_memalign((void **)&u->br, 4096, nbufs * sizeof(struct io_uring_buf)) != 0 ||
	    (u->bufs = aligned_alloc(4096, (size_t)nbufs * BUF_SIZE)) == NULL)
		die("allocating buffers", "");
	memset(u->br, 0, nbufs * sizeof(struct io_uring_buf));
	memset(&breg, 0, sizeof(breg));
	breg.ring_addr = (unsigned long)u->br;
	breg.ring_entries = nbufs;
	breg.bgid = BGID;
	if ((ret = io_uring_register_buf_ring(&u->ring, &breg, 0)) < 0) {
		errno = -ret;
		die("io_uring_register_buf_ring", "");
	}
	io_uring_buf_ring_init(u->br);
	for (unsigned b = 0; b < nbufs; b++)
		buf_return(u, b);
	io_uring_buf_ring_advance(u->br, (int)u->returned);
	u->returned = 0;
	if (reg) {
		if ((fds = malloc((size_t)nlegs * sizeof(*fds))) == NULL)
			die("malloc", "");
		for (int i = 0; i < nlegs; i++)
			fds[i] = legs[i].fd;
		if ((ret = io_uring_register_files(&u->ring, fds, (unsigned)nlegs)) < 0) {
			errno = -ret;
			die("io_uring_register_files", "");
		}
		free(fds);
		u->fixed = 1;
		if ((ret = io_uring_register_ring_fd(&u->ring)) < 0) {
			errno = -ret;
			die("io_uring_register_ring_fd", "");
		}
	}
	for (int i = 0; i < nlegs; i++)
		arm_recv(u, i);
	fprintf(stderr, "null_relay: io %s (one ring, %s; multishot recv on %d sockets, "
	    "provided buffer ring %u x %d bytes, one send SQE per packet%s)\n",
	    sqpoll ? "uring-sqpoll" : "uring",
	    sqpoll ? "SQPOLL, sq_thread_idle 100 ms" : defer ?
	    "SINGLE_ISSUER|DEFER_TASKRUN" : "SINGLE_ISSUER|COOP_TASKRUN",
	    nlegs, nbufs, BUF_SIZE, reg ? "; registered files and ring fd" : "");

	while (!stop_now) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		/* Submit the sends (and re-arms) queued since the last time
		 * and wait for a CQE: one io_uring_enter, none with SQPOLL
		 * when a CQE is there already.  SIGTERM/SIGINT let through
		 * only in there. */
		ret = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, NULL,
		    (sigset_t *)during_wait);
		if (ret < 0 && ret != -EINTR && ret != -ETIME && ret != -EBUSY &&
		    ret != -EAGAIN) {
			errno = -ret;
			die("io_uring_submit_and_wait", "");
		}
		io_uring_for_each_cqe(&u->ring, head, cqe) {
			on_cqe(u, cqe);
			seen++;
		}
		io_uring_cq_advance(&u->ring, seen);
		if (u->returned) {
			io_uring_buf_ring_advance(u->br, (int)u->returned);
			u->returned = 0;
		}
	}
	fprintf(stderr, "null_relay: %llu packets, %llu send errors, %llu receive re-arms "
	    "(%llu -ENOBUFS, %llu other receive errors), SQ full %llu times\n",
	    u->pkts, u->send_err, u->rearm, u->nobufs, u->recv_err, u->sqe_full);
	return 0;
}
#else
static int
serve_uring(int sqpoll, int reg, unsigned nbufs, int defer,
    const sigset_t *during_wait)
{
	(void)sqpoll, (void)reg, (void)nbufs, (void)defer, (void)during_wait;
	return 2;			/* not reached: main() refused the mode */
}
#endif

static void
usage(void)
{
	fprintf(stderr, "usage: null_relay --calls-file FILE [--io epoll|uring|uring-sqpoll]\n"
	    "                  [--register] [--bufs N] [--no-defer]\n"
	    "       null_relay --make-calls N --out FILE --ip IP --port-base B\n"
	    "                  --pbx-ep-ip A --cloud-ep-ip C --ep-base E\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *file = NULL, *out = NULL, *ip = NULL, *pep = NULL, *cep = NULL;
	const char *io = "epoll";
	int n = 0, base = 0, ep_base = 0, reg = 0, defer = 1, bufs = 4096, ncalls;
	struct sigaction sa;
	sigset_t term, during_wait;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = argv[i + 1];

		if (strcmp(a, "--register") == 0) {
			reg = 1;
			continue;
		}
		if (strcmp(a, "--no-defer") == 0) {
			defer = 0;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--calls-file") == 0)
			file = v;
		else if (strcmp(a, "--io") == 0)
			io = v;
		else if (strcmp(a, "--bufs") == 0)
			bufs = atoi(v);
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
			usage();
	}
	if (file == NULL && n > 0 && out && ip && pep && cep && base > 0 && ep_base > 0)
		return make_calls(n, out, ip, base, pep, cep, ep_base);
	if (file == NULL || n > 0 || out || ip || pep || cep || base || ep_base)
		usage();
	if (strcmp(io, "epoll") != 0 && strcmp(io, "uring") != 0 &&
	    strcmp(io, "uring-sqpoll") != 0)
		usage();
#ifndef HAVE_LIBURING
	if (strcmp(io, "epoll") != 0) {
		fprintf(stderr, "null_relay: built without liburing (liburing-dev): "
		    "no --io %s\n", io);
		return 2;
	}
#endif
	/* a power of two, at most 32768 (the buffer ring's limit) */
	if (bufs < 1 || bufs > 32768 || (bufs & (bufs - 1)) != 0) {
		fprintf(stderr, "null_relay: --bufs %d: a power of two up to 32768\n", bufs);
		return 2;
	}
	/* SIGTERM/SIGINT set stop_now; they are blocked except inside the
	 * wait (epoll_pwait, io_uring_enter), so that one arriving just
	 * before the wait still ends it (EINTR) instead of waiting for the
	 * next packet. */
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
	ncalls = load_calls(file);
	fprintf(stderr, "null_relay: %d calls from %s\n", ncalls, file);
	if (strcmp(io, "epoll") == 0) {
		if (reg || !defer || bufs != 4096)
			fprintf(stderr, "null_relay: --register, --bufs, --no-defer: uring modes only, ignored\n");
		return serve_epoll(&during_wait);
	}
	return serve_uring(strcmp(io, "uring-sqpoll") == 0, reg, (unsigned)bufs, defer,
	    &during_wait);
}
