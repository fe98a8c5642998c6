#!/usr/bin/env bash
# docs/SCENARIOS.md row 23 (issue 15): taking over from the original (Java) operator. Its leftovers are made
# with the admin identity while no operator runs, exactly as it leaves them
# (/work/shared/UPSTREAM.md, docs/LIFECYCLE.md "Taking over from the original
# operator"): pods <omjob>-main / <omjob>-exit controlled by the OMJob, without a
# finalizer, labelled managed-by=openmetadata (the spec's label wins there), and
# an OMJob status with none of our fields, written through the status
# subresource. Then the operator starts. Exit pods are counted by UID on a
# recorded pod watch. Cases: main pod running (ends later: exit handler once);
# main pod ended unwatched (exit handler once, at start), also for a long name
# the original shortened its own way; exit pod running
# (adopted, never a second); exit pod ended (recorded, finished, no new pod);
# Succeeded under the original (final, untouched, the TTL deletes it); a
# stranger pod of the main pod's name without an ownerReference (not adopted,
# the OMJob waits visibly; once it goes, the OMJob runs). Then the way back:
# `omjob-operator release` with the operator stopped leaves no finalizer, and
# deleting the OMJobs completes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)

start_pod_watch
ns=$(new_ns takeover)
now_s() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# orig_omjob NAME MAIN-SIM EXIT-SIM [TTL]: an OMJob as OpenMetadata sends it
# (its pod specs label managed-by=openmetadata).
orig_omjob() {
	local lab='{"app.kubernetes.io/managed-by":"openmetadata"}'
	omjob_json "$ns" "$1" "$2" "$3" "{\"ttlSecondsAfterFinished\":${4:-3600},
		\"mainPodSpec\":{\"labels\":$lab},\"exitHandlerSpec\":{\"labels\":$lab}}" |
		$K create -n "$ns" -f - >/dev/null || fail "OMJob $1 not created"
}

