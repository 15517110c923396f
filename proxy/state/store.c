/*
 * store.c - the calls' records in Redis: one hiredis async connection on
 * the libuv loop, a bounded write queue coalesced by call, reconnects
 * with back-off, and the load of every record at start.
 *
 * Lifetimes.  hiredis owns its context and frees it itself after a
 * failed connect or a drop, calling every pending reply callback with a
 * NULL reply first.  So nothing hiredis calls back points at struct
 * store directly: the context's data is a struct store_conn, which
 * points at the store until store_close() detaches it, and lives until
 * its poll handle is closed (hiredis's cleanup hook closes it, the close
 * callback frees it).  A write in flight is its own allocation, freed
 * (wiped) by its reply callback whatever the reply.  store_close() may
 * thus come from anywhere, even from a callback, and st may go at once.
 *
 * hiredis 0.14 (Debian 12) ships adapters/libuv.h, but its poll callback
 * ignores libuv's error status (a refused TCP connect) and hiredis would
 * then wait for ever; and its handle is not ours to free.  The hooks
 * here are the same few lines with both fixed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "callrec.h"
#include "log.h"
#include "netaddr.h"
#include "store.h"

#define STORE_RETRY_MIN_MS	1000
#define STORE_RETRY_MAX_MS	5000
/* A connect (or AUTH) not done by then is given up and tried again: a
 * TCP connect to a silent address would otherwise take minutes. */
#define STORE_CONNECT_MS	5000
#define STORE_LOG_EVERY_MS	30000
/* Writes sent and not yet answered at most; the rest stay queued, where
 * a newer state of the same call still replaces them. */
#define STORE_WINDOW		64
#define STORE_SCAN_COUNT	"100"

/* One write: SET (val) or DEL (val NULL); key and value follow it. */
struct store_op {
	struct store_op *prev, *next;	/* the queue, while queued */
	uint64_t seq;
	char *key;			/* <prefix>call:<id> */
	size_t keylen;
	const char *id;			/* in key */
	char *val;
	size_t len;
};

/* One hiredis connection: what its callbacks find (ac->data). */
struct store_conn {
	struct store *st;		/* NULL once detached */
	redisAsyncContext *ac;		/* NULL once hiredis freed it */
	uv_poll_t poll;
	int events;			/* UV_READABLE | UV_WRITABLE wanted */
};

/* A load in progress: one command of it in flight at a time, whose
 * callback owns it. */
struct store_load {
	store_each_fn each;
	store_done_fn done;
	void *ctx;
	char cursor[32];
	struct strmap seen;		/* ids handed out: SCAN may repeat */
	char **ids;			/* the MGET in flight: its keys' ids */
	size_t nids;
};

static void store_flush(struct store *st);
static void store_retry(struct store *st, unsigned ms);

/*
 * Rate-limited log lines.
 */
static int
store_log_due(struct store *st, struct store_ratelimit *rl)
{
	uint64_t now = uv_now(st->loop);

	if (rl->armed && now - rl->at < STORE_LOG_EVERY_MS) {
		rl->quiet++;
		return 0;
	}
	rl->armed = 1;
	rl->at = now;
	return 1;
}

/*
 * Ops and the queue.
 */
static struct store_op *
op_new(struct store *st, const char *id, const char *val, size_t len)
{
	size_t idlen = strlen(id), keylen = st->keyprefix_len + idlen;
	struct store_op *op;

	op = malloc(sizeof(*op) + keylen + 1 + (val != NULL ? len : 0));
	if (op == NULL)
		return NULL;
	memset(op, 0, sizeof(*op));
	op->key = (char *)(op + 1);
	memcpy(op->key, st->keyprefix, st->keyprefix_len);
	memcpy(op->key + st->keyprefix_len, id, idlen + 1);
	op->keylen = keylen;
	op->id = op->key + st->keyprefix_len;
	if (val != NULL) {
		op->val = op->key + keylen + 1;
		memcpy(op->val, val, len);
		op->len = len;
	}
	op->seq = ++st->seq;
	return op;
}

