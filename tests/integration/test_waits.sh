#!/usr/bin/env bash
# Every wait is visible and bounded (issue 13; docs/LIFECYCLE.md, "Waits"), against
# one operator with OMJOB_START_TIMEOUT_SECONDS=10 (the deadline set by env var, not
# by the spec) and OMJOB_EXIT_HANDLER_MAX_ATTEMPTS=1:
# - cfg: a main pod stuck in CreateContainerConfigError (a missing ConfigMap; kwok
#   plays the kubelet's waiting state): within a second of the pod showing it,
#   status.message carries the waiting reason and message, the condition Waiting is
#   True with that reason, and one Warning PodWaiting is posted; at the deadline
#   (10 s after the pod's creation) the run ends as StartTimeout, the pod is
#   deleted, the exit handler runs once with pipelineStatus=failed, and the OMJob
#   ends Failed with Waiting no longer True; the PodWaiting Event stays one Event.
# - xpull: the exit pod stuck in ErrImagePull: the same visibility for the exit
#   handler, and at its deadline the exit pod is deleted and (one attempt allowed)
#   the OMJob ends Failed.
# - hid: a pod of the main pod's name that the watcher does not see (no OMJob
#   label): the creates are answered AlreadyExists; within two seconds the OMJob
#   says so (message, Waiting PodNameConflict, Warning), and at the deadline the
#   main outcome is PodNameConflict (the pod never touched), the exit handler runs.
# - refused: every status write of one namespace denied (a ValidatingAdmissionPolicy
#   on omjobs/status): a Warning ReconciliationError with the API server's
#   message, aggregated, retried with backoff (not a hot loop); Running once the
#   policy goes.
# - nsdel: the namespace is deleted while the main pod runs (a ConfigMap with a
#   finalizer keeps the namespace Terminating): the run is cancelled, the exit pod
#   cannot be created, the OMJob ends Failed with exitHandlerReason
#   NamespaceTerminating and lets go (gone) within seconds, without a hot loop of
#   refused creates.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)
TS=10
HOLD=omjob.test/hold
HOLD_NS=

VAP=omjob-test-deny-status-$$
release_hold() {
	[ -n "$HOLD_NS" ] && $K patch configmap -n "$HOLD_NS" hold --type=merge \
		-p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
	$K delete validatingadmissionpolicybinding "$VAP" --ignore-not-found >/dev/null 2>&1
	$K delete validatingadmissionpolicy "$VAP" --ignore-not-found >/dev/null 2>&1
	return 0
}
trap 'release_hold; cleanup' EXIT

start_operator OMJOB_START_TIMEOUT_SECONDS=$TS OMJOB_EXIT_HANDLER_MAX_ATTEMPTS=1

cond() { # NS NAME TYPE -> "status reason"
	jp omj "$1" "$2" "{.status.conditions[?(@.type==\"$3\")].status} {.status.conditions[?(@.type==\"$3\")].reason}"
}
events() { # NS NAME REASON -> JSON array of {type, count, message}
	$K get events -n "$1" --field-selector "involvedObject.name=$2,reason=$3" -o json |
		jq -c '[.items[] | {type, count: (.count // 1), message}]'
}
msg_has() { jp omj "$1" "$2" '{.status.message}' | grep -qF -- "$3"; }
# snap_has NS NAME TEXT: the OMJob's status, read once into SNAP; true when its
# message holds TEXT. The checks of one wait then read SNAP, not the OMJob again
# (a slow machine could otherwise see the deadline pass between two reads).
SNAP='{}'
snap_has() {
	SNAP=$($K get omj -n "$1" "$2" -o json 2>/dev/null | jq -c '.status // {}') || return 1
	jq -e --arg t "$3" '(.message // "") | contains($t)' <<<"$SNAP" >/dev/null
}
scond() { jq -r --arg t "$1" '[.conditions[]? | select(.type == $t)][0] | "\(.status) \(.reason)"' <<<"$SNAP"; }

# ---- cfg: CreateContainerConfigError ----
n=$(new_ns waits)
CMSG='configmap "ingestion-cfg" not found'
omjob "$n" cfg "{\"pending\":\"CreateContainerConfigError\",\"pmsg\":$(jq -cn --arg m "$CMSG" '$m')}" '{"exit":0}'
omjob "$n" xpull '{"exit":0}' '{"pending":"ErrImagePull","pmsg":"rpc error: pull access denied"}'
# hid: a pod of the main pod's name without the OMJob label (the watcher never
# sees it): the creates are answered AlreadyExists.
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: hid-main}\nspec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}\n' |
	$K create -n "$n" -f - >/dev/null
omjob "$n" hid '{"exit":0}' '{"exit":0}'
th=$(now_ms)
wait_until 20 eval "[ \"\$(jp pod $n cfg-main '{.status.containerStatuses[0].state.waiting.reason}')\" = CreateContainerConfigError ]" ||
	fail "cfg: the main pod never showed CreateContainerConfigError: $($K get pod -n "$n" cfg-main -o yaml 2>&1 | tail -30)"
