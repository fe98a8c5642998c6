#!/usr/bin/env bash
# Differential test of lib/cron against robfig/cron/v3 v3.0.1, the parser of
# Kubernetes' CronJob: builds the Go helper (main.go, from the Go module proxy, into
# a cache directory), has it generate random expressions, zones and start times with
# robfig's next time for each, and lets the C side (test_cron --crondiff) compare
# and sort every difference into an explained category; an unexplained one fails.
#
#   tests/crondiff/run.sh PATH/TO/test_cron [CASES]
#
# CRONDIFF_SEED picks the cases (default fixed, so a run is reproducible). Exit 77
# (CTest's skip) when Go is missing or the helper cannot be built (no network and
# a cold module cache).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
test_cron=${1:?usage: run.sh PATH/TO/test_cron [CASES]}
cases=${2:-10000}
seed=${CRONDIFF_SEED:-20261204}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/omjob-operator/crondiff
zones=UTC,America/New_York,Europe/London,Australia/Lord_Howe,Asia/Kolkata,Pacific/Chatham
zones+=,America/Los_Angeles,America/Sao_Paulo,America/Santiago,America/Havana,America/St_Johns
zones+=,America/Nuuk,Europe/Berlin,Europe/Dublin,Africa/Casablanca,Antarctica/Troll
zones+=,Asia/Tehran,Asia/Kathmandu,Asia/Jerusalem,Asia/Gaza,Asia/Tokyo,Australia/Sydney
zones+=,Pacific/Auckland,Pacific/Apia

if ! command -v go >/dev/null; then
	echo "crondiff: go not found: skipped" >&2
	exit 77
fi
mkdir -p "$cache"
helper=$cache/crondiff-go
if [ ! -x "$helper" ] || [ "$here/main.go" -nt "$helper" ] || [ "$here/go.mod" -nt "$helper" ]; then
	if ! (cd "$here" && GOFLAGS=-mod=mod go build -o "$helper.$$" . && mv "$helper.$$" "$helper"); then
		echo "crondiff: cannot build the Go helper (module proxy unreachable?): skipped" >&2
		exit 77
	fi
fi
# Kept when the comparison fails (CRONDIFF_VERBOSE=1 lists every difference).
out=$(mktemp "$cache/cases-$seed-XXXXXX.tsv")
start=$(date +%s)
"$helper" -n "$cases" -seed "$seed" -zones "$zones" >"$out"
echo "crondiff: seed $seed, $(wc -l <"$out") cases ($(($(date +%s) - start)) s for robfig)"
if ! "$test_cron" --crondiff "$out"; then
	echo "crondiff: the cases are in $out" >&2
	exit 1
fi
rm -f "$out"