/* Values are call records: they hold SRTP master keys. */
static void
op_free(struct store_op *op)
{
	if (op == NULL)
		return;
	if (op->val != NULL)
		OPENSSL_cleanse(op->val, op->len);
	free(op);
}

static void
queue_unlink(struct store *st, struct store_op *op)
{
	if (op->prev != NULL)
		op->prev->next = op->next;
	else
		st->head = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	else
		st->tail = op->prev;
	if (st->requeue_at == op)
		st->requeue_at = op->prev;
	op->prev = op->next = NULL;
	strmap_del(&st->queued, op->id);
	st->nqueued--;
}

/* Put op after pos (NULL: first). */
static int
queue_insert(struct store *st, struct store_op *pos, struct store_op *op)
{
	int r;

	if ((r = strmap_put(&st->queued, op->id, op)) < 0)
		return r;
	op->prev = pos;
	op->next = pos != NULL ? pos->next : st->head;
	if (op->next != NULL)
		op->next->prev = op;
	else
		st->tail = op;
	if (pos != NULL)
		pos->next = op;
	else
		st->head = op;
	st->nqueued++;
	return 0;
}

/* Beyond max_pending the oldest write goes: the newest state counts. */
static void
queue_trim(struct store *st)
{
	while (st->nqueued > st->max_pending) {
		struct store_op *op = st->head;

		queue_unlink(st, op);
		st->failed++;
		if (store_log_due(st, &st->log_drop))
			log_warn(op->id, "state: redis write queue full "
			    "(max_pending %zu): oldest write dropped, %llu "
			    "writes failed in all", st->max_pending,
			    (unsigned long long)st->failed);
		op_free(op);
	}
}

/*
 * Queue op after pos, in place of what is queued for the same id when
 * that is older; op itself goes when it is the older one.  1 (queued),
 * 0 (op was the older: freed) or -ENOMEM (op freed).  queue_trim()
 * after.
 */
static int
queue_add(struct store *st, struct store_op *pos, struct store_op *op)
{
	struct store_op *old = strmap_get(&st->queued, op->id);

	if (old != NULL && old->seq > op->seq) {
		op_free(op);	/* superseded: not a failure */
		return 0;
	}
	if (old != NULL) {
		if (pos == old)
			pos = old->prev;
		queue_unlink(st, old);
		op_free(old);
	}
	if (queue_insert(st, pos, op) < 0) {
		op_free(op);
		return -ENOMEM;
	}
	return 1;
}

/*
 * The connection: event hooks for hiredis.
 */
static void
conn_poll_cb(uv_poll_t *h, int status, int events)
{
	struct store_conn *c = h->data;

	/* libuv reports a socket error (a refused connect) as a status
	 * and stops the handle: let hiredis do the I/O it waits for, so
	 * that it meets the error itself. */
	if (status < 0)
		events = c->events;
	if (c->ac != NULL && (events & UV_READABLE))
		redisAsyncHandleRead(c->ac);
	if (c->ac != NULL && (events & UV_WRITABLE))
		redisAsyncHandleWrite(c->ac);
}

static void
conn_events(struct store_conn *c, int add, int del)
{
	c->events = (c->events | add) & ~del;
	if (c->events != 0)
		uv_poll_start(&c->poll, c->events, conn_poll_cb);
	else
		uv_poll_stop(&c->poll);
}

static void
ev_add_read(void *p)
{
	conn_events(p, UV_READABLE, 0);
}

static void
ev_del_read(void *p)
{
	conn_events(p, 0, UV_READABLE);
}

static void
ev_add_write(void *p)
{
	conn_events(p, UV_WRITABLE, 0);
}

static void
ev_del_write(void *p)
{
	conn_events(p, 0, UV_WRITABLE);
}

static void
conn_closed(uv_handle_t *h)
{
	free(h->data);
}

