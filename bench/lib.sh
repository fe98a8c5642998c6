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
# op_pids: the supervisor and its roles.
op_pids() {
	echo "$SUP"
	ps -o pid= --ppid "$SUP"
}
# pss_total [FIELD]: the sum of FIELD (default Pss; Pss_Anon, Pss_File) of
# /proc/<pid>/smaps_rollup over the supervisor and its roles, in KiB.
pss_total() {
	local p k t=0
	for p in $(op_pids); do
		k=$(awk -v f="${1:-Pss}:" '$1 == f {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		t=$((t + ${k:-0}))
	done
	echo "$t"
}
# pss_alone: what the operator's Pss would be if no other process on the machine
# mapped its libraries: Pss_Anon (its anonymous pages are shared only among its own
# processes, all forked from the supervisor) plus every resident page of a mapped
# file counted once (per file and offset, the largest Rss - Anonymous of any of its
# processes). Pss_File alone depends on what else runs: a second operator, or any
# curl, on the machine halves the operator's share of libcrypto.
pss_alone() {
	local f=0
	f=$(for p in $(op_pids); do cat "/proc/$p/smaps" 2>/dev/null; done | awk '
		/^[0-9a-f]+-[0-9a-f]+ / { key = ($6 ~ /^\//) ? $6 " " $3 " " $2 : ""; next }
		key == "" { next }
		$1 == "Rss:" { rss = $2 }
		$1 == "Anonymous:" { v = rss - $2; if (v > m[key]) m[key] = v }
		END { for (k in m) s += m[k]; print s + 0 }')
	echo $(($(pss_total Pss_Anon) + f))
}
# pss_kinds: the operator's Pss (KiB) by kind of mapping, summed over its
# processes: heap (brk), main stacks, other anonymous mappings (thread stacks,
# malloc's per-thread arenas, large blocks), libraries' written (relocated) pages,
# libraries' file pages. The split of a library mapping is pro rata Anonymous/Rss.
pss_kinds() {
	for p in $(op_pids); do cat "/proc/$p/smaps" 2>/dev/null; done | awk '
		/^[0-9a-f]+-[0-9a-f]+ / { k = $6 == "[heap]" ? "heap" : $6 == "[stack]" ? "main-stacks" : $6 ~ /^\// ? "lib" : $6 == "" ? "anon-mmap" : "other"; next }
		$1 == "Rss:" { rss = $2 }
		$1 == "Pss:" { pss = $2 }
		$1 == "Anonymous:" {
			if (k == "lib") { a = rss ? pss * $2 / rss : 0; s["lib-written"] += a; s["lib-file"] += pss - a }
			else s[k] += pss
		}
		END { for (k in s) printf "%s %.0f, ", k, s[k] }'
}
# pss_breakdown: per process "comm=anon/file" KiB (Pss_Anon/Pss_File) and thread count.
pss_breakdown() {
	local p
	for p in $(op_pids); do
		printf '%s=%s/%s(%s thr) ' "$(cat "/proc/$p/comm" 2>/dev/null)" \
			"$(awk '$1 == "Pss_Anon:" {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)" \
			"$(awk '$1 == "Pss_File:" {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)" \
			"$(find "/proc/$p/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
	done
}
