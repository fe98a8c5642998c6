#!/usr/bin/env bash
# docs/SCENARIOS.md row 15: operator roles killed with SIGKILL at random moments,
# repeatedly, while OMJobs of rows 1-6 run: main exit 0, exit 3, OOM-killed,
# deleted (graceful), force-deleted, evicted (Eviction API); exit handlers exit 0.
# CHAOS_OMJOBS (default 50) OMJobs of random kinds and durations are created at
# once; 0.5-2.5 s later, the operator at work, a loop starts killing a role with
# SIGKILL every 200-500 ms for CHAOS_KILL_S (default 20) seconds: the roles of
# the status table in a random order, passing over those waiting out their
# restart backoff. Only children of this test's own supervisor are signalled
# (checked in /proc just before each kill). Meanwhile the rows 4-6 main pods are
# disrupted at random moments once they run. Then the kills stop; every role
# must be READY again, every OMJob must finish, and each is checked against
# every common check of docs/SCENARIOS.md (omjob_lib.sh check_runs): exactly one
# exit pod (pod watch, one uid per name; ExitHandlerCreated Events) with the
# right env, the outcome the same as without the kills, Events, finalizers,
# nothing left running. The operator's log must show work done between the
# first and the last kill (the kills hit work in progress).
#
# Random: RANDOM is seeded from OMJOB_TEST_SEED, or from a value printed at the
# start; OMJOB_TEST_SEED=<that value> replays the same kinds, durations, order of
# disruptions and kill choices (the moments depend on the machine's speed).
# Supervisor restarts back off (1 s doubling to 30 s, reset after 60 s up), so
# roles killed at every restart are down most of the kill window: the run lasts
# about CHAOS_KILL_S + up to 30 s of backoff + the work (about 50 s here).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
SEED=${OMJOB_TEST_SEED:-$(((RANDOM << 15) | RANDOM))}
note "seed $SEED (replay: OMJOB_TEST_SEED=$SEED)"
RANDOM=$SEED
N=${CHAOS_OMJOBS:-50}
KILL_S=${CHAOS_KILL_S:-20}
t0=$(now_ms)
STOP=$OP_TMP/stop-kills
KILLS=$OP_TMP/kills
: >"$KILLS"
KILLER=
DISRUPTER=
BIN_REAL=$(readlink -f "$OMJOB_BIN")
chaos_cleanup() {
	touch "$STOP"
	[ -n "$KILLER" ] && wait "$KILLER" 2>/dev/null
	[ -n "$DISRUPTER" ] && kill "$DISRUPTER" 2>/dev/null || true
	cleanup
}
trap chaos_cleanup EXIT

