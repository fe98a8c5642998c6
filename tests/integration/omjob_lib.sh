# shellcheck shell=bash
# Helpers for the scenario tests (the rows of docs/SCENARIOS.md; test_lifecycle.sh,
# test_disruption.sh, test_invalid.sh, test_scale.sh and others): one whole
# operator per test file, watches that record every pod event and every OMJob
# status change, OMJob builders, and one checker (check_runs) that asserts
# everything docs/SCENARIOS.md lists as checked for every row, for each OMJob.
# Sourced after lib.sh.
# The contract checked is docs/LIFECYCLE.md.
#
# The test cluster's controller-manager keeps at most 50 terminated pods
# (--terminated-pod-gc-threshold=50, cluster-wide): PodGC may remove finished pods
# of ours, more so beside test_scale.sh. So what pods looked like (env, phase,
# exit code, labels, how many were created) is read from the pod watch, and a pod
# missing at the end is accepted only when the controller-manager's log says PodGC
# deleted it.
: "${OMJOB_BIN:?}" "${OMJOB_TEST_KUBECONFIG:?}"

OP_TMP=$(mktemp -d /tmp/omit.XXXXXX) # short: the run dir holds IPC socket paths
OP_PID=
OP_RUN=$OP_TMP/run
OP_LOG=$OP_TMP/operator.log
OP_HP=
OP_MP=
WATCH_PID=
WATCH_OUT=$OP_TMP/pods.watch
OWATCH_PID=
OWATCH_OUT=$OP_TMP/omjobs.watch
CASES=$OP_TMP/cases.jsonl # one expectation per line (check_runs)
: >"$CASES"

op_status() { OMJOB_RUN_DIR=$OP_RUN timeout 10 "$OMJOB_BIN" status 2>&1; }
op_ready() {
	op_status | grep -q '^omjob-operator ready:' &&
		[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$OP_HP/readyz")" = 200 ]
}
op_metrics() { curl -s -m 5 "http://127.0.0.1:$OP_MP/metrics"; }

# start_operator [ENV=VALUE...]: the whole operator (supervisor and every role) as
# the operator's restricted identity, JSON logs in $OP_LOG; returns once ready.
# OMJOB_TEST_LOG_LEVEL sets the log level (default INFO; DEBUG shows each decision).
start_operator() {
	local ports
	ports=$(free_ports 2) || {
		fail "no free ports for the operator"
		return 1
	}
	read -r OP_HP OP_MP <<<"$ports"
	env KUBECONFIG="$OMJOB_TEST_KUBECONFIG" OMJOB_RUN_DIR="$OP_RUN" HEALTH_CHECK_PORT="$OP_HP" \
		METRICS_PORT="$OP_MP" OMJOB_HTTP_BIND_ADDRESS=127.0.0.1 LOG_FORMAT=json LOG_LEVEL="${OMJOB_TEST_LOG_LEVEL:-INFO}" \
		RECONCILIATION_THREADS=5 "$@" "$OMJOB_BIN" 2>>"$OP_LOG" &
	OP_PID=$!
	# If this shell dies without running its traps (SIGKILL from a CTest
	# timeout), the operator and the watch must not outlive it.
	(
		trap '' INT TERM
		while kill -0 $$ 2>/dev/null; do sleep 1; done
		kill -TERM "$OP_PID" ${WATCH_PID:+"$WATCH_PID"} ${OWATCH_PID:+"$OWATCH_PID"} 2>/dev/null
	) >/dev/null 2>&1 &
	disown $!
	if wait_until 30 op_ready; then
		pass "operator ready ($(op_status | grep -c '^reconciler-') reconcilers)"
	else
		fail "operator not ready within 30 s: $(op_status)"
		return 1
	fi
}

# stop_operator: SIGTERM to the supervisor; SIGKILL after 30 s. Status 0 when
# it exited 0 within the 30 s, else 1 with the reason in OP_STOP.
OP_STOP=
stop_operator() {
	local rc=0
	OP_STOP=
	[ -n "$OP_PID" ] || return 0
	kill -TERM "$OP_PID" 2>/dev/null || true
	if ! timeout 30 tail --pid="$OP_PID" -f /dev/null 2>/dev/null; then
		OP_STOP="still running 30 s after SIGTERM: killed"
		kill -KILL "$OP_PID" 2>/dev/null || true
	fi
	wait "$OP_PID" 2>/dev/null || rc=$?
	[ -n "$OP_STOP" ] || [ "$rc" -eq 0 ] || OP_STOP="exit status $rc"
	OP_PID=
	[ -z "$OP_STOP" ]
}

# no_restarts: every role still has its first process (status RESTARTS and
# omjob_component_restarts_total), and no sanitizer report in the log.
no_restarts() {
	local st m bad
	st=$(op_status)
	bad=$(echo "$st" | awk 'NR > 2 && ($3 != "READY" || $4 != 0)')
	m=$(op_metrics | awk '/^omjob_component_restarts_total\{/ && $2 != 0')
	if [ -z "$bad" ] && [ -z "$m" ] && echo "$st" | grep -q '^omjob-operator ready:'; then
		pass "no role crashed or restarted (status, omjob_component_restarts_total all 0)"
	else
		fail "roles restarted or not ready: ${bad:-} ${m:-} $(echo "$st" | head -c 2000)"
	fi
	if grep -q 'Sanitizer' "$OP_LOG"; then
		fail "sanitizer report in the operator's log: $(grep -m3 'Sanitizer' "$OP_LOG")"
	fi
}