/* hiredis is freeing the context: the last the connection hears. */
static void
ev_cleanup(void *p)
{
	struct store_conn *c = p;

	c->ac = NULL;
	uv_close((uv_handle_t *)&c->poll, conn_closed);
}

/* The store a callback of ac may still act for, or NULL. */
static struct store *
conn_store(const redisAsyncContext *ac)
{
	struct store_conn *c = ac->data;

	return c != NULL ? c->st : NULL;
}

/*
 * The connection's life.
 */

/* No connection any more (failed, dropped or given up): try again. */
static void
store_down(struct store *st, const char *why, int was_up)
{
	if (st->conn != NULL)
		st->conn->st = NULL;
	st->conn = NULL;
	st->up = 0;
	if (was_up)
		log_warn(NULL, "state: redis %s lost (%s), %zu writes pending",
		    st->addr, why, st->nqueued + st->nsent);
	else if (store_log_due(st, &st->log_down))
		log_warn(NULL, "state: redis %s unreachable (%s), %zu writes "
		    "pending", st->addr, why, st->nqueued + st->nsent);
	store_retry(st, st->retry_ms);
	st->retry_ms = st->retry_ms * 2 > st->retry_max_ms ?
	    st->retry_max_ms : st->retry_ms * 2;
}

/* AUTH or PING answered: the connection is usable. */
static void
on_hello(redisAsyncContext *ac, void *reply, void *priv)
{
	struct store *st = conn_store(ac);
	redisReply *rp = reply;

	if (st == NULL || rp == NULL)
		return;		/* closed, or dropped: on_disconnect */
	if (rp->type == REDIS_REPLY_ERROR) {
		if (store_log_due(st, &st->log_err))
			log_error(NULL, "state: redis %s refused %s: %.*s",
			    st->addr, st->password != NULL ? "AUTH" : "PING",
			    (int)rp->len, rp->str);
		redisAsyncDisconnect(ac);	/* on_disconnect follows */
		return;
	}
	st->up = 1;
	st->retry_ms = st->retry_min_ms;
	uv_timer_stop(st->timer);
	log_info(NULL, "state: redis %s connected", st->addr);
	store_flush(st);
	if (st->on_up != NULL)
		st->on_up(st->ctx);	/* last: it may close st */
}

static void
on_connect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct store *st = conn_store(ac);
	int r;

	if (st == NULL)
		return;
	if (status != REDIS_OK) {	/* hiredis frees ac after this */
		store_down(st, ac->c.errstr[0] ? ac->c.errstr : "connect "
		    "failed", 0);
		return;
	}
	/* PING without a password: a server that wants one says so now,
	 * not at the first write. */
	if (st->password != NULL)
		r = redisAsyncCommand(ac, on_hello, NULL, "AUTH %s",
		    st->password);
	else
		r = redisAsyncCommand(ac, on_hello, NULL, "PING");
	/* Not disconnected from here: hiredis goes on with ac after this
	 * callback.  The connect timeout gives it up. */
	if (r != REDIS_OK)
		log_error(NULL, "state: redis %s: cannot send %s", st->addr,
		    st->password != NULL ? "AUTH" : "PING");
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct store *st = conn_store(ac);

	if (st == NULL)
		return;
	store_down(st, ac->errstr != NULL && ac->errstr[0] ? ac->errstr :
	    status == REDIS_OK ? "closed" : "error", st->up);
}

/* A connection that hiredis refused at once, or that we gave up. */
static void
conn_abort(struct store *st, redisAsyncContext *ac)
{
	char why[128];

	snprintf(why, sizeof(why), "%s", ac->errstr != NULL && ac->errstr[0]
	    ? ac->errstr : "cannot connect");
	redisAsyncFree(ac);
	store_down(st, why, 0);
}

static int
conn_attach(struct store *st, redisAsyncContext *ac)
{
	struct store_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	if (uv_poll_init(st->loop, &c->poll, ac->c.fd) < 0) {
		free(c);
		return -EIO;
	}
	c->st = st;
	c->ac = ac;
	c->poll.data = c;
	ac->data = c;
	ac->ev.data = c;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	st->conn = c;
	return 0;
}

