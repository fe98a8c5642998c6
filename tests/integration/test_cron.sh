#!/usr/bin/env bash
# CronOMJobs end to end (issue 10, docs/LIFECYCLE.md "CronOMJob: runs, status and
# history"), one whole operator, every scenario in a namespace of its own and all
# at once, over four scheduled minutes M1..M4 (M1: the first minute boundary after
# the CronOMJobs exist; about 4 minutes of wall time):
#
#  fx  OpenMetadata's CronOMJob (tests/fixtures, with its ConfigMap) applied as
#      sent, then its schedule PATCHED to "* * * * *" (its Europe/Paris zone kept):
#      the M1 run's OMJob (name, owner, labels, scheduled-at, spec copied whole with
#      both placeholders replaced), its pods' env, its exit handler, as any OMJob;
#      then suspended.
#  every  "* * * * *", instant pods: exactly one OMJob for each of M1..M4, none
#      doubled, none skipped, each checked like any OMJob; status fields; Events.
#  kill  the same with startingDeadlineSeconds 30: the whole operator (supervisor
#      and every role, by pid) is SIGKILLed 4 s before M2 and started again 12 s
#      after it: M2's run is made once, after the restart (every other scenario
#      lives through the same restart).
#  forbid  default concurrencyPolicy (Forbid), main pod runs until told: M2 is
#      skipped (JobAlreadyActive, lastScheduleTime M2, no OMJob), M3 runs once the
#      first run has ended.
#  replace  Replace, main pod runs until told: at M2 the M1 run is cancelled (its
#      exit handler runs with pipelineStatus=failed, the OMJob goes) and M2's run
#      is created only once it has finished (phase Failed).
#  suspend  suspended after its M1 run, resumed 30 s after M2: no run for M2, ever
#      (missed, not queued), runs again at M3.
#  history  Allow, history limits 1/1, main pods run until told: M1's run keeps
#      running while M2's and M3's succeed: M2's is deleted (SuccessfulDelete), the
#      running one never; then M1's fails: the newest success and the one failure
#      remain.
#  zone  timeZone Mars/Olympus: UnknownTimeZone Warning, condition, no run at M1;
#      fixed to Asia/Kolkata it runs again.
#  never  "0 0 30 2 *" (the CRD accepts it, it never fires): InvalidSchedule
#      Warning, condition, no run.
#  "TZ=UTC * * * * *" refused by the CRD at admission with a readable message.
#  delete  the CronOMJob deleted while its M1 run runs: the garbage collector
#      deletes the OMJob, whose exit handler still runs (pipelineStatus=failed);
#      no later run.
# Checks read what the API shows (OMJobs, pods, Events, status) and two watches
# (every OMJob and pod event, omjob_lib.sh), never the operator's log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
FIX=$OMJOB_SRC/tests/fixtures/cronomjob-k8spipelineclient.yaml # a copy of ../shared/fixtures/
t0=$(now_ms)

