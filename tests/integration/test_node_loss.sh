#!/usr/bin/env bash
# docs/SCENARIOS.md rows 7 and 8: the node under a running main pod is lost.
# - row 7: the Node object is deleted: PodGC marks the pod Failed with
#   DisruptionTarget DeletionByPodGC and deletes it (~54 s here: 40 s quarantine
#   + 20 s GC period). Nothing else can notice (the pod's Ready condition stays
#   True: no node, no node lifecycle), so this asserts the PodGC path itself:
#   DisruptionTarget DeletionByPodGC seen on the main pod, NodeLost recorded.
# - row 8: the node stops heartbeating, two ways: kwok reports Ready=False
#   (`node not-ready`: KCM's taint manager evicts after the 5 s toleration,
#   DeletionByTaintManager) and kwok stops renewing its lease (`node silence`: a
#   dead kubelet; KCM marks it Unknown after 10 s, the operator counts the pod lost
#   after OMJOB_NODE_LOST_TIMEOUT_SECONDS=10 of Ready False, or the taint manager
#   evicts it, whichever comes first). Outcome NodeLost (or Evicted for
#   not-ready, as the row allows). A second main pod on the silenced node
#   tolerates the not-ready and unreachable taints for ever, as some workloads
#   do: the taint manager leaves it alone, so the operator's own detection (Ready
#   False for OMJOB_NODE_LOST_TIMEOUT_SECONDS) must record NodeLost, with its
#   NodeLost Warning.
# Each OMJob is checked against every common check of docs/SCENARIOS.md
# (omjob_lib.sh check_runs): NodeLost, exit pod exactly once with
# pipelineStatus=failed and OMJOB_MAIN_REASON, Events, finalizers, nothing left.
#
# Shared cluster: the lost nodes are this test's own (omjob-it-*), created with a
# NoSchedule taint only the main pods tolerate (and pinned to them by
# nodeSelector), so no other pod lands there and the exit pods run on the
# cluster's kwok-node-N, which this test never touches; the lost nodes are
# deleted at the end. It still runs alone (RUN_SERIAL in tests/tests.cmake):
# NotReady nodes change KCM's per-zone disruption state (evictions stop when
# more than 55 % of a zone's nodes are unhealthy), and tests/cluster/
# test_selftest.sh picks its node by counting the type=kwok nodes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)
NODE_CMD=$OMJOB_SRC/tests/cluster/node
ID=$(printf '%04x%04x' $RANDOM $RANDOM)
N_DEL=omjob-it-del-$ID
N_NR=omjob-it-nr-$ID
N_SIL=omjob-it-sil-$ID
NODES=("$N_DEL" "$N_NR" "$N_SIL")
DT_PID=

# A fake node as `tests/cluster/node add` makes it, plus a taint of this run.
add_node() {
	cat <<NODE | $K apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata:
  name: $1
  labels: {type: kwok, kubernetes.io/hostname: $1, kubernetes.io/os: linux}
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
spec:
  taints: [{key: omjob.test/private, value: "$ID", effect: NoSchedule}]
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "1000"}
  capacity: {cpu: "32", memory: 256Gi, pods: "1000"}
