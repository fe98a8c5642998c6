#!/usr/bin/env bash
# docs/SCENARIOS.md row 19 (ttlSecondsAfterFinished elapses), against the real
# API server: the operator runs as its restricted identity with the reconcilers disabled (this
# test writes the finished status itself, through the status subresource) and
# WATCH_NAMESPACES set to the test's namespace. Asserts: TTL 0 deleted within 2 s
# of the status write; TTL 3 deleted between 3 and 5 s after completionTime, its
# pod (ownerReference) garbage-collected, a ResourcesCleanedUp Event; an OMJob
# finished and expired before the operator started is deleted at start (resync);
# a TTL raised before expiry is honoured (not deleted at the old time, deleted at
# the new one); an OMJob deleted and recreated under the same name, not finished,
# is not deleted; an unfinished OMJob is not deleted; an OMJob finished while the
# watcher restarts (SIGKILL) is deleted; the metrics count it all; a clean stop.
#
# RESOURCE_LOCK: omjob_operator (tests/tests.cmake): a whole operator of another
# test, watching every namespace, would reconcile these OMJobs and fight the
# status this test writes.
. "$(dirname "$0")/lib.sh"
: "${OMJOB_BIN:?}" "${OMJOB_TEST_KUBECONFIG:?}"
RUN=$(mktemp -d /tmp/omttl.XXXX)
LOG=$RUN.log
WATCHLOG=$RUN.watch
SUP=""
WPID=""

cleanup() {
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null || true
	if [ -n "$SUP" ]; then
		kill -TERM "$SUP" 2>/dev/null || true
		timeout 25 tail --pid="$SUP" -f /dev/null 2>/dev/null || kill -KILL "$SUP" 2>/dev/null || true
	fi
	if [ "$T_FAILS" -gt 0 ] || [ -n "${KEEP_LOGS:-}" ]; then
		echo "--- operator log (last 60 lines)" >&2
		tail -60 "$LOG" >&2
		echo "--- watch" >&2
		cat "$WATCHLOG" >&2
	fi
	rm -rf "$RUN" "$LOG" "$WATCHLOG"
	t_cleanup
}
trap cleanup EXIT

NS=ttl-$(printf '%04x%04x' $RANDOM $RANDOM)
$K create namespace "$NS" >/dev/null
T_NAMESPACES+=("$NS")

