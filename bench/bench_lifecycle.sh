#!/usr/bin/env bash
# The OMJob lifecycle under load, against the local control plane (kwok pods), with
# the whole operator (supervisor, watcher, 5 reconcilers, cleaner, httpd) running as
# its restricted identity. Four figures, each in one run:
#
#  1. exit-handler dispatch latency: 200 OMJobs at 2/s (main and exit pods run 1 s,
#     exit 0); one pod WATCH (lifecycle_driver) records the local arrival of the
#     MODIFIED event where the main pod becomes terminal and of the ADDED event of
#     its exit pod. Both come through the same stream, so the difference is the
#     operator's dispatch latency (watch delivery to the operator, its processing,
#     its writes, and the API server's delivery of the new pod). p50 and p99.
#  2. throughput: 1,000 OMJobs with instant pods from the first create to the last
#     one Succeeded with its finalizer released; next to a plain client making the
#     same writes per OMJob (counted in 3, 2xx answers only, with the operator's own
#     pod builder and Event recorder) with 5 workers, one client each, in a fresh
#     namespace, no operator running. Twice: with the default client limit
#     (KUBE_QPS=50, KUBE_BURST=100 per process) and with it raised (1000/2000); the
#     plain client always has the limit of the run it is compared with. CPU per
#     OMJob of the whole operator, next to the plain client's writer threads' own
#     CPU for the same writes (the floor of making them with this client).
#  3. API requests per OMJob lifecycle by verb, from the operator's
#     rest_client_requests_total (all roles) before/after the throughput run at the
#     default limit, next to the minimum the design needs.
#  4. total PSS (supervisor + every role) with 1,000 OMJobs and 2,000 pods cached
#     (main pods done, exit handlers running), against the idle PSS of the same
#     operator measured before creating them.
#
#  5. idle memory of the whole operator (supervisor + every role, 5 reconcilers):
#     PSS, Pss_Anon and "alone" (file pages counted once) at a fresh start, and
#     after BENCH_IDLE_N (1000) OMJobs have run and been deleted (every cache empty,
#     then BENCH_DRAIN_SETTLE, 15 s); target 12 MiB. BENCH_DRAIN_HOOK, a command,
#     runs then with the supervisor's pid (to look at the drained processes).
#     Next to them, with the operator stopped, the library floor: bench/lib_floor,
#     one process linked as the operator, its libraries' init run and one TLS
#     connection to the API server open.
#  6. throughput (as in 2, BENCH_CURVE_N OMJobs) with BENCH_CURVE ("1 2 5 10")
#     reconcilers at the raised client limit, each with the 1-minute load average
#     at its start (the curve is only comparable on a quiet machine).
#
# Every part has its own namespace and operator instance, deleted/stopped before
# the next part begins, so caches do not carry over. Prints "BENCH <name> <value>
# <unit>" lines on stdout, details as "# ..." on stderr. Needs the control plane:
# reuses the one of the environment with OMJOB_TEST_CLUSTER=external (KUBECONFIG,
# OMJOB_TEST_KUBECONFIG), else starts one and stops it after. Sizes:
# BENCH_DISPATCH_N (200), BENCH_THROUGHPUT_N (1000), BENCH_MEMORY_N (1000),
# BENCH_IDLE_N (1000), BENCH_CURVE_N (1000), BENCH_CURVE ("1 2 5 10"),
# BENCH_PARTS (default "1 2 4 5 6"; 3 comes with 2).
set -euo pipefail
: "${OMJOB_BIN:?OMJOB_BIN must name the omjob-operator binary}"
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh" # stop_op, metrics, msum, pss_total, pss_alone
. "$REPO/tests/lib.sh" # free_ports, wait_until
BIN=$(readlink -f "$OMJOB_BIN")
DRV=$(dirname "$BIN")/lifecycle_driver
[ -x "$DRV" ] || { echo "bench_lifecycle: $DRV not built" >&2; exit 1; }
FLOOR=$(dirname "$BIN")/lib_floor
[ -x "$FLOOR" ] || { echo "bench_lifecycle: $FLOOR not built" >&2; exit 1; }
TMP=$(mktemp -d /tmp/oml.XXXXXX) # short: the run dir holds IPC socket paths
CLUSTER=""
SUP=""
NAMESPACES=()
N1=${BENCH_DISPATCH_N:-200}
N2=${BENCH_THROUGHPUT_N:-1000}
N4=${BENCH_MEMORY_N:-1000}
N5=${BENCH_IDLE_N:-1000}
N6=${BENCH_CURVE_N:-1000}
CURVE=${BENCH_CURVE:-1 2 5 10}
PARTS=${BENCH_PARTS:-1 2 4 5 6}
RAISED_QPS=1000 RAISED_BURST=2000
LABEL=omjob-bench=$$

