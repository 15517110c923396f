/*
 * test_store.c - struct store against a real redis-server, started here
 * on a unix socket in a temporary directory (no TCP port, nothing
 * saved): writes and their expiry, coalescing, delete, AUTH, Redis down
 * and back (the queue bounded, then flushed), the load of many records
 * with foreign keys beside them, and closing at awkward moments.  A
 * second, synchronous hiredis connection looks at what is in Redis.
 * Skipped when redis-server is not installed (tests/run.sh installs it).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "callrec.h"
#include "log.h"
#include "store.h"

#define PREFIX		"tt:"
#define PASSWORD	"s3cret pass"

static char dir[64];
static char sock[128];
static char logpath[128];
static pid_t redis_pid = -1;
static uv_loop_t loop;
static uv_timer_t ticker;
static struct store st;
static int st_live;

/* Records a load handed out. */
struct seen {
	int n, done, err;
	char ids[256][64];
	size_t lens[256];
	char first[64];
	int close_in_each;
};

static int
have_redis_server(void)
{
	const char *path = getenv("PATH");
	char buf[1024], *save = NULL, *d, *copy;
	int found = 0;

	if (path == NULL || (copy = strdup(path)) == NULL)
		return 0;
	for (d = strtok_r(copy, ":", &save); d != NULL && !found;
	    d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/redis-server", d);
		found = access(buf, X_OK) == 0;
	}
	free(copy);
	return found;
}

/* A synchronous connection for looking; AUTH when pw. */
static redisContext *
sync_connect(const char *pw)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectUnixWithTimeout(sock, tv);
	redisReply *r;

	if (c == NULL || c->err) {
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	r = pw != NULL ? redisCommand(c, "AUTH %s", pw) :
	    redisCommand(c, "PING");
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		if (r != NULL)
			freeReplyObject(r);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(r);
	return c;
}

static void
redis_start(const char *pw)
{
	uint64_t end;
	redisContext *c;

	redis_pid = fork();
	cr_assert_neq(redis_pid, -1);
	if (redis_pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		char *argv[] = { "redis-server", "--port", "0", "--unixsocket",
		    sock, "--unixsocketperm", "700", "--save", "",
		    "--appendonly", "no", "--dir", dir, "--requirepass",
		    (char *)pw, NULL };

		if (pw == NULL)
			argv[13] = NULL;
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp("redis-server", argv);
		_exit(127);
	}
	end = uv_hrtime() + UINT64_C(5000000000);
	while (uv_hrtime() < end) {
		if ((c = sync_connect(pw)) != NULL) {
			redisFree(c);
			return;
		}
		usleep(10000);
	}
	cr_assert_fail("redis-server did not come up (see %s)", logpath);
}

static void
redis_kill(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
		redis_pid = -1;
	}
	unlink(sock);
}

static void
on_tick(uv_timer_t *t)
{
}

