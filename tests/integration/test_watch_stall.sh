#!/usr/bin/env bash
# A watch whose connection stays open but delivers nothing (issue 13): the
# operator reaches the API server through tcpstall (tests/integration/tools), a
# loopback proxy of ours; once the operator is ready the proxy stops forwarding
# every connection then open (the watches among them) without closing them, as a
# dead peer or a stuck proxy would. New connections go through as before.
# Asserts that the watcher notices and watches again within 90 s: an OMJob
# created after the freeze shows in its cache (omjob-operator cache) and runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
: "${OMJOB_BUILD_DIR:?}" "${OMJOB_CLUSTER_SERVER:?}"
t0=$(now_ms)
PROXY_BIN=$OMJOB_BUILD_DIR/tcpstall
[ -x "$PROXY_BIN" ] || {
	fail "no $PROXY_BIN (build the tcpstall target)"
	t_done
}

api_port=${OMJOB_CLUSTER_SERVER##*:}
proxy_port=$(free_port)
"$PROXY_BIN" "$proxy_port" "$api_port" >"$OP_TMP/proxy.out" 2>&1 &
PROXY=$!
trap 'kill "$PROXY" 2>/dev/null || true; cleanup' EXIT
wait_until 10 grep -q listening "$OP_TMP/proxy.out" || fail "proxy not listening: $(cat "$OP_TMP/proxy.out")"
sed "s#server: .*#server: https://127.0.0.1:$proxy_port#" "$OMJOB_TEST_KUBECONFIG" >"$OP_TMP/proxy.kubeconfig"

start_operator KUBECONFIG="$OP_TMP/proxy.kubeconfig"
ns=$(new_ns wstall)
omjob "$ns" before '{}' none
if wait_until 30 pod_phase_is "$ns" before-main Running; then
	pass "through the proxy: OMJob before runs"
else
	fail "before: main pod not Running: $($K get omj,pods -n "$ns" 2>&1)"
fi

kill -USR1 "$PROXY"
tf=$(now_ms)
wait_until 5 grep -q froze "$OP_TMP/proxy.out" || true
note "proxy: $(grep froze "$OP_TMP/proxy.out" | tail -1)"
omjob "$ns" after '{}' none
cached() { OMJOB_RUN_DIR=$OP_RUN timeout 5 "$OMJOB_BIN" cache "$ns/after" 2>/dev/null | grep -q '"name":"after"'; }
if wait_until 90 cached; then
	pass "the watcher saw OMJob after $(($(now_ms) - tf)) ms after its watch connections froze (bound 90 s)"
else
	fail "OMJob after not in the watcher's cache 90 s after the freeze"
fi
if wait_until 60 pod_phase_is "$ns" after-main Running; then
	pass "after runs ($(($(now_ms) - tf)) ms after the freeze)"
else
	fail "after: main pod not Running: $($K get omj,pods -n "$ns" 2>&1)"
fi
stalled=$(grep -c '"end":"STALLED"\|watch stalled\|STALLED' "$OP_LOG" || true)
note "$stalled operator log lines mention a stalled watch"
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
