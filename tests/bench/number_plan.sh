# tests/bench/number_plan.sh - sourced by sip_bench.sh (ROUTES=1) and
# plan_bench.sh: the number plan of issue 17's benchmark, 20 [rule]s and
# 50 [route]s in one trunk's file.  The benchmark calls (+1NXXNXXXXXX,
# sip_bench's B_USER) are taken by route 49 after 48 to_cloud routes for
# other numbers were tried, and rewritten by 4 rules on the Request-URI
# and To (9 stripped only when there, national and back, a regex check)
# and 2 on From: the cloud still sees the number the PBX sent.
write_number_plan() {
	local i
	printf '\n[rule strip9]\nstrip = 1\nonly = 9*\n'
	printf '\n[rule us-national]\nfrom_e164 = 1\n'
	printf '\n[rule us-e164]\nto_e164 = 1\n'
	printf '\n[rule us-check]\nmatch = ^\\+1([2-9][0-9]{9})$\nreplace = +1$1\n'
	for i in $(seq 1 16); do
		printf '\n[rule other%02d]\nmatch = ^\\+%d(\\d+)$\nreplace = 00%d$1\n' \
			"$i" $((30 + i)) $((30 + i))
	done
	for i in $(seq 1 48); do
		printf '\n[route out%02d]\ndirection = to_cloud\nnumber = +%d*\ntrunk = default\ncalled = other%02d\n' \
			"$i" $((200 + i)) $(((i - 1) % 16 + 1))
	done
	printf '\n[route out-us]\ndirection = to_cloud\nnumber = +1*\ntrunk = default\n'
	printf 'called = strip9,us-national,us-e164,us-check\ncalling = us-national,us-e164\n'
	printf '\n[route in-all]\ndirection = to_pbx\npbx = default\n'
}
