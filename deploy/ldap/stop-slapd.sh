#!/bin/sh
# stop-slapd.sh DIR — stop the slapd that start-slapd.sh DIR started: exactly
# that pid, and only if it still is a slapd serving DIR. Data stays in DIR.
set -eu
[ $# -eq 1 ] || { echo "usage: stop-slapd.sh DIR" >&2; exit 1; }
dir=$(cd "$1" && pwd)
[ -f "$dir/env" ] || exit 0
pid=$(sed -n 's/^SLAPD_PID=//p' "$dir/env")
[ -n "$pid" ] || exit 0
is_ours() {
	kill -0 "$pid" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "slapd.* -F $dir/slapd.d"
}
is_ours || exit 0
kill -TERM "$pid"
i=0
while is_ours; do
	if [ $i -ge 100 ]; then
		kill -KILL "$pid" 2>/dev/null || true
		break
	fi
	i=$((i + 1))
	sleep 0.05
done
