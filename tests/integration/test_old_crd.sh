#!/usr/bin/env bash
# docs/SCENARIOS.md row 24 (issue 15): the original's Helm CRD stays behind when only the image is swapped.
# Its OMJob status schema has phase, mainPodName, exitHandlerPodName, startTime,
# completionTime, message and mainPodExitCode only: the API server prunes every
# other field this operator writes. With that schema applied (the test restores
# deploy/crd when it exits; integration tests take turns, RESOURCE_LOCK), the
# operator must still end every OMJob in the right phase, exactly once, and clean
# up: docs/SCENARIOS.md rows 1-3 (main exits 0 / 3 / OOM-killed, exit handler 0),
# row 11 (the OMJob deleted while its main pod runs) and the TTL. The checks are
# those of check_runs that the old schema can show: phase, one exit pod per OMJob
# by UID on a recorded watch, its pipelineStatus, completionTime, finalizers
# released; never a second final write (phases on a watch of the OMJobs). At
# start the operator says once which fields the CRD prunes (log, the gauge
# omjob_crd_pruned_fields, /info) and is Ready. The CronOMJob CRD of one chart
# version (jobTemplate.spec instead of omJobSpec) is applied too: a CronOMJob
# gets a Warning saying why it cannot run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)
CRD=omjobs.pipelines.openmetadata.org

CCRD=cronomjobs.pipelines.openmetadata.org
SAVED=$(mktemp /tmp/omjob-crd.XXXXXX)
CSAVED=$(mktemp /tmp/omjob-crd.XXXXXX)
$K get crd "$CRD" -o json | jq 'del(.metadata.resourceVersion, .metadata.managedFields, .status)' >"$SAVED"
$K get crd "$CCRD" -o json | jq 'del(.metadata.resourceVersion, .metadata.managedFields, .status)' >"$CSAVED"
restore_crd() {
	$K replace -f "$SAVED" >/dev/null 2>&1 || $K apply -f "$OMJOB_SRC/deploy/crd/omjobs.yaml" >/dev/null 2>&1 ||
		echo "FAIL: the OMJob CRD not restored" >&2
	$K replace -f "$CSAVED" >/dev/null 2>&1 || $K apply -f "$OMJOB_SRC/deploy/crd/cronomjobs.yaml" >/dev/null 2>&1 ||
		echo "FAIL: the CronOMJob CRD not restored" >&2
	rm -f "$SAVED" "$CSAVED"
}
# After cleanup (its OMJob watch ends when the CRD changes), whatever fails there.
trap 'set +e; cleanup; restore_crd' EXIT

# The original's status schema, in place of ours.
jq '.spec.versions[0].schema.openAPIV3Schema.properties.status =
	{type: "object", properties: {phase: {type: "string"}, mainPodName: {type: "string"},
	 exitHandlerPodName: {type: "string"}, startTime: {type: "string"}, completionTime: {type: "string"},
	 message: {type: "string"}, mainPodExitCode: {type: "integer"}}}
	' "$SAVED" >"$OP_TMP/old-crd.json"
$K replace -f "$OP_TMP/old-crd.json" >/dev/null
# One version of that chart's CronOMJob CRD: jobTemplate.spec instead of omJobSpec
# (which OpenMetadata's server sends): omJobSpec is pruned.
jq '.spec.versions[0].schema.openAPIV3Schema.properties.spec |= (del(.properties.omJobSpec)
	| .required = ["schedule"]
	| .properties.jobTemplate = {type: "object", properties: {spec: {type: "object",
		"x-kubernetes-preserve-unknown-fields": true}}})' "$CSAVED" | $K replace -f - >/dev/null
ns=$(new_ns oldcrd)
# Pruning in effect: a status field the old schema lacks does not stick.
pruned() {
	$K apply -n "$ns" -f - >/dev/null <<<'{"apiVersion":"pipelines.openmetadata.org/v1","kind":"OMJob","metadata":{"name":"probe"},"spec":{"mainPodSpec":{"image":"x"}}}' &&
		$K patch omj -n "$ns" probe --subresource=status --type=merge -p '{"status":{"phase":"Pending","mainPodReason":"X"}}' >/dev/null &&
		[ "$(jp omj "$ns" probe '{.status.phase}/{.status.mainPodReason}')" = "Pending/" ]
}
wait_until 20 pruned && pass "old CRD schema applied: mainPodReason pruned" || fail "old schema not in effect"
$K delete omj -n "$ns" probe --wait=true >/dev/null

