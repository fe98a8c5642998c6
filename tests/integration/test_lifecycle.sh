#!/usr/bin/env bash
# docs/SCENARIOS.md rows 1, 2, 3, 12, 14 and 20 against one operator: every OMJob
# in a namespace of its own, all at once, then each checked against every common
# check of docs/SCENARIOS.md (omjob_lib.sh check_runs): phase, mainPodReason,
# mainPodExitCode, message, conditions, the exit pod created exactly once (pod
# watch and ExitHandlerCreated Events) with the right pipelineStatus and OMJOB_*
# env, the Events, finalizers released, nothing left running; phases only move
# forward and the main outcome never changes once recorded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
FIX=$OMJOB_SRC/tests/fixtures/omjob-k8spipelineclient.yaml # as OpenMetadata sends it
t0=$(now_ms)

start_pod_watch
# OMJOB_SCHED_BATCH left at its default (on): the scheduling policy checked at the end.
start_operator

# Row 1: main exits 0, exit handler exits 0. The user's pipelineStatus is replaced.
n1=$(new_ns r1)
omjob "$n1" ok '{"exit":0,"run":"1s"}' '{"exit":0,"run":"1s"}' \
	'{"exitHandlerSpec":{"env":[{"name":"pipelineStatus","value":"failed"},{"name":"KEEP","value":"me"}]}}'
expect "$n1" ok '{"row":1,"desc":"main 0, exit handler 0","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'

# Row 2: main exits 3. A user pipelineStatus=success is replaced by failed.
n2=$(new_ns r2)
omjob "$n2" exit3 '{"exit":3,"run":"1s"}' '{"exit":0}' \
	'{"exitHandlerSpec":{"env":[{"name":"pipelineStatus","value":"success"}]}}'
expect "$n2" exit3 '{"row":2,"desc":"main exits 3","phase":"Failed","reason":"Error","codes":[3],"attempts":1,"xcode":0,"msg":"Error|exit code 3"}'

# Row 3: main OOM-killed.
n3=$(new_ns r3)
omjob "$n3" oom '{"exit":137,"reason":"OOMKilled","run":"1s"}' '{"exit":0}'
expect "$n3" oom '{"row":3,"desc":"main OOM-killed","phase":"Failed","reason":"OOMKilled","codes":[137],"attempts":1,"xcode":0,"msg":"OOMKilled"}'

# Row 12: main succeeds, the exit handler exits 2.
n12=$(new_ns r12)
omjob "$n12" xfail '{"exit":0}' '{"exit":2,"run":"1s"}'
expect "$n12" xfail '{"row":12,"desc":"main 0, exit handler 2","phase":"Failed","reason":"Completed","codes":[0],"attempts":1,"xcode":2,"failed":"ExitHandlerFailed","msg":"exit[ -]?handler"}'

# Row 14: no exitHandlerSpec, success and failure.
n14=$(new_ns r14)
omjob "$n14" noexit-ok '{"exit":0,"run":"1s"}' none
expect "$n14" noexit-ok '{"row":14,"desc":"no exitHandlerSpec, main 0","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":0}'
omjob "$n14" noexit-fail '{"exit":1,"run":"1s"}' none
expect "$n14" noexit-fail '{"row":14,"desc":"no exitHandlerSpec, main 1","phase":"Failed","reason":"Error","codes":[1],"attempts":0,"msg":"Error|exit code 1"}'

# Row 20: OpenMetadata's OMJob exactly as its server sends it (only the namespace
# is ours). It has no sim annotations: kwok runs its pods until told otherwise,
# so the test plays the containers' end by annotating the running pods.
n20=$(new_ns r20)
name20=$($K create --dry-run=client -o jsonpath='{.metadata.name}' -f "$FIX")
$K apply -n "$n20" -f "$FIX" >/dev/null
expect "$n20" "$name20" '{"row":20,"desc":"K8sPipelineClient fixture as sent","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'
want_config=$($K create --dry-run=client -o json -f "$FIX" | jq -c '.spec.mainPodSpec.env[] | select(.name == "config") | .value')
if wait_until 20 pod_phase_is "$n20" "$name20-main" Running; then
	p=$($K get pod -n "$n20" "$name20-main" -o json)
	jq -e '.metadata.labels["app.kubernetes.io/managed-by"] == "omjob-operator"
		and .metadata.labels["app.kubernetes.io/pipeline"] == "mysql-metadata-ingestion"
		and .metadata.labels["app.kubernetes.io/run-id"] == "3f9c2a1b-77d4-4c3e-9a51-0b8e2f6d1c90"
		and .metadata.labels["omjob.pipelines.openmetadata.org/pod-type"] == "main"' <<<"$p" >/dev/null &&
		pass "row 20: main pod labels: managed-by=omjob-operator wins over the user's, pipeline and run-id kept" ||
		fail "row 20: main pod labels $(jq -c .metadata.labels <<<"$p")"
	jq -e '[.spec.containers[0].env[] | select(has("valueFrom"))] == []' <<<"$p" >/dev/null &&
		pass "row 20: empty valueFrom {} dropped from the main pod's env" ||
		fail "row 20: valueFrom left in the main pod env: $(jq -c '[.spec.containers[0].env[] | select(has("valueFrom"))]' <<<"$p")"
	[ "$(jq -c '.spec.containers[0].env[] | select(.name == "config") | .value' <<<"$p")" = "$want_config" ] &&
		pass "row 20: the inline config ($(jq -r 'length' <<<"$want_config") bytes) reaches the main pod unchanged" ||
		fail "row 20: config env differs in the main pod"
	wait_until 5 eval '[ "$(jp omj "$n20" "$name20" "{.status.phase}")" = Running ]' &&
		pass "row 20: OMJob Running while its main pod runs" ||
		fail "row 20: OMJob phase $(jp omj "$n20" "$name20" '{.status.phase}') while the main pod runs"
	$K annotate pod -n "$n20" "$name20-main" sim.omjob.test/exit-code=0 >/dev/null
