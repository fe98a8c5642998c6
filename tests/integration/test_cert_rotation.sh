#!/usr/bin/env bash
# A client certificate rotated under a running operator is used without a
# restart (lib/kube/client.c re-reads the CA, certificate and key files when they
# change). The operator authenticates with a client certificate signed by the
# test cluster's CA, from files behind a directory symlink swapped atomically, as
# a Kubernetes Secret volume is updated. Three identities in turn:
#  1. the operator's own (CN system:serviceaccount:omjob-system:omjob-operator,
#     which its RBAC binds): an OMJob runs;
#  2. a user without any RBAC: an OMJob created now gets no pod, and the API
#     server's refusals name that user (requests really carry the new certificate;
#     without the reload the old one would create the pod at once);
#  3. a fresh certificate of the operator's identity (new key): that OMJob runs
#     to its end;
#  4. the CA file replaced by a CA that did not sign the API server's certificate:
#     an OMJob created now gets no pod (new connections fail verification), and
#     back to the right CA it runs to its end. No role restarted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)
: "${OMJOB_CLUSTER_STATE:?}" "${OMJOB_CLUSTER_SERVER:?}"
CD=$OP_TMP/creds
OP_USER=system:serviceaccount:omjob-system:omjob-operator
NOBODY=omjob-test-nobody

# use DIR: the certificate and key the kubeconfig names become DIR's, at once.
use() {
	ln -sfn "$1" "$CD/current.new"
	mv -T "$CD/current.new" "$CD/current"
}
mkdir -p "$CD"
issue_client_cert "$CD/op1" "/O=system:serviceaccounts/O=system:serviceaccounts:omjob-system/CN=$OP_USER" &&
	issue_client_cert "$CD/nobody" "/CN=$NOBODY" &&
	issue_client_cert "$CD/op2" "/O=system:serviceaccounts/O=system:serviceaccounts:omjob-system/CN=$OP_USER" ||
	{
		fail "cannot issue client certificates with the cluster's CA key"
		t_done
	}
cp "$OMJOB_CLUSTER_STATE/pki/ca.crt" "$CD/op1/ca.crt"
cp "$OMJOB_CLUSTER_STATE/pki/ca.crt" "$CD/nobody/ca.crt"
cp "$OMJOB_CLUSTER_STATE/pki/ca.crt" "$CD/op2/ca.crt"
mkdir -p "$CD/badca"
cp "$CD/op2/client.crt" "$CD/op2/client.key" "$CD/badca/"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CD/badca/other-ca.key" -out "$CD/badca/ca.crt" \
	-days 1 -subj "/CN=omjob-test-other-ca" 2>/dev/null || fail "cannot make a second CA"
use op1
cert_kubeconfig "$CD/kubeconfig" "$CD/current" "$CD/current/ca.crt"

start_pod_watch
start_operator KUBECONFIG="$CD/kubeconfig"
ns=$(new_ns rot)

omjob "$ns" first '{"exit":0}' '{"exit":0}'
expect "$ns" first '{"desc":"runs as the first certificate","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'
wait_until 20 omj_phase_is "$ns" first Succeeded &&
	pass "an OMJob runs with the operator's first client certificate" ||
	fail "first: not Succeeded: $($K get omj,pods -n "$ns" 2>&1)"

# 2: more than the 2 s between two looks at the files, then an OMJob.
use nobody
trot=$(now_ms)
sleep 2.5
omjob "$ns" nob '{"exit":0}' '{"exit":0}'
expect "$ns" nob '{"desc":"created while the certificate had no rights, run after the next rotation","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'
sleep 6
if $K get pod -n "$ns" nob-main >/dev/null 2>&1; then
	fail "nob-main was created while the certificate in the files was $NOBODY's: the old certificate is still used"
else
	pass "no main pod for 6 s while the certificate in the files has no rights"
fi
st=$(jp omj "$ns" nob '{.metadata.finalizers}{.status.phase}')
[ -z "$st" ] && pass "nob: neither a finalizer nor a status could be written" ||
	fail "nob: finalizers and phase '$st'"
n=$(grep -c "$NOBODY" "$OP_LOG" || true)
[ "$n" -gt 0 ] && pass "$n refusals in the log name $NOBODY: requests carry the new certificate" ||
	fail "no refusal naming $NOBODY in the log: $(grep -m3 -i forbidden "$OP_LOG" | head -c 1500)"

# 3: a fresh certificate of the operator's identity.
use op2
if T_POLL=0.5 wait_until 45 omj_phase_is "$ns" nob Succeeded; then
	pass "nob Succeeded $(($(now_ms) - trot)) ms after the first rotation, with the fresh certificate"
else
	fail "nob not Succeeded after the rotation back: $($K get omj,pods -n "$ns" 2>&1)"
fi

# 4: a CA that did not sign the API server's certificate, then the right one.
use badca
tca=$(now_ms)
sleep 2.5
omjob "$ns" ca '{"exit":0}' '{"exit":0}'
expect "$ns" ca '{"desc":"created while the CA file held another CA","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'
sleep 5
if $K get pod -n "$ns" ca-main >/dev/null 2>&1; then
	fail "ca-main was created while the CA file held another CA: the old CA is still used"
else
	pass "no main pod for 5 s while the CA file holds a CA that did not sign the server's certificate"
fi
use op2
if T_POLL=0.5 wait_until 45 omj_phase_is "$ns" ca Succeeded; then
	pass "ca Succeeded $(($(now_ms) - tca)) ms after the CA file was replaced, with the right CA back"
else
	fail "ca not Succeeded after the right CA came back: $($K get omj,pods -n "$ns" 2>&1)"
fi
n=$(grep -c 'TLS files changed' "$OP_LOG" || true)
[ "$n" -ge 4 ] && pass "$n 'TLS files changed' log lines (at least one per rotation)" ||
	fail "$n 'TLS files changed' log lines"
check_finished 30 "$t0"
check_runs
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
