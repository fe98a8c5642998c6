#!/usr/bin/env bash
# The watcher role alone, as the operator's restricted identity, against the real
# API server: OMJob and pod changes show in its cache (`omjob-operator cache`)
# within two seconds, pods without the omjob.../name label are not cached (those
# with it are, whatever their managed-by: the original operator's), shards
# partition the keys, WATCH_NAMESPACES=a,b watches exactly a and b, and a watch
# that expires (410) while the watcher is frozen recovers without losing a change.
. "$(dirname "$0")/lib.sh"
: "${OMJOB_BIN:?}" "${OMJOB_TEST_KUBECONFIG:?}"
SHARDS=5
PIDS=()
DIRS=()
KEEP_LOGS=${KEEP_LOGS:-}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
	done
	if [ "$T_FAILS" -gt 0 ] || [ -n "$KEEP_LOGS" ]; then
		for d in "${DIRS[@]}"; do
			[ -f "$d.log" ] || continue
			echo "--- $d.log (last 40 lines)" >&2
			tail -40 "$d.log" >&2
		done
	fi
	for d in "${DIRS[@]}"; do rm -rf "$d" "$d.log"; done
	t_cleanup
}
trap cleanup EXIT

# mk_ns VAR PREFIX: a namespace deleted at exit (new_ns in $(...) would lose it).
mk_ns() {
	local n
	n=$2-$(printf '%04x%04x' $RANDOM $RANDOM)
	$K create namespace "$n" >/dev/null
	T_NAMESPACES+=("$n")
	printf -v "$1" %s "$n"
}

# start_watcher VAR [ENV=VALUE...]: runs the watcher in its own run directory;
# VAR gets the directory. The pid is in WPID.
start_watcher() {
	local d
	d=$(mktemp -d /tmp/omw.XXXX)
	DIRS+=("$d")
	shift_var=$1
	shift
	env KUBECONFIG="$OMJOB_TEST_KUBECONFIG" OMJOB_RUN_DIR="$d" RECONCILIATION_THREADS=$SHARDS \
		LOG_FORMAT=text "$@" "$OMJOB_BIN" watcher 2>"$d.log" &
	WPID=$!
	PIDS+=("$WPID")
	printf -v "$shift_var" %s "$d"
}

cache() { OMJOB_RUN_DIR=$RUN "$OMJOB_BIN" cache "$@"; }
has() { # JQ-FILTER CACHE-ARGS...
	local f=$1
	shift
	cache "$@" | jq -e "$f" >/dev/null
}
expect() { # DESCRIPTION SECONDS JQ-FILTER CACHE-ARGS...
	local d=$1 s=$2
	shift 2
	if wait_until "$s" has "$@"; then
		pass "$d"
	else
		fail "$d: $(cache "${@:2}" 2>&1 | head -c 600)"
	fi
}
never() { # DESCRIPTION SECONDS JQ-FILTER CACHE-ARGS...: the filter stays false
	local d=$1 s=$2
	shift 2
	if wait_until "$s" has "$@"; then
		fail "$d: $(cache "${@:2}" 2>&1 | head -c 600)"
	else
		pass "$d"
	fi
}

