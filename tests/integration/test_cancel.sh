#!/usr/bin/env bash
# docs/SCENARIOS.md row 11: an OMJob deleted while its main pod runs (cancel,
# OpenMetadata's "kill"). docs/LIFECYCLE.md "Cancellation": a Cancelling Event,
# mainPodReason Cancelled, the main pod deleted, the exit handler run to its end
# with pipelineStatus=failed, the OMJob Failed, then finalizers released and the
# OMJob and its pods gone. Seven OMJobs, deleted at once:
# - run:     main pod Running, `kubectl delete omj` (background propagation);
# - pending: main pod still Pending (ImagePullBackOff, long start timeout);
# - fg1-fg4: main pod Running, `kubectl delete --cascade=foreground` (the garbage
#            collector deletes the dependents first, the TTL controller's way;
#            four of them, as the garbage collector's timing decides whether a
#            dependent created after the deletion is deleted too);
# - skip:    main pod Running, annotation skip-exit-handler "true": no exit pod.
# The exit handlers run 4 s, so their pods are captured (env) while they exist;
# the OMJob's last states come from a watch of the OMJobs, its Events outlive it.
# Asserted per OMJob: exactly one exit pod (pod watch, pods by labels while it
# ran, ExitHandlerCreated Events) that ran to completion (phase Succeeded) with
# pipelineStatus=failed, OMJOB_MAIN_REASON=Cancelled, OMJOB_MAIN_EXIT_CODE as in
# status; the main pod created once; the OMJob's last state Failed, Cancelled,
# exit code absent (or the container's), exitHandlerExitCode 0, conditions, then
# deleted (so our finalizer was released, and not by the cancel deadline); the
# Events Cancelling (Normal), MainPodCompleted (Warning, "ended: Cancelled"),
# ExitHandlerCreated, OMJobFailed (Warning); afterwards no pod of it left (so
# the tracking finalizers were released too).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)
L_NAME=omjob.pipelines.openmetadata.org/name
L_TYPE=omjob.pipelines.openmetadata.org/pod-type
SKIP=omjob.pipelines.openmetadata.org/skip-exit-handler
CAP=$OP_TMP/cap # exit pods as seen while they existed, one file per pod
mkdir -p "$CAP"
OMJ_W_PID=
cancel_cleanup() {
	[ -n "$OMJ_W_PID" ] && kill "$OMJ_W_PID" 2>/dev/null || true
	cleanup
}
trap cancel_cleanup EXIT

start_pod_watch
start_operator

ns=$(new_ns cancel)
create() { # NAME MAIN EXIT EXTRA-SPEC OMJOB-ANNOTATIONS-JSON
	local out
	out=$(omjob_json "$ns" "$1" "$2" "$3" "$4" | jq -c --argjson a "$5" '.metadata.annotations = $a' |
		$K create -n "$ns" -f - 2>&1) || fail "OMJob $1 not created: $out"
}
create run '{}' '{"exit":0,"run":"4s"}' '{}' '{}'
create pending '{"pending":"ImagePullBackOff"}' '{"exit":0,"run":"4s"}' '{"startTimeoutSeconds":600}' '{}'
for j in fg1 fg2 fg3 fg4; do create $j '{}' '{"exit":0,"run":"4s"}' '{}' '{}'; done
create skip '{}' '{"exit":0,"run":"4s"}' '{}' "{\"$SKIP\":\"true\"}"
JOBS=(run pending skip fg1 fg2 fg3 fg4)

started=0
for j in run skip fg1 fg2 fg3 fg4; do
	wait_until 30 pod_phase_is "$ns" "$j-main" Running && wait_until 10 omj_phase_is "$ns" "$j" Running &&
		started=$((started + 1)) || fail "$j: not Running: $($K get omj,pods -n "$ns" 2>&1)"
done
wait_until 30 omj_phase_is "$ns" pending Pending && pod_phase_is "$ns" pending-main Pending &&
	started=$((started + 1)) || fail "pending: not Pending: $($K get omj,pods -n "$ns" 2>&1)"
declare -A UID_OF
for j in "${JOBS[@]}"; do UID_OF[$j]=$(jp omj "$ns" "$j" '{.metadata.uid}'); done
[ "$started" -eq "${#JOBS[@]}" ] && pass "${#JOBS[@]} OMJobs started ($((${#JOBS[@]} - 1)) Running, 1 Pending)" ||
	fail "$started of ${#JOBS[@]} OMJobs started"

# Every state of the OMJobs from now on, whole objects.
$K get omj -n "$ns" -w --output-watch-events -o json >"$OP_TMP/omj.stream" 2>/dev/null &
OMJ_W_PID=$!
wait_until 10 eval '[ "$(jq -s length "$OP_TMP/omj.stream" 2>/dev/null || echo 0)" -ge ${#JOBS[@]} ]' ||
	fail "OMJob watch not live"

tc=$(now_ms)
if out=$($K delete omj -n "$ns" run pending skip --wait=false 2>&1 &&
	$K delete omj -n "$ns" fg1 fg2 fg3 fg4 --cascade=foreground --wait=false 2>&1); then
	pass "deleted: run, pending, skip (background), fg1-fg4 (foreground)"
