#!/usr/bin/env bash
# docs/SCENARIOS.md row 16: the operator fully stopped (SIGTERM to the supervisor)
# while main pods run; they end while it is down; started again, it runs each
# exit handler exactly once. OMJobs of rows 1-6, each in the state the stop finds
# it in:
# - ok, exit3, oom: main pods running for 15 s, ending while the operator is down;
# - del, force, evict: main pods running until deleted (graceful), force-deleted,
#   evicted while the operator is down (the tracking finalizer keeps them);
# - xrun: main pod done, its exit pod running 12 s when the operator stops, ending
#   while it is down: no second exit pod on start, the run Succeeded;
# - late: created while the operator is down.
# While down: no exit pod is created, the OMJobs stay as they were, the ended
# pods stay (tracking finalizer). After the start: every OMJob finishes and is
# checked against every common check of docs/SCENARIOS.md (omjob_lib.sh
# check_runs: exactly one exit pod per OMJob over the whole run, by the pod watch
# and the ExitHandlerCreated Events, env, status, Events, finalizers).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)
F_POD=omjob.pipelines.openmetadata.org/tracking

exit_pods() { $K get pods -n "$ns" -l omjob.pipelines.openmetadata.org/pod-type=exit-handler -o name | wc -l; }

start_pod_watch
start_operator

ns=$(new_ns restart)
rows_1_to_6 "$ns" 15s "while the operator is down" "while the operator is down"
omjob "$ns" xrun '{"exit":0}' '{"exit":0,"run":"12s"}'
expect "$ns" xrun '{"row":16,"desc":"exit pod ends while the operator is down","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'

rows_1_to_6_running "$ns"
wait_until 30 pod_phase_is "$ns" xrun-exit Running && wait_until 10 omj_phase_is "$ns" xrun ExitHandlerRunning ||
	fail "xrun: exit pod not Running: $($K get omj,pods -n "$ns" 2>&1)"

ts=$(now_ms)
if stop_operator; then
	pass "operator stopped (SIGTERM, exit 0) in $(($(now_ms) - ts)) ms; 6 main pods and 1 exit pod running"
else
	fail "operator stop: $OP_STOP"
fi
still=$(for p in ok-main exit3-main oom-main xrun-exit; do [ "$(jp pod "$ns" "$p" '{.status.phase}')" = Running ] && echo "$p"; done | wc -l)
[ "$still" -eq 4 ] && pass "at the stop, the 3 timed main pods and xrun-exit still run" ||
	fail "at the stop only $still of 4 timed pods still ran (too slow to stop in time?): $($K get pods -n "$ns" 2>&1)"
before=$($K get omj -n "$ns" -o json | jq -c '[.items[] | {n: .metadata.name, p: .status.phase, r: .status.mainPodReason}] | sort_by(.n)')

$K delete pod -n "$ns" del-main --wait=false >/dev/null
$K delete pod -n "$ns" force-main --grace-period=0 --force --wait=false >/dev/null 2>&1
evict "$ns" evict-main || fail "evict: eviction refused"
omjob "$ns" late '{"exit":0,"run":"1s"}' '{"exit":0}'
expect "$ns" late '{"row":16,"desc":"created while the operator is down","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'

# Everything ends while the operator is down.
ended() { # POD: terminated (Succeeded or Failed)
	[[ "$(jp pod "$ns" "$1" '{.status.phase}')" =~ ^(Succeeded|Failed)$ ]]
}
left=()
for p in ok-main exit3-main oom-main del-main force-main evict-main xrun-exit; do
	wait_until 30 ended "$p" || left+=("$p")
done
[ "${#left[@]}" -eq 0 ] && pass "every pod ended $(($(now_ms) - ts)) ms after the stop" ||
	fail "pods that did not end while the operator was down: ${left[*]}: $($K get pods -n "$ns" 2>&1)"
sleep 2
[ "$(exit_pods)" -eq 1 ] && pass "while down: no exit pod created (only xrun-exit)" ||
	fail "while down: exit pods $($K get pods -n "$ns" -l omjob.pipelines.openmetadata.org/pod-type=exit-handler -o name | tr '\n' ' ')"
now=$($K get omj -n "$ns" -o json | jq -c '[.items[] | select(.metadata.name != "late") | {n: .metadata.name, p: .status.phase, r: .status.mainPodReason}] | sort_by(.n)')
[ "$now" = "$before" ] && pass "while down: the OMJobs unchanged" || fail "while down: OMJobs changed: $before -> $now"
held=$($K get pods -n "$ns" -o json | jq -r --arg f "$F_POD" '[.items[] | select(.metadata.name | test("^(del|force|evict)-main$")) | select(.metadata.deletionTimestamp != null and (.metadata.finalizers // [] | index($f)))] | length')
[ "$held" -eq 3 ] && pass "while down: the 3 disrupted main pods held by $F_POD" ||
	fail "while down: disrupted main pods held: $held of 3: $($K get pods -n "$ns" 2>&1)"
[ -z "$(jp omj "$ns" late '{.status.phase}')" ] && [ "$($K get pods -n "$ns" -l omjob.pipelines.openmetadata.org/name=late -o name | wc -l)" -eq 0 ] &&
	pass "while down: the new OMJob untouched" || fail "while down: late has status or pods"

tr=$(now_ms)
start_operator
check_finished 60 "$tr" "after the start"
check_runs
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
