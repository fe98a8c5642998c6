# shellcheck shell=bash
# Helpers for the shell integration tests (and tests/cluster/test_selftest.sh);
# sourced. Checks, waits (in seconds) and the closing t_done come from
# tests/lib.sh. Each test gets its own namespaces, deleted when the test exits.
set -euo pipefail
# An unexpected failing command ends the test: say where, so it is never silent.
# shellcheck disable=SC2154 # t_rc is set in the trap itself
trap 't_rc=$?; echo "FAIL: $(basename "$0") line $LINENO: $BASH_COMMAND exited $t_rc" >&2' ERR
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${KUBECONFIG:?run under tests/cluster/with-cluster (no KUBECONFIG)}"
K=${OMJOB_CLUSTER_BIN:+$OMJOB_CLUSTER_BIN/}kubectl
T_POLL=0.1

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
	local ns
	for ns in "${T_NAMESPACES[@]}"; do
		$K delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	done
	$K delete namespace -l "omjob.test/owner=$$" --wait=false >/dev/null 2>&1 || true
}
trap t_cleanup EXIT
