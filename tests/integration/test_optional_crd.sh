#!/usr/bin/env bash
# Readiness and OMJob work do not depend on an optional resource (issue 13): with
# the CronOMJob CRD deleted, the operator starts, becomes ready and runs OMJobs;
# /readyz (200) and the log say that CronOMJobs are unavailable and why. Once the
# CRD is installed again the watcher lists CronOMJobs, /readyz no longer names
# them, and a CronOMJob created then is in the watcher's cache. Then the same with
# the LIST of CronOMJobs forbidden (the operator's ClusterRole without them).
# Runs alone (RUN_SERIAL in tests/tests.cmake): it deletes a CRD of the whole
# cluster (and every CronOMJob with it) and edits the operator's ClusterRole;
# the exit trap installs both again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
: "${OMJOB_SRC:?}"
t0=$(now_ms)
CRD=$OMJOB_SRC/deploy/crd/cronomjobs.yaml
CRD_NAME=cronomjobs.pipelines.openmetadata.org
RBAC=$OMJOB_SRC/deploy/rbac/rbac.yaml

restore_crd() {
	$K apply -f "$CRD" >/dev/null 2>&1 || true
	$K wait --for condition=established --timeout=30s "crd/$CRD_NAME" >/dev/null 2>&1 || true
}
trap 'restore_crd; $K apply -f "$RBAC" >/dev/null 2>&1 || true; cleanup' EXIT

$K delete -f "$CRD" --wait=true --timeout=60s >/dev/null
gone() { ! $K get crd "$CRD_NAME" >/dev/null 2>&1; }
wait_until 30 gone || fail "CRD $CRD_NAME still there"
pass "CronOMJob CRD deleted"

start_operator
readyz() { curl -s -m 3 "http://127.0.0.1:$OP_HP/readyz"; }
body=$(readyz)
if grep -q '^ok' <<<"$body" && grep -qi 'cronomjob' <<<"$body"; then
	pass "/readyz is 200 and names what is missing: $(tr '\n' ' ' <<<"$body")"
else
	fail "/readyz body does not name the missing CronOMJobs: $body"
fi
if grep -q '"msg":"LIST failed".*"resource":"cronomjobs".*CronOMJob CRD not installed' "$OP_LOG" &&
	grep -q '"msg":"running without an optional resource".*CRD is not installed' "$OP_LOG"; then
	pass "the log says the CronOMJob CRD is missing"
else
	fail "no log line about the missing CronOMJob CRD: $(grep -i cron "$OP_LOG" | head -3)"
fi

ns=$(new_ns optcrd)
omjob "$ns" ok '{"exit":0,"run":"1s"}' none
if wait_until 60 omj_phase_is "$ns" ok Succeeded; then
	pass "an OMJob runs to Succeeded without the CronOMJob CRD"
else
	fail "OMJob ok: $($K get omj,pods -n "$ns" 2>&1)"
fi

# The CRD comes back: the watcher lists CronOMJobs again, /readyz stops naming them.
restore_crd
tr=$(now_ms)
listed() { ! readyz | grep -qi cronomjob; }
if wait_until 60 listed && grep -q '"msg":"optional resource available again"' "$OP_LOG"; then
	pass "/readyz no longer names CronOMJobs $(($(now_ms) - tr)) ms after the CRD was installed"
else
	fail "/readyz still names CronOMJobs 60 s after the CRD came back: $(readyz)"
fi
printf 'apiVersion: pipelines.openmetadata.org/v1\nkind: CronOMJob\nmetadata: {name: cj}\nspec: {schedule: "0 0 1 1 *", omJobSpec: {mainPodSpec: {image: busybox}}}\n' |
	$K apply -n "$ns" -f - >/dev/null
cached() { OMJOB_RUN_DIR=$OP_RUN timeout 5 "$OMJOB_BIN" cache --cron "$ns/cj" 2>/dev/null | grep -q '"name":"cj"'; }
if wait_until 30 cached; then
	pass "a CronOMJob created after the CRD came back is in the watcher's cache"
else
	fail "CronOMJob cj not in the watcher's cache: $(OMJOB_RUN_DIR=$OP_RUN "$OMJOB_BIN" cache --cron "$ns/cj" 2>&1 | head -c 300)"
fi
no_restarts

# Forbidden: the operator's ClusterRole without cronomjobs, a new operator.
stop_operator || fail "operator stop: $OP_STOP"
$K get clusterrole omjob-operator -o json |
	jq '.rules |= (map(if (.resources | index("cronomjobs")) then .resources -= ["cronomjobs"] else . end) | map(select(.resources | length > 0)))' |
	$K replace -f - >/dev/null
forbidden() { ! $K auth can-i list cronomjobs.pipelines.openmetadata.org --as system:serviceaccount:omjob-system:omjob-operator >/dev/null 2>&1; }
wait_until 10 forbidden || fail "the operator may still list CronOMJobs"
start_operator
body=$(readyz)
if grep -q '^ok' <<<"$body" && grep -q 'cronomjobs unavailable (HTTP 403' <<<"$body"; then
	pass "forbidden: /readyz is 200 and says why: $(tr '\n' ' ' <<<"$body")"
else
	fail "forbidden: /readyz: $body"
fi
grep -q '"msg":"running without an optional resource".*HTTP 403' "$OP_LOG" &&
	pass "forbidden: the log says so" || fail "forbidden: no log line about HTTP 403"
omjob "$ns" ok2 '{"exit":0,"run":"1s"}' none
if wait_until 60 omj_phase_is "$ns" ok2 Succeeded; then
	pass "forbidden: an OMJob runs to Succeeded"
else
	fail "forbidden: OMJob ok2: $($K get omj,pods -n "$ns" 2>&1)"
fi
$K apply -f "$RBAC" >/dev/null
tr=$(now_ms)
if wait_until 60 listed; then
	pass "forbidden: /readyz no longer names CronOMJobs $(($(now_ms) - tr)) ms after the ClusterRole was restored"
else
	fail "forbidden: /readyz still names CronOMJobs 60 s after the ClusterRole was restored: $(readyz)"
fi
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
