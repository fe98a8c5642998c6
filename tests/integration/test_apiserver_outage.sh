#!/usr/bin/env bash
# docs/SCENARIOS.md row 17 for the whole operator: the API server is killed and
# restarted (tests/cluster/restart-apiserver --down-for 3: every watch breaks,
# connections are refused for a while, the new server's watch cache starts from
# etcd, so watches resumed from an old resourceVersion may get 410 Gone) while
# OMJobs of rows 1-6 run, and one exit handler. Same outcomes as without the
# outage:
# - ok, exit3, oom: main pods ending 6 s after they start, during or just after
#   the outage;
# - del, force, evict: main pods deleted (graceful), force-deleted, evicted just
#   before the API server goes;
# - xrun: its exit pod running across the outage (no second exit pod);
# - after: created once the API server is back.
# Every OMJob is checked against every common check of docs/SCENARIOS.md
# (omjob_lib.sh check_runs); no role crashed or restarted (the roles ride the
# outage out). Whether a watch resumed with 410 and relisted is reported from
# the operator's log (it depends on timing; test_watcher.sh forces one).
# Runs alone (RUN_SERIAL in tests/tests.cmake): it takes the API server away
# from every other test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
: "${OMJOB_CLUSTER_STATE:?}" "${OMJOB_SRC:?}"
t0=$(now_ms)

# rewatch: the pod and OMJob watches of omjob_lib.sh end with the API server;
# start them again, appending to the same records (their first events list
# what exists, so nothing that still exists is missed). A half-written last
# line of the old watch is dropped first.
rewatch() {
	local f
	kill "$WATCH_PID" "$OWATCH_PID" 2>/dev/null || true
	wait "$WATCH_PID" "$OWATCH_PID" 2>/dev/null || true
	for f in "$WATCH_OUT" "$OWATCH_OUT"; do
		[ -s "$f" ] && [ "$(tail -c1 "$f" | od -An -c | tr -d ' ')" != '\n' ] && sed -i '$d' "$f"
	done
	$K get pods -A -w --output-watch-events -o json >>"$WATCH_OUT" 2>>"$OP_TMP/watch.err" &
	WATCH_PID=$!
	$K get omj -A -w --output-watch-events -o jsonpath='{.type}|{.object.metadata.namespace}|{.object.metadata.name}|{.object.metadata.uid}|{.object.status.phase}|{.object.status.mainPodReason}|{.object.status.mainPodExitCode}{"\n"}' \
		>>"$OWATCH_OUT" 2>>"$OP_TMP/owatch.err" &
	OWATCH_PID=$!
}

start_pod_watch
start_operator

ns=$(new_ns outage)
rows_1_to_6 "$ns" 6s "around the outage" "just before the outage"
omjob "$ns" xrun '{"exit":0}' '{"exit":0,"run":"6s"}'
expect "$ns" xrun '{"row":17,"desc":"exit pod running across the outage","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'

rows_1_to_6_running "$ns"
wait_until 30 pod_phase_is "$ns" xrun-exit Running || fail "xrun: exit pod not Running: $($K get omj,pods -n "$ns" 2>&1)"

$K delete pod -n "$ns" del-main --wait=false >/dev/null
$K delete pod -n "$ns" force-main --grace-period=0 --force --wait=false >/dev/null 2>&1
evict "$ns" evict-main || fail "evict: eviction refused"
tr=$(now_ms)
if "$OMJOB_SRC/tests/cluster/restart-apiserver" "$OMJOB_CLUSTER_STATE" --down-for 3 2>"$OP_TMP/restart.err"; then
	pass "API server killed, down 3 s, ready again after $(($(now_ms) - tr)) ms"
else
	fail "restart-apiserver failed: $(cat "$OP_TMP/restart.err")"
fi
rewatch
omjob "$ns" after '{"exit":0,"run":"1s"}' '{"exit":0}'
expect "$ns" after '{"row":17,"desc":"created after the outage","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'

check_finished 90 "$tr" "after the API server was killed"
check_runs
no_restarts
n410=$(grep -ciE 'relist|410|too old' "$OP_LOG" || true)
note "$n410 operator log lines mention a relist / 410 / too old resource version"
note "elapsed $(($(now_ms) - t0)) ms"
t_done
