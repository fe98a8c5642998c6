#!/usr/bin/env bash
# Large objects and large lists (issue 13): tests/integration/test_large.sh at full
# size, 300 OMJobs of 1 MB each (the config inline) + 100 ordinary ones present
# before the operator starts. Prints "BENCH large_sync_pss_peak <MiB> MiB": the
# peak PSS (supervisor and every role) from start until the ordinary OMJobs have
# finished (target < 64 MiB; 318.9 MiB while the cache kept whole objects), and
# its ratio to the target, and fails when a check of the test fails. About 300
# MB go through etcd: several minutes on 2 cores. Needs the control plane: uses
# $KUBECONFIG when set, else starts one and stops it after. BENCH_LARGE_N,
# BENCH_LARGE_ORD change the counts.
set -euo pipefail
: "${OMJOB_BIN:?OMJOB_BIN must name the omjob-operator binary}"
REPO=$(cd "$(dirname "$0")/.." && pwd)
CLUSTER=""
cleanup() {
	if [ -n "$CLUSTER" ]; then "$REPO/tests/cluster/down" "$CLUSTER" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
if [ -z "${KUBECONFIG:-}" ]; then
	eval "$("$REPO/tests/cluster/up" --owner-pid $$)"
	CLUSTER=$OMJOB_CLUSTER_STATE
fi
OUT=$(mktemp /tmp/ombl.XXXXXX)
rc=0
OMJOB_BIN=$(readlink -f "$OMJOB_BIN") LARGE_N=${BENCH_LARGE_N:-300} ORD_N=${BENCH_LARGE_ORD:-100} \
	LARGE_BENCH=1 LARGE_PSS_MAX_MIB=${BENCH_LARGE_PSS_MAX_MIB:-64} bash "$REPO/tests/integration/test_large.sh" >"$OUT" 2>&1 || rc=$?
grep -v '^BENCH' "$OUT" | sed 's/^/# /' >&2
grep '^BENCH' "$OUT" || true
peak=$(awk '/^BENCH large_sync_pss_peak/ {print $3}' "$OUT")
if [ -n "$peak" ]; then
	echo "BENCH large_sync_pss_peak_target_ratio $(awk -v p="$peak" 'BEGIN {printf "%.3f", p / 64}') (of 64 MiB; before the cache left templates out: 318.9 MiB, ratio 4.98)"
fi
rm -f "$OUT"
exit "$rc"
