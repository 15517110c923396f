/* media_worker.c - the media threads and their job queues. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "media_worker.h"

static void
media_worker_on_wake(uv_async_t *a)
{
	struct media_worker *w = a->data;
	struct media_job *j, *next;

	uv_mutex_lock(&w->lock);
	j = w->head;
	w->head = NULL;
	w->tail = &w->head;
	uv_mutex_unlock(&w->lock);
	for (; j != NULL; j = next) {
		next = j->next;
		j->fn(w, j->arg);
		free(j);
	}
	if (w->stopping && !uv_is_closing((uv_handle_t *)&w->wake))
		uv_close((uv_handle_t *)&w->wake, NULL);
}

static void
media_worker_main(void *arg)
{
	struct media_worker *w = arg;

	uv_run(&w->loop, UV_RUN_DEFAULT);
}

int
media_worker_post(struct media_worker *w, media_job_fn fn, void *arg)
{
	struct media_job *j = malloc(sizeof(*j));

	if (j == NULL)
		return -ENOMEM;
	j->next = NULL;
	j->fn = fn;
	j->arg = arg;
	uv_mutex_lock(&w->lock);
	*w->tail = j;
	w->tail = &j->next;
	uv_mutex_unlock(&w->lock);
	return uv_async_send(&w->wake);
}

static void
media_worker_stop_job(struct media_worker *w, void *arg)
{
	w->stopping = 1;	/* the wake handle closes after this batch */
}

int
media_workers_start(struct media_workers *mw, int n)
{
	int r;

	memset(mw, 0, sizeof(*mw));
	/* The CPUs we may run on (affinity, cgroup), not all the machine has. */
	if (n <= 0)
		n = (int)uv_available_parallelism();
	if (n > 16)
		n = 16;
	if ((mw->w = calloc((size_t)n, sizeof(*mw->w))) == NULL)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct media_worker *w = &mw->w[i];
		w->id = i;
		w->tail = &w->head;
		if ((r = uv_loop_init(&w->loop)) < 0 ||
		    (r = uv_async_init(&w->loop, &w->wake, media_worker_on_wake)) < 0)
			return r;
		w->wake.data = w;
		uv_mutex_init(&w->lock);
		if ((r = uv_thread_create(&w->tid, media_worker_main, w)) < 0)
			return r;
		w->started = 1;
		mw->n++;
	}
	log_info(NULL, "media: %d relay thread%s", n, n == 1 ? "" : "s");
	return 0;
}

void
media_workers_stop(struct media_workers *mw)
{
	for (int i = 0; i < mw->n; i++)
		media_worker_post(&mw->w[i], media_worker_stop_job, NULL);
	for (int i = 0; i < mw->n; i++) {
		struct media_worker *w = &mw->w[i];
		if (!w->started)
			continue;
		uv_thread_join(&w->tid);
		uv_loop_close(&w->loop);
		uv_mutex_destroy(&w->lock);
	}
	free(mw->w);
	mw->w = NULL;
	mw->n = 0;
}

struct media_worker *
media_workers_pick(struct media_workers *mw)
{
	return &mw->w[mw->next++ % (unsigned)mw->n];
}
