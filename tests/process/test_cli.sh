#!/usr/bin/env bash
# The command line: --help and --version, clear errors with exit 64 for unknown
# arguments, roles and bad --shard values, `status` without an operator (exit 1),
# and the debugging workflow: --disable-role plus that role run by hand.
. "$(dirname "$0")/lib.sh"

# expect CODE PATTERN ARGS...: omjob-operator ARGS exits CODE and prints PATTERN.
expect() {
    local code=$1 pat=$2 out rc
    shift 2
    out=$(omj "$@" 2>&1)
    rc=$?
    if [ "$rc" -eq "$code" ] && grep -q -- "$pat" <<<"$out"; then
        pass "'$*' exits $code: $(head -1 <<<"$out")"
    else
        fail "'$*' exits $code with /$pat/ (got $rc: $out)"
    fi
}

expect 0 '^usage: omjob-operator' --help
expect 0 '^omjob-operator [0-9]' --version
expect 64 "unknown argument '--bogus'" --bogus
expect 64 "unknown argument '-x'" --disable-role watcher -x
expect 64 "missing role name after '--disable-role'" --disable-role
expect 64 "unknown role or command 'frobnicate'" frobnicate
expect 64 "unknown role 'reconciler-7' (roles: watcher, reconciler (every shard), reconciler-0" \
    --disable-role reconciler-7
expect 64 "applies to the supervisor only" --disable-role watcher status
expect 64 "--shard I/N is required" reconciler
for bad in 5/5 -1/5 1/0 abc 2/5x /5 2/ 1/65; do
    expect 64 "bad --shard '$bad'" reconciler --shard "$bad"
done
expect 64 "unexpected argument '--frob'" reconciler --shard 1/5 --frob
expect 64 "unexpected argument 'extra'" watcher extra
expect 64 "unexpected argument 'now'" status now
expect 1 "not running" status
check "nothing was left running" test -z "$(run_dir_pids)"

# Debugging workflow: the supervisor leaves reconciler-1 and the watcher out.
start_sup --disable-role reconciler-1 --disable-role=watcher
check "--disable-role: the $((NROLES - 2)) other roles are READY" \
    wait_until 2 eval '[ "$(ready_count)" -eq $((NROLES - 2)) ]'
out=$(status)
check "--disable-role: the operator counts as ready" grep -q '^omjob-operator ready' <<<"$out"
check "--disable-role: reconciler-1 is STOPPED with no pid" \
    test "$(role_row reconciler-1)" = "- STOPPED 0"
check "--disable-role: status tells how to run it by hand" \
    grep -q 'disabled: run omjob-operator reconciler --shard 1/5' <<<"$out"
check "--disable-role: the watcher is not running" test "$(role_row watcher)" = "- STOPPED 0"
check "--disable-role: the supervisor has $((NROLES - 2)) children" \
    test "$(role_pids_of "$SUP" | wc -l)" -eq $((NROLES - 2))

FG_LOG=$TMP/fg.log
"$OMJOB_BIN" reconciler --shard 1/5 2>"$FG_LOG" &
FG=$!
PIDS+=("$FG")
check "by hand: reconciler --shard 1/5 starts" \
    wait_until 2 grep -q 'reconciler-1\[.*reconciler started.*shard=1/5' "$FG_LOG"
check "by hand: it is not a child of the supervisor" \
    test "$(awk '{print $4}' "/proc/$FG/stat")" != "$SUP"
t0=$(now_ms)
kill -TERM "$FG"
wait_exit "$FG" 2
check "by hand: SIGTERM stops it with exit 0 ($(($(now_ms) - t0)) ms)" test "$EXIT_RC" -eq 0
check "by hand: it logs the signal" grep -q 'stopping signal=SIGTERM' "$FG_LOG"

"$OMJOB_BIN" watcher 2>>"$FG_LOG" &
FG=$!
PIDS+=("$FG")
check "by hand: the watcher starts" wait_until 2 grep -q 'watcher\[.*watcher started' "$FG_LOG"
kill -INT "$FG"
wait_exit "$FG" 2
check "by hand: SIGINT (^C) stops the watcher with exit 0" test "$EXIT_RC" -eq 0

kill -TERM "$SUP"
wait_exit "$SUP" 20
check "--disable-role: the supervisor exits 0" test "$EXIT_RC" -eq 0

# 'reconciler' disables every shard.
new_run
start_sup --disable-role reconciler
check "--disable-role reconciler: the $NSINGLE other roles are READY" \
    wait_until 2 eval '[ "$(ready_count)" -eq $NSINGLE ]'
check "--disable-role reconciler: every shard is STOPPED" \
    test "$(status | awk '$1 ~ /^reconciler-/ && $3 == "STOPPED"' | wc -l)" -eq 5
kill -TERM "$SUP"
wait_exit "$SUP" 20
check "--disable-role reconciler: the supervisor exits 0" test "$EXIT_RC" -eq 0

finish
