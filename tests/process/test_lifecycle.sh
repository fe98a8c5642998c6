#!/usr/bin/env bash
# The supervisor starts every role (watcher, 5 reconcilers, cleaner, httpd), all
# report READY within 2 s, `status` shows them, and SIGTERM stops them in order
# (writers first) with exit status 0. Measures the start-to-ready time. Every
# process runs SCHED_BATCH by default, none with OMJOB_SCHED_BATCH=false.
. "$(dirname "$0")/lib.sh"

t0=$(now_ms)
start_sup
if wait_until 2 all_ready "$NROLES"; then
    t1=$(now_ms)
    pass "all $NROLES roles READY within 2 s"
    note "start to all READY: $((t1 - t0)) ms measured by the test (polling status)," \
        "$(status | head -1 | sed -n 's/.*ready \([0-9]*\) ms after start.*/\1/p') ms by the supervisor"
else
    fail "all $NROLES roles READY within 2 s"
    status
fi

out=$(status)
echo "$out" | sed 's/^/#    /'
check "status has a header and columns" grep -q '^ROLE  *PID  *STATE  *RESTARTS  *UPTIME' <<<"$out"
check "status lists reconciler-0..4" \
    test "$(echo "$out" | awk '$1 ~ /^reconciler-[0-4]$/' | wc -l)" -eq 5
for r in watcher cleaner httpd; do
    check "status lists $r" grep -q "^$r " <<<"$out"
done
check "status names the supervisor's pid" grep -q "supervisor pid $SUP," <<<"$out"

kids=$(role_pids_of "$SUP" | sort)
check "the supervisor has exactly $NROLES children" test "$(echo "$kids" | wc -l)" -eq "$NROLES"
# Roles are forked without exec (roles/supervisor/proc.h): ps shows them by comm, and
# each role's log says what it runs.
names=$(for p in $kids; do cat "/proc/$p/comm"; done | sort | tr '\n' ' ')
check "ps names the roles ($names)" \
    test "$names" = "$(tr ' ' '\n' <<<"$ALL_ROLES" | sort | tr '\n' ' ')"
r2=$(for p in $kids; do [ "$(cat "/proc/$p/comm")" = reconciler-2 ] && echo "$p"; done)
check "reconciler-2 runs shard 2/5" grep -q "reconciler-2\[$r2\].*shard=2/5" "$LOG"
check "the roles' pids are those in status" \
    test "$kids" = "$(status | awk 'NR > 2 {print $2}' | sort)"
# shellcheck disable=SC2086 # one pid per word
pol=$(sched_policies "$SUP" $kids | sort | uniq -c | sed 's/^ *//')
check "by default the supervisor and its $NROLES roles run SCHED_BATCH ($pol)" \
    test "$pol" = "$((NROLES + 1)) 3"

t0=$(now_ms)
kill -TERM "$SUP"
if wait_exit "$SUP" 20; then
    note "SIGTERM to exit: $(($(now_ms) - t0)) ms"
    check "SIGTERM: the supervisor exits 0" test "$EXIT_RC" -eq 0
else
    fail "SIGTERM: the supervisor exits within the 20 s grace period"
fi
check "SIGTERM: no role process is left" test -z "$(run_dir_pids)"
check "SIGTERM: every role exited 0" test "$(grep -c 'role stopped .*status="exit 0"' "$LOG")" -eq "$NROLES"

# Writers (reconcilers, cleaner) stop before the watcher and httpd are asked to.
last_writer=$(grep -n 'role stopped role=\(reconciler\|cleaner\)' "$LOG" | tail -1 | cut -d: -f1)
first_reader=$(grep -n 'stopping role role=\(watcher\|httpd\)' "$LOG" | head -1 | cut -d: -f1)
check "SIGTERM: writers are stopped before watcher and httpd" \
    test "${last_writer:-999999}" -lt "${first_reader:-0}"
out=$(status)
rc=$?
check "after the stop, status exits 1" test "$rc" -eq 1
check "after the stop, status says the operator is not running" grep -q 'not running' <<<"$out"
check "the status file is removed at exit" test ! -e "$OMJOB_RUN_DIR/status"
check "the run directory is private (0700)" test "$(stat -c %a "$OMJOB_RUN_DIR")" = 700

# SIGINT (^C in a terminal) stops it the same way. This run with
# OMJOB_SCHED_BATCH=false: every process keeps the default policy.
new_run
export OMJOB_SCHED_BATCH=false
start_sup
unset OMJOB_SCHED_BATCH
check "SIGINT: all $NROLES roles READY first" wait_until 2 all_ready "$NROLES"
# shellcheck disable=SC2046 # one pid per word
pol=$(sched_policies "$SUP" $(role_pids_of "$SUP") | sort | uniq -c | sed 's/^ *//')
check "OMJOB_SCHED_BATCH=false: the supervisor and its $NROLES roles run SCHED_OTHER ($pol)" \
    test "$pol" = "$((NROLES + 1)) 0"
kill -INT "$SUP"
wait_exit "$SUP" 20
check "SIGINT: the supervisor exits 0" test "$EXIT_RC" -eq 0
check "SIGINT: no role process is left" test -z "$(run_dir_pids)"

finish
