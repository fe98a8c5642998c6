#!/usr/bin/env bash
# A role killed with SIGKILL comes back (new pid, restarts counted, READY again)
# round after round, and no zombie is left; orphans of roles are reaped too; a
# crash-looping role is restarted with exponential backoff, not in a tight loop.
. "$(dirname "$0")/lib.sh"

ROLES=$ALL_ROLES

# back ROLE OLDPID OLDRESTARTS: running under a new pid, READY, restarts grown.
back() {
    local row
    row=$(role_row "$1")
    set -- "$1" "$2" "$3" $row
    [ "$4" != "$2" ] && [ "$4" != - ] && [ "$5" = READY ] && [ "$6" -gt "$3" ]
}

export OMJOB_TEST_ROLE_ORPHAN=cleaner # every cleaner start leaves an orphan behind
start_sup
wait_until 2 all_ready "$NROLES" || fail "all roles READY at start"
for round in 1 2 3; do
    for r in $ROLES; do
        read -r pid _ restarts <<<"$(role_row "$r")"
        t0=$(now_ms)
        kill_role -9 "$pid" || fail "round $round: $r (pid $pid) is a child of the supervisor"
        if wait_until 10 back "$r" "$pid" "$restarts"; then
            pass "round $round: $r is back READY (pid $pid -> $(role_pid "$r"), restarts" \
                "$restarts -> $(role_restarts "$r")) after $(($(now_ms) - t0)) ms"
        else
            fail "round $round: $r is back READY with a new pid"
            status
        fi
        check "round $round: $r's old process is gone" wait_until 1 eval "! alive $pid"
        check "round $round: no zombie child of the supervisor" \
            wait_until 1 eval '[ -z "$(zombies_of "$SUP")" ]'
    done
done
check "after 3 rounds every role shows 3 restarts" \
    test "$(status | awk 'NR > 2 && $4 == 3' | wc -l)" -eq "$NROLES"
check "status shows how the last one ended" grep -q 'signal 9 (SIGKILL)' <<<"$(status)"
check "orphans left by the cleaner were reaped by the supervisor" \
    wait_until 2 eval '[ "$(grep -c "reaped a process that is not a role" "$LOG")" -ge 3 ]'
check "no zombie child of the supervisor at the end" test -z "$(zombies_of "$SUP")"
kill -TERM "$SUP"
wait_exit "$SUP" 20
check "the supervisor exits 0 after all this" test "$EXIT_RC" -eq 0
unset OMJOB_TEST_ROLE_ORPHAN

# A role that keeps failing (exit 1) is restarted 1 s, then 2 s, 4 s... after
# its previous start: over 4.5 s that is at most 3 restarts, not hundreds.
new_run
export OMJOB_TEST_ROLE_EXIT=httpd:1
start_sup
sleep 4.5
n=$(role_restarts httpd)
note "crash-looping httpd: $n restarts in 4.5 s"
check "a crash-looping role is restarted with backoff (2..3 restarts in 4.5 s)" \
    test "${n:-0}" -ge 2 -a "${n:-99}" -le 3
check "the crash-looping role is not READY" test "$(role_state httpd)" != READY
check "the other roles are READY" test "$(ready_count)" -eq $((NROLES - 1))
check "the operator is not ready" grep -q '^omjob-operator NOT READY' <<<"$(status)"
check "the log says how httpd exited" grep -q 'role exited role=httpd .*status="exit 1"' "$LOG"
kill -TERM "$SUP"
wait_exit "$SUP" 20
check "the supervisor exits 0" test "$EXIT_RC" -eq 0
unset OMJOB_TEST_ROLE_EXIT

finish
