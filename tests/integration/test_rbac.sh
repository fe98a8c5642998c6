#!/usr/bin/env bash
# Least privilege (issue 11): the whole operator runs under exactly the RBAC the
# chart ships, with a real ServiceAccount token (TokenRequest), and makes not one
# request that is refused (rest_client_requests_total{code="403"} and the log):
#  all   cluster-wide rules (ClusterRole + ClusterRoleBinding): an OMJob run with an
#        exit handler, its TTL deletion, a main pod deleted by hand, a cancel, a
#        CronOMJob's run (create, status, history-limit delete)
#  ns    WATCH_NAMESPACES=a,b: a Role and RoleBinding in each, nothing cluster-wide;
#        OMJobs in both run
#  (both with LEADER_ELECTION=true and the chart's Lease name: the Lease's calls too)
#  out   that identity is refused outside its namespaces (every verb the operator
#        uses, and cluster-wide lists), and an OMJob outside is never touched
# The API server enforces OwnerReferencesPermissionEnforcement (tests/cluster/up).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
HELM=$("$OMJOB_SRC/tests/helm/build") || {
	fail "helm not built (tests/helm/build)"
	t_done
}
CHART=$OMJOB_SRC/deploy/helm/omjob-operator
REL=rbac$$
opns=$(new_ns rbac-op)
SA=$REL-omjob-operator
TOKCFG=$OP_TMP/sa.kubeconfig
t0=$(now_ms)

rbac_objects() { # helm template args...: the chart's ServiceAccount and RBAC objects
	"$HELM" template "$REL" "$CHART" -n "$opns" --set crds.install=false \
		--show-only templates/serviceaccount.yaml --show-only templates/rbac.yaml "$@"
}
# sa_kubeconfig: a kubeconfig holding a token of the ServiceAccount, as a pod gets.
sa_kubeconfig() {
	local tok
	tok=$($K create token "$SA" -n "$opns" --duration=1h)
	cat >"$TOKCFG" <<KC
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$OMJOB_CLUSTER_SERVER", certificate-authority: "$OMJOB_CLUSTER_STATE/pki/ca.crt"}}]
users: [{name: sa, user: {token: "$tok"}}]
contexts: [{name: sa, context: {cluster: c, user: sa}}]
current-context: sa
KC
	chmod 600 "$TOKCFG"
}
# no_403 PHASE: not one request refused by RBAC, by the log (the authorizer's
# "is forbidden: User ... cannot") and by the metrics: every 403 counted is one the
# log explains otherwise: a namespace being deleted or a quota (another test's
# leftovers, when watching ALL), or the owner's kind not mapped yet.
no_403() {
	local m rb term
	m=$(op_metrics | awk '/^rest_client_requests_total\{/ && /code="403"/ {s += $2} END {print s + 0}')
	rb=$(grep -c 'is forbidden: User' "$OP_LOG" || true)
	term=$(grep '"http":"403"' "$OP_LOG" | grep -c -E 'because it is being terminated|exceeded quota' || true)
	# The API server refusing blockOwnerDeletion while its discovery does not know
	# the owner's kind yet (a CRD another test just re-created), not a rule missing.
	term=$((term + $(grep -c 'cannot find RESTMapping' "$OP_LOG" || true)))
	if [ "$rb" = 0 ] && [ "$m" -le "$term" ]; then
		pass "$1: no request refused by RBAC (rest_client_requests_total{code=\"403\"} $m, $term of them not RBAC: namespaces being deleted, quotas, owner kinds not mapped yet; $(op_metrics | awk '/^rest_client_requests_total\{/ {s += $2} END {print s + 0}') requests)"
	else
		fail "$1: $m requests refused with 403 ($term not RBAC), $rb RBAC refusals in the log: $(grep -m3 'is forbidden' "$OP_LOG")"
	fi
}
gone() { ! $K get "$1" -n "$2" "$3" >/dev/null 2>&1; }
# authz_ready "VERB RESOURCE [FLAGS]"...: the API server's authorizer allows each
# to the token. Its RBAC rules follow the objects by a watch, so an operator
# started the moment they are applied can meet a 403 the rules do not mean.
authz_ready() {
	local a
	for a in "$@"; do
		# shellcheck disable=SC2086 # verb, resource and flags
		$K --kubeconfig="$TOKCFG" auth can-i $a >/dev/null 2>&1 || return 1
	done
}
has_warning_free_status() { [ -n "$(jp omj "$1" "$2" '{.status.phase}')" ]; }