static void
store_connect(struct store *st)
{
	redisAsyncContext *ac;

	st->requeue_at = NULL;
	ac = st->host[0] == '\0' ? redisAsyncConnectUnix(st->addr) :
	    redisAsyncConnect(st->host, st->port);
	if (ac == NULL) {
		store_down(st, "out of memory", 0);
		return;
	}
	if (ac->err != 0 || conn_attach(st, ac) < 0) {
		conn_abort(st, ac);
		return;
	}
	/* Until AUTH is answered: the connect timeout. */
	store_retry(st, st->connect_timeout_ms);
}

/* Give the connection up (timeout, close): detached, then freed. */
static void
store_drop_conn(struct store *st)
{
	struct store_conn *c = st->conn;

	if (c == NULL)
		return;
	st->conn = NULL;
	st->up = 0;
	c->st = NULL;
	if (c->ac != NULL)
		redisAsyncFree(c->ac);
}

static void
on_timer(uv_timer_t *t)
{
	struct store *st = t->data;

	if (st->conn == NULL) {
		store_connect(st);
		return;
	}
	if (!st->up) {		/* connect or AUTH did not finish in time */
		store_drop_conn(st);
		store_down(st, "timed out", 0);
	}
}

static void
store_retry(struct store *st, unsigned ms)
{
	if (!st->closed)
		uv_timer_start(st->timer, on_timer, ms, 0);
}

/*
 * Writes.
 */
static void
on_written(redisAsyncContext *ac, void *reply, void *priv)
{
	struct store *st = conn_store(ac);
	struct store_op *op = priv;
	redisReply *rp = reply;

	if (st == NULL) {
		op_free(op);
		return;
	}
	st->nsent--;
	if (rp == NULL) {
		/* Dropped before the answer: it may or may not have been
		 * written, so it goes again (ahead of what was queued after
		 * it, in its order), unless a newer state of the call is
		 * queued.  Sent at the next connect. */
		if (queue_add(st, st->requeue_at, op) == 1)
			st->requeue_at = op;
		queue_trim(st);
		return;
	}
	if (rp->type == REDIS_REPLY_ERROR) {
		st->failed++;
		if (store_log_due(st, &st->log_err))
			log_warn(op->id, "state: redis %s refused a write: %.*s",
			    st->addr, (int)rp->len, rp->str);
	} else {
		st->written++;
	}
	op_free(op);
	store_flush(st);
}

static int
store_send(struct store *st, struct store_op *op)
{
	redisAsyncContext *ac = st->conn->ac;

	if (op->val != NULL)
		return redisAsyncCommand(ac, on_written, op, "SET %b %b PX %llu",
		    op->key, op->keylen, op->val, op->len,
		    (unsigned long long)st->ttl_ms);
	return redisAsyncCommand(ac, on_written, op, "DEL %b", op->key,
	    op->keylen);
}

/* Send from the head of the queue while the window has room. */
static void
store_flush(struct store *st)
{
	while (st->up && st->head != NULL && st->nsent < STORE_WINDOW) {
		struct store_op *op = st->head;

		queue_unlink(st, op);
		if (store_send(st, op) != REDIS_OK) {
			/* The context is going: keep it for the next. */
			if (queue_insert(st, NULL, op) < 0) {
				st->failed++;
				op_free(op);
			}
			return;
		}
		st->nsent++;
	}
}

static int
store_queue(struct store *st, struct store_op *op)
{
	int r;

	if ((r = queue_add(st, st->tail, op)) < 0)
		return r;
	queue_trim(st);
	store_flush(st);
	return 0;
}

int
store_put(struct store *st, const char *id, const char *val, size_t len)
{
	struct store_op *op;

	if (st->closed || id == NULL || *id == '\0' || val == NULL)
		return -EINVAL;
	if (len > CALLREC_MAX)
		return -E2BIG;
	if ((op = op_new(st, id, val, len)) == NULL)
		return -ENOMEM;
	return store_queue(st, op);
}

