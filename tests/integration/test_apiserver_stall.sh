#!/usr/bin/env bash
# A slow or silent API server (issue 13): the kube-apiserver process is stopped
# (SIGSTOP) for 30 s right after a batch of OMJobs is created, so that the
# reconcilers are inside API requests that get no answer (connections stay open,
# nothing is refused). Asserts:
# - /healthz never answers 503 meanwhile: a role that is only waiting within a
#   bounded request is not wedged (a liveness probe would restart the operator);
# - once the server is resumed (SIGCONT), every OMJob of the batch goes on at
#   once: its main pod is created and its status written within 2 s (figures from
#   the operator's log, which has milliseconds, and checked against the pods'
#   creationTimestamp, which has seconds);
# - no role restarted.
# Runs alone (RUN_SERIAL in tests/tests.cmake): it freezes the API server of
# every other test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
: "${OMJOB_CLUSTER_STATE:?}"
t0=$(now_ms)
N=10
STOP_S=30

APISERVER=$(awk '$2 == "kube-apiserver" {print $1}' "$OMJOB_CLUSTER_STATE/pids")
[ -n "$APISERVER" ] && alive "$APISERVER" || {
	fail "no running kube-apiserver in $OMJOB_CLUSTER_STATE/pids"
	t_done
}
# Whatever happens, the API server is never left stopped.
resume_apiserver() {
	kill -CONT "$APISERVER" 2>/dev/null || true
	[ -z "${WATCHER:-}" ] || kill -CONT "$WATCHER" 2>/dev/null || true
}
trap 'resume_apiserver; cleanup' EXIT

start_operator
ns=$(new_ns stall)

# The batch is created while the operator's watcher is stopped too, then the
# API server stops and the watcher goes on: it reads the OMJobs from its watch
# (already sent), and every reconciler write for them hangs.
WATCHER=$(op_status | awk '$1 == "watcher" {print $2}')
[ -n "$WATCHER" ] || fail "no watcher pid in: $(op_status)"
for i in $(seq 1 $N); do omjob_json "$ns" "s$i" '{}' none; done |
	jq -s '{apiVersion: "v1", kind: "List", items: .}' >"$OP_TMP/batch.json"
kill -STOP "$WATCHER"
$K create -n "$ns" -f "$OP_TMP/batch.json" >/dev/null
sleep 0.5 # the watch events are on their way to the watcher
kill -STOP "$APISERVER"
kill -CONT "$WATCHER"
ts=$(now_ms)
note "API server stopped $(($(now_ms) - t0)) ms into the test"

# /healthz every 0.5 s while it is stopped.
codes=$OP_TMP/healthz
: >"$codes"
while [ $(($(now_ms) - ts)) -lt $((STOP_S * 1000)) ]; do
	body=$(curl -s -m 3 -w ' %{http_code}' "http://127.0.0.1:$OP_HP/healthz" || true)
	echo "$(($(now_ms) - ts)) ${body//$'\n'/;}" >>"$codes"
	sleep 0.5
done
resume_apiserver
tc=$(now_ms)
note "API server resumed after $((tc - ts)) ms"
probes=$(wc -l <"$codes")
bad=$(awk '$NF != 200' "$codes")
if [ -z "$bad" ] && [ "$probes" -ge 20 ]; then
	pass "/healthz answered 200 to all $probes probes during the ${STOP_S} s stop"
else
	fail "/healthz during the stop (ms since the stop, body, code): $(echo "$bad" | head -5)"
fi

# Every OMJob goes on: main pod created, status Pending or Running.
started() {
	[ "$($K get pods -n "$ns" -o name 2>/dev/null | grep -c -- '-main$')" -eq $N ] &&
		[ "$($K get omj -n "$ns" -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' |
			grep -cE '^(Pending|Running)$')" -eq $N ]
}
if wait_until 60 started; then
	pass "all $N OMJobs have their main pod and a status $(($(now_ms) - tc)) ms after the resume (polled)"
else
	fail "OMJobs not started 60 s after the resume: $($K get omj,pods -n "$ns" 2>&1)"
fi

# Seconds resolution: created at most 2 s after the second of the resume (plus
# the second it was in).
tcs=$((tc / 1000))
late=$($K get pods -n "$ns" -o json | jq -r --argjson t "$tcs" '.items[] |
	(.metadata.creationTimestamp | fromdateiso8601) as $c | select($c > $t + 2) |
	"\(.metadata.name) created \($c - $t) s after the resume second"')
if [ -z "$late" ]; then
	pass "every main pod's creationTimestamp is within 2 s of the resume (seconds)"
else
	fail "main pods created late: $late"
fi

# Milliseconds from the operator's log: for each OMJob written during or after
# the stop, its first status write ("phase" None -> Pending) after the resume.
worst=$(jq -r --arg ns "$ns/" 'select(.msg == "phase" and (.key // "" | startswith($ns)))
	| "\(.time) \(.key)"' "$OP_LOG" | while read -r t key; do
	ms=$(date -d "$t" +%s%3N)
	echo "$((ms - tc)) $key"
done | awk '!seen[$2]++' | sort -n | awk -v stop="$((ts - tc))" '$1 > stop { n++; w = $1 } END { printf "%d %d\n", n, w }')
read -r n w <<<"$worst"
note "$n OMJobs had their first status write after the stop; the last $w ms after the resume"
if [ "$n" -eq $N ] && [ "$w" -le 2000 ]; then
	pass "every OMJob held by the stop wrote its status within 2 s of the resume (worst $w ms)"
else
	fail "status writes after the resume: $n OMJobs, worst $w ms"
fi

no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
