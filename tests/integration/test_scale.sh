#!/usr/bin/env bash
# docs/SCENARIOS.md row 22: 200 OMJobs created at once (4 namespaces of 50), mixed
# outcomes (rows 1, 2, 3, 12 and 14), one operator with RECONCILIATION_THREADS=5.
# All finish within SCALE_BOUND_S (120 s), and each is checked against every
# common check of docs/SCENARIOS.md (omjob_lib.sh check_runs): each exit pod created
# exactly once (pod watch: one uid per name, one ExitHandlerCreated Event), the
# main pod exactly once, status, env, Events, finalizers.
#
# "Per-key work never runs in two processes at once" is asserted two ways:
# - exactly-once effects above: a key handled by two reconcilers at once would
#   create its pods or Events twice (a second exit pod name, a 409 retry with a
#   second ExitHandlerCreated, a phase moving backwards in the OMJob watch);
# - the operator's JSON log: every line a reconciler-N role writes that names one
#   of our OMJobs (as "ns/name") must come from one role per OMJob over the whole
#   run (roles are fixed shards: no role restarts, checked at the end).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
N=${SCALE_OMJOBS:-200}
NS_COUNT=4
BOUND=${SCALE_BOUND_S:-120}
t0=$(now_ms)

start_pod_watch
start_operator RECONCILIATION_THREADS=5

# OMJob number I plays row KINDS[I % 5]: main annotations, exit annotations (null:
# no exitHandlerSpec) and what check_runs expects.
KINDS='[
 {"m": {"exit-code": "0", "run-for": "1s"}, "x": {"exit-code": "0"},
  "e": {"row": 1, "phase": "Succeeded", "reason": "Completed", "codes": [0], "attempts": 1, "xcode": 0}},
 {"m": {"exit-code": "3", "run-for": "1s"}, "x": {"exit-code": "0"},
  "e": {"row": 2, "phase": "Failed", "reason": "Error", "codes": [3], "attempts": 1, "xcode": 0, "msg": "Error|exit code 3"}},
 {"m": {"exit-code": "137", "reason": "OOMKilled"}, "x": {"exit-code": "0"},
  "e": {"row": 3, "phase": "Failed", "reason": "OOMKilled", "codes": [137], "attempts": 1, "xcode": 0, "msg": "OOMKilled"}},
 {"m": {"exit-code": "0"}, "x": {"exit-code": "2", "run-for": "1s"},
  "e": {"row": 12, "phase": "Failed", "reason": "Completed", "codes": [0], "attempts": 1, "xcode": 2, "failed": "ExitHandlerFailed", "msg": "exit[ -]?handler"}},
 {"m": {"exit-code": "0", "run-for": "1s"}, "x": null,
  "e": {"row": 14, "phase": "Succeeded", "reason": "Completed", "codes": [0], "attempts": 0}}
]'

NSS=()
for _ in $(seq 1 $NS_COUNT); do NSS+=("$(new_ns scale)"); done
per=$((N / NS_COUNT))
# Every OMJob is built first; then each namespace's batch goes in one kubectl
# create, all namespaces in parallel: the operator sees 200 arrive at once.
for k in $(seq 0 $((NS_COUNT - 1))); do
	jq -nr --argjson kinds "$KINDS" --arg ns "${NSS[$k]}" --argjson from $((k * per)) --argjson n "$per" '
		def sim: with_entries(.key |= "sim.omjob.test/" + .);
		def pod($a): {image: "busybox", command: ["sh", "-c", "true"], annotations: ($a | sim)};
		[range($from; $from + $n) as $i | $kinds[$i % 5] as $k
		 | {name: ("j" + ($i | tostring | if length < 3 then ("00" + .)[-3:] else . end)), k: $k}] as $jobs
		| ({apiVersion: "v1", kind: "List", items: [$jobs[] |
			{apiVersion: "pipelines.openmetadata.org/v1", kind: "OMJob", metadata: {name},
			 spec: ({mainPodSpec: pod(.k.m), ttlSecondsAfterFinished: 3600}
				+ (if .k.x == null then {} else {exitHandlerSpec: pod(.k.x)} end))}]} | tojson),
		  ($jobs[] | .k.e + {ns: $ns, name} | tojson)' >"$OP_TMP/gen$k"
	head -1 "$OP_TMP/gen$k" >"$OP_TMP/batch$k.json"
	tail -n +2 "$OP_TMP/gen$k" >>"$CASES"
done
tc=$(now_ms)
CPIDS=()
for k in $(seq 0 $((NS_COUNT - 1))); do
	$K create -n "${NSS[$k]}" -f "$OP_TMP/batch$k.json" >/dev/null 2>"$OP_TMP/create$k.err" &
	CPIDS+=($!)
done
for p in "${CPIDS[@]}"; do wait "$p" || true; done
created=$($K get omj -A -o json | jq --arg l "${NSS[*]}" '($l | split(" ")) as $ns | [.items[] | select(.metadata.namespace as $n | $ns | index($n))] | length')
[ "$created" -eq "$N" ] && pass "$N OMJobs created in $(($(now_ms) - tc)) ms" ||
	fail "$created of $N OMJobs created: $(cat "$OP_TMP"/create*.err)"

check_finished "$BOUND" "$tc" "after creation (bound ${BOUND} s)"
check_runs quiet

# Per-key exclusivity from the log: "role key" pairs of reconciler lines (the
# role of a line is its first "role" field: the supervisor's own lines carry a
# second one naming the child).
prefix=${NSS[0]%-*}
pairs=$OP_TMP/keys
awk -v pre="$prefix" '
match($0, /^\{"time":"[^"]*","level":"[^"]*","role":"reconciler-[0-9]+"/) {
	role = substr($0, RSTART, RLENGTH)
	sub(/.*"role":"/, "", role)
	sub(/"$/, "", role)
	s = $0
	re = "\"" pre "-[0-9a-f]+/[a-z0-9.-]+\""
	while (match(s, re)) {
		print role, substr(s, RSTART + 1, RLENGTH - 2)
		s = substr(s, RSTART + RLENGTH)
	}
}' "$OP_LOG" | sort -u >"$pairs"
keys=$(cut -d' ' -f2 "$pairs" | sort -u | wc -l)
roles=$(cut -d' ' -f1 "$pairs" | sort -u | wc -l)
multi=$(cut -d' ' -f2 "$pairs" | sort | uniq -d)
if [ "$keys" -eq 0 ]; then
	note "the reconcilers' log names no OMJob as ns/name; exclusivity rests on the exactly-once checks"
elif [ -z "$multi" ]; then
	pass "log: each of $keys OMJobs handled by one reconciler only ($roles reconcilers shared the work: $(cut -d' ' -f1 "$pairs" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}'))"
else
	fail "log: OMJobs handled by more than one reconciler: $(for k in $multi; do grep " $k\$" "$pairs" | tr '\n' ' '; done | head -c 1500)"
fi
[ "$keys" -eq 0 ] || [ "$roles" -ge 2 ] || fail "all the work went to $roles reconciler: sharding not effective"
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
