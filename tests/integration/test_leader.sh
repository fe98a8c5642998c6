#!/usr/bin/env bash
# docs/SCENARIOS.md row 18: two replicas of the operator (two supervisors, two run
# directories, two identities, two health ports) with LEADER_ELECTION=true on the
# local control plane, 50 OMJobs in flight. The leader is SIGKILLed: the follower
# takes over within lease duration + retry period (and not before the Lease
# expired); the killed one is started again and follows; the leader is SIGTERMed:
# it releases the Lease and the other takes over within 3 s; the leader's elector
# is stopped (SIGSTOP): its supervisor kills its writers at the renew deadline,
# before the other replica takes over. Every OMJob ends
# correctly with its exit handler exactly once (omjob_lib.sh check_runs: exit pods
# by UID over the whole run, env, status, Events, finalizers); a follower made no
# write while it followed (its rest_client_requests_total, every role, by verb);
# followers are Ready; omjob_leader, /info, `status` and the LeaderElection Events
# show the holder. Lease timings shortened: 5 s / 3 s / 1 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
t0=$(now_ms)
N=50
D=5 R=1 # lease duration, retry period (renew deadline 3)
LNS=omjob-system # where the operator's RBAC grants leases (deploy/rbac/rbac.yaml)
LEASE=omjob-operator # the name the shipped RBAC grants (deploy/rbac/rbac.yaml)
declare -A PID HP MP
ID_a=leader-test-a-$$
ID_b=leader-test-b-$$