static void
setup(void)
{
	log_init(LOG_INFO, 0);
	/* hiredis write()s to a socket Redis may have closed: as main.c. */
	signal(SIGPIPE, SIG_IGN);
	if (!have_redis_server())
		cr_skip_test("redis-server is not installed");
	strcpy(dir, "/tmp/tlstrunk-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/redis.log", dir);
	cr_assert_eq(uv_loop_init(&loop), 0);
	/* The loop wakes up at least this often: RUN_UNTIL looks. */
	cr_assert_eq(uv_timer_init(&loop, &ticker), 0);
	uv_timer_start(&ticker, on_tick, 10, 10);
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void
teardown(void)
{
	if (dir[0] == '\0')
		return;
	if (st_live)
		store_close(&st);
	st_live = 0;
	uv_close((uv_handle_t *)&ticker, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	/* Every handle closed: a leaked one is a bug of store.c. */
	cr_expect_eq(uv_loop_close(&loop), 0, "a handle outlived the store");
	redis_kill();
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 20);

#define RUN_UNTIL(cond, ms) do {					\
	uint64_t end_ = uv_hrtime() + (uint64_t)(ms) * 1000000;		\
	while (!(cond) && uv_hrtime() < end_)				\
		uv_run(&loop, UV_RUN_ONCE);				\
} while (0)

static void
run_for(int ms)
{
	uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000;

	while (uv_hrtime() < end)
		uv_run(&loop, UV_RUN_ONCE);
}

static struct store_status
status(void)
{
	struct store_status s;

	store_status(&st, &s);
	return s;
}

static int ups;		/* on_up calls */

static void
on_up(void *ctx)
{
	cr_assert_eq(ctx, &ups);
	cr_assert(status().connected, "on_up before connected");
	ups++;
}

static void
open_store(const char *pw, size_t max_pending)
{
	struct store_params p = {
		.addr = sock, .password = pw, .prefix = PREFIX,
		.ttl_s = 600, .max_pending = max_pending,
		.retry_min_ms = 50, .retry_max_ms = 200,
		.on_up = on_up, .ctx = &ups,
	};

	cr_assert_eq(store_init(&st, &loop, &p), 0);
	st_live = 1;
}

static void
open_connected(const char *pw, size_t max_pending)
{
	open_store(pw, max_pending);
	RUN_UNTIL(status().connected, 3000);
	cr_assert(status().connected, "not connected");
}

/* GET key (binary) through a sync connection: malloc'd, or NULL. */
static char *
sync_get(const char *pw, const char *key, size_t *len)
{
	redisContext *c = sync_connect(pw);
	redisReply *r;
	char *v = NULL;

	cr_assert_not_null(c);
	r = redisCommand(c, "GET %s", key);
	cr_assert_not_null(r);
	if (r->type == REDIS_REPLY_STRING) {
		v = malloc(r->len + 1);
		memcpy(v, r->str, r->len + 1);
		*len = r->len;
	}
	freeReplyObject(r);
	redisFree(c);
	return v;
}

static long long
sync_int(const char *pw, const char *fmt, const char *key)
{
	redisContext *c = sync_connect(pw);
	redisReply *r;
	long long v;

	cr_assert_not_null(c);
	r = redisCommand(c, fmt, key);
	cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER, "%s %s", fmt,
	    key);
	v = r->integer;
	freeReplyObject(r);
	redisFree(c);
	return v;
}

static void
sync_cmd(const char *pw, const char *fmt, const char *a, const char *b,
    size_t blen)
{
	redisContext *c = sync_connect(pw);
	redisReply *r;

	cr_assert_not_null(c);
	r = redisCommand(c, fmt, a, b, blen);
	cr_assert(r != NULL && r->type != REDIS_REPLY_ERROR, "%s", fmt);
	freeReplyObject(r);
	redisFree(c);
}

static void
on_each(void *ctx, const char *id, const char *val, size_t len)
{
	struct seen *s = ctx;

	if (s->n < 256) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", id);
		s->lens[s->n] = len;
	}
	if (s->n == 0)
		snprintf(s->first, sizeof(s->first), "%.*s",
		    (int)(len < 63 ? len : 63), val);
	s->n++;
	if (s->close_in_each) {
		store_close(&st);
		st_live = 0;
	}
}

static void
on_done(void *ctx, int err)
{
	struct seen *s = ctx;

	s->done++;
	s->err = err;
}

static int
seen_has(const struct seen *s, const char *id)
{
	for (int i = 0; i < s->n && i < 256; i++)
		if (strcmp(s->ids[i], id) == 0)
			return 1;
	return 0;
}

