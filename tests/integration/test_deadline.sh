#!/usr/bin/env bash
# Bounded runs (OpenMetadata issue #32579): spec.activeDeadlineSeconds. kwok, like
# a node whose kubelet misses it, never ends a pod at its deadline: the operator
# does. A main pod that runs on and on is stopped at its creation + the deadline
# (outcome DeadlineExceeded, a Warning Event, phase Failed), and the exit handler
# then runs once with pipelineStatus=failed; without an exit handler the OMJob
# fails at once. The main pod carries the deadline (a real kubelet enforces it
# too); a run that ends before its deadline is not touched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)
D=5 # activeDeadlineSeconds of the hung runs

start_pod_watch
start_operator

ns=$(new_ns dl)
tc=$(now_ms)
omjob "$ns" hung '{}' '{"exit":0}' "{\"activeDeadlineSeconds\":$D}"
expect "$ns" hung '{"desc":"main runs past activeDeadlineSeconds","phase":"Failed","reason":"DeadlineExceeded","codes":[null],"attempts":1,"xcode":0,"stays":false,"msg":"activeDeadlineSeconds","events":["DeadlineExceeded"]}'
omjob "$ns" hungnx '{}' none "{\"activeDeadlineSeconds\":$D}"
expect "$ns" hungnx '{"desc":"no exit handler: fails at the deadline","phase":"Failed","reason":"DeadlineExceeded","codes":[null],"attempts":0,"stays":false,"msg":"activeDeadlineSeconds","events":["DeadlineExceeded"]}'
omjob "$ns" quick '{"exit":0,"run":"1s"}' '{"exit":0}' '{"activeDeadlineSeconds":30}'
expect "$ns" quick '{"desc":"ends before its deadline","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'

if wait_until 10 pod_phase_is "$ns" hung-main Running; then
	ads=$(jp pod "$ns" hung-main '{.spec.activeDeadlineSeconds}')
	[ "$ads" = "$D" ] && pass "the main pod carries activeDeadlineSeconds=$D" ||
		fail "main pod's activeDeadlineSeconds '$ads', want $D"
	ads=$(jp pod "$ns" quick-main '{.spec.activeDeadlineSeconds}')
	[ "$ads" = 30 ] && pass "quick-main carries activeDeadlineSeconds=30" ||
		fail "quick-main's activeDeadlineSeconds '$ads', want 30"
else
	fail "hung-main not Running: $($K get omj,pods -n "$ns" 2>&1)"
fi

# The deadline holds to about a second: it counts from the main pod's
# creationTimestamp, which has whole seconds (up to 1 s before the real creation,
# itself a little after the OMJob's): stopped between D - 1.2 s and D + 3 s after
# the OMJob's creation.
if wait_until $((D + 10)) eval '[ "$(jp omj "$ns" hung "{.status.mainPodReason}")" = DeadlineExceeded ]'; then
	el=$(($(now_ms) - tc))
	if [ "$el" -ge $((D * 1000 - 1200)) ] && [ "$el" -le $((D * 1000 + 3000)) ]; then
		pass "DeadlineExceeded recorded $el ms after the OMJob's creation (deadline $D s)"
	else
		fail "DeadlineExceeded recorded $el ms after creation, want $((D * 1000 - 1200))..$((D * 1000 + 3000))"
	fi
else
	fail "no DeadlineExceeded: $($K get omj -n "$ns" hung -o jsonpath='{.status}' 2>&1)"
fi

check_finished 40 "$t0"
check_runs
$K get events -n "$ns" -o json >"$OP_TMP/events.json"
m=$(jq -r '[.items[] | select(.involvedObject.name == "hung" and .reason == "DeadlineExceeded")]
	| map(.type + " " + .message) | join(" / ")' "$OP_TMP/events.json")
[[ $m == "Warning main pod hung-main ran longer than activeDeadlineSeconds ($D s)"* ]] &&
	pass "DeadlineExceeded Event: $m" || fail "DeadlineExceeded Event: '$m'"
x=$(jq -r '[.items[] | select(.involvedObject.name == "quick" and .reason == "DeadlineExceeded")] | length' "$OP_TMP/events.json")
[ "$x" = 0 ] && pass "quick: no DeadlineExceeded Event" || fail "quick: $x DeadlineExceeded Events"
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