# start_pod_watch: records every pod event of the cluster from now on (the raw
# JSON stream of a watch: pod_records makes records of it), so that a pod created
# and removed between two polls is still counted and a pod that PodGC removed
# (the cluster keeps at most 50 terminated pods) can still be checked. Returns
# once the watch is live (a sentinel pod in a namespace of its own shows up).
# keep_watching ERRFILE KUBECTL-ARGS...: `kubectl ARGS` started again whenever it
# ends, for as long as this test's shell lives. The API server closes a watch
# whose reader falls behind ("Forcing pods watcher close due to unresponsiveness",
# seen in CI at a load spike: it_test_leader then saw none of the exit pods created
# after it); a new watch lists what exists first (ADDED events), so only an object
# created and removed within the gap of ~0.2 s is missed. TERM ends the loop and
# the watch.
keep_watching() {
	local err=$1 top=$$ c=
	shift
	trap 'if [ -n "$c" ]; then kill "$c" 2>/dev/null; fi; exit 0' TERM
	while kill -0 "$top" 2>/dev/null; do
		$K "$@" 2>>"$err" &
		c=$!
		wait "$c" || true
		echo "watch ended at $(date +%T.%N): started again" >>"$err"
		sleep 0.2
	done
}

start_pod_watch() {
	local ns
	: >"$OP_TMP/watch.err"
	: >"$OP_TMP/owatch.err"
	keep_watching "$OP_TMP/watch.err" get pods -A -w --output-watch-events -o json >"$WATCH_OUT" &
	WATCH_PID=$!
	ns=$(new_ns wsent)
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: sentinel}\nspec: {restartPolicy: Never, containers: [{name: c, image: x}]}\n' |
		$K apply -n "$ns" -f - >/dev/null
	wait_until 20 grep -qF "\"namespace\":\"$ns\"" "$WATCH_OUT" || fail "pod watch not live: $(cat "$OP_TMP/watch.err")"
	# Every OMJob status change too: phases only move forward, the main outcome
	# never changes once recorded.
	keep_watching "$OP_TMP/owatch.err" get omj -A -w --output-watch-events -o jsonpath='{.type}|{.object.metadata.namespace}|{.object.metadata.name}|{.object.metadata.uid}|{.object.status.phase}|{.object.status.mainPodReason}|{.object.status.mainPodExitCode}{"\n"}' \
		>"$OWATCH_OUT" &
	OWATCH_PID=$!
	printf 'apiVersion: pipelines.openmetadata.org/v1\nkind: OMJob\nmetadata: {name: sentinel}\nspec: {mainPodSpec: {image: x}}\n' |
		$K apply -n "$ns" -f - >/dev/null
	wait_until 20 grep -q "|$ns|sentinel|" "$OWATCH_OUT" || fail "OMJob watch not live: $(cat "$OP_TMP/owatch.err")"
	# The operator is not running yet: the sentinel must not run either.
	$K delete omj -n "$ns" sentinel --wait=false >/dev/null
}

cleanup() {
	stop_operator || true
	# A watch that already ended (its connection closed) is no failure: under
	# `set -e` a failed kill as the last command of a list ended the EXIT trap with
	# status 1 after every check had passed (it_test_leader under ASan, once).
	if [ -n "$WATCH_PID" ]; then kill "$WATCH_PID" 2>/dev/null || true; fi
	if [ -n "$OWATCH_PID" ]; then kill "$OWATCH_PID" 2>/dev/null || true; fi
	if [ "$T_FAILS" -gt 0 ] || [ -n "${KEEP_LOGS:-}" ]; then
		if [ -f "$OP_LOG" ]; then
			echo "--- operator log (last 60 lines of $(wc -l <"$OP_LOG"))" >&2
			tail -60 "$OP_LOG" >&2
		fi
	fi
	if [ -n "${KEEP_LOGS:-}" ]; then
		echo "logs kept in $OP_TMP" >&2
	else
		# A role of a stopped operator may still be exiting (slower under ASan) and
		# touch its run directory while it goes: a failed rm under `set -e` ended
		# the EXIT trap with status 1 after every check had passed.
		rm -rf "$OP_TMP" 2>/dev/null || { sleep 1 && rm -rf "$OP_TMP"; } || true
	fi
	t_cleanup
}
trap cleanup EXIT

