#!/usr/bin/env bash
# The CRDs on the real API server: OpenMetadata's OMJob is accepted unchanged,
# invalid OMJobs are refused at admission with a readable message, defaults and
# the extra status fields survive, printer columns and short names work.
. "$(dirname "$0")/lib.sh"
ns=$(new_ns crd)
FIX=$OMJOB_SRC/tests/fixtures/omjob-k8spipelineclient.yaml # as OpenMetadata sends it (docs/SCENARIOS.md row 20)

# 1. The fixture, exactly as OpenMetadata's server sends it, is stored unchanged.
want=$($K create --dry-run=client -o json -f "$FIX" | jq -S .spec)
$K apply -n "$ns" -f "$FIX" >/dev/null || fail "fixture refused"
name=$($K create --dry-run=client -o jsonpath='{.metadata.name}' -f "$FIX")
got=$($K get omj -n "$ns" "$name" -o json | jq -S .spec)
[ "$want" = "$got" ] && pass "fixture accepted, spec stored unchanged (empty valueFrom kept)" ||
	fail "fixture spec changed by the API server: $(diff <(echo "$want") <(echo "$got") | head -20)"

omj() { # name spec-yaml -> kubectl's output and exit code
	printf 'apiVersion: pipelines.openmetadata.org/v1\nkind: OMJob\nmetadata: {name: %s}\nspec:\n%s\n' "$1" "$2" |
		$K apply -n "$ns" -f - 2>&1
}
refused() { # name spec message-fragment
	local out
	if out=$(omj "$1" "$2"); then
		fail "$1 accepted: $out"
	elif [[ $out == *"$3"* ]]; then
		pass "$1 refused: $(echo "$out" | grep -o "$3.*" | head -c 160)"
	else
		fail "$1 refused without '$3': $out"
	fi
}
refused no-image '  mainPodSpec: {command: [x]}' 'spec.mainPodSpec.image: Required value'
refused empty-image '  mainPodSpec: {image: ""}' 'spec.mainPodSpec.image'
refused bad-pull '  mainPodSpec: {image: x, imagePullPolicy: Sometimes}' 'Unsupported value: "Sometimes"'
refused negative-ttl '  mainPodSpec: {image: x}
  ttlSecondsAfterFinished: -1' 'spec.ttlSecondsAfterFinished: Invalid value: -1'
refused no-main '  exitHandlerSpec: {image: x}' 'spec.mainPodSpec: Required value'
refused bad-exit '  mainPodSpec: {image: x}
  exitHandlerSpec: {imagePullPolicy: Never}' 'spec.exitHandlerSpec.image: Required value'

# 2. Defaults: the TTL defaults to 86400 as in the Helm chart.
omj minimal '  mainPodSpec: {image: busybox}' >/dev/null
ttl=$($K get omj -n "$ns" minimal -o jsonpath='{.spec.ttlSecondsAfterFinished}')
[ "$ttl" = 86400 ] && pass "ttlSecondsAfterFinished defaults to 86400" || fail "default TTL is '$ttl'"

# 3. Status subresource keeps every field the controller writes.
$K patch omj -n "$ns" minimal --subresource=status --type=merge -p '{"status":{"phase":"Failed",
 "mainPodReason":"OOMKilled","mainPodExitCode":137,"lastTransitionTime":"2026-01-01T00:00:00Z",
 "observedGeneration":1,"exitHandlerExitCode":0,"exitHandlerAttempts":1,
 "conditions":[{"type":"Complete","status":"True","reason":"OOMKilled","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}' >/dev/null
st=$($K get omj -n "$ns" minimal -o json | jq -c '.status|[.lastTransitionTime,.observedGeneration,.mainPodReason,.conditions[0].type]')
[ "$st" = '["2026-01-01T00:00:00Z",1,"OOMKilled","Complete"]' ] && pass "status fields kept: $st" ||
	fail "status pruned: $st"
out=$($K patch omj -n "$ns" minimal --subresource=status --type=merge -p '{"status":{"phase":"Exploded"}}' 2>&1 || true)
[[ $out == *'Unsupported value: "Exploded"'* ]] && pass "unknown phase refused" || fail "phase enum: $out"

# 4. Printer columns and short names.
hdr=$($K get omj -n "$ns")
hdr=${hdr%%$'\n'*} # first line, without a pipe into head (SIGPIPE under pipefail)
[[ $hdr == NAME*PHASE*REASON*"EXIT CODE"*AGE* ]] && pass "printer columns: $hdr" || fail "columns: $hdr"
row=$($K get omj -n "$ns" minimal --no-headers)
[[ $row == minimal*Failed*OOMKilled*137* ]] && pass "row: $row" || fail "row: $row"

# 5. CronOMJob: schedule and omJobSpec required, history limits default to 3.
out=$(printf 'apiVersion: pipelines.openmetadata.org/v1\nkind: CronOMJob\nmetadata: {name: c}\nspec: {omJobSpec: {mainPodSpec: {image: x}}}\n' | $K apply -n "$ns" -f - 2>&1 || true)
[[ $out == *'spec.schedule: Required value'* ]] && pass "CronOMJob without schedule refused" || fail "comj: $out"
printf 'apiVersion: pipelines.openmetadata.org/v1\nkind: CronOMJob\nmetadata: {name: c}\nspec: {schedule: "*/5 * * * *", omJobSpec: {mainPodSpec: {image: x}}}\n' | $K apply -n "$ns" -f - >/dev/null
d=$($K get comj -n "$ns" c -o jsonpath='{.spec.successfulJobsHistoryLimit} {.spec.failedJobsHistoryLimit} {.spec.timeZone} {.spec.omJobSpec.ttlSecondsAfterFinished}')
[ "$d" = "3 3 UTC 86400" ] && pass "CronOMJob defaults: $d" || fail "CronOMJob defaults: '$d'"

t_done