note() { echo "# $*" >&2; }

cleanup() {
	stop_op
	if [ -n "$CLUSTER" ]; then
		"$REPO/tests/cluster/down" "$CLUSTER" >/dev/null 2>&1 || true
	elif [ "${#NAMESPACES[@]}" -gt 0 ]; then
		# External cluster: leave nothing behind (finalizers first, or deletion hangs).
		for ns in "${NAMESPACES[@]}"; do
			kubectl get ns "$ns" >/dev/null 2>&1 || continue
			"$DRV" strip "$ns" >/dev/null 2>&1 || true
			kubectl delete ns "$ns" --wait=false >/dev/null 2>&1 || true
		done
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

bench_cluster
export KUBECONFIG # admin: the driver and kubectl; the operator runs as itself
OPCONF=$OMJOB_TEST_KUBECONFIG

ports=$(free_ports 2)
read -r HP MP <<<"$ports"
H=http://127.0.0.1:$HP
M=http://127.0.0.1:$MP
RUNS=0

# start_op [ENV=VALUE...]: the whole operator on a fresh run directory; returns
# once /readyz is 200.
start_op() {
	RUNS=$((RUNS + 1))
	OPLOG=$TMP/operator.$RUNS.log
	env KUBECONFIG="$OPCONF" OMJOB_RUN_DIR="$TMP/r$RUNS" HEALTH_CHECK_PORT="$HP" METRICS_PORT="$MP" \
		OMJOB_HTTP_BIND_ADDRESS=127.0.0.1 RECONCILIATION_THREADS=5 LOG_LEVEL=WARN "$@" \
		"$BIN" 2>>"$OPLOG" &
	SUP=$!
	wait_until 30 op_ready && return 0
	echo "bench_lifecycle: operator not ready in 30 s" >&2
	tail -20 "$OPLOG" >&2
	exit 1
}
op_ready() { [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$H/readyz")" = 200 ]; }
# CPU accounting: clock ticks (utime + stime) of the control plane's processes
# (when its pids file is readable), of the operator (supervisor and roles), and of
# the whole machine (busy, total), as "name ticks" lines.
TCK=$(getconf CLK_TCK)
ticks() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
cpu_snap() {
	local pid name
	if [ -r "${OMJOB_CLUSTER_STATE:-/nonexistent}/pids" ]; then
		while read -r pid name; do echo "$name $(ticks "$pid")"; done <"$OMJOB_CLUSTER_STATE/pids"
	fi
	if [ -n "$SUP" ]; then
		for pid in "$SUP" $(ps -o pid= --ppid "$SUP"); do
			name=$(cat "/proc/$pid/comm" 2>/dev/null || echo gone)
			case $name in reconciler-*) name=reconcilers ;; omjob-operator) name=supervisor ;; esac
			echo "op:$name $(ticks "$pid")"
		done
	fi
	awk '/^cpu / {b = $2 + $3 + $4 + $7 + $8 + $9; print "machine-busy", b; print "machine-total", b + $5 + $6}' /proc/stat
}
# csw_snap: context switches (voluntary + nonvoluntary) of every thread of the
# operator's processes (supervisor and roles), one number. Threads that exited
# are not counted; the operator's threads live as long as their process.
csw_snap() {
	local pid t=0
	for pid in "$SUP" $(ps -o pid= --ppid "$SUP"); do
		t=$((t + $(cat /proc/"$pid"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ {s += $2} END {print s + 0}')))
	done
	echo "$t"
}
# cpu_ms SNAP0 SNAP1 N REGEX: CPU ms per OMJob of the snapshot names matching REGEX.
cpu_ms() {
	awk -v tck="$TCK" -v n="$3" -v re="$4" 'FNR == NR {a[$1] += $2; next} {b[$1] += $2}
		END {for (k in b) if (k ~ re) t += b[k] - a[k]; printf "%.2f", t / tck * 1000 / n}' "$1" "$2"
}
# cpu_report SNAP0 SNAP1 N: CPU seconds per component over the run, and per OMJob.
cpu_report() {
	awk -v tck="$TCK" -v n="$3" '
		FNR == NR {a[$1] += $2; next}
		{b[$1] += $2}
		END {
			for (k in b) d[k] = b[k] - a[k]
			mine = 0
			for (k in d) if (k !~ /^machine/) { printf "%s %.1f s (%.1f ms/OMJob), ", k, d[k] / tck, d[k] / tck * 1000 / n; mine += d[k] }
			printf "machine busy %.0f%% of %d s x cores (others, the driver included: %.1f s)", 100 * d["machine-busy"] / d["machine-total"], d["machine-total"] / tck, (d["machine-busy"] - mine) / tck
		}' "$1" "$2"
}
new_ns() { # VAR PREFIX
	local n
	n=$2-$(printf '%04x%04x' $RANDOM $RANDOM)
	kubectl create namespace "$n" >/dev/null
	kubectl label namespace "$n" "$LABEL" >/dev/null
	NAMESPACES+=("$n")
	printf -v "$1" %s "$n"
}
del_ns() { # NS: deleted, waiting until it is gone (its pods too)
	local t0
	t0=$(date +%s%N)
	kubectl delete namespace "$1" --wait=true --timeout=600s >/dev/null
	note "namespace $1 deleted in $((($(date +%s%N) - t0) / 1000000)) ms"
}
res() { awk -v k="$2" '$1 == "RESULT" && $2 == k {print $3}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "nan"}'; }
per_job() { awk -v a="$1" -v n="$2" 'BEGIN {printf "%.2f", a / n}'; }

kubectl create --dry-run=client -o json -f "$REPO/tests/fixtures/omjob-k8spipelineclient.yaml" >"$TMP/omjob.json"
note "OMJobs: the shape OpenMetadata's K8sPipelineClient sends (tests/fixtures, $(wc -c <"$TMP/omjob.json") bytes), with sim.omjob.test annotations"
note "load before: $(uptime)"

# ---------------------------------------------------------------------------------
# 1. Exit-handler dispatch latency.
part1() {
	local ns
	new_ns ns bl-dispatch
	# DEBUG: the reconcilers log each action with a millisecond timestamp, which
	# splits the latency into its steps (a few lines per OMJob step: no measurable cost).
	start_op LOG_LEVEL=DEBUG
	note "part 1: $N1 OMJobs at 2/s, pods run 1 s (exit 0); operator with the default client limit"
	"$DRV" dispatch "$ns" "$N1" --rate 2 --run-for 1s --prefix d --template "$TMP/omjob.json" \
		--timeout 300 --dump "$TMP/p1.times" >"$TMP/p1" 2>"$TMP/p1.err" || { cat "$TMP/p1" "$TMP/p1.err" >&2; exit 1; }
	local rs
	rs=$(metrics | awk '/^omjob_component_restarts_total/ {s += $NF} END {print s + 0}')
	stop_op
	echo "BENCH exit_dispatch_p50_ms $(res "$TMP/p1" dispatch_p50_ms) ms"
	echo "BENCH exit_dispatch_p99_ms $(res "$TMP/p1" dispatch_p99_ms) ms"
	note "dispatch latency = arrival of the exit pod's ADDED - arrival of the main pod's terminal MODIFIED, on one pod WATCH (the operator's own reaction time, API writes included); $(res "$TMP/p1" dispatch_n) of $N1 OMJobs, $(res "$TMP/p1" finished) finished, $(res "$TMP/p1" negative) negative"
	note "  min $(res "$TMP/p1" dispatch_min_ms) p50 $(res "$TMP/p1" dispatch_p50_ms) p90 $(res "$TMP/p1" dispatch_p90_ms) p99 $(res "$TMP/p1" dispatch_p99_ms) max $(res "$TMP/p1" dispatch_max_ms) mean $(res "$TMP/p1" dispatch_mean_ms) ms (target p50 <= 10, p99 <= 50; the Java operator polls: 5-10 s)"
	note "  of which (OMJob WATCH, a second stream): terminal -> status ExitHandlerRunning p50 $(res "$TMP/p1" term_to_status_p50_ms) p99 $(res "$TMP/p1" term_to_status_p99_ms) ms; status -> exit pod ADDED p50 $(res "$TMP/p1" status_to_exit_p50_ms) p99 $(res "$TMP/p1" status_to_exit_p99_ms) ms"
	note "  one API write meanwhile (the driver's OMJob creates, 5.7 KB, 2/s): p50 $(res "$TMP/p1" create_latency_p50_ms) p99 $(res "$TMP/p1" create_latency_p99_ms) ms; the contract puts at least 2 writes in a row here (the outcome in status, then the exit pod)"
	note "  role restarts during the run: $rs"
	steps "$ns" "$OPLOG" "$TMP/p1.times"
	del_ns "$ns"
}

# steps NS LOG TIMES: the dispatch split into its steps, from the operator's log
# (wall-clock ms) and the driver's arrival times (wall-clock, same machine).
steps() {
	jq -r --arg ns "$1/" '
		select((.key // "") | startswith($ns))
		| (if .msg == "action" and (.why // "" | test("recording the outcome")) then "A"
		   elif .msg == "phase" and .to == "ExitHandlerRunning" then "B"
		   elif .msg == "action" and .action == "create-exit-pod" then "C"
		   elif .msg == "pod created" and .type == "exit-handler" then "D" else empty end) as $s
		| [(.key | sub(".*/"; "")), $s,
		   ((.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
		    + (.time | capture("\\.(?<f>[0-9]+)Z$").f | tonumber))] | @tsv' "$2" 2>/dev/null |
		awk -v times="$3" '
			BEGIN { while ((getline l < times) > 0) { split(l, f, " "); m[f[1]] = f[2]; x[f[1]] = f[3] } }
			!(($1, $2) in t) { t[$1, $2] = $3 }
			END {
				for (j in m) if ((j, "A") in t && (j, "B") in t && (j, "C") in t && (j, "D") in t) {
					print "reaction", t[j, "A"] - m[j]; print "status", t[j, "B"] - t[j, "A"]
					print "between", t[j, "C"] - t[j, "B"]; print "create", t[j, "D"] - t[j, "C"]
					print "delivery", x[j] - t[j, "D"]
				}
			}' >"$TMP/steps"
	local s line=""
	for s in reaction status between create delivery; do
		line+="$s $(awk -v s="$s" '$1 == s {print $2}' "$TMP/steps" | sort -n | awk '{v[NR] = $1} END {if (NR) printf "p50 %.0f p99 %.0f", v[int(NR * 0.5 + 0.999)], v[int(NR * 0.99 + 0.999)]; else printf "n/a"}'); "
	done
	note "  steps (ms, from the operator's DEBUG log, 1 ms resolution; $(($(wc -l <"$TMP/steps") / 5)) OMJobs): $line"
	note "  reaction = watch delivery to the operator + watcher decode/cache/hint + reconciler queue, GET_KEY, decide; status = the outcome's status PATCH; between = from the status reply to the exit pod's POST (decide, and any request made in between, e.g. an Event); create = the exit pod POST; delivery = API server to the driver's watch"
}

# ---------------------------------------------------------------------------------
# 2 and 3. Throughput against the plain-client ceiling; requests per OMJob.

# reqs FILE0 FILE1 N: per-verb deltas of rest_client_requests_total, as
# "verb all 2xx conflicts" lines (totals, not per job), plus per role group.
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
				if (p[2] ~ /^2/) ok[p[3]] += d
				if (p[2] == "409") cf[p[3]] += d
				g = p[1]; sub(/-[0-9]+$/, "", g); byrole[g "/" p[3]] += d
			}
			for (v in all) printf "verb %s %d %d %d\n", v, all[v], ok[v], cf[v]
			for (r in byrole) printf "role %s %d\n", r, byrole[r]
		}' "$1" "$2"
}

part2() { # NAME QPS BURST
	local name=$1 qps=$2 burst=$3 ns ns2 env=()
	[ "$name" = raised ] && env=(KUBE_QPS="$qps" KUBE_BURST="$burst")
	new_ns ns bl-tput
	start_op "${env[@]}"
	sleep 2
	metrics >"$TMP/m0.$name"
	cpu_snap >"$TMP/cpu0.$name"
	local csw0 csw1
	csw0=$(csw_snap)
	note "part 2 ($name limit, KUBE_QPS=$qps KUBE_BURST=$burst): $N2 OMJobs, instant pods"
	"$DRV" throughput "$ns" "$N2" --prefix t --template "$TMP/omjob.json" --timeout 900 \
		>"$TMP/p2.$name" 2>"$TMP/p2.$name.err" || { cat "$TMP/p2.$name" "$TMP/p2.$name.err" >&2; exit 1; }
	sleep 2 # Events written after the final status, and late hints
	metrics >"$TMP/m1.$name"
	cpu_snap >"$TMP/cpu1.$name"
	csw1=$(csw_snap)
	local depth
	depth=$(msum workqueue_depth '')
	stop_op
	reqs "$TMP/m0.$name" "$TMP/m1.$name" >"$TMP/r.$name"
	local post patch get
	post=$(awk '$1 == "verb" && $2 == "POST" {print $4}' "$TMP/r.$name")
	patch=$(awk '$1 == "verb" && $2 == "PATCH" {print $4}' "$TMP/r.$name")
	# GETs the reconcilers make per job would be replayed as GETs; the watcher's
	# LIST/WATCH are not per job.
	get=$(awk '$1 == "role" && $2 ~ /^reconciler\/GET$/ {print $3}' "$TMP/r.$name")
	del_ns "$ns"
	new_ns ns2 bl-ceil
	note "part 2 ($name): the plain client, 5 workers at $qps/$burst each, writes per OMJob: POST $(per_job "${post:-0}" "$N2") PATCH $(per_job "${patch:-0}" "$N2") GET $(per_job "${get:-0}" "$N2") (2xx of the operator's run)"
	cpu_snap >"$TMP/ccpu0.$name"
	"$DRV" ceiling "$ns2" "$N2" --prefix c --template "$TMP/omjob.json" --workers 5 --qps "$qps" \
		--burst "$burst" --post "${post:-0}" --patch "${patch:-0}" --get "${get:-0}" \
		>"$TMP/c.$name" 2>"$TMP/c.$name.err" || { cat "$TMP/c.$name" "$TMP/c.$name.err" >&2; exit 1; }
	cpu_snap >"$TMP/ccpu1.$name"
	del_ns "$ns2"
	local op ce
	op=$(res "$TMP/p2.$name" omjobs_per_second)
	ce=$(res "$TMP/c.$name" omjobs_per_second)
	echo "BENCH throughput_${name}_limit_omjobs_per_s $op omjobs/s"
	echo "BENCH throughput_${name}_limit_ceiling_omjobs_per_s $ce omjobs/s"
	echo "BENCH throughput_${name}_limit_vs_ceiling_ratio $(ratio "$op" "$ce") ratio"
	echo "BENCH cpu_ms_per_omjob_${name}_limit $(cpu_ms "$TMP/cpu0.$name" "$TMP/cpu1.$name" "$N2" '^op:') ms"
	echo "BENCH apiserver_cpu_ms_per_omjob_${name}_limit $(cpu_ms "$TMP/cpu0.$name" "$TMP/cpu1.$name" "$N2" '^kube-apiserver$') ms"
	echo "BENCH ctxsw_per_omjob_${name}_limit $(per_job $((csw1 - csw0)) "$N2") switches"
	# The writes' own floor: the plain client's worker threads (the operator's pod
	# builder, Event recorder and kube client, one connection each) making the same
	# writes, their thread CPU time only (not its watch nor its OMJob creates).
	local wcpu
	wcpu=$(awk -v s="$(res "$TMP/c.$name" workers_cpu_seconds)" -v n="$N2" 'BEGIN {printf "%.2f", s * 1000 / n}')
	echo "BENCH cpu_ms_per_omjob_${name}_limit_plain_client_writes $wcpu ms"
	echo "BENCH cpu_${name}_limit_vs_plain_client_writes_ratio $(ratio "$(cpu_ms "$TMP/cpu0.$name" "$TMP/cpu1.$name" "$N2" '^op:')" "$wcpu") ratio"
	note "  operator: $N2 OMJobs in $(res "$TMP/p2.$name" elapsed_seconds) s (creates took $(res "$TMP/p2.$name" create_seconds) s; $(res "$TMP/p2.$name" finished) finished; workqueue depth after: $depth)"
	note "  plain client: $(res "$TMP/c.$name" writes) writes in $(res "$TMP/c.$name" elapsed_seconds) s ($(res "$TMP/c.$name" write_errors) errors); API server latency seen by it: POST p50 $(res "$TMP/c.$name" latency_post_p50_ms) p99 $(res "$TMP/c.$name" latency_post_p99_ms) ms, PATCH p50 $(res "$TMP/c.$name" latency_patch_p50_ms) p99 $(res "$TMP/c.$name" latency_patch_p99_ms) ms"
	note "  operator pods created per reconciler: $(metrics_file_pods "$TMP/m1.$name")"
	local m0=$TMP/m0.$name m1=$TMP/m1.$name
	note "  hints per OMJob: $(per_job "$(fdelta omjob_watcher_hints_total 'result="sent"' "$m0" "$m1")" "$N2") sent in $(per_job "$(fdelta omjob_watcher_hint_messages_total '' "$m0" "$m1")" "$N2") pub/sub messages; reconcilers: $(per_job "$(fdelta omjob_reconciler_hints_total 'result="queued"' "$m0" "$m1")" "$N2") queued, $(per_job "$(fdelta omjob_reconciler_hints_total 'result="seen"' "$m0" "$m1")" "$N2") already seen by the key's last pass, $(fdelta omjob_reconciler_hint_messages_lost_total '' "$m0" "$m1") messages lost in all (gaps: each resyncs a shard); $(per_job "$(fdelta controller_runtime_reconcile_total '' "$m0" "$m1")" "$N2") reconciler passes"
	note "  CPU, operator run (includes the operator's 2 s of settling): $(cpu_report "$TMP/cpu0.$name" "$TMP/cpu1.$name" "$N2")"
	note "  CPU, plain-client run (the driver itself not counted): $(cpu_report "$TMP/ccpu0.$name" "$TMP/ccpu1.$name" "$N2")"
	if [ "$name" = default ]; then
		part3 "$TMP/r.$name"
	else
		note "  requests per OMJob at the raised limit: $(awk -v n="$N2" '$1 == "verb" {printf "%s %.2f (409: %.2f)  ", $2, $3 / n, $5 / n}' "$TMP/r.$name")"
	fi
}
# fdelta NAME MATCH M0 M1: a metric's samples containing MATCH, summed, M1 - M0.
fdelta() {
	awk -v n="$1" -v m="$2" '(index($0, n "{") == 1 || index($0, n " ") == 1) && (m == "" || index($0, m)) {
		s[FILENAME] += $NF} END {printf "%d", s[ARGV[2]] - s[ARGV[1]]}' "$3" "$4"
}
metrics_file_pods() {
	awk '/^omjob_pods_created_total\{/ && match($0, /role="[^"]*"/) {r = substr($0, RSTART + 6, RLENGTH - 7); s[r] += $NF} END {for (k in s) printf "%s=%d ", k, s[k]}' "$1"
}

part3() { # REQS-FILE (the default-limit run)
	local f=$1 v all ok cf tot=0 totok=0
	for v in POST PATCH GET PUT DELETE; do
		read -r all ok cf < <(awk -v v="$v" '$1 == "verb" && $2 == v {print $3, $4, $5; f = 1} END {if (!f) print 0, 0, 0}' "$f")
		tot=$((tot + all))
		totok=$((totok + ok))
		echo "BENCH api_requests_per_omjob_$(echo "$v" | tr A-Z a-z) $(per_job "$all" "$N2") requests"
		[ "$cf" -gt 0 ] && note "  $v: $(per_job "$cf" "$N2") per OMJob answered 409 Conflict (a stale view: re-read and decide again)"
	done
	echo "BENCH api_requests_per_omjob_total $(per_job "$tot" "$N2") requests"
	# The design's minimum for a lifecycle with an exit handler (docs/LIFECYCLE.md):
	# PATCH: add the OMJob finalizer, status with the outcome (before the exit pod),
	# final status, release 2 pod finalizers, release the OMJob finalizer = 6;
	# POST: main pod, exit pod, Events MainPodCreated, MainPodCompleted,
	# ExitHandlerCreated, OMJobCompleted = 6; GET, PUT, DELETE: 0.
	echo "BENCH api_requests_per_omjob_design_min 12 requests"
	echo "BENCH api_requests_per_omjob_vs_min_ratio $(ratio "$(per_job "$tot" "$N2")" 12) ratio"
	note "  minimum 12 = PATCH 6 (finalizer, outcome status, final status, 3 finalizer releases) + POST 6 (2 pods, 4 Events); Pending/Running status writes are extra (2 more when the pod is seen running)"
	note "  by role (totals over the run): $(awk '$1 == "role" {printf "%s=%d ", $2, $3}' "$f" | tr '\n' ' ')"
	note "  GETs: $(awk '$1 == "role" && $2 ~ /\/GET$/ {printf "%s=%d ", $2, $3}' "$f") (the watcher's LIST and WATCH requests are not per OMJob; reconciler GETs are only the rare verify-gone path)"
}

# ---------------------------------------------------------------------------------
# 4. Memory with 1,000 OMJobs and 2,000 pods cached.
part4() {
	local ns idle loaded
	new_ns ns bl-mem
	start_op
	sleep 5
	idle=$(pss_total)
	note "part 4: idle PSS $idle KiB ($(($(ps -o pid= --ppid "$SUP" | wc -l) + 1)) processes); now $N4 OMJobs (main exits 0 at once, exit handler keeps running)"
	"$DRV" fill "$ns" "$N4" --prefix m --template "$TMP/omjob.json" --timeout 900 \
		>"$TMP/p4" 2>"$TMP/p4.err" || { cat "$TMP/p4" "$TMP/p4.err" >&2; exit 1; }
	local i o p q
	for _ in $(seq 600); do
		o=$(msum omjob_watcher_cache_objects 'resource="omjobs"')
		p=$(msum omjob_watcher_cache_objects 'resource="pods"')
		q=$(msum workqueue_depth '')
		[ "$o" -ge "$N4" ] && [ "$p" -ge $((2 * N4)) ] && [ "$q" -eq 0 ] && break
		sleep 0.5
	done
	sleep 5
	o=$(msum omjob_watcher_cache_objects 'resource="omjobs"')
	p=$(msum omjob_watcher_cache_objects 'resource="pods"')
	loaded=$(pss_total)
	local per
	per=$(for pid in "$SUP" $(ps -o pid= --ppid "$SUP"); do
		printf '%s=%s ' "$(cat /proc/"$pid"/comm)" "$(awk '/^Pss:/ {print $2}' /proc/"$pid"/smaps_rollup)"
	done)
	stop_op
	echo "BENCH lifecycle_pss_idle_kib $idle KiB"
	echo "BENCH lifecycle_pss_1000_omjobs_kib $loaded KiB"
	echo "BENCH lifecycle_pss_loaded_vs_idle_ratio $(ratio "$loaded" "$idle") ratio"
	echo "BENCH lifecycle_pss_loaded_target_ratio $(ratio "$loaded" 32768) ratio"
	note "  cached: $o OMJobs, $p pods (target <= 32 MiB = 32768 KiB); per process KiB: $per"
	"$DRV" strip "$ns" >/dev/null
	del_ns "$ns"
}

# ---------------------------------------------------------------------------------
# 5. Idle memory, fresh and after a burst has drained (issue 14: <= 12 MiB).
part5() {
	local ns f_pss f_anon f_alone d_pss d_anon d_alone o p
	new_ns ns bl-idle
	start_op
	sleep 5
	f_pss=$(pss_total) f_anon=$(pss_total Pss_Anon) f_alone=$(pss_alone)
	note "part 5: idle PSS fresh $f_pss KiB (Pss_Anon $f_anon, alone $f_alone); by kind: $(pss_kinds)"
	note "  per process anon/file KiB: $(pss_breakdown)"
	note "  now $N5 OMJobs with instant pods at the default limit, then the namespace deleted and every cache empty"
	"$DRV" throughput "$ns" "$N5" --prefix i --template "$TMP/omjob.json" --timeout 900 \
		>"$TMP/p5" 2>"$TMP/p5.err" || { cat "$TMP/p5" "$TMP/p5.err" >&2; exit 1; }
	del_ns "$ns"
	for _ in $(seq 240); do
		o=$(msum omjob_watcher_cache_objects 'resource="omjobs"')
		p=$(msum omjob_watcher_cache_objects 'resource="pods"')
		[ "$o" -eq 0 ] && [ "$p" -eq 0 ] && break
		sleep 0.5
	done
	sleep "${BENCH_DRAIN_SETTLE:-15}" # past the roles' idle trim
	d_pss=$(pss_total) d_anon=$(pss_total Pss_Anon) d_alone=$(pss_alone)
	note "  drained ($(res "$TMP/p5" omjobs_per_second) OMJobs/s; cache $o OMJobs, $p pods): PSS $d_pss KiB (Pss_Anon $d_anon, alone $d_alone); by kind: $(pss_kinds)"
	note "  per process anon/file KiB: $(pss_breakdown)"
	# A look at the drained processes before they stop (smaps, gdb, ...): the
	# command gets the supervisor's pid as its argument.
	[ -z "${BENCH_DRAIN_HOOK:-}" ] || $BENCH_DRAIN_HOOK "$SUP" >&2 || true
	stop_op
	# The library floor, with no operator running (else the two share file pages):
	# one process on the same libraries, their init run and one TLS connection open.
	local fl l_pss l_anon l_alone
	KUBECONFIG="$OPCONF" "$FLOOR" >"$TMP/floor" 2>&1 &
	fl=$!
	wait_until 30 grep -q '^ready' "$TMP/floor" || { cat "$TMP/floor" >&2; exit 1; }
	sleep 2
	l_pss=$(awk '$1 == "Pss:" {print $2}' "/proc/$fl/smaps_rollup")
	l_anon=$(awk '$1 == "Pss_Anon:" {print $2}' "/proc/$fl/smaps_rollup")
	l_alone=$(awk '$1 == "Rss:" {r = $2} $1 == "Anonymous:" {a = $2} END {print r - a}' "/proc/$fl/smaps_rollup")
	l_alone=$((l_alone + l_anon))
	kill "$fl"
	wait "$fl" 2>/dev/null || true
	note "  library floor (bench/lib_floor: one process, the operator's libraries, their init and one TLS connection, no operator running): PSS $l_pss KiB (Pss_Anon $l_anon, alone $l_alone); the operator runs 5 reconcilers + watcher, cleaner, scheduler, httpd and the supervisor (10 processes), which share the file pages and keep their own anonymous ones"
	echo "BENCH idle_pss_fresh_kib $f_pss KiB"
	echo "BENCH idle_pss_drained_kib $d_pss KiB"
	echo "BENCH idle_pss_target_kib 12288 KiB"
	echo "BENCH idle_pss_drained_vs_target_ratio $(ratio "$d_pss" 12288) ratio"
	echo "BENCH idle_pss_anon_fresh_kib $f_anon KiB"
	echo "BENCH idle_pss_anon_drained_kib $d_anon KiB"
	echo "BENCH idle_pss_alone_fresh_kib $f_alone KiB"
	echo "BENCH idle_pss_alone_drained_kib $d_alone KiB"
	echo "BENCH idle_pss_library_floor_kib $l_pss KiB"
	echo "BENCH idle_pss_library_floor_alone_kib $l_alone KiB"
	echo "BENCH idle_pss_alone_fresh_vs_library_floor_ratio $(ratio "$f_alone" "$l_alone") ratio"
	echo "BENCH idle_pss_anon_fresh_over_library_floor_kib $((f_anon - l_anon)) KiB"
	note "  Pss shares each library page among every process on the machine that maps it (other operators, curl, ...): the same operator measures less on a busy machine. Pss_Anon is the operator's own; alone = Pss_Anon + its file pages counted once (its Pss with nothing else mapping its libraries)"
}

# ---------------------------------------------------------------------------------
# 6. Throughput against the number of reconcilers, at the raised client limit.
part6() {
	local n ns tp load
	for n in $CURVE; do
		new_ns ns bl-curve
		load=$(cut -d' ' -f1 /proc/loadavg)
		start_op RECONCILIATION_THREADS="$n" KUBE_QPS="$RAISED_QPS" KUBE_BURST="$RAISED_BURST"
		sleep 2
		"$DRV" throughput "$ns" "$N6" --prefix r --template "$TMP/omjob.json" --timeout 900 \
			>"$TMP/p6.$n" 2>"$TMP/p6.$n.err" || { cat "$TMP/p6.$n" "$TMP/p6.$n.err" >&2; exit 1; }
		stop_op
		tp=$(res "$TMP/p6.$n" omjobs_per_second)
		echo "BENCH reconcilers_${n}_throughput_omjobs_per_s $tp omjobs/s"
		echo "BENCH reconcilers_${n}_load_avg_1m_at_start $load load"
		note "part 6: $n reconcilers, KUBE_QPS=$RAISED_QPS KUBE_BURST=$RAISED_BURST: $N6 OMJobs in $(res "$TMP/p6.$n" elapsed_seconds) s = $tp OMJobs/s (load average at start $load, after $(cut -d' ' -f1 /proc/loadavg))"
		del_ns "$ns"
	done
}

for part in $PARTS; do
	case $part in
	1) part1 ;;
	2)
		part2 default 50 100
		part2 raised "$RAISED_QPS" "$RAISED_BURST"
		note "fair comparison: each ratio compares runs with the same client limit; the raised-limit one measures the operator itself (at the default limit the 5 x 50 QPS token buckets, not the operator, can bound both)"
		;;
	4) part4 ;;
	5) part5 ;;
	6) part6 ;;
	*) echo "bench_lifecycle: unknown part $part" >&2; exit 1 ;;
	esac
done
note "load after: $(uptime)"
