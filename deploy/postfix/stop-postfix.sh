#!/bin/sh
# stop-postfix.sh DIR — stop the Postfix that start-postfix.sh DIR started
# (exactly that instance, by its configuration directory) and wait until its
# master process has exited. Mail and logs stay in DIR.
set -eu
[ $# -eq 1 ] || { echo "usage: stop-postfix.sh DIR" >&2; exit 1; }
PATH="$PATH:/usr/sbin:/sbin"
dir=$(cd "$1" && pwd)
[ -f "$dir/env" ] || exit 0
pid=$(sed -n 's/^POSTFIX_PID=//p' "$dir/env")
is_ours() {
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
		[ "$(tr -d ' ' <"$dir/queue/pid/master.pid" 2>/dev/null)" = "$pid" ]
}
is_ours || exit 0
postfix -c "$dir/conf" stop >/dev/null 2>&1 || true
i=0
while is_ours; do
	if [ $i -ge 100 ]; then
		kill -KILL "$pid" 2>/dev/null || true
		break
	fi
	i=$((i + 1))
	sleep 0.1
done