# roles_of: live (not zombie) children of $SUP running our binary.
roles_of() {
	local p st
	children_of "$SUP" | while read -r p st; do
		if [ "$st" != Z ] && [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$BIN_REAL" ]; then echo "$p"; fi
	done
	return 0
}
# shuffle ARRAY: shuffles the array named ARRAY in place, from RANDOM (so that
# OMJOB_TEST_SEED replays it).
shuffle() {
	local -n shuffled=$1
	local i j x
	for ((i = ${#shuffled[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		x=${shuffled[$i]}
		shuffled[$i]=${shuffled[$j]}
		shuffled[$j]=$x
	done
}
# kill_loop SEED: every 200-500 ms, SIGKILLs the next role of a random order of
# the status table's roles that has a live process (roles waiting out their
# restart backoff are passed over and stay due), so that every role is killed
# in turn, at random moments; until $STOP exists. The pid must be a child of
# $SUP running our binary, checked just before the kill.
kill_loop() {
	local queue=() st p role i
	RANDOM=$1
	while [ ! -e "$STOP" ]; do
		sleep "0.$((2 + RANDOM % 4))"
		st=$(op_status) || continue
		if [ "${#queue[@]}" -eq 0 ]; then
			mapfile -t queue < <(echo "$st" | awk 'NR > 2 {print $1}')
			shuffle queue
		fi
		for i in "${!queue[@]}"; do
			role=${queue[$i]}
			p=$(echo "$st" | awk -v r="$role" '$1 == r && $2 ~ /^[0-9]+$/ && $3 != "BACKOFF" {print $2}')
			[ -n "$p" ] && roles_of | grep -x "$p" >/dev/null || continue # no -q: pipefail
			kill -KILL "$p" 2>/dev/null && echo "$(now_ms) $p $role" >>"$KILLS" || true
			unset "queue[$i]"
			queue=("${queue[@]}")
			break
		done
	done
}

# all_ready: the operator says ready and every role is READY.
all_ready() {
	local st
	st=$(op_status) && echo "$st" | grep -q '^omjob-operator ready:' && [ -z "$(echo "$st" | awk 'NR > 2 && $3 != "READY"')" ]
}

start_pod_watch
start_operator
SUP=$OP_PID

NSS=("$(new_ns kill)" "$(new_ns kill)")
# The OMJobs, of random kinds and durations, all created at once (one request
# stream per namespace) so that the kills find work in progress.
DISRUPT=() # "ns name action"
declare -A KINDS
: >"$OP_TMP/batch0"
: >"$OP_TMP/batch1"
for i in $(seq 1 "$N"); do
	b=$((RANDOM % 2))
	ns=${NSS[$b]}
	name=$(printf 'j%03d' "$i")
	k=$((RANDOM % 6))
	run="$((RANDOM % 3))s"
	xa="{\"exit\":0,\"run\":\"$((RANDOM % 2))s\"}"
	KINDS[$k]=$((${KINDS[$k]:-0} + 1))
	case $k in
	0)
		omjob_json "$ns" "$name" "{\"exit\":0,\"run\":\"$run\"}" "$xa"
		expect "$ns" "$name" '{"row":1,"phase":"Succeeded","reason":"Completed","codes":[0],"attempts":1,"xcode":0}'
		;;
	1)
		omjob_json "$ns" "$name" "{\"exit\":3,\"run\":\"$run\"}" "$xa"
		expect "$ns" "$name" '{"row":2,"phase":"Failed","reason":"Error","codes":[3],"attempts":1,"xcode":0,"msg":"Error|exit code 3"}'
		;;
	2)
		omjob_json "$ns" "$name" "{\"exit\":137,\"reason\":\"OOMKilled\",\"run\":\"$run\"}" "$xa"
		expect "$ns" "$name" '{"row":3,"phase":"Failed","reason":"OOMKilled","codes":[137],"attempts":1,"xcode":0,"msg":"OOMKilled"}'
		;;
	3)
		omjob_json "$ns" "$name" '{}' "$xa"
		expect "$ns" "$name" '{"row":4,"phase":"Failed","reason":"Deleted","codes":[null,137],"attempts":1,"xcode":0,"msg":"delet","stays":false}'
		DISRUPT+=("$ns $name delete")
		;;
	4)
		omjob_json "$ns" "$name" '{}' "$xa"
		expect "$ns" "$name" '{"row":5,"phase":"Failed","reason":"Deleted","codes":[null,137],"attempts":1,"xcode":0,"msg":"delet","stays":false}'
		DISRUPT+=("$ns $name force")
		;;
	5)
		omjob_json "$ns" "$name" '{}' "$xa"
		expect "$ns" "$name" '{"row":6,"phase":"Failed","reason":"Evicted","codes":[null,137],"attempts":1,"xcode":0,"msg":"evict","stays":false}'
		DISRUPT+=("$ns $name evict")
		;;
	esac >>"$OP_TMP/batch$b"
done
tc=$(now_ms)
CPIDS=()
for b in 0 1; do
	jq -s '{apiVersion: "v1", kind: "List", items: .}' "$OP_TMP/batch$b" | $K create -n "${NSS[$b]}" -f - >/dev/null 2>"$OP_TMP/create$b.err" &
	CPIDS+=($!)
done
for p in "${CPIDS[@]}"; do wait "$p" || true; done
created=$($K get omj -n "${NSS[0]}" -o name | wc -l)
created=$((created + $($K get omj -n "${NSS[1]}" -o name | wc -l)))
[ "$created" -eq "$N" ] && pass "$N OMJobs created in $(($(now_ms) - tc)) ms (rows 1-6: ${KINDS[0]:-0} ${KINDS[1]:-0} ${KINDS[2]:-0} ${KINDS[3]:-0} ${KINDS[4]:-0} ${KINDS[5]:-0})" ||
	fail "$created of $N OMJobs created: $(cat "$OP_TMP"/create*.err)"

# The kills start at a random moment 0.5-2.5 s later, the operator at work.
sleep "$((RANDOM % 3)).$((5 + RANDOM % 5))"
KILL_SEED=$RANDOM
(kill_loop "$KILL_SEED") &
KILLER=$!
tk=$(now_ms)

