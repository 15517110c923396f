/*
 * media_worker.h - threads that carry the media: one libuv loop each.
 * The signaling thread posts jobs (open a relay, set a peer, install a
 * key, close); a worker runs them in order between packets.  Packets
 * never take a lock: everything a relay touches belongs to its worker.
 */
#ifndef TLSTRUNK_MEDIA_WORKER_H
#define TLSTRUNK_MEDIA_WORKER_H

#include <uv.h>

struct media_worker;
typedef void (*media_job_fn)(struct media_worker *w, void *arg);

struct media_job {
	struct media_job *next;
	media_job_fn fn;
	void *arg;
};

struct media_worker {
	uv_loop_t loop;
	uv_async_t wake;
	uv_mutex_t lock;		/* guards the job list only */
	struct media_job *head, **tail;
	uv_thread_t tid;
	int id;
	int stopping;
	int started;
};

struct media_workers {
	struct media_worker *w;
	int n;
	unsigned next;
};

/* n threads (0: one per CPU we may run on, at most 16). */
int media_workers_start(struct media_workers *mw, int n);
/* Ask every worker to finish its jobs and stop; then join them. */
void media_workers_stop(struct media_workers *mw);
/* The worker for a new relay (round robin). */
struct media_worker *media_workers_pick(struct media_workers *mw);
/* Queue fn(arg) on w; arg belongs to fn from then on. */
int media_worker_post(struct media_worker *w, media_job_fn fn, void *arg);

#endif