omjob() { # NAME TTL (TTL "-": absent)
	local ttl=""
	[ "$2" = - ] || ttl="ttlSecondsAfterFinished: $2, "
	printf 'apiVersion: pipelines.openmetadata.org/v1\nkind: OMJob\nmetadata: {name: %s}\nspec: {%smainPodSpec: {image: busybox}}\n' \
		"$1" "$ttl" | $K create -n "$NS" -f - >/dev/null
	$K get omj -n "$NS" "$1" -o jsonpath='{.metadata.uid}'
}
# finish NAME [COMPLETION]: phase Succeeded and a completionTime (default: now,
# whole seconds, as the reconciler writes it). Prints the completion in unix ms.
finish() {
	local c=${2:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
	$K patch omj -n "$NS" "$1" --subresource=status --type=merge \
		-p "{\"status\":{\"phase\":\"Succeeded\",\"completionTime\":\"$c\"}}" >/dev/null
	echo $(($(date -d "$c" +%s) * 1000))
}
pod_of() { # POD OMJOB UID: a pod owned by the OMJob, as the reconciler makes them
	printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  labels: {app.kubernetes.io/managed-by: omjob-operator, omjob.pipelines.openmetadata.org/name: %s}\n  ownerReferences: [{apiVersion: pipelines.openmetadata.org/v1, kind: OMJob, name: %s, uid: %s, controller: true, blockOwnerDeletion: true}]\nspec: {restartPolicy: Never, containers: [{name: main, image: busybox}]}\n' \
		"$1" "$2" "$2" "$3" | $K create -n "$NS" -f - >/dev/null
}
exists() { $K get omj -n "$NS" "$1" -o name >/dev/null 2>&1; }
gone() { ! exists "$1"; }
uid_of() { $K get omj -n "$NS" "$1" -o jsonpath='{.metadata.uid}' 2>/dev/null; }
# The time (unix ms) of the watch's DELETED event for NAME with UID; empty if none.
deleted_at() { awk -v n="$1" -v u="$2" '$2 == "DELETED" && $3 == n && $4 == u {print $1; exit}' "$WATCHLOG"; }
# sleep_until MS: sleeps until the unix time MS.
sleep_until() {
	local d=$(($1 - $(now_ms)))
	[ "$d" -le 0 ] || sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
}

# Every OMJob change in the namespace, stamped on arrival (ms).
$K get omj -n "$NS" --watch-only --output-watch-events \
	-o jsonpath='{.type} {.object.metadata.name} {.object.metadata.uid}{"\n"}' 2>/dev/null |
	while read -r t n u; do
		echo "$(now_ms) $t $n $u"
	done >"$WATCHLOG" &
WPID=$!

# Before the operator starts: one finished and expired long ago (found by the
# first resync), one unfinished.
early_uid=$(omjob early 5)
finish early "$(date -u -d '-60 seconds' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
omjob idle 0 >/dev/null

ports=$(free_ports 2)
read -r HP MP <<<"$ports"
env KUBECONFIG="$OMJOB_TEST_KUBECONFIG" OMJOB_RUN_DIR="$RUN" WATCH_NAMESPACES="$NS" \
	HEALTH_CHECK_PORT="$HP" METRICS_PORT="$MP" OMJOB_HTTP_BIND_ADDRESS=127.0.0.1 \
	RECONCILIATION_THREADS=2 LOG_FORMAT=text \
	"$OMJOB_BIN" --disable-role reconciler 2>"$LOG" &
SUP=$!
ready() { [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$HP/readyz")" = 200 ]; }
if wait_until 30 ready; then pass "operator ready"; else fail "operator not ready in 30 s"; exit 1; fi

if wait_until 5 gone early; then
	pass "finished and expired before the start: deleted after the first resync"
else
	fail "early not deleted within 5 s of readiness"
fi

# TTL 0: within 2 s of the status write.
uid0=$(omjob ttl0 0)
pod_of ttl0-main ttl0 "$uid0"
t0=$(now_ms)
finish ttl0 >/dev/null
if wait_until 2 gone ttl0; then
	pass "ttl 0 deleted $(($(now_ms) - t0)) ms after the status write"
else
	fail "ttl 0 not deleted within 2 s"
fi

# TTL 3, with a pod; an edited TTL (3 -> 8 before expiry); a recreated OMJob;
# an unfinished one with TTL 0 (idle, above).
uid3=$(omjob ttl3 3)
pod_of ttl3-main ttl3 "$uid3"
uide=$(omjob edited 3)
omjob recreated 2 >/dev/null
c3=$(finish ttl3)
ce=$(finish edited)
finish recreated >/dev/null
$K patch omj -n "$NS" edited --type=merge -p '{"spec":{"ttlSecondsAfterFinished":8}}' >/dev/null
$K delete omj -n "$NS" recreated --wait=true >/dev/null
uidr2=$(omjob recreated 2)

# (A GET takes up to a few hundred ms on a busy machine: ask with margin; the
# watch's DELETED time below bounds the deletion from both sides.)
sleep_until $((c3 + 2500))
if exists ttl3; then
	pass "ttl 3 still there 2.5 s after completionTime"
elif [ "$(now_ms)" -ge $((c3 + 3000)) ]; then
	# A loaded machine (seen at load average 100) asked too late: the watch's
	# DELETED time below still bounds the deletion from both sides.
	note "ttl 3 gone when asked, $(($(now_ms) - c3)) ms after completionTime (asked too late)"
else
	fail "ttl 3 deleted before 2.5 s"
fi
wait_until 4 gone ttl3 || true
d3=$(deleted_at ttl3 "$uid3")
if [ -n "$d3" ] && [ $((d3 - c3)) -ge 3000 ] && [ $((d3 - c3)) -le 5000 ]; then
	pass "ttl 3 deleted $((d3 - c3)) ms after completionTime"
else
	fail "ttl 3: deleted at '${d3:-never}', completionTime $c3"
fi
if wait_until 15 eval '! $K get pod -n "$NS" ttl3-main -o name'; then
	pass "its pod garbage-collected"
else
	fail "pod ttl3-main still there 15 s later"
fi
if wait_until 15 eval '! $K get pod -n "$NS" ttl0-main -o name'; then
	pass "ttl 0's pod garbage-collected"
else
	fail "pod ttl0-main still there 15 s later"
fi
ev=$($K get events -n "$NS" --field-selector involvedObject.name=ttl3,reason=ResourcesCleanedUp \
	-o jsonpath='{range .items[*]}{.type}|{.involvedObject.uid}|{.source.component}|{.message}{"\n"}{end}')
case $ev in
"Normal|$uid3|omjob-operator|deleted "*" s after completion (ttlSecondsAfterFinished=3)")
	pass "ResourcesCleanedUp Event: $ev" ;;
*) fail "ResourcesCleanedUp Event of ttl3: '$ev'" ;;
esac