Test(store, put_ttl_load_del)
{
	static const char bin[] = "v=1\nnode=a\0binary\xff\n";
	static struct seen s;
	char *v;
	size_t len = 0;
	long long pttl;

	redis_start(NULL);
	open_connected(NULL, 100);
	cr_assert_eq(store_put(&st, "call-1@host", bin, sizeof(bin) - 1), 0);
	cr_assert_eq(store_put(&st, "call 2=odd%", "two", 3), 0);
	RUN_UNTIL(status().written_total == 2, 2000);
	cr_assert_eq(status().written_total, 2);
	cr_expect_eq(status().pending, 0);
	cr_expect_eq(status().failed_total, 0);

	v = sync_get(NULL, PREFIX "call:call-1@host", &len);
	cr_assert_not_null(v);
	cr_expect_eq(len, sizeof(bin) - 1);
	cr_expect(memcmp(v, bin, len) == 0, "value not binary-safe");
	free(v);
	pttl = sync_int(NULL, "PTTL %s", PREFIX "call:call 2=odd%");
	cr_expect(pttl > 590000 && pttl <= 600000, "PTTL %lld", pttl);

	cr_assert_eq(store_load(&st, on_each, on_done, &s), 0);
	cr_expect_eq(store_load(&st, on_each, on_done, &s), -EBUSY);
	RUN_UNTIL(s.done, 2000);
	cr_assert_eq(s.done, 1);
	cr_expect_eq(s.err, 0);
	cr_expect_eq(s.n, 2);
	cr_expect(seen_has(&s, "call-1@host"));
	cr_expect(seen_has(&s, "call 2=odd%"));

	cr_assert_eq(store_del(&st, "call-1@host"), 0);
	RUN_UNTIL(status().written_total == 3, 2000);
	cr_expect_eq(sync_int(NULL, "EXISTS %s", PREFIX "call:call-1@host"), 0);
	cr_expect_eq(sync_int(NULL, "EXISTS %s", PREFIX "call:call 2=odd%"), 1);

	cr_expect_eq(store_put(&st, "", "x", 1), -EINVAL);
	cr_expect_eq(store_del(&st, ""), -EINVAL);
	cr_expect_eq(store_put(&st, "big", bin, CALLREC_MAX + 1), -E2BIG);
}

/* Writes queued before the connection is up: one per call, the last. */
Test(store, coalesces_before_connect)
{
	char *v;
	size_t len = 0;

	redis_start(NULL);
	open_store(NULL, 100);
	cr_assert_eq(status().connected, 0);
	cr_assert_eq(store_put(&st, "c1", "first", 5), 0);
	cr_assert_eq(store_put(&st, "c1", "second", 6), 0);
	cr_assert_eq(store_put(&st, "c2", "gone", 4), 0);
	cr_assert_eq(store_del(&st, "c2"), 0);
	cr_expect_eq(status().pending, 2);
	RUN_UNTIL(status().connected && status().pending == 0, 3000);
	cr_assert_eq(status().written_total, 2, "%llu writes",
	    (unsigned long long)status().written_total);
	v = sync_get(NULL, PREFIX "call:c1", &len);
	cr_assert_not_null(v);
	cr_expect_eq(len, 6);
	cr_expect(memcmp(v, "second", 6) == 0);
	free(v);
	cr_expect_eq(sync_int(NULL, "EXISTS %s", PREFIX "call:c2"), 0);
}

/* stderr into a file while fn runs; what was written. */
static char *
capture_stderr(void (*fn)(void))
{
	char path[192];
	static char buf[8192];
	int fd, saved;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr.txt", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static void
wrong_password_run(void)
{
	open_store("not the password", 100);
	run_for(400);
}

static void
run_half_second(void)
{
	run_for(500);
}

static void
no_password_run(void)
{
	open_store(NULL, 100);
	run_for(300);
}

Test(store, auth)
{
	char *log;

	redis_start(PASSWORD);
	open_connected(PASSWORD, 100);
	cr_assert_eq(store_put(&st, "a", "1", 1), 0);
	RUN_UNTIL(status().written_total == 1, 2000);
	cr_expect_eq(status().written_total, 1);
	store_close(&st);
	st_live = 0;

	log = capture_stderr(wrong_password_run);
	cr_expect_eq(status().connected, 0);
	cr_expect_not_null(strstr(log, "refused AUTH"), "log: %s", log);
	cr_expect_null(strstr(log, "not the password"), "password logged");
	/* Tried again, but said once per 30 s. */
	if (strstr(log, "refused AUTH") != NULL)
		cr_expect_null(strstr(strstr(log, "refused AUTH") + 1,
		    "refused AUTH"), "log: %s", log);
	cr_assert_eq(store_put(&st, "b", "1", 1), 0);
	run_for(100);
	cr_expect_eq(status().pending, 1);
	cr_expect_eq(status().written_total, 0);
	store_close(&st);
	st_live = 0;

	log = capture_stderr(no_password_run);
	cr_expect_eq(status().connected, 0);
	cr_expect_not_null(strstr(log, "refused PING"), "log: %s", log);
}

Test(store, down_bounded_then_flushed)
{
	char id[32], *v;
	size_t len;

	redis_start(NULL);
	open_connected(NULL, 5);
	cr_expect_eq(ups, 1);
	redis_kill();
	RUN_UNTIL(!status().connected, 2000);
	cr_assert_eq(status().connected, 0);
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "down-%d", i);
		cr_assert_eq(store_put(&st, id, id, strlen(id)), 0);
	}
	cr_expect_eq(status().pending, 5);
	cr_expect_eq(status().failed_total, 3);
	/* A newer state of a queued call replaces it, not another call. */
	cr_assert_eq(store_put(&st, "down-7", "latest", 6), 0);
	cr_expect_eq(status().pending, 5);
	cr_expect_eq(status().failed_total, 3);
	run_for(300);		/* a few reconnects fail */
	cr_expect_eq(status().connected, 0);

	redis_start(NULL);
	RUN_UNTIL(status().connected && status().pending == 0, 3000);
	cr_assert(status().connected, "did not reconnect");
	cr_expect_eq(ups, 2, "on_up once per connection");
	cr_expect_eq(status().written_total, 5);
	for (int i = 0; i < 8; i++) {
		char key[64];

		snprintf(key, sizeof(key), PREFIX "call:down-%d", i);
		v = sync_get(NULL, key, &len);
		if (i < 3) {
			cr_expect_null(v, "%s: dropped write arrived", key);
		} else {
			cr_expect_not_null(v, "%s: lost", key);
			if (v != NULL && i == 7)
				cr_expect_str_eq(v, "latest");
		}
		free(v);
	}
}

