# Helpers for the shell integration tests; sourced. Each test gets its own
# namespace, deleted when the test exits, and fails with a message on stderr.
set -euo pipefail
# An unexpected failing command ends the test: say where, so it is never silent.
trap 'echo "FAIL: $(basename "$0") line $LINENO: $BASH_COMMAND exited $?" >&2' ERR
: "${KUBECONFIG:?run under tests/cluster/with-cluster (no KUBECONFIG)}"
K=${OMJOB_CLUSTER_BIN:+$OMJOB_CLUSTER_BIN/}kubectl
T_FAILS=0
T_PASSES=0

now_ms() { echo $(($(date +%s%N) / 1000000)); }
fail() {
	echo "FAIL: $*" >&2
	T_FAILS=$((T_FAILS + 1))
}
pass() {
	echo "ok: $*"
	T_PASSES=$((T_PASSES + 1))
}
# wait_until SECONDS CMD...: true once CMD succeeds, false after SECONDS.
wait_until() {
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}
# new_ns PREFIX: creates a namespace labelled with this test's pid and prints its
# name; t_cleanup deletes every namespace with that label (new_ns runs in a
# $(...) subshell, so it cannot record the name in a variable of ours).
T_NAMESPACES=()
new_ns() {
	local ns
	ns=$1-$(printf '%04x%04x' $RANDOM $RANDOM)
	$K create namespace "$ns" >/dev/null
	$K label namespace "$ns" "omjob.test/owner=$$" >/dev/null
	echo "$ns"
}
t_cleanup() {
	for ns in "${T_NAMESPACES[@]}"; do
		$K delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	done
	$K delete namespace -l "omjob.test/owner=$$" --wait=false >/dev/null 2>&1 || true
}
trap t_cleanup EXIT
# t_done: prints the closing line and exits non-zero on any failure.
t_done() {
	echo "$T_PASSES passed, $T_FAILS failed"
	[ "$T_FAILS" -eq 0 ]
}
