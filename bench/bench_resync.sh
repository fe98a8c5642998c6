#!/usr/bin/env bash
# Hint subscribers after a watcher restart (issue 13, "the subscriber that did not
# come back"): the watcher is SIGKILLed N times (default 50) in a row, and after
# each restart every subscriber (every reconciler, the cleaner, the scheduler)
# must receive the new publisher's first message (a tick, or a hint) within 2 s
# of that publisher's first message. The watcher runs by hand beside a supervisor
# started with --disable-role watcher, so that the bench restarts it at once (the
# supervisor's restart backoff grows to 30 s for a role killed again and again);
# the publisher and the subscribers are the same code either way. Both sides log
# the moment ("hints: first message published" / "hints: first message from
# publisher", lib/ipc/pubsub.c). Prints "BENCH <name> <value> <unit>": resync p50,
# p99 and worst in ms over every subscriber of every restart, and the number of
# subscribers that got nothing within 10 s (target: worst <= 2000, missed 0);
# and, as the TTL of an OMJob finished meanwhile depends on it, how long after the
# new publisher's first message the cleaner's resync with the new watcher was done
# ("resync with a new watcher done"; the watcher's LIST included), p50 and worst.
# Needs the control plane: uses $KUBECONFIG when set, else starts one.
set -euo pipefail
: "${OMJOB_BIN:?OMJOB_BIN must name the omjob-operator binary}"
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tests/lib.sh" # free_ports, now_ms, wait_until
BIN=$(readlink -f "$OMJOB_BIN")
TMP=$(mktemp -d /tmp/ombr.XXXXXX)
N=${BENCH_RESYNC_N:-50}
SHARDS=${BENCH_RESYNC_SHARDS:-5}
DOWN=${BENCH_RESYNC_DOWN:-1} # seconds the watcher stays dead: the supervisor's least restart backoff
CLUSTER=""
SUP=""
WPID=""

cleanup() {
    [ -z "$WPID" ] || kill -KILL "$WPID" 2>/dev/null || true
    if [ -n "$SUP" ] && kill -0 "$SUP" 2>/dev/null; then
        kill -TERM "$SUP"
        wait "$SUP" 2>/dev/null || true
    fi
    if [ -n "${KEEP_LOGS:-}" ]; then echo "logs kept in $TMP" >&2; else rm -rf "$TMP"; fi
    if [ -n "$CLUSTER" ]; then "$REPO/tests/cluster/down" "$CLUSTER" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if [ -z "${KUBECONFIG:-}" ]; then
    eval "$("$REPO/tests/cluster/up" --owner-pid $$)"
    CLUSTER=$OMJOB_CLUSTER_STATE
fi
T_POLL=0.05
read -r HP MP <<<"$(free_ports 2)"
export KUBECONFIG=${OMJOB_TEST_KUBECONFIG:-$KUBECONFIG} OMJOB_RUN_DIR=$TMP/run LOG_FORMAT=json \
    LOG_LEVEL=INFO RECONCILIATION_THREADS=$SHARDS HEALTH_CHECK_PORT=$HP METRICS_PORT=$MP \
    OMJOB_HTTP_BIND_ADDRESS=127.0.0.1
LOG=$TMP/op.log
WLOG=$TMP/watcher.log
"$BIN" --disable-role watcher 2>"$LOG" &
SUP=$!
start_watcher() {
    "$BIN" watcher 2>>"$WLOG" &
    WPID=$!
}
start_watcher
ready() { timeout 10 "$BIN" status 2>/dev/null | grep -q '^omjob-operator ready:'; }
wait_until 60 ready || {
    echo "bench_resync: operator not ready" >&2
    exit 1
}
SUBS=$((SHARDS + 2)) # the reconcilers, the cleaner, the scheduler

# pub_id N: the pubid of the Nth "first message published" line, when there.
pub_line() { grep '"msg":"hints: first message published"' "$WLOG" | sed -n "${1}p"; }
subs_of() { grep '"msg":"hints: first message from publisher"' "$LOG" | grep -F "\"pubid\":\"$1\""; }
all_subs() { [ "$(subs_of "$1" | jq -r .role | sort -u | wc -l)" -ge "$SUBS" ]; }
ms() { date -d "$1" +%s%3N; }

: >"$TMP/lat"
missed=0
wait_until 10 eval '[ -n "$(pub_line 1)" ]'
crs() { grep -c '"msg":"resync with a new watcher done"' "$LOG" || true; }
for i in $(seq 1 "$N"); do
    c0=$(crs)
    kill -KILL "$WPID"
    wait "$WPID" 2>/dev/null || true
    sleep "$DOWN"
    start_watcher
    if ! wait_until 10 eval '[ -n "$(pub_line $((i + 1)))" ]'; then
        echo "bench_resync: restart $i: the new watcher published nothing in 10 s" >&2
        missed=$((missed + SUBS))
        continue
    fi
    line=$(pub_line $((i + 1)))
    id=$(jq -r .pubid <<<"$line")
    t0=$(ms "$(jq -r .time <<<"$line")")
    wait_until 10 all_subs "$id" || true
    got=0
    while read -r role t; do
        echo "$(($(ms "$t") - t0)) $i $role" >>"$TMP/lat"
        got=$((got + 1))
    done < <(subs_of "$id" | jq -r '"\(.role) \(.time)"' | sort -u -k1,1)
    if [ "$got" -lt "$SUBS" ]; then
        echo "bench_resync: restart $i: $((SUBS - got)) subscribers got nothing from $id in 10 s" >&2
        missed=$((missed + SUBS - got))
    fi
    # The next kill once this watcher is synced (as after a real restart), and
    # the cleaner's resync with it done.
    wait_until 20 ready || true
    cr() { grep '"msg":"resync with a new watcher done"' "$LOG" | sed -n "$((c0 + 1))p"; }
    if wait_until 20 eval '[ -n "$(cr)" ]'; then
        echo "$(($(ms "$(cr | jq -r .time)") - t0))" >>"$TMP/cleaner"
    else
        echo "bench_resync: restart $i: the cleaner did not resync with the new watcher in 20 s" >&2
        echo 99999 >>"$TMP/cleaner"
    fi
done

sort -n "$TMP/lat" >"$TMP/lat.sorted"
n=$(wc -l <"$TMP/lat.sorted")
pct() { awk -v p="$1" -v n="$n" 'NR == int((n - 1) * p / 100) + 1 {print $1; exit}' "$TMP/lat.sorted"; }
echo "bench_resync: $N watcher SIGKILLs, $n subscriber resyncs measured; worst: $(tail -1 "$TMP/lat.sorted")" >&2
echo "BENCH resync_first_message_p50 $(pct 50) ms"
echo "BENCH resync_first_message_p99 $(pct 99) ms"
echo "BENCH resync_first_message_max $(tail -1 "$TMP/lat.sorted" | awk '{print $1}') ms"
echo "BENCH resync_subscribers_missed $missed count"
sort -n "$TMP/cleaner" >"$TMP/cleaner.sorted"
echo "BENCH resync_cleaner_done_p50 $(awk -v n="$(wc -l <"$TMP/cleaner.sorted")" 'NR == int((n - 1) / 2) + 1' "$TMP/cleaner.sorted") ms"
echo "BENCH resync_cleaner_done_max $(tail -1 "$TMP/cleaner.sorted") ms"
