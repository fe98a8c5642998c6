#!/usr/bin/env bash
# docs/SCENARIOS.md rows 9 and 10 against one operator, every OMJob in a namespace of
# its own, all at once:
# - row 9: a main pod that never starts (ImagePullBackOff; unschedulable through a
#   nodeSelector no node matches) ends as StartTimeout spec.startTimeoutSeconds
#   (5) after the pod's creation, with the waiting reason in status.message and in
#   the StartTimeout Warning; the pod is deleted; the exit handler runs once with
#   pipelineStatus=failed. A pod that starts late but within the timeout (3 s of
#   8) is not timed out.
# - row 10: the main pod rejected by the API server, by a ResourceQuota (pods=0)
#   and by an admission plugin (LimitRange max cpu 1, the pod asks for 2): a
#   FailedCreate Warning with the server's message, aggregated (one Event, count
#   >= 2, retried with backoff: not a hot loop), then CreateFailed at
#   startTimeoutSeconds (8) after the OMJob's creation; no main pod ever; the
#   exit handler runs once (for the quota: once the quota is raised, after its
#   own creation was refused too).
# Every other common check of docs/SCENARIOS.md is asserted by check_runs
# (omjob_lib.sh); the timing and aggregation checks are here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)
TS=5 # startTimeoutSeconds of the row 9 OMJobs
TC=8 # startTimeoutSeconds of the row 10 OMJobs

start_pod_watch
start_operator

# Row 10 first (its clock is the longest): the quota must be in force (status.hard
# computed by the quota controller) before the OMJob comes, or the first refusal
# says "status unknown for quota" instead.
nq=$(new_ns r10q)
printf 'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: nopods}\nspec: {hard: {pods: "0"}}\n' |
	$K apply -n "$nq" -f - >/dev/null
wait_until 20 eval '[ "$(jp resourcequota "$nq" nopods "{.status.hard.pods}")" = 0 ]' ||
	fail "row 10: quota status not computed: $($K get resourcequota -n "$nq" nopods -o yaml 2>&1)"
nl=$(new_ns r10l)
printf 'apiVersion: v1\nkind: LimitRange\nmetadata: {name: maxcpu}\nspec: {limits: [{type: Container, max: {cpu: "1"}}]}\n' |
	$K apply -n "$nl" -f - >/dev/null
omjob "$nq" quota '{"exit":0}' '{"exit":0}' "{\"startTimeoutSeconds\":$TC}"
expect "$nq" quota '{"row":10,"desc":"main pod refused by a ResourceQuota","phase":"Failed","reason":"CreateFailed","codes":[null],"attempts":1,"xcode":0,"stays":false,"nomain":true,"msg":"quota","events":["FailedCreate"]}'
omjob "$nl" limit '{"exit":0}' '{"exit":0}' \
	"{\"startTimeoutSeconds\":$TC,\"mainPodSpec\":{\"resources\":{\"requests\":{\"cpu\":\"2\"},\"limits\":{\"cpu\":\"2\"}}}}"
expect "$nl" limit '{"row":10,"desc":"main pod refused by admission (LimitRange)","phase":"Failed","reason":"CreateFailed","codes":[null],"attempts":1,"xcode":0,"stays":false,"nomain":true,"msg":"maximum cpu usage per Container is 1","events":["FailedCreate"]}'

# Row 9.
n9=$(new_ns r9)
omjob "$n9" pull '{"pending":"ImagePullBackOff","pmsg":"Back-off pulling image \"registry.invalid/nope:1\""}' \
	'{"exit":0}' "{\"startTimeoutSeconds\":$TS}"
expect "$n9" pull '{"row":9,"desc":"image cannot be pulled","phase":"Failed","reason":"StartTimeout","codes":[null],"attempts":1,"xcode":0,"stays":false,"msg":"ImagePullBackOff.*registry.invalid/nope:1","events":["StartTimeout"]}'
omjob "$n9" nowhere '{"exit":0}' '{"exit":0}' \
	"{\"startTimeoutSeconds\":$TS,\"mainPodSpec\":{\"nodeSelector\":{\"omjob.test/no-such-node\":\"true\"}}}"
expect "$n9" nowhere '{"row":9,"desc":"main pod unschedulable","phase":"Failed","reason":"StartTimeout","codes":[null],"attempts":1,"xcode":0,"stays":false,"msg":"Unschedulable","events":["StartTimeout"]}'
omjob "$n9" late '{"start":"3s","exit":0}' '{"exit":0}' '{"startTimeoutSeconds":8}'
expect "$n9" late '{"row":9,"desc":"starts after 3 s, timeout 8 s","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'

