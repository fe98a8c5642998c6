#!/usr/bin/env bash
# The memory curve at scale (issue 14): OMJobs in the state the operator leaves them
# with the exit handler running (finalizer, ExitHandlerRunning status, main pod
# done, exit pod running: 2 kwok pods each), written in bulk by lifecycle_driver
# populate with the operator stopped, in one namespace grown step by step
# (BENCH_SCALE_STEPS, default "1000 5000 10000" OMJobs). At each step the whole
# operator (supervisor, watcher, 5 reconcilers, cleaner, httpd) starts on the lot
# and, once every OMJob and pod is cached and the work queues are empty, prints
# "BENCH <name> <value> <unit>" lines:
#   scale_<N>_pss_kib              PSS of all its processes
#   scale_<N>_kib_per_omjob        that PSS / N, and the growth per OMJob since the
#   scale_<N>_growth_kib_per_omjob previous step (target <= 3 KiB between 1,000 and
#                                  10,000, and about the same at every step)
#   scale_<N>_resync_ms            the watcher SIGKILLed: its initial sync (its
#                                  "watcher started" to its "synced" log line), and
#   scale_<N>_kill_to_synced_ms    from the kill (the supervisor's restart backoff in)
#   scale_<N>_list_floor_ms        the API server's own floor, taken right after: curl
#                                  reading the same two LISTs (every OMJob, the pods by
#                                  the watcher's label selector) with the same page size,
#                                  concurrently as the watcher does, bytes only (the
#                                  continue token cut from each page's opening); and
#   scale_<N>_resync_vs_floor_ratio resync_ms / list_floor_ms (target: 5 s of resync)
#   scale_<N>_pss_after_resync_ratio PSS once resynced and settled / PSS before the
#                                  kill (target <= 1.10)
#   scale_<N>_dispatch_p50_ms/_p99_ms exit-handler dispatch of BENCH_SCALE_DISPATCH_N
#                                  (100) OMJobs at 10/s (pods run 1 s) in another
#                                  namespace while the rest stay cached (target p99
#                                  at 10,000 <= 1.5 x p99 at 1,000: the ratio line)
# With BENCH_SCALE_BEFORE naming another binary (the operator before a change), each
# step measures it too, on the same objects: the same lines as scale_before_<N>_...
# populate also posts the Events the operator would have posted on the way (the ones
# the reconcilers' restart check lists per OMJob), so a step's first start posts none:
# it settles once each reconciler has listed the Events of its keys (one LIST each).
# The machine's load average is noted at each step. Needs the control plane: reuses
# the one of the environment with OMJOB_TEST_CLUSTER=external, else starts one.
# BENCH_SCALE_WORKERS/_QPS: the driver's writers (32 at 400 QPS each);
# BENCH_SCALE_KWOK_WAIT_S: how long kwok may take to play a step's new pods (default
# 600 s + 0.3 s per OMJob added). KEEP_NS=1 keeps
# the populated namespace; BENCH_SCALE_NS=<it> starts from it in a later run.
set -euo pipefail
: "${OMJOB_BIN:?OMJOB_BIN must name the omjob-operator binary}"
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh" # bench_cluster, stop_op, metrics, msum, pss_total
. "$REPO/tests/lib.sh" # free_ports, wait_until
BIN=$(readlink -f "$OMJOB_BIN")
BEFORE=${BENCH_SCALE_BEFORE:+$(readlink -f "$BENCH_SCALE_BEFORE")}
DRV=${BENCH_DRIVER:-$(dirname "$BIN")/lifecycle_driver}
[ -x "$DRV" ] || { echo "bench_scale: $DRV not built" >&2; exit 1; }
TMP=$(mktemp -d /tmp/omsc.XXXXXX) # short: the run dir holds IPC socket paths
CLUSTER=""
SUP=""
NAMESPACES=()
STEPS=${BENCH_SCALE_STEPS:-1000 5000 10000}
DN=${BENCH_SCALE_DISPATCH_N:-100}
WORKERS=${BENCH_SCALE_WORKERS:-32}
QPS=${BENCH_SCALE_QPS:-400}
LABEL=omjob-bench=$$