t1=$(now_ms)
if wait_until 5 snap_has "$n" cfg "CreateContainerConfigError: $CMSG"; then
	d=$(($(now_ms) - t1))
	check "cfg: status.message shows the waiting reason ${d} ms after the pod did (want <= 1500)" [ "$d" -le 1500 ]
else
	fail "cfg: status.message never showed the waiting reason: '$(jp omj "$n" cfg '{.status.message}')'"
fi
check "cfg: condition Waiting True, reason CreateContainerConfigError ($(scond Waiting))" \
	[ "$(scond Waiting)" = "True CreateContainerConfigError" ]
check "cfg: phase Pending while waiting" [ "$(jq -r .phase <<<"$SNAP")" = Pending ]
wait_until 5 eval "[ \"\$(events $n cfg PodWaiting | jq length)\" = 1 ]" || true
ev=$(events "$n" cfg PodWaiting)
check "cfg: one Warning PodWaiting naming the reason and the deadline: $ev" \
	jq -e --arg m "$CMSG" 'length == 1 and .[0].type == "Warning" and (.[0].message | contains($m)) and (.[0].message | test("StartTimeout"))' <<<"$ev"

# ---- xpull: the exit pod waiting ----
if wait_until 20 snap_has "$n" xpull "ErrImagePull: rpc error: pull access denied"; then
	pass "xpull: status.message shows the exit pod's waiting reason"
else
	fail "xpull: status.message: '$(jp omj "$n" xpull '{.status.message}')'"
fi
check "xpull: condition Waiting True, reason ErrImagePull ($(scond Waiting))" \
	[ "$(scond Waiting)" = "True ErrImagePull" ]
wait_until 5 eval "[ \"\$(events $n xpull PodWaiting | jq length)\" = 1 ]" ||
	fail "xpull: PodWaiting Events: $(events "$n" xpull PodWaiting)"
# hid: visible within a couple of seconds (three AlreadyExists 300 ms apart).
if wait_until 5 snap_has "$n" hid "AlreadyExists"; then
	pass "hid: status.message says a pod the watch does not see holds the name ($(($(now_ms) - th)) ms after the OMJob's creation)"
else
	fail "hid: status.message: '$(jp omj "$n" hid '{.status.message}')'"
fi
check "hid: condition Waiting True, reason PodNameConflict ($(scond Waiting))" \
	[ "$(scond Waiting)" = "True PodNameConflict" ]
check "hid: Warning PodNameConflict" eval "[ \"\$(events $n hid PodNameConflict | jq length)\" -ge 1 ]"
# The deadline: StartTimeout 10 s after the pod's creation, then the exit handler.
if wait_until 30 eval "omj_phase_is $n cfg Failed"; then
	pass "cfg: Failed after the deadline"
else
	fail "cfg: not Failed 30 s on: $($K get omj -n "$n" cfg -o jsonpath='{.status}')"
fi
check "cfg: mainPodReason StartTimeout" [ "$(jp omj "$n" cfg '{.status.mainPodReason}')" = StartTimeout ]
check "cfg: the final message keeps the waiting reason" msg_has "$n" cfg CreateContainerConfigError
check "cfg: Waiting no longer True at the end ($(cond "$n" cfg Waiting))" \
	eval "[ \"\$(cond $n cfg Waiting | cut -d' ' -f1)\" != True ]"
check "cfg: the exit handler ran with pipelineStatus=failed" \
	eval "[ \"\$(jp pod $n cfg-exit '{.spec.containers[0].env[?(@.name==\"pipelineStatus\")].value}')\" = failed ]"
check "cfg: the exit handler ended Succeeded" [ "$(jp omj "$n" cfg '{.status.exitHandlerReason}')" = Completed ]
ev=$(events "$n" cfg PodWaiting)
check "cfg: still one PodWaiting Event, posted once: $ev" jq -e 'length == 1 and .[0].count == 1' <<<"$ev"

# xpull: its deadline.
if wait_until 30 eval "omj_phase_is $n xpull Failed"; then
	pass "xpull: Failed after the exit pod's deadline"
else
	fail "xpull: not Failed 30 s on: $($K get omj -n "$n" xpull -o jsonpath='{.status}')"
fi
check "xpull: mainPodReason Completed" [ "$(jp omj "$n" xpull '{.status.mainPodReason}')" = Completed ]
check "xpull: Waiting no longer True ($(cond "$n" xpull Waiting))" \
	eval "[ \"\$(cond $n xpull Waiting | cut -d' ' -f1)\" != True ]"

# hid: at the deadline (10 s after the OMJob's creation) the main outcome is
# PodNameConflict and the exit handler runs; the pod is never touched.
if wait_until 30 eval "omj_phase_is $n hid Failed"; then
	pass "hid: Failed after the deadline"
