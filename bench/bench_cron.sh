#!/usr/bin/env bash
# The CronOMJob scheduler under load (issue 10), against the local control plane,
# with the whole operator running as its restricted identity. Figures, each from
# one run:
#
#  1. lateness: BENCH_CRON_N (1,000) CronOMJobs on "* * * * *" (OpenMetadata's
#     shape, tests/fixtures/cronomjob-k8spipelineclient.yaml, concurrencyPolicy
#     Allow), all due at the same second, over BENCH_CRON_MINUTES (2) scheduled
#     minutes: for each run, the arrival of its OMJob's ADDED event on a WATCH of
#     ours (kubectl, stamped on arrival, ms) minus the scheduled-at annotation;
#     p50, p99, max, and runs missing when the next minute comes. Next to it the
#     floor the client rate limit alone puts on N creates from one process
#     (KUBE_QPS 50, KUBE_BURST 100: the i-th request waits (i - burst) / qps): the
#     scheduler is one process, so its token bucket, not the design, bounds this;
#     and lateness / floor for p50 and p99 (1.0: the rate limit alone). The
#     issue's p50 <= 100 ms / p99 <= 1 s lies below that floor at 1,000, so the
#     same is measured at low load ("low": BENCH_CRON_LOW_N, 50, due at once,
#     under the burst) where that target must hold. Next to the low figure, the
#     API server's own floor measured in the same run, the same way: the operator
#     stopped, lifecycle_driver burst creates the same N OMJobs (a run's body the
#     scheduler made) from 16 warm connections sharing one client at 50/100 at a
#     whole second, and our watch stamps their arrivals (cron_lateness_low_
#     apiserver_floor_*, and our p50 over it).
#     The reconcilers are disabled (--disable-role reconciler): the runs' OMJobs
#     are created and not run, so the figure is the scheduler's alone and not the
#     reconcilers' pod traffic on the same 2 cores (BENCH_CRON_RECONCILERS=1 runs
#     them too, with instant kwok pods and no exit handler).
#  2. API requests per scheduled run, by verb, from the operator's
#     rest_client_requests_total (every role) between just before the first
#     measured minute and just before the minute after the last, divided by the
#     runs it created (omjob_cron_runs_created_total); by role in the notes.
#  3. PSS (sum of /proc/<pid>/smaps_rollup Pss of the supervisor and every role)
#     of the operator with BENCH_CRON_MEM_N (10,000) CronOMJobs cached and
#     scheduled, next to the same operator measured before they existed; KiB per
#     CronOMJob, and the average size of one CronOMJob's JSON for comparison
#     (target: under 1 KiB per CronOMJob beyond its cached JSON). They are on
#     "0 0 29 2 *" (valid, scheduled: the next time is 29 February 2028), so they
#     make no OMJob and each holds a timer. This run raises the client limit
#     (KUBE_QPS 1000, KUBE_BURST 2000) only so that the first status write of each
#     takes seconds, not minutes: memory does not depend on it.
#
# BENCH_CRON_RAISED=1 repeats 1 and 2 with the raised limit (the scheduler itself).
# BENCH_CRON_LOG_LEVEL (WARN) is the operator's LOG_LEVEL: INFO logs each run's
# "run created" with where its lateness went (pass_began_ms: the pass began after
# the scheduled time; fetch_ms: the watcher's GET_KEY; create_ms: the POST, its
# rate limit wait included); BENCH_CRON_KEEP_LOGS=DIR keeps the operator's logs.
# Prints "BENCH <name> <value> <unit>" lines on stdout, details as "# ..." on
# stderr. Its own cluster unless OMJOB_TEST_CLUSTER=external (KUBECONFIG,
# OMJOB_TEST_KUBECONFIG). BENCH_CRON_PARTS: "1 low 3" by default (2 comes with
# 1 and low). About 13 minutes with the defaults (a Debug build measured 10,000 creates in 98 s),
# plus the time for part 3's CronOMJobs to be cached and scheduled, capped at
# BENCH_CRON_SETTLE_S (330; a hint lost by pub/sub shows as a gap within a second
# and the scheduler resyncs then; cron_unscheduled_* counts those still without);
# BENCH_CRON_RAISED=1 adds about 4.
set -euo pipefail
: "${OMJOB_BIN:?OMJOB_BIN must name the omjob-operator binary}"
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib.sh
. "$REPO/tests/lib.sh" # free_ports, now_ms
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh" # stop_op, metrics, msum, pss_total
BIN=$(readlink -f "$OMJOB_BIN")
DRV=$(dirname "$BIN")/lifecycle_driver # the API server's floor at low load
[ -x "$DRV" ] || { echo "bench_cron: $DRV not built" >&2; exit 1; }
TMP=$(mktemp -d /tmp/omc.XXXXXX) # short: the run dir holds IPC socket paths
CLUSTER=""
SUP=""
PIDS=()
NAMESPACES=()
N=${BENCH_CRON_N:-1000}
MINUTES=${BENCH_CRON_MINUTES:-2}
NMEM=${BENCH_CRON_MEM_N:-10000}
NLOW=${BENCH_CRON_LOW_N:-50}
PARTS=${BENCH_CRON_PARTS:-1 low 3}
RECONCILERS=${BENCH_CRON_RECONCILERS:-0}
LABEL=omjob-bench=$$