# --- helpers (local to this test) -------------------------------------------------
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
epoch() { date -u -d "$1" +%s; }
# sleep_until UNIX-SECONDS (fractional ok)
sleep_until() {
	local d
	d=$(awk -v t="$1" -v n="${EPOCHREALTIME}" 'BEGIN {d = t - n; print (d > 0 ? d : 0)}')
	sleep "$d"
}
# comj NS NAME SPEC-EXTRA-JSON MAIN-ANNOTATIONS EXIT-ANNOTATIONS: a CronOMJob on
# "* * * * *" whose template is omjob_json's OMJob spec (sim annotations), with
# placeholders in both pods' env; SPEC-EXTRA is merged into .spec (jq `*`).
comj_json() {
	local t
	t=$(omjob_json "$1" x "$4" "$5" | jq -c '.spec
		| .mainPodSpec.env = [{name: "RUN", value: "{{ omjob.uid }}"}, {name: "JOB", value: "{{ omjob.name }}"}]
		| if .exitHandlerSpec then .exitHandlerSpec.env = [{name: "RUN", value: "{{ omjob.uid }}"}, {name: "JOB", value: "{{ omjob.name }}"}] else . end')
	jq -cn --arg name "$2" --argjson t "$t" --argjson extra "$3" '
		{apiVersion: "pipelines.openmetadata.org/v1", kind: "CronOMJob",
		 metadata: {name: $name, labels: {"app.kubernetes.io/pipeline": $name, "app.kubernetes.io/run-id": "scheduled"}},
		 spec: ({schedule: "* * * * *", omJobSpec: $t} * $extra)}'
}
comj() {
	local out
	out=$(comj_json "$@" | $K create -n "$1" -f - 2>&1) || fail "CronOMJob $1/$2 not created: $out"
}
cpatch() { $K patch comj -n "$1" "$2" --type merge -p "$3" >/dev/null || fail "patch $1/$2 $3"; }
# runs NS: the OMJobs ever seen in NS (the OMJob watch), "name uid" in order of creation.
runs() { awk -F'|' -v ns="$1" '$1 == "ADDED" && $2 == ns && !s[$3 "|" $4]++ {print $3, $4}' "$OWATCH_OUT"; }
nruns() { runs "$1" | wc -l; }
has_run() { runs "$1" | grep -q "^$2 "; }
uid_of() { runs "$1" | awk -v n="$2" '$1 == n {print $2; exit}'; }
gone() { grep -q "^DELETED|$1|$2|" "$OWATCH_OUT"; }
# line_of NS NAME TYPE: the first line of the OMJob watch with that event (order).
line_of() { grep -n "^$3|$1|$2|" "$OWATCH_OUT" | head -1 | cut -d: -f1; }
# phase_line NS NAME PHASE: the first line of the OMJob watch showing it in PHASE.
phase_line() { grep -n "^[A-Z]*|$1|$2|[^|]*|$3|" "$OWATCH_OUT" | head -1 | cut -d: -f1; }
cev() { # NS NAME: the CronOMJob's Events as one JSON array
	$K get events -n "$1" --field-selector "involvedObject.kind=CronOMJob,involvedObject.name=$2" -o json |
		jq -c '[.items[] | {type, reason, message, count}]'
}
has_cev() { cev "$1" "$2" | jq -e --arg r "$3" --arg t "$4" 'any(.[]; .reason == $r and .type == $t)' >/dev/null; }
cond() { # NS NAME TYPE: "status/reason" of a condition of the CronOMJob
	jp comj "$1" "$2" "{.status.conditions[?(@.type==\"$3\")].status}/{.status.conditions[?(@.type==\"$3\")].reason}"
}
cond_is() { [ "$(cond "$1" "$2" "$3")" = "$4" ]; }
pod_running() { pod_phase_is "$1" "$2" Running; }
# exit_pods_of NS OMJOB-UID: its exit pods from the pod watch: [{name, phase, status}] (last record each).
exit_pods_of() {
	pod_records | jq -c --arg ns "$1" --arg u "$2" '[.[] | select(.ns == $ns and .owner == $u and .ptype == "exit-handler")]
		| group_by(.uid) | map(max_by(.i) as $l | {name: $l.name, phase: (map(.phase) | map(select(. != "")) | last),
		  status: ([map(.env // [] | .[] | select(.name == "pipelineStatus") | .value)[]] | unique)})'
}
exit_ran_with() { # NS UID STATUS: one exit pod, Succeeded, with pipelineStatus=STATUS
	exit_pods_of "$1" "$2" | jq -e --arg s "$3" 'length == 1 and .[0].phase == "Succeeded" and .[0].status == [$s]' >/dev/null
}
# check_run NS CRON T: the OMJob of CRON's run at unix second T as the contract says:
# name, scheduled-at, controller owner, labels (the CronOMJob's, run-id a UUID), spec
# = the CronOMJob's template with the placeholders replaced; env in its pods.
check_run() {
	local ns=$1 cron=$2 t=$3 name="$2-$3" o c bad
	o=$($K get omj -n "$ns" "$name" -o json 2>/dev/null) || {
		fail "$ns: OMJob $name of $(iso "$t") not found"
		return
	}
	c=$($K get comj -n "$ns" "$cron" -o json 2>&1) || {
		fail "$ns: CronOMJob $cron: $c"
		return
	}
	bad=$(jq -rn --argjson o "$o" --argjson c "$c" --arg at "$(iso "$t")" --arg name "$name" '
		def ok($x; $m): if $x then empty else $m end;
		($o.metadata.labels["app.kubernetes.io/run-id"] // "") as $rid
		| def repl: walk(if type == "object" and has("value") and has("name") then
			(if .value == "{{ omjob.uid }}" then .value = $rid elif .value == "{{ omjob.name }}" then .value = $name else . end) else . end);
		ok($o.metadata.annotations["pipelines.openmetadata.org/scheduled-at"] == $at; "scheduled-at \($o.metadata.annotations["pipelines.openmetadata.org/scheduled-at"]) (want \($at))"),
		ok(($o.metadata.ownerReferences // []) == [{apiVersion: "pipelines.openmetadata.org/v1", kind: "CronOMJob",
			name: $c.metadata.name, uid: $c.metadata.uid, controller: true, blockOwnerDeletion: true}];
			"ownerReferences \($o.metadata.ownerReferences) (want the CronOMJob, controller, blockOwnerDeletion)"),
		ok($rid | test("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"); "run-id label \($rid) is not a UUID"),
		ok(($o.metadata.labels | del(.["app.kubernetes.io/run-id"])) == ($c.metadata.labels | del(.["app.kubernetes.io/run-id"]));
			"labels \($o.metadata.labels) (want the CronOMJob'"'"'s \($c.metadata.labels) with a fresh run-id)"),
		ok($o.spec == ($c.spec.omJobSpec | repl); "spec is not the template with placeholders replaced: \([$o.spec, ($c.spec.omJobSpec | repl)] | map(tostring | .[:600]))")')
	if [ -z "$bad" ]; then
		pass "$ns: $name: scheduled-at $(iso "$t"), owned by the CronOMJob (controller, blockOwnerDeletion), labels, run-id UUID, spec = template with placeholders replaced"
	else
		while IFS= read -r l; do fail "$ns: $name: $l"; done <<<"$bad"
	fi
}
# pod_env NS POD NAME: the value of an env variable of the pod's container.
pod_env() { jp pod "$1" "$2" "{.spec.containers[0].env[?(@.name==\"$3\")].value}"; }
run_id() { jp omj "$1" "$2" '{.metadata.labels.app\.kubernetes\.io/run-id}'; }

# --- start -------------------------------------------------------------------------
start_pod_watch
start_operator

# The CRD refuses a TZ= prefix at admission (before anything else, quick).
nr=$(new_ns cron-refuse)
if out=$(comj_json "$nr" tz '{"schedule":"TZ=UTC * * * * *"}' '{"exit":0}' none | $K create -n "$nr" -f - 2>&1); then
	fail "refuse: a schedule with TZ= was accepted: $out"
else
	grep -qiE 'timeZone|TZ=' <<<"$out" && pass "refuse: \"TZ=UTC * * * * *\" refused at admission: $(grep -iE 'timeZone|TZ=' <<<"$out" | grep -v '^The ' | head -1 | head -c 300)" ||
		fail "refuse: refused without saying why (TZ/timeZone): $out"
fi
$K get comj -n "$nr" tz >/dev/null 2>&1 && fail "refuse: the refused CronOMJob exists"

nfx=$(new_ns cron-fx)
nev=$(new_ns cron-every)
nk=$(new_ns cron-kill)
nfb=$(new_ns cron-forbid)
nrp=$(new_ns cron-replace)
nsu=$(new_ns cron-suspend)
nh=$(new_ns cron-history)
nz=$(new_ns cron-zone)
nnv=$(new_ns cron-never)
nd=$(new_ns cron-delete)

# Every CronOMJob must be created within one minute: M1 is the first boundary
# after the last, and one created before an earlier boundary fires there (a run
# the scenarios do not expect: Forbid then skips M1). With less than 25 s left in
# this minute (a slow machine), start at the next one.
[ $(($(date +%s) % 60)) -lt 35 ] || sleep_until $(($(date +%s) / 60 * 60 + 61))
$K apply -n "$nfx" -f "$FIX" >/dev/null
fxname=$($K create --dry-run=client -o json -f "$FIX" | jq -r '(.items // [.])[] | select(.kind == "CronOMJob") | .metadata.name')
cpatch "$nfx" "$fxname" '{"spec":{"schedule":"* * * * *"}}'
comj "$nev" every '{"startingDeadlineSeconds":60,"successfulJobsHistoryLimit":10,"failedJobsHistoryLimit":10}' '{"exit":0,"run":"1s"}' '{"exit":0}'
comj "$nk" kill '{"startingDeadlineSeconds":30,"successfulJobsHistoryLimit":10}' '{"exit":0,"run":"1s"}' '{"exit":0}'
comj "$nfb" forbid '{}' '{}' '{"exit":0}'
comj "$nrp" replace '{"concurrencyPolicy":"Replace"}' '{}' '{"exit":0,"run":"1s"}'
comj "$nsu" suspend '{"successfulJobsHistoryLimit":10}' '{"exit":0,"run":"1s"}' '{"exit":0}'
comj "$nh" history '{"concurrencyPolicy":"Allow","successfulJobsHistoryLimit":1,"failedJobsHistoryLimit":1}' '{}' '{"exit":0}'
comj "$nz" zone '{"timeZone":"Mars/Olympus"}' '{"exit":0,"run":"1s"}' '{"exit":0}'
comj "$nnv" never '{"schedule":"0 0 30 2 *"}' '{"exit":0}' '{"exit":0}'
comj "$nd" delete '{}' '{}' '{"exit":0,"run":"1s"}'
# M1: the first minute boundary after the last CronOMJob was created.
MINE="$nfx $nev $nk $nfb $nrp $nsu $nh $nz $nnv $nd $nr"
created=$($K get comj -A -o json | jq -r --arg mine " $MINE " '[.items[] | .metadata.namespace as $n | select($mine | contains(" " + $n + " "))
	| .metadata.creationTimestamp | fromdateiso8601] | max')
M1=$(((created / 60 + 1) * 60))
M2=$((M1 + 60)) M3=$((M1 + 120)) M4=$((M1 + 180))
pass "10 CronOMJobs created by $(iso "$created"); M1..M4 = $(iso $M1) .. $(iso $M4) ($((M1 - $(date +%s))) s from now)"

# Bad input at once: the never-firing schedule and the unknown zone.
wait_until 15 has_cev "$nnv" never InvalidSchedule Warning &&
	pass "never: Warning InvalidSchedule: $(cev "$nnv" never | jq -r 'map(select(.reason == "InvalidSchedule")) | .[0].message')" ||
	fail "never: no Warning InvalidSchedule Event: $(cev "$nnv" never)"
wait_until 5 cond_is "$nnv" never Scheduled False/InvalidSchedule &&
	pass "never: condition Scheduled False/InvalidSchedule" || fail "never: condition Scheduled $(cond "$nnv" never Scheduled) (want False/InvalidSchedule)"
wait_until 15 has_cev "$nz" zone UnknownTimeZone Warning &&
	pass "zone: Warning UnknownTimeZone: $(cev "$nz" zone | jq -r 'map(select(.reason == "UnknownTimeZone")) | .[0].message')" ||
	fail "zone: no Warning UnknownTimeZone Event: $(cev "$nz" zone)"
wait_until 5 cond_is "$nz" zone Scheduled False/UnknownTimeZone &&
	pass "zone: condition Scheduled False/UnknownTimeZone" || fail "zone: condition Scheduled $(cond "$nz" zone Scheduled) (want False/UnknownTimeZone)"

# --- M1 ------------------------------------------------------------------------------
[ "$(date +%s)" -lt "$M1" ] && [ "$(nruns "$nev")" -eq 0 ] && pass "no run before M1 (a new CronOMJob does not fire a past slot)"
sleep_until "$M1"
for x in "$nev every" "$nk kill" "$nfb forbid" "$nrp replace" "$nsu suspend" "$nh history" "$nd delete" "$nfx $fxname"; do
	set -- $x
	wait_until 20 has_run "$1" "$2-$M1" || fail "$1: no OMJob $2-$M1 within 20 s of M1: $(runs "$1" | tr '\n' ' ')"
done
pass "M1: every scheduled CronOMJob made its run ($(($(now_ms) - M1 * 1000)) ms after M1 for the last one)"
# Suspend the fixture (its template runs until told) and "suspend" now.
cpatch "$nfx" "$fxname" '{"spec":{"suspend":true}}'
cpatch "$nsu" suspend '{"spec":{"suspend":true}}'

# The fixture's run: everything the OMJob carries, then its pods.
fxrun=$fxname-$M1
check_run "$nfx" "$fxname" "$M1"
expect "$nfx" "$fxrun" '{"row":"cron-fx","desc":"the fixture run by its CronOMJob","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'
rid=$(run_id "$nfx" "$fxrun" || true)
if wait_until 20 pod_running "$nfx" "$fxrun-main"; then
	[ "$(pod_env "$nfx" "$fxrun-main" pipelineRunId)" = "$rid" ] && [ -n "$rid" ] &&
		[ "$(jp pod "$nfx" "$fxrun-main" '{.spec.containers[0].env[?(@.name=="config")].valueFrom.configMapKeyRef.name}')" = om-config-mysql-usage-ingestion ] &&
		pass "fx: main pod env pipelineRunId = the run-id ($rid), config from the ConfigMap" ||
		fail "fx: main pod env $($K get pod -n "$nfx" "$fxrun-main" -o jsonpath='{.spec.containers[0].env}') (want pipelineRunId=$rid)"
	$K annotate pod -n "$nfx" "$fxrun-main" sim.omjob.test/exit-code=0 >/dev/null
else
	fail "fx: main pod not Running: $($K get omj,pods -n "$nfx" 2>&1)"
fi

# The CronOMJob deleted while its run runs.
if wait_until 20 pod_running "$nd" "delete-$M1-main"; then
	duid=$(uid_of "$nd" "delete-$M1")
	$K delete comj -n "$nd" delete --wait=false >/dev/null
	pass "delete: CronOMJob deleted while its run's main pod runs"
else
	fail "delete: main pod of delete-$M1 not Running: $($K get omj,pods -n "$nd" 2>&1)"
fi

if wait_until 20 pod_running "$nfx" "$fxrun-exit"; then
	[ "$(pod_env "$nfx" "$fxrun-exit" jobName)" = "$fxrun" ] && [ "$(pod_env "$nfx" "$fxrun-exit" pipelineRunId)" = "$rid" ] &&
		[ "$(pod_env "$nfx" "$fxrun-exit" pipelineStatus)" = success ] &&
		pass "fx: exit pod env jobName = $fxrun, pipelineRunId = the run-id, pipelineStatus=success" ||
		fail "fx: exit pod env $($K get pod -n "$nfx" "$fxrun-exit" -o jsonpath='{.spec.containers[0].env}')"
	$K annotate pod -n "$nfx" "$fxrun-exit" sim.omjob.test/exit-code=0 >/dev/null
else
	fail "fx: exit pod not Running: $($K get omj,pods -n "$nfx" 2>&1)"
fi

# The unknown zone made no run at M1; fix it.
sleep_until $((M1 + 8))
[ "$(nruns "$nz")" -eq 0 ] && pass "zone: no run at M1 while the zone is unknown" || fail "zone: runs with an unknown zone: $(runs "$nz")"
[ "$(nruns "$nnv")" -eq 0 ] || fail "never: runs: $(runs "$nnv")"
cpatch "$nz" zone '{"spec":{"timeZone":"Asia/Kolkata"}}'
zfixed=$(date +%s)

# --- the operator SIGKILLed across M2 --------------------------------------------------
wait_until 20 eval '[ "$(jp omj "$nfx" "$fxrun" "{.status.phase}")" = Succeeded ]' ||
	fail "fx: $fxrun not Succeeded: $(jp omj "$nfx" "$fxrun" '{.status.phase}')"
wait_until 10 eval '[ -n "$(jp comj "$nfx" "$fxname" "{.status.lastSuccessfulTime}")" ]' &&
	pass "fx: lastSuccessfulTime $(jp comj "$nfx" "$fxname" '{.status.lastSuccessfulTime}'), lastOMJobName $(jp comj "$nfx" "$fxname" '{.status.lastOMJobName}')" ||
	fail "fx: no status.lastSuccessfulTime: $(jp comj "$nfx" "$fxname" '{.status}')"
[ "$(jp comj "$nfx" "$fxname" '{.status.lastOMJobName}')" = "$fxrun" ] || fail "fx: status.lastOMJobName $(jp comj "$nfx" "$fxname" '{.status.lastOMJobName}') (want $fxrun)"
has_cev "$nfx" "$fxname" SuccessfulCreate Normal && wait_until 10 has_cev "$nfx" "$fxname" SawCompletedJob Normal &&
	pass "fx: Events SuccessfulCreate, SawCompletedJob" || fail "fx: Events $(cev "$nfx" "$fxname")"
if [ "$(date +%s)" -ge $((M2 - 6)) ]; then
	fail "M1 checks ran late: $(date -u +%T), the kill must come before $(iso $((M2 - 4)))"
fi
sleep_until $((M2 - 4))
pids="$OP_PID $(ps -o pid= --ppid "$OP_PID" | tr -s ' \n' ' ')"
disown "$OP_PID" # no "Killed" job notice; bash still reaps it
kill -KILL $pids
tk=$(now_ms)
living() { for p in $pids; do st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) && [ "$st" != Z ] && echo "$p"; done; true; }
wait_until 5 eval '[ -z "$(living)" ]' || true
alive=$(living | tr '\n' ' ')
[ -z "$alive" ] && pass "operator SIGKILLed at $(date -u -d "@$((tk / 1000))" +%T) ($(($(wc -w <<<"$pids") - 1)) roles and the supervisor, by pid)" ||
	fail "still alive after SIGKILL: $alive"
OP_PID=
sleep_until $((M2 + 12))
restart_s=$(date +%s)
start_operator

# --- M2 --------------------------------------------------------------------------------
for x in "$nev every" "$nk kill" "$nh history"; do
	set -- $x
	wait_until 20 has_run "$1" "$2-$M2" || fail "$1: no OMJob $2-$M2 after the restart: $(runs "$1" | tr '\n' ' ')"
done
kc=$(epoch "$(jp omj "$nk" "kill-$M2" '{.metadata.creationTimestamp}')" 2>/dev/null || echo 0)
[ "$kc" -ge "$restart_s" ] && [ "$kc" -le $((M2 + 30)) ] &&
	pass "kill: M2's run created at $(iso "$kc"), after the restart ($(iso "$restart_s")), within startingDeadlineSeconds 30" ||
	fail "kill: M2's run created at $kc (restart $restart_s, M2 $M2, deadline $((M2 + 30)))"
check_run "$nk" kill "$M2"

# history: M2's run succeeds; M1's runs on.
if wait_until 20 pod_running "$nh" "history-$M2-main"; then
	$K annotate pod -n "$nh" "history-$M2-main" sim.omjob.test/exit-code=0 >/dev/null
else
	fail "history: history-$M2-main not Running"
fi

# replace: M1's run cancelled; M2's created once it has finished (its exit
# handler done: phase Failed; LIFECYCLE.md: "once none of this CronOMJob's runs is
# unfinished"), and the cancelled one goes.
if wait_until 40 gone "$nrp" "replace-$M1" && wait_until 10 has_run "$nrp" "replace-$M2"; then
	lf=$(phase_line "$nrp" "replace-$M1" Failed)
	la=$(line_of "$nrp" "replace-$M2" ADDED)
	[ -n "$lf" ] && [ "$lf" -lt "$la" ] && pass "replace: replace-$M1 cancelled and Failed (watch line $lf), then replace-$M2 created (line $la); replace-$M1 gone" ||
		fail "replace: replace-$M2 created (watch line $la) before replace-$M1 had finished (line ${lf:-never})"
	exit_ran_with "$nrp" "$(uid_of "$nrp" "replace-$M1")" failed &&
		pass "replace: the replaced run's exit handler ran once with pipelineStatus=failed and succeeded" ||
		fail "replace: exit pods of replace-$M1: $(exit_pods_of "$nrp" "$(uid_of "$nrp" "replace-$M1")")"
	check_run "$nrp" replace "$M2"
else
	fail "replace: replace-$M1 not deleted or replace-$M2 not created: $(runs "$nrp" | tr '\n' ' ') $($K get omj -n "$nrp" 2>&1)"
fi
cpatch "$nrp" replace '{"spec":{"suspend":true}}'
has_cev "$nrp" replace SuccessfulDelete Normal || fail "replace: no SuccessfulDelete Event: $(cev "$nrp" replace)"

# forbid: M2 skipped while M1's run is active; the time counts as scheduled.
if wait_until 20 has_cev "$nfb" forbid JobAlreadyActive Normal; then
	pass "forbid: Normal JobAlreadyActive: $(cev "$nfb" forbid | jq -r 'map(select(.reason == "JobAlreadyActive")) | .[0].message')"
else
	fail "forbid: no Normal JobAlreadyActive Event: $(cev "$nfb" forbid)"
fi
[ "$(nruns "$nfb")" -eq 1 ] && [ "$(jp omj "$nfb" "forbid-$M1" '{.status.phase}')" = Running ] &&
	pass "forbid: still one run (forbid-$M1, Running) after M2" || fail "forbid: runs $(runs "$nfb" | tr '\n' ' '), forbid-$M1 $(jp omj "$nfb" "forbid-$M1" '{.status.phase}')"
wait_until 10 eval '[ "$(jp comj "$nfb" forbid "{.status.lastScheduleTime}")" = "$(iso $M2)" ]' &&
	pass "forbid: status.lastScheduleTime $(iso $M2) (the skipped time counts as scheduled)" ||
	fail "forbid: status.lastScheduleTime $(jp comj "$nfb" forbid '{.status.lastScheduleTime}') (want $(iso $M2))"
[ "$(jp comj "$nfb" forbid '{.status.active[*].name}')" = "forbid-$M1" ] &&
	pass "forbid: status.active = [forbid-$M1]" || fail "forbid: status.active $(jp comj "$nfb" forbid '{.status.active}')"
$K annotate pod -n "$nfb" "forbid-$M1-main" sim.omjob.test/exit-code=0 >/dev/null || fail "forbid: forbid-$M1-main not there"
expect "$nfb" "forbid-$M1" '{"row":"cron-forbid","desc":"the run that made M2 skip","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'

# suspend: still suspended 30 s after M2 (the restarted operator saw M2 pass), resume.
sleep_until $((M2 + 30))
[ "$(nruns "$nsu")" -eq 1 ] && pass "suspend: no run for M2 while suspended" || fail "suspend: runs while suspended: $(runs "$nsu" | tr '\n' ' ')"
cond_is "$nsu" suspend Scheduled False/Suspended && pass "suspend: condition Scheduled False/Suspended" ||
	fail "suspend: condition Scheduled $(cond "$nsu" suspend Scheduled) (want False/Suspended)"
cpatch "$nsu" suspend '{"spec":{"suspend":false}}'

# delete: the deleted CronOMJob's run was cancelled through the garbage collector.
if [ -n "${duid:-}" ]; then
	wait_until 30 gone "$nd" "delete-$M1" && pass "delete: delete-$M1 deleted by the garbage collector and gone" ||
		fail "delete: delete-$M1 still there: $($K get omj -n "$nd" -o wide 2>&1)"
	exit_ran_with "$nd" "$duid" failed && pass "delete: its exit handler ran once with pipelineStatus=failed and succeeded" ||
		fail "delete: exit pods of delete-$M1: $(exit_pods_of "$nd" "$duid")"
fi

# --- M3 --------------------------------------------------------------------------------
sleep_until "$M3"
for x in "$nev every" "$nk kill" "$nsu suspend" "$nfb forbid" "$nh history"; do
	set -- $x
	wait_until 20 has_run "$1" "$2-$M3" || fail "$1: no OMJob $2-$M3: $(runs "$1" | tr '\n' ' ')"
done
cpatch "$nfb" forbid '{"spec":{"suspend":true}}'
cpatch "$nh" history '{"spec":{"suspend":true}}'
has_run "$nfb" "forbid-$M3" && pass "forbid: runs again at M3 once the first run ended"
check_run "$nsu" suspend "$M3"
runs "$nsu" | grep -q "^suspend-$M2 " && fail "suspend: M2 ran after the resume (missed times are not queued)" ||
	pass "suspend: runs again at M3 after the resume, M2 never ran"

# history: M3's run succeeds: M2's (the older success) goes, M1's (running) stays.
if wait_until 20 pod_running "$nh" "history-$M3-main"; then
	$K annotate pod -n "$nh" "history-$M3-main" sim.omjob.test/exit-code=0 >/dev/null
	if wait_until 30 gone "$nh" "history-$M2"; then
		[ "$(jp omj "$nh" "history-$M1" '{.status.phase}')" = Running ] && [ -z "$(jp omj "$nh" "history-$M1" '{.metadata.deletionTimestamp}')" ] &&
			pass "history: history-$M2 (older success) deleted once history-$M3 succeeded; history-$M1 still Running, not deleted" ||
			fail "history: history-$M1 $(jp omj "$nh" "history-$M1" '{.status.phase} {.metadata.deletionTimestamp}') (want Running, not deleting)"
		has_cev "$nh" history SuccessfulDelete Normal && pass "history: Normal SuccessfulDelete" || fail "history: Events $(cev "$nh" history)"
	else
		fail "history: history-$M2 not deleted: $($K get omj -n "$nh" 2>&1)"
	fi
	$K annotate pod -n "$nh" "history-$M1-main" sim.omjob.test/exit-code=1 >/dev/null
	wait_until 20 eval '[ "$(jp omj "$nh" "history-$M1" "{.status.phase}")" = Failed ]' || fail "history: history-$M1 did not fail"
else
	fail "history: history-$M3-main not Running"
fi

# zone: runs again once fixed.
if wait_until 20 eval '[ "$(nruns "$nz")" -ge 1 ]'; then
	zr=$(runs "$nz" | head -1 | cut -d' ' -f1)
	zt=${zr##*-}
	pass "zone: fixed to Asia/Kolkata at $(iso "$zfixed"), runs again: $zr (scheduled $(iso "$zt"))"
	check_run "$nz" zone "$zt"
	wait_until 10 eval '[ "$(cond "$nz" zone Scheduled | cut -d/ -f1)" = True ]' && pass "zone: condition Scheduled True again" ||
		fail "zone: condition Scheduled $(cond "$nz" zone Scheduled) after the fix"
else
	fail "zone: no run after the fix: $($K get comj -n "$nz" zone -o jsonpath='{.status}')"
fi

# --- M4 and the whole picture ------------------------------------------------------------
sleep_until "$M4"
for x in "$nev every" "$nk kill"; do
	set -- $x
	wait_until 20 has_run "$1" "$2-$M4" || fail "$1: no OMJob $2-$M4: $(runs "$1" | tr '\n' ' ')"
done
for x in "$nev every" "$nk kill"; do
	set -- $x
	want=$(printf '%s\n' "$2-$M1" "$2-$M2" "$2-$M3" "$2-$M4")
	have=$(awk -F'|' -v ns="$1" '$1 == "ADDED" && $2 == ns {print $3 "|" $4}' "$OWATCH_OUT" | sort -u | cut -d'|' -f1)
	[ "$have" = "$want" ] && pass "$2: exactly one OMJob for each of M1..M4 ($(tr '\n' ' ' <<<"$have")), none doubled, none skipped" ||
		fail "$2: OMJobs ever created $(tr '\n' ' ' <<<"$have") (want $(tr '\n' ' ' <<<"$want"))"
	for t in $M1 $M2 $M3 $M4; do
		expect "$1" "$2-$t" '{"row":"cron-'"$2"'","desc":"run of '"$(iso "$t")"'","phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'
	done
done
check_run "$nev" every "$M1"
check_run "$nev" every "$M4"
# Its exit pods got the placeholders replaced too.
[ "$(pod_env "$nev" "every-$M3-exit" JOB)" = "every-$M3" ] && [ "$(pod_env "$nev" "every-$M3-exit" RUN)" = "$(run_id "$nev" "every-$M3")" ] &&
	pass "every: exit pod env JOB = the OMJob's name, RUN = its run-id" ||
	fail "every: exit pod env $($K get pod -n "$nev" "every-$M3-exit" -o jsonpath='{.spec.containers[0].env}' 2>&1)"
ids=$(for t in $M1 $M2 $M3 $M4; do run_id "$nev" "every-$t"; echo; done | sort -u | grep -c . || true)
[ "$ids" -eq 4 ] && pass "every: 4 different run-ids" || fail "every: $ids different run-ids of 4 runs"
wait_finished 30 || true
# Status of "every" once M4's run is done.
wait_until 15 eval '[ "$(jp comj "$nev" every "{.status.lastSuccessfulTime}")" = "$(jp omj "$nev" "every-$M4" "{.status.completionTime}")" ]' || true
st=$($K get comj -n "$nev" every -o json)
bad=$(jq -r --arg m4 "$(iso $M4)" --arg n5 "$(iso $((M4 + 60)))" --arg last "every-$M4" '
	def ok($x; $m): if $x then empty else $m end;
	.status as $s |
	ok($s.lastScheduleTime == $m4; "lastScheduleTime \($s.lastScheduleTime) (want \($m4))"),
	ok($s.lastOMJobName == $last; "lastOMJobName \($s.lastOMJobName) (want \($last))"),
	ok($s.nextScheduleTime == $n5; "nextScheduleTime \($s.nextScheduleTime) (want \($n5))"),
	ok(($s.lastSuccessfulTime // "") >= $m4; "lastSuccessfulTime \($s.lastSuccessfulTime) (want M4 run'"'"'s completion)"),
	ok(($s.active // []) == []; "active \($s.active) (want none)"),
	ok($s.observedGeneration == .metadata.generation; "observedGeneration \($s.observedGeneration) (generation \(.metadata.generation))"),
	ok(($s.conditions // [] | map(select(.type == "Scheduled")) | .[0].status) == "True"; "condition Scheduled \($s.conditions)")' <<<"$st")
[ -z "$bad" ] && pass "every: status lastScheduleTime, lastOMJobName, nextScheduleTime, lastSuccessfulTime, active, observedGeneration, Scheduled" ||
	while IFS= read -r l; do fail "every: status $l"; done <<<"$bad"
ev=$(cev "$nev" every)
jq -e 'map(select(.reason == "SuccessfulCreate" and .type == "Normal") | .count // 1) | add == 4' <<<"$ev" >/dev/null &&
	jq -e 'any(.[]; .reason == "SawCompletedJob")' <<<"$ev" >/dev/null &&
	jq -e 'all(.[]; .type == "Normal")' <<<"$ev" >/dev/null &&
	pass "every: 4 SuccessfulCreate and SawCompletedJob Events, no Warning" || fail "every: Events $ev"

# history: what remains.
left=$($K get omj -n "$nh" -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase} {end}')
[ "$(tr ' ' '\n' <<<"$left" | grep . | sort | tr '\n' ' ')" = "history-$M1=Failed history-$M3=Succeeded " ] &&
	pass "history: limits 1/1 after 3 runs: left $left(the newest success and the failure)" ||
	fail "history: left $left (want history-$M1=Failed history-$M3=Succeeded)"
[ "$(grep -c "^DELETED|$nh|" "$OWATCH_OUT")" -eq 1 ] || fail "history: deleted $(grep "^DELETED|$nh|" "$OWATCH_OUT" | cut -d'|' -f3 | tr '\n' ' ') (want only history-$M2)"
# never and zone and delete: nothing more.
[ "$(nruns "$nnv")" -eq 0 ] && pass "never: no run in 4 minutes" || fail "never: runs $(runs "$nnv")"
[ "$(nruns "$nd")" -eq 1 ] && pass "delete: no run after the CronOMJob was deleted" || fail "delete: runs $(runs "$nd" | tr '\n' ' ')"
# Metrics of the restarted operator.
m=$(op_metrics)
awk '/^omjob_cron_runs_created_total/ {s += $NF} END {exit !(s > 0)}' <<<"$m" &&
	awk '/^omjob_cron_lateness_seconds_count/ {s += $NF} END {exit !(s > 0)}' <<<"$m" &&
	pass "metrics: omjob_cron_runs_created_total $(awk '/^omjob_cron_runs_created_total/ {s += $NF} END {print s}' <<<"$m"), omjob_cron_lateness_seconds observed" ||
	fail "metrics: no omjob_cron_runs_created_total / omjob_cron_lateness_seconds: $(grep '^omjob_cron' <<<"$m" | head -5)"

check_runs
no_restarts
# Leave nothing running: the namespaces go while the operator still runs (their
# OMJobs' finalizers need it).
for ns in $MINE; do
	$K delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
done
ns_gone() { for ns in $MINE; do ! $K get ns "$ns" >/dev/null 2>&1 || return 1; done; }
wait_until 30 ns_gone || echo "note: namespaces still terminating after 30 s: $($K get ns $MINE --no-headers 2>/dev/null | tr '\n' ' ')"
echo "elapsed $(($(now_ms) - t0)) ms"
t_done
