# shellcheck shell=bash
# What every shell test shares. tests/cluster/lib.sh, tests/integration/lib.sh and
# tests/process/lib.sh source this file and keep only what is particular to their
# area; bench/*.sh source it for ports and the clock. Sourced, never run: it sets
# no shell option and no trap (each area's lib.sh chooses its own), and every
# function here works under `set -euo pipefail`.
#
# Units: every duration given to a function here is in SECONDS, fractions allowed
# ("2", "0.5", "1.25"; read to the millisecond). Time stamps are milliseconds
# since the epoch, for measuring: t0=$(now_ms); ...; "took $(($(now_ms) - t0)) ms".
#
#   now_ms                     the time in ms since the epoch
#   ms_of SECONDS              SECONDS in whole milliseconds ("1.5" -> 1500)
#   wait_until SECONDS CMD...  runs CMD (its output discarded) every T_POLL
#                              seconds (0.1 unless the area's lib.sh sets it)
#                              until it succeeds: status 0; status 1 once
#                              SECONDS have passed (CMD runs at least once)
#   alive PID                  PID exists and is not a zombie
#   children_of PID            "pid state" of each child of PID (state Z: zombie)
#   free_ports N               N distinct free TCP ports, on one line
#   free_port                  one free TCP port
#   pass MSG                   prints "ok: MSG", counts a passed check
#   fail MSG                   prints "FAIL: MSG", counts a failed check
#   check MSG CMD...           pass MSG if CMD succeeds, else fail MSG
#   note MSG                   prints "note: MSG": a figure, or a check skipped
#                              on this machine; counts nothing
#   t_done                     prints the failures again and "N passed, N
#                              failed"; exits 0 when nothing failed and at least
#                              one check passed, else 1
#
# pass and fail print on stdout, so that their order is kept in CTest's log. A
# pass or fail in a subshell (a pipeline, $(...), a background job) is counted
# too: the subshell cannot change the counters of the test's shell, so it leaves
# its results in a file that t_done reads.

[ -n "${T_LIB_LOADED:-}" ] && return 0
T_LIB_LOADED=1
T_PASSES=0
T_FAILS=0
T_FAILED=() # the failure messages, for t_done's summary
T_POLL=${T_POLL:-0.1}
T_SUBSHELL_RESULTS=${TMPDIR:-/tmp}/omjob-test-results.$$

now_ms() {
	local us=${EPOCHREALTIME/[.,]/}
	echo $((10#$us / 1000))
}

ms_of() {
	local s=$1 frac
	if ! [[ $s =~ ^([0-9]+)(\.([0-9]*))?$ ]]; then
		echo "ms_of: '$s' is not a number of seconds" >&2
		return 1
	fi
	frac=${BASH_REMATCH[3]}000
	echo $((10#${BASH_REMATCH[1]} * 1000 + 10#${frac:0:3}))
}

wait_until() {
	local ms deadline
	ms=$(ms_of "$1") || return 2
	# The unit is the second: a count of milliseconds here is a slip.
	if [ "$ms" -gt 900000 ]; then
		echo "wait_until: $1 s is more than 15 minutes (milliseconds given?)" >&2
		return 2
	fi
	deadline=$(($(now_ms) + ms))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep "$T_POLL"
	done
}

alive() {
	local line
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	line=${line##*) } # the command name may hold spaces and parentheses
	case ${line%% *} in Z | X) return 1 ;; esac
}

# sched_policies PID...: the scheduling policy of each (/proc/<pid>/stat field 41:
# 0 SCHED_OTHER, 3 SCHED_BATCH; "gone" for a pid that has no stat), one per line.
sched_policies() {
	local p line
	for p in "$@"; do
		if { read -r line <"/proc/$p/stat"; } 2>/dev/null; then
			awk '{print $39}' <<<"${line##*) }"
		else
			echo gone
		fi
	done
}

children_of() {
	local s line p state ppid
	for s in /proc/[0-9]*/stat; do
		{ read -r line <"$s"; } 2>/dev/null || continue
		p=${s#/proc/}
		p=${p%/stat}
		read -r state ppid _ <<<"${line##*) }"
		[ "$ppid" = "$1" ] && echo "$p $state"
	done
	return 0
}

# Free ports are below the ephemeral range (32768 and up), where the kernel picks
# the local ports of outgoing connections: a port that refuses connections may
# still be bound by one of those, and a server then fails to bind it. And no
# socket of any state (listening, connected, TIME_WAIT) may hold one.
free_ports() {
	local n=${1:-1} sockets used p tries=0 out=()
	if ! sockets=$(ss -Htan 2>&1); then
		echo "free_ports: ss failed: $sockets" >&2
		return 1
	fi
	used=" $(awk '{ n = split($4, a, ":"); printf "%s ", a[n] }' <<<"$sockets")"
	while [ "${#out[@]}" -lt "$n" ]; do
		tries=$((tries + 1))
		if [ "$tries" -gt 1000 ]; then
			echo "free_ports: fewer than $n free ports in 10000-31999" >&2
			return 1
		fi
		p=$((10000 + RANDOM % 22000))
		[[ $used == *" $p "* ]] && continue
		out+=("$p")
		used+="$p "
	done
	echo "${out[*]}"
}
free_port() { free_ports 1; }

# t_count P|F MSG: counts a result in this shell, or leaves it for t_done when
# called in a subshell.
t_count() {
	if [ "$BASHPID" != "$$" ]; then
		printf '%s %s\n' "$1" "${2//$'\n'/ }" >>"$T_SUBSHELL_RESULTS"
	elif [ "$1" = P ]; then
		T_PASSES=$((T_PASSES + 1))
	else
		T_FAILS=$((T_FAILS + 1))
		T_FAILED+=("$2")
	fi
}
pass() {
	echo "ok: $*"
	t_count P "$*"
}
fail() {
	echo "FAIL: $*"
	t_count F "$*"
}
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
note() { echo "note: $*"; }

t_done() {
	local kind msg i
	if [ -f "$T_SUBSHELL_RESULTS" ]; then
		while read -r kind msg; do t_count "$kind" "$msg"; done <"$T_SUBSHELL_RESULTS"
		rm -f "$T_SUBSHELL_RESULTS"
	fi
	if [ "$T_FAILS" -gt 0 ]; then
		echo "failed:"
		for ((i = 0; i < ${#T_FAILED[@]} && i < 20; i++)); do
			echo "  ${T_FAILED[$i]:0:300}"
		done
		[ "$T_FAILS" -le 20 ] || echo "  ... and $((T_FAILS - 20)) more (above)"
	fi
	echo "$T_PASSES passed, $T_FAILS failed"
	[ "$T_FAILS" -eq 0 ] && [ "$T_PASSES" -gt 0 ] && exit 0
	exit 1
}
