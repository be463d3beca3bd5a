#!/usr/bin/env bash
# The project's test command (README): installs what the tests need from
# Debian when run as root, then runs vet and every test, including the
# interop tests that drive the real binary with real clients.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PATH:/usr/sbin:/sbin"
need=()
for tool in swaks:swaks msmtp:msmtp mbsync:isync neomutt:neomutt tmux:tmux python3:python3 openssl:openssl gcc:gcc slapd:slapd ldapsearch:ldap-utils chromium:chromium postfix:postfix opendkim-testmsg:opendkim-tools dkimsign:python3-dkim clamd:clamav-daemon rspamd:rspamd vdirsyncer:vdirsyncer sieve-connect:sieve-connect softhsm2-util:softhsm2 qpdf:qpdf nginx:nginx pebble:pebble samba:samba ip:iproute2; do
	command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
# Debian's python3-ldap3 (the LDAP address book tests) has no command.
/usr/bin/python3 -c 'import ldap3' >/dev/null 2>&1 || need+=(python3-ldap3)
# nginx's mail proxy module (the nginx tests) is a file, not a command.
[ -f /usr/lib/nginx/modules/ngx_mail_module.so ] || need+=(libnginx-mod-mail)
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "installing test dependencies: ${need[*]}"
		apt-get update -qq
		# The tests run private Postfix instances (deploy/postfix/); the
		# package itself is left unconfigured so it never listens on port 25.
		echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" ca-certificates >/dev/null
		case " ${need[*]} " in *" postfix "*) postfix status >/dev/null 2>&1 && postfix stop >/dev/null 2>&1 || true ;; esac
	else
		echo "missing test tools: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
		exit 1
	fi
fi

# axe-core (npm) for the browser tests' accessibility check.
if [ ! -f tests/interop/node_modules/axe-core/axe.min.js ]; then
	(cd tests/interop && npm ci --no-audit --no-fund >/dev/null)
fi

export CGO_ENABLED=1
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on: $unformatted" >&2
	exit 1
fi
go vet ./...
# -race on the packages with concurrency; the interop tests run the real
# binary (built without -race) and dominate wall time.
go test -race -timeout 15m $(go list ./... | grep -v /tests/)
# -count=1: the interop tests build and run the binary from the sources,
# which go test's cache does not see; a cached pass could be stale.
go test -count=1 -timeout 40m ./tests/...