else
	fail "kubectl delete: $out"
fi

# Until every OMJob is gone: capture each exit pod while it exists, and count the
# exit pods of each OMJob by labels.
declare -A MAXX
gone=0
while [ $(($(now_ms) - tc)) -lt 90000 ]; do
	if $K get pods -n "$ns" -l "$L_TYPE=exit-handler" -o json >"$OP_TMP/xp.json" 2>/dev/null; then
		for p in $(jq -r '.items[].metadata.name' "$OP_TMP/xp.json"); do
			jq --arg p "$p" '.items[] | select(.metadata.name == $p)' "$OP_TMP/xp.json" >"$CAP/$p.json"
		done
		for j in "${JOBS[@]}"; do
			n=$(jq --arg j "$j" --arg l "$L_NAME" '[.items[] | select(.metadata.labels[$l] == $j)] | length' "$OP_TMP/xp.json")
			[ "$n" -gt "${MAXX[$j]:-0}" ] && MAXX[$j]=$n
		done
	fi
	left=$($K get omj -n "$ns" -o name 2>/dev/null | wc -l)
	[ "$left" -eq 0 ] && {
		gone=1
		break
	}
	sleep 0.3
done
[ "$gone" = 1 ] && pass "every cancelled OMJob gone $(($(now_ms) - tc)) ms after its deletion" ||
	fail "OMJobs still there 90 s after deletion: $($K get omj -n "$ns" -o json | jq -c '[.items[] | {name: .metadata.name, finalizers: .metadata.finalizers, status: .status.phase}]')"
no_pods() { [ -z "$($K get pods -n "$ns" -o name 2>/dev/null)" ]; }
wait_until 30 no_pods && pass "their pods gone too" ||
	fail "pods left after the OMJobs went: $($K get pods -n "$ns" -o json | jq -c '[.items[] | {name: .metadata.name, phase: .status.phase, finalizers: .metadata.finalizers, deleting: .metadata.deletionTimestamp}]')"
sleep 1
kill "$OMJ_W_PID" 2>/dev/null
OMJ_W_PID=
$K get events -n "$ns" -o json >"$OP_TMP/ev.json"