start_pod_watch
start_operator

# Said once at start, and Ready all the same (start_operator waited for /readyz).
m=$(op_metrics | awk '/^omjob_crd_pruned_fields\{/ && /crd="omjobs.pipelines.openmetadata.org"/ {print $2}')
[ "$m" = 7 ] && pass "metric: omjob_crd_pruned_fields 7 for the OMJob CRD" || fail "metric: '$m': $(op_metrics | grep crd_pruned)"
m=$(op_metrics | awk '/^omjob_crd_pruned_fields\{/ && /crd="cronomjobs.pipelines.openmetadata.org"/ {print $2}')
[ "$m" = 1 ] && pass "metric: 1 for the CronOMJob CRD (spec.omJobSpec)" || fail "metric (cron): '$m'"
# A CronOMJob as OpenMetadata's server sends it: its omJobSpec is pruned; a Warning
# on it says why it cannot run (sent without strict field validation, as a client
# library does: the field is dropped, not refused).
$K apply --validate=false -n "$ns" -f - >/dev/null <<<'{"apiVersion":"pipelines.openmetadata.org/v1","kind":"CronOMJob","metadata":{"name":"cron"},"spec":{"schedule":"*/5 * * * *","omJobSpec":{"mainPodSpec":{"image":"busybox"}}}}'
cron_warned() {
	$K get events -n "$ns" --field-selector involvedObject.name=cron,reason=InvalidSpec -o json |
		jq -e '[.items[] | select(.type == "Warning" and (.message | test("older CronOMJob CRD")))] | length > 0' >/dev/null
}
wait_until 15 cron_warned && pass "CronOMJob: a Warning says its omJobSpec was pruned by an older CRD" ||
	fail "CronOMJob: events $($K get events -n "$ns" --field-selector involvedObject.name=cron -o json | jq -c '[.items[] | {reason, message}]')"
$K delete cronomjob -n "$ns" cron --wait=false >/dev/null
info=$(curl -s -m 5 "http://127.0.0.1:$OP_HP/info")
jq -e '.crds["omjobs.pipelines.openmetadata.org"] | (.pruned | index("status.conditions")) != null
	and (.upgrade | test("kubectl apply -f deploy/crd"))' <<<"$info" >/dev/null &&
	pass "/info: the pruned fields and how to upgrade" || fail "/info crds: $(jq -c .crds <<<"$info")"
n=$(grep 'the installed CRD is older than this operator' "$OP_LOG" | grep -c '"crd":"omjobs\.' || true)
[ "$n" = 1 ] && grep 'the installed CRD is older' "$OP_LOG" | grep '"crd":"omjobs\.' | grep -q 'status.mainPodReason' &&
	pass "logged once for the OMJob CRD, naming the pruned fields" || fail "log lines: $n"

omjob "$ns" ok '{"exit":0,"run":"2s"}' '{"exit":0,"run":"1s"}'
omjob "$ns" exit3 '{"exit":3,"run":"2s"}' '{"exit":0,"run":"1s"}'
omjob "$ns" oom '{"exit":137,"reason":"OOMKilled","run":"2s"}' '{"exit":0,"run":"1s"}'
omjob "$ns" ttl '{"exit":0,"run":"1s"}' '{"exit":0}' '{"ttlSecondsAfterFinished":3}'
omjob "$ns" cancel '{}' '{"exit":0,"run":"1s"}'

exit_uids() {
	pod_records | jq --arg ns "$ns" --arg n "$1" \
		'[.[] | select(.ns == $ns and .nlabel == $n and .ptype == "exit-handler") | .uid] | unique | length'
}
# Row 11: cancelled while its main pod runs.
wait_until 20 pod_phase_is "$ns" cancel-main Running || fail "cancel-main not Running"
$K delete omj -n "$ns" cancel --wait=false >/dev/null