# Disrupt the rows 4-6 main pods once they run, in a random order, in the
# background (the kills stop after KILL_S whatever happens here). Results in
# $DRES, one "ok ..." or "FAIL ..." line each.
shuffle DISRUPT
DRES=$OP_TMP/disruptions
: >"$DRES"
disrupt_all() {
	local d dns dname
	RANDOM=$1
	for d in "${DISRUPT[@]}"; do
		set -- $d
		dns=$1 dname=$2
		if ! wait_until 120 pod_phase_is "$dns" "$dname-main" Running; then
			echo "FAIL $dns/$dname: main pod not Running within 120 s: $($K get pod -n "$dns" "$dname-main" 2>&1)" >>"$DRES"
			continue
		fi
		[ $((RANDOM % 2)) -eq 0 ] && sleep "0.$((RANDOM % 10))"
		case $3 in
		delete) $K delete pod -n "$dns" "$dname-main" --wait=false >/dev/null 2>&1 ;;
		force) $K delete pod -n "$dns" "$dname-main" --grace-period=0 --force --wait=false >/dev/null 2>&1 ;;
		evict) evict "$dns" "$dname-main" 2>/dev/null ;;
		esac && echo "ok $dns/$dname $3 $(($(now_ms) - tk))" >>"$DRES" ||
			echo "FAIL $dns/$dname: $3 refused" >>"$DRES"
	done
}
(disrupt_all "$RANDOM") &
DISRUPTER=$!

# Keep killing until KILL_S have passed.
while [ $(($(now_ms) - tk)) -lt $((KILL_S * 1000)) ]; do sleep 0.5; done
touch "$STOP"
wait "$KILLER" 2>/dev/null || true
KILLER=
nk=$(wc -l <"$KILLS")
nr=$(awk '{print $3}' "$KILLS" | sort -u | wc -l)
nroles=$(op_status | awk 'NR > 2' | wc -l)
per_role=$(awk '{print $3}' "$KILLS" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
[ "$nk" -ge "$KILL_S" ] && [ "$nr" -eq "$nroles" ] &&
	pass "$nk roles killed with SIGKILL in $(($(now_ms) - tk)) ms, each of the $nroles at least once: $per_role" ||
	fail "$nk kills in $KILL_S s (want >= 1 a second), $nr of $nroles roles: $per_role"
# Work between the first and the last kill: phase changes and pod creations.
k1=$(awk 'NR == 1 {print int($1 / 1000)}' "$KILLS")
k2=$(awk 'END {print int($1 / 1000)}' "$KILLS")
nw=$(jq -r --argjson a "${k1:-0}" --argjson b "${k2:-0}" 'select(.msg == "phase" or .msg == "pod created")
	| (.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) | select(. >= $a and . <= $b)' "$OP_LOG" 2>/dev/null | wc -l)
[ "$nw" -gt 0 ] && pass "the kills hit work in progress: $nw phase changes and pod creations between the first and the last kill" ||
	fail "no work logged between the first and the last kill ($k1..$k2)"
tr=$(now_ms)
wait "$DISRUPTER" || true
DISRUPTER=
while read -r r rest; do
	if [ "$r" = FAIL ]; then fail "$rest"; fi
done <"$DRES"
nd=$(grep -c '^ok' "$DRES" || true)
[ "$nd" -eq "${#DISRUPT[@]}" ] &&
	pass "$nd main pods disrupted (deleted, force-deleted, evicted), $(awk '$1 == "ok" && $4 < '$((KILL_S * 1000))'' "$DRES" | wc -l) of them during the kills" ||
	fail "$nd of ${#DISRUPT[@]} main pods disrupted: $(tr '\n' ' ' <"$DRES" | head -c 1500)"
# The supervisor restarts every role (backoff at most 30 s).
if wait_until 60 all_ready; then
	pass "every role READY again $(($(now_ms) - tr)) ms after the kills stopped"
else
	fail "roles not READY 60 s after the kills stopped: $(op_status)"
fi

check_finished 120 "$tr" "after the kills stopped"
check_runs quiet
kill -0 "$SUP" && pass "the supervisor survived" || fail "the supervisor died"
# The supervisor executes itself again with glibc's per-thread malloc cache off
# (cmd/main.c, ARCHITECTURE.md "Idle memory"); roles restarted after the kills
# inherit it. Not in an ASan build (its own allocator).
if ! ldd "$BIN_REAL" 2>/dev/null | grep -q libasan; then
	nt=0 nall=0
	for p in $SUP $(roles_of); do
		nall=$((nall + 1))
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'GLIBC_TUNABLES=glibc.malloc.tcache_count=0' && nt=$((nt + 1))
	done
	[ "$nt" -eq "$nall" ] && [ "$nall" -gt 1 ] &&
		pass "the supervisor and its $((nall - 1)) roles (restarted ones too) run with glibc's tcache off" ||
		fail "GLIBC_TUNABLES=glibc.malloc.tcache_count=0 in $nt of $nall processes"
fi
note "seed $SEED, elapsed $(($(now_ms) - t0)) ms"
t_done
