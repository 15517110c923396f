/* Answered INVITEs remembered by server key, and forgotten on time. */
#include <criterion/criterion.h>
#include <uv.h>

#include "accepted.h"

static void
run_for(uv_loop_t *loop, uint64_t ms)
{
	uint64_t end = uv_now(loop) + ms;

	while (uv_now(loop) < end) {
		uv_run(loop, UV_RUN_NOWAIT);
		uv_sleep(2);
		uv_update_time(loop);
	}
}

Test(accepted, remembers_then_forgets_in_order)
{
	uv_loop_t loop;
	struct accepted a;

	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(accepted_init(&a, &loop, 100), 0);
	cr_assert_eq(accepted_add(&a, "z9hG4bK1/10.0.0.1:5060/INVITE", "z9hG4bKttA1"), 0);
	cr_assert_eq(accepted_add(&a, "z9hG4bK1/10.0.0.1:5060/INVITE", "z9hG4bKttA1"), 0);
	cr_assert_eq(a.count, 1, "a key is kept once");
	run_for(&loop, 60);
	cr_assert_eq(accepted_add(&a, "z9hG4bK2/10.0.0.1:5060/INVITE", "z9hG4bKttA2"), 0);
	cr_assert(accepted_has(&a, "z9hG4bK1/10.0.0.1:5060/INVITE"));
	cr_assert(accepted_has(&a, "z9hG4bK2/10.0.0.1:5060/INVITE"));
	cr_assert_not(accepted_has(&a, "z9hG4bK3/10.0.0.1:5060/INVITE"));
	cr_assert(accepted_has_branch(&a, "z9hG4bKttA1"));
	cr_assert(accepted_has_branch(&a, "z9hG4bKttA2"));
	cr_assert_not(accepted_has_branch(&a, "z9hG4bK1/10.0.0.1:5060/INVITE"),
	    "server keys and branches are looked up apart");
	run_for(&loop, 60);	/* 120 ms: the first is gone, not the second */
	cr_assert_not(accepted_has(&a, "z9hG4bK1/10.0.0.1:5060/INVITE"));
	cr_assert_not(accepted_has_branch(&a, "z9hG4bKttA1"));
	cr_assert(accepted_has(&a, "z9hG4bK2/10.0.0.1:5060/INVITE"));
	run_for(&loop, 60);
	cr_assert_not(accepted_has(&a, "z9hG4bK2/10.0.0.1:5060/INVITE"));
	cr_assert_eq(a.count, 0);
	cr_assert_eq(accepted_add(&a, "z9hG4bK4/10.0.0.1:5060/INVITE", "z9hG4bKttA4"), 0);
	accepted_close(&a);
	uv_run(&loop, UV_RUN_DEFAULT);
	accepted_free(&a);
	cr_assert_eq(uv_loop_close(&loop), 0);
}