note() { echo "# $*" >&2; }

cleanup() {
	stop_op
	if [ -n "$CLUSTER" ]; then
		"$REPO/tests/cluster/down" "$CLUSTER" >/dev/null 2>&1 || true
	elif [ "${#NAMESPACES[@]}" -gt 0 ]; then
		for ns in "${NAMESPACES[@]}"; do
			[ -z "${KEEP_NS:-}" ] || [[ $ns != bs-scale-* ]] || { echo "kept $ns" >&2; continue; }
			kubectl get ns "$ns" >/dev/null 2>&1 || continue
			"$DRV" strip "$ns" >/dev/null 2>&1 || true
			kubectl delete ns "$ns" --wait=false >/dev/null 2>&1 || true
		done
	fi
	if [ -n "${KEEP_LOGS:-}" ]; then echo "logs kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

bench_cluster
export KUBECONFIG
OPCONF=$OMJOB_TEST_KUBECONFIG
# The operator's credentials, for list_floor's curl.
LSERVER=$(kubectl config view --raw --minify --kubeconfig "$OPCONF" -o jsonpath='{.clusters[0].cluster.server}')
LCA=$(kubectl config view --raw --minify --kubeconfig "$OPCONF" -o jsonpath='{.clusters[0].cluster.certificate-authority}')
LTOKEN=$(kubectl config view --raw --minify --kubeconfig "$OPCONF" -o jsonpath='{.users[0].user.token}')
read -r HP MP <<<"$(free_ports 2)"
H=http://127.0.0.1:$HP
# shellcheck disable=SC2034 # read by bench/lib.sh (metrics)
M=http://127.0.0.1:$MP
RUNS=0
dns=

start_op() { # BIN
	RUNS=$((RUNS + 1))
	OPLOG=$TMP/operator.$RUNS.log
	env KUBECONFIG="$OPCONF" OMJOB_RUN_DIR="$TMP/r$RUNS" HEALTH_CHECK_PORT="$HP" METRICS_PORT="$MP" \
		OMJOB_HTTP_BIND_ADDRESS=127.0.0.1 RECONCILIATION_THREADS=5 LOG_LEVEL=INFO LOG_FORMAT=json \
		"$1" 2>>"$OPLOG" &
	SUP=$!
	wait_until 600 op_ready && return 0
	echo "bench_scale: operator not ready in 600 s" >&2
	tail -20 "$OPLOG" >&2
	exit 1
}
op_ready() { [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$H/readyz")" = 200 ]; }
new_ns() { # VAR PREFIX
	local n
	n=$2-$(printf '%04x%04x' $RANDOM $RANDOM)
	kubectl create namespace "$n" >/dev/null
	kubectl label namespace "$n" "$LABEL" >/dev/null
	NAMESPACES+=("$n")
	printf -v "$1" %s "$n"
}
res() { awk -v k="$2" '$1 == "RESULT" && $2 == k {print $3}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "nan"}'; }
# settled N: every OMJob of the scale namespace (N) and its pods cached, work queues
# empty three samples in a row (the start-up pass, Event backfill included, done).
settled() {
	local o p q calm=0
	for _ in $(seq 1200); do
		o=$(msum omjob_watcher_cache_objects 'resource="omjobs"')
		p=$(msum omjob_watcher_cache_objects 'resource="pods"')
		q=$(msum workqueue_depth '')
		if [ "$o" -ge "$1" ] && [ "$p" -ge $((2 * $1)) ] && [ "$q" -eq 0 ]; then
			calm=$((calm + 1))
			[ "$calm" -ge 3 ] && return 0
		else
			calm=0
		fi
		sleep 0.5
	done
	note "not settled: $o OMJobs, $p pods cached, queue depth $q"
	return 1
}
# kwok_caught_up N: N main pods Succeeded and N exit pods Running in the scale namespace.
kwok_caught_up() {
	local ok run
	ok=$(kubectl get pods -n "$ns" --field-selector=status.phase=Succeeded --no-headers 2>/dev/null | wc -l)
	run=$(kubectl get pods -n "$ns" --field-selector=status.phase=Running --no-headers 2>/dev/null | wc -l)
	[ "$ok" -ge "$1" ] && [ "$run" -ge "$1" ] && return 0
	sleep 10
	return 1
}
# list_pages PATH OUT: reads every page of the LIST at PATH (limit 500, the
# watcher's LIST_PAGE) into OUT, parsing nothing but the continue token.
list_pages() {
	local cont=""
	while :; do
		# not "curl" as the user agent: the API server pretty-prints for that one
		curl -sf -A omjob-list-floor -H 'Accept: application/json' --cacert "$LCA" \
			-H "Authorization: Bearer $LTOKEN" -G -o "$2" \
			--data-urlencode "limit=500" ${cont:+--data-urlencode "continue=$cont"} "$LSERVER$1" || return 1
		# metadata opens a pod list and closes an OMJob list (a CRD's keys sorted)
		cont=$({ head -c 4096 "$2"; tail -c 4096 "$2"; } | grep -ao '"continue": *"[^"]*"' | head -1 | cut -d'"' -f4)
		[ -n "$cont" ] || return 0
	done
}
# list_floor: ms to read the OMJob and pod LISTs of the watcher's sync, concurrently.
list_floor() {
	local t0 a b
	t0=$(date +%s%3N)
	list_pages /apis/pipelines.openmetadata.org/v1/omjobs "$TMP/lf.o" &
	a=$!
	list_pages "/api/v1/pods?labelSelector=omjob.pipelines.openmetadata.org%2Fname" "$TMP/lf.p" &
	b=$!
	wait "$a" && wait "$b" || return 1
	echo $(($(date +%s%3N) - t0))
}
watcher_pid() { ps -o pid=,comm= --ppid "$SUP" | awk '$2 == "watcher" {print $1; exit}'; }
# log_ms PID MSG: the wall-clock ms of the operator's log line MSG from process PID.
log_ms() {
	local t
	t=$(jq -r --argjson p "$1" --arg m "$2" 'select(.pid == $p and .msg == $m) | .time' "$OPLOG" 2>/dev/null | tail -1)
	[ -n "$t" ] && date -d "$t" +%s%3N
}

# measure TAG BIN: the figures of this step for the operator binary BIN, BENCH names
# scale_<TAG><N>_...
measure() {
	local tag=$1 bin=$2 t0 pss pss2 per old new tk ts tsy p99 fetches floor
	t0=$(date +%s%3N)
	start_op "$bin"
	settled "$n" || exit 1
	echo "BENCH scale_${tag}${n}_start_settled_ms $(($(date +%s%3N) - t0)) ms"
	sleep 5
	pss=$(pss_total)
	per=$(for pid in "$SUP" $(ps -o pid= --ppid "$SUP"); do
		printf '%s=%s ' "$(cat /proc/"$pid"/comm)" "$(awk '/^Pss:/ {print $2}' /proc/"$pid"/smaps_rollup)"
	done)
	echo "BENCH scale_${tag}${n}_pss_kib $pss KiB"
	echo "BENCH scale_${tag}${n}_kib_per_omjob $(awk -v p="$pss" -v n="$n" 'BEGIN {printf "%.2f", p / n}') KiB"
	if [ "$prev_n" -gt 0 ]; then
		echo "BENCH scale_${tag}${n}_growth_kib_per_omjob $(awk -v a="$pss" -v b="${PREV_PSS[${tag:-after}]}" -v n="$n" -v m="$prev_n" 'BEGIN {printf "%.2f", (a - b) / (n - m)}') KiB"
	fi
	PREV_PSS[${tag:-after}]=$pss
	note "  per process KiB: $per"
	echo "BENCH scale_${tag}${n}_watcher_pss_kib $(awk '/^Pss:/ {print $2}' /proc/"$(watcher_pid)"/smaps_rollup) KiB"

	# The watcher SIGKILLed: its resync, and the PSS it leaves.
	old=$(watcher_pid)
	tk=$(date +%s%3N)
	kill -KILL "$old"
	new=""
	for _ in $(seq 600); do
		new=$(watcher_pid)
		if [ -n "$new" ] && [ "$new" != "$old" ] && [ -n "$(log_ms "$new" 'synced: every initial LIST is in')" ]; then break; fi
		sleep 0.1
	done
	ts=$(log_ms "$new" 'watcher started')
	tsy=$(log_ms "$new" 'synced: every initial LIST is in')
	if [ -z "$ts" ] || [ -z "$tsy" ]; then
		note "  the new watcher did not log its sync"
		exit 1
	fi
	echo "BENCH scale_${tag}${n}_resync_ms $((tsy - ts)) ms"
	echo "BENCH scale_${tag}${n}_kill_to_synced_ms $((tsy - tk)) ms"
	# CPU (utime + stime) of the new watcher so far: its sync and little else.
	echo "BENCH scale_${tag}${n}_resync_watcher_cpu_ms $(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' /proc/"$new"/stat) ms"
	echo "BENCH scale_${tag}${n}_resync_load_1min $(cut -d' ' -f1 /proc/loadavg) load"
	floor=$(list_floor) || { note "  list_floor: curl failed"; floor=0; }
	echo "BENCH scale_${tag}${n}_list_floor_ms $floor ms"
	echo "BENCH scale_${tag}${n}_resync_vs_floor_ratio $(ratio $((tsy - ts)) "$floor") ratio"
	echo "BENCH scale_${tag}${n}_list_floor_load_1min $(cut -d' ' -f1 /proc/loadavg) load"
	settled "$n" || exit 1
	sleep 5
	pss2=$(pss_total)
	echo "BENCH scale_${tag}${n}_pss_after_resync_ratio $(ratio "$pss2" "$pss") ratio"
	echo "BENCH scale_${tag}${n}_watcher_pss_after_resync_kib $(awk '/^Pss:/ {print $2}' /proc/"$new"/smaps_rollup) KiB"
	note "  PSS $pss KiB before the kill, $pss2 KiB after the resync (watcher $(awk '/^Pss:/ {print $2}' /proc/"$new"/smaps_rollup) KiB)"
	note "  per process KiB after the resync: $(for pid in "$SUP" $(ps -o pid= --ppid "$SUP"); do
		printf '%s=%s ' "$(cat /proc/"$pid"/comm)" "$(awk '/^Pss:/ {print $2}' /proc/"$pid"/smaps_rollup)"
	done)"

	# Exit-handler dispatch while the rest stay cached.
	new_ns dns bs-disp
	echo "BENCH scale_${tag}${n}_dispatch_load_1min $(cut -d' ' -f1 /proc/loadavg) load"
	"$DRV" dispatch "$dns" "$DN" --rate 10 --run-for 1s --prefix d --template "$TMP/omjob.json" \
		--timeout 300 >"$TMP/d.$n" 2>"$TMP/d.$n.err" || { cat "$TMP/d.$n" "$TMP/d.$n.err" >&2; exit 1; }
	p99=$(res "$TMP/d.$n" dispatch_p99_ms)
	echo "BENCH scale_${tag}${n}_dispatch_p50_ms $(res "$TMP/d.$n" dispatch_p50_ms) ms"
	echo "BENCH scale_${tag}${n}_dispatch_p99_ms $p99 ms"
	if [ -z "${P99_FIRST[${tag:-after}]:-}" ]; then
		P99_FIRST[${tag:-after}]=$p99
	else
		echo "BENCH scale_${tag}${n}_dispatch_p99_vs_first_ratio $(ratio "$p99" "${P99_FIRST[${tag:-after}]}") ratio"
	fi
	fetches=$(msum omjob_template_fetches_total '')
	note "  dispatch: $(res "$TMP/d.$n" dispatch_n) of $DN measured; template fetches from the API server so far: $fetches; restarts: $(msum omjob_component_restarts_total '')"
	stop_op
	"$DRV" strip "$dns" >/dev/null 2>&1 || true
	kubectl delete ns "$dns" --wait=false >/dev/null 2>&1 || true
}

