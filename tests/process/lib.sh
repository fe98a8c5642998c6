# shellcheck shell=bash
# Helpers for the process tests (tests/process/test_*.sh): the supervisor and its
# roles as real processes, against the fixture's cluster (for the watcher). A
# test sources this file, runs checks with `check DESCRIPTION COMMAND...` (and
# the rest of tests/lib.sh: pass, fail, note, wait_until in seconds), and ends
# with `finish`, which looks for sanitizer reports and ends as t_done does.
# Every process a test started is killed on exit, even when the test fails or
# is interrupted. No `set -e`: the tests read exit statuses of commands that fail.
set -u
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
T_POLL=0.02 # timings are measured to tens of ms

: "${OMJOB_BIN:?OMJOB_BIN must name the omjob-operator binary}"
BIN_REAL=$(readlink -f "$OMJOB_BIN")
# Short: OMJOB_RUN_DIR must hold IPC socket paths (at most 80 bytes).
TMP=$(mktemp -d /tmp/omjp.XXXXXX)
export LOG_FORMAT=text
# The watcher talks to the fixture's API server as the operator's own identity.
[ -n "${OMJOB_TEST_KUBECONFIG:-}" ] && export KUBECONFIG=$OMJOB_TEST_KUBECONFIG
# Process tests create no OMJobs: their reconcilers must not act on the OMJobs of
# scenario tests running beside them, so they watch a namespace nobody uses.
export WATCH_NAMESPACES=${WATCH_NAMESPACES:-omjob-process-tests-none}
unset OMJOB_TEST_ROLE_EXIT OMJOB_TEST_ROLE_HANG OMJOB_TEST_ROLE_ORPHAN RECONCILIATION_THREADS \
    OMJOB_ROLE_GRACE_SECONDS OMJOB_READY_FD OMJOB_PARENT_FD
# Every supervisor a test starts runs httpd: never on the default ports, which
# another test running in parallel would hold.
PORTS=$(free_ports 2) || { rm -rf "$TMP"; exit 1; }
read -r HEALTH_CHECK_PORT METRICS_PORT <<<"$PORTS"
export HEALTH_CHECK_PORT METRICS_PORT OMJOB_HTTP_BIND_ADDRESS=127.0.0.1
# The role processes of a supervisor with the default 5 reconcilers, in the role
# table's order (cmd/main.c): the counts below follow from these.
SINGLE_ROLES="watcher cleaner scheduler httpd" # one process each
RECONCILERS="reconciler-0 reconciler-1 reconciler-2 reconciler-3 reconciler-4"
ALL_ROLES="watcher $RECONCILERS ${SINGLE_ROLES#watcher }"
# shellcheck disable=SC2034 # NROLES, NSINGLE: used by the test scripts
NROLES=$(wc -w <<<"$ALL_ROLES") # 5 reconcilers + the single roles
# shellcheck disable=SC2034
NSINGLE=$(wc -w <<<"$SINGLE_ROLES")

RUNS=0
SUP=        # pid of the supervisor started last
LOG=        # its log
PIDS=()     # every omjob-operator pid seen, for the cleanup

# A fresh run directory (and log) for the next supervisor.
new_run() {
    RUNS=$((RUNS + 1))
    export OMJOB_RUN_DIR=$TMP/run$RUNS
    LOG=$TMP/sup$RUNS.log
}

# start_sup [ARGS...]: starts a supervisor in the background (env as exported).
start_sup() {
    "$OMJOB_BIN" "$@" 2>>"$LOG" &
    SUP=$!
    PIDS+=("$SUP")
}

# kill_role SIGNAL PID: signals PID only if it is a child of $SUP (a pid read
# from status is checked before use).
kill_role() { role_pids_of "$SUP" | grep -qx "$2" && kill "$1" "$2"; }

status() { timeout 10 "$OMJOB_BIN" status 2>&1; }
# omj ARGS...: the binary in the foreground, bounded in case it does not exit.
omj() { timeout 10 "$OMJOB_BIN" "$@"; }

# Live omjob-operator processes (not this shell) whose environment has our run dir.
run_dir_pids() {
    local e p
    for e in /proc/[0-9]*/environ; do
        p=${e#/proc/}
        p=${p%/environ}
        [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$BIN_REAL" ] || continue
        grep -qxzF "OMJOB_RUN_DIR=$OMJOB_RUN_DIR" "$e" 2>/dev/null && alive "$p" && echo "$p"
    done
    return 0
}

zombies_of() { children_of "$1" | awk '$2 == "Z" {print $1}'; }
role_pids_of() { children_of "$1" | awk '$2 != "Z" {print $1}'; }

# Status table fields of a role: PID STATE RESTARTS.
role_row() { status | awk -v r="$1" '$1 == r {print $2, $3, $4}'; }
role_pid() { role_row "$1" | cut -d' ' -f1; }
role_state() { role_row "$1" | cut -d' ' -f2; }
role_restarts() { role_row "$1" | cut -d' ' -f3; }
# ready_count: roles in state READY.
ready_count() { status | awk 'NR > 2 && $3 == "READY"' | wc -l; }
all_ready() { # all_ready N: exactly N roles, all READY, and the header says so
    local out
    out=$(status) || return 1
    [ "$(echo "$out" | awk 'NR > 2 && $3 == "READY"' | wc -l)" -eq "$1" ] &&
        [ "$(echo "$out" | awk 'NR > 2' | wc -l)" -eq "$1" ] &&
        echo "$out" | head -1 | grep -q '^omjob-operator ready:'
}

# wait_exit PID SECONDS: waits for our background child PID to end; its exit
# status in EXIT_RC (or 255 after the timeout).
# shellcheck disable=SC2034 # EXIT_RC is read by the tests
wait_exit() {
    EXIT_RC=255
    wait_until "$2" eval '! alive '"$1" || return 1
    wait "$1" 2>/dev/null
    EXIT_RC=$?
}

# Kills every omjob-operator process of this test: those it started and those
# whose environment names one of its run directories.
kill_all() {
    local p d
    for p in "${PIDS[@]}" $(for d in "$TMP"/run*; do OMJOB_RUN_DIR=$d run_dir_pids; done); do
        [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$BIN_REAL" ] && kill -9 "$p" 2>/dev/null || true
    done
    return 0
}

cleanup() {
    local l
    kill -9 "$WATCHDOG" 2>/dev/null # it ignores SIGTERM
    kill_all
    wait 2>/dev/null
    if [ "$T_FAILS" -gt 0 ] || [ "${KEEP_LOGS:-}" = 1 ]; then
        for l in "$TMP"/*.log; do
            [ -f "$l" ] || continue
            echo "# ---- $l (last 40 lines)"
            tail -n 40 "$l" | sed 's/^/#  /'
        done
    fi
    rm -rf "$TMP"
}
# If this shell is killed outright (SIGKILL from a CTest timeout), no trap runs:
# a watchdog cleans up instead.
(
    trap '' INT TERM
    while kill -0 $$ 2>/dev/null; do sleep 0.5; done
    kill_all
    rm -rf "$TMP"
) >/dev/null 2>&1 &
WATCHDOG=$!
disown "$WATCHDOG" # no job notice when cleanup kills it, and `wait` skips it
trap cleanup EXIT
trap 'fail "interrupted"; exit 1' INT TERM

# finish: a sanitizer report in any log is a failure; then t_done.
finish() {
    local l
    for l in "$TMP"/*.log; do
        [ -f "$l" ] && grep -q 'Sanitizer' "$l" && fail "sanitizer report in $l"
    done
    t_done
}

new_run