else
	fail "row 20: main pod not Running in 20 s: $($K get pods -n "$n20" -o wide 2>&1)"
fi
if wait_until 20 pod_phase_is "$n20" "$name20-exit" Running; then
	p=$($K get pod -n "$n20" "$name20-exit" -o json)
	jq -e '([.spec.containers[0].env[] | select(has("valueFrom"))] == [])
		and ([.spec.containers[0].env[].name] | contains(["pipelineRunId", "jobName", "namespace", "config", "pipelineStatus"]))
		and .metadata.labels["app.kubernetes.io/managed-by"] == "omjob-operator"' <<<"$p" >/dev/null &&
		pass "row 20: exit pod keeps the user env (without valueFrom {}) beside pipelineStatus, managed-by ours" ||
		fail "row 20: exit pod env/labels: $(jq -c '{env: [.spec.containers[0].env[] | {name, valueFrom}], labels: .metadata.labels}' <<<"$p")"
	[ "$(jp omj "$n20" "$name20" '{.status.phase}')" = ExitHandlerRunning ] &&
		pass "row 20: OMJob ExitHandlerRunning while its exit pod runs" ||
		fail "row 20: OMJob phase $(jp omj "$n20" "$name20" '{.status.phase}') while the exit pod runs"
	$K annotate pod -n "$n20" "$name20-exit" sim.omjob.test/exit-code=0 >/dev/null
else
	fail "row 20: exit pod not Running in 20 s: $($K get pods -n "$n20" -o wide 2>&1)"
fi

check_finished 60 "$t0"
$K wait --for=condition=Complete -n "$n1" omj/ok --timeout=5s >/dev/null 2>&1 &&
	pass "kubectl wait --for=condition=Complete works" || fail "kubectl wait --for=condition=Complete omj/ok"
check_runs
# The user's other variables survive next to ours (row 1).
[ "$(jp pod "$n1" ok-exit '{.spec.containers[0].env[?(@.name=="KEEP")].value}')" = me ] &&
	pass "row 1: the user's own exit env kept" || fail "row 1: user env KEEP lost"
# Held hints (docs/PROTOCOL.md, "Held hints"): the echoes of the operator's own
# writes waited for company, so the watcher sent fewer messages than hints, some
# of them by the hold timer; the exit handlers above started all the same.
m=$(op_metrics)
sum() { echo "$m" | awk -v re="$1" '$1 ~ re {s += $2} END {print s + 0}'; }
hs=$(sum '^omjob_watcher_hints_total\{.*result="sent"')
hh=$(sum '^omjob_watcher_hints_held_total\{')
ms=$(sum '^omjob_watcher_hint_messages_total\{.*result="sent"')
mh=$(sum '^omjob_watcher_hint_messages_total\{.*cause="hold"')
mw=$(sum '^omjob_watcher_hint_messages_total\{.*cause="wait"')
if [ "$hh" -gt 0 ] && [ "$hh" -lt "$hs" ] && [ "$ms" -lt "$hs" ] && [ "$mh" -gt 0 ] && [ "$mw" -gt 0 ]; then
	pass "hints: $hs sent, $hh of them held, in $ms messages ($mw when a loop waited, $mh by the hold timer)"
else
	fail "hint metrics: sent $hs, held $hh, messages $ms (wait $mw, hold $mh)"
fi
# The answers to the OMJob writes: their spec (OpenMetadata's templates) not built
# again, the view's kept (the same generation: docs/ARCHITECTURE.md, "The
# reconciler"), and the runs above all as the contract says with it.
av=$(sum '^omjob_reconciler_answer_specs_total\{.*source="view"')
aa=$(sum '^omjob_reconciler_answer_specs_total\{.*source="answer"')
if [ "$av" -ge 14 ] && [ "$aa" = 0 ]; then
	pass "OMJob write answers: $av took the view's spec, $aa built the answer's"
else
	fail "omjob_reconciler_answer_specs_total: view '$av', answer '$aa'"
fi
# The watch events of OMJobs: the spec (OpenMetadata's templates) read once per
# version of it, every other event keeping the cached one (docs/ARCHITECTURE.md,
# "What the cache keeps of an OMJob"), and the runs above all as the contract says.
sk=$(sum '^omjob_watcher_specs_total\{.*resource="omjobs".*source="kept"')
sp=$(sum '^omjob_watcher_specs_total\{.*resource="omjobs".*source="parsed"')
if [ "$sp" -gt 0 ] && [ "$sk" -gt "$sp" ]; then
	pass "OMJob watch events: $sk kept the cached spec, $sp parsed theirs"
else
	fail "omjob_watcher_specs_total: kept '$sk', parsed '$sp'"
fi
# By default (OMJOB_SCHED_BATCH unset, start_operator above) every process of the
# operator runs SCHED_BATCH (docs/ARCHITECTURE.md, "The scheduling policy"): the
# policy in /proc/<pid>/stat (field 41) is 3.
# shellcheck disable=SC2046 # one pid per word
pol=$(sched_policies "$OP_PID" $(op_status | awk 'NR > 2 && $2 ~ /^[0-9]+$/ {print $2}') | tr '\n' ' ')
if [ "$(echo "$pol" | wc -w)" -ge 9 ] && [ -z "$(echo "$pol" | tr ' ' '\n' | grep -v '^3$' | grep .)" ]; then
	pass "every process SCHED_BATCH ($(echo "$pol" | wc -w) processes)"
else
	fail "scheduling policies of the supervisor and its roles: $pol"
fi
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
