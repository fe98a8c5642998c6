# Shared helpers of tests/cluster/{up,down}; sourced, not run.

log() { printf 'cluster: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# free_port: a TCP port no socket uses, on 127.0.0.1.
free_port() {
	local p
	for _ in $(seq 1 200); do
		# Below the ephemeral range (32768+), where outgoing connections take
		# their local ports; and no socket of any state on it.
		p=$((10000 + RANDOM % 22000))
		if ! ss -Htan "( sport = :$p )" 2>/dev/null | grep -q .; then
			if ! grep -qx "$p" "$STATE/ports" 2>/dev/null; then
				echo "$p" >>"$STATE/ports"
				echo "$p"
				return 0
			fi
		fi
	done
	die "no free port found"
}

# start NAME CMD...: runs CMD in its own session, logs to $STATE/logs/NAME.log,
# records its pid in $STATE/pids.
start() {
	local name=$1
	shift
	setsid "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
	echo "$! $name" >>"$STATE/pids"
}

# wait_for SECONDS DESC CMD...: retries CMD every 0.2 s until it succeeds.
wait_for() {
	local deadline=$(($(date +%s%N) / 1000000 + $1 * 1000)) desc=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		[ $(($(date +%s%N) / 1000000)) -lt "$deadline" ] || return 1
		sleep 0.2
	done
	log "$desc ready"
}

# alive PID: running and not a zombie (an orphan that nobody reaps stays a zombie).
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
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