# use_op X: omjob_lib's single-operator helpers (op_status, op_metrics,
# stop_operator, no_restarts) then act on replica X.
# shellcheck disable=SC2034 # omjob_lib.sh reads OP_RUN and the others
use_op() {
	OP_RUN=$OP_TMP/r$1 OP_LOG=$OP_TMP/$1.log OP_PID=${PID[$1]:-} OP_HP=${HP[$1]:-} OP_MP=${MP[$1]:-}
}
start_replica() {
	local id=ID_$1
	use_op "$1"
	start_operator RECONCILIATION_THREADS=3 LEADER_ELECTION=true OPERATOR_NAMESPACE=$LNS \
		LEADER_ELECTION_LEASE_NAME="$LEASE" POD_NAME="${!id}" \
		LEADER_ELECTION_LEASE_DURATION_SECONDS=$D LEADER_ELECTION_RENEW_DEADLINE_SECONDS=3 \
		LEADER_ELECTION_RETRY_PERIOD_SECONDS=$R
	PID[$1]=$OP_PID HP[$1]=$OP_HP MP[$1]=$OP_MP
}
holder() { $K get lease -n "$LNS" "$LEASE" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
holder_is() { [ "$(holder)" = "$1" ]; }
# leads X: replica X's /info says it leads (its elector's acquisition succeeded);
# polled rather than the Lease: a curl costs milliseconds, a kubectl 100 or more.
leads() {
	[ "$(curl -s -m 1 "http://127.0.0.1:${HP[$1]}/info" | jq -r .leaderElection.leader 2>/dev/null)" = true ]
}
# writes X: replica X's API writes (POST, PUT, PATCH, DELETE) by every role but the
# watcher, from its /metrics; "?" when the scrape failed. The watcher runs in every
# replica and writes nothing: its only POSTs are SelfSubjectAccessReviews at start
# (questions, roles/watcher/crdcheck.c).
writes() {
	use_op "$1"
	op_metrics | awk '/^omjob_leader\{/ { ok = 1 }
		/^rest_client_requests_total\{/ && /method="(POST|PUT|PATCH|DELETE)"/ && !/role="watcher"/ { s += $2 }
		END { if (ok) print s + 0; else print "?" }'
}
leader_metric() { use_op "$1" && op_metrics | awk '/^omjob_leader\{/ { print $2 }'; }
follows() { use_op "$1" && op_status | grep -q '^omjob-operator ready: .*; leader election: this replica follows'; }

finish() {
	local x
	for x in a b; do
		use_op "$x"
		stop_operator || true
		if [ "$T_FAILS" -gt 0 ] && [ -f "$OP_LOG" ]; then
			echo "--- replica $x (last 40 lines)" >&2
			tail -40 "$OP_LOG" >&2
		fi
	done
	$K delete lease -n "$LNS" "$LEASE" --ignore-not-found >/dev/null 2>&1 || true
	OP_PID=
	cleanup
}
trap finish EXIT

# A Lease left by an earlier run would hold the first replica back for its duration.
$K delete lease -n "$LNS" "$LEASE" --ignore-not-found >/dev/null 2>&1 || true
start_pod_watch
start_replica a
wait_until 10 holder_is "$ID_a" && pass "replica a holds the Lease" || fail "no holder a: '$(holder)'"
start_replica b
follows b && pass "replica b follows, and is Ready (/readyz 200) with its writers on STANDBY" ||
	fail "b does not follow: $(op_status)"
use_op b
info=$(curl -s -m 5 "http://127.0.0.1:$OP_HP/info" | jq -c .leaderElection)
[ "$info" = "{\"holder\":\"$ID_a\",\"leader\":false}" ] && pass "b's /info: $info" || fail "b's /info leaderElection: $info"
[ "$(leader_metric a)/$(leader_metric b)" = 1/0 ] && pass "omjob_leader: a 1, b 0" ||
	fail "omjob_leader a=$(leader_metric a) b=$(leader_metric b)"

# 50 OMJobs of rows 1, 2, 3, 12 and 14 whose main pods run 3 to 19 s: in flight
# across both takeovers.
ns=$(new_ns leader)
KINDS='[
 {"m": {"exit-code": "0"}, "x": {"exit-code": "0", "run-for": "1s"},
  "e": {"row": 1, "phase": "Succeeded", "reason": "Completed", "codes": [0], "attempts": 1, "xcode": 0}},
 {"m": {"exit-code": "3"}, "x": {"exit-code": "0"},
  "e": {"row": 2, "phase": "Failed", "reason": "Error", "codes": [3], "attempts": 1, "xcode": 0, "msg": "Error|exit code 3"}},
 {"m": {"exit-code": "137", "reason": "OOMKilled"}, "x": {"exit-code": "0"},
  "e": {"row": 3, "phase": "Failed", "reason": "OOMKilled", "codes": [137], "attempts": 1, "xcode": 0, "msg": "OOMKilled"}},
 {"m": {"exit-code": "0"}, "x": {"exit-code": "2", "run-for": "1s"},
  "e": {"row": 12, "phase": "Failed", "reason": "Completed", "codes": [0], "attempts": 1, "xcode": 2, "failed": "ExitHandlerFailed", "msg": "exit[ -]?handler"}},
 {"m": {"exit-code": "0"}, "x": null,
  "e": {"row": 14, "phase": "Succeeded", "reason": "Completed", "codes": [0], "attempts": 0}}
]'
jq -nr --argjson kinds "$KINDS" --arg ns "$ns" --argjson n $N '
	def sim: with_entries(.key |= "sim.omjob.test/" + .);
	def pod($a): {image: "busybox", command: ["sh", "-c", "true"], annotations: ($a | sim)};
	[range(0; $n) as $i | $kinds[$i % 5] as $k
	 | {name: ("j" + ($i | tostring)), k: ($k | .m += {"run-for": "\(3 + ($i % 9) * 2)s"})}] as $jobs
	| ({apiVersion: "v1", kind: "List", items: [$jobs[] |
		{apiVersion: "pipelines.openmetadata.org/v1", kind: "OMJob", metadata: {name},
		 spec: ({mainPodSpec: pod(.k.m), ttlSecondsAfterFinished: 3600}
			+ (if .k.x == null then {} else {exitHandlerSpec: pod(.k.x)} end))}]} | tojson),
	  ($jobs[] | .k.e + {ns: $ns, name, desc: "across two takeovers"} | tojson)' >"$OP_TMP/gen"
head -1 "$OP_TMP/gen" >"$OP_TMP/batch.json"
tail -n +2 "$OP_TMP/gen" >>"$CASES"
tc=$(now_ms)
$K create -n "$ns" -f "$OP_TMP/batch.json" >/dev/null
running() { [ "$($K get pods -n "$ns" --field-selector status.phase=Running -o name | wc -l)" -ge 20 ]; }
wait_until 30 running && pass "$N OMJobs created, 20 main pods running" || fail "main pods not running: $($K get pods -n "$ns" 2>&1 | head -5)"

# SIGKILL the leader (the whole replica: its roles die with the supervisor).
wb=$(writes b)
[ "$wb" = 0 ] && pass "follower b made no API write while following" || fail "follower b wrote: $wb"
kids=$(children_of "${PID[a]}" | cut -d' ' -f1)
tk=$(now_ms)
kill -KILL "${PID[a]}"
wait "${PID[a]}" 2>/dev/null || true
PID[a]=
if T_POLL=0.02 wait_until 15 leads b; then
	dt=$(($(now_ms) - tk))
	# a renewed at most R s before the kill; b's clock starts when it saw that.
	if [ "$dt" -le $(((D + R) * 1000 + 800)) ] && [ "$dt" -ge $(((D - R) * 1000 - 300)) ]; then
		pass "after SIGKILL of the leader, b took over in $dt ms (lease $D s + retry $R s; not before expiry)"
	else
		fail "after SIGKILL, takeover in $dt ms: outside [$(((D - R) * 1000)), $(((D + R) * 1000))] (-300/+800 ms: the acquiring requests under load, polling)"
	fi
else
	fail "b did not take over after SIGKILL: holder '$(holder)'"
fi
holder_is "$ID_b" && pass "the Lease names b" || fail "the Lease names '$(holder)', not b"
gone() { for p in $kids; do ! alive "$p" || return 1; done; }
wait_until 10 gone || fail "a's roles outlived it: $kids"

# a again, now the follower; then SIGTERM the leader b.
start_replica a
follows a && pass "replica a, started again, follows" || fail "a does not follow: $(op_status)"
sleep 2
wa=$(writes a)
[ "$wa" = 0 ] && pass "follower a made no API write while following" || fail "follower a wrote: $wa"
tt=$(now_ms)
kill -TERM "${PID[b]}"
if T_POLL=0.02 wait_until 5 leads a; then
	dt=$(($(now_ms) - tt))
	[ "$dt" -le 3000 ] && pass "after SIGTERM of the leader, a took over in $dt ms (<= 3 s)" ||
		fail "after SIGTERM, takeover in $dt ms (> 3 s)"
else
	fail "a did not take over after SIGTERM: holder '$(holder)'"
fi
use_op b
stop_operator && pass "b stopped cleanly (exit 0)" || fail "b: $OP_STOP"
PID[b]=

# Fencing: a leader whose elector cannot renew (stopped) kills its writers at the
# renew deadline (3 s), before the other may take over (5 s after the renewal).
start_replica b
follows b || fail "b, started again, does not follow: $(op_status)"
use_op a
epid=$(op_status | awk '$1 == "elector" { print $2 }')
kill -STOP "$epid"
if wait_until 15 holder_is "$ID_b"; then
	fenced=$(grep '"not leading: stopped the roles that write"' "$OP_TMP/a.log" | tail -1 | jq -r .time)
	led=$(grep '"became leader"' "$OP_TMP/b.log" | tail -1 | jq -r .time)
	[ -n "$fenced" ] && [[ $fenced < $led ]] &&
		pass "elector of a stopped: a's writers killed at $fenced, before b led at $led" ||
		fail "fencing: a's writers stopped at '${fenced:-never}', b led at $led"
else
	fail "b did not take over from a stopped elector: holder '$(holder)'"
fi
kill -CONT "$epid"
wait_until 5 follows a && pass "a's elector resumed: a follows" || fail "a does not follow: $(op_status)"
use_op a
[ -z "$(op_status | awk 'NR > 2 && $1 ~ /^(reconciler|cleaner|scheduler)/ && $2 != "-"')" ] &&
	pass "a's writers stay down while it follows" || fail "a's writers run: $(op_status)"

check_finished 90 "$tc" "after creation"
check_runs quiet
wb=$(writes b)
[ "$wb" != "?" ] && [ "$wb" -gt 0 ] && pass "leader b wrote once it led ($wb writes: the counter counts)" ||
	fail "leader b: writes $wb"
# This run's Lease (deleted at the start, so its uid is new): other runs' Events stay.
luid=$($K get lease -n "$LNS" "$LEASE" -o jsonpath='{.metadata.uid}')
ev=$($K get events -n "$LNS" -o json | jq -c --arg l "$LEASE" --arg u "$luid" '[.items[] | select(.involvedObject.kind == "Lease" and .involvedObject.name == $l and .involvedObject.uid == $u and .reason == "LeaderElection") | .message] | sort')
want=$(jq -cn --arg a "$ID_a" --arg b "$ID_b" '["\($a) became leader", "\($b) became leader", "\($b) stopped leading"] | sort')
# a and b became leader twice each: one Event each, aggregated (count 2).
[ "$ev" = "$want" ] && pass "LeaderElection Events on the Lease: $ev" || fail "LeaderElection Events: $ev, want $want"
use_op b
no_restarts
! grep -l Sanitizer "$OP_TMP"/[ab].log || fail "sanitizer report in a replica's log"
note "elapsed $(($(now_ms) - t0)) ms"
t_done