# check JOB: every assertion of the row for one cancelled OMJob.
check() {
	local j=$1 uid=${UID_OF[$1]} want_x=1 xfin=Succeeded f
	[ "$j" = skip ] && want_x=0 xfin=Skipped
	f=$(jq -rn --arg j "$j" --arg uid "$uid" --argjson wx "$want_x" --arg xfin "$xfin" \
		--argjson maxx "${MAXX[$j]:-0}" --slurpfile s "$OP_TMP/omj.stream" --slurpfile ev "$OP_TMP/ev.json" \
		--slurpfile w <(pod_records) --slurpfile cap <(cat "$CAP"/*.json 2>/dev/null) '
		def ok($c; $m): if $c then empty else $m end;
		def cond($s; $t): (($s.conditions // []) | map(select(.type == $t)) | .[0]) // {};
		def env1($p; $n): [($p.spec.containers[0].env // [])[] | select(.name == $n) | .value // ""];
		def evsum($E; $r): [$E[] | select(.reason == $r) | (.count // 1)] | add // 0;
		def isours: . == "omjob.pipelines.openmetadata.org/finalizer" or . == "omjob.pipelines.openmetadata.org/tracking";
		[$s[] | select(.object.metadata.uid == $uid)] as $hist
		| ($hist | map(select(.type != "DELETED")) | last | .object) as $last
		| ($hist | map(select(.type == "DELETED")) | last | .object) as $del
		| ($last.status // {}) as $st
		| [$ev[0].items[] | select(.involvedObject.uid == $uid)] as $E
		| [$w[0][] | select(.owner == $uid)] as $pw
		| [$pw[] | select(.ptype == "exit-handler")] as $xw
		| [$pw[] | select(.ptype == "main")] as $mw
		| [$cap[] | select(.metadata.ownerReferences[0].uid == $uid)] as $xp
		| [$hist[] | .object.status.phase // "" | {"": 0, Pending: 1, Running: 2, ExitHandlerRunning: 3, Succeeded: 4, Failed: 4}[.] // 9] as $rank
		| ($E | map(select(.reason == "MainPodCompleted")) | .[0]) as $mpc
		| (
		  ok($del != null; "no DELETED event for the OMJob"),
		  ok($st.phase == "Failed"; "last phase \($st.phase) (want Failed)"),
		  ok($st.mainPodReason == "Cancelled"; "status.mainPodReason \($st.mainPodReason) (want Cancelled)"),
		  ok(($st | has("mainPodExitCode") | not) or $st.mainPodExitCode == 137; "status.mainPodExitCode \($st.mainPodExitCode) (want absent, or the container 137)"),
		  ok(($st.message // "") | test("cancel|delet"; "i"); "status.message \($st.message | tojson) says nothing of the cancellation"),
		  ok($st.completionTime != null; "no completionTime"),
		  ok(($rank | all(. < 9)) and ([range(1; $rank | length) as $i | $rank[$i] >= $rank[$i - 1]] | all);
		     "phases went backwards: \($hist | map(.object.status.phase))"),
		  ok(($hist | map(.object.status.mainPodReason // empty) | unique) == ["Cancelled"]; "mainPodReason changed: \($hist | map(.object.status.mainPodReason // empty) | unique)"),
		  (cond($st; "MainPodFinished") | ok(.status == "True" and .reason == "Cancelled"; "condition MainPodFinished \(tojson)")),
		  (cond($st; "ExitHandlerFinished") | ok(.status == "True" and .reason == $xfin; "condition ExitHandlerFinished \(tojson) (want True/\($xfin))")),
		  (cond($st; "Failed") | ok(.status == "True" and .reason == "Cancelled"; "condition Failed \(tojson) (want True/Cancelled)")),
		  (cond($st; "Complete") | ok(.status != "True"; "condition Complete True")),
		  # Gone with our finalizer on it (a DELETED event carries the last stored
		  # state) means the operator released it: not the cancel deadline.
		  ok(evsum($E; "CancelDeadlineExceeded") == 0; "released by the cancel deadline, not at the exit handler'"'"'s end"),
		  ok(($st.exitHandlerAttempts // 0) == $wx; "status.exitHandlerAttempts \($st.exitHandlerAttempts) (want \($wx))"),
		  ok(($mw | map(.uid) | unique | length) == 1; "main pods created: \($mw | map(.uid) | unique | length) (want 1)"),
		  ok(($xw | map(.uid) | unique | length) == $wx; "exit pods created (pod watch): \($xw | map(.name) | unique) (want \($wx))"),
		  ok($maxx == $wx; "exit pods by labels while running: at most \($maxx) (want \($wx))"),
		  ok(evsum($E; "ExitHandlerCreated") == $wx; "\(evsum($E; "ExitHandlerCreated")) ExitHandlerCreated Events (want \($wx))"),
		  ok(evsum($E; "MainPodCreated") == 1; "\(evsum($E; "MainPodCreated")) MainPodCreated Events"),
		  ok($E | any(.reason == "Cancelling" and .type == "Normal"); "no Normal Cancelling Event (have \($E | map(.reason) | unique))"),
		  ok($mpc != null and $mpc.type == "Warning" and ($mpc.message | startswith("main pod \($j)-main ended: Cancelled"));
		     "MainPodCompleted Event \($mpc | if . == null then "missing" else {type, message} end) (want Warning \"main pod \($j)-main ended: Cancelled...\")"),
		  ok($E | any(.reason == "OMJobFailed" and .type == "Warning"); "no Warning OMJobFailed Event"),
		  ok(evsum($E; "OMJobCompleted") == 0; "an OMJobCompleted Event"),
		  ok($E | all((.source.component // .reportingComponent) == "omjob-operator"); "Event not from omjob-operator"),
		  (if $wx == 1 then
		     ok($st.exitHandlerExitCode == 0 and $st.exitHandlerReason == "Completed"; "exit handler \($st.exitHandlerExitCode) \($st.exitHandlerReason) (want 0 Completed: it ran to its end)"),
		     ok($xw | any(.phase == "Succeeded"); "the exit pod never reached Succeeded (pod watch phases \($xw | map(.phase) | unique))"),
		     ok(($xp | length) == 1; "\($xp | length) exit pods captured while they existed (want 1)"),
		     ($xp[] | . as $p |
		       ok(env1($p; "pipelineStatus") == ["failed"]; "exit pod env pipelineStatus \(env1($p; "pipelineStatus")) (want [failed])"),
		       ok(env1($p; "OMJOB_MAIN_REASON") == ["Cancelled"]; "exit pod env OMJOB_MAIN_REASON \(env1($p; "OMJOB_MAIN_REASON")) (want [Cancelled])"),
		       ok(env1($p; "OMJOB_MAIN_EXIT_CODE") == [if $st | has("mainPodExitCode") then $st.mainPodExitCode | tostring else "" end];
		          "exit pod env OMJOB_MAIN_EXIT_CODE \(env1($p; "OMJOB_MAIN_EXIT_CODE")) (want as in status)"),
		       ok(env1($p; "OMJOB_NAME") == [$j] and env1($p; "OMJOB_UID") == [$uid] and env1($p; "OMJOB_MAIN_POD_NAME") == [$j + "-main"];
		          "exit pod env OMJOB_NAME/UID/MAIN_POD_NAME \(env1($p; "OMJOB_NAME")) \(env1($p; "OMJOB_UID")) \(env1($p; "OMJOB_MAIN_POD_NAME"))"))
		   else
		     ok(($st | has("exitHandlerExitCode")) | not; "exitHandlerExitCode set with the skip annotation")
		   end)
		) | "row 11 \($j): \(.)"')
	if [ -z "$f" ]; then
		pass "row 11 $j: cancelled -> Failed, Cancelled, $want_x exit pod(s); status, conditions, env, Events, finalizers, gone: all as the contract says"
	else
		while IFS= read -r l; do fail "$l"; done <<<"$f"
	fi
}
for j in "${JOBS[@]}"; do check "$j"; done
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
