#!/usr/bin/env bash
# The image's root filesystem, for real (issue 11; containers cannot run here): the
# tree deploy/image/rootfs.sh assembles for the binary under test runs the whole
# operator under chroot as UID/GID 65532, in its own mount and pid namespaces, with
# the root bind-mounted read-only, /proc, and the run directory on a tmpfs (as the
# chart's emptyDir), against the local control plane with the shipped RBAC identity,
# until /readyz is 200 and an OMJob completes. TLS is verified against the image's
# CA bundle (the kubeconfig names no CA; the cluster's CA is appended to a copy of
# the bundle, bind-mounted over it), so a bundle missing from the image, or one
# libcurl does not read, fails this test, as does a missing shared library.
# Needs root (unshare, mount, chroot): skipped (77) otherwise.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/omjob_lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "test_image: needs root (chroot, mount namespaces): skipped"
	exit 77
fi
ROOT=$OP_TMP/rootfs
UPID=
t0=$(now_ms)
ns=$(new_ns image)
stop_chroot() {
	local p
	[ -n "$UPID" ] || return 0
	p=$(pgrep -P "$UPID" || true)
	[ -z "$p" ] || kill -TERM "$p" 2>/dev/null || true
	timeout 30 tail --pid="$UPID" -f /dev/null 2>/dev/null || kill -KILL "$UPID" ${p:+"$p"} 2>/dev/null || true
	wait "$UPID" 2>/dev/null || true
	UPID=
}
trap 'stop_chroot; cleanup' EXIT

if out=$("$OMJOB_SRC/deploy/image/rootfs.sh" "$OMJOB_BIN" "$ROOT" 2>&1); then
	pass "rootfs assembled: $(du -sb "$ROOT" | cut -f1) bytes, $(wc -l <"$ROOT/usr/share/omjob-operator/packages") Debian packages"
else
	fail "rootfs.sh: $out"
	t_done
fi
[ -z "$(find "$ROOT" -name sh -o -name bash -o -name busybox)" ] && pass "rootfs: no shell" || fail "rootfs: a shell in the image"

# chroot_run ROOT BUNDLE KUBECONFIG ARGS...: the image's entry point as the
# container runtime would start it (in the background: UPID), env from the chart.
chroot_run() {
	local r=$1 bundle=$2 kc=$3
	shift 3
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin KUBECONFIG=/var/run/secrets/kubeconfig OMJOB_RUN_DIR=/run/omjob \
		HEALTH_CHECK_PORT="$OP_HP" METRICS_PORT="$OP_MP" OMJOB_HTTP_BIND_ADDRESS=127.0.0.1 \
		OPERATOR_NAMESPACE=omjob-system WATCH_NAMESPACES="$ns" LOG_FORMAT=json RECONCILIATION_THREADS=2 \
		unshare --mount --pid --fork --propagation private sh -c '
		set -e
		r=$1; bundle=$2; kc=$3; shift 3
		mount --bind "$r" "$r"
		mount -t proc proc "$r/proc"
		mount --bind "$bundle" "$r/etc/ssl/certs/ca-certificates.crt"
		mount -t tmpfs -o mode=0755 tmpfs "$r/var/run/secrets"
		install -m 0644 "$kc" "$r/var/run/secrets/kubeconfig"
		mount -t tmpfs -o uid=65532,gid=65532,mode=0700 tmpfs "$r/run/omjob"
		mount -o remount,bind,ro "$r" "$r"
		exec chroot --userspec=65532:65532 "$r" /usr/bin/omjob-operator "$@"
	' sh "$r" "$bundle" "$kc" "$@" >>"$OP_LOG" 2>&1 &
	UPID=$!
}
ready() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$OP_HP/readyz")" = 200 ]; }

tok=$($K create token omjob-operator -n omjob-system --duration=1h)
cat >"$OP_TMP/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$OMJOB_CLUSTER_SERVER"}}]
users: [{name: sa, user: {token: "$tok"}}]
contexts: [{name: sa, context: {cluster: c, user: sa}}]
current-context: sa
KC
if [ -s "$ROOT/etc/ssl/certs/ca-certificates.crt" ]; then
	cat "$ROOT/etc/ssl/certs/ca-certificates.crt" "$OMJOB_CLUSTER_STATE/pki/ca.crt" >"$OP_TMP/bundle.crt"
	pass "rootfs: CA bundle at /etc/ssl/certs/ca-certificates.crt ($(grep -c 'BEGIN CERT' "$ROOT/etc/ssl/certs/ca-certificates.crt") certificates)"
else
	fail "rootfs: no CA bundle at /etc/ssl/certs/ca-certificates.crt"
	t_done
fi
read -r OP_HP OP_MP <<<"$(free_ports 2)"

# The whole operator from the image, as 65532, read-only root.
chroot_run "$ROOT" "$OP_TMP/bundle.crt" "$OP_TMP/kubeconfig"
if wait_until 30 ready; then
	pass "operator from the rootfs: /readyz 200 (chroot, UID 65532, read-only root, run dir on tmpfs)"
else
	fail "operator from the rootfs not ready in 30 s: $(tail -5 "$OP_LOG")"
fi
omjob "$ns" img '{"exit":0,"run":"1s"}' '{"exit":0}'
wait_until 30 omj_phase_is "$ns" img Succeeded && wait_until 10 pod_phase_is "$ns" img-exit Succeeded &&
	pass "operator from the rootfs: an OMJob ran its main pod and exit handler to Succeeded" ||
	fail "operator from the rootfs: OMJob phase $(jp omj "$ns" img '{.status.phase}')"
users=$(for p in $(pgrep -P "$(pgrep -P "$UPID")") $(pgrep -P "$UPID"); do stat -c %u "/proc/$p"; done | sort -u | tr '\n' ' ')
[ "$users" = "65532 " ] && pass "every operator process runs as UID 65532" || fail "operator processes run as UIDs $users"
stop_chroot

# A missing library fails: the loader refuses to start it.
cp -a "$ROOT" "$OP_TMP/nolib"
rm "$OP_TMP/nolib/usr/lib/x86_64-linux-gnu/libnng.so.1"
version() { # ROOT: --version of the image's binary, with /proc (ASan builds need it)
	unshare --pid --fork --mount-proc="$1/proc" chroot --userspec=65532:65532 "$1" /usr/bin/omjob-operator --version 2>&1
}
out=$(version "$OP_TMP/nolib") && rc=0 || rc=$?
ok=$(version "$ROOT") || fail "rootfs: --version: $ok"
[ "$rc" = 127 ] && grep -q libnng <<<"$out" &&
	pass "without libnng.so.1 the image cannot start (exit 127: $(head -c 120 <<<"$out")); with it: $ok" ||
	fail "without libnng.so.1: exit $rc, $out"
rm -rf "$OP_TMP/nolib"
# Without the cluster's CA in the bundle, nothing verifies: never ready.
: >"$OP_LOG"
chroot_run "$ROOT" "$ROOT/etc/ssl/certs/ca-certificates.crt" "$OP_TMP/kubeconfig"
if wait_until 8 ready; then
	fail "ready without the cluster's CA in the bundle: TLS not verified against the image's bundle"
else
	grep -qi 'certificate\|SSL' "$OP_LOG" &&
		pass "with the image's bundle alone (no cluster CA) never ready: TLS verified against /etc/ssl/certs/ca-certificates.crt" ||
		fail "not ready without the CA, but no TLS error logged: $(tail -3 "$OP_LOG")"
fi
stop_chroot
note "test_image took $(($(now_ms) - t0)) ms"
t_done