NODE
}
node_cleanup() {
	local n
	[ -n "$DT_PID" ] && kill "$DT_PID" 2>/dev/null || true
	for n in "${NODES[@]}"; do
		$K delete node "$n" --wait=false >/dev/null 2>&1 || true
	done
	cleanup
}
trap node_cleanup EXIT
node_ready() { [ "$($K get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }

for n in "${NODES[@]}"; do add_node "$n"; done
ready=0
for n in "${NODES[@]}"; do
	wait_until 30 node_ready "$n" && ready=$((ready + 1)) ||
		fail "node $n not Ready in 30 s: $($K get node "$n" -o yaml 2>&1 | tail -20)"
done
[ "$ready" -eq 3 ] && pass "3 private tainted nodes Ready" || fail "$ready of 3 private nodes Ready"

start_pod_watch
start_operator OMJOB_NODE_LOST_TIMEOUT_SECONDS=10

pinned() { # NODE [tolerant]: spec JSON putting the main pod on NODE only
	jq -nc --arg n "$1" --arg id "$ID" --arg t "${2:-}" '{mainPodSpec: {nodeSelector: {"kubernetes.io/hostname": $n},
		tolerations: ([{key: "omjob.test/private", operator: "Equal", value: $id, effect: "NoSchedule"}]
			+ if $t == "" then [] else [{key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute"},
				{key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute"}] end)}}'
}
nn=$(new_ns nodes)
# The main pods' DisruptionTarget conditions, as they come (the pods may go at once).
$K get pods -n "$nn" -w -o jsonpath='{.metadata.name}|{.status.conditions[?(@.type=="DisruptionTarget")].reason}|{.status.conditions[?(@.type=="Ready")].status}|{.status.conditions[?(@.type=="Ready")].lastTransitionTime}{"\n"}' \
	>"$OP_TMP/dt.watch" 2>/dev/null &
DT_PID=$!
omjob "$nn" del '{}' '{"exit":0,"run":"1s"}' "$(pinned "$N_DEL")"
omjob "$nn" notready '{}' '{"exit":0,"run":"1s"}' "$(pinned "$N_NR")"
omjob "$nn" silent '{}' '{"exit":0,"run":"1s"}' "$(pinned "$N_SIL")"
omjob "$nn" tolerant '{}' '{"exit":0,"run":"1s"}' "$(pinned "$N_SIL" tolerant)"

for c in "del $N_DEL" "notready $N_NR" "silent $N_SIL" "tolerant $N_SIL"; do
	set -- $c
	j=$1 node=$2
	if wait_until 30 pod_phase_is "$nn" "$j-main" Running &&
		wait_until 10 eval '[ "$(jp omj "$nn" "$j" "{.status.phase}")" = Running ]'; then
		[ "$(jp pod "$nn" "$j-main" '{.spec.nodeName}')" = "$node" ] && pass "$j: main pod Running on $node" ||
			fail "$j: main pod on $(jp pod "$nn" "$j-main" '{.spec.nodeName}'), not $node"
	else
		fail "$j: main pod or OMJob not Running: $($K get pods -n "$nn" -o wide 2>&1)"
	fi
done

tl=$(now_ms)
"$NODE_CMD" delete "$N_DEL"
"$NODE_CMD" not-ready "$N_NR"
"$NODE_CMD" silence "$N_SIL"

# Time to the recorded outcome, per OMJob (PodGC needs about a minute).
# shellcheck disable=SC2034 # read through ${!v}
took_del='' took_notready='' took_silent='' took_tolerant=''
while :; do
	n=0
	for j in del notready silent tolerant; do
		v=took_$j
		[ -z "${!v}" ] && [ -n "$(jp omj "$nn" "$j" '{.status.mainPodReason}')" ] && printf -v "$v" %s $(($(now_ms) - tl))
		[ -n "${!v}" ] && n=$((n + 1))
	done
	[ "$n" -eq 4 ] && break
	[ $(($(now_ms) - tl)) -lt 120000 ] || break
	sleep 0.5
done
for j in del notready silent tolerant; do
	r=$(jp omj "$nn" "$j" '{.status.mainPodReason}')
	v=took_$j
	note "$j: outcome ${r:-none} after ${!v:-(not within 120 s)} ms; DisruptionTarget seen: $(awk -F'|' -v p="$j-main" '$1 == p && $2 != "" {print $2}' "$OP_TMP/dt.watch" | sort -u | tr '\n' ' ')"
done

expect "$nn" del '{"row":7,"desc":"node deleted (PodGC)","phase":"Failed","reason":"NodeLost","codes":[null,137],"attempts":1,"xcode":0,"stays":false,"msg":"NodeLost"}'
r=$(jp omj "$nn" notready '{.status.mainPodReason}')
[ "$r" = Evicted ] || r=NodeLost
expect "$nn" notready "{\"row\":8,\"desc\":\"node NotReady (taint eviction)\",\"phase\":\"Failed\",\"reason\":\"$r\",\"codes\":[null,137],\"attempts\":1,\"xcode\":0,\"stays\":false,\"msg\":\"$r\"}"
expect "$nn" silent '{"row":8,"desc":"node silenced (lease not renewed)","phase":"Failed","reason":"NodeLost","codes":[null,137],"attempts":1,"xcode":0,"stays":false,"msg":"NodeLost"}'
expect "$nn" tolerant '{"row":8,"desc":"node silenced, main pod tolerates it (operator detection)","phase":"Failed","reason":"NodeLost","codes":[null,137],"attempts":1,"xcode":0,"stays":false,"msg":"NodeLost","events":["NodeLost"]}'

# Row 7 is the PodGC path: its DisruptionTarget must have been seen.
grep -q '^del-main|DeletionByPodGC|' "$OP_TMP/dt.watch" &&
	pass "row 7: the main pod got DisruptionTarget DeletionByPodGC" ||
	fail "row 7: no DisruptionTarget DeletionByPodGC on del-main: $(grep '^del-main' "$OP_TMP/dt.watch" | cut -d'|' -f2 | sort -u | tr '\n' ' ')"

# The tolerant pod: no DisruptionTarget (nobody evicted it), the operator's own
# timeout decided, not before OMJOB_NODE_LOST_TIMEOUT_SECONDS (10) of Ready False
# (KCM marks the pods not ready 10 s after the last heartbeat).
not_ready_at=$(awk -F'|' '$1 == "tolerant-main" && $3 == "False" {print $4; exit}' "$OP_TMP/dt.watch")
lost_at=$($K get omj -n "$nn" tolerant -o jsonpath='{.status.conditions[?(@.type=="MainPodFinished")].lastTransitionTime}')
if grep -q '^tolerant-main|[^|]' "$OP_TMP/dt.watch"; then
	fail "row 8: the tolerant main pod was disrupted by someone else: $(grep '^tolerant-main|[^|]' "$OP_TMP/dt.watch" | cut -d'|' -f2 | sort -u | tr '\n' ' ')"
elif [ -z "$not_ready_at" ] || [ -z "$lost_at" ]; then
	fail "row 8: tolerant main pod: Ready False at '${not_ready_at}', NodeLost recorded at '${lost_at}'"
else
	d=$(($(date -d "$lost_at" +%s) - $(date -d "$not_ready_at" +%s)))
	[ "$d" -ge 9 ] && [ "$d" -le 20 ] &&
		pass "row 8: the tolerant main pod was found lost by the operator itself, $d s after Ready False (OMJOB_NODE_LOST_TIMEOUT_SECONDS 10; $took_tolerant ms after the silence)" ||
		fail "row 8: tolerant main pod: NodeLost $d s after Ready False (want 10 s, -1/+10)"
fi

check_finished 60 "$tl" "after the nodes were lost"
# A pod deleted on a dead node stays Terminating until its node answers again (as
# with a real kubelet): bring the silenced node back so kwok completes the
# deletion; the run is over by now.
"$NODE_CMD" ready "$N_SIL"
check_runs
# Every pod of the run is gone from the lost nodes.
on_lost() {
	$K get pods -A -o json | jq -r --arg a "$N_DEL" --arg b "$N_NR" --arg c "$N_SIL" \
		'[.items[] | select(.spec.nodeName == $a or .spec.nodeName == $b or .spec.nodeName == $c) | .metadata.namespace + "/" + .metadata.name] | join(" ")'
}
wait_until 20 eval '[ -z "$(on_lost)" ]' && pass "no pod left on the lost nodes" || fail "pods left on the lost nodes: $(on_lost)"
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
