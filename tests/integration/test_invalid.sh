#!/usr/bin/env bash
# docs/SCENARIOS.md row 21, invalid OMJobs, against one operator:
# - refused at admission by the CRD schema with a message naming the field
#   (missing image, bad pull policy, negative TTL), and nothing stored;
# - a 250-character name: pods get names of at most 63 characters with a hash,
#   and the run completes like row 1;
# - env from a ConfigMap that does not exist: kwok starts the container anyway
#   (no kubelet checks it), so the run completes, or fails with a message naming
#   the ConfigMap; and as a real kubelet reports it (Pending with
#   CreateContainerConfigError) it ends as StartTimeout with the waiting reason in
#   the message;
# - a pod the API server rejects (a resource quantity the CRD lets through): a
#   FailedCreate Warning with the server's message, retried, then CreateFailed,
#   and the exit handler still runs once;
# no role crashes or restarts. Every run is checked against every common check
# of docs/SCENARIOS.md (omjob_lib.sh check_runs).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)

# 1. Refused at admission (no operator needed).
na=$(new_ns adm)
refused() { # NAME SPEC-JSON MESSAGE-FRAGMENT
	local out
	if out=$(jq -n --arg n "$1" --argjson s "$2" \
		'{apiVersion: "pipelines.openmetadata.org/v1", kind: "OMJob", metadata: {name: $n}, spec: $s}' |
		$K create -n "$na" -f - 2>&1); then
		fail "row 21: $1 accepted: $out"
	elif [[ $out == *"$3"* ]]; then
		pass "row 21: $1 refused at admission: $(grep -o "$3.*" <<<"$out" | cut -c1-120)"
	else
		fail "row 21: $1 refused without '$3': $out"
	fi
	$K get omj -n "$na" "$1" >/dev/null 2>&1 && fail "row 21: refused $1 stored anyway" || true
}
refused no-image '{"mainPodSpec": {"command": ["x"]}}' 'spec.mainPodSpec.image: Required value'
refused no-exit-image '{"mainPodSpec": {"image": "x"}, "exitHandlerSpec": {"command": ["x"]}}' \
	'spec.exitHandlerSpec.image: Required value'
refused bad-pull '{"mainPodSpec": {"image": "x", "imagePullPolicy": "Sometimes"}}' \
	'spec.mainPodSpec.imagePullPolicy: Unsupported value: "Sometimes"'
refused negative-ttl '{"mainPodSpec": {"image": "x"}, "ttlSecondsAfterFinished": -1}' \
	'spec.ttlSecondsAfterFinished: Invalid value: -1'

start_pod_watch
start_operator

# 2. A name of 250 characters (the limit is 253): pod names and label values
# must be shortened with a hash.
long=om-job-$(printf 'abcdefghij%.0s' $(seq 1 25))
long=${long:0:249}z
nl=$(new_ns long)
omjob "$nl" "$long" '{"exit":0,"run":"1s"}' '{"exit":0}'
expect "$nl" "$long" '{"row":21,"desc":"250-character name","long":true,"phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'

# 3. env from a missing ConfigMap, on kwok: starts anyway.
nc=$(new_ns cm)
cmenv='{"env":[{"name":"FROM_CM","valueFrom":{"configMapKeyRef":{"name":"missing-cm","key":"k"}}}]}'
omjob "$nc" cm '{"exit":0,"run":"1s"}' '{"exit":0}' "{\"mainPodSpec\":$cmenv}"
# ... and as a kubelet reports it: CreateContainerConfigError until the start timeout.
omjob "$nc" cm-kubelet '{"pending":"CreateContainerConfigError","pmsg":"configmap \"missing-cm\" not found"}' \
	'{"exit":0}' "{\"mainPodSpec\":$cmenv,\"startTimeoutSeconds\":3}"
expect "$nc" cm-kubelet '{"row":21,"desc":"missing ConfigMap as a kubelet reports it","phase":"Failed","reason":"StartTimeout","codes":[null],"attempts":1,"xcode":0,"stays":false,"msg":"CreateContainerConfigError.*configmap \"missing-cm\" not found","events":["StartTimeout"]}'

