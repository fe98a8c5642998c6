#!/usr/bin/env bash
# docs/SCENARIOS.md rows 4, 5, 6 and 13 against one operator: the running main pod
# deleted by hand (graceful), force-deleted (grace 0), evicted through the
# Eviction API; the running exit pod deleted, and evicted. Each OMJob in a
# namespace of its own, all at once. While they run: the OMJob's finalizer and the
# pods' tracking finalizer are there, and a disrupted main pod stays visible while
# the exit handler runs. At the end every common check of docs/SCENARIOS.md
# (omjob_lib.sh check_runs), and for row 13 the second exit pod <omjob>-exit-1,
# exitHandlerAttempts 2, each exit pod created exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)

start_pod_watch
start_operator

has_fin() { # KIND NS NAME FINALIZER
	jp "$1" "$2" "$3" '{.metadata.finalizers}' | grep -qF "\"$4\""
}
F_OMJ=omjob.pipelines.openmetadata.org/finalizer
F_POD=omjob.pipelines.openmetadata.org/tracking

# Rows 4-6: main pods without an exit code run until deleted; exit handlers take
# 6 s, long enough to see the disrupted main pod still there meanwhile.
n4=$(new_ns r4)
omjob "$n4" del '{}' '{"exit":0,"run":"6s"}'
expect "$n4" del '{"row":4,"desc":"main pod deleted (graceful)","phase":"Failed","reason":"Deleted","codes":[null,137],"attempts":1,"xcode":0,"msg":"delet","stays":false}'
n5=$(new_ns r5)
omjob "$n5" force '{}' '{"exit":0,"run":"6s"}'
expect "$n5" force '{"row":5,"desc":"main pod force-deleted","phase":"Failed","reason":"Deleted","codes":[null,137],"attempts":1,"xcode":0,"msg":"delet","stays":false}'
n6=$(new_ns r6)
omjob "$n6" evict '{}' '{"exit":0,"run":"6s"}'
expect "$n6" evict '{"row":6,"desc":"main pod evicted","phase":"Failed","reason":"Evicted","codes":[null,137],"attempts":1,"xcode":0,"msg":"evict","stays":false}'
# Row 13: the exit pods run 15 s (time to disrupt the first; the second completes).
n13=$(new_ns r13)
omjob "$n13" xdel '{"exit":0}' '{"exit":0,"run":"15s"}'
expect "$n13" xdel '{"row":13,"desc":"exit pod deleted while it runs","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":2,"xcode":0}'
omjob "$n13" xevict '{"exit":0}' '{"exit":0,"run":"15s"}'
expect "$n13" xevict '{"row":13,"desc":"exit pod evicted while it runs","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":2,"xcode":0}'

# running_main NS NAME ROW: waits for the main pod Running and the OMJob Running,
# checks both finalizers.
running_main() {
	if ! wait_until 20 pod_phase_is "$1" "$2-main" Running; then
		fail "row $3: main pod not Running in 20 s: $($K get pods -n "$1" 2>&1)"
		return 1
	fi
	wait_until 5 omj_phase_is "$1" "$2" Running &&
		pass "row $3: OMJob Running while its main pod runs" ||
		fail "row $3: OMJob phase '$(jp omj "$1" "$2" '{.status.phase}')' while its main pod runs"
	has_fin omj "$1" "$2" "$F_OMJ" && has_fin pod "$1" "$2-main" "$F_POD" &&
		pass "row $3: finalizers while running: $F_OMJ on the OMJob, $F_POD on the main pod" ||
		fail "row $3: finalizers while running: OMJob $(jp omj "$1" "$2" '{.metadata.finalizers}'), pod $(jp pod "$1" "$2-main" '{.metadata.finalizers}')"
}
if running_main "$n4" del 4; then $K delete pod -n "$n4" del-main --wait=false >/dev/null; fi
if running_main "$n5" force 5; then
	$K delete pod -n "$n5" force-main --grace-period=0 --force --wait=false >/dev/null 2>&1
fi
if running_main "$n6" evict 6; then evict "$n6" evict-main || fail "row 6: eviction refused"; fi

# running_exit NS NAME ROW: waits for the first exit pod Running (the OMJob then
# ExitHandlerRunning), checks its tracking finalizer.
running_exit() {
	if ! wait_until 20 pod_phase_is "$1" "$2-exit" Running; then
		fail "row $3: exit pod $2-exit not Running in 20 s: $($K get pods -n "$1" 2>&1)"
		return 1
	fi
	[ "$(jp omj "$1" "$2" '{.status.phase}')" = ExitHandlerRunning ] &&
		pass "row $3: OMJob $2 ExitHandlerRunning while its exit pod runs" ||
		fail "row $3: OMJob $2 phase '$(jp omj "$1" "$2" '{.status.phase}')' while its exit pod runs"
	has_fin pod "$1" "$2-exit" "$F_POD" && pass "row $3: $F_POD on the running exit pod" ||
		fail "row $3: exit pod finalizers $(jp pod "$1" "$2-exit" '{.metadata.finalizers}')"
}
if running_exit "$n13" xdel 13; then $K delete pod -n "$n13" xdel-exit --wait=false >/dev/null; fi
if running_exit "$n13" xevict 13; then evict "$n13" xevict-exit || fail "row 13: eviction of the exit pod refused"; fi

# While the exit handler runs after a main pod disruption, the main pod is still
# there (tracking finalizer), deleted, for the exit handler to read.
for c in "4 $n4 del" "5 $n5 force" "6 $n6 evict"; do
	set -- $c
	if wait_until 20 pod_phase_is "$2" "$3-exit" Running; then
		dt=$(jp pod "$2" "$3-main" '{.metadata.deletionTimestamp}') || dt=
		[ -n "$dt" ] && pass "row $1: the disrupted main pod stays visible (terminating) while the exit handler runs" ||
			fail "row $1: main pod gone or not terminating while the exit handler runs: $($K get pods -n "$2" 2>&1)"
	else
		fail "row $1: exit pod not Running in 20 s: $($K get pods -n "$2" 2>&1)"
	fi
done

check_finished 60 "$t0"
check_runs
# Row 13: the disrupted exit pod was really killed (not finished on its own) and
# the second attempt ran to its end.
for x in xdel xevict; do
	[ "$(jp pod "$n13" "$x-exit-1" '{.status.containerStatuses[0].state.terminated.exitCode}')" = 0 ] &&
		pass "row 13 ($x): $x-exit-1 ran to completion (exit 0)" ||
		fail "row 13 ($x): $x-exit-1: $($K get pod -n "$n13" "$x-exit-1" -o jsonpath='{.status}' 2>&1)"
done
no_restarts
note "elapsed $(($(now_ms) - t0)) ms"
t_done
