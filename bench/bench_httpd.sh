#!/usr/bin/env bash
# httpd and the whole operator at idle: memory (sum of Pss of the supervisor and
# every role, 5 reconcilers), time from exec to /readyz 200 (median of 5 starts),
# and /metrics scrape latency over 500 scrapes on one keep-alive connection.
# Prints "BENCH <name> <value> <unit>" lines. Needs the control plane (the watcher
# lists from it): uses $KUBECONFIG when set, else starts one and stops it after.
set -euo pipefail
: "${OMJOB_BIN:?OMJOB_BIN must name the omjob-operator binary}"
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tests/lib.sh" # free_ports
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh" # pss_total
BIN=$(readlink -f "$OMJOB_BIN")
TMP=$(mktemp -d /tmp/omb.XXXXXX)
CLUSTER=""
SUP=""

cleanup() {
    if [ -n "$SUP" ] && kill -0 "$SUP" 2>/dev/null; then
        kill -TERM "$SUP"
        wait "$SUP" 2>/dev/null || true
    fi
    rm -rf "$TMP"
    if [ -n "$CLUSTER" ]; then "$REPO/tests/cluster/down" "$CLUSTER" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if [ -z "${KUBECONFIG:-}" ]; then
    eval "$("$REPO/tests/cluster/up" --owner-pid $$)"
    CLUSTER=$OMJOB_CLUSTER_STATE
fi
# The operator runs as itself, not as the admin.
export KUBECONFIG=${OMJOB_TEST_KUBECONFIG:-$KUBECONFIG}
export RECONCILIATION_THREADS=5 LOG_LEVEL=WARN OMJOB_HTTP_BIND_ADDRESS=127.0.0.1

ports=$(free_ports 2)
read -r HEALTH_CHECK_PORT METRICS_PORT <<<"$ports"
export HEALTH_CHECK_PORT METRICS_PORT
H=http://127.0.0.1:$HEALTH_CHECK_PORT
M=http://127.0.0.1:$METRICS_PORT

now_ns() { date +%s%N; }
ready() { [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$H/readyz")" = 200 ]; }

# start N: a supervisor on a fresh run directory; MS gets the time from exec to
# /readyz 200 (not in a subshell: SUP must stay set).
start() {
    export OMJOB_RUN_DIR=$TMP/r$1
    local t0 deadline
    t0=$(now_ns)
    "$BIN" 2>>"$TMP/log" &
    SUP=$!
    deadline=$((t0 + 30000000000))
    until ready; do
        [ "$(now_ns)" -lt "$deadline" ] || { echo "no /readyz 200 within 30 s" >&2; tail -20 "$TMP/log" >&2; exit 1; }
        sleep 0.002
    done
    MS=$((($(now_ns) - t0) / 1000000))
}
stop() {
    kill -TERM "$SUP"
    wait "$SUP" 2>/dev/null || true
    SUP=""
}

times=()
for i in 1 2 3 4 5; do
    start "$i"
    times+=("$MS")
    [ "$i" -lt 5 ] && stop
done
med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo "BENCH exec_to_readyz_ms $med ms"
echo "# exec to /readyz 200, 5 starts: ${times[*]} ms (target <= 200 ms)" >&2

# Memory at idle: the last supervisor and its children, a little after ready.
sleep 3
pss=$(pss_total)
echo "BENCH operator_pss_idle_kib $pss KiB"
echo "BENCH operator_pss_idle_target_ratio $(awk -v p="$pss" 'BEGIN {printf "%.3f", p / 16384}') ratio"
# Baseline in the same run: every role a fresh exec of the image (OMJOB_ROLE_EXEC=1),
# as DESIGN.md first had it.
stop
OMJOB_ROLE_EXEC=1 start 6
sleep 3
base=$(pss_total)
echo "BENCH operator_pss_idle_exec_baseline_kib $base KiB"
echo "BENCH operator_pss_idle_vs_exec_ratio $(awk -v p="$pss" -v b="$base" 'BEGIN {printf "%.3f", p / b}') ratio"
echo "# processes: $(($(ps -o pid= --ppid "$SUP" | wc -l) + 1)) (target <= 16 MiB)" >&2

# Scrapes: 500 on one connection; curl reports each one's time_total.
args=()
for _ in $(seq 500); do args+=(-o /dev/null "$M/metrics"); done
curl -s -w '%{time_total}\n' "${args[@]}" | sort -n >"$TMP/scrapes"
n=$(wc -l <"$TMP/scrapes")
p50=$(awk -v n="$n" 'NR == int(n * 0.50 + 0.5) {printf "%.3f", $1 * 1000}' "$TMP/scrapes")
p99=$(awk -v n="$n" 'NR == int(n * 0.99 + 0.5) {printf "%.3f", $1 * 1000}' "$TMP/scrapes")
echo "BENCH metrics_scrape_p50_ms $p50 ms"
echo "BENCH metrics_scrape_p99_ms $p99 ms"
echo "# $n scrapes (target p99 <= 5 ms)" >&2
stop