# omjob NS NAME MAIN-ANNOTATIONS EXIT-ANNOTATIONS [EXTRA-SPEC-JSON]: creates an
# OMJob (busybox pods); annotations are JSON objects of sim.omjob.test/ values
# (short keys: exit, run, reason, start, pending, pmsg), EXIT-ANNOTATIONS "none"
# for no exitHandlerSpec. EXTRA-SPEC-JSON is merged into .spec (jq `*`).
sim() { # JSON of short keys -> annotations object
	jq -c 'with_entries(.key |= ({exit: "exit-code", run: "run-for", reason: "reason",
		start: "start-after", pending: "pending-reason", pmsg: "pending-message"}[.] // .)
		| .key |= "sim.omjob.test/" + . | .value |= tostring)' <<<"$1"
}
omjob_json() {
	local main exit extra=${5:-'{}'}
	main=$(sim "$3")
	if [ "$4" = none ]; then exit=null; else exit=$(sim "$4"); fi
	jq -cn --arg name "$2" --argjson ma "$main" --argjson xa "$exit" --argjson extra "$extra" '
		{apiVersion: "pipelines.openmetadata.org/v1", kind: "OMJob", metadata: {name: $name},
		 spec: (({mainPodSpec: {image: "busybox", command: ["sh", "-c", "true"], annotations: $ma}}
			+ (if $xa == null then {} else
				{exitHandlerSpec: {image: "busybox", command: ["sh", "-c", "true"], annotations: $xa}} end)
			+ {ttlSecondsAfterFinished: 3600}) * $extra)}'
}
omjob() {
	local out
	if ! out=$(omjob_json "$@" | $K create -n "$1" -f - 2>&1); then
		fail "OMJob $1/$2 not created: $out"
		return 1
	fi
}

# expect NS NAME JSON: records what check_runs asserts for the OMJob. Keys:
#  phase     Succeeded | Failed
#  reason    status.mainPodReason
#  codes     allowed status.mainPodExitCode values; null: absent (unknown)
#  attempts  exit pods created (0: no exitHandlerSpec)
#  xcode     the exit handler's final exit code (attempts > 0)
#  xfinished ExitHandlerFinished reason (default Succeeded/Failed from xcode, or NotConfigured)
#  failed    Failed condition reason (default: reason, or ExitHandlerFailed)
#  msg       regex (case-insensitive) status.message must match
#  stays     the main pod must still exist at the end, unless PodGC removed it
#            (default true)
#  nomain    no main pod was ever created (default false)
#  long      the name is too long for pod names: shortened with a hash
#  events    more Event reasons that must be there (Warning unless in normal)
#  row       the scenario row, for messages
expect() {
	jq -c --arg ns "$1" --arg name "$2" '. + {ns: $ns, name: $name}' <<<"$3" >>"$CASES"
}

# rows_1_to_6 NS RUN ENDS DISRUPTED: six OMJobs in NS and what check_runs expects
# of them: ok, exit3, oom (rows 1-3), whose main pods end RUN (a Go duration)
# after they start, described as ending ENDS; del, force, evict (rows 4-6),
# whose main pods run until the test deletes, force-deletes or evicts them,
# described as disrupted DISRUPTED. Exit handlers exit 0.
rows_1_to_6() {
	local ns=$1 run=$2 ends=$3 disrupted=$4 r
	r='"attempts":1,"xcode":0'
	omjob "$ns" ok "{\"exit\":0,\"run\":\"$run\"}" '{"exit":0,"run":"1s"}'
	expect "$ns" ok "{\"row\":1,\"desc\":\"main exits 0 $ends\",\"phase\":\"Succeeded\",\"reason\":\"Completed\",\"codes\":[0],$r}"
	omjob "$ns" exit3 "{\"exit\":3,\"run\":\"$run\"}" '{"exit":0}'
	expect "$ns" exit3 "{\"row\":2,\"desc\":\"main exits 3 $ends\",\"phase\":\"Failed\",\"reason\":\"Error\",\"codes\":[3],$r,\"msg\":\"Error|exit code 3\"}"
	omjob "$ns" oom "{\"exit\":137,\"reason\":\"OOMKilled\",\"run\":\"$run\"}" '{"exit":0}'
	expect "$ns" oom "{\"row\":3,\"desc\":\"main OOM-killed $ends\",\"phase\":\"Failed\",\"reason\":\"OOMKilled\",\"codes\":[137],$r,\"msg\":\"OOMKilled\"}"
	r='"phase":"Failed","codes":[null,137],"attempts":1,"xcode":0,"stays":false'
	omjob "$ns" del '{}' '{"exit":0}'
	expect "$ns" del "{\"row\":4,\"desc\":\"main deleted $disrupted\",\"reason\":\"Deleted\",$r,\"msg\":\"delet\"}"
	omjob "$ns" force '{}' '{"exit":0}'
	expect "$ns" force "{\"row\":5,\"desc\":\"main force-deleted $disrupted\",\"reason\":\"Deleted\",$r,\"msg\":\"delet\"}"
	omjob "$ns" evict '{}' '{"exit":0}'
	expect "$ns" evict "{\"row\":6,\"desc\":\"main evicted $disrupted\",\"reason\":\"Evicted\",$r,\"msg\":\"evict\"}"
}
# rows_1_to_6_running NS: a check: the six main pods of rows_1_to_6 Running
# within 30 s, and their OMJobs Running.
rows_1_to_6_running() {
	local j
	for j in ok exit3 oom del force evict; do
		wait_until 30 pod_phase_is "$1" "$j-main" Running && wait_until 10 omj_phase_is "$1" "$j" Running ||
			fail "$j: not Running: $($K get omj,pods -n "$1" 2>&1)"
	done
}