# --- all: cluster-wide ---------------------------------------------------------
rbac_objects | $K apply -f - >/dev/null
sa_kubeconfig
[ "$($K --kubeconfig="$TOKCFG" auth whoami -o jsonpath='{.status.userInfo.username}')" = "system:serviceaccount:$opns:$SA" ] &&
	pass "all: the operator runs as system:serviceaccount:$opns:$SA (a TokenRequest token)" ||
	fail "all: token is not the ServiceAccount's"
# The CronOMJob first: its run comes at the next minute, while the rest runs.
nc=$(new_ns rbac-cron)
tmpl=$(omjob_json "$nc" x '{"exit":0}' '{"exit":0}' | jq -c .spec)
jq -cn --argjson t "$tmpl" '{apiVersion: "pipelines.openmetadata.org/v1", kind: "CronOMJob",
	metadata: {name: "c"}, spec: {schedule: "* * * * *", successfulJobsHistoryLimit: 0, omJobSpec: $t}}' |
	$K create -n "$nc" -f - >/dev/null
# The chart's settings for its own namespace, leader election included: once the
# operator takes the Lease, its get/create/update are under these rules too.
LE=(LEADER_ELECTION=true LEADER_ELECTION_LEASE_NAME=omjob-operator POD_NAME="$REL-0")
wait_until 30 authz_ready "list omjobs --all-namespaces" "watch pods --all-namespaces" \
	"patch cronomjobs --subresource=status --all-namespaces" "create events --all-namespaces" \
	"update leases/omjob-operator -n $opns" "create leases -n $opns" ||
	fail "all: the authorizer does not allow the chart's rules after 30 s"
OMJOB_TEST_KUBECONFIG=$TOKCFG start_operator OPERATOR_NAMESPACE="$opns" "${LE[@]}" || t_done

na=$(new_ns rbac-all)
omjob "$na" ok '{"exit":0,"run":"1s"}' '{"exit":0}' '{"ttlSecondsAfterFinished":1}'
omjob "$na" podgone '{}' '{"exit":0}'
omjob "$na" cancel '{}' '{"exit":0}'
wait_until 20 pod_phase_is "$na" podgone-main Running && $K delete pod -n "$na" podgone-main --wait=false >/dev/null
wait_until 20 pod_phase_is "$na" cancel-main Running && $K delete omj -n "$na" cancel --wait=false >/dev/null
wait_until 30 gone omj "$na" ok &&
	pass "all: OMJob ran (main, exit handler) and was deleted after its TTL (cleaner get, delete)" ||
	fail "all: OMJob ok still there: phase $(jp omj "$na" ok '{.status.phase}')"
wait_until 30 omj_phase_is "$na" podgone Failed && wait_until 20 pod_phase_is "$na" podgone-exit Succeeded &&
	pass "all: main pod deleted by hand: Failed, exit handler ran" ||
	fail "all: podgone: phase $(jp omj "$na" podgone '{.status.phase}'), pods $($K get pods -n "$na" --no-headers 2>&1 | tr '\n' ';')"
wait_until 30 gone omj "$na" cancel &&
	pass "all: cancelled OMJob gone (its pods deleted, the exit handler run, finalizer released)" ||
	fail "all: cancelled OMJob still there: $(jp omj "$na" cancel '{.metadata.finalizers} {.status.phase}')"
# The CronOMJob's run: created, finished, then deleted by the history limit 0.
crun() { $K get comj -n "$nc" c -o jsonpath='{.status.lastOMJobName}' 2>/dev/null; }
if wait_until 75 eval '[ -n "$(crun)" ]'; then
	r=$(crun)
	wait_until 30 gone omj "$nc" "$r" &&
		pass "all: CronOMJob ran $r (create, status) and deleted it past its history limit 0" ||
		fail "all: CronOMJob run $r not deleted: $(jp omj "$nc" "$r" '{.status.phase}')"
else
	fail "all: CronOMJob made no run: $($K get comj -n "$nc" c -o jsonpath='{.status}')"
fi
no_403 all
note "all: Leases in $opns: $($K get lease -n "$opns" -o jsonpath='{range .items[*]}{.metadata.name}={.spec.holderIdentity} {end}' 2>&1)"
stop_operator || fail "all: operator stop: $OP_STOP"