else
	fail "hid: not Failed 30 s on: $($K get omj -n "$n" hid -o jsonpath='{.status}')"
fi
check "hid: mainPodReason PodNameConflict" [ "$(jp omj "$n" hid '{.status.mainPodReason}')" = PodNameConflict ]
check "hid: the exit handler ran with pipelineStatus=failed" \
	eval "[ \"\$(jp pod $n hid-exit '{.spec.containers[0].env[?(@.name==\"pipelineStatus\")].value}')\" = failed ]"
check "hid: the stranger pod untouched (no finalizer, no ownerReference)" \
	eval "[ -z \"\$(jp pod $n hid-main '{.metadata.finalizers}{.metadata.ownerReferences}{.metadata.deletionTimestamp}')\" ]"

# ---- refused: every status write of one namespace denied by an admission policy ----
nv=$(new_ns waitsvap)
$K label namespace "$nv" "omjob.test/vap=$VAP" >/dev/null
printf '%s\n' "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: $VAP}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [pipelines.openmetadata.org], apiVersions: ['*'], operations: [UPDATE], resources: [omjobs/status]}
  validations:
  - {expression: 'false', message: 'status writes denied by the test policy'}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: $VAP}
spec:
  policyName: $VAP
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {omjob.test/vap: $VAP}" | $K apply -f - >/dev/null
# The policy is in force once a status write is refused: tried on a probe OMJob
# (the operator's writes race it: it ends whatever the outcome).
denied() { # the probe's status write is refused by the test policy
	local out
	out=$($K patch omj -n "$nv" probe --subresource=status --type=merge -p '{"status":{"message":"probe"}}' 2>&1) && return 1
	[[ $out == *"status writes denied by the test policy"* ]]
}
omjob "$nv" probe '{"exit":0}' 'none'
wait_until 20 denied || fail "refused: the admission policy never refused a status write"
omjob "$nv" refused '{}' 'none'
tr=$(now_ms)
if wait_until 10 eval "[ \"\$(events $nv refused ReconciliationError | jq length)\" -ge 1 ]"; then
	pass "refused: Warning ReconciliationError $(($(now_ms) - tr)) ms after the OMJob's creation"
else
	fail "refused: no ReconciliationError: $(events "$nv" refused ReconciliationError)"
fi
sleep 4
ev=$(events "$nv" refused ReconciliationError)
check "refused: one aggregated Warning naming the policy's message, count 2..8 in ~5 s (backoff, no hot loop): $ev" \
	jq -e 'length == 1 and .[0].type == "Warning" and (.[0].message | contains("status writes denied by the test policy")) and .[0].count >= 2 and .[0].count <= 8' <<<"$ev"
$K delete validatingadmissionpolicybinding "$VAP" >/dev/null
if wait_until 40 eval "omj_phase_is $nv refused Running"; then
	pass "refused: Running once the policy is gone"
else
	fail "refused: not Running 40 s after the policy went: $($K get omj -n "$nv" refused -o jsonpath='{.status}')"
fi

# ---- nsdel: the namespace is deleted mid-run ----
nd=$(new_ns waitsns)
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hold, finalizers: ["%s"]}\n' "$HOLD" |
	$K create -n "$nd" -f - >/dev/null
HOLD_NS=$nd
omjob "$nd" run '{}' '{"exit":0}'
wait_until 20 eval "omj_phase_is $nd run Running" || fail "nsdel: not Running: $($K get omj,pods -n "$nd" 2>&1)"
$K get omj -n "$nd" run -w -o json >"$OP_TMP/nsdel.watch" 2>/dev/null &
NSW=$!
sleep 0.5
td=$(now_ms)
$K delete namespace "$nd" --wait=false >/dev/null
if wait_until 30 eval "! $K get omj -n $nd run >/dev/null 2>&1"; then
	pass "nsdel: the OMJob let the namespace go $(($(now_ms) - td)) ms after its deletion"
else
	fail "nsdel: the OMJob is still there 30 s on: $($K get omj -n "$nd" run -o jsonpath='{.metadata.finalizers} {.status}')"
fi
kill "$NSW" 2>/dev/null || true
last=$(jq -sc '[.[] | .status // {}] | last' "$OP_TMP/nsdel.watch")
check "nsdel: ended Failed, exitHandlerReason NamespaceTerminating, mainPodReason Cancelled or Deleted: $last" \
	jq -e '.phase == "Failed" and .exitHandlerReason == "NamespaceTerminating" and (.mainPodReason | IN("Cancelled", "Deleted"))' <<<"$last"
refused=$(grep -c "\"key\":\"$nd/run\".*\"action\":\"create-exit-pod\"" "$OP_LOG" || true)
check "nsdel: the exit pod's creation refused $refused time(s) (no hot loop: want 1..3)" \
	eval "[ $refused -ge 1 ] && [ $refused -le 3 ]"

no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
