#!/usr/bin/env bash
# httpd with the whole operator (the watcher talks to the fixture's cluster).
# /healthz /readyz /info /metrics, 404 and 405; every role killed with SIGKILL
# comes back and is counted in omjob_component_restarts_total; a SIGSTOPped role
# fails /healthz within the deadline, by name; a disabled role run by hand is
# asked like the others while it answers.
. "$(dirname "$0")/lib.sh"

# The two free ports lib.sh chose for every supervisor of this test.
HP=$HEALTH_CHECK_PORT
MP=$METRICS_PORT
H=http://127.0.0.1:$HP
M=http://127.0.0.1:$MP

# code URL [CURL ARGS...]: the HTTP status (000 when nothing answers).
code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@"; }
is200() { [ "$(code "$1")" = 200 ]; }

PROMTOOL=${OMJOB_CLUSTER_BIN:+$OMJOB_CLUSTER_BIN/promtool}
[ -x "${PROMTOOL:-}" ] || PROMTOOL=$(ls ~/.cache/omjob-operator/k8s-*/bin/promtool 2>/dev/null | head -1)

RUNNING=$ALL_ROLES
start_sup
check "/readyz becomes 200" wait_until 10 is200 "$H/readyz"
check "/healthz is 200 ok" test "$(curl -s -m 5 "$H/healthz")" = ok
check "/health and /ready too" eval 'is200 $H/health && is200 $H/ready'

info=$(curl -s -m 5 "$H/info")
check "/info has the version" test -n "$(jq -r '.version // empty' <<<"$info")"
check "/info lists $NROLES roles" test "$(jq '.roles | length' <<<"$info")" -eq "$NROLES"
check "/info has the configuration" test "$(jq -r '.config.HEALTH_CHECK_PORT' <<<"$info")" = "$HP"
check "/info has role pids" test "$(jq '[.roles[] | select(.pid != null)] | length' <<<"$info")" -eq "$NROLES"

curl -s -m 5 -D "$TMP/mh" -o "$TMP/metrics" "$M/metrics"
check "/metrics is 200 with the 0.0.4 content type" \
    grep -qi '^Content-Type: text/plain; version=0.0.4' "$TMP/mh"
if [ -x "${PROMTOOL:-}" ]; then
    check "/metrics passes promtool check metrics" "$PROMTOOL" check metrics <"$TMP/metrics"
else
    note "promtool not found: skipping its check"
fi
for f in omjob_reconciliations_total omjob_duration_seconds omjob_pods_created_total \
    omjob_status_transitions_total controller_runtime_reconcile_total \
    controller_runtime_reconcile_errors_total controller_runtime_reconcile_time_seconds \
    workqueue_depth workqueue_adds_total workqueue_queue_duration_seconds \
    rest_client_requests_total omjob_component_restarts_total process_resident_memory_bytes; do
    check "/metrics has HELP and TYPE of $f" \
        eval "grep -q '^# HELP $f ' $TMP/metrics && grep -q '^# TYPE $f ' $TMP/metrics"
done
for r in $RUNNING; do
    check "/metrics has process_resident_memory_bytes of $r" \
        grep -q "^process_resident_memory_bytes{role=\"$r\"} [1-9]" "$TMP/metrics"
done
check "/metrics counts the watcher's API requests (rest_client_requests_total, code 200)" \
    grep -qE '^rest_client_requests_total\{.*code="200".*role="watcher".*\} [1-9]|^rest_client_requests_total\{.*role="watcher".*code="200".*\} [1-9]' "$TMP/metrics"
check "/metrics on the health port too" is200 "$H/metrics"
check "the metrics port serves /metrics only" test "$(code "$M/healthz")" = 404
check "unknown path: 404" test "$(code "$H/nope")" = 404
check "POST: 405" test "$(code -X POST "$H/healthz")" = 405
check "405 says Allow: GET, HEAD" \
    eval "curl -s -m 5 -D - -o /dev/null -X POST $H/metrics | grep -qi '^Allow: GET, HEAD'"
check "HEAD: 200" test "$(code -I "$H/readyz")" = 200

# restarts_of ROLE: its omjob_component_restarts_total sample.
restarts_of() {
    curl -s -m 5 "$M/metrics" |
        awk -v r="omjob_component_restarts_total{role=\"$1\"}" '$1 == r {print $2}'
}
for r in $RUNNING; do
    pid=$(role_pid "$r")
    kill_role -9 "$pid" || fail "$r (pid $pid) is a child of the supervisor"
    check "$r killed: back READY under a new pid" \
        wait_until 10 eval '[ "$(role_state '"$r"')" = READY ] && [ "$(role_pid '"$r"')" != '"$pid"' ]'
    check "$r killed: /readyz back to 200" wait_until 10 is200 "$H/readyz"
    check "$r killed: omjob_component_restarts_total{role=\"$r\"} is 1" \
        wait_until 3 eval '[ "$(restarts_of '"$r"')" = 1 ]'
    check "$r killed: no zombie" wait_until 1 eval '[ -z "$(zombies_of "$SUP")" ]'
done

pid=$(role_pid reconciler-1)
kill_role -STOP "$pid"
t0=$(now_ms)
curl -s -m 5 -o "$TMP/h" -w '%{http_code}' "$H/healthz" >"$TMP/hc"
took=$(($(now_ms) - t0))
check "SIGSTOPped reconciler-1: /healthz 503" test "$(cat "$TMP/hc")" = 503
check "... naming reconciler-1" grep -q '^reconciler-1: no answer' "$TMP/h"
check "... within the deadline (took $took ms)" test "$took" -lt 1500
check "... and /readyz 503 too" test "$(code "$H/readyz")" = 503
check "... while /metrics still answers" is200 "$M/metrics"
kill -CONT "$pid"
check "SIGCONT: /healthz 200 again" wait_until 3 is200 "$H/healthz"
kill -TERM "$SUP"
wait_exit "$SUP" 20
check "the supervisor exits 0" test "$EXIT_RC" -eq 0

# A disabled role run by hand is asked like the others.
new_run
start_sup --disable-role cleaner  # reconcilers are ready only with a watcher
check "cleaner disabled, not running: /readyz 200" wait_until 10 is200 "$H/readyz"
"$OMJOB_BIN" cleaner 2>>"$LOG" &
HAND=$!
PIDS+=("$HAND")
check "cleaner run by hand: its metrics appear" wait_until 5 eval \
    "curl -s -m 5 $M/metrics | grep -q '^process_resident_memory_bytes{role=\"cleaner\"}'"
kill -STOP "$HAND"
# Stopped in gdb, say: a disabled role counts only while it answers (a killed one
# may leave its socket file behind), so the probes do not fail for it.
check "cleaner run by hand, stopped: /healthz still 200" is200 "$H/healthz"
kill -CONT "$HAND"
kill -TERM "$HAND"
# 15 s: httpd's requests that waited while it was stopped reach it as it closes its
# sockets, and NNG 1.5.2 can then hang a close for IPC_CLOSE_WAIT_MS (3 s, bounded:
# lib/ipc/nngutil.c) before the role goes on; 5 s was met by one such hang plus
# ASan's teardown (process_httpd under ASan, ~1 run in 10).
wait_exit "$HAND" 15
check "cleaner run by hand exits 0 on SIGTERM" test "$EXIT_RC" -eq 0
check "cleaner gone: /healthz 200" wait_until 3 is200 "$H/healthz"
kill -TERM "$SUP"
wait_exit "$SUP" 20
check "cleaner disabled: the supervisor exits 0" test "$EXIT_RC" -eq 0
finish