# orig_pod OMJOB TYPE [pipelineStatus [NAME]]: the pod the original builds (TYPE main
# or exit-handler), named NAME if given: its labels, then the spec's (which win),
# the spec's annotations (the sim ones drive kwok), ownerReference controller +
# blockOwnerDeletion.
orig_pod() {
	$K get omj -n "$ns" "$1" -o json | jq -c --arg t "$2" --arg ps "${3:-}" --arg pn "${4:-}" '
		.metadata as $m | (if $t == "main" then .spec.mainPodSpec else .spec.exitHandlerSpec end) as $s
		| {apiVersion: "v1", kind: "Pod",
		   metadata: {name: (if $pn != "" then $pn else $m.name + (if $t == "main" then "-main" else "-exit" end) end),
			labels: ({"app.kubernetes.io/name": "openmetadata", "app.kubernetes.io/component": "ingestion",
				"app.kubernetes.io/managed-by": "omjob-operator",
				"omjob.pipelines.openmetadata.org/name": $m.name,
				"omjob.pipelines.openmetadata.org/pod-type": $t} + ($s.labels // {})),
			annotations: ($s.annotations // {}),
			ownerReferences: [{apiVersion: "pipelines.openmetadata.org/v1", kind: "OMJob",
				name: $m.name, uid: $m.uid, controller: true, blockOwnerDeletion: true}]},
		   spec: {restartPolicy: "Never", containers: [{name: "main", image: $s.image, command: $s.command,
			env: (if $ps == "" then [] else [{name: "pipelineStatus", value: $ps}] end),
			securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: ["ALL"]}}}]}}' |
		$K create -n "$ns" -f - >/dev/null || fail "pod of $1 ($2) not created"
}

# orig_status OMJOB JSON: the status the original wrote (status subresource).
orig_status() {
	$K patch omj -n "$ns" "$1" --subresource=status --type=merge -p "{\"status\":$2}" >/dev/null ||
		fail "status of $1 not written"
}

# exit_uids OMJOB: how many distinct exit pods (by UID) the pod watch saw.
exit_uids() {
	pod_records | jq --arg ns "$ns" --arg n "$1" \
		'[.[] | select(.ns == $ns and .nlabel == $n and .ptype == "exit-handler") | .uid] | unique | length'
}
# fin_seen POD: true once the watch saw our finalizer on it (adopted).
fin_seen() { # (a last event still being written is left out, as in pod_records)
	{ jq -c --arg ns "$ns" --arg n "$1" 'select(.object.metadata.namespace == $ns and .object.metadata.name == $n
		and ((.object.metadata.finalizers // []) | any(. == "omjob.pipelines.openmetadata.org/tracking")))
		| .object.metadata.uid' "$WATCH_OUT" 2>/dev/null || true; } | grep -q .
}
fin() { jp "$1" "$ns" "$2" '{.metadata.finalizers}'; }

ts=$(now_s)
# run: main pod running under the original; it ends 25 s after its start.
orig_omjob run '{"exit":0,"run":"25s"}' '{"exit":0,"run":"1s"}'
orig_pod run main
orig_status run "{\"phase\":\"Running\",\"mainPodName\":\"run-main\",\"startTime\":\"$ts\",\"lastTransitionTime\":\"$ts\",\"message\":\"Main pod created\"}"
# ended: main pod exited 3 while nobody watched.
orig_omjob ended '{"exit":3}' '{"exit":0,"run":"1s"}'
orig_pod ended main
orig_status ended "{\"phase\":\"Running\",\"mainPodName\":\"ended-main\",\"startTime\":\"$ts\",\"lastTransitionTime\":\"$ts\",\"message\":\"Main pod created\"}"
# long: a name too long for "-main"; the original shortened its pod name with a
# hash of its own (ours differs); its main pod exited 2 while nobody watched.
long="long-ingestion-pipeline-name-for-the-hash-of-the-original-op"
lmain="long-ingestion-pipeline-name-for-the-hash-5e0c1a-main"
orig_omjob "$long" '{"exit":2}' '{"exit":0,"run":"1s"}'
orig_pod "$long" main "" "$lmain"
orig_status "$long" "{\"phase\":\"Running\",\"mainPodName\":\"$lmain\",\"startTime\":\"$ts\",\"lastTransitionTime\":\"$ts\",\"message\":\"Main pod created\"}"
# xrun: main pod exited 0, the original's exit pod runs for 25 s.
orig_omjob xrun '{"exit":0}' '{"exit":0,"run":"25s"}'
orig_pod xrun main
orig_pod xrun exit-handler success
orig_status xrun "{\"phase\":\"ExitHandlerRunning\",\"mainPodName\":\"xrun-main\",\"exitHandlerPodName\":\"xrun-exit\",\"mainPodExitCode\":0,\"startTime\":\"$ts\",\"lastTransitionTime\":\"$ts\",\"message\":\"Main pod completed with exit code: 0\"}"
# xended: both pods ended; the original never saw the exit pod's end.
orig_omjob xended '{"exit":0}' '{"exit":0}'
orig_pod xended main
orig_pod xended exit-handler success
orig_status xended "{\"phase\":\"ExitHandlerRunning\",\"mainPodName\":\"xended-main\",\"exitHandlerPodName\":\"xended-exit\",\"mainPodExitCode\":0,\"startTime\":\"$ts\",\"lastTransitionTime\":\"$ts\",\"message\":\"Main pod completed with exit code: 0\"}"
# final: Succeeded under the original (no completionTime: it keeps none); TTL 8 s.
orig_omjob final '{"exit":0}' '{"exit":0}' 8
orig_pod final main
orig_pod final exit-handler success
# stranger: a pod of the main pod's name (the original's labels) that no OMJob owns.
# It is never scheduled (no node has its label), so kwok never acts on it: kwok
# handles even a forced deletion of a pod it runs (the API server writes the
# deletionTimestamp first) and patches and deletes by name, which hit our new pod
# of the same name (seen in CI: our main pod Failed 137 on creation).
orig_omjob stranger '{"exit":0,"run":"1s"}' '{"exit":0,"run":"1s"}'
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: stranger-main\n  labels: {omjob.pipelines.openmetadata.org/name: stranger, omjob.pipelines.openmetadata.org/pod-type: main}\nspec: {restartPolicy: Never, nodeSelector: {sim.omjob.test/no-such-node: "true"}, containers: [{name: main, image: busybox}]}\n' |
	$K create -n "$ns" -f - >/dev/null

wait_until 20 pod_phase_is "$ns" ended-main Failed || fail "ended-main not Failed: $($K get pods -n "$ns" 2>&1)"
wait_until 20 pod_phase_is "$ns" "$lmain" Failed || fail "$lmain not Failed"
wait_until 20 pod_phase_is "$ns" xended-exit Succeeded || fail "xended-exit not Succeeded"
wait_until 20 pod_phase_is "$ns" final-exit Succeeded || fail "final-exit not Succeeded"
pod_phase_is "$ns" run-main Running && pod_phase_is "$ns" xrun-exit Running ||
	fail "run-main / xrun-exit not Running: $($K get pods -n "$ns" 2>&1)"
done_ltt=$(now_s)
orig_status final "{\"phase\":\"Succeeded\",\"mainPodName\":\"final-main\",\"exitHandlerPodName\":\"final-exit\",\"mainPodExitCode\":0,\"startTime\":\"$ts\",\"lastTransitionTime\":\"$done_ltt\",\"message\":\"Exit handler completed with exit code: 0\"}"
pass "the original's leftovers made ($(($(now_ms) - t0)) ms)"

t_start=$(now_ms)
start_operator

# Adoption: our finalizer on the pods of OMJobs still running, none on strangers.
for p in run-main xrun-main xrun-exit; do
	wait_until 10 fin_seen "$p" && pass "$p adopted (our finalizer added)" || fail "$p never adopted: $(fin pod "$p")"
done
# The stranger: not adopted, the OMJob waits visibly.
wait_until 10 eval '[[ "$(jp omj "$ns" stranger "{.status.message}")" == *"not owned by this OMJob"* ]]' &&
	pass "stranger: status.message says why the OMJob waits" ||
	fail "stranger: message $(jp omj "$ns" stranger '{.status}')"
w=$($K get events -n "$ns" --field-selector involvedObject.name=stranger,reason=PodNameConflict -o json |
	jq '[.items[] | select(.type == "Warning")] | length')
[ "$w" -ge 1 ] && pass "stranger: Warning PodNameConflict" || fail "stranger: no PodNameConflict Warning"
[ -z "$(fin pod stranger-main)" ] && ! fin_seen stranger-main &&
	pass "stranger: its pod never got our finalizer" || fail "stranger pod touched: $(fin pod stranger-main)"

# ended: the exit handler at start, once; run, xrun, xended finish.
if wait_until 10 eval '[ "$(exit_uids ended)" -ge 1 ]'; then
	c=$(date -d "$(jp pod "$ns" ended-exit '{.metadata.creationTimestamp}')" +%s)
	pass "ended: exit handler created $((c - t_start / 1000)) s after the operator started (whole seconds)"
else
	fail "ended: no exit pod"
fi
[ "$(jp pod "$ns" ended-exit '{.spec.containers[0].env[?(@.name=="pipelineStatus")].value}')" = failed ] &&
	pass "ended: pipelineStatus=failed (main exited 3)" || fail "ended: exit pod env wrong"
four_finished() {
	local j
	for j in run ended xrun xended "$long"; do
		omj_phase_is "$ns" "$j" Succeeded || omj_phase_is "$ns" "$j" Failed || return 1
	done
}
wait_until 45 four_finished ||
	fail "not finished: $($K get omj -n "$ns" 2>&1)"
for j in run:Succeeded ended:Failed xrun:Succeeded xended:Succeeded "$long:Failed"; do
	n=${j%%:*} want=${j#*:}
	[ "$(jp omj "$ns" "$n" '{.status.phase}')" = "$want" ] && pass "$n: $want" ||
		fail "$n: phase $(jp omj "$ns" "$n" '{.status.phase}'), want $want"
	[ "$(exit_uids "$n")" = 1 ] && pass "$n: exactly one exit pod (by UID on the watch)" ||
		fail "$n: $(exit_uids "$n") exit pods"
	s=$($K get omj -n "$ns" "$n" -o json)
	jq -e --arg ts "$ts" '.status.startTime == $ts and (.status.conditions | length) >= 3
		and .status.observedGeneration == 1 and .status.completionTime != null and .status.mainPodName != null' <<<"$s" >/dev/null &&
		pass "$n: our status shape, the original's startTime kept" || fail "$n: status $(jq -c .status <<<"$s")"
done
# long: followed under the original's pod name, never a main pod of ours.
n=$(pod_records | jq --arg ns "$ns" --arg n "$long" '[.[] | select(.ns == $ns and .nlabel == $n and .ptype == "main") | .uid] | unique | length')
[ "$n" = 1 ] && [ "$(jp omj "$ns" "$long" '{.status.mainPodName}')" = "$lmain" ] &&
	pass "long: the original's $lmain followed, no main pod of ours" ||
	fail "long: $n main pods, status $(jp omj "$ns" "$long" '{.status}')"
[ "$(jp omj "$ns" "$long" '{.status.mainPodExitCode}')" = 2 ] && pass "long: main exit code 2 recorded" ||
	fail "long: mainPodExitCode $(jp omj "$ns" "$long" '{.status.mainPodExitCode}')"
# xrun and xended: the original's exit pod is the one (its UID), no -exit-1.
for n in xrun xended; do
	[ -z "$($K get pod -n "$ns" "$n-exit-1" -o name 2>/dev/null)" ] && pass "$n: no second attempt" ||
		fail "$n: $n-exit-1 exists"
done
ct=$(jp omj "$ns" xrun '{.status.completionTime}')
xf=$(jp pod "$ns" xrun-exit '{.status.containerStatuses[0].state.terminated.finishedAt}')
[ -n "$xf" ] && [ "$(date -d "$ct" +%s)" -ge "$(date -d "$xf" +%s)" ] &&
	pass "xrun: finished when its exit pod ended ($xf), not before ($ct)" ||
	fail "xrun: completionTime $ct, exit pod finished at ${xf:-?}"

# final: never re-run, the TTL applies (8 s from the original's lastTransitionTime).
wait_until 30 eval '! $K get omj -n "$ns" final >/dev/null 2>&1' &&
	pass "final: deleted by the TTL (8 s after the lastTransitionTime the original wrote)" ||
	fail "final: still there: $($K get omj -n "$ns" final -o jsonpath='{.status}' 2>&1)"
[ "$(exit_uids final)" = 1 ] && pass "final: no new exit pod" || fail "final: $(exit_uids final) exit pods"
bad=$(awk -F'|' -v ns="$ns" '$2 == ns && $3 == "final" && $5 != "" && $5 != "Succeeded"' "$OWATCH_OUT")
[ -z "$bad" ] && pass "final: phase never left Succeeded" || fail "final: phases $bad"
[ "$($K get events -n "$ns" --field-selector involvedObject.name=final,reason=ResourcesCleanedUp -o name | wc -l)" -ge 1 ] &&
	pass "final: ResourcesCleanedUp Event" || fail "final: no ResourcesCleanedUp Event"
n=$(pod_records | jq --arg ns "$ns" '[.[] | select(.ns == $ns and .nlabel == "final" and .type == "ADDED") | .uid] | unique | length')
[ "$n" = 2 ] && pass "final: no pod created for it" || fail "final: $n pods seen"

# The stranger goes: the OMJob runs, and finishes. (Never scheduled, it goes at once.)
$K delete pod -n "$ns" stranger-main --grace-period=0 --force --wait=true >/dev/null 2>&1
wait_until 30 omj_phase_is "$ns" stranger Succeeded && pass "stranger: the OMJob ran once the pod went" ||
	fail "stranger: $($K get omj,pods -n "$ns" 2>&1)"
# Finalizers all released once finished.
left=$($K get pods,omj -n "$ns" -o json | jq -r '.items[] | select((.metadata.finalizers // []) | length > 0) | .metadata.name')
[ -z "$left" ] && pass "no finalizer left on pods or OMJobs" || fail "finalizers left on: $left"

# The way back: an OMJob of ours mid-run; the operator stops; `release` (only this
# test's namespace: other tests may run operators of their own) leaves no
# finalizer, and deleting the OMJobs completes with no operator running.
omjob "$ns" back '{}' '{"exit":0}'
wait_until 20 eval '[ -n "$(fin pod back-main)" ] && omj_phase_is "$ns" back Running' ||
	fail "back: not Running with our finalizer: $($K get omj,pods -n "$ns" 2>&1)"
no_restarts
stop_operator || fail "operator stop: $OP_STOP"
rel() { env KUBECONFIG="$OMJOB_TEST_KUBECONFIG" WATCH_NAMESPACES="$ns" OMJOB_RUN_DIR="$OP_RUN" "$OMJOB_BIN" release "$@" 2>&1; }
out=$(rel --dry-run) && [[ $out == *"would release 1 pod(s) and 1 OMJob(s); 0 failed"* ]] && [ -n "$(fin pod back-main)" ] &&
	pass "release --dry-run: names them, changes nothing" || fail "release --dry-run: $out"
out=$(rel) && [[ $out == *"released 1 pod(s) and 1 OMJob(s); 0 failed"* ]] &&
	pass "release: exit 0, $(echo "$out" | tail -1)" || fail "release: $out"
left=$($K get pods,omj -n "$ns" -o json | jq -r '.items[] | select((.metadata.finalizers // []) | length > 0) | .metadata.name')
[ -z "$left" ] && pass "after release no finalizer on any pod or OMJob" || fail "after release, finalizers on: $left"
if $K delete omj -n "$ns" --all --wait=true --timeout=20s >/dev/null 2>&1; then
	pass "OMJobs deleted with no operator running"
else
	fail "OMJob deletion stuck: $($K get omj -n "$ns" -o json | jq -c '[.items[].metadata | {name, finalizers}]')"
fi
wait_until 30 eval '[ -z "$($K get pods -n "$ns" -l omjob.pipelines.openmetadata.org/name -o name 2>/dev/null)" ]' &&
	pass "their pods gone (garbage collector)" || fail "pods left: $($K get pods -n "$ns" -o json | jq -c '[.items[].metadata | {name, finalizers, deletionTimestamp}]')"
note "elapsed $(($(now_ms) - t0)) ms"
t_done
