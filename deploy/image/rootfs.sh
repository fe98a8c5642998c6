#!/usr/bin/env bash
# Assembles the image's root filesystem from Debian packages installed on this
# machine, offline: the operator binary, the runtime closure of its shared libraries
# (libcurl, json-c, libyaml, NNG, libmicrohttpd and everything they load, as ldd
# resolves them, with the dynamic loader), ca-certificates' bundle, tzdata's zoneinfo
# (CronOMJob time zones), /etc/passwd and /etc/group with UID/GID 65532 (nonroot), and
# the run directory's mount point. No shell, no package manager. Lists the Debian
# packages (with versions) the files came from in /usr/share/omjob-operator/packages.
#   deploy/image/rootfs.sh BINARY DIR      (DIR is emptied first)
set -euo pipefail
bin=${1:?usage: rootfs.sh BINARY DIR}
root=${2:?usage: rootfs.sh BINARY DIR}
[ -x "$bin" ] || {
	echo "rootfs: $bin is not an executable" >&2
	exit 1
}
case "$root" in / | "") exit 1 ;; esac
rm -rf "$root"
mkdir -p "$root"/{usr/bin,usr/lib/x86_64-linux-gnu,usr/lib64,etc/ssl/certs,usr/share/zoneinfo,usr/share/omjob-operator,run/omjob,tmp,proc,dev,var/run/secrets}
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"
chown 65532:65532 "$root/run/omjob"
chmod 0700 "$root/run/omjob"

pkgs=()
owner() { # FILE: the Debian package (name=version) that installed FILE
	local p
	p=$(dpkg -S "$1" 2>/dev/null || dpkg -S "$(readlink -f "$1")" 2>/dev/null ||
		dpkg -S "/lib/x86_64-linux-gnu/$(basename "$1")" 2>/dev/null || dpkg -S "*/$(basename "$(readlink -f "$1")")" 2>/dev/null || true)
	p=${p%%:*}
	p=${p%%,*}
	[ -n "$p" ] && pkgs+=("$p=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null)")
	return 0
}

install -m 0755 "$bin" "$root/usr/bin/omjob-operator"
strip --strip-unneeded "$root/usr/bin/omjob-operator" 2>/dev/null || true
# The closure: every library ldd resolves (direct and indirect), under its soname.
ldd "$bin" | while read -r a b c _; do
	if [ "$b" = "=>" ] && [ "${c:0:1}" = / ]; then echo "$a $c"; fi
	if [ "${a:0:1}" = / ]; then echo "$(basename "$a") $a"; fi
done >"$root/.libs"
while read -r soname path; do
	case "$path" in
	*/ld-linux-x86-64.so.2) cp -L "$path" "$root/usr/lib64/ld-linux-x86-64.so.2" ;;
	*) cp -L "$path" "$root/usr/lib/x86_64-linux-gnu/$soname" ;;
	esac
	owner "$path"
done <"$root/.libs"
rm "$root/.libs"
# TLS roots (ca-certificates), where libcurl (OpenSSL) looks by default.
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
owner /usr/share/ca-certificates
# Time zones (tzdata), without the leap-second "right/" copies.
cp -a /usr/share/zoneinfo/. "$root/usr/share/zoneinfo/"
rm -rf "$root/usr/share/zoneinfo/right"
owner /usr/share/zoneinfo/UTC
cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
P
cat >"$root/etc/group" <<'G'
root:x:0:
nonroot:x:65532:
G
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
printf '%s\n' "${pkgs[@]}" | sort -u >"$root/usr/share/omjob-operator/packages"