# --- ns: a Role per watched namespace ------------------------------------------
rbac_objects | $K delete -f - >/dev/null
n1=$(new_ns rbac-a)
n2=$(new_ns rbac-b)
nout=$(new_ns rbac-out)
rbac_objects --set-string "env.watchNamespaces=$n1\,$n2" >"$OP_TMP/ns-rbac.yaml"
kinds=$(grep -E '^kind: ' "$OP_TMP/ns-rbac.yaml" | sort | uniq -c | tr -s ' ' | tr '\n' ';')
crds=$(awk '/^kind: ClusterRole$/ {c = 1} c && /resourceNames:/ {print; exit}' "$OP_TMP/ns-rbac.yaml")
[ "$kinds" = " 1 kind: ClusterRole; 1 kind: ClusterRoleBinding; 3 kind: Role; 3 kind: RoleBinding; 1 kind: ServiceAccount;" ] &&
	grep -q 'omjobs.pipelines.openmetadata.org, cronomjobs.pipelines.openmetadata.org' <<<"$crds" &&
	pass "ns: rendered a Role and RoleBinding per watched namespace (+ the Lease's); cluster-wide only get on our two CRDs" ||
	fail "ns: rendered kinds $kinds"
$K apply -f "$OP_TMP/ns-rbac.yaml" >/dev/null
sa_kubeconfig
: >"$OP_LOG"
wait_until 30 authz_ready "list omjobs -n $n1" "watch pods -n $n2" "patch omjobs --subresource=status -n $n2" \
	"create events -n $n1" "update leases/omjob-operator -n $opns" "create leases -n $opns" ||
	fail "ns: the authorizer does not allow the chart's Roles after 30 s"
OMJOB_TEST_KUBECONFIG=$TOKCFG start_operator OPERATOR_NAMESPACE="$opns" WATCH_NAMESPACES="$n1,$n2" "${LE[@]}" || t_done
omjob "$n1" a '{"exit":0,"run":"1s"}' '{"exit":0}'
omjob "$n2" b '{"exit":3,"run":"1s"}' '{"exit":0}'
omjob "$nout" outside '{"exit":0}' '{"exit":0}'
wait_until 30 omj_phase_is "$n1" a Succeeded && wait_until 30 omj_phase_is "$n2" b Failed &&
	pass "ns: OMJobs in both watched namespaces ran to their end" ||
	fail "ns: phases $(jp omj "$n1" a '{.status.phase}') $(jp omj "$n2" b '{.status.phase}')"
no_403 ns
stop_operator || fail "ns: operator stop: $OP_STOP"

# --- out: refused outside ----------------------------------------------------------
if [ -z "$(jp omj "$nout" outside '{.status.phase}')" ] && [ -z "$($K get pods -n "$nout" -o name)" ]; then
	pass "out: the OMJob outside the watched namespaces was never touched (no status, no pod)"
else
	fail "out: OMJob outside touched: $(jp omj "$nout" outside '{.status}') $($K get pods -n "$nout" -o name)"
fi
bad=()
for a in "get omjobs" "list omjobs" "watch omjobs" "create omjobs" "patch omjobs" "delete omjobs" \
	"patch omjobs --subresource=status" "list cronomjobs" "patch cronomjobs --subresource=status" \
	"update omjobs --subresource=finalizers" "update cronomjobs --subresource=finalizers" \
	"get pods" "list pods" "create pods" "patch pods" "delete pods" "create events" "get events" "list events" "patch events"; do
	# shellcheck disable=SC2086 # verb and resource
	if $K --kubeconfig="$TOKCFG" auth can-i $a -n "$nout" >/dev/null 2>&1; then bad+=("$a in $nout"); fi
	# shellcheck disable=SC2086
	$K --kubeconfig="$TOKCFG" auth can-i $a -n "$n1" >/dev/null 2>&1 || bad+=("not even $a in $n1")
done
for a in "list pods" "list omjobs" "watch pods" "list events"; do
	# shellcheck disable=SC2086
	if $K --kubeconfig="$TOKCFG" auth can-i $a --all-namespaces >/dev/null 2>&1; then bad+=("$a cluster-wide"); fi
done
for a in "get leases/other" "update leases/other" "list secrets" "get configmaps" "update omjobs" "update pods" "create pods/eviction"; do
	# shellcheck disable=SC2086
	if $K --kubeconfig="$TOKCFG" auth can-i $a -n "$opns" >/dev/null 2>&1; then bad+=("$a in $opns"); fi
done
out=$($K --kubeconfig="$TOKCFG" get pods -n "$nout" 2>&1 || true)
grep -q Forbidden <<<"$out" || bad+=("get pods in $nout: $out")
[ ${#bad[@]} -eq 0 ] &&
	pass "out: refused every verb it uses outside its namespaces and cluster-wide; no update, eviction, Secrets, ConfigMaps, other Leases" ||
	fail "out: allowed: ${bad[*]}"
rbac_objects --set-string "env.watchNamespaces=$n1\,$n2" | $K delete -f - >/dev/null 2>&1 || true
note "test_rbac took $(($(now_ms) - t0)) ms"
t_done