Test(store, load_many_and_foreign_keys)
{
	static struct seen s;
	static char big[CALLREC_MAX + 2];
	char id[32];

	redis_start(NULL);
	open_connected(NULL, 1000);
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "call-%03d", i);
		cr_assert_eq(store_put(&st, id, id, strlen(id)), 0);
	}
	RUN_UNTIL(status().written_total == 200, 3000);
	cr_assert_eq(status().written_total, 200);
	memset(big, 'x', sizeof(big));
	sync_cmd(NULL, "SET %s %b", PREFIX "call:big", big, CALLREC_MAX + 1);
	sync_cmd(NULL, "SET %s %b", PREFIX "other", "x", 1);
	sync_cmd(NULL, "SET %s %b", "elsewhere:call:x", "x", 1);
	sync_cmd(NULL, "RPUSH %s %b", PREFIX "call:list", "x", 1);
	sync_cmd(NULL, "SET %s %b", PREFIX "call:garbage", "not a record", 12);
	sync_cmd(NULL, "SET %s %b", PREFIX "call:forged\nlog line", "x", 1);

	cr_assert_eq(store_load(&st, on_each, on_done, &s), 0);
	RUN_UNTIL(s.done, 3000);
	cr_assert_eq(s.done, 1);
	cr_expect_eq(s.err, 0);
	/* The 200 and the garbage (callrec_decode's to refuse); not the
	 * oversized value, the list, nor keys outside <prefix>call:. */
	cr_expect_eq(s.n, 201, "%d records", s.n);
	cr_expect(seen_has(&s, "call-000"));
	cr_expect(seen_has(&s, "call-199"));
	cr_expect(seen_has(&s, "garbage"));
	cr_expect(!seen_has(&s, "big"));
	cr_expect(!seen_has(&s, "list"));
	for (int i = 0; i < s.n && i < 256; i++)
		cr_expect_leq(s.lens[i], CALLREC_MAX);
}

Test(store, not_connected)
{
	static struct seen s;
	struct store_params p = { .addr = "relative.sock", .prefix = PREFIX,
	    .ttl_s = 60, .max_pending = 10 };

	/* Nobody listens on sock: a store that never connects. */
	open_store(NULL, 10);
	run_for(150);
	cr_expect_eq(status().connected, 0);
	cr_expect_eq(store_load(&st, on_each, on_done, &s), -ENOTCONN);
	cr_assert_eq(store_put(&st, "q", "secret key", 10), 0);
	cr_expect_eq(status().pending, 1);
	store_close(&st);
	store_close(&st);	/* twice is fine */
	st_live = 0;
	cr_expect_eq(store_put(&st, "q", "x", 1), -EINVAL);

	cr_expect_eq(store_init(&st, &loop, &p), -EINVAL);
	p.addr = "redis.example.com:6379";
	cr_expect_eq(store_init(&st, &loop, &p), -EINVAL);
	p.addr = "127.0.0.1";
	cr_expect_eq(store_init(&st, &loop, &p), -EINVAL);
	p.addr = "[::1]:6379";
	p.ttl_s = 0;
	cr_expect_eq(store_init(&st, &loop, &p), -EINVAL);
	store_close(&st);	/* after a failed init: nothing to do */
	/* A TCP address where nothing listens: refused, retried, closed. */
	p.addr = "127.0.0.1:1";
	p.ttl_s = 60;
	cr_expect_eq(store_init(&st, &loop, &p), 0);
	st_live = 1;
	run_for(100);
	cr_expect_eq(status().connected, 0);
}