finished() {
	local j
	for j in ok exit3 oom; do
		omj_phase_is "$ns" "$j" Succeeded || omj_phase_is "$ns" "$j" Failed || return 1
	done
}
wait_until 40 finished || fail "not finished: $($K get omj -n "$ns" -o wide 2>&1)"
for j in ok:Succeeded:success exit3:Failed:failed oom:Failed:failed; do
	IFS=: read -r n want ps <<<"$j"
	s=$($K get omj -n "$ns" "$n" -o json)
	[ "$(jq -r .status.phase <<<"$s")" = "$want" ] && pass "$n: $want" || fail "$n: $(jq -c .status <<<"$s")"
	jq -e '.status.completionTime != null and .status.mainPodName != null and .status.exitHandlerPodName != null' <<<"$s" >/dev/null &&
		pass "$n: completionTime, pod names kept" || fail "$n: status $(jq -c .status <<<"$s")"
	[ "$(exit_uids "$n")" = 1 ] && pass "$n: exactly one exit pod (by UID on the watch)" || fail "$n: $(exit_uids "$n") exit pods"
	[ "$(jp pod "$ns" "$n-exit" '{.spec.containers[0].env[?(@.name=="pipelineStatus")].value}')" = "$ps" ] &&
		pass "$n: pipelineStatus=$ps" || fail "$n: exit pod env wrong"
	wait_until 10 eval '[ -z "$(jp omj "$ns" "$n" "{.metadata.finalizers}")" ]' &&
		pass "$n: finalizers released" || fail "$n: finalizers $(jp omj "$ns" "$n" '{.metadata.finalizers}')"
	# The phase never went back once final (the OMJob watch).
	bad=$(awk -F'|' -v ns="$ns" -v n="$n" '$2 == ns && $3 == n { if (f && $5 != f) print; if ($5 == "Succeeded" || $5 == "Failed") f = $5 }' "$OWATCH_OUT")
	[ -z "$bad" ] || fail "$n: phase changed after the final one: $bad"
done
# Row 11: the exit handler ran once (pipelineStatus=failed), then the OMJob went.
wait_until 30 eval '! $K get omj -n "$ns" cancel >/dev/null 2>&1' &&
	pass "cancel: the OMJob went after its exit handler" || fail "cancel: $($K get omj,pods -n "$ns" 2>&1)"
[ "$(exit_uids cancel)" = 1 ] && pass "cancel: exactly one exit pod (by UID on the watch)" ||
	fail "cancel: $(exit_uids cancel) exit pods"
env=$(pod_records | jq -r --arg ns "$ns" '[.[] | select(.ns == $ns and .nlabel == "cancel" and .ptype == "exit-handler" and .env != null)][0].env[] | select(.name == "pipelineStatus") | .value')
[ "$env" = failed ] && pass "cancel: pipelineStatus=failed" || fail "cancel: pipelineStatus '$env'"
bad=$(awk -F'|' -v ns="$ns" '$2 == ns && $3 == "cancel" && $5 == "Succeeded"' "$OWATCH_OUT")
[ -z "$bad" ] && pass "cancel: never Succeeded" || fail "cancel: $bad"
# The TTL: the cleaner deletes it 3 s after completionTime.
wait_until 30 eval '! $K get omj -n "$ns" ttl >/dev/null 2>&1' &&
	pass "ttl: deleted after its TTL" || fail "ttl: still there: $($K get omj -n "$ns" ttl -o jsonpath='{.status}' 2>&1)"
[ "$($K get events -n "$ns" --field-selector involvedObject.name=ttl,reason=ResourcesCleanedUp -o name | wc -l)" -ge 1 ] &&
	pass "ttl: ResourcesCleanedUp Event" || fail "ttl: no ResourcesCleanedUp Event"
[ "$(exit_uids ttl)" = 1 ] && pass "ttl: exactly one exit pod" || fail "ttl: $(exit_uids ttl) exit pods"
# Each OMJob finished once: one OMJobCompleted/OMJobFailed Event each (count 1).
for n in ok exit3 oom; do
	c=$($K get events -n "$ns" --field-selector "involvedObject.name=$n" -o json |
		jq '[.items[] | select(.reason == "OMJobCompleted" or .reason == "OMJobFailed") | .count // 1] | add // 0')
	[ "$c" = 1 ] && pass "$n: one final Event" || fail "$n: $c final Events"
done
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
