#!/bin/sh
# replicate-slapd.sh DIR1 DIR2 [DIR3…] — make the throwaway slapds that
# start-slapd.sh started in DIR1, DIR2… replicate each other (multi-provider
# syncrepl, deploy/ldap/replication.ldif): each is stopped, configured
# offline with slapmodify, and started again on its own port. They must
# have been started with the same LDAP_BASE, LDAP_BIND_DN and LDAP_BIND_PW
# (the rootDN replicates). For development and tests.
set -eu
die() { echo "replicate-slapd: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: replicate-slapd.sh DIR1 DIR2 [DIR3…]"
PATH="$PATH:/usr/sbin"
here=$(cd "$(dirname "$0")" && pwd)
dirs=
for d in "$@"; do
	[ -f "$d/env" ] || die "$d: no env (start it with start-slapd.sh first)"
	dirs="$dirs $(cd "$d" && pwd)"
done
url_of() { sed -n 's/^LDAP_URL=//p' "$1/env"; }
set -- $dirs
first=$1
base=$(sed -n 's/^LDAP_BASE=//p' "$first/env")
binddn=$(sed -n 's/^LDAP_BIND_DN=//p' "$first/env")
bindpw=$(sed -n 's/^LDAP_BIND_PW=//p' "$first/env")
for d in $dirs; do
	[ "$(sed -n 's/^LDAP_BIND_PW=//p' "$d/env")" = "$bindpw" ] || die "$d has another LDAP_BIND_PW"
	[ "$(sed -n 's/^LDAP_BASE=//p' "$d/env")" = "$base" ] || die "$d has another LDAP_BASE"
done
i=0
for d in $dirs; do
	i=$((i + 1))
	[ -f "$d/replicated" ] && continue
	syncrepl=
	j=0
	for o in $dirs; do
		j=$((j + 1))
		[ "$o" = "$d" ] && continue
		syncrepl="${syncrepl}olcSyncrepl: rid=00$j provider=$(url_of "$o") bindmethod=simple binddn=\"$binddn\" credentials=$bindpw searchbase=\"$base\" type=refreshAndPersist retry=\"1 +\" timeout=3 network-timeout=2
"
	done
	"$here/stop-slapd.sh" "$d"
	awk -v id="$i" -v suffix="$base" -v repl="$binddn" -v sync="$syncrepl" '
		/^#/ { next }
		{ gsub("@SERVER_ID@", id); gsub("@SUFFIX@", suffix); gsub("@REPLICATOR@", repl) }
		/^@SYNCREPL@$/ { printf "%s", sync; next }
		{ print }' "$here/replication.ldif" >"$d/replication.ldif"
	# Offline, a module loads only when slapmodify starts: load syncprov
	# first, then add its overlay and the rest.
	awk '/^dn: olcOverlay=syncprov/ { exit } { print }' "$d/replication.ldif" >"$d/replication-1.ldif"
	awk '/^dn: olcOverlay=syncprov/ { p = 1 } p { print }' "$d/replication.ldif" >"$d/replication-2.ldif"
	for part in 1 2; do
		slapmodify -n0 -F "$d/slapd.d" -l "$d/replication-$part.ldif" >"$d/slapmodify.log" 2>&1 ||
			{ cat "$d/slapmodify.log" >&2; die "slapmodify in $d failed"; }
	done
	: >"$d/replicated"
done
for d in $dirs; do
	"$here/start-slapd.sh" "$d" >/dev/null
done