int
store_del(struct store *st, const char *id)
{
	struct store_op *op;

	if (st->closed || id == NULL || *id == '\0')
		return -EINVAL;
	if ((op = op_new(st, id, NULL, 0)) == NULL)
		return -ENOMEM;
	return store_queue(st, op);
}

/*
 * Load.
 */
static void
load_free_ids(struct store_load *ld)
{
	for (size_t i = 0; i < ld->nids; i++)
		free(ld->ids[i]);
	free(ld->ids);
	ld->ids = NULL;
	ld->nids = 0;
}

static void
load_free(struct store_load *ld)
{
	load_free_ids(ld);
	strmap_free(&ld->seen);
	free(ld);
}

/* The end of ld: done() last, it may start another load or close st. */
static void
load_finish(struct store *st, struct store_load *ld, int err)
{
	store_done_fn done = ld->done;
	void *ctx = ld->ctx;

	if (st != NULL && st->load == ld)
		st->load = NULL;
	load_free(ld);
	if (st != NULL)
		done(ctx, err);
}

static void on_scan(redisAsyncContext *ac, void *reply, void *priv);

static int
load_scan(struct store *st, struct store_load *ld)
{
	return redisAsyncCommand(st->conn->ac, on_scan, ld,
	    "SCAN %s MATCH %s COUNT " STORE_SCAN_COUNT, ld->cursor,
	    st->pattern) == REDIS_OK ? 0 : -EIO;
}

/* One value of an MGET: handed out, or skipped with a reason. */
static void
load_one(struct store *st, struct store_load *ld, const char *id,
    const redisReply *v)
{
	if (v->type != REDIS_REPLY_STRING)
		return;		/* gone since SCAN, or not a string */
	if (v->len > CALLREC_MAX) {
		log_warn(id, "state: record of %zu bytes (at most %d), "
		    "skipped", v->len, CALLREC_MAX);
		return;
	}
	if (strmap_put(&ld->seen, id, ld) < 0)
		return;		/* seen already (or out of memory) */
	ld->each(ld->ctx, id, v->str, v->len);
}

static void
on_mget(redisAsyncContext *ac, void *reply, void *priv)
{
	struct store *st = conn_store(ac);
	struct store_load *ld = priv;
	redisReply *rp = reply;

	if (st == NULL || rp == NULL || rp->type != REDIS_REPLY_ARRAY ||
	    rp->elements != ld->nids) {
		load_finish(st, ld, -ECONNRESET);
		return;
	}
	for (size_t i = 0; i < rp->elements; i++) {
		load_one(st, ld, ld->ids[i], rp->element[i]);
		if (conn_store(ac) == NULL) {	/* each() closed st */
			load_free(ld);
			return;
		}
	}
	load_free_ids(ld);
	if (strcmp(ld->cursor, "0") == 0)
		load_finish(st, ld, 0);
	else if (load_scan(st, ld) < 0)
		load_finish(st, ld, -ECONNRESET);
}

/* A Call-ID has no NUL or control byte (one would forge log lines). */
static int
load_id_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

/* The ids of a SCAN batch; keys that cannot be one are left out. */
static int
load_batch(struct store *st, struct store_load *ld, const redisReply *keys,
    const char **argv, size_t *argvlen)
{
	size_t n = 0;

	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];

		if (k->type != REDIS_REPLY_STRING ||
		    k->len <= st->keyprefix_len ||
		    memcmp(k->str, st->keyprefix, st->keyprefix_len) != 0 ||
		    !load_id_ok(k->str + st->keyprefix_len,
		    k->len - st->keyprefix_len))
			continue;
		if ((ld->ids[n] = strdup(k->str + st->keyprefix_len)) == NULL)
			return -ENOMEM;
		argv[n + 1] = k->str;
		argvlen[n + 1] = k->len;
		ld->nids = ++n;
	}
	return 0;
}

