# shellcheck shell=bash
# Helpers of the benchmarks that run a whole operator (bench_lifecycle.sh,
# bench_cron.sh); sourced, not run (scripts/bench skips it). They read SUP (the
# supervisor's pid) and M (its metrics URL) from the caller.

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
