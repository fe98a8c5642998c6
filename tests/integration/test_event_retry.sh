#!/usr/bin/env bash
# An Event the API server refuses for a while is posted once it is accepted
# again, however long that took, as long as its OMJob exists (runtime/events.h:
# the waiting queue). The operator runs as an identity of its own (a client
# certificate) with the operator's rights, except that it may write Events in the
# test namespace only through a RoleBinding the test deletes for 65 s (more than
# the minute an Event used to be kept), then restores:
#  - "late" runs to its end while refused: its four Events (MainPodCreated,
#    MainPodCompleted, ExitHandlerCreated, OMJobCompleted) all appear after;
#  - "gone" is deleted while refused and goes: its waiting Events are dropped,
#    counted in omjob_events_dropped_total{cause="object_gone"}, never posted;
#  - an OMJob in another namespace whose Events are accepted makes the waiting
#    ones go at once (one reconciler: one queue), not after their 30 s backoff.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)
: "${OMJOB_CLUSTER_STATE:?}" "${OMJOB_CLUSTER_SERVER:?}"
REFUSE=65
ME=omjob-test-ev-$$
CD=$OP_TMP/creds
RBAC_OBJS=()
rbac_cleanup() {
	local o
	for o in "${RBAC_OBJS[@]}"; do $K delete $o --ignore-not-found >/dev/null 2>&1 || true; done
}
trap 'rbac_cleanup; cleanup' EXIT

issue_client_cert "$CD" "/CN=$ME" || {
	fail "cannot issue a client certificate with the cluster's CA key"
	t_done
}
cert_kubeconfig "$CD/kubeconfig" "$CD"
# The operator's ClusterRole but Events: read only.
$K get clusterrole omjob-operator -o json | jq --arg n "$ME" '{apiVersion, kind, metadata: {name: $n},
	rules: [.rules[] | if (.resources | index("events")) then .verbs |= map(select(. == "get" or . == "list")) else . end
		| select(.verbs | length > 0)]}' |
	$K apply -f - >/dev/null
RBAC_OBJS+=("clusterrole $ME" "clusterrolebinding $ME" "rolebinding -n omjob-system $ME")
$K create clusterrolebinding "$ME" --clusterrole="$ME" --user="$ME" >/dev/null
$K create rolebinding -n omjob-system "$ME" --role=omjob-operator-leader-election --user="$ME" >/dev/null
ns=$(new_ns evr)
nk=$(new_ns evk)
for n in "$ns" "$nk"; do
	$K create role -n "$n" events-write --verb=create,patch,update --resource=events >/dev/null
	$K create rolebinding -n "$n" events-write --role=events-write --user="$ME" >/dev/null
done
can() { [ "$($K auth can-i create events -n "$ns" --as="$ME" 2>/dev/null)" = "$1" ]; }
evs() { $K get events -n "$1" -o json | jq -r --arg o "$2" '[.items[] | select(.involvedObject.name == $o) | .reason] | sort | join(",")'; }
# msum NAME [LABEL]: the sum of the samples of NAME (with LABEL, e.g. cause="x").
msum() { op_metrics | awk -v m="$1{" -v l="${2:-}" 'index($1, m) == 1 && (l == "" || index($1, l)) { s += $2 } END { print s + 0 }'; }

start_pod_watch
# Its two namespaces only: an operator watching every namespace also takes on what
# earlier tests left (finished OMJobs in namespaces still being deleted), whose
# Events this identity may not post there: they would wait until those go (CI7,
# ASan: 16 still waiting at the end, of OMJobs of test_chart_rbac and test_crd).
start_operator KUBECONFIG="$CD/kubeconfig" RECONCILIATION_THREADS=1 WATCH_NAMESPACES="$ns,$nk"

$K delete rolebinding -n "$ns" events-write >/dev/null
wait_until 10 can no || fail "events still allowed in $ns"
tr=$(now_ms)
omjob "$ns" late '{"exit":0,"run":"1s"}' '{"exit":0}'
expect "$ns" late '{"desc":"runs while its Events are refused","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'
omjob "$ns" gone '{}' '{"exit":0}'
wait_until 20 omj_phase_is "$ns" late Succeeded || fail "late: not Succeeded: $($K get omj,pods -n "$ns" 2>&1)"
wait_until 10 pod_phase_is "$ns" gone-main Running || fail "gone-main not Running"
$K delete omj -n "$ns" gone --wait=false >/dev/null
wait_until 30 eval "! $K get omj -n $ns gone >/dev/null 2>&1" || fail "gone: still there"
e=$(evs "$ns" late)
[ -z "$e" ] && pass "late: no Event while they are refused" || fail "late: Events while refused: $e"
w=$(msum omjob_events_waiting)
[ "$w" -ge 5 ] && pass "$w Events waiting (omjob_events_waiting)" || fail "omjob_events_waiting $w, want >= 5"

# Past the minute an Event used to be kept.
sleep $(((tr + REFUSE * 1000 - $(now_ms)) / 1000 + 1))
$K create rolebinding -n "$ns" events-write --role=events-write --user="$ME" >/dev/null
wait_until 10 can yes || fail "events not allowed again in $ns"
ta=$(now_ms)
note "Events refused for $(((ta - tr) / 1000)) s"
omjob "$nk" kick '{"exit":0}' none
want=ExitHandlerCreated,MainPodCompleted,MainPodCreated,OMJobCompleted
if wait_until 15 eval '[ "$(evs "$ns" late)" = "$want" ]'; then
	pass "late: its 4 Events posted $(($(now_ms) - ta)) ms after they were allowed again ($(((ta - tr) / 1000)) s refused)"
else
	fail "late: Events '$(evs "$ns" late)', want $want"
fi
e=$(evs "$ns" gone)
[ -z "$e" ] && pass "gone: none of its Events posted after it went" || fail "gone: Events $e"
g=$(msum omjob_events_dropped_total 'cause="object_gone"')
f=$(msum omjob_events_dropped_total 'cause="queue_full"')
[ "$g" -ge 1 ] && [ "$f" = 0 ] && pass "omjob_events_dropped_total: object_gone $g, queue_full 0" ||
	fail "omjob_events_dropped_total: object_gone $g (want >= 1), queue_full $f (want 0)"
wait_until 5 eval '[ "$(msum omjob_events_waiting)" = 0 ]' && pass "nothing waits any more" ||
	fail "omjob_events_waiting $(msum omjob_events_waiting)"
check_finished 20 "$t0"
check_runs
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