# 4. A pod the API server rejects: the CRD takes any string as a quantity.
nq=$(new_ns quota)
omjob "$nq" badqty '{"exit":0}' '{"exit":0}' \
	'{"mainPodSpec":{"resources":{"requests":{"cpu":"lots"}}},"startTimeoutSeconds":6}'
expect "$nq" badqty '{"row":21,"desc":"main pod rejected by the API server","phase":"Failed","reason":"CreateFailed","codes":[null],"attempts":1,"xcode":0,"stays":false,"nomain":true,"msg":"quantit|invalid|reject","events":["FailedCreate"]}'

# The missing-ConfigMap run on kwok: its expectation depends on what the
# operator makes of it (both are fine, if the message is clear).
if wait_until 60 eval '[[ "$(jp omj "$nc" cm "{.status.phase}")" =~ ^(Succeeded|Failed)$ ]]'; then
	ph=$(jp omj "$nc" cm '{.status.phase}')
	if [ "$ph" = Succeeded ]; then
		expect "$nc" cm '{"row":21,"desc":"env from a missing ConfigMap (kwok runs it)","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'
	else
		r=$(jp omj "$nc" cm '{.status.mainPodReason}')
		expect "$nc" cm "$(jq -nc --arg r "$r" '{row: 21, desc: "env from a missing ConfigMap", phase: "Failed", reason: $r,
			codes: [null, 0], attempts: 1, xcode: 0, stays: false, msg: "configmap|missing-cm"}')"
	fi
	[ "$(jp pod "$nc" cm-main '{.spec.containers[0].env[?(@.name=="FROM_CM")].valueFrom.configMapKeyRef.name}')" = missing-cm ] &&
		pass "row 21: the configMapKeyRef reaches the main pod as written" ||
		fail "row 21: FROM_CM in the main pod: $(jp pod "$nc" cm-main '{.spec.containers[0].env}')"
else
	fail "row 21: OMJob with a missing ConfigMap not finished in 60 s: $(jp omj "$nc" cm '{.status}')"
fi

check_finished 60 "$t0"
check_runs

# Long name: every pod name and label value fits, with a hash, and is distinct.
pods=$($K get pods -n "$nl" -o json)
if jq -e '(.items | length) >= 2 and all(.items[]; (.metadata.name | length <= 63 and test("-[0-9a-f]{8}-(main|exit)$"))
	and (.metadata.labels | all(.[]; length <= 63))) and (.items | map(.metadata.name) | unique | length) == (.items | length)' \
	<<<"$pods" >/dev/null; then
	pass "row 21: 250-character name: pods $(jq -c '[.items[].metadata.name | "\(.[:12])...\(.[-18:]) (\(length))"]' <<<"$pods"), labels <= 63"
else
	fail "row 21: long-name pods: $(jq -c '[.items[] | {name: .metadata.name, labels: .metadata.labels}]' <<<"$pods")"
fi
# StartTimeout: the waiting reason reached the Event too.
ev=$($K get events -n "$nc" --field-selector involvedObject.kind=OMJob,involvedObject.name=cm-kubelet,reason=StartTimeout -o json)
jq -e 'any(.items[]; .type == "Warning" and (.message | test("CreateContainerConfigError")))' <<<"$ev" >/dev/null &&
	pass "row 21: StartTimeout Warning names CreateContainerConfigError" ||
	fail "row 21: StartTimeout Events: $(jq -c '[.items[] | {type, message}]' <<<"$ev")"
# CreateFailed: FailedCreate carries the API server's message and was retried.
ev=$($K get events -n "$nq" --field-selector involvedObject.kind=OMJob,reason=FailedCreate -o json)
if jq -e '([.items[] | .count // 1] | add) >= 2 and all(.items[]; .type == "Warning" and (.message | test("quantities must match|cpu")))' \
	<<<"$ev" >/dev/null; then
	pass "row 21: FailedCreate Warning with the API server's message, $(jq '[.items[] | .count // 1] | add' <<<"$ev") tries: $(jq -r '.items[0].message' <<<"$ev" | cut -c1-140)"
else
	fail "row 21: FailedCreate Events (want Warning, the server's message, >= 2 tries with backoff): $(jq -c '[.items[] | {type, count, message}]' <<<"$ev")"
fi
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
