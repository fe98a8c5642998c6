#!/usr/bin/env bash
# Pods the operator creates in a namespace that enforces Pod Security "restricted"
# (issue 11): an OMJob whose pod specs ask for a non-root user (runAsUser, as
# OpenMetadata's chart sets it) gets RuntimeDefault seccomp and runAsNonRoot filled in,
# is admitted and runs main pod and exit handler to the end; one whose spec still
# violates the policy (seccompProfile Unconfined) ends Failed/CreateFailed with the
# admission's message in status and FailedCreate and OMJobFailed Warnings, its
# (compliant) exit handler run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)
ns=$(new_ns pss)
$K label namespace "$ns" pod-security.kubernetes.io/enforce=restricted >/dev/null
start_operator WATCH_NAMESPACES="$ns"

nonroot='{"runAsUser":1000,"runAsGroup":1000,"fsGroup":1000}'
omjob "$ns" ok '{"exit":0,"run":"1s"}' '{"exit":0}' \
	"{\"mainPodSpec\":{\"securityContext\":$nonroot},\"exitHandlerSpec\":{\"securityContext\":$nonroot}}"
omjob "$ns" bad '{"exit":0}' '{"exit":0}' \
	"{\"startTimeoutSeconds\":4,\"mainPodSpec\":{\"securityContext\":{\"runAsUser\":1000,\"seccompProfile\":{\"type\":\"Unconfined\"}}},\"exitHandlerSpec\":{\"securityContext\":$nonroot}}"

if wait_until 30 omj_phase_is "$ns" ok Succeeded && wait_until 10 pod_phase_is "$ns" ok-exit Succeeded; then
	pass "non-root OMJob admitted by the restricted namespace: main pod and exit handler Succeeded"
else
	fail "non-root OMJob: phase $(jp omj "$ns" ok '{.status.phase}') $(jp omj "$ns" ok '{.status.message}')"
fi
p=$($K get pod -n "$ns" ok-main -o json 2>/dev/null || echo '{}')
jq -e '.spec.containers[0].securityContext | .seccompProfile.type == "RuntimeDefault" and .runAsNonRoot == true
	and .allowPrivilegeEscalation == false and .capabilities.drop == ["ALL"] and .runAsUser == 1000' <<<"$p" >/dev/null &&
	pass "its main pod: container runAsNonRoot, RuntimeDefault seccomp, no privilege escalation, drop ALL" ||
	fail "main pod securityContext $(jq -c '.spec.containers[0].securityContext' <<<"$p")"

want='violates PodSecurity "restricted'
if wait_until 40 omj_phase_is "$ns" bad Failed; then
	st=$($K get omj -n "$ns" bad -o json | jq -c '.status')
	jq -e --arg w "$want" '.mainPodReason == "CreateFailed" and (.message | contains($w))
		and ([.conditions[] | select(.type == "MainPodFinished") | .message | contains("seccompProfile")] == [true])' <<<"$st" >/dev/null &&
		pass "violating OMJob: Failed, CreateFailed, the admission's message in status (whole in the MainPodFinished condition)" ||
		fail "violating OMJob status $st"
else
	fail "violating OMJob: phase $(jp omj "$ns" bad '{.status.phase}') after 40 s"
fi
ev=$($K get events -n "$ns" --field-selector involvedObject.name=bad -o json)
jq -e --arg w "$want" '[.items[] | select(.type == "Warning" and .reason == "FailedCreate" and (.message | contains($w)))] | length > 0' <<<"$ev" >/dev/null &&
	jq -e '[.items[] | select(.type == "Warning" and .reason == "OMJobFailed")] | length == 1' <<<"$ev" >/dev/null &&
	pass "violating OMJob: FailedCreate Warning with the admission's message, one OMJobFailed Warning" ||
	fail "violating OMJob events: $(jq -c '[.items[] | {type, reason, message}]' <<<"$ev" | head -c 800)"
wait_until 20 pod_phase_is "$ns" bad-exit Succeeded &&
	pass "violating OMJob: its exit handler (non-root spec) admitted and Succeeded" ||
	fail "violating OMJob: exit pod $(jp pod "$ns" bad-exit '{.status.phase}')"
[ -z "$($K get pod -n "$ns" bad-main -o name 2>/dev/null)" ] && pass "violating OMJob: no main pod exists" ||
	fail "violating OMJob: a main pod exists"
no_restarts
note "test_restricted took $(($(now_ms) - t0)) ms"
t_done
