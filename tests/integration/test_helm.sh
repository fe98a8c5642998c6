#!/usr/bin/env bash
# The Helm chart and the plain manifests (issue 11), against the local control plane:
#  lint      helm lint --strict, with the defaults and with each values file in ci/
#  drift     deploy/operator.yaml, deploy/rbac/rbac.yaml and the chart's CRDs are
#            what scripts/gen-manifests renders from the chart and deploy/crd/
#  monitor   ServiceMonitor and PrometheusRule only where monitoring.coreos.com/v1
#            is served; the rules pass promtool
#  pss       every ci/ rendering and deploy/operator.yaml applied with
#            --dry-run=server into a namespace enforcing (and warning on) PSS
#            restricted: accepted, not one warning (and a pod without the
#            hardening does warn there: the check can fail)
#  install   helm install into such a namespace: the operator's pods admitted and
#            scheduled onto kwok nodes, ServiceAccount, RBAC, ConfigMap, Service there
#  uninstall helm uninstall: the CRDs (helm.sh/resource-policy: keep) and every
#            OMJob stay; the release's objects are gone
. "$(dirname "$0")/lib.sh"
HELM=$("$OMJOB_SRC/tests/helm/build") || {
	fail "helm not built (tests/helm/build)"
	t_done
}
CHART=$OMJOB_SRC/deploy/helm/omjob-operator
CRDS=(omjobs.pipelines.openmetadata.org cronomjobs.pipelines.openmetadata.org)
REL=helm$$
TMP=$(mktemp -d)
t0=$(now_ms)
restore_crds() {
	local c
	for c in "${CRDS[@]}"; do
		$K annotate crd "$c" meta.helm.sh/release-name- meta.helm.sh/release-namespace- \
			helm.sh/resource-policy- >/dev/null 2>&1 || true
		$K label crd "$c" app.kubernetes.io/managed-by- app.kubernetes.io/instance- \
			app.kubernetes.io/version- helm.sh/chart- >/dev/null 2>&1 || true
	done
}
finish() {
	"$HELM" uninstall "$REL" -n "${hns:-none}" >/dev/null 2>&1 || true
	restore_crds
	rm -rf "$TMP"
	t_cleanup
}
trap finish EXIT
restricted_ns() { # PREFIX: a namespace that enforces, warns on and audits PSS restricted
	local ns
	ns=$(new_ns "$1")
	$K label namespace "$ns" pod-security.kubernetes.io/enforce=restricted \
		pod-security.kubernetes.io/warn=restricted pod-security.kubernetes.io/audit=restricted >/dev/null
	echo "$ns"
}

