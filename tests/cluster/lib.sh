# shellcheck shell=bash
# Helpers of tests/cluster/{up,down,restart-apiserver}; sourced, not run. Ports,
# waits (in seconds) and process liveness come from tests/lib.sh.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
T_POLL=0.2

log() { printf 'cluster: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# start NAME CMD...: runs CMD in its own session, logs to $STATE/logs/NAME.log,
# records its pid in $STATE/pids.
start() {
	local name=$1
	shift
	setsid "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
	echo "$! $name" >>"$STATE/pids"
}

# wait_ready SECONDS DESC CMD...: waits until CMD succeeds (tests/lib.sh
# wait_until) and logs "DESC ready"; status 1 after SECONDS.
wait_ready() {
	local s=$1 desc=$2
	shift 2
	wait_until "$s" "$@" || return 1
	log "$desc ready"
}

# stop_all STATE: TERM then KILL every process group recorded in STATE/pids.
stop_all() {
	local st=$1 pid name
	[ -f "$st/pids" ] || return 0
	while read -r pid name; do
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done <"$st/pids"
	for _ in $(seq 1 20); do # 2 s grace: the state is thrown away anyway
		local alive=0
		while read -r pid name; do
			alive "$pid" && alive=1
		done <"$st/pids"
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	while read -r pid name; do
		kill -KILL -- "-$pid" 2>/dev/null || true
		kill -KILL "$pid" 2>/dev/null || true
	done <"$st/pids"
	rm -f "$st/pids"
}
