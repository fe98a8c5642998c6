#!/usr/bin/env bash
# docs/SCENARIOS.md row 25 (issue 15): the original's Helm chart RBAC stays behind too. Its rules for the
# operator's ServiceAccount replace deploy/rbac's ClusterRole here (restored when
# the test exits; integration tests take turns, RESOURCE_LOCK), and the
# leader-election RoleBinding is removed: OMJobs and CronOMJobs get, list, watch,
# create, update, patch, delete and their /status get, update, patch; pods the
# same, pods/status get, watch, pods/log get; events create, patch; configmaps
# get, list, watch; secrets get, list. No events list or get, no leases, no
# */finalizers, no CRDs. Under exactly these rules: one warning at start naming the
# missing rules, Ready, no role restarting; rows 1-3 and 11 of docs/SCENARIOS.md
# end exactly once (one exit pod each by UID on a recorded watch); and across an
# operator restart mid-run (where the Event backfill would list Events) the
# running OMJob still finishes, its exit handler once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)

SAVED=$(mktemp -d /tmp/omjob-rbac.XXXXXX)
$K get clusterrole omjob-operator -o json | jq 'del(.metadata.resourceVersion, .metadata.managedFields)' >"$SAVED/cr.json"
$K get rolebinding -n omjob-system omjob-operator-leader-election -o json 2>/dev/null |
	jq 'del(.metadata.resourceVersion, .metadata.managedFields, .metadata.uid, .metadata.creationTimestamp)' >"$SAVED/rb.json" || true
restore_rbac() {
	$K replace -f "$SAVED/cr.json" >/dev/null 2>&1 || $K apply -f "$OMJOB_SRC/deploy/rbac/rbac.yaml" >/dev/null 2>&1 ||
		echo "FAIL: the ClusterRole not restored" >&2
	[ ! -s "$SAVED/rb.json" ] || $K create -f "$SAVED/rb.json" >/dev/null 2>&1 || true
	rm -rf "$SAVED"
	# The next test starts once the authorizer has the rules back.
	wait_until 20 eval '! denied && [ "$($K auth can-i get customresourcedefinitions/omjobs.pipelines.openmetadata.org --as=system:serviceaccount:omjob-system:omjob-operator)" = yes ]' ||
		echo "FAIL: deploy/rbac's rules not in effect again" >&2
}
trap 'set +e; cleanup; restore_rbac' EXIT

jq '.rules = [
	{apiGroups: ["pipelines.openmetadata.org"], resources: ["omjobs", "cronomjobs"],
	 verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]},
	{apiGroups: ["pipelines.openmetadata.org"], resources: ["omjobs/status", "cronomjobs/status"],
	 verbs: ["get", "update", "patch"]},
	{apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]},
	{apiGroups: [""], resources: ["pods/status"], verbs: ["get", "watch"]},
	{apiGroups: [""], resources: ["pods/log"], verbs: ["get"]},
	{apiGroups: [""], resources: ["events"], verbs: ["create", "patch"]},
	{apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"]},
	{apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"]}]' "$SAVED/cr.json" |
	$K replace -f - >/dev/null
$K delete rolebinding -n omjob-system omjob-operator-leader-election --ignore-not-found >/dev/null
denied() { [ "$($K auth can-i list events --as=system:serviceaccount:omjob-system:omjob-operator -A 2>/dev/null)" = no ]; }
wait_until 10 denied && pass "the chart's rules bound to the operator's identity" || fail "RBAC not swapped"

ns=$(new_ns chartrbac)
start_pod_watch
start_operator
warn=$(grep -c 'RBAC lacks rules the operator can do without' "$OP_LOG" || true)
[ "$warn" = 1 ] && grep 'RBAC lacks rules' "$OP_LOG" | grep -q 'list events' &&
	pass "one warning at start naming the missing rules" || fail "warnings: $warn: $(grep -i rbac "$OP_LOG" | head -3)"

exit_uids() {
	pod_records | jq --arg ns "$ns" --arg n "$1" \
		'[.[] | select(.ns == $ns and .nlabel == $n and .ptype == "exit-handler") | .uid] | unique | length'
}
omjob "$ns" ok '{"exit":0,"run":"1s"}' '{"exit":0,"run":"1s"}'
omjob "$ns" exit3 '{"exit":3,"run":"1s"}' '{"exit":0}'
omjob "$ns" oom '{"exit":137,"reason":"OOMKilled","run":"1s"}' '{"exit":0}'
omjob "$ns" cancel '{}' '{"exit":0,"run":"1s"}'
omjob "$ns" restart '{"exit":0,"run":"12s"}' '{"exit":0,"run":"1s"}'
wait_until 20 pod_phase_is "$ns" cancel-main Running || fail "cancel-main not Running"
$K delete omj -n "$ns" cancel --wait=false >/dev/null
wait_until 20 pod_phase_is "$ns" restart-main Running || fail "restart-main not Running"

# A restart mid-run: the new processes would backfill Events with a LIST.
no_restarts
stop_operator || fail "operator stop: $OP_STOP"
before=$(wc -l <"$OP_LOG") # the first run's lines (its reconcilers may have said it too)
start_operator

finished() {
	local j
	for j in ok exit3 oom restart; do
		omj_phase_is "$ns" "$j" Succeeded || omj_phase_is "$ns" "$j" Failed || return 1
	done
}
wait_until 45 finished || fail "not finished: $($K get omj -n "$ns" 2>&1)"
for j in ok:Succeeded exit3:Failed oom:Failed restart:Succeeded; do
	IFS=: read -r n want <<<"$j"
	[ "$(jp omj "$ns" "$n" '{.status.phase}')" = "$want" ] && pass "$n: $want" ||
		fail "$n: $(jp omj "$ns" "$n" '{.status}')"
	[ "$(exit_uids "$n")" = 1 ] && pass "$n: exactly one exit pod (by UID on the watch)" || fail "$n: $(exit_uids "$n") exit pods"
	wait_until 10 eval '[ -z "$(jp omj "$ns" "$n" "{.metadata.finalizers}")" ]' &&
		pass "$n: finalizers released" || fail "$n: finalizers left"
done
wait_until 30 eval '! $K get omj -n "$ns" cancel >/dev/null 2>&1' &&
	pass "cancel: the OMJob went after its exit handler" || fail "cancel: $($K get omj,pods -n "$ns" 2>&1)"
[ "$(exit_uids cancel)" = 1 ] && pass "cancel: exactly one exit pod" || fail "cancel: $(exit_uids cancel) exit pods"
n=$(tail -n +"$((before + 1))" "$OP_LOG" | grep -c 'no Event backfill after a restart' || true)
[ "$n" -ge 1 ] && [ "$n" -le 5 ] && pass "after the restart: the backfill said it cannot list Events ($n of 5 reconcilers), once each" ||
	fail "backfill warnings after the restart: $n"
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