sleep_until $((ce + 5500))
if exists edited; then pass "TTL raised to 8 s: not deleted at the old time"; else fail "edited deleted at the old time"; fi
if [ "$(uid_of recreated)" = "$uidr2" ]; then
	pass "recreated (new uid, not finished) not deleted"
else
	fail "recreated: uid '$(uid_of recreated)', want $uidr2"
fi
if exists idle; then pass "unfinished OMJob (ttl 0) not deleted"; else fail "idle deleted"; fi
wait_until 4 gone edited || true
de=$(deleted_at edited "$uide")
if [ -n "$de" ] && [ $((de - ce)) -ge 8000 ] && [ $((de - ce)) -le 10000 ]; then
	pass "edited deleted $((de - ce)) ms after completionTime (TTL 8)"
else
	fail "edited: deleted at '${de:-never}', completionTime $ce"
fi
[ -n "$(deleted_at early "$early_uid")" ] || fail "no DELETED event seen for early"

# The watcher killed: an OMJob finished while it restarts is deleted all the same
# (the cleaner resyncs with the new publisher).
wpid=$(OMJOB_RUN_DIR=$RUN timeout 10 "$OMJOB_BIN" status 2>/dev/null | awk '$1 == "watcher" {print $2}')
if [ -n "$wpid" ] && kill -KILL "$wpid"; then
	omjob afterkill 1 >/dev/null
	ca=$(finish afterkill)
	if wait_until 15 gone afterkill; then
		pass "finished while the watcher restarted: deleted $(($(now_ms) - ca)) ms after completionTime (TTL 1)"
	else
		fail "afterkill not deleted 15 s after the watcher was killed"
	fi
else
	fail "no watcher pid in the status table"
fi

# Metrics: 5 deletions (early, ttl0, ttl3, edited, afterkill), the delay
# histogram, the cleaner's API requests.
m=$(curl -s -m 5 "http://127.0.0.1:$MP/metrics")
n=$(echo "$m" | awk '$1 ~ /^omjob_ttl_deletions_total\{/ {print $2}')
if [ "$n" = 5 ]; then pass "omjob_ttl_deletions_total 5"; else fail "omjob_ttl_deletions_total '$n'"; fi
if echo "$m" | grep -q '^omjob_ttl_delay_seconds_count{role="cleaner"} 5$'; then
	pass "omjob_ttl_delay_seconds has 5 observations"
else
	fail "omjob_ttl_delay_seconds: $(echo "$m" | grep omjob_ttl_delay_seconds_count)"
fi
# Every change reached the cleaner with its TTL facts in the "ttl" hint: no
# GET_KEY to the watcher per change (docs/PROTOCOL.md, "Hints").
hh=$(echo "$m" | awk '$1 ~ /^omjob_ttl_hints_total\{/ && $1 ~ /source="hint"/ {print $2}')
hg=$(echo "$m" | awk '$1 ~ /^omjob_ttl_hints_total\{/ && $1 ~ /source="get_key"/ {print $2}')
if [ "${hh:-0}" -ge 5 ] 2>/dev/null && [ "${hg:-0}" = 0 ]; then
	pass "the cleaner took $hh OMJob changes from the hints' TTL facts, none by GET_KEY"
else
	fail "omjob_ttl_hints_total: hint '$hh', get_key '$hg'"
fi
if echo "$m" | grep -Eq '^rest_client_requests_total\{.*method="DELETE".*role="cleaner"|^rest_client_requests_total\{.*role="cleaner".*method="DELETE"'; then
	pass "rest_client_requests_total counts the cleaner's DELETEs"
else
	fail "no DELETE in the cleaner's rest_client_requests_total: $(echo "$m" | grep rest_client_requests_total | grep cleaner)"
fi

# A clean stop: every role exits 0, and no sanitizer report (ASan builds).
kill -TERM "$SUP"
if timeout 25 tail --pid="$SUP" -f /dev/null; then
	wait "$SUP" && rc=0 || rc=$?
	if [ "$rc" = 0 ]; then pass "the operator stops with exit 0"; else fail "operator exit $rc"; fi
else
	fail "operator did not stop within 25 s"
fi
SUP=""
if grep -q 'role stopped role=cleaner .*status="exit 0"' "$LOG"; then
	pass "the cleaner stopped with exit 0"
else
	fail "cleaner stop: $(grep 'role stopped role=cleaner' "$LOG")"
fi
if grep -Eq 'Sanitizer|runtime error:' "$LOG"; then
	fail "sanitizer report in the operator's log: $(grep -E -A5 'Sanitizer|runtime error:' "$LOG" | head -20)"
fi
t_done
