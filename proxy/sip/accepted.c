/* accepted.c - answered INVITEs by server key, for their 32 s. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accepted.h"

struct accepted_entry {
	struct accepted_entry *next;
	uint64_t expires;		/* loop ms */
	char *branch;			/* after skey, in keys[] */
	char keys[];
};

static void
accepted_pop(struct accepted *a)
{
	struct accepted_entry *e = a->head;

	a->head = e->next;
	if (a->head == NULL)
		a->tail = NULL;
	strmap_del(&a->keys, e->keys);
	strmap_del(&a->branches, e->branch);
	a->count--;
	free(e);
}

static void
accepted_on_timer(uv_timer_t *t)
{
	struct accepted *a = t->data;
	uint64_t now = uv_now(t->loop);

	while (a->head != NULL && a->head->expires <= now)
		accepted_pop(a);
	if (a->head != NULL)
		uv_timer_start(&a->timer, accepted_on_timer,
		    a->head->expires - now, 0);
}

int
accepted_init(struct accepted *a, uv_loop_t *loop, uint64_t ttl_ms)
{
	int r;

	memset(a, 0, sizeof(*a));
	a->ttl = ttl_ms;
	if ((r = strmap_init(&a->keys, 1024)) < 0)
		return r;
	if ((r = strmap_init(&a->branches, 1024)) < 0 ||
	    (r = uv_timer_init(loop, &a->timer)) < 0) {
		strmap_free(&a->keys);
		strmap_free(&a->branches);
		return r;
	}
	a->timer.data = a;
	return 0;
}

int
accepted_add(struct accepted *a, const char *skey, const char *branch)
{
	size_t n = strlen(skey) + 1, m = strlen(branch) + 1;
	struct accepted_entry *e;
	int r;

	if (strmap_get(&a->keys, skey) != NULL)
		return 0;
	if ((e = malloc(sizeof(*e) + n + m)) == NULL)
		return -ENOMEM;
	memcpy(e->keys, skey, n);
	e->branch = memcpy(e->keys + n, branch, m);
	e->next = NULL;
	e->expires = uv_now(a->timer.loop) + a->ttl;
	if ((r = strmap_put(&a->keys, e->keys, e)) < 0) {
		free(e);
		return r;
	}
	if ((r = strmap_put(&a->branches, e->branch, e)) < 0) {
		strmap_del(&a->keys, e->keys);
		free(e);
		return r;
	}
	if (a->tail != NULL)
		a->tail->next = e;
	else
		a->head = e;
	a->tail = e;
	a->count++;
	if (!uv_is_active((uv_handle_t *)&a->timer))
		uv_timer_start(&a->timer, accepted_on_timer, a->ttl, 0);
	return 0;
}

int
accepted_has(const struct accepted *a, const char *skey)
{
	return strmap_get(&a->keys, skey) != NULL;
}

int
accepted_has_branch(const struct accepted *a, const char *branch)
{
	return strmap_get(&a->branches, branch) != NULL;
}

void
accepted_close(struct accepted *a)
{
	if (a->timer.loop != NULL && !uv_is_closing((uv_handle_t *)&a->timer))
		uv_close((uv_handle_t *)&a->timer, NULL);
}

void
accepted_free(struct accepted *a)
{
	while (a->head != NULL)
		accepted_pop(a);
	strmap_free(&a->keys);
	strmap_free(&a->branches);
}