/* Closing with writes in flight, and from inside a load's callback. */
Test(store, close_while_busy)
{
	static struct seen s;
	char id[32];

	redis_start(NULL);
	open_connected(NULL, 1000);
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "busy-%d", i);
		cr_assert_eq(store_put(&st, id, "v", 1), 0);
	}
	cr_expect_gt(status().pending, 0);
	store_close(&st);	/* 64 sent, the rest queued: all freed */
	st_live = 0;
	run_for(50);

	open_connected(NULL, 1000);
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "kept-%d", i);
		cr_assert_eq(store_put(&st, id, "v", 1), 0);
	}
	RUN_UNTIL(status().written_total == 3, 2000);
	cr_assert_eq(status().written_total, 3);
	s.close_in_each = 1;
	cr_assert_eq(store_load(&st, on_each, on_done, &s), 0);
	RUN_UNTIL(s.n > 0, 2000);
	cr_expect_eq(s.n, 1, "each() after store_close()");
	run_for(50);
	cr_expect_eq(s.done, 0, "done() after store_close()");
}

/*
 * Writes in flight when the connection drops: Redis stopped (the writes
 * sit in the socket, unanswered), then killed.  They go again after
 * the reconnect, in their order, except one a newer state replaced.
 */
Test(store, in_flight_requeued_on_drop)
{
	char id[32], key[64], *v;
	size_t len;

	redis_start(NULL);
	open_connected(NULL, 1000);
	kill(redis_pid, SIGSTOP);
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		cr_assert_eq(store_put(&st, id, "old", 3), 0);
	}
	run_for(50);		/* the window's worth sent, no answer */
	cr_assert_eq(store_put(&st, "p0", "new", 3), 0);
	cr_expect_eq(status().pending, 101);
	redis_kill();
	RUN_UNTIL(!status().connected, 2000);
	cr_assert_eq(status().connected, 0);
	/* p0's "old" went: "new" is queued. */
	cr_expect_eq(status().pending, 100);
	cr_expect_eq(status().failed_total, 0);
	cr_expect_eq(status().written_total, 0);

	redis_start(NULL);
	RUN_UNTIL(status().connected && status().pending == 0, 3000);
	cr_assert_eq(status().pending, 0);
	cr_expect_eq(status().written_total, 100);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), PREFIX "call:p%d", i);
		v = sync_get(NULL, key, &len);
		cr_expect_not_null(v, "%s lost", key);
		if (v != NULL)
			cr_expect_str_eq(v, i == 0 ? "new" : "old", "%s", key);
		free(v);
	}
}

/* A server that accepts and never answers: PING times out, tried again. */
Test(store, handshake_timeout)
{
	struct store_params p = { .addr = sock, .prefix = PREFIX, .ttl_s = 60,
	    .max_pending = 10, .retry_min_ms = 50, .retry_max_ms = 50,
	    .connect_timeout_ms = 100 };
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char *log;

	cr_assert_geq(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_assert_lt(strlen(sock), sizeof(sun.sun_path));
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(store_init(&st, &loop, &p), 0);
	st_live = 1;
	cr_assert_eq(store_put(&st, "t", "v", 1), 0);
	log = capture_stderr(run_half_second);
	cr_expect_eq(status().connected, 0);
	cr_expect_eq(status().pending, 1);
	cr_expect_not_null(strstr(log, "unreachable (timed out)"), "log: %s",
	    log);
	store_close(&st);
	st_live = 0;
	close(fd);
}