# unfinished: "ns/name=phase" of every expected OMJob not yet Succeeded or Failed.
unfinished() {
	$K get omj -A -o json >"$OP_TMP/omj.json" || return 2
	jq -rn --slurpfile o "$OP_TMP/omj.json" --slurpfile e <(jq -s . "$CASES") '
		($o[0].items | map({key: "\(.metadata.namespace)/\(.metadata.name)", value: (.status.phase // "")}) | from_entries) as $ph
		| $e[0][] | "\(.ns)/\(.name)" as $k | select(($ph[$k] // "") | test("^(Succeeded|Failed)$") | not)
		| "\($k)=\($ph[$k] // "absent")"'
}
UNFINISHED=
all_finished() {
	UNFINISHED=$(unfinished 2>&1) || UNFINISHED="cannot tell: $UNFINISHED"
	[ -z "$UNFINISHED" ]
}
# check_finished SECONDS SINCE_MS [WHAT]: a check. Passes once every expected
# OMJob has phase Succeeded or Failed ("all N OMJobs finished X ms WHAT", X
# counted from SINCE_MS); fails, naming those left, after SECONDS.
check_finished() {
	if T_POLL=0.5 wait_until "$1" all_finished; then
		pass "all $(wc -l <"$CASES") OMJobs finished $(($(now_ms) - $2)) ms ${3:-after the test began}"
	else
		fail "not finished after $1 s: $(echo "$UNFINISHED" | tr '\n' ' ' | head -c 2000)"
	fi
}

# The checker: for every expected OMJob, every failed assertion as one line.
CHECK_JQ='
def cond($s; $t): (($s.conditions // []) | map(select(.type == $t)) | .[0]) // {};
def evsum($evs; $r): [$evs[] | select(.reason == $r) | (.count // 1)] | add // 0;
def env1($r; $n): [($r.env // [])[] | select(.name == $n)];
def ok($c; $m): if $c then empty else $m end;
def gcd($ns; $n): $GC | any(.[]; . == "\($ns)/\($n)");
def isours: . == "omjob.pipelines.openmetadata.org/finalizer" or . == "omjob.pipelines.openmetadata.org/tracking";
$W as $w
| ($OW | map(split("|") | {uid: .[3], phase: .[4], reason: .[5], code: .[6]})) as $ow
| $E[] as $x
| "\($x.ns)/\($x.name | if length > 40 then .[:30] + "...(\(length))" else . end)" as $key
| "row \($x.row // "?") \($key)" as $lbl
| ($O | map(select(.metadata.namespace == $x.ns and .metadata.name == $x.name)) | .[0]) as $o
| if $o == null then "\($lbl): OMJob not found" else
  ($o.metadata.uid) as $uid | ($o.status // {}) as $s
  | ($x.attempts // 1) as $att | (if $x | has("stays") then $x.stays else true end) as $stays | ($x.nomain // false) as $nomain
  | (if $att == 0 then "NotConfigured" elif $x.xcode == 0 then "Succeeded" else "Failed" end) as $xfin0
  | ($x.xfinished // $xfin0) as $xfin
  | ($x.failed // (if $x.reason != "Completed" then $x.reason else "ExitHandlerFailed" end)) as $fr
  | (if $x.long then null else $x.name + "-main" end) as $mname
  | [range(0; $att) | if . == 0 then "-exit" else "-exit-\(.)" end] as $xsuf
  | (if $x.long then null else [$xsuf[] | $x.name + .] end) as $xnames
  | ($s | has("mainPodExitCode")) as $hascode
  | (if $hascode then ($s.mainPodExitCode | tostring) else "" end) as $codestr
  | (($x.reason == "Completed" and $s.mainPodExitCode == 0) | if . then "success" else "failed" end) as $pstat
  | [$P[] | select(.metadata.namespace == $x.ns and any(.metadata.ownerReferences[]?; .uid == $uid))] as $pods
  | [$pods[] | select(.metadata.labels["omjob.pipelines.openmetadata.org/pod-type"] == "exit-handler")] as $xp
  | [$pods[] | select(.metadata.labels["omjob.pipelines.openmetadata.org/pod-type"] == "main")] as $mp
  | [$w[] | select(.ns == $x.ns and .owner == $uid)] as $pw
  | (($pw | map(.nlabel) | .[0]) // "") as $nlabel
  | [$P[] | select(.metadata.namespace == $x.ns
        and .metadata.labels["omjob.pipelines.openmetadata.org/pod-type"] == "exit-handler"
        and .metadata.labels["omjob.pipelines.openmetadata.org/name"] == (if $x.long then $nlabel else $x.name end))] as $xbylabel
  | [$Ev[] | select(.involvedObject.uid == $uid)] as $ev
  | [$pw[] | select(.ptype == "exit-handler")] as $xw
  | [$xw | group_by(.uid)[] | max_by(.i)] as $xlast
  | [$pw[] | select(.ptype == "main")] as $mw
  | [$ow[] | select(.uid == $uid)] as $hist
  | [$hist[] | {"": 0, Pending: 1, Running: 2, ExitHandlerRunning: 3, Succeeded: 4, Failed: 4}[.phase] // 9] as $rank
  | ($xnames // [] | last) as $lastx
  | ($ev | map(select(.reason == "MainPodCompleted")) | .[0]) as $mpc
  | ($s.mainPodName // ($x.name + "-main")) as $mpn
  | ($ev | map(select(.reason == "OMJobFailed")) | .[0]) as $ojf
  | (
    ok($s.phase == $x.phase; "status.phase \($s.phase) (want \($x.phase))"),
    ok($s.mainPodReason == $x.reason; "status.mainPodReason \($s.mainPodReason) (want \($x.reason))"),
    ok(if $hascode then ($x.codes | any(.[]; . == $s.mainPodExitCode)) else ($x.codes | any(.[]; . == null)) end;
       "status.mainPodExitCode \(if $hascode then $s.mainPodExitCode else "absent" end) (want one of \($x.codes | map(. // "absent")))"),
    ok(($s.message // "") | length > 0 and test($x.msg // "."; "i");
       "status.message \($s.message | tojson) does not match /\($x.msg // ".")/i"),
    ok($s.completionTime != null and (if $nomain then $s.startTime == null else $s.startTime != null end);
       "startTime \($s.startTime) completionTime \($s.completionTime) (startTime: main pod created, absent when it never was)"),
    ok($s.lastTransitionTime != null; "no status.lastTransitionTime"),
    ok(($rank | all(. < 9)) and ([range(1; $rank | length) as $i | $rank[$i] >= $rank[$i - 1]] | all)
       and ($hist | map(.phase | select(. == "Succeeded" or . == "Failed")) | unique | length) <= 1;
       "phases went backwards or changed after the end: \($hist | map(.phase) | . as $a | [range(length) | select(. == 0 or $a[.] != $a[. - 1]) | $a[.]])"),
    ok(($hist | map(.reason | select(. != "")) | unique | length) <= 1 and ($hist | map(.code | select(. != "")) | unique | length) <= 1;
       "the main outcome changed once recorded: \($hist | map({reason, code}) | unique)"),
    ok($s.observedGeneration == $o.metadata.generation; "status.observedGeneration \($s.observedGeneration) (generation \($o.metadata.generation))"),
    ok($nomain or (if $x.long then ($s.mainPodName // "" | length <= 63 and test("-[0-9a-f]{8}-main$")) else $s.mainPodName == $mname end);
       "status.mainPodName \($s.mainPodName) (want \($mname // "shortened, with a hash"))"),
    (cond($s; "MainPodFinished") | ok(.status == "True" and .reason == $x.reason; "condition MainPodFinished \(tojson) (want True/\($x.reason))")),
    (cond($s; "ExitHandlerFinished") | ok(.status == "True" and .reason == $xfin; "condition ExitHandlerFinished \(tojson) (want True/\($xfin))")),
    (if $x.phase == "Succeeded" then
       (cond($s; "Complete") | ok(.status == "True" and .reason == "Succeeded"; "condition Complete \(tojson) (want True/Succeeded)")),
       (cond($s; "Failed") | ok(.status != "True"; "condition Failed is True on a Succeeded OMJob"))
     else
       (cond($s; "Failed") | ok(.status == "True" and .reason == $fr; "condition Failed \(tojson) (want True/\($fr))")),
       (cond($s; "Complete") | ok(.status != "True"; "condition Complete is True on a Failed OMJob"))
     end),
    ok(($s.exitHandlerAttempts // 0) == $att; "status.exitHandlerAttempts \($s.exitHandlerAttempts) (want \($att))"),
    (if $att > 0 then
       ok($s.exitHandlerExitCode == $x.xcode; "status.exitHandlerExitCode \($s.exitHandlerExitCode) (want \($x.xcode))"),
       ok($s.exitHandlerReason == (if $x.xcode == 0 then "Completed" else "Error" end);
          "status.exitHandlerReason \($s.exitHandlerReason) (want \(if $x.xcode == 0 then "Completed" else "Error" end))"),
       ok(if $x.long then ($s.exitHandlerPodName // "" | length <= 63 and test("-[0-9a-f]{8}-exit(-[0-9]+)?$")) else $s.exitHandlerPodName == $lastx end;
          "status.exitHandlerPodName \($s.exitHandlerPodName) (want \($lastx // "shortened, with a hash"))"),
       # Created exactly once: every exit pod uid ever seen, per name.
       ok(($xw | map(.uid) | unique | length) == $att;
          "\($xw | map(.uid) | unique | length) exit pods created (want \($att)): \($xw | map(.name) | unique)"),
       ok(($xw | group_by(.name) | all(map(.uid) | unique | length == 1));
          "an exit pod name was created more than once: \($xw | group_by(.name) | map({(.[0].name): (map(.uid) | unique | length)}) | add)"),
       ok($x.long or (($xw | map(.name) | unique) == ($xnames | sort)); "exit pod names \($xw | map(.name) | unique) (want \($xnames))"),
       ok(($x.long | not) or ($xw | all(.name | length <= 63 and test("-[0-9a-f]{8}-exit(-[0-9]+)?$")));
          "exit pod names not shortened with a hash: \($xw | map(.name) | unique)"),
       ok(evsum($ev; "ExitHandlerCreated") == $att; "\(evsum($ev; "ExitHandlerCreated")) ExitHandlerCreated Events (want \($att), one per attempt)"),
       # Exactly one exit pod left (the last attempt), unless PodGC removed it.
       ok((($xp | length) == 1 and ($xbylabel | length) == 1 and ($xp[0].metadata.name == $s.exitHandlerPodName))
          or (($xp | length) == 0 and ($xbylabel | length) == 0 and gcd($x.ns; $s.exitHandlerPodName));
          "\($xp | length) exit pods left by owner, \($xbylabel | length) by labels (want exactly one, \($s.exitHandlerPodName)): \($xp | map(.metadata.name))"),
       ($xlast | map(select(.name == $s.exitHandlerPodName)) | .[0]) as $fin
       | ok($fin != null and $fin.phase == (if $x.xcode == 0 then "Succeeded" else "Failed" end) and $fin.code == $x.xcode;
          "last exit pod as last seen: \($fin | if . == null then "never seen" else {name, phase, code} end) (want exit code \($x.xcode))"),
       # The env of every attempt, as created (from the watch: PodGC may have removed it).
       ($xlast[] as $p | "exit pod \($p.name) env" as $pe |
         ok((env1($p; "pipelineStatus") | map(.value)) == [$pstat]; "\($pe) pipelineStatus \(env1($p; "pipelineStatus") | map(.value)) (want [\($pstat)])"),
         ok((env1($p; "OMJOB_MAIN_REASON") | map(.value)) == [$x.reason]; "\($pe) OMJOB_MAIN_REASON \(env1($p; "OMJOB_MAIN_REASON") | map(.value)) (want \($x.reason))"),
         ok((env1($p; "OMJOB_MAIN_EXIT_CODE") | map(.value // "")) == [$codestr]; "\($pe) OMJOB_MAIN_EXIT_CODE \(env1($p; "OMJOB_MAIN_EXIT_CODE") | map(.value)) (want [\($codestr | tojson)], as in status)"),
         ok((env1($p; "OMJOB_NAME") | map(.value)) == [$x.name]; "\($pe) OMJOB_NAME \(env1($p; "OMJOB_NAME") | map(.value))"),
         ok((env1($p; "OMJOB_NAMESPACE") | map(.value)) == [$x.ns]; "\($pe) OMJOB_NAMESPACE \(env1($p; "OMJOB_NAMESPACE") | map(.value))"),
         ok((env1($p; "OMJOB_UID") | map(.value)) == [$uid]; "\($pe) OMJOB_UID \(env1($p; "OMJOB_UID") | map(.value)) (want \($uid))"),
         ok($nomain or (env1($p; "OMJOB_MAIN_POD_NAME") | map(.value)) == [$s.mainPodName]; "\($pe) OMJOB_MAIN_POD_NAME \(env1($p; "OMJOB_MAIN_POD_NAME") | map(.value)) (want \($s.mainPodName))")),
       (if $att > 1 then ok(evsum($ev; "ExitHandlerRecreated") == $att - 1 and ($ev | map(select(.reason == "ExitHandlerRecreated")) | all(.type == "Warning"));
          "\(evsum($ev; "ExitHandlerRecreated")) ExitHandlerRecreated Warning Events (want \($att - 1))") else empty end)
     else
       ok(($xw | length) == 0 and ($xp | length) == 0; "an exit pod exists without exitHandlerSpec: \($xw | map(.name) | unique)"),
       ok(evsum($ev; "ExitHandlerCreated") == 0; "ExitHandlerCreated Event without exitHandlerSpec"),
       ok(($s.exitHandlerPodName // "") == ""; "status.exitHandlerPodName \($s.exitHandlerPodName) without exitHandlerSpec")
     end),
    # The main pod: created exactly once (or never), named as in status.
    (if $nomain then
       ok(($mw | length) == 0 and evsum($ev; "MainPodCreated") == 0; "a main pod was created: \($mw | map(.name) | unique)")
     else
       ok(($mw | map(.uid) | unique | length) == 1 and ($mw | all(.name == $s.mainPodName));
          "main pods created: \($mw | map({name, uid}) | unique) (want exactly one, \($s.mainPodName))"),
       ok(evsum($ev; "MainPodCreated") == 1 and ($ev | map(select(.reason == "MainPodCreated")) | all(.type == "Normal"));
          "\(evsum($ev; "MainPodCreated")) MainPodCreated Normal Events (want 1)")
     end),
    ok($pw | all(.managed == "omjob-operator" and (.nlabel | length) <= 63 and .nlabel == $nlabel)
       and ($x.long or $nlabel == $x.name);
       "pod labels managed-by/name: \($pw | map({name, managed, nlabel}) | unique)"),
    (if $stays then ok((($mp | length) == 1 and ($mp[0].metadata.deletionTimestamp == null) and ($mp[0].status.phase | test("Succeeded|Failed")))
       or (($mp | length) == 0 and gcd($x.ns; $s.mainPodName));
       "main pod should stay, completed: \($mp | map({name: .metadata.name, phase: .status.phase, deleting: (.metadata.deletionTimestamp != null)}))") else empty end),
    # Events.
    ok($mpc != null and ($mpc.type == (if $x.reason == "Completed" then "Normal" else "Warning" end))
       and ($mpc.message | startswith("main pod \($mpn) ended: \($x.reason)"))
       and (if $hascode then ($mpc.message | contains("(exit code \($s.mainPodExitCode))")) else true end);
       "MainPodCompleted Event \($mpc | if . == null then "missing" else {type, message} end) (want \(if $x.reason == "Completed" then "Normal" else "Warning" end), \"main pod \($mpn) ended: \($x.reason)\(if $hascode then " (exit code \($s.mainPodExitCode))" else "" end)\")"),
    (if $x.phase == "Succeeded" then
       ok(($ev | any(.reason == "OMJobCompleted" and .type == "Normal")) and evsum($ev; "OMJobFailed") == 0;
          "Events OMJobCompleted \(evsum($ev; "OMJobCompleted")) OMJobFailed \(evsum($ev; "OMJobFailed")) (want a Normal OMJobCompleted, no OMJobFailed)")
     else
       ok($ojf != null and $ojf.type == "Warning" and ($ojf.message | contains($s.message // "\u0000")) and evsum($ev; "OMJobCompleted") == 0;
          "OMJobFailed Event \($ojf | if . == null then "missing" else {type, message} end) (want Warning with the status message), OMJobCompleted \(evsum($ev; "OMJobCompleted"))")
     end),
    (($x.events // [])[] as $r | ok($ev | any(.reason == $r and .type == (if (($x.normal // []) | any(.[]; . == $r)) then "Normal" else "Warning" end));
       "no \($r) Event (have \($ev | map(.reason) | unique))")),
    ok($ev | all((.source.component // .reportingComponent) == "omjob-operator"); "Event not from omjob-operator: \($ev | map(.source.component // .reportingComponent) | unique)"),
    # Finalizers released, nothing left running or stuck terminating.
    ok(($o.metadata.finalizers // []) | all(isours | not); "OMJob finalizers left: \($o.metadata.finalizers)"),
    ok($pods | all((.metadata.finalizers // []) | all(isours | not)); "pod finalizers left: \($pods | map({(.metadata.name): .metadata.finalizers}) | add)"),
    ok($pods | all(.status.phase != "Running" and .status.phase != "Pending"); "pods still running: \($pods | map(select(.status.phase == "Running" or .status.phase == "Pending") | .metadata.name))"),
    ok($pods | all(.metadata.deletionTimestamp == null); "pods stuck terminating: \($pods | map(select(.metadata.deletionTimestamp != null) | .metadata.name))")
  ) | "\($lbl): \(.)"
  end
'

# pod_records: the pod watch so far as a JSON array of compact records, in order
# (one event per line; a last line still being written is left out).
pod_records() {
	{ jq -c 'select(.object.kind == "Pod") | .object as $p
		| ($p.metadata.labels // {}) as $l
		| {type, ns: $p.metadata.namespace, name: $p.metadata.name, uid: $p.metadata.uid,
		   ptype: ($l["omjob.pipelines.openmetadata.org/pod-type"] // ""),
		   nlabel: ($l["omjob.pipelines.openmetadata.org/name"] // ""),
		   managed: ($l["app.kubernetes.io/managed-by"] // ""),
		   owner: ($p.metadata.ownerReferences[0].uid // ""), phase: ($p.status.phase // ""),
		   del: ($p.metadata.deletionTimestamp // ""),
		   code: ($p.status.containerStatuses[0].state.terminated.exitCode // null),
		   env: (if $l["omjob.pipelines.openmetadata.org/pod-type"] == "exit-handler"
			then $p.spec.containers[0].env else null end)}' "$WATCH_OUT" 2>/dev/null || true; } |
		jq -sc 'to_entries | map(.value + {i: .key})'
}
# gc_deleted: "ns/name" of every pod the controller-manager's PodGC deleted (this
# cluster keeps at most 50 terminated pods, cluster-wide), as a JSON array.
gc_deleted() {
	local l=${OMJOB_CLUSTER_STATE:-}/logs/kube-controller-manager.log
	if [ -n "${OMJOB_CLUSTER_STATE:-}" ] && [ -f "$l" ]; then
		grep -o 'PodGC is force deleting Pod" pod="[^"]*"' "$l" | sed 's/.*pod="//; s/"$//' | jq -Rsc 'split("\n") | map(select(length > 0))'
	else
		echo '[]'
	fi
}

# snapshot: the OMJobs, pods and OMJob Events of the cluster, to files.
snapshot() {
	$K get omj -A -o json >"$OP_TMP/omj.json" &&
		$K get pods -A -o json >"$OP_TMP/pods.json" &&
		$K get events -A --field-selector involvedObject.kind=OMJob -o json >"$OP_TMP/events.json"
}
# failures: every failed assertion of every expected OMJob, one per line; status
# 1 when the cluster cannot be read or the checker itself fails.
failures() {
	snapshot || {
		echo "failures: the snapshot of the cluster failed" >&2
		return 1
	}
	jq -rn --slurpfile e <(jq -s . "$CASES") --slurpfile o "$OP_TMP/omj.json" \
		--slurpfile p "$OP_TMP/pods.json" --slurpfile v "$OP_TMP/events.json" \
		--slurpfile w <(pod_records) --slurpfile gc <(gc_deleted) --rawfile ow "$OWATCH_OUT" \
		"\$e[0] as \$E | \$o[0].items as \$O | \$p[0].items as \$P | \$v[0].items as \$Ev
		| \$w[0] as \$W | \$gc[0] as \$GC
		| (\$ow | split(\"\\n\") | map(select(length > 0))) as \$OW | $CHECK_JQ"
}
# check_runs [quiet]: waits up to 15 s for everything to settle (finalizers are
# released and the last Events written just after the final phase), then reports
# each expected OMJob: one "ok" line, or one FAIL per failed assertion. quiet:
# failures only, and one summary line. What it reports is the snapshot it waited
# on, never a second one: the cluster moves on after a clean snapshot (CI5: the
# PodGC force-deleted 375 finished pods between the two, and the one taken after
# caught a main pod whose tracking finalizer was being released: "stuck
# terminating").
check_runs() {
	local f n bad=0 total matched=0 k c l deadline seen
	deadline=$(($(now_ms) + 15000))
	while :; do
		seen=1
		f=$(failures) || seen=0
		[ "$seen" = 1 ] && [ -z "$f" ] && break
		[ "$(now_ms)" -lt "$deadline" ] || break
		sleep "$T_POLL"
	done
	if [ "$seen" = 0 ]; then
		fail "check_runs: the checker could not run (cluster unreadable, or a jq error above)"
		return 0
	fi
	total=$(wc -l <"$CASES")
	while IFS= read -r c; do
		k=$(jq -r '"row \(.row // "?") \(.ns)/\(.name | if length > 40 then .[:30] + "...(\(length))" else . end)"' <<<"$c")
		n=$(grep -cF "$k: " <<<"$f" || true)
		matched=$((matched + n))
		if [ "$n" -gt 0 ]; then
			bad=$((bad + 1))
			while IFS= read -r l; do fail "$l"; done < <(grep -F "$k: " <<<"$f")
		elif [ "${1:-}" != quiet ]; then
			pass "$k: $(jq -r '"\(.desc // "") -> \(.phase), \(.reason), exit code \(.codes | map(. // "absent") | join("|")), \(.attempts // 1) exit pod(s)"' <<<"$c"); status, conditions, env, Events, finalizers, pods all as the contract says"
		fi
	done <"$CASES"
	if [ "${1:-}" = quiet ]; then
		[ "$bad" -eq 0 ] && pass "all $total OMJobs checked: every common check of docs/SCENARIOS.md holds" ||
			fail "$bad of $total OMJobs fail some assertion"
	fi
	# A line of the checker's that names no expected OMJob must not go unseen.
	n=$(grep -c . <<<"$f" || true)
	[ "$n" -eq "$matched" ] ||
		fail "check_runs: $((n - matched)) checker lines name no expected OMJob: $(grep -vF "$(jq -r '"row \(.row // "?") \(.ns)/"' "$CASES" | sort -u)" <<<"$f" | head -c 1500)"
	return 0
}

# issue_client_cert DIR SUBJECT: DIR/client.key and DIR/client.crt, a client
# certificate for SUBJECT ("/O=group/CN=user") signed by the test cluster's CA.
issue_client_cert() {
	local pki=$OMJOB_CLUSTER_STATE/pki
	mkdir -p "$1"
	openssl req -newkey rsa:2048 -nodes -keyout "$1/client.key" -out "$1/client.csr" \
		-subj "$2" 2>/dev/null &&
		openssl x509 -req -in "$1/client.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
			-CAserial "$OP_TMP/ca.srl" -CAcreateserial -days 1 -out "$1/client.crt" \
			-extfile <(printf 'extendedKeyUsage=clientAuth\n') 2>/dev/null
}
# cert_kubeconfig FILE DIR [CA]: a kubeconfig for the test cluster that
# authenticates with DIR/client.crt and DIR/client.key (read from there, so they
# can be rotated) and verifies the server with the CA file CA (default: the
# cluster's own).
cert_kubeconfig() {
	cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: '$OMJOB_CLUSTER_SERVER', certificate-authority: '${3:-$OMJOB_CLUSTER_STATE/pki/ca.crt}'}
users:
- name: u
  user: {client-certificate: '$2/client.crt', client-key: '$2/client.key'}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
KC
}

# evict NS POD: a policy/v1 Eviction, as `kubectl drain` sends it.
evict() {
	printf '{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"%s","namespace":"%s"}}' "$2" "$1" |
		$K create --raw "/api/v1/namespaces/$1/pods/$2/eviction" -f - >/dev/null
}
# jp KIND NS NAME JSONPATH
jp() { $K get "$1" -n "$2" "$3" -o jsonpath="$4" 2>/dev/null; }
pod_phase_is() { [ "$(jp pod "$1" "$2" '{.status.phase}')" = "$3" ]; }
omj_phase_is() { [ "$(jp omj "$1" "$2" '{.status.phase}')" = "$3" ]; }