# While the quota refuses every pod: the outcome is recorded, the exit pod is
# refused too; then the quota is raised and the exit handler runs.
if wait_until 60 eval '[ "$(jp omj "$nq" quota "{.status.mainPodReason}")" = CreateFailed ]'; then
	pass "row 10: CreateFailed recorded while the quota refuses pods"
	if wait_until 20 eval "$K get events -n $nq --field-selector reason=FailedCreate -o json | jq -e '[.items[] | select(.message | contains(\"quota-exit\"))] | length > 0'"; then
		pass "row 10: the exit pod's creation is refused by the quota too (FailedCreate)"
	else
		fail "row 10: no FailedCreate for the exit pod: $($K get events -n "$nq" 2>&1)"
	fi
	[ "$($K get pods -n "$nq" -o name | wc -l)" -eq 0 ] && pass "row 10: no pod exists under pods=0" ||
		fail "row 10: pods exist under pods=0: $($K get pods -n "$nq" 2>&1)"
else
	fail "row 10: no CreateFailed after 60 s: $($K get omj -n "$nq" quota -o jsonpath='{.status}' 2>&1)"
fi
$K patch resourcequota -n "$nq" nopods --type=merge -p '{"spec":{"hard":{"pods":"10"}}}' >/dev/null

check_finished 90 "$t0"
check_runs

snapshot || fail "snapshot failed"
# secs NS NAME: seconds from the clock's start to the recorded outcome
# (MainPodFinished's lastTransitionTime), the start being the main pod's creation
# (status.startTime) for StartTimeout and the OMJob's creation for CreateFailed.
secs() {
	jq -r --arg ns "$1" --arg n "$2" '.items[] | select(.metadata.namespace == $ns and .metadata.name == $n)
		| (.status.conditions // [] | map(select(.type == "MainPodFinished")) | .[0].lastTransitionTime) as $t
		| (if .status.mainPodReason == "CreateFailed" then .metadata.creationTimestamp else .status.startTime end) as $s
		| if $t == null or $s == null then "none" else ($t | fromdateiso8601) - ($s | fromdateiso8601) end' "$OP_TMP/omj.json"
}
within() { # ROW NS NAME T: the outcome came between T-1 and T+5 s (timestamps have 1 s resolution)
	local s
	s=$(secs "$2" "$3")
	if [ "$s" != none ] && [ "$s" -ge $(($4 - 1)) ] && [ "$s" -le $(($4 + 5)) ]; then
		pass "row $1: $3 ended $s s after the clock's start (timeout $4 s)"
	else
		fail "row $1: $3 ended $s s after the clock's start (want $4 s, -1/+5)"
	fi
}
within 9 "$n9" pull $TS
within 9 "$n9" nowhere $TS
within 10 "$nq" quota $TC
within 10 "$nl" limit $TC

# The waiting reason in the StartTimeout Warning too.
for c in "pull ImagePullBackOff" "nowhere Unschedulable"; do
	set -- $c
	m=$(jq -r --arg ns "$n9" --arg n "$1" '[.items[] | select(.involvedObject.namespace == $ns and .involvedObject.name == $n
		and .reason == "StartTimeout")] | map(.type + " " + .message) | join(" / ")' "$OP_TMP/events.json")
	[[ $m == Warning*"$2"* ]] && pass "row 9: StartTimeout Event of $1 names $2: $m" ||
		fail "row 9: StartTimeout Event of $1: '$m' (want a Warning naming $2)"
done

# FailedCreate for the main pod: one Event per distinct message (aggregated, the
# repeats counted), retried at least twice, with backoff (1 s doubling: at most
# about log2(T)+2 tries in T s; a hot loop would make dozens).
for c in "$nq quota" "$nl limit"; do
	set -- $c
	read -r objs cnt types msgs < <(jq -r --arg ns "$1" --arg m "$2-main" '[.items[] | select(.involvedObject.namespace == $ns
		and .reason == "FailedCreate" and (.message | contains($m)))]
		| "\(length) \(map(.count // 1) | add // 0) \(map(.type) | unique | join(",")) \(map(.message) | unique | length)"' "$OP_TMP/events.json")
	if [ "$objs" -ge 1 ] && [ "$objs" = "$msgs" ] && [ "$types" = Warning ] && [ "$cnt" -ge 2 ] && [ "$cnt" -le $((TC / 2 + 3)) ]; then
		pass "row 10: $2: $cnt refusals of the main pod in $objs aggregated FailedCreate Warning(s)"
	else
		fail "row 10: $2: FailedCreate for $2-main: $objs Events, $msgs messages, count $cnt, types '$types' (want aggregated Warnings, count 2..$((TC / 2 + 3))): $(jq -c --arg ns "$1" '[.items[] | select(.involvedObject.namespace == $ns and .reason == "FailedCreate") | {message, count}]' "$OP_TMP/events.json" | head -c 1500)"
	fi
done
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
