#!/usr/bin/env bash
# docs/SCENARIOS.md row 17, its first half, at the watcher alone: the API server
# is restarted under a running watcher (every watch breaks, connections are
# refused for a while); the watcher reconnects with backoff and its cache
# converges on every change made before, during and after the outage. Runs alone (RUN_SERIAL): it takes the API
# server away from every other test.
. "$(dirname "$0")/lib.sh"
: "${OMJOB_BIN:?}" "${OMJOB_TEST_KUBECONFIG:?}" "${OMJOB_CLUSTER_STATE:?}"
ns=$(new_ns restart)
RUN=$(mktemp -d /tmp/omr.XXXX)
WPID=
finish() {
	[ -n "$WPID" ] && kill -TERM "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null || true
	[ "$T_FAILS" -gt 0 ] && tail -30 "$RUN.log" >&2
	rm -rf "$RUN" "$RUN.log" "$RUN.restart"
	t_cleanup
}
trap finish EXIT

omjob() { # name [label]
	printf 'apiVersion: pipelines.openmetadata.org/v1\nkind: OMJob\nmetadata: {name: %s, labels: {v: "%s"}}\nspec: {mainPodSpec: {image: busybox}}\n' \
		"$1" "${2:-1}" | $K apply -n "$ns" -f - >/dev/null
}
cache() { OMJOB_RUN_DIR=$RUN timeout 5 "$OMJOB_BIN" cache "$@" 2>/dev/null; }
label_is() { [ "$(cache "$ns/$1" | jq -r '.omjob.metadata.labels.v // empty')" = "$2" ]; }
absent() { cache "$ns/$1" | jq -e '.omjob == null' >/dev/null; }

KUBECONFIG=$OMJOB_TEST_KUBECONFIG OMJOB_RUN_DIR=$RUN LOG_FORMAT=text "$OMJOB_BIN" watcher 2>"$RUN.log" &
WPID=$!
omjob keep 1
omjob gone 1
wait_until 10 label_is keep 1 && wait_until 10 label_is gone 1 && pass "watcher caches the OMJobs" ||
	fail "watcher did not cache the OMJobs"

t=$(now_ms)
if "$OMJOB_SRC/tests/cluster/restart-apiserver" "$OMJOB_CLUSTER_STATE" --down-for 3 2>"$RUN.restart"; then
	pass "API server restarted after 3 s down ($(($(now_ms) - t)) ms until ready)"
else
	fail "restart-apiserver failed: $(cat "$RUN.restart")"
fi

omjob keep 2
$K delete omj -n "$ns" gone --wait=false >/dev/null
omjob born 1
t=$(now_ms)
if wait_until 40 label_is keep 2 && wait_until 10 absent gone && wait_until 10 label_is born 1; then
	pass "after the restart the cache converged in $(($(now_ms) - t)) ms (modify, delete, create)"
else
	fail "cache did not converge: keep=$(cache "$ns/keep" | jq -c .omjob.metadata.labels) gone=$(cache "$ns/gone" | jq -c '.omjob != null')"
fi
kill -0 "$WPID" && pass "the watcher survived the outage (no restart needed)" || fail "the watcher died"
grep -qiE 'refused|disconnect|retry|backoff' "$RUN.log" && pass "the outage is in the watcher's log" ||
	fail "the watcher logged nothing about the outage"
t_done