/* MGET the keys of one SCAN batch. */
static int
load_mget(struct store *st, struct store_load *ld, const redisReply *keys)
{
	const char **argv = calloc(keys->elements + 1, sizeof(*argv));
	size_t *argvlen = calloc(keys->elements + 1, sizeof(*argvlen));
	int r = -ENOMEM;

	ld->ids = calloc(keys->elements + 1, sizeof(*ld->ids));
	if (argv == NULL || argvlen == NULL || ld->ids == NULL ||
	    load_batch(st, ld, keys, argv, argvlen) < 0)
		goto done;
	r = 1;
	if (ld->nids == 0)
		goto done;	/* nothing to get: on with the SCAN */
	argv[0] = "MGET";
	argvlen[0] = 4;
	r = redisAsyncCommandArgv(st->conn->ac, on_mget, ld,
	    (int)ld->nids + 1, argv, argvlen) == REDIS_OK ? 0 : -EIO;
done:
	free(argv);
	free(argvlen);
	return r;
}

static void
on_scan(redisAsyncContext *ac, void *reply, void *priv)
{
	struct store *st = conn_store(ac);
	struct store_load *ld = priv;
	redisReply *rp = reply;
	int r;

	if (st == NULL || rp == NULL || rp->type != REDIS_REPLY_ARRAY ||
	    rp->elements != 2 ||
	    rp->element[0]->type != REDIS_REPLY_STRING ||
	    rp->element[0]->len >= sizeof(ld->cursor) ||
	    rp->element[1]->type != REDIS_REPLY_ARRAY) {
		if (st != NULL && rp != NULL && rp->type == REDIS_REPLY_ERROR)
			log_warn(NULL, "state: redis %s refused SCAN: %.*s",
			    st->addr, (int)rp->len, rp->str);
		load_finish(st, ld, -ECONNRESET);
		return;
	}
	memcpy(ld->cursor, rp->element[0]->str, rp->element[0]->len + 1);
	if ((r = load_mget(st, ld, rp->element[1])) == 0)
		return;
	load_free_ids(ld);
	if (r < 0)
		load_finish(st, ld, r == -ENOMEM ? -ENOMEM : -ECONNRESET);
	else if (strcmp(ld->cursor, "0") == 0)
		load_finish(st, ld, 0);
	else if (load_scan(st, ld) < 0)
		load_finish(st, ld, -ECONNRESET);
}

int
store_load(struct store *st, store_each_fn each, store_done_fn done,
    void *ctx)
{
	struct store_load *ld;

	if (st->closed || !st->up)
		return -ENOTCONN;
	if (st->load != NULL)
		return -EBUSY;
	if ((ld = calloc(1, sizeof(*ld))) == NULL)
		return -ENOMEM;
	if (strmap_init(&ld->seen, 256) < 0) {
		free(ld);
		return -ENOMEM;
	}
	ld->each = each;
	ld->done = done;
	ld->ctx = ctx;
	strcpy(ld->cursor, "0");
	if (load_scan(st, ld) < 0) {
		load_free(ld);
		return -ENOTCONN;
	}
	st->load = ld;
	return 0;
}

void
store_status(const struct store *st, struct store_status *out)
{
	out->connected = st->up;
	out->pending = st->nqueued + st->nsent;
	out->written_total = st->written;
	out->failed_total = st->failed;
}

/*
 * Set-up and close.
 */

/* MATCH takes a glob: the prefix's own '*', '?', '[', ']', '\' escaped. */
static char *
store_pattern(const char *keyprefix)
{
	size_t n = strlen(keyprefix);
	char *p = malloc(2 * n + 2), *o = p;

	if (p == NULL)
		return NULL;
	for (; *keyprefix != '\0'; keyprefix++) {
		if (strchr("*?[]\\", *keyprefix) != NULL)
			*o++ = '\\';
		*o++ = *keyprefix;
	}
	*o++ = '*';
	*o = '\0';
	return p;
}