# --- lint, drift, monitor --------------------------------------------------------
out=$("$HELM" lint --strict "$CHART" 2>&1) && pass "lint: defaults" || fail "lint: defaults: $out"
for f in "$CHART"/ci/*.yaml; do
	out=$("$HELM" lint --strict "$CHART" -f "$f" 2>&1) && pass "lint: ci/$(basename "$f")" ||
		fail "lint: ci/$(basename "$f"): $out"
done
out=$("$OMJOB_SRC/scripts/gen-manifests" --check 2>&1) &&
	pass "drift: deploy/operator.yaml, deploy/rbac/rbac.yaml and the chart's CRDs are what the chart and deploy/crd/ give" ||
	fail "drift: $out"
out=$("$HELM" template t "$CHART" --set replicaCount=2 --set leaderElection.enabled=false 2>&1) &&
	fail "two replicas without leader election rendered" ||
	pass "two replicas without leader election refused: ${out%%$'\n'*}"
out=$("$HELM" template t "$CHART" --set env.reconciliationThreads=0 2>&1) &&
	fail "reconciliationThreads=0 rendered" || pass "values.schema.json refuses reconciliationThreads=0"
full=$CHART/ci/full-values.yaml
kinds() { { grep -E '^kind: (ServiceMonitor|PrometheusRule)$' || true; } | sort | tr '\n' ' '; }
k0=$("$HELM" template t "$CHART" -f "$full" | kinds)
k1=$("$HELM" template t "$CHART" -f "$full" --api-versions monitoring.coreos.com/v1/ServiceMonitor \
	--api-versions monitoring.coreos.com/v1/PrometheusRule | tee "$TMP/mon.yaml" | kinds)
[ -z "$k0" ] && [ "$k1" = "kind: PrometheusRule kind: ServiceMonitor " ] &&
	pass "monitor: ServiceMonitor and PrometheusRule only where monitoring.coreos.com/v1 is served" ||
	fail "monitor: without the API: '$k0', with: '$k1'"
promtool=$OMJOB_CLUSTER_BIN/promtool
if [ -x "$promtool" ]; then
	awk '/^kind: PrometheusRule/ {p = 1} p && /^spec:/ {s = 1; next} s && /^---/ {exit} s' "$TMP/mon.yaml" |
		sed 's/^  //' >"$TMP/rules.yaml"
	out=$("$promtool" check rules "$TMP/rules.yaml" 2>&1) && pass "monitor: promtool check rules: $(grep -c 'alert:' "$TMP/rules.yaml") alerts" ||
		fail "monitor: promtool: $out"
fi

# --- pss: server-side dry runs, no warning -----------------------------------------
pns=$(restricted_ns helm-pss)
dry() { # NAME FILE: applied with --dry-run=server; accepted with an empty stderr
	if ! $K apply --dry-run=server -f "$2" >/dev/null 2>"$TMP/err"; then
		fail "pss: $1 refused: $(cat "$TMP/err")"
	elif [ -s "$TMP/err" ]; then
		fail "pss: $1 accepted with warnings: $(head -c 600 "$TMP/err")"
	else
		pass "pss: $1 accepted by a PSS-restricted namespace, no warning"
	fi
}
wa=$(new_ns helm-wa)
wb=$(new_ns helm-wb)
for f in "$CHART"/ci/*.yaml; do
	"$HELM" template "$REL" "$CHART" -n "$pns" -f "$f" --set-string "env.watchNamespaces=$wa\,$wb" \
		--set crds.install=false >"$TMP/r.yaml"
	# The watch list of ci/ files other than namespaced is ALL.
	grep -q 'watchNamespaces' "$f" || "$HELM" template "$REL" "$CHART" -n "$pns" -f "$f" --set crds.install=false >"$TMP/r.yaml"
	dry "ci/$(basename "$f")" "$TMP/r.yaml"
done
# deploy/operator.yaml as shipped, moved into the restricted namespace.
awk -v RS='\n---\n' -v ORS='\n---\n' '!/\nkind: Namespace\n/' "$OMJOB_SRC/deploy/operator.yaml" |
	sed "s/namespace: omjob-system$/namespace: $pns/" >"$TMP/op.yaml"
dry deploy/operator.yaml "$TMP/op.yaml"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: bare}\nspec: {containers: [{name: c, image: x, securityContext: {runAsNonRoot: true}}]}\n' >"$TMP/bare.yaml"
$K apply --dry-run=server -n "$pns" -f "$TMP/bare.yaml" >/dev/null 2>"$TMP/err" || true
grep -q 'violates PodSecurity "restricted' "$TMP/err" &&
	pass "pss: a pod without the hardening is refused there (the check can fail)" ||
	fail "pss: a bare pod was not refused: $(cat "$TMP/err")"

# --- install -------------------------------------------------------------------------
hns=$(restricted_ns helm-inst)
# The cluster's CRDs come from deploy/crd/: let the release adopt them, as it would
# have created them.
for c in "${CRDS[@]}"; do
	$K annotate crd "$c" --overwrite meta.helm.sh/release-name="$REL" meta.helm.sh/release-namespace="$hns" >/dev/null
	$K label crd "$c" --overwrite app.kubernetes.io/managed-by=Helm >/dev/null
done
uid0=$($K get crd "${CRDS[@]}" -o jsonpath='{.items[*].metadata.uid}')
if out=$("$HELM" install "$REL" "$CHART" -n "$hns" 2>&1); then
	pass "install: helm install $REL into $hns (PSS restricted)"
else
	fail "install: $out"
fi
dep=$REL-omjob-operator
running() {
	[ "$($K get pods -n "$hns" -l "app.kubernetes.io/instance=$REL" \
		-o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Running$')" -eq 2 ]
}
if wait_until 30 running; then
	nodes=$($K get pods -n "$hns" -l "app.kubernetes.io/instance=$REL" -o jsonpath='{.items[*].spec.nodeName}')
	kw=0
	for n in $nodes; do [ "$($K get node "$n" -o jsonpath='{.metadata.labels.type}')" = kwok ] && kw=$((kw + 1)); done
	[ "$kw" -eq 2 ] && pass "install: both replicas admitted and Running on kwok nodes ($nodes)" ||
		fail "install: pods on $nodes"
else
	fail "install: replicas not Running: $($K get pods -n "$hns" -o wide 2>&1) $($K get events -n "$hns" --field-selector type=Warning -o jsonpath='{.items[*].message}')"
fi
p=$($K get pods -n "$hns" -l "app.kubernetes.io/instance=$REL" -o json | jq '.items[0]')
jq -e '.spec.securityContext.runAsNonRoot and .spec.securityContext.seccompProfile.type == "RuntimeDefault"
	and (.spec.containers[0] | .securityContext.readOnlyRootFilesystem and .securityContext.allowPrivilegeEscalation == false
	and .securityContext.capabilities.drop == ["ALL"] and .livenessProbe.httpGet.path == "/healthz"
	and .readinessProbe.httpGet.path == "/readyz" and ([.ports[].name] == ["http", "metrics"])
	and ([.env[].name] | contains(["OPERATOR_NAMESPACE", "POD_NAME"])))
	and ([.spec.volumes[] | select(.emptyDir.medium == "Memory")] | length == 1)' <<<"$p" >/dev/null &&
	pass "install: pod runs as non-root, RuntimeDefault seccomp, read-only root, drop ALL, probes, run dir on a memory emptyDir" ||
	fail "install: pod spec $(jq -c '{sc: .spec.securityContext, c: .spec.containers[0].securityContext}' <<<"$p")"
missing=()
for o in "serviceaccount/$dep" "configmap/$dep" "service/$dep-metrics" "role/$dep-leader-election" \
	"rolebinding/$dep-leader-election"; do
	$K get -n "$hns" "$o" >/dev/null 2>&1 || missing+=("$o")
done
for o in "clusterrole/$dep" "clusterrolebinding/$dep"; do $K get "$o" >/dev/null 2>&1 || missing+=("$o"); done
[ ${#missing[@]} -eq 0 ] && pass "install: ServiceAccount, ConfigMap, metrics Service, ClusterRole(Binding), Lease Role(Binding) exist" ||
	fail "install: missing ${missing[*]}"
[ "$($K get configmap -n "$hns" "$dep" -o jsonpath='{.data.LEADER_ELECTION} {.data.LEADER_ELECTION_LEASE_DURATION_SECONDS} {.data.OMJOB_RUN_DIR}')" = "true 15 /run/omjob" ] &&
	pass "install: ConfigMap: LEADER_ELECTION true, lease 15 s, OMJOB_RUN_DIR on the emptyDir" ||
	fail "install: ConfigMap $($K get configmap -n "$hns" "$dep" -o jsonpath='{.data}')"
[ "$($K get crd omjobs.pipelines.openmetadata.org -o jsonpath='{.metadata.annotations.helm\.sh/resource-policy}')" = keep ] &&
	pass "install: the CRDs carry helm.sh/resource-policy: keep" || fail "install: CRDs without keep"

# --- uninstall -------------------------------------------------------------------------
jns=$(new_ns helm-jobs)
printf 'apiVersion: pipelines.openmetadata.org/v1\nkind: OMJob\nmetadata: {name: stays}\nspec: {mainPodSpec: {image: x}}\n' |
	$K create -n "$jns" -f - >/dev/null
printf 'apiVersion: pipelines.openmetadata.org/v1\nkind: CronOMJob\nmetadata: {name: stays}\nspec: {schedule: "0 0 1 1 *", omJobSpec: {mainPodSpec: {image: x}}}\n' |
	$K create -n "$jns" -f - >/dev/null
out=$("$HELM" uninstall "$REL" -n "$hns" 2>&1) && pass "uninstall: helm uninstall $REL" || fail "uninstall: $out"
[ "$($K get crd "${CRDS[@]}" -o jsonpath='{.items[*].metadata.uid}' 2>/dev/null)" = "$uid0" ] &&
	pass "uninstall: both CRDs kept (same uid)" || fail "uninstall: CRDs gone or replaced"
$K get omj -n "$jns" stays >/dev/null 2>&1 && $K get comj -n "$jns" stays >/dev/null 2>&1 &&
	pass "uninstall: the OMJob and the CronOMJob are still there" || fail "uninstall: OMJob or CronOMJob gone"
gone_all() {
	! $K get deployment,configmap,serviceaccount,role,rolebinding -n "$hns" -l "app.kubernetes.io/instance=$REL" -o name 2>/dev/null | grep -q . &&
		! $K get "clusterrole/$dep" >/dev/null 2>&1
}
wait_until 20 gone_all && pass "uninstall: the release's Deployment, ConfigMap, ServiceAccount and RBAC are gone" ||
	fail "uninstall: left: $($K get all,role,rolebinding -n "$hns" -o name 2>&1 | tr '\n' ' ')"
note "test_helm took $(($(now_ms) - t0)) ms"
t_done
