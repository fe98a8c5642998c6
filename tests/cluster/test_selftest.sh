#!/usr/bin/env bash
# Self-test of the local control plane: the pod behaviours the scenario tests rely
# on (tests/cluster/README.md), garbage collection, node-loss eviction and RBAC.
. "$(dirname "$0")/../integration/lib.sh"
ns=$(new_ns selftest)

pod() { # name annotations-yaml [extra spec yaml]
	cat <<POD | $K apply -n "$ns" -f - >/dev/null
apiVersion: v1
kind: Pod
metadata:
  name: $1
  annotations: {$2}
spec:
  restartPolicy: Never
  containers: [{name: main, image: busybox}]
  ${3:-}
POD
}
jp() { $K get pod -n "$ns" "$1" -o "jsonpath=$2" 2>/dev/null; }
# is POD JSONPATH VALUE: evaluated afresh on each call (for wait_until).
is() { [ "$(jp "$1" "$2")" = "$3" ]; }

# 1. exit 3 after 1 s: Failed with exitCode 3 within 10 s.
t=$(now_ms)
pod exit3 '"sim.omjob.test/exit-code": "3", "sim.omjob.test/run-for": "1s"'
if wait_until 10 is exit3 '{.status.phase}' Failed; then
	code=$(jp exit3 '{.status.containerStatuses[0].state.terminated.exitCode}')
	reason=$(jp exit3 '{.status.containerStatuses[0].state.terminated.reason}')
	[ "$code" = 3 ] && [ "$reason" = Error ] && pass "exit 3 after 1 s: Failed, exitCode 3, Error in $(($(now_ms) - t)) ms" ||
		fail "exit3: exitCode '$code' reason '$reason'"
else
	fail "exit3: not Failed within 10 s (phase $(jp exit3 '{.status.phase}'))"
fi

# 2. exit 0: Succeeded, Completed.
pod exit0 '"sim.omjob.test/exit-code": "0"'
wait_until 10 is exit0 '{.status.phase}' Succeeded &&
	[ "$(jp exit0 '{.status.containerStatuses[0].state.terminated.reason}')" = Completed ] &&
	pass "exit 0: Succeeded, Completed" || fail "exit0: phase $(jp exit0 '{.status.phase}')"

# 3. OOMKilled.
pod oom '"sim.omjob.test/exit-code": "137", "sim.omjob.test/reason": "OOMKilled"'
wait_until 10 is oom '{.status.phase}' Failed &&
	[ "$(jp oom '{.status.containerStatuses[0].state.terminated.reason}')" = OOMKilled ] &&
	[ "$(jp oom '{.status.containerStatuses[0].state.terminated.exitCode}')" = 137 ] &&
	pass "OOMKilled: Failed, 137, OOMKilled" || fail "oom: $(jp oom '{.status}')"

# 4. Stuck Pending with a waiting reason.
pod pull '"sim.omjob.test/pending-reason": "ImagePullBackOff", "sim.omjob.test/pending-message": "Back-off pulling image"'
wait_until 10 is pull '{.status.containerStatuses[0].state.waiting.reason}' ImagePullBackOff &&
	sleep 2 && [ "$(jp pull '{.status.phase}')" = Pending ] &&
	pass "ImagePullBackOff: stays Pending with the waiting reason" || fail "pull: $(jp pull '{.status}')"

# 5. Deleting a running pod terminates it (exit 137) and removes it.
pod victim ''
if wait_until 10 is victim '{.status.phase}' Running; then
	$K delete pod -n "$ns" victim --wait=false >/dev/null
	wait_until 10 bash -c "! $K get pod -n $ns victim" && pass "deleted running pod removed" ||
		fail "victim still there: $(jp victim '{.status.phase}')"
else
	fail "victim: not Running within 10 s (phase $(jp victim '{.status.phase}'))"
fi

# 6. Garbage collection: deleting the owner removes the pods it owns.
$K create configmap -n "$ns" owner >/dev/null
uid=$($K get configmap -n "$ns" owner -o jsonpath='{.metadata.uid}')
pod owned ''
$K patch pod -n "$ns" owned --type=merge -p "{\"metadata\":{\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"owner\",\"uid\":\"$uid\",\"controller\":true,\"blockOwnerDeletion\":true}]}}" >/dev/null
$K delete configmap -n "$ns" owner >/dev/null
t=$(now_ms)
wait_until 60 bash -c "! $K get pod -n $ns owned" && pass "owner deleted: owned pod collected in $(($(now_ms) - t)) ms" ||
	fail "owned pod not garbage-collected within 60 s"

# 7. A node made NotReady has its pods evicted (taint manager, 5 s toleration).
node=kwok-node-$(($($K get nodes -l type=kwok --no-headers | wc -l) - 1))
pod onnode '' "nodeName: $node"
wait_until 10 is onnode '{.status.phase}' Running || fail "onnode: not Running on $node within 10 s"
$K label node "$node" node-not-ready.stage.kwok.x-k8s.io=true >/dev/null
t=$(now_ms)
if wait_until 60 bash -c "! $K get pod -n $ns onnode || [ -n \"\$($K get pod -n $ns onnode -o jsonpath='{.metadata.deletionTimestamp}')\" ]"; then
	pass "node NotReady: pod evicted in $(($(now_ms) - t)) ms"
else
	fail "pod on NotReady node not evicted within 60 s"
fi
$K label node "$node" node-not-ready.stage.kwok.x-k8s.io- >/dev/null
wait_until 60 $K wait --for=condition=Ready node "$node" --timeout=1s || fail "$node did not become Ready again"
$K taint node "$node" node.kubernetes.io/not-ready- >/dev/null 2>&1 || true

# 8. The restricted identity is refused what RBAC does not grant, readably.
out=$($K --kubeconfig="$OMJOB_TEST_KUBECONFIG" get secrets -n "$ns" 2>&1 || true)
case $out in
*Forbidden*'cannot list resource "secrets"'*) pass "restricted identity: 403 Forbidden on secrets" ;;
*) fail "restricted identity was not refused: $out" ;;
esac

t_done
