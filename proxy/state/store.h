/*
 * store.h - the calls' records in Redis (issue 15), over one hiredis
 * connection driven by the libuv loop: nothing here blocks the loop, and
 * the packet path never comes here.
 *
 * Writes are fire-and-forget for the caller: store_put() and store_del()
 * queue a write and return.  A queued write that is not sent yet is
 * replaced by a newer one for the same id (only the newest state of a
 * call matters), the queue is bounded (beyond max_pending the oldest
 * queued write is dropped and counted as failed), and while Redis is
 * down writes wait in it and go when the connection is back.  Every key
 * gets an expiry (PX ttl), so a lost delete cannot leak a record.
 *
 * One owner: the fields of struct store are store.c's.  hiredis write()s
 * to its socket: SIGPIPE must be ignored (main.c does).
 */
#ifndef TLSTRUNK_STORE_H
#define TLSTRUNK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "strmap.h"

struct store_op;
struct store_conn;
struct store_load;

struct store_params {
	const char *addr;	/* "ip:port", "[v6]:port" or an absolute
				   unix socket path; never a host name
				   (hiredis would resolve it blocking) */
	const char *password;	/* AUTH password, NULL for none */
	const char *prefix;	/* key prefix: keys are <prefix>call:<id> */
	unsigned ttl_s;		/* expiry of each record */
	size_t max_pending;	/* queued writes at most (0: 1) */
	/* Called each time the connection is up, AUTH done (optional). */
	void (*on_up)(void *ctx);
	void *ctx;
	/* Reconnect delay, first and largest; 0: 1000 and 5000 ms.  How
	 * long a connect and AUTH may take; 0: 5000 ms.  (Tests shorten.) */
	unsigned retry_min_ms, retry_max_ms;
	unsigned connect_timeout_ms;
};

struct store_status {
	int connected;		/* connected and authenticated */
	size_t pending;		/* writes queued or sent, not yet answered */
	uint64_t written_total;	/* writes Redis acknowledged */
	uint64_t failed_total;	/* dropped (queue full) or refused */
};

/* A rate limit for one kind of log line. */
struct store_ratelimit {
	uint64_t at;		/* loop ms of the last line */
	int armed;		/* a line was logged */
	uint64_t quiet;		/* events not logged since */
};

struct store {
	uv_loop_t *loop;
	char *addr;		/* as given: for logs and connecting */
	char host[64];		/* IP literal, or "" for a unix path */
	uint16_t port;
	char *password;		/* wiped when closed */
	char *keyprefix;	/* <prefix>call: */
	size_t keyprefix_len;
	char *pattern;		/* SCAN MATCH: keyprefix glob-escaped, '*' */
	uint64_t ttl_ms;
	size_t max_pending;
	void (*on_up)(void *ctx);
	void *ctx;
	unsigned retry_min_ms, retry_max_ms, connect_timeout_ms;

	struct store_conn *conn;	/* NULL while there is none */
	int up;				/* conn connected and authenticated */
	unsigned retry_ms;		/* next reconnect delay */
	uv_timer_t *timer;		/* reconnect and connect timeout; its
					   own allocation: closing outlives st */

	struct strmap queued;		/* id -> its queued op */
	struct store_op *head, *tail;	/* queued, oldest first */
	struct store_op *requeue_at;	/* last op put back after a drop */
	size_t nqueued, nsent;
	uint64_t seq;			/* orders the writes */
	uint64_t written, failed;

	struct store_load *load;	/* the load in progress, NULL */
	struct store_ratelimit log_down, log_drop, log_err;
	int closed;
};

/*
 * Copy p and start connecting (asynchronously).  0, -EINVAL (an addr
 * that is not an IP literal with its port or an absolute path, no
 * prefix, ttl 0) or -ENOMEM.
 */
int store_init(struct store *st, uv_loop_t *loop,
    const struct store_params *p);

/*
 * SET <prefix>call:<id> to the len bytes at val (copied), with the
 * expiry.  0 (queued or sent), -EINVAL (empty id), -E2BIG (len over
 * CALLREC_MAX: a load would skip it), -ENOMEM.
 */
int store_put(struct store *st, const char *id, const char *val, size_t len);

/* DEL <prefix>call:<id>, in place of a write still queued for it. */
int store_del(struct store *st, const char *id);

/* One record found by store_load: the id (the key without the prefix
 * and "call:") and its value (not NUL-terminated, at most CALLREC_MAX). */
typedef void (*store_each_fn)(void *ctx, const char *id, const char *val,
    size_t len);
/* The end of a load: 0, or -ECONNRESET (the connection went down, or
 * Redis refused a command), -ENOMEM. */
typedef void (*store_done_fn)(void *ctx, int err);

/*
 * Every record under the prefix (SCAN, then MGET of each batch): each()
 * for each record (values over CALLREC_MAX and keys that hold no string
 * are skipped, an id comes once), then done().  Returns 0 (started),
 * -ENOTCONN (not connected now: the caller decides how long to wait,
 * e.g. until on_up), -EBUSY (a load is in progress) or -ENOMEM.  After
 * store_close(), neither callback is called.
 */
int store_load(struct store *st, store_each_fn each, store_done_fn done,
    void *ctx);

void store_status(const struct store *st, struct store_status *out);

/*
 * End the connection, drop what is queued (values wiped: they hold
 * keys) and close the timer.  st may go right after; the loop must run
 * again for the handles to finish closing.  Safe when never connected,
 * twice, and from inside each/done/on_up.
 */
void store_close(struct store *st);

#endif