/* addr: an absolute unix socket path, or an IP literal with its port. */
static int
store_parse_addr(struct store *st, const char *addr)
{
	if (addr[0] == '/') {
		st->host[0] = '\0';
		return strlen(addr) < 108 ? 0 : -EINVAL;	/* sun_path */
	}
	if (netaddr_parse_hostport(addr, st->host, sizeof(st->host),
	    &st->port, -1) < 0 || !netaddr_is_ip(st->host))
		return -EINVAL;
	return 0;
}

static int
store_copy_params(struct store *st, const struct store_params *p)
{
	size_t n;

	if (p->addr == NULL || p->prefix == NULL || p->ttl_s == 0 ||
	    store_parse_addr(st, p->addr) < 0)
		return -EINVAL;
	n = strlen(p->prefix);
	st->addr = strdup(p->addr);
	st->password = p->password != NULL ? strdup(p->password) : NULL;
	st->keyprefix = malloc(n + sizeof("call:"));
	if (st->addr == NULL || st->keyprefix == NULL ||
	    (p->password != NULL && st->password == NULL))
		return -ENOMEM;
	memcpy(st->keyprefix, p->prefix, n);
	memcpy(st->keyprefix + n, "call:", sizeof("call:"));
	st->keyprefix_len = n + 5;
	if ((st->pattern = store_pattern(st->keyprefix)) == NULL)
		return -ENOMEM;
	st->ttl_ms = (uint64_t)p->ttl_s * 1000;
	st->max_pending = p->max_pending > 0 ? p->max_pending : 1;
	st->on_up = p->on_up;
	st->ctx = p->ctx;
	st->retry_min_ms = p->retry_min_ms ? p->retry_min_ms :
	    STORE_RETRY_MIN_MS;
	st->retry_max_ms = p->retry_max_ms ? p->retry_max_ms :
	    STORE_RETRY_MAX_MS;
	if (st->retry_max_ms < st->retry_min_ms)
		st->retry_max_ms = st->retry_min_ms;
	st->retry_ms = st->retry_min_ms;
	st->connect_timeout_ms = p->connect_timeout_ms ? p->connect_timeout_ms :
	    STORE_CONNECT_MS;
	return 0;
}

static void
store_free_params(struct store *st)
{
	if (st->password != NULL) {
		OPENSSL_cleanse(st->password, strlen(st->password));
		free(st->password);
	}
	free(st->addr);
	free(st->keyprefix);
	free(st->pattern);
	st->password = st->addr = st->keyprefix = st->pattern = NULL;
}

static void
timer_closed(uv_handle_t *h)
{
	free(h);
}

int
store_init(struct store *st, uv_loop_t *loop, const struct store_params *p)
{
	int r;

	memset(st, 0, sizeof(*st));	/* strmap_free() takes it zeroed */
	st->loop = loop;
	if ((r = store_copy_params(st, p)) < 0)
		goto fail;
	r = -ENOMEM;
	if (strmap_init(&st->queued, 256) < 0 ||
	    (st->timer = malloc(sizeof(*st->timer))) == NULL)
		goto fail;
	if ((r = uv_timer_init(loop, st->timer)) < 0)
		goto fail;
	st->timer->data = st;
	store_connect(st);
	return 0;
fail:
	free(st->timer);	/* not a handle yet */
	strmap_free(&st->queued);
	store_free_params(st);
	memset(st, 0, sizeof(*st));
	st->closed = 1;		/* store_close() has nothing to do */
	return r;
}

void
store_close(struct store *st)
{
	if (st->closed)
		return;
	st->closed = 1;
	/* Its command's callback frees it, with no call to done(). */
	st->load = NULL;
	store_drop_conn(st);
	while (st->head != NULL) {
		struct store_op *op = st->head;

		queue_unlink(st, op);
		op_free(op);
	}
	strmap_free(&st->queued);
	uv_timer_stop(st->timer);
	st->timer->data = NULL;
	uv_close((uv_handle_t *)st->timer, timer_closed);
	st->timer = NULL;
	store_free_params(st);
}