note() { echo "# $*" >&2; } # figures' details on stderr (not tests/lib.sh's note)
sleep_until() { # UNIX-SECONDS
	local d
	d=$(awk -v t="$1" -v n="$EPOCHREALTIME" 'BEGIN {d = t - n; print (d > 0 ? d : 0)}')
	sleep "$d"
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	stop_op
	if [ -n "$CLUSTER" ]; then
		"$REPO/tests/cluster/down" "$CLUSTER" >/dev/null 2>&1 || true
	else
		for ns in "${NAMESPACES[@]}"; do kubectl delete ns "$ns" --wait=false >/dev/null 2>&1 || true; done
	fi
	if [ -n "${BENCH_CRON_KEEP_LOGS:-}" ]; then
		mkdir -p "$BENCH_CRON_KEEP_LOGS" && cp "$TMP"/operator.*.log "$BENCH_CRON_KEEP_LOGS"/ 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

bench_cluster
export KUBECONFIG # admin: kubectl; the operator runs as itself
OPCONF=$OMJOB_TEST_KUBECONFIG

read -r HP MP <<<"$(free_ports 2)"
H=http://127.0.0.1:$HP
M=http://127.0.0.1:$MP
RUNS=0

start_op() { # [ARGS-TO-THE-OPERATOR --] [ENV=VALUE...]
	local args=()
	if [ "${1:-}" = --disable-role ]; then
		args=("$1" "$2")
		shift 2
	fi
	RUNS=$((RUNS + 1))
	OPLOG=$TMP/operator.$RUNS.log
	env KUBECONFIG="$OPCONF" OMJOB_RUN_DIR="$TMP/r$RUNS" HEALTH_CHECK_PORT="$HP" METRICS_PORT="$MP" \
		OMJOB_HTTP_BIND_ADDRESS=127.0.0.1 RECONCILIATION_THREADS=5 LOG_LEVEL="${BENCH_CRON_LOG_LEVEL:-WARN}" "$@" \
		"$BIN" "${args[@]}" 2>>"$OPLOG" &
	SUP=$!
	for _ in $(seq 300); do
		[ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$H/readyz")" = 200 ] && return 0
		sleep 0.1
	done
	echo "bench_cron: operator not ready in 30 s" >&2
	tail -20 "$OPLOG" >&2
	exit 1
}
pss_each() {
	local p
	for p in "$SUP" $(ps -o pid= --ppid "$SUP"); do
		printf '%s=%s ' "$(cat "/proc/$p/comm" 2>/dev/null)" "$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)"
	done
}
new_ns() { # VAR PREFIX
	local n
	n=$2-$(printf '%04x%04x' $RANDOM $RANDOM)
	kubectl create namespace "$n" >/dev/null
	kubectl label namespace "$n" "$LABEL" >/dev/null
	NAMESPACES+=("$n")
	printf -v "$1" %s "$n"
}
del_ns() { # NS: deleted, waiting until it is gone
	local t0
	t0=$(now_ms)
	kubectl delete namespace "$1" --wait=true --timeout=600s >/dev/null
	note "namespace $1 deleted in $(($(now_ms) - t0)) ms"
}
kill_tree() { # PID: it and every process under it, parents first (no restart)
	local all p q
	all=$1
	q=$1
	while [ -n "$q" ]; do
		# shellcheck disable=SC2086 # a list of pids
		q=$(ps -o pid= --ppid "$(echo $q | tr ' ' ,)" 2>/dev/null | tr -s ' \n' ' ' || true)
		q=${q# }
		all="$all $q"
	done
	for p in $all; do kill "$p" 2>/dev/null || true; done
}
pct() { # P: the P-th percentile of the numbers on stdin (nearest rank)
	sort -n | awk -v p="$1" '{v[NR] = $1} END {if (NR == 0) {print "nan"; exit} r = int(NR * p / 100 + 0.999999); if (r < 1) r = 1; print v[r]}'
}

# The template: OpenMetadata's CronOMJob (the ConfigMap is not needed: runs are
# either not run, or run on kwok without reading it).
kubectl create --dry-run=client -o json -f "$REPO/tests/fixtures/cronomjob-k8spipelineclient.yaml" |
	jq -c '(.items // [.])[] | select(.kind == "CronOMJob") | del(.metadata.namespace)' >"$TMP/cron.json"
# make NS COUNT PREFIX SCHEDULE EXTRA-JQ: COUNT CronOMJobs created by 4 kubectl
# processes at once (one List each).
make_crons() {
	local ns=$1 n=$2 prefix=$3 sched=$4 extra=$5 k t0 pids=() p
	t0=$(now_ms)
	for k in 0 1 2 3; do
		jq -c --argjson n "$n" --argjson k "$k" --arg p "$prefix" --arg s "$sched" '
			. as $c | {apiVersion: "v1", kind: "List", items: [range($k; $n; 4) as $i
			| $c | .metadata.name = ($p + ($i | tostring)) | .spec.schedule = $s | '"$extra"']}' "$TMP/cron.json" \
			>"$TMP/list.$k.json"
		kubectl create -n "$ns" -f "$TMP/list.$k.json" >/dev/null 2>"$TMP/create.$k.err" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || { cat "$TMP"/create.*.err >&2; exit 1; }; done
	note "created $n CronOMJobs in $ns in $(($(now_ms) - t0)) ms (4 kubectl create in parallel)"
}

# reqs M0 M1: per-verb and per-role deltas of rest_client_requests_total.
reqs() {
	awk '
		function lab(s, k,   r) { if (match(s, k "=\"[^\"]*\"")) { r = substr(s, RSTART + length(k) + 2, RLENGTH - length(k) - 3); return r } return "" }
		/^rest_client_requests_total\{/ {
			key = lab($0, "role") SUBSEP lab($0, "code") SUBSEP lab($0, "method")
			if (FILENAME == ARGV[1]) before[key] = $NF; else after[key] = $NF
		}
		END {
			for (k in after) {
				split(k, p, SUBSEP); d = after[k] - before[k]
				all[p[3]] += d
				if (p[2] !~ /^2/) bad[p[3]] += d
				g = p[1]; sub(/-[0-9]+$/, "", g); if (d > 0) byrole[g "/" p[3]] += d
			}
			for (v in all) printf "verb %s %d %d\n", v, all[v], bad[v]
			for (r in byrole) printf "role %s %d\n", r, byrole[r]
		}' "$1" "$2"
}

# ---------------------------------------------------------------------------------
# 1 and 2. Lateness and requests per run.
part1() { # NAME COUNT [ENV=VALUE...]
	local name=$1 N=$2 ns extra first
	shift 2
	new_ns ns bc-late
	if [ "$RECONCILERS" = 1 ]; then
		# Instant kwok pods, no exit handler; Forbid (the default) never blocks then.
		extra='.spec.omJobSpec.mainPodSpec.annotations = {"sim.omjob.test/exit-code": "0"} | del(.spec.omJobSpec.exitHandlerSpec)'
		start_op "$@"
		note "part 1 ($name): $N CronOMJobs on \"* * * * *\", reconcilers running (instant kwok pods, no exit handler)"
	else
		extra='.spec.concurrencyPolicy = "Allow"'
		start_op --disable-role reconciler "$@"
		note "part 1 ($name): $N CronOMJobs on \"* * * * *\", concurrencyPolicy Allow, reconcilers disabled (OMJobs created, not run)"
	fi
	note "  operator env: ${*:-default client limit (KUBE_QPS 50, KUBE_BURST 100)}"
	make_crons "$ns" "$N" c "* * * * *" "$extra"
	# Each new CronOMJob gets its first status write: wait until the scheduler's
	# requests stop for 3 s (or 120 s), then measure from the next full minute.
	local last=-1 cur still=0
	for _ in $(seq 240); do
		cur=$(metrics | awk '/^rest_client_requests_total\{/ && /role="scheduler/ && !/method="(GET|LIST|WATCH)"/ {s += $NF} END {print s + 0}')
		if [ "$cur" = "$last" ]; then still=$((still + 1)); else still=0; fi
		last=$cur
		[ "$still" -ge 6 ] && break
		sleep 0.5
	done
	# Every CronOMJob must have had its first pass (a next time): up to 60 s more.
	for _ in $(seq 120); do
		[ "$(msum omjob_cron_scheduled '')" -ge "$N" ] && break
		sleep 0.5
	done
	local sched
	sched=$(msum omjob_cron_scheduled '')
	note "  settled: the scheduler made $cur writes for the new CronOMJobs; cached $(msum omjob_watcher_cache_objects 'resource="cronomjobs"') CronOMJobs, omjob_cron_scheduled $sched"
	echo "BENCH cron_unscheduled_${name} $((N - sched)) cronomjobs"
	[ "$sched" -ge "$N" ] || note "  WARNING: $((N - sched)) of $N CronOMJobs have had no pass (no status, no next time) before the first measured minute: their runs will be missing"
	first=$((($(date +%s) + 3) / 60 * 60 + 60))
	# The watch of ours: every OMJob of the namespace, stamped on arrival. The API
	# server may close a watch (under load, or at its timeout): it is opened again
	# at once with a LIST first, whose ADDED lines repeat OMJobs already seen (the
	# first arrival counts) and stamp those created in the gap late (counted too:
	# a pessimistic figure, never an optimistic one). Restarts are noted.
	(while :; do
		kubectl get omj -n "$ns" --watch --output-watch-events \
			-o jsonpath='{.type} {.object.metadata.name} {.object.metadata.annotations.pipelines\.openmetadata\.org/scheduled-at}{"\n"}' 2>>"$TMP/watch.err"
		echo "RESTART - -"
		sleep 0.2
	done | while read -r t n s; do
		case $t in
		ADDED) echo "${EPOCHREALTIME/./} $n $s" ;;
		RESTART) echo "${EPOCHREALTIME/./} RESTART -" ;;
		esac
	done >"$TMP/arr.$name") &
	PIDS+=($!)
	sleep_until $((first - 1))
	metrics >"$TMP/m0.$name"
	sleep_until $((first + 60 * MINUTES - 1))
	metrics >"$TMP/m1.$name"
	local created missed
	created=$(($(awk '/^omjob_cron_runs_created_total/ {s += $NF} END {print s + 0}' "$TMP/m1.$name") - $(awk '/^omjob_cron_runs_created_total/ {s += $NF} END {print s + 0}' "$TMP/m0.$name")))
	missed=$(awk '/^omjob_cron_skipped_total\{/ {s += $NF} END {print s + 0}' "$TMP/m1.$name")
	local lat
	lat=$(awk '/^omjob_cron_lateness_seconds_(sum|count)/ {print $1, $NF}' "$TMP/m1.$name" | tr '\n' ' ')
	stop_op
	# The API server's own floor for this second (low load only): no operator, the
	# same watch, a burst of N creates of a run's body from the scheduler's 16
	# workers' worth of connections (SCHED_WORKERS, roles/scheduler/scheduler.c)
	# sharing one client at the default limit, at a whole second.
	local fat=0
	if [ "$name" = low ]; then
		kubectl get omj -n "$ns" -o json | jq '.items[0] | del(.status) |
			.metadata |= del(.uid, .resourceVersion, .generation, .managedFields, .creationTimestamp)' >"$TMP/run.json"
		fat=$(($(date +%s) + 3))
		"$DRV" burst "$ns" "$N" --template "$TMP/run.json" --prefix floor --workers 16 \
			--qps 50 --burst 100 --at "$fat" >"$TMP/floor.$name" 2>>"$TMP/floor.err" ||
			note "  WARNING: the floor burst failed: $(tail -3 "$TMP/floor.err")"
		sleep 3 # the watch's last arrivals
	fi
	kill_tree "${PIDS[-1]}"
	unset 'PIDS[-1]'
	local restarts
	restarts=$(grep -c ' RESTART ' "$TMP/arr.$name" || true)
	[ "$restarts" -eq 0 ] || note "  our watch was closed and reopened $restarts times (arrivals of OMJobs created while it was down are late)"
	# Lateness of each run of the measured minutes.
	local at
	for at in $(awk '$3 ~ /^[0-9]/ {print $3}' "$TMP/arr.$name" | sort -u); do echo "$at $(date -u -d "$at" +%s)"; done >"$TMP/at.$name"
	awk -v first="$first" -v mins="$MINUTES" -v map="$TMP/at.$name" '
		BEGIN { while ((getline l < map) > 0) { split(l, f, " "); e[f[1]] = f[2] } }
		($3 in e) && !seen[$2]++ && $2 !~ /^floor-/ { t = e[$3]; if (t >= first && t < first + 60 * mins) print int($1 / 1000) - t * 1000 }' "$TMP/arr.$name" >"$TMP/lat.$name"
	local got want=$((N * MINUTES))
	got=$(wc -l <"$TMP/lat.$name")
	local p50 p99 max
	p50=$(pct 50 <"$TMP/lat.$name")
	p99=$(pct 99 <"$TMP/lat.$name")
	max=$(pct 100 <"$TMP/lat.$name")
	echo "BENCH cron_lateness_${name}_p50_ms $p50 ms"
	echo "BENCH cron_lateness_${name}_p99_ms $p99 ms"
	echo "BENCH cron_lateness_${name}_max_ms $max ms"
	echo "BENCH cron_runs_missing_${name} $((want - got)) runs"
	if [ "$name" = default ]; then
		# The floor of the client limit alone for N creates from one process whose
		# bucket is full at the minute: the i-th request goes at (i - burst) / qps.
		local f50 f99
		f50=$(awk -v n="$N" 'BEGIN {r = n * 0.5 - 100; print (r > 0 ? r / 50 * 1000 : 0)}')
		f99=$(awk -v n="$N" 'BEGIN {r = n * 0.99 - 100; print (r > 0 ? r / 50 * 1000 : 0)}')
		echo "BENCH cron_lateness_ratelimit_floor_p50_ms $f50 ms"
		echo "BENCH cron_lateness_ratelimit_floor_p99_ms $f99 ms"
		# The issue's absolute target lies below that floor: said, not gamed (no
		# run created before its time, the default limit kept).
		echo "BENCH cron_lateness_target_below_floor_p50_ms $(awk -v f="$f50" 'BEGIN {print (f > 100 ? f - 100 : 0)}') ms"
		echo "BENCH cron_lateness_target_below_floor_p99_ms $(awk -v f="$f99" 'BEGIN {print (f > 1000 ? f - 1000 : 0)}') ms"
		# No run arrived (our watch closed by the API server under load): nan, no arithmetic.
		[ "$p50" = nan ] || note "  the target (p50 <= 100 ms, p99 <= 1000 ms) is below the default limit's own floor for $N creates (p50 $f50 ms, p99 $f99 ms) and cannot be met from one process at that limit; we exceed the floor by $((p50 - ${f50%.*})) ms (p50) and $((p99 - ${f99%.*})) ms (p99)"
		# How far above the floor: 1.0 is the rate limit alone.
		echo "BENCH cron_lateness_over_floor_p50 $(awk -v l="$p50" -v f="$f50" 'BEGIN {printf "%.3f", (f > 0 ? l / f : 0)}') ratio"
		echo "BENCH cron_lateness_over_floor_p99 $(awk -v l="$p99" -v f="$f99" 'BEGIN {printf "%.3f", (f > 0 ? l / f : 0)}') ratio"
	fi
	if [ "$name" = low ]; then
		note "  targets at low load ($N due at once, under the burst of 100): p50 <= 100 ms, p99 <= 1000 ms"
		# The floor's lateness, measured as ours (watch arrival - the second).
		awk -v at="$fat" '$2 ~ /^floor-/ && !seen[$2]++ {print int($1 / 1000) - at * 1000}' "$TMP/arr.$name" >"$TMP/flat.$name"
		local fp50 fp99 fn
		fn=$(wc -l <"$TMP/flat.$name")
		fp50=$(pct 50 <"$TMP/flat.$name")
		fp99=$(pct 99 <"$TMP/flat.$name")
		echo "BENCH cron_lateness_low_apiserver_floor_p50_ms $fp50 ms"
		echo "BENCH cron_lateness_low_apiserver_floor_p99_ms $fp99 ms"
		echo "BENCH cron_lateness_low_over_apiserver_floor_p50 $(awk -v l="$p50" -v f="$fp50" 'BEGIN {printf "%.3f", (f > 0 ? l / f : 0)}') ratio"
		note "  the API server's own floor, same watch, no operator: $fn of $N plain creates of the same body (16 connections, one client at 50/100) at $(date -u -d "@$fat" +%T): arrival p50 $fp50 p99 $fp99 ms; the replies: $(awk '/^RESULT burst_created_p(50|99)_ms/ {printf "%s %s ms ", $2, $3}' "$TMP/floor.$name")"
	fi
	note "  $got of $want runs of $MINUTES minutes ($(date -u -d "@$first" +%T) on) arrived before the next minute; lateness = watch arrival - scheduled-at: p50 $p50 p90 $(pct 90 <"$TMP/lat.$name") p99 $p99 max $max ms; runs created in the window (omjob_cron_runs_created_total): $created; skipped (omjob_cron_skipped_total, all reasons): $missed"
	note "  the operator's own omjob_cron_lateness_seconds: $lat"
	# 2. Requests per run.
	reqs "$TMP/m0.$name" "$TMP/m1.$name" >"$TMP/r.$name"
	local v all bad tot=0
	for v in POST PATCH PUT DELETE GET LIST WATCH; do
		read -r all bad < <(awk -v v="$v" '$1 == "verb" && $2 == v {print $3, $4; f = 1} END {if (!f) print 0, 0}' "$TMP/r.$name")
		tot=$((tot + all))
		echo "BENCH cron_api_requests_per_run_${name}_$(tr A-Z a-z <<<"$v") $(awk -v a="$all" -v n="$created" 'BEGIN {printf "%.3f", (n > 0 ? a / n : 0)}') requests"
		[ "$bad" -gt 0 ] && note "  $v: $bad answered non-2xx"
	done
	echo "BENCH cron_api_requests_per_run_${name}_total $(awk -v a="$tot" -v n="$created" 'BEGIN {printf "%.3f", (n > 0 ? a / n : 0)}') requests"
	# The floor of the default limit for all of the scheduler's requests of a
	# minute (r per run, the runs of one minute in one bucket of 50/s, burst 100).
	[ "$name" = default ] && note "  floor at 50/100 for all $(awk -v a="$tot" -v n="$created" 'BEGIN {printf "%.1f", (n > 0 ? a / n : 0)}') requests per run of the $((created / MINUTES)) runs a minute: p50 $(awk -v a="$tot" -v n="$created" -v m="$MINUTES" 'BEGIN {r = (n > 0 ? a / n : 0); k = n / m; f = (k * 0.5 * r - 100) / 50; printf "%.0f", (f > 0 ? f * 1000 : 0)}') ms, p99 $(awk -v a="$tot" -v n="$created" -v m="$MINUTES" 'BEGIN {r = (n > 0 ? a / n : 0); k = n / m; f = (k * 0.99 * r - 100) / 50; printf "%.0f", (f > 0 ? f * 1000 : 0)}') ms"
	note "  by role over the window (totals, $created runs): $(awk '$1 == "role" {printf "%s=%d ", $2, $3}' "$TMP/r.$name")"
	del_ns "$ns"
}

# ---------------------------------------------------------------------------------
# 3. Memory with NMEM CronOMJobs cached and scheduled.
part3() {
	local ns idle loaded c s json
	new_ns ns bc-mem
	start_op KUBE_QPS=1000 KUBE_BURST=2000
	sleep 5
	idle=$(pss_total)
	note "part 3: idle PSS $idle KiB ($(pss_each)); now $NMEM CronOMJobs on \"0 0 29 2 *\""
	make_crons "$ns" "$NMEM" m "0 0 29 2 *" .
	# Up to BENCH_CRON_SETTLE_S (330: past one periodic resync, OMJOB_RESYNC_SECONDS
	# 300, a safety margin: lost hints are resynced within a second or two) for
	# every one to be cached and scheduled.
	local t0
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt $((${BENCH_CRON_SETTLE_S:-330} * 1000)) ]; do
		c=$(msum omjob_watcher_cache_objects 'resource="cronomjobs"')
		s=$(msum omjob_cron_scheduled '')
		[ "$c" -ge "$NMEM" ] && [ "$s" -ge "$NMEM" ] && break
		sleep 0.5
	done
	note "  all cached and scheduled after $(($(now_ms) - t0)) ms (or the wait ended): cached $c, omjob_cron_scheduled $s"
	# ... and their first status writes done (the cache then holds them with status).
	local last=-1 cur still=0
	for _ in $(seq 600); do
		cur=$(metrics | awk '/^rest_client_requests_total\{/ && /role="scheduler/ {s += $NF} END {print s + 0}')
		if [ "$cur" = "$last" ]; then still=$((still + 1)); else still=0; fi
		last=$cur
		[ "$still" -ge 6 ] && break
		sleep 0.5
	done
	sleep 5
	loaded=$(pss_total)
	c=$(msum omjob_watcher_cache_objects 'resource="cronomjobs"')
	s=$(msum omjob_cron_scheduled '')
	note "  cached $c CronOMJobs, omjob_cron_scheduled $s, scheduler requests $cur; per process KiB: $(pss_each)"
	stop_op
	json=$(kubectl get comj -n "$ns" -o json | jq '[.items[] | del(.metadata.managedFields) | tojson | length] | add / length | floor')
	local per
	per=$(awk -v a="$loaded" -v b="$idle" -v n="$NMEM" 'BEGIN {printf "%.3f", (a - b) / n}')
	echo "BENCH cron_unscheduled_mem $((NMEM - s)) cronomjobs"
	echo "BENCH cron_pss_idle_kib $idle KiB"
	echo "BENCH cron_pss_${NMEM}_cronomjobs_kib $loaded KiB"
	echo "BENCH cron_pss_per_cronomjob_kib $per KiB"
	echo "BENCH cron_json_per_cronomjob_kib $(awk -v j="$json" 'BEGIN {printf "%.3f", j / 1024}') KiB"
	echo "BENCH cron_pss_per_cronomjob_beyond_json_kib $(awk -v p="$per" -v j="$json" 'BEGIN {printf "%.3f", p - j / 1024}') KiB"
	note "  one CronOMJob's JSON as served (status included, managedFields left out): $json bytes on average; target: under 1 KiB per CronOMJob beyond it"
	# Our own cluster goes as a whole; an external one gets its namespace back.
	[ -n "$CLUSTER" ] || del_ns "$ns"
}

note "load before: $(uptime)"
for part in $PARTS; do
	case $part in
	1)
		part1 default "$N"
		[ "${BENCH_CRON_RAISED:-0}" = 1 ] && part1 raised "$N" KUBE_QPS=1000 KUBE_BURST=2000
		;;
	low) part1 low "$NLOW" ;;
	3) part3 ;;
	*) echo "bench_cron: unknown part $part" >&2; exit 1 ;;
	esac
done
note "load after: $(uptime)"
