#!/usr/bin/env bash
# Leader election takeover time: two replicas of the operator (two supervisors,
# two run directories, two identities, two health ports) with LEADER_ELECTION=true
# and client-go's default timings (lease 15 s, renew deadline 10 s, retry 2 s;
# BENCH_LEADER_TIMINGS="D R T" changes them), idle. Each round stops the leader,
# once with SIGTERM (it stops its writers, releases the Lease, the follower takes
# it at its next try: at most one retry period later) and once with SIGKILL (the
# Lease expires: lease duration after the follower last saw it change), and
# starts the stopped replica again as the follower. Takeover time: from the
# signal to the follower's /info saying it leads (its supervisor has started the
# roles that write), polled every 20 ms. BENCH_LEADER_ROUNDS rounds (3); prints
# the median and the maximum of each as "BENCH <name> <value> <unit>" lines,
# details as "# ..." on stderr. Needs the control plane: reuses the one of the
# environment with OMJOB_TEST_CLUSTER=external, else starts one and stops it.
set -euo pipefail
: "${OMJOB_BIN:?OMJOB_BIN must name the omjob-operator binary}"
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tests/lib.sh" # free_ports, wait_until, now_ms
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh" # bench_cluster
BIN=$(readlink -f "$OMJOB_BIN")
TMP=$(mktemp -d /tmp/omb.XXXXXX) # short: the run dirs hold IPC socket paths
CLUSTER=""
ROUNDS=${BENCH_LEADER_ROUNDS:-3}
read -r D T R <<<"${BENCH_LEADER_TIMINGS:-15 10 2}"
LNS=omjob-system # where the operator's RBAC grants leases (deploy/rbac/rbac.yaml)
LEASE=omjob-operator # the one name the shipped RBAC grants (deploy/rbac/rbac.yaml)
declare -A PID HP
note() { echo "# $*" >&2; }

cleanup() {
	local x
	for x in a b; do
		[ -n "${PID[$x]:-}" ] && kill -TERM "${PID[$x]}" 2>/dev/null && wait "${PID[$x]}" 2>/dev/null || true
	done
	if [ -n "$CLUSTER" ]; then
		"$REPO/tests/cluster/down" "$CLUSTER" >/dev/null 2>&1 || true
	else
		kubectl delete lease -n "$LNS" "$LEASE" --ignore-not-found >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

bench_cluster
# A Lease left by an earlier run would hold the first replica back for its duration.
kubectl delete lease -n "$LNS" "$LEASE" --ignore-not-found >/dev/null 2>&1 || true
export KUBECONFIG

leads() { [ "$(curl -s -m 1 "http://127.0.0.1:${HP[$1]}/info" | jq -r '.leaderElection.leader' 2>/dev/null)" = true ]; }
ready() { [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:${HP[$1]}/readyz")" = 200 ]; }
# start X: replica X on a fresh run directory; returns once /readyz is 200.
start() {
	HP[$1]=$(free_port)
	env KUBECONFIG="$OMJOB_TEST_KUBECONFIG" OMJOB_RUN_DIR="$TMP/r$1.$(now_ms)" HEALTH_CHECK_PORT="${HP[$1]}" \
		METRICS_PORT="${HP[$1]}" OMJOB_HTTP_BIND_ADDRESS=127.0.0.1 LOG_LEVEL=WARN RECONCILIATION_THREADS=2 \
		LEADER_ELECTION=true OPERATOR_NAMESPACE=$LNS LEADER_ELECTION_LEASE_NAME="$LEASE" POD_NAME="bench-$1-$$" \
		LEADER_ELECTION_LEASE_DURATION_SECONDS="$D" LEADER_ELECTION_RENEW_DEADLINE_SECONDS="$T" \
		LEADER_ELECTION_RETRY_PERIOD_SECONDS="$R" "$BIN" 2>>"$TMP/$1.log" &
	PID[$1]=$!
	T_POLL=0.05 wait_until 30 ready "$1" || {
		note "replica $1 not ready: $(tail -5 "$TMP/$1.log")"
		exit 1
	}
}
# takeover SIG FROM TO: signals the leader FROM; TK_MS: the ms until TO leads.
TK_MS=
takeover() {
	local t
	t=$(now_ms)
	kill "-$1" "${PID[$2]}"
	T_POLL=0.02 wait_until $((D + 3 * R + 5)) leads "$3" || {
		note "replica $3 did not take over after SIG$1"
		exit 1
	}
	TK_MS=$(($(now_ms) - t))
	wait "${PID[$2]}" 2>/dev/null || true
	PID[$2]=
}
stats() { # name values...: median and max
	local name=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v n="$name" '{ v[NR] = $1 } END {
		printf "BENCH leader_takeover_%s_p50_ms %d ms\nBENCH leader_takeover_%s_max_ms %d ms\n",
			n, v[int((NR + 1) / 2)], n, v[NR] }'
}

start a
T_POLL=0.05 wait_until 30 leads a || {
	note "replica a never led: $(tail -5 "$TMP/a.log")"
	exit 1
}
start b
L=a F=b
TERM_MS=() KILL_MS=()
for i in $(seq 1 "$ROUNDS"); do
	takeover TERM "$L" "$F"
	TERM_MS+=("$TK_MS")
	note "round $i: SIGTERM to $L, $F leads after $TK_MS ms"
	start "$L"
	read -r L F <<<"$F $L"
	sleep "$R" # the follower has seen the leader's record change at least once
	takeover KILL "$L" "$F"
	KILL_MS+=("$TK_MS")
	note "round $i: SIGKILL to $L, $F leads after $TK_MS ms"
	start "$L"
	read -r L F <<<"$F $L"
done
note "timings: lease $D s, renew deadline $T s, retry $R s; bounds: SIGTERM 1 s (writers' stop) + $R s, SIGKILL $D + $R s"
stats sigterm "${TERM_MS[@]}"
stats sigkill "${KILL_MS[@]}"
echo "BENCH leader_lease_duration_s $D s"