kubectl create --dry-run=client -o json -f "$REPO/tests/fixtures/omjob-k8spipelineclient.yaml" >"$TMP/omjob.json"
# The kwok nodes as large as the pods: populate binds its pods to them directly, but
# the scheduler counts them, and the dispatch pods (500m CPU, 1 GiB each, as the
# fixture asks) would stay Pending past 96 CPUs and 3,000 pods.
for node in $(kubectl get nodes -l type=kwok -o name); do
	kubectl patch "$node" --subresource=status --type=merge -p \
		'{"status":{"capacity":{"pods":"50000","cpu":"100k","memory":"100Ti"},"allocatable":{"pods":"50000","cpu":"100k","memory":"100Ti"}}}' >/dev/null
done
note "OMJobs: the shape OpenMetadata's K8sPipelineClient sends (tests/fixtures, $(wc -c <"$TMP/omjob.json") bytes); binary $BIN"
if [ -n "${BENCH_SCALE_NS:-}" ]; then
	# A namespace an earlier run populated and kept (KEEP_NS=1): grown from what it has.
	ns=$BENCH_SCALE_NS
	have=$(kubectl get omjobs -n "$ns" --no-headers 2>/dev/null | wc -l)
	note "reusing $ns: $have OMJobs"
else
	new_ns ns bs-scale
	have=0
