# shellcheck shell=bash
# Helpers of the benchmarks that run a whole operator (bench_lifecycle.sh,
# bench_cron.sh, bench_leader.sh); sourced, not run (scripts/bench skips it). They read SUP (the
# supervisor's pid) and M (its metrics URL) from the caller.

# bench_cluster: with OMJOB_TEST_CLUSTER=external the caller's cluster (KUBECONFIG
# admin, OMJOB_TEST_KUBECONFIG the operator's), else one started here for this run
# (CLUSTER names its state, for the caller's cleanup to stop; BENCH_STATE, when
# set, is its state directory). Reads REPO and TMP.
bench_cluster() {
	if [ "${OMJOB_TEST_CLUSTER:-}" = external ]; then
		: "${KUBECONFIG:?OMJOB_TEST_CLUSTER=external needs KUBECONFIG (admin)}"
		: "${OMJOB_TEST_KUBECONFIG:?OMJOB_TEST_CLUSTER=external needs OMJOB_TEST_KUBECONFIG}"
		[ -n "${OMJOB_CLUSTER_BIN:-}" ] && PATH=$OMJOB_CLUSTER_BIN:$PATH
	else
		eval "$("$REPO/tests/cluster/up" --owner-pid $$ ${BENCH_STATE:+--state "$BENCH_STATE"} 2>"$TMP/up.log")" || {
			cat "$TMP/up.log" >&2
			exit 1
		}
		# shellcheck disable=SC2034 # read by the caller's cleanup
		CLUSTER=$OMJOB_CLUSTER_STATE
	fi
}

# stop_op: SIGTERM to the supervisor, and wait for it.
stop_op() {
	[ -n "$SUP" ] || return 0
	kill -TERM "$SUP" 2>/dev/null || true
	wait "$SUP" 2>/dev/null || true
	SUP=""
}
metrics() { curl -s -m 10 "$M/metrics"; }
# msum NAME MATCH: the sum of a metric's samples whose line contains MATCH.
msum() { metrics | awk -v n="$1" -v m="$2" '(index($0, n "{") == 1 || index($0, n " ") == 1) && (m == "" || index($0, m)) {s += $NF} END {print s + 0}'; }
# pss_total: the Pss (KiB) of the supervisor and its roles.
pss_total() {
	local p k t=0
	for p in "$SUP" $(ps -o pid= --ppid "$SUP"); do
		k=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		t=$((t + ${k:-0}))
	done
	echo "$t"
}