omjob() { # NS NAME
	printf 'apiVersion: pipelines.openmetadata.org/v1\nkind: OMJob\nmetadata: {name: %s}\nspec: {mainPodSpec: {image: busybox}}\n' \
		"$2" | $K apply -n "$1" -f - >/dev/null
}
pod() { # NS NAME OMJOB [managed-by value]
	printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  labels: {app.kubernetes.io/managed-by: %s, omjob.pipelines.openmetadata.org/name: %s, omjob.pipelines.openmetadata.org/pod-type: main}\nspec: {restartPolicy: Never, containers: [{name: main, image: busybox}]}\n' \
		"$2" "${4:-omjob-operator}" "$3" | $K apply -n "$1" -f - >/dev/null
}
rv() { $K get "$@" -o jsonpath='{.metadata.resourceVersion}'; }
api_port() { # the API server's port, from the kubeconfig
	local u
	u=$($K config view --minify -o jsonpath='{.clusters[0].cluster.server}') || return 1
	u=${u##*:}
	u=${u%%/*}
	[ -n "$u" ] && echo "$u"
}

mk_ns A w
mk_ns B w

# 1. Start and readiness: every initial LIST in.
start_watcher RUN
MAIN=$WPID
MAINRUN=$RUN
expect "watcher synced (first LISTs in)" 20 '.synced == true' --all

# 2. OMJob created, changed, indexed by shard.
omjob "$A" j1
uid=$($K get omj -n "$A" j1 -o jsonpath='{.metadata.uid}')
expect "new OMJob cached" 2 ".omjob.metadata.uid == \"$uid\" and (.omjob.metadata.managedFields == null)" "$A/j1"
$K label omj -n "$A" j1 changed=yes >/dev/null
want=$(rv omj -n "$A" j1)
expect "OMJob change cached (rv $want)" 2 ".omjob.metadata.labels.changed == \"yes\" and .omjob.metadata.resourceVersion == \"$want\"" "$A/j1"
n=0
for i in $(seq 0 $((SHARDS - 1))); do
	has ".keys | map(.key) | index(\"$A/j1\") != null" --shard "$i/$SHARDS" && n=$((n + 1))
done
[ "$n" -eq 1 ] && pass "key in exactly one of $SHARDS shards" || fail "key in $n shards"
# Only this test's namespaces: the watcher sees every namespace, and another test
# running at the same time (ctest -j) may be deleting its own between the two looks.
mine='select(startswith($a) or startswith($b))'
all=$(cache --all | jq -c --arg a "$A/" --arg b "$B/" "[.keys[].key | $mine] | sort")
union=$(for i in $(seq 0 $((SHARDS - 1))); do cache --shard "$i/$SHARDS" | jq -c --arg a "$A/" --arg b "$B/" ".keys[].key | $mine"; done | jq -sc sort)
[ "$all" = "$union" ] && pass "shards partition the keys" || fail "shards $union != all $all"

# 3. Pods: labelled ones under their OMJob's key; others not cached.
pod "$A" j1-main j1
expect "operator pod cached under its OMJob" 2 '.pods | map(.name) == ["j1-main"]' "$A/j1"
# A pod without the omjob.../name label is not ours, whatever else it says.
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: j1-stray\n  labels: {app.kubernetes.io/managed-by: omjob-operator, omjob.pipelines.openmetadata.org/pod-type: main}\nspec: {restartPolicy: Never, containers: [{name: main, image: busybox}]}\n' |
	$K apply -n "$A" -f - >/dev/null
$K label pod -n "$A" j1-main touched=1 >/dev/null
want=$(rv pod -n "$A" j1-main)
expect "pod change cached" 2 "(.pods | map(select(.name == \"j1-main\")))[0].resourceVersion == \"$want\"" "$A/j1"
never "pod without the omjob.../name label not cached" 2 '.pods | map(.name) | index("j1-stray") != null' "$A/j1"
# The original operator's pods carry managed-by=openmetadata: cached all the same.
pod "$A" j1-orig j1 openmetadata
expect "pod with managed-by=openmetadata and the name label cached" 2 '.pods | map(.name) | index("j1-orig") != null' "$A/j1"
$K delete pod -n "$A" j1-orig --grace-period=0 --force >/dev/null 2>&1
phase=$($K get pod -n "$A" j1-main -o jsonpath='{.status.phase}')
expect "pod phase as in the API ($phase)" 5 \
	"((.pods | map(select(.name == \"j1-main\")))[0].phase // \"\") as \$p | \$p == \"$($K get pod -n "$A" j1-main -o jsonpath='{.status.phase}')\" or \$p == \"Running\"" "$A/j1"

# 4. Deletions.
$K delete pod -n "$A" j1-main --grace-period=0 --force >/dev/null 2>&1
expect "deleted pod gone" 5 '.pods == []' "$A/j1"
$K delete omj -n "$A" j1 --wait=false >/dev/null
expect "deleted OMJob gone" 5 '.omjob == null' "$A/j1"
expect "deleted key gone from the shard lists" 2 ".keys | map(.key) | index(\"$A/j1\") == null" --all

# 5. WATCH_NAMESPACES=a,b watches exactly a and b.
mk_ns NA wa
mk_ns NB wb
mk_ns NC wc
start_watcher RUN WATCH_NAMESPACES="$NA,$NB"
expect "namespaced watcher synced" 20 '.synced == true' --all
for n in "$NA" "$NB" "$NC"; do omjob "$n" j; done
pod "$NB" j-main j
expect "OMJob in the first listed namespace seen" 2 '.omjob != null' "$NA/j"
expect "OMJob and pod in the second listed namespace seen" 2 '.omjob != null and (.pods | length) == 1' "$NB/j"
never "OMJob in an unlisted namespace not seen" 2 '.omjob != null' "$NC/j"
RUN=$MAINRUN
expect "the all-namespaces watcher sees the third namespace" 2 '.omjob != null' "$NC/j"

# 6. An identity without RBAC: 403 logged once per resource (not at every retry),
# never ready.
$K create serviceaccount -n "$A" nobody >/dev/null
KC=$(mktemp /tmp/omw-kc.XXXX)
DIRS+=("$KC")
$K config view --raw --minify -o json |
	jq --arg t "$($K create token -n "$A" nobody --duration=10m)" \
		'.users = [{name: "nobody", user: {token: $t}}] | .contexts[0].context.user = "nobody"' >"$KC"
start_watcher RUN KUBECONFIG="$KC" LOG_LEVEL=DEBUG
sleep 5
has '.synced == false' --all && pass "without RBAC: not synced" || fail "without RBAC: $(cache --all 2>&1)"
# CronOMJobs are optional: a refused LIST of them is retried every 5 s (the others
# back off from 1 s), so a second attempt can take longer than the 5 s above.
retried() { [ "$(grep -c "LIST failed resource=$1 " "$RUN.log" || true)" -ge 2 ]; }
for res in omjobs cronomjobs pods; do
	wait_until 15 retried "$res" || true
	n=$(grep -c "ERROR .*LIST failed resource=$res .*http=403" "$RUN.log" || true)
	d=$(grep -c "LIST failed resource=$res " "$RUN.log" || true)
	[ "$n" -eq 1 ] && [ "$d" -ge 2 ] && pass "403 on $res: $d attempts, logged once as an error" ||
		fail "403 on $res logged $n times: $(grep "resource=$res" "$RUN.log" | head -3)"
done
kill -TERM "$WPID"
RUN=$MAINRUN

# 7. 410: freeze the watcher, cut its connections, make more pod changes than the
# API server's watch cache holds (100 here), change and delete things, thaw: it
# relists, and the final state is right.
for i in $(seq 1 10); do pod "$A" "p$i" j2; done
omjob "$A" j2
omjob "$A" j3
expect "ten pods cached" 5 '(.pods | length) == 10' "$A/j2"
# A resourceVersion at least as new as the watcher's: once the server answers a
# watch from it with 410, the watcher's own resume will get 410 too.
rv0=$($K get --raw "/api/v1/namespaces/$A/pods?limit=1" | jq -r .metadata.resourceVersion)
kill -STOP "$MAIN"
# Cut the frozen watcher's own connections (only those: by its local ports)
# first, so that the changes below never reach it and the watch must resume from
# a resourceVersion the server has forgotten.
cut=0
if api_port=$(api_port) && command -v ss >/dev/null; then
	for p in $(ss -tnpH state established "( dport = :$api_port )" |
		awk -v pid="pid=$MAIN," 'index($0, pid) { n = split($3, a, ":"); print a[n] }'); do
		ss -K -tnH state established "( sport = :$p and dport = :$api_port )" >/dev/null 2>&1 &&
			cut=$((cut + 1))
	done
fi
for r in 1 2; do
	$K label pods -n "$A" -l omjob.pipelines.openmetadata.org/name=j2 round="$r" --overwrite >/dev/null
done
$K delete pod -n "$A" p10 --grace-period=0 --force >/dev/null 2>&1
pod "$A" p11 j2
$K delete omj -n "$A" j3 --wait=false >/dev/null
$K label omj -n "$A" j2 frozen=thawed >/dev/null
# The API server keeps every event younger than 75 s in its watch cache whatever
# the cache's size (it grows when full of fresh events; --watch-cache-sizes is
# only where it starts): older events are dropped once newer ones fill it. So
# wait, then change the pods until a watch from rv0 is answered 410 "too old
# resource version" (measured on 1.36: 170 changes within seconds never expire).
expired() {
	$K get --raw "/api/v1/pods?watch=1&timeoutSeconds=1&resourceVersion=$rv0&labelSelector=omjob.pipelines.openmetadata.org%2Fname%3Dj2" 2>&1 |
		head -c 4000 | grep -q '"code":410'
}
sleep "${OMJOB_TEST_EXPIRE_WAIT_S:-80}"
r=3
until expired || [ "$r" -gt 300 ]; do
	for _ in 1 2 3 4 5; do
		$K label pods -n "$A" -l omjob.pipelines.openmetadata.org/name=j2 round="$r" --overwrite >/dev/null
		r=$((r + 1))
	done
done
gone=no
expired && gone=yes
kill -CONT "$MAIN"
want=$($K get pods -n "$A" -l omjob.pipelines.openmetadata.org/name=j2 -o json |
	jq -c '[.items[] | {name: .metadata.name, rv: .metadata.resourceVersion}] | sort_by(.name)')
expect "after $((r * 10)) changes while frozen: every pod at its latest version" 15 \
	"([.pods[] | {name, rv: .resourceVersion}] | sort_by(.name)) == $want" "$A/j2"
expect "OMJob changed while frozen is current" 5 '.omjob.metadata.labels.frozen == "thawed"' "$A/j2"
expect "OMJob deleted while frozen is gone" 5 '.omjob == null' "$A/j3"
if grep -q 'relisting' "$MAINRUN.log"; then
	pass "the watch expired (410) and the watcher relisted ($cut connections cut)"
elif [ "$cut" -gt 0 ] && [ "$gone" = yes ]; then
	fail "connections cut and the version expired, but no 410 relist"
else
	note "no 410 this time (connections cut: $cut; version expired: $gone)"
fi

# 8. Graceful stop.
kill -TERM "$MAIN"
t0=$(now_ms)
if timeout 10 tail --pid="$MAIN" -f /dev/null; then
	pass "stops on SIGTERM in $(($(now_ms) - t0)) ms"
else
	fail "still running 10 s after SIGTERM"
fi
t_done