fi
prev_n=0
declare -A PREV_PSS=() P99_FIRST=()
for n in $STEPS; do
	note "step $n: load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "BENCH scale_${n}_load_1min $(cut -d' ' -f1 /proc/loadavg) load"
	if [ "$n" -gt "$have" ]; then
		prev_have=$have
		"$DRV" populate "$ns" $((n - have)) --from "$have" --prefix s --template "$TMP/omjob.json" \
			--workers "$WORKERS" --qps "$QPS" --burst $((2 * QPS)) >"$TMP/pop.$n" 2>"$TMP/pop.$n.err" ||
			{ cat "$TMP/pop.$n" >&2; head -20 "$TMP/pop.$n.err" >&2; exit 1; }
		note "  populated $((n - have)) OMJobs in $(res "$TMP/pop.$n" populate_seconds) s ($(res "$TMP/pop.$n" writes) writes)"
		have=$n
		# kwok plays the pods at its own pace (behind by ~4,000 at 10,000 in the second
		# run): the operator starts only on the state it would have left, every main
		# pod Succeeded and every exit pod Running, else it acts on the gap (deletes and
		# creates exit pods) while the figures are taken.
		# Session 7: kwok took ~25 minutes to play the pods of the step to 10,000 on 2
		# cores (900 s was not enough), so the wait grows with the OMJobs the step adds:
		# 600 s plus 0.3 s each (2,100 s from 5,000 to 10,000); BENCH_SCALE_KWOK_WAIT_S
		# sets it.
		t0=$(date +%s)
		kwok_wait=${BENCH_SCALE_KWOK_WAIT_S:-$((600 + (n - prev_have) * 3 / 10))}
		# Not wait_until: its limit is 15 minutes (tests/lib.sh), this wait can be 35.
		until kwok_caught_up "$n"; do
			[ $(($(date +%s) - t0)) -lt "$kwok_wait" ] ||
				{ note "kwok did not bring the pods to their state in $kwok_wait s"; exit 1; }
		done
		echo "BENCH scale_${n}_kwok_wait_s $(($(date +%s) - t0)) s"
	fi
	measure "" "$BIN"
	[ -z "$BEFORE" ] || measure before_ "$BEFORE"
	prev_n=$n
done
note "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
